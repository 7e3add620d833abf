"""Readers for billed cost exports, each giving rows of
(day, provider, project, model, line_item, amount_usd, where).

- ``openai_costs``: Costs API pages, ``amount.value`` in dollars (a number, or a
  numeric string in some fixtures), daily buckets of Unix seconds.
- ``anthropic_costs``: the legacy cost report (buckets of results) and the
  Usage and Cost Analytics cost rows; ``amount`` is a decimal string in cents.
- ``focus``: FOCUS 1.2 CSV as clouds and LiteLLM export it, read leniently
  (BOM, 0.5 column names, ``5/1/25`` dates, column subsets).

Only USD bills are read; another currency is an error naming the row, never
a silent conversion.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pandas as pd

from forecast.errors import DataFormatError
from forecast.schema import FIRST_YEAR, LAST_YEAR
from forecast.sources.base import expect, mapping, read_json_documents, require_file

BILLED_FORMATS = ("openai_costs", "anthropic_costs", "focus")
COLUMNS = ["day", "provider", "project", "model", "line_item", "amount_usd", "where"]
_FIRST_SECOND = dt.datetime(FIRST_YEAR, 1, 1, tzinfo=dt.UTC).timestamp()
_PAST_LAST_SECOND = dt.datetime(LAST_YEAR + 1, 1, 1, tzinfo=dt.UTC).timestamp()
DAY = dt.timedelta(days=1)
MAX_LINE_USD = Decimal("1e12")  # one bill line above a trillion dollars is a broken export
# FOCUS ProviderName values as clouds write them, mapped to the ledger's provider names.
_PROVIDER_ALIASES = {
    "google cloud": "google",
    "google cloud platform": "google",
    "amazon web services": "aws",
    "microsoft": "azure",
    "microsoft azure": "azure",
}


def read_billed(path: Path, fmt: str | None = None) -> tuple[str, pd.DataFrame, list[str]]:
    """(format, rows, notes) for one billed export; ``fmt`` None means detect it."""
    path = Path(path)
    require_file(path)
    if fmt is None:
        fmt = _detect(path)
    if fmt not in BILLED_FORMATS:
        raise DataFormatError(
            f"unknown billed format {fmt!r}; the formats are: {', '.join(BILLED_FORMATS)}",
            param="format",
        )
    notes: list[str] = []
    rows: Iterable[tuple[Any, ...]]
    if fmt == "focus":
        rows = _focus(path, notes)
    else:
        reader = _openai if fmt == "openai_costs" else _anthropic
        rows = list(reader(path))
    frame = pd.DataFrame(rows, columns=COLUMNS)
    if frame.empty:
        raise DataFormatError("no cost rows in the file", file=str(path))
    return fmt, frame, notes


def _day(start: dt.datetime, path: Path, where: dict[str, Any], field: str) -> dt.date:
    """The day a bill line falls on: one usage can lie on (records.py), else located."""
    if not FIRST_YEAR <= start.year <= LAST_YEAR:
        raise DataFormatError(f"a billed day between {FIRST_YEAR} and {LAST_YEAR}",
                              file=str(path), field=field, value=str(start.date()), **where)  # fmt: skip
    return start.date()


def _detect(path: Path) -> str:
    if path.suffix.lower() == ".csv":
        return "focus"
    docs = read_json_documents(path)
    for _, doc in docs:
        for page in doc if isinstance(doc, list) else [doc]:
            for bucket in (page.get("data") or []) if isinstance(page, dict) else []:
                if not isinstance(bucket, dict):
                    continue
                if "start_time" in bucket:
                    return "openai_costs"
                if "starting_at" in bucket:
                    return "anthropic_costs"
    raise DataFormatError(
        "cannot tell which billed format this file is",
        file=str(path),
        hint="say which format (--format, or format= through the API), one of: "
        + ", ".join(BILLED_FORMATS),
    )


def _pages(path: Path, what: str) -> Iterator[tuple[int, list[Any]]]:
    for line, doc in read_json_documents(path):
        for page in doc if isinstance(doc, list) else [doc]:
            message = f'expected {what} pages ({{"data": [...], "has_more": ...}})'
            page = mapping(page, message, path, line=line)
            expect(isinstance(page.get("data"), list), message, path, line=line)
            yield line, page["data"]


def _usd(
    value: object, currency: object, path: Path, where: dict[str, Any], field: str, cents: bool
) -> float:
    if str(currency or "").upper() != "USD":
        raise DataFormatError(
            "only USD bills can be read",
            file=str(path),
            field=field.rsplit(".", 1)[0] + ".currency",
            value=currency,
            **where,
        )
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise DataFormatError(
            "amount must be a number", file=str(path), field=field, value=value, **where
        )
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise DataFormatError(
            "amount must be a number", file=str(path), field=field, value=value, **where
        ) from None
    if not amount.is_finite():
        raise DataFormatError(
            "amount must be a finite number", file=str(path), field=field, value=value, **where
        )
    if abs(amount) > MAX_LINE_USD * (100 if cents else 1):
        raise DataFormatError(
            f"amount is beyond any real bill line (more than {MAX_LINE_USD:.0e} USD)",
            file=str(path), field=field, value=value, **where,
        )  # fmt: skip
    return float(amount / 100 if cents else amount)


def _records(path: Path, what: str) -> Iterator[tuple[Any, dict[str, Any]]]:
    """(item, where) for every item of every page; ``where`` names its line and record."""
    record = 0
    for line, items in _pages(path, what):
        for item in items:
            record += 1
            where = {"line": line, "record": record}
            yield mapping(item, f"expected a {what} record (an object)", path, **where), where


def _objects(value: object, path: Path, where: dict[str, Any], field: str) -> list[dict[str, Any]]:
    """``value`` as a list of JSON objects (none where it is missing or null)."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise DataFormatError("expected a list of objects", file=str(path), field=field, **where)
    return value


def _label(value: object, path: Path, where: dict[str, Any], field: str) -> str:
    """A name or description of a bill line: text, or nothing."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise DataFormatError("expected text", file=str(path), field=field, value=value, **where)
    return value


def _openai(path: Path) -> Iterator[tuple[Any, ...]]:
    for bucket, where in _records(path, "OpenAI costs"):
        start, end = bucket.get("start_time"), bucket.get("end_time")
        if not isinstance(start, int | float) or isinstance(start, bool):
            raise DataFormatError(
                "start_time must be Unix seconds",
                file=str(path),
                field="start_time",
                value=start,
                **where,
            )
        if end is not None and (not isinstance(end, int | float) or end - start != 86400):
            raise DataFormatError(
                "costs come in daily buckets; this one is not one day long",
                file=str(path),
                field="end_time",
                value=end,
                **where,
            )
        if not _FIRST_SECOND <= start < _PAST_LAST_SECOND:  # fromtimestamp has no year 10**9
            raise DataFormatError(
                f"start_time must fall between {FIRST_YEAR} and {LAST_YEAR}", file=str(path),
                field="start_time", value=start, **where,
            )  # fmt: skip
        day = dt.datetime.fromtimestamp(start, dt.UTC).date()
        for result in _objects(bucket.get("results"), path, where, "results"):
            amount = result.get("amount")
            if not isinstance(amount, dict):
                raise DataFormatError("amount is missing", file=str(path), field="amount", **where)
            usd = _usd(
                amount.get("value"), amount.get("currency"), path, where, "amount.value", False
            )
            yield (
                day,
                "openai",
                _label(result.get("project_id"), path, where, "results[].project_id"),
                "",
                _label(result.get("line_item"), path, where, "results[].line_item"),
                usd,
                f"record {where['record']}",
            )


def _timestamp(value: object, path: Path, where: dict[str, Any], field: str) -> dt.datetime:
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        stamp = None
    if stamp is None or stamp is pd.NaT or not isinstance(value, str):
        raise DataFormatError(
            "expected an RFC 3339 time", file=str(path), field=field, value=value, **where
        )
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return dt.datetime.fromisoformat(stamp.isoformat())


def _anthropic(path: Path) -> Iterator[tuple[Any, ...]]:
    for item, where in _records(path, "Anthropic cost report"):
        start = _timestamp(item.get("starting_at"), path, where, "starting_at")
        end = _timestamp(item.get("ending_at"), path, where, "ending_at")
        if end - start != DAY:
            raise DataFormatError(
                "costs must come in daily buckets (bucket_width / time_bucket_width 1d)",
                file=str(path),
                field="ending_at",
                value=item.get("ending_at"),
                **where,
            )
        day = _day(start, path, where, "starting_at")
        if "results" in item:  # legacy cost report: a bucket of grouped results
            results = _objects(item["results"], path, where, "results")
            rows = [(r, r, "results[]", "results[]") for r in results]
        else:  # analytics: one row with its group and cost
            cost = item.get("cost")
            if not isinstance(cost, dict):
                raise DataFormatError("cost is missing", file=str(path), field="cost", **where)
            group = mapping(item.get("group") or {}, "group must be an object", path,
                            field="group", **where)  # fmt: skip
            rows = [(cost, group, "cost", "group")]
        for money, group, field, named in rows:
            usd = _usd(money.get("amount"), money.get("currency"), path, where, f"{field}.amount",
                       True)  # fmt: skip
            names = {k: _label(group.get(k), path, where, f"{named}.{k}") for k in
                     ("workspace_id", "model", "description", "token_type", "cost_type")}  # fmt: skip
            yield (
                day,
                "anthropic",
                names["workspace_id"],
                names["model"],
                names["description"] or names["token_type"] or names["cost_type"],
                usd,
                f"record {where['record']}",
            )


# FOCUS 0.5 names that 1.0 renamed; a lenient reader accepts both.
_FOCUS_RENAMES = {
    "BilledCurrency": "BillingCurrency",
    "Provider": "ProviderName",
    "ChargeType": "ChargeCategory",
}


# Long on purpose: one FOCUS row's checks, each a located error, in the order of the columns.
def _focus(path: Path, notes: list[str]) -> Iterator[tuple[Any, ...]]:
    try:
        frame = pd.read_csv(
            path, dtype=str, keep_default_na=False, encoding="utf-8-sig", skipinitialspace=True
        )
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"not UTF-8 text (byte {exc.start})", file=str(path)) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataFormatError(f"not a readable CSV file: {exc}", file=str(path)) from None
    frame = frame.rename(columns={k: v for k, v in _FOCUS_RENAMES.items() if v not in frame})
    missing = [c for c in ("BilledCost", "ChargePeriodStart", "ProviderName") if c not in frame]
    if missing:
        raise DataFormatError(
            f"not a FOCUS file: missing column(s) {', '.join(missing)}",
            file=str(path),
            line=1,
            hint="FOCUS 1.x columns BilledCost, ChargePeriodStart and ProviderName are required",
        )
    skipped: dict[str, int] = {}
    for index, row in enumerate(frame.to_dict("records")):
        line = index + 2  # the header is line 1
        where: dict[str, Any] = {"line": line}
        category = row.get("ChargeCategory") or "Usage"
        service = row.get("ServiceCategory") or "AI and Machine Learning"
        if category != "Usage" or service != "AI and Machine Learning":
            label = (
                f"ChargeCategory {category}"
                if category != "Usage"
                else f"ServiceCategory {service}"
            )
            skipped[label] = skipped.get(label, 0) + 1
            continue
        start = _focus_time(row["ChargePeriodStart"], path, line, "ChargePeriodStart")
        day = _day(start, path, where, "ChargePeriodStart")
        end_text = row.get("ChargePeriodEnd")
        if end_text:
            end = _focus_time(end_text, path, line, "ChargePeriodEnd")
            if end > dt.datetime.combine(day + DAY, dt.time()):
                raise DataFormatError(
                    "a charge period longer than one day cannot be placed on a day",
                    file=str(path),
                    field="ChargePeriodEnd",
                    value=end_text,
                    **where,
                )
        currency = row.get("BillingCurrency") or "USD"
        usd = _usd(row["BilledCost"], currency, path, where, "BilledCost", False)
        provider = row["ProviderName"].strip()
        if not provider:
            raise DataFormatError(
                "ProviderName must not be empty", file=str(path), field="ProviderName", **where
            )
        yield (
            day,
            _PROVIDER_ALIASES.get(provider.lower(), provider.lower()),
            row.get("SubAccountId") or "",
            row.get("x_Model") or "",
            row.get("ChargeDescription") or row.get("SkuId") or "",
            usd,
            f"line {line}",
        )
    for label, count in sorted(skipped.items()):
        notes.append(
            f"{count} row(s) with {label} not imported: only AI usage charges are compared"
        )


def _focus_time(text: str, path: Path, line: int, field: str) -> dt.datetime:
    """ISO 8601 as the spec requires, or the ``5/1/25`` dates of the spec's own samples."""
    text = text.strip()
    parsers: tuple[Callable[[str], dt.datetime], ...] = (
        lambda t: dt.datetime.fromisoformat(t.replace("Z", "+00:00")),
        lambda t: dt.datetime.strptime(t, "%m/%d/%y"),
        lambda t: dt.datetime.strptime(t, "%m/%d/%Y"),
        lambda t: dt.datetime.strptime(t, "%m/%d/%y %H:%M"),
    )
    for parse in parsers:
        try:
            stamp = parse(text)
        except ValueError:
            continue
        if stamp.tzinfo is not None:
            stamp = stamp.astimezone(dt.UTC).replace(tzinfo=None)
        return stamp
    raise DataFormatError(
        "expected an ISO 8601 UTC time like 2026-03-01T00:00:00Z",
        file=str(path),
        line=line,
        field=field,
        value=text,
    )
