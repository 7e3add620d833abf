"""What a deployment did to a feature's cost per request.

A deployment is tagged in the usage or listed (``forecast.deployments``). Its impact
compares that feature's usage over ``window`` days before the start with the ``window``
days after (cut short at the feature's next deployment):

- ``cost_per_request`` and tokens per request of each kind, before and after;
- ``change`` = cost per request after / before - 1, with a 95% interval from a bootstrap
  over days that keeps the weekday: day k before the start and day k + window after it fall
  on the same weekday, so pairs of them are resampled together (2,000 resamples);
- ``monthly_usd`` = (cost per request after - before) x requests per day after x 30.4375:
  what the change costs a month at the current volume.

Every figure comes from the ledger's rows of that feature in those two windows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from forecast.coverage import usage_hours
from forecast.deployments import DeploymentEntry, deployment_starts
from forecast.errors import CostcastError, LedgerError, NotFoundError
from forecast.fiscal import DAYS_PER_MONTH
from forecast.kpis import KIND_COLUMNS as KINDS
from forecast.ledger import Ledger
from forecast.pricing.book import PriceBook
from forecast.usage import cost_sum, priced_usage_sql, usage_provenance

WINDOW_DAYS = 7
MAX_WINDOW_DAYS = 90  # a quarter each side: longer, other changes blur the deployment's
BOOTSTRAP = 2000


def deployment_impact(
    ledger: Ledger,
    book: PriceBook,
    deployment: str,
    *,
    feature: str | None = None,
    window: int = WINDOW_DAYS,
    seed: int = 0,
    listed: Sequence[DeploymentEntry] = (),
) -> dict[str, Any]:
    """The impact of one deployment (see the module docstring), with a sentence saying it;
    ``listed`` adds the config's deployments to the tagged and imported ones."""
    _check_window(window)
    known = deployment_starts(ledger, listed)
    mine = known[known["deployment"] == deployment]
    if feature is not None:
        mine = mine[mine["feature"] == feature]
    if mine.empty:
        raise NotFoundError(f"no deployment {deployment!r}" + (f" of {feature}" if feature else ""),
                            param="deployment", hint="list them with costcast impact --list")  # fmt: skip
    if len(mine) > 1:
        raise CostcastError(
            f"deployment {deployment!r} ran on several features "
            f"({', '.join(sorted(mine['feature']))}): name one",
            param="feature",
        )
    return _measure(ledger, book, known, mine.iloc[0], window, seed)


def _check_window(window: int) -> None:
    if not 1 <= window <= MAX_WINDOW_DAYS:
        raise CostcastError(f"the window must be 1 to {MAX_WINDOW_DAYS} days", param="window",
                            value=window)  # fmt: skip


def _measure(ledger: Ledger, book: PriceBook, known: pd.DataFrame, row: pd.Series,
             window: int, seed: int) -> dict[str, Any]:  # fmt: skip
    """The impact of the deployment ``row`` of ``known`` (all of ``deployment_starts``)."""
    start = pd.Timestamp(row["started"])
    later = known[(known["team"] == row["team"]) & (known["feature"] == row["feature"])
                  & (known["started"] > start)]  # fmt: skip
    stop = min([start + pd.Timedelta(days=window), *pd.to_datetime(later["started"])])
    days = _daily(ledger, book, row["team"], row["feature"], start, window, stop)
    found = _impact(days, row["deployment"], row["team"], row["feature"], start, window, seed)
    read = usage_provenance(ledger, (start - pd.Timedelta(days=window)).date(), stop.date(),
                            "team = ? AND feature = ?", [row["team"], row["feature"]])  # fmt: skip
    return found | {"description": row["description"], "source": row["source"], "provenance": read}


def _daily(
    ledger: Ledger, book: PriceBook, team: str, feature: str, start: pd.Timestamp,
    window: int, stop: pd.Timestamp,
) -> pd.DataFrame:  # fmt: skip
    """Per day relative to the start (-window..-1 before, 0.. after): requests, cost, tokens."""
    first = (start - pd.Timedelta(days=window)).date()
    priced = priced_usage_sql(ledger, book, first, stop.date(), strict=False)
    # per request: the cost and tokens of the rows that count their requests (a token-only
    # source's beside them would inflate both)
    counted = "requests IS NOT NULL"
    sums = ", ".join(
        f"CAST(sum({c}) FILTER (WHERE {counted}) AS DOUBLE) AS {k}" for k, c in KINDS.items()
    )
    frame = ledger.con.execute(
        f"""SELECT CAST(floor(epoch(ts - ?::TIMESTAMP) / 86400) AS INTEGER) AS day,
                   CAST(sum(requests) AS DOUBLE) AS requests,
                   {cost_sum(counted)} AS cost,
                   {sums}
            FROM ({priced})
            WHERE team = ? AND feature = ? AND ts >= ?::TIMESTAMP - INTERVAL {int(window)} DAY
                  AND ts < ?::TIMESTAMP
            GROUP BY ALL ORDER BY day""",
        [start, team, feature, start, stop],
    ).df()
    if frame["requests"].isna().any():
        raise LedgerError(f"{team}/{feature} is counted in tokens only: no cost per request",
                          param="deployment")  # fmt: skip
    if frame["cost"].isna().any():
        raise LedgerError(f"{team}/{feature} uses a model the price book cannot price",
                          param="deployment", hint="add its price to costcast.yaml")  # fmt: skip
    # a day of the windows the ledger holds but the feature did not use (a weekend of a
    # working-day tool) is a day of no requests, and counts in the volume a day after:
    # dropped, it made the monthly figure 7/5 of what it is for such a feature
    held = [int(np.floor((pd.Timestamp(t) - start) / pd.Timedelta(days=1)))
            for t in usage_hours(ledger)]  # fmt: skip
    reach = int(np.ceil((stop - start) / pd.Timedelta(days=1)))
    days = range(max(-window, held[0]), min(reach, held[1] + 1))
    return (frame.set_index("day").reindex(days, fill_value=0.0).rename_axis("day")
            .reset_index())  # fmt: skip


# Long on purpose: the figures of the module docstring, one after the other, as one record.
def _impact(
    days: pd.DataFrame, deployment: str, team: str, feature: str, start: pd.Timestamp,
    window: int, seed: int,
) -> dict[str, Any]:  # fmt: skip
    # the days before that share a weekday with a day after: a short after-window (the next
    # deployment came soon) is compared with the same weekdays, not with the whole week
    after = days[days["day"] >= 0]
    before = days[days["day"].isin(after["day"] - window)]
    if before["requests"].sum() <= 0 or after["requests"].sum() <= 0:
        raise LedgerError(
            f"deployment {deployment!r} of {feature} has no requests "
            f"{'before' if before['requests'].sum() <= 0 else 'after'} it in a {window}-day window",
            param="deployment",
        )
    cpr_before = before["cost"].sum() / before["requests"].sum()
    cpr_after = after["cost"].sum() / after["requests"].sum()
    # free before (a free tier, a zero price): no relative change, only the dollars
    change = cpr_after / cpr_before - 1 if cpr_before > 0 else float("nan")
    low, high = _interval(days, window, seed) if cpr_before > 0 else (float("nan"),) * 2
    per_day = after["requests"].sum() / len(after)
    monthly = (cpr_after - cpr_before) * per_day * DAYS_PER_MONTH
    tokens = {
        kind: {
            "before": before[kind].sum() / before["requests"].sum(),
            "after": after[kind].sum() / after["requests"].sum(),
        }
        for kind in KINDS
    }
    sign = "+" if monthly >= 0 else "-"
    if cpr_before > 0:
        # a decimal for a change under 10%, where whole percents read "-0%" for -0.3%
        d = 1 if abs(change) < 0.1 else 0
        interval = (f"95% CI {low:+.{d}%} to {high:+.{d}%}" if np.isfinite([low, high]).all()
                    else "too few days paired by weekday for a 95% CI")  # fmt: skip
        verb = "raised" if change >= 0 else "lowered"
        what = f"{verb} cost per request of {feature} by {abs(change):.{d}%} ({interval})"
    elif cpr_after > 0:
        what = f"made {feature}'s requests cost {cpr_after:.4g} USD each, where they were free"
    else:
        what = f"left {feature}'s requests free"
    return {
        "deployment": deployment, "team": team, "feature": feature,
        "started": start.isoformat(), "days_before": len(before), "days_after": len(after),
        "cost_per_request_before": cpr_before, "cost_per_request_after": cpr_after,
        "change": change, "change_low": low, "change_high": high, "monthly_usd": monthly,
        "tokens_per_request": tokens,
        "summary": f"deployment {deployment} {what}, {sign}${abs(monthly):,.0f} a month at "
        "the current volume",
    }  # fmt: skip


def _interval(days: pd.DataFrame, window: int, seed: int) -> tuple[float, float]:
    """95% bootstrap interval of the change, resampling weekday pairs (day k - window before,
    day k after) together; unpaired days (a short after-window) are left out of it."""
    by_day = days.set_index("day")
    pairs = [k for k in range(window) if k in by_day.index and k - window in by_day.index]
    if len(pairs) < 3:  # fewer pairs say nothing about the spread
        return float("nan"), float("nan")
    after = by_day.loc[pairs, ["cost", "requests"]].to_numpy()
    before = by_day.loc[[k - window for k in pairs], ["cost", "requests"]].to_numpy()
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(pairs), size=(BOOTSTRAP, len(pairs)))
    a, b = after[picks].sum(axis=1), before[picks].sum(axis=1)  # (resamples, 2)
    with np.errstate(all="ignore"):
        changes = (a[:, 0] / a[:, 1]) / (b[:, 0] / b[:, 1]) - 1
    # a resample of only idle days on one side has no cost per request: where that is most
    # of them (a feature used on a day or two of the week), the days say nothing of the spread
    changes = changes[np.isfinite(changes)]
    if len(changes) < BOOTSTRAP // 2:
        return float("nan"), float("nan")
    low, high = np.quantile(changes, [0.025, 0.975])
    return float(low), float(high)


def rank_deployments(
    ledger: Ledger, book: PriceBook, *, since: dt.date | None = None, window: int = WINDOW_DAYS,
    listed: Sequence[DeploymentEntry] = (),
) -> pd.DataFrame:  # fmt: skip
    """Every deployment (since ``since``) with usage of its feature before it, ranked by the
    size of its monthly cost change; those that cannot be measured say why."""
    _check_window(window)
    rows = []
    known = deployment_starts(ledger, listed)  # read once, for every deployment measured
    first_use = {(t, f): pd.Timestamp(ts) for t, f, ts in ledger.con.execute(
        "SELECT team, feature, min(ts) FROM usage GROUP BY ALL").fetchall()}  # fmt: skip
    for _, row in known.iterrows():
        if since is not None and pd.Timestamp(row["started"]).date() < since:
            continue
        if pd.Timestamp(row["started"]) <= first_use.get((row["team"], row["feature"]), pd.NaT):
            continue  # the feature started with it (its first tag): nothing before to compare
        try:
            found = _measure(ledger, book, known, row, window, seed=0)
        except CostcastError as exc:
            rows.append({"deployment": row["deployment"], "team": row["team"],
                         "feature": row["feature"], "why_unmeasured": exc.message})  # fmt: skip
            continue
        rows.append(
            {k: v for k, v in found.items() if k not in ("tokens_per_request", "provenance")}
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    if "monthly_usd" not in frame:  # none could be measured: each says why
        frame["monthly_usd"] = np.nan
    order = frame["monthly_usd"].abs().sort_values(ascending=False, na_position="last").index
    return frame.loc[order].reset_index(drop=True)
