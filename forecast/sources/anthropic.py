"""Anthropic Admin API usage: the messages usage report (buckets of results) and the
Usage and Cost Analytics rows (``{starting_at, ending_at, group, usage}``).

Anthropic reports uncached input, cache reads and cache writes apart; the
canonical ``input_tokens`` is their sum. The usage report counts no
requests, so those rows have an unknown request count (empty), not zero.
"""

from __future__ import annotations

import datetime as dt
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
    flatten,
    frame_from_records,
    mapping,
    read_json_documents,
    require_int,
    stage_frame,
)
from forecast.sources.peek import Peek, first_record

_TIERS = {
    None: "standard",
    "standard": "standard",
    "batch": "batch",
    "priority": "priority",
    "priority_on_demand": "priority",
    "flex": "flex",
    "flex_discount": "flex",
}
_DIMS = ("workspace_id", "api_key_id", "model", "service_tier", "context_window", "inference_geo")


def _items(path: Path) -> Iterator[tuple[Any, ...]]:
    """(starting_at, ending_at, row, group) for every result of every page."""
    for _, doc in read_json_documents(path):
        for page in doc if isinstance(doc, list) else [doc]:
            message = 'expected Anthropic usage pages ({"data": [...], "has_more": ...})'
            page = mapping(page, message, path)
            expect(isinstance(page.get("data"), list), message, path)
            for item in page["data"]:
                if "results" in item:  # usage report: a bucket of grouped results
                    for row in item["results"] or []:
                        yield item.get("starting_at"), item.get("ending_at"), row, row
                else:  # analytics API: one row with its group and usage
                    usage = item.get("usage") or {}
                    yield (
                        item.get("starting_at"),
                        item.get("ending_at"),
                        usage,
                        item.get("group") or {},
                    )


def _time(value: object, path: Path, where: dict[str, Any], field: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise DataFormatError(
            "not an RFC 3339 date-time", file=str(path), field=field, value=value, **where
        ) from None
    if parsed.tzinfo is None:
        raise DataFormatError(
            "date-time has no offset", file=str(path), field=field, value=value, **where
        )
    return parsed


# Long on purpose: one record's fields, each checked where it is read.
def records(path: Path, ctx: SourceContext) -> Iterator[dict[str, Any]]:
    for record, (start, end, row, group) in enumerate(_items(path), start=1):
        where: dict[str, Any] = {"record": record}
        begin = _time(start, path, where, "starting_at")
        finish = _time(end, path, where, "ending_at")
        model = group.get("model") or row.get("model")
        if not model:
            raise DataFormatError(
                "model is null: export usage with group_by[]=model so it can be priced",
                file=str(path),
                field="model",
                **where,
            )

        def num(
            field: str, value: object, required: bool = True, where: dict[str, Any] = where
        ) -> Any:  # an int, or None where not required
            return require_int(value, path, where, field, required)

        creation = row.get("cache_creation") or {}
        write_5m = num(
            "cache_creation.ephemeral_5m_input_tokens",
            creation.get("ephemeral_5m_input_tokens", row.get("cache_creation_5m_input_tokens")),
            required=False,
        )
        write_1h = num(
            "cache_creation.ephemeral_1h_input_tokens",
            creation.get("ephemeral_1h_input_tokens", row.get("cache_creation_1h_input_tokens")),
            required=False,
        )
        uncached = num("uncached_input_tokens", row.get("uncached_input_tokens"))
        read = num("cache_read_input_tokens", row.get("cache_read_input_tokens"), required=False)
        output = num("output_tokens", row.get("output_tokens"))
        requests = row.get("requests")
        tier = _TIERS.get(group.get("service_tier"))
        if tier is None:
            raise DataFormatError(
                "unknown service_tier",
                file=str(path),
                field="service_tier",
                value=group.get("service_tier"),
                **where,
            )
        attrs = flatten("", {k: v for k, v in group.items() if v is not None}, {})
        attrs.setdefault("workspace_id", "default")  # null means the default workspace
        team, feature = attribute(
            attrs, ctx.attribution, ("workspace_id", "api_key_id"), ("api_key_id",)
        )
        dims = ":".join(str(group.get(k)) for k in _DIMS)
        extra = ":".join(f"{k}={v}" for k, v in sorted(group.items()) if k not in _DIMS)
        yield {
            "_loc": record,
            "timestamp": begin.isoformat(),
            "bucket": bucket_for((finish - begin).total_seconds(), path, where),
            "team": team,
            "feature": feature,
            "model": model,
            "provider": "anthropic",
            "service_tier": tier,
            "requests": None if requests is None else num("requests", requests),
            "input_tokens": uncached + read + write_5m + write_1h,
            "cached_input_tokens": read,
            "cache_write_tokens": write_5m + write_1h,
            "output_tokens": output,
            "user": group.get("user_profile_id") or group.get("actor"),
            "request_id": f"anthropic-usage:{begin.isoformat()}:{finish.isoformat()}:{dims}:{extra}",
            "_write_1h": write_1h,
        }


def stage(con: DuckDBPyConnection, path: Path, ctx: SourceContext, peeked: Peek) -> Staged:
    rows = list(records(path, ctx))
    write_1h = sum(row.pop("_write_1h") for row in rows)
    frame = frame_from_records(rows, path, "usage results")
    notes = []
    if write_1h:
        # The canonical record has one cache-write count; its price is the 5-minute one.
        notes.append(
            f"{write_1h:,} cache-write token(s) had a 1-hour lifetime, which Anthropic bills "
            "at 2x the input price; costcast prices every cache write at the 5-minute rate "
            "(1.25x), so cost computed for them is low by 0.75x the input price"
        )
    unknown = int(frame["requests"].isna().sum())
    if unknown:
        notes.append(
            f"{unknown} row(s) from Anthropic's usage report carry no request count; "
            "their requests are unknown (empty), not zero"
        )
    staged = stage_frame(con, frame, "_src_anthropic", "record", notes=notes)
    staged.requests_default = "NULL"
    staged.revisable = True
    return staged


def sniff(path: Path, peeked: Peek) -> bool:
    page = first_record(peeked.first)
    data = page.get("data")
    if not isinstance(data, list) or not data or not isinstance(data[0], dict):
        return False
    item = data[0]
    row = (item.get("results") or [{}])[0] if "results" in item else item.get("usage") or {}
    return "starting_at" in item and "uncached_input_tokens" in row


SOURCE = Source(
    name="anthropic-usage",
    description="Anthropic Admin API usage report / analytics usage pages",
    stage=stage,
    sniff=sniff,
)
