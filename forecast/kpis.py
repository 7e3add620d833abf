"""Spend KPIs per group and period, from the ledger: how efficient completions are, what
failures cost, and whether prompts are growing.

Formulas (all per group and period; cost is the book's, failed and retried calls included):

- ``cost_per_success`` = cost_usd / successful_requests
- ``failed_share`` = failed_requests / requests
- ``failed_cost_usd`` = the cost of the calls that failed (what failures and retries cost)
- ``tokens_per_request_<kind>`` = tokens of that kind / requests (kinds: input, cached_input,
  cache_write, output; input includes cache reads and writes)
- ``token_inflation`` = input tokens per request in the period / input tokens per request
  over the ``baseline_days`` before the period starts, minus 1 (+0.25: prompts 25% longer)
- ``resolution_rate`` = successful outcomes / outcome attempts, and
  ``cost_per_successful_outcome`` = the cost of the usage the outcomes cover / successful
  outcomes, where outcomes were imported (``forecast.outcomes``)

Where a source counts tokens but not requests, its request counts (failed ones included)
and the per-request figures are unknown (null),
and beside a source that counts them, its tokens stay out of the per-request figures; where
the book cannot price a model, the cost figures are unknown: never zero.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from forecast.coverage import with_coverage
from forecast.fiscal import FiscalCalendar
from forecast.ledger import Ledger
from forecast.outcomes import outcome_kpis_sql
from forecast.pricing.book import PriceBook
from forecast.usage import (
    check_freq,
    check_span,
    cost_sum,
    key_columns,
    parse_group_keys,
    priced_usage_sql,
)

KPI_FREQS = ("day", "week", "month")
TOP_SHARE = 0.05  # the top 5% of users by cost
BASELINE_DAYS = 28
# Tokens of each kind per request, input counting cache reads and writes (as the ledger does)
KIND_COLUMNS = {"input": "input_tokens", "cached_input": "cached_input_tokens",
                "cache_write": "cache_write_tokens", "output": "output_tokens"}  # fmt: skip
KINDS = tuple(KIND_COLUMNS)
COUNTS = ("requests", "successful_requests", "failed_requests", "outcome_attempts")


def kpis(
    ledger: Ledger,
    book: PriceBook,
    *,
    by: str | Sequence[str] | None = None,
    freq: str = "week",
    start: dt.date | None = None,
    end: dt.date | None = None,
    baseline_days: int = BASELINE_DAYS,
) -> pd.DataFrame:
    """One row per group and period with the KPIs of the module docstring."""
    keys = parse_group_keys(by)
    check_freq(freq, KPI_FREQS)
    check_span(ledger, start, end)
    # the baseline of the first period reaches back before it
    since = None if start is None else start - dt.timedelta(days=baseline_days + 31)
    priced = priced_usage_sql(ledger, book, since, end, strict=False, daily=True,
                              dims=[*keys, "status"])  # fmt: skip
    outcomes = outcome_kpis_sql(ledger, book, keys, freq, since, end)
    frame = ledger.con.execute(_sql(priced, outcomes, keys, freq, baseline_days, start)).df()
    # counts stay whole numbers where some are unknown (a source that counts no requests):
    # 2858949, not 2858949.0, in a CSV or JSON an ERP reads. The statement casts them to
    # BIGINT, which comes as Int64 where a column holds a NULL and as int64 where none.
    for column in COUNTS:  # one at a time: astype of a dict joins copies (0.6 ms, 0.16 so)
        if frame[column].dtype != "Int64":
            frame[column] = frame[column].astype("Int64")
    return with_coverage(frame, ledger, freq, FiscalCalendar(), start, end, "period_start")


# Long on purpose: one statement from priced rows to the ratios, as the docstring lists them.
def _sql(
    priced: str, outcomes: str | None, keys: list[str], freq: str, baseline_days: int,
    start: dt.date | None,
) -> str:  # fmt: skip
    """Per group and period: counts, cost, failed cost and tokens, the input tokens per
    request of the same group over the ``baseline_days`` before the period, the outcomes,
    and the ratios of the module docstring (a ratio over nothing is unknown: NULL)."""
    group = key_columns(keys)
    # per request: the tokens of the rows that count their requests (a token-only source's
    # tokens over another source's requests would inflate the ratio)
    tokens = ", ".join(
        f"CAST(sum({column}) FILTER (WHERE requests IS NOT NULL) AS DOUBLE) AS t_{k}"
        for k, column in KIND_COLUMNS.items()
    )
    # rounded half to even, as numpy would: the figures are shown, and compared, rounded
    per_request = ", ".join(
        f"round_even(t_{k} / nullif(requests, 0), 3) AS tokens_per_request_{k}" for k in KINDS
    )
    nulls = "".join(f', NULL AS "{k}"' for k in keys)
    found = outcomes or (
        f"SELECT NULL::DATE AS period_start {nulls}, "
        "NULL::DOUBLE AS successful_outcomes, NULL::BIGINT AS outcome_attempts, "
        "NULL::DOUBLE AS outcome_cost_usd WHERE FALSE"
    )
    base = _baseline(keys, freq, baseline_days)
    return f"""
        WITH rows AS (SELECT * FROM ({priced})),
        periods AS (
            SELECT CAST(date_trunc('{freq}', ts) AS DATE) AS period_start {group},
                   sum(requests) AS requests,
                   -- none failed is 0; only a source that counts no requests is unknown
                   CASE WHEN sum(requests) IS NOT NULL
                        THEN coalesce(sum(requests) FILTER (WHERE status = 'error'), 0) END
                       AS failed_requests,
                   {cost_sum()} AS cost_usd,
                   {cost_sum("status = 'error'")} AS failed_cost_usd,
                   {tokens} {base.select}
            FROM rows GROUP BY {", ".join(str(i) for i in range(1, len(keys) + 2))}
            {base.window}
        ),
        {base.cte}
        found AS ({found}),
        joined AS (
            SELECT p.* EXCLUDE (cost_usd, failed_cost_usd), {per_request},
                   p.requests - p.failed_requests AS successful_requests,
                   p.cost_usd, p.failed_cost_usd,
                   {base.column}
                   CAST(o.successful_outcomes AS DOUBLE) AS successes, o.outcome_attempts,
                   o.outcome_cost_usd
            FROM periods p
            {base.join}
            LEFT JOIN found o ON p.period_start = o.period_start {_same(keys, "p", "o")}
            WHERE {f"p.period_start >= DATE '{start}'" if start else "TRUE"}
        )
        SELECT period_start {group},
               -- BIGINT, not the HUGEINT of a sum: whole numbers in the frame (nullable;
               -- outcome_attempts is one already)
               {", ".join(f"CAST({c} AS BIGINT) AS {c}" for c in COUNTS[:3])},
               round_even(cost_usd, 6) AS cost_usd,
               round_even(cost_usd / nullif(successful_requests, 0), 8) AS cost_per_success,
               round_even(failed_requests / nullif(requests, 0), 6) AS failed_share,
               round_even(failed_cost_usd, 6) AS failed_cost_usd,
               {", ".join(f"tokens_per_request_{k}" for k in KINDS)},
               round_even(tokens_per_request_input / nullif(baseline_input_per_request, 0) - 1, 6)
                   AS token_inflation,
               round_even(successes, 6) AS successful_outcomes, outcome_attempts,
               round_even(successes / nullif(outcome_attempts, 0), 6) AS resolution_rate,
               -- over successes shown as 0 (scores summing under 5e-7) it is unknown, not the
               -- cost over a denormal score: that overflowed to infinity
               CASE WHEN round_even(successes, 6) <> 0
                    THEN round_even(outcome_cost_usd / successes, 8) END
                   AS cost_per_successful_outcome
        FROM joined ORDER BY ALL
        """


class _Baseline(NamedTuple):
    """The SQL of ``token_inflation``'s baseline: input tokens per request over the days
    before each period."""

    select: str  # in the periods' SELECT list
    window: str  # after their GROUP BY
    cte: str  # a CTE of its own
    column: str  # in the joined SELECT list
    join: str  # joining the CTE to the periods


def _baseline(keys: list[str], freq: str, baseline_days: int) -> _Baseline:
    days = int(baseline_days)
    if freq == "day" or (freq == "week" and days % 7 == 0):
        # the periods tile the days before a period exactly (28 days are 4 weeks): a window
        # over the group-by itself, with no second pass over the rows and no join (one
        # statement then took 0.016 s where it took 0.019)
        partition = "PARTITION BY " + ", ".join(f'"{k}"' for k in keys) if keys else ""
        return _Baseline(
            select=", sum(sum(input_tokens) FILTER (WHERE requests IS NOT NULL)) OVER w"
            " / nullif(sum(sum(requests)) OVER w, 0) AS baseline_input_per_request",
            window=f"WINDOW w AS ({partition} ORDER BY period_start RANGE BETWEEN "
            f"INTERVAL {days} DAY PRECEDING AND INTERVAL 1 DAY PRECEDING)",
            cte="", column="", join="",
        )  # fmt: skip
    # months: from the days' own sums
    group = key_columns(keys)
    cte = f"""baseline AS (
            SELECT p.period_start {key_columns(keys, "p")},
                   sum(d.input_tokens) / nullif(sum(d.requests), 0) AS baseline_input_per_request
            FROM periods p JOIN (
                SELECT CAST(ts AS DATE) AS day {group}, sum(requests) AS requests,
                       sum(input_tokens) FILTER (WHERE requests IS NOT NULL) AS input_tokens
                FROM rows GROUP BY ALL
            ) d ON TRUE {_same(keys, "d", "p")}
                 AND d.day >= p.period_start - INTERVAL {days} DAY AND d.day < p.period_start
            GROUP BY ALL),"""
    return _Baseline(
        select="", window="", cte=cte, column="b.baseline_input_per_request,",
        join=f"LEFT JOIN baseline b ON p.period_start = b.period_start {_same(keys, 'p', 'b')}",
    )  # fmt: skip


def _same(keys: list[str], a: str, b: str) -> str:
    """SQL: the same group in relations ``a`` and ``b`` (an empty key matches an empty one)."""
    return "".join(f' AND {a}."{k}" IS NOT DISTINCT FROM {b}."{k}"' for k in keys)


def top_users(
    ledger: Ledger,
    book: PriceBook,
    *,
    freq: str = "month",
    start: dt.date | None = None,
    end: dt.date | None = None,
    top: float = TOP_SHARE,
) -> pd.DataFrame:
    """Per period: how many users spent, how many make up the top ``top`` of them by cost
    (at least one), and that top's share of the users' cost. Usage without a user is left
    out; a period whose cost is unknown for some user has an unknown share."""
    check_freq(freq, KPI_FREQS)
    check_span(ledger, start, end)
    priced = priced_usage_sql(ledger, book, start, end, strict=False, daily=True, dims=["user"])
    per_user = ledger.con.execute(
        f"""SELECT CAST(date_trunc('{freq}', ts) AS DATE) AS period_start, "user",
                   {cost_sum()} AS cost_usd
            FROM ({priced}) WHERE "user" IS NOT NULL AND "user" <> ''
            GROUP BY ALL ORDER BY ALL"""
    ).df()
    rows = []
    for period, part in per_user.groupby("period_start", sort=True):
        costs = part["cost_usd"].to_numpy(dtype=float)
        n_top = max(1, int(len(costs) * top))
        known = not np.isnan(costs).any() and costs.sum() > 0
        share = float(np.sort(costs)[-n_top:].sum() / costs.sum()) if known else None
        rows.append({"period_start": period, "users": len(costs), "top_users": n_top,
                     "top_cost_share": None if share is None else round(share, 6)})  # fmt: skip
    return pd.DataFrame(rows, columns=["period_start", "users", "top_users", "top_cost_share"])


def user_costs(
    ledger: Ledger, book: PriceBook, *, start: dt.date | None = None, end: dt.date | None = None
) -> pd.Series:
    """Each user's cost over [start, end], largest first; unknown (NaN, last) where the book
    cannot price part of it. Usage without a user is left out."""
    check_span(ledger, start, end)
    priced = priced_usage_sql(ledger, book, start, end, strict=False)
    frame = ledger.con.execute(
        f"""SELECT "user", {cost_sum()} AS cost_usd
            FROM ({priced}) WHERE "user" IS NOT NULL AND "user" <> ''
            GROUP BY ALL ORDER BY cost_usd DESC NULLS LAST, "user" """
    ).df()
    return frame.set_index("user")["cost_usd"]


def lorenz_points(costs: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(share of users, share of cost) from the cheapest user up: the Lorenz curve, starting
    at (0, 0) and ending at (1, 1)."""
    values = np.sort(np.asarray(costs, dtype=float))
    if not len(values) or values.sum() <= 0:
        return np.array([0.0, 1.0]), np.array([0.0, 1.0])
    x = np.arange(len(values) + 1) / len(values)
    y = np.concatenate([[0.0], np.cumsum(values) / values.sum()])
    return x, y
