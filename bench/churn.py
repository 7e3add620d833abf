"""Model churn: are a run's intervals honest for models that come and go?

``bench/accuracy.py`` scores series of 60 days or more. Real ledgers also hold models
used on a handful of days and never again, and models a week old: one forecast covers
all of them. This bench puts every per-model series of
``../shared/data/real-usage/daily.csv`` (whatever its length) into one ledger (tokens
only, flat price, as the accuracy bench does), runs ``forecast`` from one as-of date a week
for ``--origins`` weeks, h = 14 days, and scores each model that had usage on or before
the as-of date: is its actual 14-day cost inside the run's P10-P90 of that total, and
each day inside its daily P10-P90; not where any of those 14 days lies in a gap of its
source (a week or more with no row of its stream, as ``bench/accuracy.py`` leaves out:
Guard-233's missing January). Models are grouped by age at the as-of date (young:
first used within the 28 days before) and by whether they were used in the last 7 days.
It also prints what models first used after the as-of date spent, which no per-model
forecast can hold, against the run's line for them (``forecast.churn``).

    python bench/churn.py [--origins 10] [--jobs 2] [--data daily.csv]
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import logging
import sys
import tempfile
import warnings
from pathlib import Path

# This folder has a forecast.py: keep it off the import path.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

H = 14
YOUNG_DAYS = 28


def _accuracy():
    # the real-usage benchmark's loading, as it is (this folder is off the import path)
    spec = importlib.util.spec_from_file_location(
        "accuracy", Path(__file__).with_name("accuracy.py")
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def per_model_rows(accuracy, data: Path) -> tuple[pd.DataFrame, dict[str, set]]:
    """Canonical daily rows of every per-model series of ``data``, however short, tokens
    only; and per stream, the days inside a gap of its source (``accuracy.reported_days``:
    Guard-233's missing January), on which no forecast is scored."""
    series = accuracy.real_series(data, min_days=1)
    models = {name: part for name, part in series.items() if "/" in name}
    if not models:
        sys.exit(f"{data}: no per-model rows (a model other than ALL): nothing churns there")
    gaps: dict[str, set] = {}
    for key, known in accuracy.reported_days(models).items():
        span = pd.date_range(known.min(), known.max())
        gaps.setdefault(key.partition("|")[0], set()).update(span.difference(known).date)
    # a stream's models move together (accuracy.stream_shifts)
    return accuracy.canonical_rows(models, with_requests=False), gaps


def score(ledger, run, actual: pd.DataFrame, as_of: dt.date, gaps: dict[str, set]
          ) -> list[dict]:  # fmt: skip
    from forecast.churn import NEW
    from forecast.runstore import load_paths

    keys, paths = load_paths(ledger, run.run_id)
    days = pd.date_range(as_of + dt.timedelta(days=1), periods=H).date
    out = []
    ahead = actual[(actual["day"] > as_of) & (actual["day"] <= days[-1])]
    firsts = actual.groupby(["team", "feature"])["day"].min()
    for team, mine in keys.groupby("team"):
        if gaps.get(team, set()) & set(days):
            continue  # its source reported none of some of these days: nothing to score
        # the stream's total: its models' paths summed path by path, as every total is, the
        # run's line for models not used yet (NEW) included, against all it spent
        total = paths[mine.index.to_numpy()][:, :, :H].sum(axis=(0, 2))
        lo, hi = np.quantile(total, [0.1, 0.9])
        spent = ahead[ahead["team"] == team]
        later = firsts[team][firsts[team] > as_of].index
        line = mine.index[(mine["feature"] == NEW).to_numpy()].to_numpy()
        new = paths[line][:, :, :H].sum(axis=(0, 2)) if len(line) else np.zeros(1)
        came = spent[spent["feature"].isin(later)]["cost"].sum()
        out.append({"as_of": as_of, "series": f"{team} (stream total)", "young": None,
                    "used_last_7": None, "mean": total.mean(), "p10": lo, "p90": hi,
                    "actual": spent["cost"].sum(), "total_in": bool(lo <= spent["cost"].sum() <= hi),
                    "below": bool(spent["cost"].sum() < lo), "above": bool(spent["cost"].sum() > hi),
                    "days_in": np.nan, "new_mean": new.mean(), "new_actual": came,
                    "new_in": bool(np.quantile(new, 0.1) <= came <= np.quantile(new, 0.9))})  # fmt: skip
    for i, key in keys.iterrows():
        mine = actual[actual["feature"] == key["feature"]]
        if mine.empty or mine["day"].min() > as_of or gaps.get(key["team"], set()) & set(days):
            continue
        seen = mine[mine["day"] <= as_of]
        truth = mine.set_index("day")["cost"].reindex(days, fill_value=0.0).to_numpy()
        drawn = paths[i][:, :H]
        total = drawn.sum(axis=1)
        lo, hi = np.quantile(total, [0.1, 0.9])
        dlo, dhi = np.quantile(drawn, [0.1, 0.9], axis=0)
        out.append({
            "as_of": as_of, "series": key["feature"],
            "young": (as_of - seen["day"].min()).days < YOUNG_DAYS,
            "used_last_7": (as_of - seen["day"].max()).days < 7,
            "mean": total.mean(), "p10": lo, "p90": hi, "actual": truth.sum(),
            "total_in": bool(lo <= truth.sum() <= hi),
            "below": bool(truth.sum() < lo), "above": bool(truth.sum() > hi),
            "days_in": float(((truth >= dlo) & (truth <= dhi)).mean()),
        })  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--origins", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--data", type=Path, help="daily.csv of the real-usage format")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    logging.getLogger("cmdstanpy").disabled = True
    logging.getLogger("prophet").setLevel(logging.ERROR)
    accuracy = _accuracy()

    from forecast.config import load_config
    from forecast.fiscal import FiscalCalendar, Horizon
    from forecast.ingest import ingest_files
    from forecast.ledger import Ledger
    from forecast.pricing import load_price_book
    from forecast.runs import RunSettings, create_forecast

    rows, gaps = per_model_rows(accuracy, args.data or accuracy.DATA)
    day = pd.to_datetime(rows["timestamp"]).dt.date
    flat = accuracy.FLAT
    cost = (
        (rows["input_tokens"] - rows["cached_input_tokens"] - rows["cache_write_tokens"])
        * flat["input"] + rows["cached_input_tokens"] * flat["cached_input"]
        + rows["cache_write_tokens"] * flat["cache_write"] + rows["output_tokens"] * flat["output"]
    ) / 1e6  # fmt: skip
    actual = pd.DataFrame({"team": rows["team"], "feature": rows["feature"], "day": day,
                           "cost": cost})  # fmt: skip
    actual = actual[actual["cost"] > 0].groupby(["team", "feature", "day"], as_index=False)[
        "cost"].sum()  # fmt: skip
    last = actual["day"].max()
    origins = [last - dt.timedelta(days=H + 7 * k) for k in range(args.origins)][::-1]
    scored, unheld = [], []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rows.to_csv(folder / "u.csv", index=False)
        config = load_config(accuracy.flat_config(folder))
        with Ledger(config.ledger) as ledger:
            ingest_files(ledger, [folder / "u.csv"])
            book = load_price_book(config)
            for as_of in origins:
                run = create_forecast(ledger, book, as_of=as_of, jobs=args.jobs,
                                      horizon=Horizon.parse(f"{H}d", FiscalCalendar()),
                                      settings=RunSettings())  # fmt: skip
                scored += score(ledger, run, actual, as_of, gaps)
                firsts = actual.groupby("feature")["day"].min()
                new = firsts[firsts > as_of].index
                ahead = actual[(actual["day"] > as_of)
                               & (actual["day"] <= as_of + dt.timedelta(days=H))]  # fmt: skip
                unheld.append(ahead[ahead["feature"].isin(new)]["cost"].sum()
                              / max(ahead["cost"].sum(), 1e-12))  # fmt: skip
    table = pd.DataFrame(scored)
    streams = table[table["young"].isna()]
    table = table[table["young"].notna()].astype({"young": bool, "used_last_7": bool})
    print(f"{len(origins)} as-of dates {origins[0]} to {origins[-1]}, h = {H} days, "
          f"{len(table)} (model, as-of) pairs")  # fmt: skip
    groups = table.groupby(["young", "used_last_7"])
    summary = groups.agg(pairs=("total_in", "size"), total_in_p10_p90=("total_in", "mean"),
                         days_in_p10_p90=("days_in", "mean"),
                         below_p10=("below", "mean"), above_p90=("above", "mean"),
                         zero_actual=("actual", lambda a: float((a == 0).mean())),
                         p10_above_zero=("p10", lambda p: float((p > 0).mean())))  # fmt: skip
    table["miss"] = (table["mean"] - table["actual"]).abs()
    wape = groups.apply(lambda g: g["miss"].sum() / max(g["actual"].sum(), 1e-12))
    print(summary.assign(wape_of_totals=wape, mean_usd=groups["mean"].sum(),
                         actual_usd=groups["actual"].sum()).round(3).to_string())  # fmt: skip
    print(
        f"all: 14-day totals inside P10-P90 {table['total_in'].mean():.1%}, "
        f"days {table['days_in'].mean():.1%} (80% is honest); means: WAPE of the totals "
        f"{table['miss'].sum() / table['actual'].sum():.3f}, "
        f"{table['mean'].sum() / table['actual'].sum():.2f}x what came"
    )
    # a miss by less than a cent is a forecast of nothing that is not exactly zero (a decayed
    # smoothing level): said apart, not scored apart
    near = ~table["total_in"] & (np.minimum((table["p10"] - table["actual"]).abs(),
                                            (table["p90"] - table["actual"]).abs()) < 0.01)  # fmt: skip
    print(f"of the pairs outside P10-P90, {near.sum()} of {(~table['total_in']).sum()} missed by "
          "less than a cent")  # fmt: skip
    print(f"stream totals (models summed, against all the stream spent): {len(streams)} pairs, "
          f"{streams['total_in'].mean():.1%} inside P10-P90 ({streams['below'].mean():.1%} "
          f"under P10, {streams['above'].mean():.1%} over P90), means "
          f"{streams['mean'].sum() / streams['actual'].sum():.2f}x what came; their lines for "
          f"models not used yet {streams['new_mean'].sum():,.0f} USD, models first used after "
          f"the as-of date spent {streams['new_actual'].sum():,.0f}, inside the line's P10-P90 "
          f"(zero where a stream has none) in {streams['new_in'].mean():.0%}")  # fmt: skip
    print(
        f"cost of models first used after the as-of date, share of the next {H} days: "
        f"median {np.median(unheld):.1%} over the as-of dates"
    )


if __name__ == "__main__":
    main()
