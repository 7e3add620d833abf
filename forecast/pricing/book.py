"""Prices per model, service tier and token kind, each from the date it takes effect.

The book is layered: the bundled YAML, then LiteLLM's price map if the
config names one, then the config's own entries. For one model, tier and
date, the later layer wins; across dates, the latest entry on or before the
usage date applies.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from forecast.errors import ConfigError, CostcastError, UnknownModelError, UnpricedModelError
from forecast.yamlio import load_yaml, parse_yaml, raise_validation_error

Tier = Literal["standard", "batch", "flex", "priority"]
PRICE_COLUMNS = ("input", "cached_input", "cache_write", "output")


class PriceEntry(BaseModel):
    """USD per million tokens for one model and tier, from ``effective`` on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(min_length=1)
    provider: str | None = None
    tier: Tier = "standard"
    effective: dt.date
    input: float = Field(ge=0)
    cached_input: float | None = Field(default=None, ge=0)
    cache_write: float | None = Field(default=None, ge=0)
    output: float = Field(ge=0)
    source: str | None = None

    def per_token_kind(self) -> dict[str, float]:
        """Prices with the documented defaults filled in (cache reads and writes at input price)."""
        return {
            "input": self.input,
            "cached_input": self.input if self.cached_input is None else self.cached_input,
            "cache_write": self.input if self.cache_write is None else self.cache_write,
            "output": self.output,
        }


class _BookFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entries: list[PriceEntry]


# Names providers and gateways put around a model: routing prefixes and
# dated snapshot or version suffixes. Stripped one at a time until a book
# entry matches, so an exact entry (gpt-4o-2024-05-13) still wins.
_PREFIX = re.compile(
    r"^(?:openai|anthropic|google|gemini|vertex_ai|azure|bedrock|models|"
    r"(?:[a-z]{2}\.)?anthropic)[/.]",
)
_SUFFIXES = (
    re.compile(r"-\d{4}-\d{2}-\d{2}$"),  # gpt-4o-2024-08-06
    re.compile(r"[-@]\d{8}$"),  # claude-sonnet-4-5-20250929, vertex @20250929
    re.compile(r"-v\d+(?::\d+)?$"),  # bedrock -v1:0
    re.compile(r"-latest$"),
    re.compile(r"-\d{3}$"),  # gemini-1.5-pro-002
    re.compile(r"-preview(?:-\d{2}-\d{2})?$"),
)


def resolve_model_name(name: str, known: Iterable[str]) -> str | None:
    """The book key a billed model name belongs to, or None."""
    known = set(known)
    candidate = name.strip().lower()
    while candidate not in known and _PREFIX.match(candidate):
        candidate = _PREFIX.sub("", candidate, count=1)
    while candidate not in known:
        for pattern in _SUFFIXES:
            shorter = pattern.sub("", candidate)
            if shorter != candidate:
                candidate = shorter
                break
        else:
            return None
    return candidate


class PriceBook:
    """Immutable set of dated price entries with lookups by usage date."""

    def __init__(self, entries: Sequence[PriceEntry]) -> None:
        # Later entries in the sequence win over earlier ones for the same key.
        latest: dict[tuple[str, str, dt.date], PriceEntry] = {}
        for entry in entries:
            normalised = entry.model_copy(update={"model": entry.model.lower()})
            latest[(normalised.model, normalised.tier, normalised.effective)] = normalised
        self.entries: tuple[PriceEntry, ...] = tuple(
            sorted(latest.values(), key=lambda e: (e.model, e.tier, e.effective))
        )
        self._models = {e.model for e in self.entries}
        self._providers = {e.model: e.provider for e in self.entries if e.provider}
        self._frame: pd.DataFrame | None = None  # built on first use; the book never changes

    @cached_property
    def digest(self) -> str:
        """A hash of the entries: books with the same prices have the same digest."""
        entries = [e.model_dump(mode="json") for e in self.entries]
        return hashlib.sha256(json.dumps(entries, sort_keys=True).encode()).hexdigest()

    @property
    def models(self) -> frozenset[str]:
        return frozenset(self._models)

    def resolve(self, model: str) -> str | None:
        return resolve_model_name(model, self._models)

    def provider_of(self, model: str) -> str | None:
        key = self.resolve(model)
        return self._providers.get(key) if key else None

    def price(self, model: str, on: dt.date, tier: str = "standard") -> PriceEntry:
        """The entry in effect for ``model`` on ``on``; raises if there is none."""
        key = self.resolve(model)
        if key is None:
            raise UnknownModelError(
                f"model {model!r} is not in the price book",
                hint=_suggest(model, self._models),
            )
        candidates = [e for e in self.entries if e.model == key and e.tier == tier]
        in_effect = [e for e in candidates if e.effective <= on]
        if not in_effect:
            if not candidates:
                tiers = sorted({e.tier for e in self.entries if e.model == key})
                raise UnknownModelError(
                    f"model {model!r} has no {tier} price (tiers in the book: {', '.join(tiers)})"
                )
            first = min(e.effective for e in candidates)
            raise UnknownModelError(
                f"model {model!r} has no {tier} price on {on}; its first price takes effect {first}"
            )
        return in_effect[-1]

    def on_days(
        self, model: str, days: pd.DatetimeIndex, tier: str = "standard"
    ) -> dict[str, np.ndarray]:
        """USD per million tokens of each kind in effect on each of ``days``: the one
        vectorised lookup (the ledger's own rows are priced the same way by DuckDB's ASOF
        join on ``frame()``, in ``forecast.usage``). Raises as ``price`` does."""
        key = self.resolve(model)
        table = self._tables.get((key, tier)) if key else None
        if table is None:
            self.price(model, days[0].date(), tier)  # raises, naming the model and tier
            raise AssertionError("unreachable: price() raises where the book has no table")
        effective, values = table
        idx = np.searchsorted(effective, days.to_numpy(dtype="datetime64[D]"), side="right") - 1
        if (idx < 0).any():
            self.price(model, days[int(np.argmin(idx))].date(), tier)  # raises, with the date
        return {kind: values[k][idx] for k, kind in enumerate(PRICE_COLUMNS)}

    @cached_property
    def _tables(self) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]:
        """(model, tier) -> (effective days, (kinds, entries) prices), sorted by day."""
        out: dict[tuple[str, str], tuple[list[Any], list[Any]]] = {}
        for e in self.entries:  # sorted by model, tier, effective
            days, rows = out.setdefault((e.model, e.tier), ([], []))
            days.append(np.datetime64(e.effective, "D"))
            kinds = e.per_token_kind()
            rows.append([kinds[k] for k in PRICE_COLUMNS])
        return {k: (np.array(d), np.array(r, dtype=float).T) for k, (d, r) in out.items()}

    def history(self, model: str) -> list[PriceEntry]:
        key = self.resolve(model)
        return [e for e in self.entries if e.model == key] if key else []

    def frame(self) -> pd.DataFrame:
        """One row per entry with defaults filled in: the table the ledger joins against.
        ``until``: the next entry's ``effective`` for the same model and tier (NaT for the
        latest), so that a day finds its price by an equality join and a range check."""
        if self._frame is None:
            self._frame = self._build_frame()
        return self._frame.copy()

    def _build_frame(self) -> pd.DataFrame:
        rows = []
        for e in self.entries:
            row = {"model": e.model, "tier": e.tier, "effective": e.effective}
            row.update(e.per_token_kind())
            row["provider"] = e.provider or ""
            rows.append(row)
        frame = pd.DataFrame(
            rows, columns=["model", "tier", "effective", *PRICE_COLUMNS, "provider"]
        )
        frame["effective"] = pd.to_datetime(frame["effective"]).astype("datetime64[s]")
        # entries are sorted by model, tier and day: the next row of a group is the next price
        frame["until"] = frame.groupby(["model", "tier"])["effective"].shift(-1)
        return frame

    def require_prices(self, keys: Iterable[tuple[str, str, dt.date]]) -> None:
        """Raise one error naming every (model, tier) with no price on its first usage date."""
        missing = self.missing_prices(keys)
        if missing:
            raise UnpricedModelError([label for _, label in missing])

    def missing_prices(self, keys: Iterable[tuple[str, str, dt.date]]) -> list[tuple[str, str]]:
        """(model, what is missing) for every (model, tier, first usage day) the book cannot
        price from that day on."""
        missing = []
        for model, tier, first_day in keys:
            key = self.resolve(model)
            label = model if tier == "standard" else f"{model} ({tier} tier)"
            dates = [e.effective for e in self.entries if e.model == key and e.tier == tier]
            if key is None or not dates:
                missing.append((model, label))
            elif min(dates) > first_day:
                missing.append((model, f"{label}: used from {first_day}, first price {min(dates)}"))
        return missing


def _suggest(model: str, known: set[str]) -> str:
    import difflib

    close = difflib.get_close_matches(model.lower(), sorted(known), n=3, cutoff=0.6)
    base = "add it under prices.entries in costcast.yaml"
    return f"did you mean {', '.join(close)}? Or {base}" if close else base


def bundled_entries() -> list[PriceEntry]:
    text = resources.files("forecast.pricing").joinpath("default_prices.yaml").read_text()
    doc = parse_yaml(text, "forecast/pricing/default_prices.yaml", error=ConfigError)
    try:
        return _BookFile.model_validate(doc.data).entries
    except ValidationError as exc:
        raise_validation_error(exc.errors(), doc, ConfigError)


def load_price_file(path: str | Path) -> list[PriceEntry]:
    """A user price file in the bundled book's format (``entries: [...]``)."""
    doc = load_yaml(path, error=ConfigError)
    try:
        return _BookFile.model_validate(doc.data).entries
    except ValidationError as exc:
        raise_validation_error(exc.errors(), doc, ConfigError)


def price_table(
    book: PriceBook, on: dt.date, tier: str = "standard", model: str | None = None
) -> pd.DataFrame:
    """The prices in effect on ``on`` (USD per million tokens) with their source: for one
    model (an error if it has none), or every model priced in that tier on that day."""
    if model is not None:
        entries = [book.price(model, on, tier)]
    else:
        entries = []
        for name in sorted(book.models):
            try:
                entries.append(book.price(name, on, tier))
            except CostcastError:
                continue  # not yet priced on that day, or no price in this tier
    rows = [
        {"model": e.model, "provider": e.provider, "tier": e.tier, "effective": str(e.effective)}
        | e.per_token_kind()
        | {"source": e.source}
        for e in entries
    ]
    frame = pd.DataFrame(rows)
    if model is not None:
        frame.insert(0, "asked", model)
    return frame
