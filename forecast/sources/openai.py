"""OpenAI organization Usage API, completions (and embeddings) pages, as the API returns them.

Token meanings changed in July 2026: before, ``input_tokens`` counted text
only (cached included) and ``input_audio_tokens`` audio (cached included);
since, ``input_tokens`` counts every input token and ``input_audio_tokens``
only uncached audio, with cache writes reported apart. A result carrying any
of the 2026 fields, or a bucket starting on or after 2026-07-01, is read with
the new meaning; anything older with the old one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from duckdb import DuckDBPyConnection

from forecast.attribution import attribute
from forecast.errors import DataFormatError
from forecast.sources.base import (
    Source,
    SourceContext,
    Staged,
    bucket_for,
    expect,
    frame_from_records,
    iso_utc,
    mapping,
    read_json_documents,
    require_int,
    stage_frame,
)
from forecast.sources.peek import Peek, first_record

_RESULTS = {
    "organization.usage.completions.result": "completions",
    "organization.usage.embeddings.result": "embeddings",
}
_NEW_FIELDS = (
    "input_uncached_tokens",
    "input_cache_write_tokens",
    "input_text_tokens",
    "input_image_tokens",
    "input_cached_text_tokens",
    "input_cached_audio_tokens",
    "input_cached_image_tokens",
    "output_text_tokens",
    "output_image_tokens",
)
NEW_MEANING_FROM = 1782864000  # 2026-07-01T00:00:00Z
_TIERS = {
    None: "standard",
    "default": "standard",
    "auto": "standard",
    "standard": "standard",
    "flex": "flex",
    "priority": "priority",
    "scale": "priority",
}


def _pages(path: Path) -> list[dict[str, Any]]:
    pages = []
    for _, doc in read_json_documents(path):
        for page in doc if isinstance(doc, list) else [doc]:
            message = 'expected OpenAI usage pages ({"object": "page", "data": [...]})'
            page = mapping(page, message, path)
            expect(page.get("object") == "page" and "data" in page, message, path)
            pages.append(page)
    return pages


def records(path: Path, ctx: SourceContext) -> Iterator[dict[str, Any]]:
    record = 0
    for page in _pages(path):
        for bucket in page["data"]:
            start, end = bucket.get("start_time"), bucket.get("end_time")
            for result in bucket.get("results") or []:
                record += 1
                where: dict[str, Any] = {"record": record}
                expect(
                    isinstance(start, int | float) and isinstance(end, int | float),
                    "bucket has no numeric start_time / end_time",
                    path,
                    **where,
                )
                kind = _RESULTS.get(result.get("object", "organization.usage.completions.result"))
                if kind is None:
                    raise DataFormatError(
                        "only completions and embeddings usage can be ingested",
                        file=str(path),
                        field="object",
                        value=result.get("object"),
                        **where,
                    )
                yield _record(result, kind, start, end, path, where, ctx) | {"_loc": record}


def _record(r: dict[str, Any], kind: str, start: Any, end: Any, path: Path,
            where: dict[str, Any], ctx: SourceContext) -> dict[str, Any]:  # fmt: skip
    def num(field: str, required: bool = False) -> Any:  # an int, or None where not required
        return require_int(r.get(field), path, where, field, required)

    model = r.get("model")
    if not model:
        raise DataFormatError(
            "model is null: export usage with group_by=model so it can be priced",
            file=str(path),
            field="model",
            **where,
        )
    inp = num("input_tokens", required=True)
    requests = num("num_model_requests", required=True)
    if kind == "embeddings":
        output = cached = write = 0
    else:
        output = num("output_tokens", required=True)
        cached = num("input_cached_tokens")
        if any(f in r for f in _NEW_FIELDS) or start >= NEW_MEANING_FROM:
            write = num("input_cache_write_tokens")
        else:  # 2024 meaning: text and audio counted apart, each with its cached part
            inp += num("input_audio_tokens")
            write = 0
    tier = "batch" if r.get("batch") else _TIERS.get(r.get("service_tier"))
    if tier is None:
        raise DataFormatError(
            "unknown service_tier",
            file=str(path),
            field="service_tier",
            value=r.get("service_tier"),
            **where,
        )
    attrs = {k: r.get(k) for k in ("project_id", "api_key_id", "user_id") if r.get(k)}
    team, feature = attribute(attrs, ctx.attribution, ("project_id", "api_key_id"), ("api_key_id",))
    width = end - start
    key_parts = [start, width, *(r.get(k) for k in ("project_id", "user_id", "api_key_id"))]
    return {
        "timestamp": iso_utc(start),
        "bucket": bucket_for(width, path, where),
        "team": team,
        "feature": feature,
        "model": model,
        "provider": "openai",
        "service_tier": tier,
        "requests": requests,
        "input_tokens": inp,
        "cached_input_tokens": cached,
        "cache_write_tokens": write,
        "output_tokens": output,
        "user": r.get("user_id"),
        # One bucket and group of one organisation: re-downloaded pages add nothing.
        "request_id": "openai-usage:" + ":".join(map(str, [*key_parts, model, tier, kind])),
    }


def stage(con: DuckDBPyConnection, path: Path, ctx: SourceContext, peeked: Peek) -> Staged:
    frame = frame_from_records(records(path, ctx), path, "usage results")
    staged = stage_frame(con, frame, "_src_openai", "record")
    staged.revisable = True
    return staged


def sniff(path: Path, peeked: Peek) -> bool:
    page = first_record(peeked.first)
    if page.get("object") != "page":
        return False
    for bucket in page.get("data") or []:
        for result in bucket.get("results") or []:
            return str(result.get("object", "")).startswith("organization.usage.")
    return False


SOURCE = Source(
    name="openai-usage",
    description="OpenAI organization Usage API pages (completions, embeddings)",
    stage=stage,
    sniff=sniff,
)
