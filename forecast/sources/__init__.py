"""Source adapters: each turns one real export format into canonical usage records."""

from __future__ import annotations

from pathlib import Path

from forecast.errors import DataFormatError
from forecast.sources import anthropic, canonical, langfuse, litellm, openai, otel
from forecast.sources.base import Source, SourceContext, Staged
from forecast.sources.peek import Peek

SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        canonical.SOURCE,
        openai.SOURCE,
        anthropic.SOURCE,
        litellm.SOURCE,
        langfuse.SOURCE,
        otel.SOURCE,
    )
}


def get_source(name: str) -> Source:
    try:
        return SOURCES[name]
    except KeyError:
        raise DataFormatError(
            f"unknown format {name!r}; the formats are: {', '.join(SOURCES)}", param="format"
        ) from None


def detect_source(path: Path, peeked: Peek) -> Source:
    matches = [s for s in SOURCES.values() if s.sniff(path, peeked)]
    if len(matches) == 1:
        return matches[0]
    listing = "\n".join(f"    {s.name:<20} {s.description}" for s in SOURCES.values())
    if not matches:
        raise DataFormatError(
            "cannot tell which format this file is",
            file=str(path),
            hint=f"say which format (--format, or format= through the API), one of:\n{listing}",
        )
    raise DataFormatError(
        f"the file could be any of: {', '.join(s.name for s in matches)}",
        file=str(path),
        hint="say which format (--format, or format= through the API)",
    )


__all__ = ["SOURCES", "Source", "SourceContext", "Staged", "detect_source", "get_source"]
