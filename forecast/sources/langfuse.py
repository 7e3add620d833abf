"""Langfuse observations (public API / export JSON or JSON Lines); GENERATION rows are usage.

Langfuse stores OpenAI-shaped usage with each detail subtracted from its
total: ``input`` is the uncached remainder and ``input_cached_tokens`` the
cache reads. So every ``input*`` key adds up to the input total, every
``output*`` key to the output total; keys for cache reads and writes also
fill the canonical cache columns.
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
    flatten,
    frame_from_records,
    read_json_documents,
    require_int,
    stage_frame,
)
from forecast.sources.peek import Peek, first_record

USAGE_TYPES = {"GENERATION", "EMBEDDING"}
_CACHE_READ = {"input_cached_tokens", "input_cache_read", "cache_read_input_tokens", "input_cached"}
_CACHE_WRITE = {
    "input_cache_creation",
    "input_cache_creation_5m",
    "input_cache_creation_1h",
    "input_cache_write",
    "cache_creation_input_tokens",
}
# Gemini-style keys as Langfuse passes them through: the prompt count includes cached content.
_GEMINI = {
    "promptTokenCount",
    "candidatesTokenCount",
    "thoughtsTokenCount",
    "cachedContentTokenCount",
}


def _observations(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    for line, doc in read_json_documents(path):
        if isinstance(doc, dict) and isinstance(doc.get("data"), list):
            items = doc["data"]
        elif isinstance(doc, list):
            items = doc
        else:
            items = [doc]
        for index, obs in enumerate(items, start=1):
            yield (line if len(items) == 1 else index), obs


def _tokens(
    details: dict[str, Any], path: Path, where: dict[str, Any]
) -> tuple[int, int, int, int]:
    """(input, cached, cache_write, output) from a usageDetails map."""

    def num(key: str) -> int:
        return require_int(details[key], path, where, f"usageDetails.{key}")

    if _GEMINI & details.keys():
        inp = num("promptTokenCount") if "promptTokenCount" in details else 0
        cached = num("cachedContentTokenCount") if "cachedContentTokenCount" in details else 0
        out = sum(num(k) for k in ("candidatesTokenCount", "thoughtsTokenCount") if k in details)
        return inp, cached, 0, out
    inp = cached = write = out = 0
    for key in details:
        if key == "total" or key.startswith("total"):
            continue
        value = num(key)
        if key in _CACHE_READ:
            cached += value
            inp += value
        elif key in _CACHE_WRITE:
            write += value
            inp += value
        elif key.startswith("input"):
            inp += value
        elif key.startswith("output"):
            out += value
        else:
            raise DataFormatError(
                "usage key is neither input nor output",
                file=str(path),
                field=f"usageDetails.{key}",
                hint="rename it input_<kind> or output_<kind> in Langfuse, or export without it",
                **where,
            )
    return inp, cached, write, out


def records(
    path: Path, ctx: SourceContext, label: str, skipped: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    for loc, obs in _observations(path):
        where: dict[str, Any] = {label: loc}
        kind = str(obs.get("type", "")).upper()
        if kind not in USAGE_TYPES:
            skipped[kind or "untyped"] = skipped.get(kind or "untyped", 0) + 1
            continue
        details = obs.get("usageDetails")
        if not details:
            legacy = obs.get("usage") or {}
            if legacy.get("unit") not in (None, "TOKENS"):
                raise DataFormatError(
                    "usage is not counted in tokens",
                    file=str(path),
                    field="usage.unit",
                    value=legacy.get("unit"),
                    **where,
                )
            details = {k: legacy[k] for k in ("input", "output") if legacy.get(k) is not None}
        if not details:
            raise DataFormatError("generation has no usageDetails", file=str(path), **where)
        inp, cached, write, out = _tokens(details, path, where)
        costs = obs.get("costDetails") or {}
        cost = costs.get("total", sum(costs.values()) if costs else obs.get("calculatedTotalCost"))
        attrs = flatten("metadata", obs.get("metadata") or {}, {})
        attrs |= {
            k: obs.get(k) for k in ("environment", "name", "promptName", "traceId") if obs.get(k)
        }
        team, feature = attribute(
            attrs,
            ctx.attribution,
            ("metadata.team", "environment"),
            ("metadata.feature", "promptName", "name"),
        )
        yield {
            "_loc": loc,
            "timestamp": obs.get("startTime"),
            "team": team,
            "feature": feature,
            "model": obs.get("model"),
            "status": "error" if obs.get("level") == "ERROR" else "success",
            "requests": 1,
            "input_tokens": inp,
            "cached_input_tokens": cached,
            "cache_write_tokens": write,
            "output_tokens": out,
            "cost_usd": cost,
            "user": attrs.get("metadata.user_id") or obs.get("userId"),
            "deployment": obs.get("version") or attrs.get("metadata.deployment"),
            "request_id": obs.get("id"),
        }


def stage(con: DuckDBPyConnection, path: Path, ctx: SourceContext, peeked: Peek) -> Staged:
    label = "line" if peeked.kind == "jsonl" else "record"
    skipped: dict[str, int] = {}
    frame = frame_from_records(records(path, ctx, label, skipped), path, "generation observations")
    notes = []
    if skipped:
        listing = ", ".join(f"{n} {kind}" for kind, n in sorted(skipped.items()))
        notes.append(f"not usage, left out: {listing} observation(s)")
    return stage_frame(con, frame, "_src_langfuse", label, notes=notes)


def sniff(path: Path, peeked: Peek) -> bool:
    first = first_record(peeked.first)
    if isinstance(first.get("data"), list):
        first = first_record(first["data"])
    return "traceId" in first and "type" in first and "startTime" in first


SOURCE = Source(
    name="langfuse",
    description="Langfuse observations export (JSON / JSON Lines)",
    stage=stage,
    sniff=sniff,
)
