"""LiteLLM proxy ``LiteLLM_SpendLogs`` rows, exported as CSV or JSON Lines (one row per request).

``prompt_tokens`` counts every input token (OpenAI style); cache reads and
writes live inside the ``metadata`` JSON. LiteLLM stores times in UTC
without an offset, so offset-less times are read as UTC unless
``--timezone`` says otherwise.
"""

from __future__ import annotations

import csv
import json
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

_STATUS = {
    None: "success",
    "": "success",
    "success": "success",
    "failure": "error",
    "error": "error",
}
_PROVIDERS = {"vertex_ai": "google", "gemini": "google", "azure": "azure", "bedrock": "bedrock"}
_SIGNATURE = {"request_id", "startTime", "spend", "prompt_tokens"}


def _rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, row dict) from a CSV export or JSON Lines / JSON array."""
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            missing = _SIGNATURE - set(reader.fieldnames or [])
            if missing:
                raise DataFormatError(
                    f"missing LiteLLM_SpendLogs column(s): {', '.join(sorted(missing))}",
                    file=str(path),
                    line=1,
                )
            for row in reader:
                yield reader.line_num, row
        return
    for line, doc in read_json_documents(path):
        for index, row in enumerate(doc if isinstance(doc, list) else [doc]):
            yield (line if not isinstance(doc, list) else index + 1), row


def _json_field(value: Any, path: Path, where: dict[str, Any], field: str) -> dict[str, Any]:
    if value in (None, ""):
        return {}
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value)
    except (TypeError, json.JSONDecodeError):
        raise DataFormatError("not valid JSON", file=str(path), field=field, **where) from None
    return parsed if isinstance(parsed, dict) else {}


def _first(*values: Any) -> Any:
    return next((v for v in values if v not in (None, "")), None)


# Long on purpose: one record's fields, each checked where it is read.
def records(path: Path, ctx: SourceContext, label: str) -> Iterator[dict[str, Any]]:
    for loc, row in _rows(path):
        where: dict[str, Any] = {label: loc}
        meta = _json_field(row.get("metadata"), path, where, "metadata")
        usage = meta.get("usage_object") or {}
        extra = meta.get("additional_usage_values") or {}
        details = usage.get("prompt_tokens_details") or {}
        cached = _first(
            details.get("cached_tokens"),
            usage.get("cache_read_input_tokens"),
            extra.get("cache_read_input_tokens"),
        )
        write = _first(
            usage.get("cache_creation_input_tokens"), extra.get("cache_creation_input_tokens")
        )
        status = _STATUS.get(str(_first(row.get("status"), meta.get("status")) or "").lower())
        if status is None:
            raise DataFormatError(
                "status must be success or failure",
                file=str(path),
                field="status",
                value=row.get("status"),
                **where,
            )
        attrs = flatten("metadata", meta.get("spend_logs_metadata") or {}, {})
        attrs |= {
            "team_id": row.get("team_id") or meta.get("user_api_key_team_id"),
            "team_alias": meta.get("user_api_key_team_alias"),
            "key_alias": meta.get("user_api_key_alias"),
            "api_key": row.get("api_key"),
            "model_group": row.get("model_group"),
        }
        attrs = {k: v for k, v in attrs.items() if v not in (None, "")}
        team, feature = attribute(
            attrs,
            ctx.attribution,
            ("metadata.team", "team_alias", "team_id"),
            ("metadata.feature", "key_alias", "api_key"),
        )
        provider = str(row.get("custom_llm_provider") or "").lower()
        yield {
            "_loc": loc,
            "timestamp": row.get("startTime"),
            "team": team,
            "feature": feature,
            "model": row.get("model"),
            "provider": _PROVIDERS.get(provider, provider) or None,
            "status": status,
            "requests": 1,
            "input_tokens": require_int(
                _first(row.get("prompt_tokens"), 0), path, where, "prompt_tokens"
            ),
            "cached_input_tokens": require_int(
                cached, path, where, "cache_read_input_tokens", False
            ),
            "cache_write_tokens": require_int(
                write, path, where, "cache_creation_input_tokens", False
            ),
            "output_tokens": require_int(
                _first(row.get("completion_tokens"), 0), path, where, "completion_tokens"
            ),
            "cost_usd": _first(row.get("spend")),
            "user": _first(row.get("end_user"), row.get("user")),
            "deployment": attrs.get("metadata.deployment"),
            "request_id": _first(row.get("request_id")),
        }


def stage(con: DuckDBPyConnection, path: Path, ctx: SourceContext, peeked: Peek) -> Staged:
    label = "line" if peeked.kind in ("csv", "jsonl") else "record"
    frame = frame_from_records(records(path, ctx, label), path, "spend log rows")
    return stage_frame(con, frame, "_src_litellm", label, timezone=ctx.timezone or "UTC")


def sniff(path: Path, peeked: Peek) -> bool:
    names = set(peeked.header) if peeked.kind == "csv" else set(first_record(peeked.first))
    return names >= _SIGNATURE


SOURCE = Source(
    name="litellm-spendlogs",
    description="LiteLLM proxy LiteLLM_SpendLogs rows (CSV or JSON Lines)",
    stage=stage,
    sniff=sniff,
)
