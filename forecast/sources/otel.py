"""OpenTelemetry GenAI spans in OTLP JSON (a collector's file export: one
``{"resourceSpans": [...]}`` document, or one per line).

Reads current attribute names and their deprecated predecessors
(``gen_ai.system``, ``gen_ai.usage.prompt_tokens``/``completion_tokens``).
Per the conventions ``gen_ai.usage.input_tokens`` already includes cache
reads and writes. Spans that are not model calls (agents, tools) are
counted and left out.
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
    expect,
    frame_from_records,
    iso_utc,
    mapping,
    read_json_documents,
    require_int,
    stage_frame,
)
from forecast.sources.peek import Peek, first_record

MODEL_CALLS = {"chat", "generate_content", "text_completion", "embeddings"}
_PROVIDERS = {
    "aws.bedrock": "bedrock",
    "azure.ai.openai": "azure",
    "azure.ai.inference": "azure",
    "gcp.gen_ai": "google",
    "gcp.vertex_ai": "google",
    "gcp.gemini": "google",
    "az.ai.openai": "azure",
}


def attribute_values(attributes: list[Any] | None) -> dict[str, Any]:
    """OTLP ``[{key, value: {stringValue|intValue|...}}]`` as a plain dict."""
    out = {}
    for item in attributes or []:
        value = item.get("value") or {}
        for kind in ("stringValue", "intValue", "doubleValue", "boolValue"):
            if kind in value:
                out[item.get("key")] = value[kind]
                break
        else:
            if "arrayValue" in value:
                out[item.get("key")] = [
                    next(iter(v.values()), None) for v in value["arrayValue"].get("values", [])
                ]
    return out


def _spans(path: Path) -> Iterator[tuple[int, dict[str, Any], dict[str, Any]]]:
    """(span index, resource attributes, span) over every document of the file."""
    index = 0
    for _, doc in read_json_documents(path):
        for part in doc if isinstance(doc, list) else [doc]:
            message = 'expected OTLP JSON ({"resourceSpans": [...]})'
            part = mapping(part, message, path)
            expect("resourceSpans" in part, message, path)
            for resource_spans in part["resourceSpans"]:
                resource = attribute_values(
                    (resource_spans.get("resource") or {}).get("attributes")
                )
                for scope in resource_spans.get("scopeSpans") or []:
                    for span in scope.get("spans") or []:
                        index += 1
                        yield index, resource, span


def _failed(span: dict[str, Any], attrs: dict[str, Any]) -> bool:
    code = (span.get("status") or {}).get("code")
    return code in (2, "2", "STATUS_CODE_ERROR") or bool(attrs.get("error.type"))


def records(path: Path, ctx: SourceContext, skipped: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for index, resource, span in _spans(path):
        where: dict[str, Any] = {"record": index}
        attrs = attribute_values(span.get("attributes"))
        operation = attrs.get("gen_ai.operation.name")
        has_usage = any(k.startswith("gen_ai.usage.") for k in attrs)
        if operation not in MODEL_CALLS and not (operation is None and has_usage):
            skipped[operation or "non-GenAI"] = skipped.get(operation or "non-GenAI", 0) + 1
            continue

        def num(
            *names: str,
            required: bool = True,
            attrs: dict[str, Any] = attrs,
            where: dict[str, Any] = where,
        ) -> Any:  # an int, or None where not required
            value = next((attrs[n] for n in names if n in attrs), None)
            return require_int(value, path, where, names[0], required)

        start = span.get("startTimeUnixNano")
        try:
            seconds = int(start) / 1e9  # type: ignore[arg-type]  # TypeError is caught
        except (TypeError, ValueError):
            raise DataFormatError(
                "startTimeUnixNano is not a number", file=str(path), value=start, **where
            ) from None
        merged = resource | attrs
        team, feature = attribute(
            merged, ctx.attribution, ("team", "service.namespace"), ("feature", "service.name")
        )
        provider = attrs.get("gen_ai.provider.name") or attrs.get("gen_ai.system")
        yield {
            "_loc": index,
            "timestamp": iso_utc(seconds),
            "team": team,
            "feature": feature,
            "model": attrs.get("gen_ai.response.model") or attrs.get("gen_ai.request.model"),
            "provider": _PROVIDERS.get(provider or "", provider),
            "status": "error" if _failed(span, attrs) else "success",
            "requests": 1,
            "input_tokens": num("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"),
            "cached_input_tokens": num("gen_ai.usage.cache_read.input_tokens", required=False),
            "cache_write_tokens": num("gen_ai.usage.cache_creation.input_tokens", required=False),
            "output_tokens": num(
                "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", required=False
            ),
            "user": merged.get("user.id") or merged.get("enduser.id"),
            "deployment": resource.get("service.version"),
            "request_id": attrs.get("gen_ai.response.id")
            or f"otel:{span.get('traceId')}:{span.get('spanId')}",
        }


def stage(con: DuckDBPyConnection, path: Path, ctx: SourceContext, peeked: Peek) -> Staged:
    skipped: dict[str, int] = {}
    frame = frame_from_records(records(path, ctx, skipped), path, "GenAI model-call spans")
    notes = []
    if skipped:
        listing = ", ".join(f"{n} {op}" for op, n in sorted(skipped.items()))
        notes.append(f"not model calls, left out: {listing} span(s)")
    return stage_frame(con, frame, "_src_otel", "record", notes=notes)


def sniff(path: Path, peeked: Peek) -> bool:
    return "resourceSpans" in first_record(peeked.first)


SOURCE = Source(
    name="otel",
    description="OpenTelemetry GenAI spans, OTLP JSON (file exporter)",
    stage=stage,
    sniff=sniff,
)
