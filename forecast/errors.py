"""User-facing errors.

Every error a user can cause is one of these. Each carries where it happened
(file, line or record, field, value) so the CLI and the API can print one
clean message instead of a traceback.

A mistake in what an operation was asked (a frequency, a date, a horizon) names
the operation's parameter in ``param``, neutrally (``as_of``, ``freq``): each
front end renders it its own way, the CLI as its option (``--as-of``), the API
as the query or body field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def printable(text: str) -> str:
    """Text safe to encode as UTF-8: input echoed back may hold lone surrogates."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


class CostcastError(Exception):
    """Base of every error caused by user input; the CLI exits 2 on these."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        record: int | None = None,
        field: str | None = None,
        param: str | None = None,
        value: object = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.record = record
        self.field = field
        self.param = param
        self.value = value
        self.hint = hint
        super().__init__(self.__str__())

    def location(self, param: Callable[[str], str] = repr) -> str:
        """Where, in words; ``param`` renders a parameter's name as the front end spells it."""
        parts = []
        if self.file:
            parts.append(str(self.file))
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.column is not None:
            parts.append(f"column {self.column}")
        if self.record is not None:
            parts.append(f"record {self.record}")
        if self.field:
            parts.append(f"field {self.field!r}")
        if self.param:
            parts.append(param(self.param))
        return ", ".join(parts)

    def __str__(self) -> str:
        return self.render()

    def render(self, param: Callable[[str], str] = repr) -> str:
        where = self.location(param)
        text = f"{where}: {self.message}" if where else self.message
        if self.value is not None:
            text += f" (got {self.value!r})"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def to_dict(self) -> dict[str, Any]:
        """The JSON body the API answers with."""
        body = {
            "error": type(self).__name__,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "record": self.record,
            "field": self.field if self.field is not None else self.param,
            "value": None if self.value is None else str(self.value),
            "hint": self.hint,
        }
        return {k: printable(v) if isinstance(v, str) else v for k, v in body.items()}


class DataFormatError(CostcastError):
    """An input file is not what it should be: bad row, missing column, wrong format."""


class ConfigError(CostcastError):
    """costcast.yaml (or a price file) is invalid."""


class UnpricedModelError(CostcastError):
    """One or more models have no entry in the price book."""

    def __init__(self, models: list[str], hint: str | None = None) -> None:
        self.models = sorted(set(models))
        listing = "; ".join(self.models)
        super().__init__(
            f"no price for model(s): {listing}",
            hint=hint
            or "add an entry under prices.entries in costcast.yaml, e.g.\n"
            "    prices:\n      entries:\n"
            f"        - {{model: {self.models[0].split()[0].rstrip(':')}, effective: 2025-01-01, "
            "input: 1.00, output: 4.00}\n"
            "  (USD per million tokens), or load LiteLLM's price map with prices.litellm_map",
        )


class UnknownModelError(CostcastError):
    """A model name the price book does not know was asked for directly."""


class ScenarioError(CostcastError):
    """A scenario file or body is invalid, or cannot be applied to its baseline."""


class LedgerError(CostcastError):
    """The ledger cannot answer: empty, locked by another writer, or unreadable."""


class NotFoundError(CostcastError):
    """A run, scenario result, ingest or token that was asked for by name does not exist."""


class OverlapError(CostcastError):
    """A file's rows without request ids fall on hours and groups that another file of the
    same source already brought: ingesting them would count them twice."""
