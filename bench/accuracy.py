"""Accuracy benchmark: costcast against plain baselines on real LLM usage, and the demo's quarters.

**Real usage** (``../shared/data/real-usage/daily.csv``): every stream total
and every per-model series with at least 60 days goes into one ledger as
canonical daily rows (team = stream, feature = model or ``all``), priced at a
flat price (input $1, cached input $0.10, cache write $1.25, output $4 per
million tokens: the models are mostly not in any price book, and MASE and
coverage do not depend on the price). Each series is shifted by whole weeks
to end on the same day (weekdays kept; at most six trailing days dropped).
Run twice: requests present where the source has them, and tokens only.

From rolling origins seven days apart (``--origins``, the latest ``h`` days
before the end), for h = 7, 14 and 28, costcast's ``cross_validation`` runs
the whole pipeline as a forecast made that day would, and every series with
at least 28 days of history at an origin is scored on its daily cost. In the
same run, on the same series and origins, plain baselines written with their
libraries' defaults: statsforecast ``SeasonalNaive(7)`` and
``AutoETS(season_length=7)`` (80% intervals from ``level=[80]``), and
``Prophet()`` (``yhat``, ``yhat_lower``/``yhat_upper`` at its default 80%).

Per method and h: MASE (per series: the mean over its origins of MAE over the
in-sample weekly seasonal naive's MAE) mean and median over series, pooled
WAPE, 80% interval coverage of days, the number of forecasts (series x
origins), and per series: how far its own coverage of days is from 80% on average over
series (``series_cov_gap``), and the lowest and highest. ``costcast auto P50`` scores
auto's daily median (its paths' P50) as the point forecast, beside its mean: absolute
errors reward a median. ``(hindsight) window's median`` is no method: each window
forecast flat at the median of its own actual days, known afterwards, the lowest MAE any
forecast flat over the window can have; a goal below its MASE asks a method to tell
which days of a window a burst falls on. A candidate's row holds its own
forecasts only: where it could not forecast a series from an origin (too young a series
for it, or no global model could learn before its earliest inner cutoff), costcast's
backtest lets auto's forecast stand in, and that forecast is left out here (a smaller n).

**Demo quarters** (``--demo``): the demo organisation re-forecast from an
as-of date every two weeks; each fiscal quarter the run covers and the data
close (this quarter's landing and the next quarter) is checked per team and
in total against its P10-P90.

    python bench/accuracy.py [--horizons 7,14,28] [--origins 10] [--demo] [--jobs N]
                             [--data daily.csv]
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import tempfile
import time
import warnings
from pathlib import Path

# This folder has a forecast.py: keep it off the import path.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-usage" / "daily.csv"
END = dt.date(2026, 6, 28)  # every real series is moved to end on this day
FLAT = {"input": 1.0, "cached_input": 0.10, "cache_write": 1.25, "output": 4.0}
MIN_DAYS = 60
MIN_HISTORY = 28
BASELINES = ("SeasonalNaive(7)", "AutoETS(7)", "Prophet()")
# No method: each window's own median of its reported days, known in hindsight. No forecast
# that is flat over a window has a lower MAE there, so its MASE is what no method can beat
# without telling the window's days apart (on bursty series: which day a burst falls on).
HINDSIGHT = "(hindsight) window's median"


# the real-usage format's counts; a file may leave out any of them (a source that reports
# none of a kind), so long as some token count or cost is there
COUNTS = ("requests", "input_tokens", "cached_input_tokens", "cache_write_tokens",
          "output_tokens", "cost_usd", "total_tokens")  # fmt: skip


def real_series(path: Path, min_days: int = MIN_DAYS) -> dict[str, pd.DataFrame]:
    try:
        frame = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        sys.exit(f"{path}: cannot be read as CSV: {exc}")
    missing = {"series", "date"} - set(frame.columns)
    if missing or not set(COUNTS[1:]) & set(frame.columns):
        sys.exit(f"{path}: expected the columns series, date and token counts or cost_usd "
                 f"(the real-usage format); it has {', '.join(map(str, frame.columns))}")  # fmt: skip
    from forecast.errors import CostcastError
    from forecast.frame import times

    try:
        day = times(frame["date"], "date", str(path), iso_utc=True)
    except CostcastError as exc:
        sys.exit(str(exc))
    frame = frame.assign(date=day, **{c: np.nan for c in COUNTS if c not in frame.columns})
    if "model" in frame.columns:  # a stream's per-model split beside its total: one series each
        split = frame["model"].notna() & (frame["model"] != "ALL")
        named = ~frame["series"].astype(str).str.contains("/")
        frame.loc[split & named, "series"] = (frame["series"].astype(str) + "/"
                                              + frame["model"].astype(str))  # fmt: skip
    out = {}
    for name, part in frame.groupby("series", sort=True):
        if len(part) >= min_days:
            out[name] = part.sort_values("date").reset_index(drop=True)
    short = frame["series"].nunique() - len(out)
    print(f"{path.name}: {len(out)} series of {min_days} days or more"
          + (f", {short} shorter left out" if short else ""), file=sys.stderr)  # fmt: skip
    return out


def shift_to_end(last: pd.Timestamp) -> dt.timedelta:
    """Whole weeks that move a last day to END or just past it (weekdays kept)."""
    return dt.timedelta(days=7 * -(-(END - last.date()).days // 7))


def stream_shifts(series: dict[str, pd.DataFrame]) -> dict[str, dt.timedelta]:
    """Per series, the whole weeks that move its stream's last day to END or just past it.
    A stream's models move together: each moved on its own, a model last used in May looked
    used until the stream's end, and no benchmark saw a model stop."""
    last: dict[str, pd.Timestamp] = {}
    for name, part in series.items():
        stream = name.partition("/")[0]
        last[stream] = max(last.get(stream, part["date"].max()), part["date"].max())
    return {name: shift_to_end(last[name.partition("/")[0]]) for name in series}


def reported_days(series: dict[str, pd.DataFrame]) -> dict[str, pd.DatetimeIndex]:
    """Per series (as ``team|feature`` in the ledger), the days its source reported, moved as
    the series is: every day from its stream's first row to its last but a run of
    ``GAP_DAYS`` or more with no row of the stream at all (Guard-233's missing January). The
    ledger counts such a run as zero spend, as it would for any user (``forecast`` says so),
    but no forecast is scored on it; a shorter hole is idle days a source left out."""
    from forecast.coverage import GAP_DAYS

    streams: dict[str, set] = {}
    for name, part in series.items():
        streams.setdefault(name.partition("/")[0], set()).update(part["date"])
    known = {}
    for stream, dates in streams.items():
        seen = pd.DatetimeIndex(sorted(dates))
        every = pd.date_range(seen[0], seen[-1])
        # number each run of days without a row, and drop the runs of GAP_DAYS or more
        missing = ~every.isin(seen)
        run = (missing != np.roll(missing, 1)).cumsum()
        length = pd.Series(missing).groupby(run).transform("sum").to_numpy()
        known[stream] = every[~(missing & (length >= GAP_DAYS))]
    out = {}
    shifts = stream_shifts(series)
    for name in series:
        stream, _, model = name.partition("/")
        out[f"{stream}|{model or 'all'}"] = known[stream] + shifts[name]
    return out


def canonical_rows(series: dict[str, pd.DataFrame], with_requests: bool) -> pd.DataFrame:
    """Canonical daily rows of ``series``, each stream moved to end on END."""
    rows = []
    shifts = stream_shifts(series)
    for name, part in series.items():
        stream, _, model = name.partition("/")
        part = part.assign(date=part["date"] + shifts[name])
        part = part[part["date"] <= pd.Timestamp(END)]
        # some per-model series only report total tokens: counted as (uncached) input
        split = part[["input_tokens", "cached_input_tokens", "output_tokens"]].notna().any(axis=1)
        part = part.assign(input_tokens=part["input_tokens"].where(split, part["total_tokens"]))
        # a source that reports cost only: its tokens at the flat input price, so that the
        # day's cost is the reported one (MASE and coverage do not depend on the price)
        cost_only = part["input_tokens"].isna() & part["cost_usd"].notna()
        part.loc[cost_only, "input_tokens"] = (part["cost_usd"] * 1e6 / FLAT["input"]).round()
        cached = part["cached_input_tokens"].fillna(0)
        write = part["cache_write_tokens"].fillna(0)
        tokens = pd.DataFrame({
            "timestamp": part["date"].dt.strftime("%Y-%m-%dT00:00:00Z"), "bucket": "1d",
            # the whole stream name: two streams of one owner must not merge into one series
            "team": stream, "feature": model or "all",
            "model": "flat-model",
            "input_tokens": (part["input_tokens"].fillna(0) + cached + write).astype("int64"),
            "cached_input_tokens": cached.astype("int64"),
            "cache_write_tokens": write.astype("int64"),
            "output_tokens": part["output_tokens"].fillna(0).astype("int64"),
        })  # fmt: skip
        if with_requests:
            tokens["requests"] = part["requests"].round().astype("Int64")  # rates can be fractional
        used = (tokens["input_tokens"] + tokens["output_tokens"]) > 0
        if not used.any():  # requests alone have no cost to score
            print(f"{name}: no tokens or cost on any day, left out", file=sys.stderr)
        rows.append(tokens[used])
    out = pd.concat(rows, ignore_index=True)
    if with_requests and out["requests"].isna().any():
        # a source without request counts (a whole stream) stays without them
        out["requests"] = out["requests"].astype("Float64")
    return out


def flat_config(folder: Path) -> Path:
    path = folder / "costcast.yaml"
    prices = ", ".join(f"{k}: {v}" for k, v in FLAT.items())
    path.write_text(
        "ledger: bench.duckdb\nprices:\n  entries:\n"
        f"    - {{model: flat-model, provider: flat, effective: 2000-01-01, {prices}}}\n"
    )
    return path


_FITTED: dict[tuple, dict] = {}  # (history's bytes, its last day, h) -> baseline_forecasts


def baselines_once(history: np.ndarray, ds: pd.DatetimeIndex, h: int, longest: int) -> dict:
    """``baseline_forecasts`` for ``h`` days, cut from one forecast of the ``longest`` h the
    run asks for from the same history: a history recurs at every h whose origins share
    its cutoff, and in both runs (requests present or not, the daily cost is the same).
    Fitted once, each baseline's first ``h`` days are what a forecast of ``h`` would give
    (Prophet's interval bounds up to its sampling noise)."""
    key = (history.tobytes(), ds[-1], longest)
    if key not in _FITTED:
        _FITTED[key] = baseline_forecasts(history, ds, longest)
    return {name: tuple(v[:h] for v in found) for name, found in _FITTED[key].items()}


def baseline_forecasts(history: np.ndarray, ds: pd.DatetimeIndex, h: int) -> dict:
    """Each baseline's (mean, lo, hi) with its library's defaults."""
    from prophet import Prophet
    from statsforecast.models import AutoETS, SeasonalNaive

    out = {}
    for name, model in (("SeasonalNaive(7)", SeasonalNaive(7)),
                        ("AutoETS(7)", AutoETS(season_length=7))):  # fmt: skip
        try:
            f = model.forecast(y=history, h=h, level=[80])
            out[name] = (f["mean"], f["lo-80"], f["hi-80"])
        except Exception as exc:
            print(f"  {name} failed: {exc}", file=sys.stderr)
    model = Prophet()
    model.fit(pd.DataFrame({"ds": ds, "y": history}))
    f = model.predict(model.make_future_dataframe(h, include_history=False))
    out["Prophet()"] = (
        f["yhat"].to_numpy(),
        f["yhat_lower"].to_numpy(),
        f["yhat_upper"].to_numpy(),
    )
    return out


def score(rows: list[dict]) -> pd.DataFrame:
    """rows: one per (method, series, origin) with actual, mean, lo, hi, scale."""
    table = []
    frame = pd.DataFrame(rows)
    for method, part in frame.groupby("method", sort=False):
        # a day the source did not report (NaN) is scored by no method
        known = [~np.isnan(a) for a in part["actual"]]
        actual = np.concatenate([a[k] for a, k in zip(part["actual"], known, strict=True)])
        mean = np.concatenate([m[k] for m, k in zip(part["mean"], known, strict=True)])
        part = part.assign(
            mase=[np.abs(a - m)[k].mean() / s for a, m, s, k in
                  zip(part["actual"], part["mean"], part["scale"], known, strict=True)],
            inside=[((a >= low - 1e-9) & (a <= high + 1e-9))[k].sum() for a, low, high, k in
                    zip(part["actual"], part["lo"], part["hi"], known, strict=True)],
            days=[k.sum() for k in known],
        )  # fmt: skip
        part = part.assign(
            forecast_sum=[m[k].sum() for m, k in zip(part["mean"], known, strict=True)],
            actual_sum=[a[k].sum() for a, k in zip(part["actual"], known, strict=True)],
        )
        per_series = part.groupby("series")[
            ["mase", "inside", "days", "forecast_sum", "actual_sum"]].agg(
            {"mase": "mean", "inside": "sum", "days": "sum", "forecast_sum": "sum",
             "actual_sum": "sum"})  # fmt: skip
        series_coverage = per_series["inside"] / per_series["days"]
        table.append({
            "method": method, "mase_mean": per_series["mase"].mean(),
            "mase_median": per_series["mase"].median(),
            "wape": np.abs(actual - mean).sum() / np.abs(actual).sum(),
            # what the forecasts add up to against what came (1: totals right; a budget is
            # set on a sum), pooled and for the median series
            "total_ratio": mean.sum() / actual.sum(),
            "total_ratio_median": (per_series["forecast_sum"] / per_series["actual_sum"]).median(),
            "coverage_80": per_series["inside"].sum() / per_series["days"].sum(),
            "forecasts": len(part), "series": part["series"].nunique(),
            # how far a series' own coverage typically is from 80%, and its range
            "series_cov_gap": (series_coverage - 0.8).abs().mean(),
            "series_cov_min": series_coverage.min(), "series_cov_max": series_coverage.max(),
        })  # fmt: skip
    table = pd.DataFrame(table).set_index("method")
    if HINDSIGHT in table.index:  # it has no interval
        table.loc[HINDSIGHT, ["coverage_80", "series_cov_gap", "series_cov_min",
                              "series_cov_max"]] = np.nan  # fmt: skip
    return table.reset_index()


def hindsight(actual: np.ndarray) -> dict:
    """The bound's forecast of one window: flat at the median of its reported days (the
    actual days, NaN where not reported)."""
    days = len(actual)
    return {"method": HINDSIGHT, "mean": np.full(days, np.nanmedian(actual)),
            "lo": np.full(days, np.nan), "hi": np.full(days, np.nan)}  # fmt: skip


def run_real(with_requests: bool, horizons, origins: int, jobs, save: Path | None = None,
             data: Path = DATA):  # fmt: skip
    from forecast.backtest import cross_validation
    from forecast.config import load_config
    from forecast.ingest import ingest_files
    from forecast.ledger import Ledger
    from forecast.metrics import mase_scale
    from forecast.models import FORECASTERS
    from forecast.pricing import load_price_book
    from forecast.runs import RunSettings
    from forecast.series import daily_drivers

    series = real_series(data)
    if not series:
        sys.exit(f"{data}: no series of {MIN_DAYS} days or more to score")
    tables = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        csv = folder / "usage.csv"
        canonical_rows(series, with_requests).to_csv(csv, index=False)
        config = load_config(flat_config(folder))
        book = load_price_book(config)
        with Ledger(config.ledger) as ledger:
            ingest_files(ledger, [csv])
            drivers = daily_drivers(ledger, book, END)
            costs = {f"{t}|{f}": part.set_index("ds")["cost"]
                     for (t, f), part in drivers.groupby(["team", "feature"])}  # fmt: skip
            reported = reported_days(series)
            for h in horizons:
                longest = max(len(c) for c in costs.values())
                n = min(origins, (longest - MIN_HISTORY - h) // 7 + 1)
                started = time.perf_counter()
                cv, _ = cross_validation(
                    ledger, book, horizon=h, windows=n, step=7, by="team,feature", as_of=END,
                    settings=RunSettings(n_paths=200), jobs=jobs,
                )  # fmt: skip
                ours = time.perf_counter() - started
                names = ["auto", "ensemble", *FORECASTERS]
                rows = []
                for (uid, cutoff), part in cv.groupby(["unique_id", "cutoff"], sort=True):
                    cost = costs[uid]
                    history = cost[cost.index <= cutoff]
                    if len(history) < MIN_HISTORY:
                        continue
                    said = part["ds"].isin(reported[uid]).to_numpy()
                    if not said.any():  # no day of this window was reported: nothing to score
                        continue
                    actual = np.where(said, part["y"].to_numpy(), np.nan)
                    # the in-sample changes between days the source reported
                    scale = mase_scale(history.where(history.index.isin(reported[uid])).to_numpy())
                    base = dict(series=uid, origin=cutoff, actual=actual, scale=scale)
                    for name in names:
                        if part[f"{name}-stood_in"].iloc[0]:  # auto's forecast, not its own
                            continue
                        rows.append(base | {"method": f"costcast {name}", "mean": part[name].to_numpy(),
                                            "lo": part[f"{name}-lo-80"].to_numpy(),
                                            "hi": part[f"{name}-hi-80"].to_numpy()})  # fmt: skip
                    # the paths' median, day by day: what absolute errors (MASE, WAPE) reward,
                    # where the mean (which adds up to totals) carries a skewed day's tail
                    rows.append(base | {"method": "costcast auto P50", "mean": part["auto-q50"].to_numpy(),
                                        "lo": part["auto-lo-80"].to_numpy(),
                                        "hi": part["auto-hi-80"].to_numpy()})  # fmt: skip
                    rows.append(base | hindsight(actual))
                    for name, (m, lo, hi) in baselines_once(
                        history.to_numpy(), pd.DatetimeIndex(history.index), h, max(horizons)
                    ).items():
                        rows.append(
                            base | {"method": name, "mean": np.clip(m, 0, None), "lo": lo, "hi": hi}
                        )
                if save:  # every forecast, for a closer look (per series, per origin)
                    label = "requests" if with_requests else "tokens"
                    pd.to_pickle({"rows": rows, "cv": cv}, save / f"real-{label}-h{h}.pkl")
                table = score(rows)
                table.insert(0, "h", h)
                tables[h] = table
                print(
                    f"  h={h}: {n} origins, costcast cross-validation {ours:.0f}s", file=sys.stderr
                )
    return tables


def run_demo(jobs, every_days: int = 14) -> pd.DataFrame:
    from forecast.aggregate import summarize
    from forecast.config import load_config
    from forecast.demo import write_demo_data
    from forecast.fiscal import FiscalCalendar, Horizon
    from forecast.ingest import ingest_files
    from forecast.ledger import Ledger
    from forecast.pricing import load_price_book
    from forecast.runs import RunSettings, create_forecast
    from forecast.series import daily_drivers

    end = dt.date(2026, 11, 30)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        files = write_demo_data(tmp, seed=0, months=15, end=end)
        config = load_config(Path(tmp) / "costcast.yaml")
        book = load_price_book(config)
        calendar = FiscalCalendar(config.fiscal_year_start)
        with Ledger(Path(tmp) / "demo.duckdb") as ledger:
            ingest_files(ledger, [f for f in files if f.name.startswith("usage-")])
            drivers = daily_drivers(ledger, book, end)
            drivers["quarter"] = calendar.labels(drivers["ds"], "quarter").to_numpy()
            actual = drivers.groupby(["team", "quarter"])["cost"].sum()
            total = drivers.groupby("quarter")["cost"].sum()
            last_full = calendar.period_start(end + dt.timedelta(days=1), "quarter")
            as_of = dt.date(2026, 2, 1)
            while as_of < end - dt.timedelta(days=60):
                horizon = Horizon.parse("next-quarter", calendar).end(as_of)
                run = create_forecast(ledger, book, as_of=as_of, horizon=Horizon.until(min(horizon, end)),
                                      settings=RunSettings(), jobs=jobs)  # fmt: skip
                table = summarize(ledger, run, by="team", freq="quarter", calendar=calendar)
                for row in table.itertuples(index=False):
                    start = calendar.period_start(
                        dt.date.fromisoformat(_quarter_start(row.period, calendar)), "quarter"
                    )
                    stop = calendar.period_end(start, "quarter")
                    if stop > min(horizon, end) + dt.timedelta(days=1) or stop > last_full:
                        continue  # the run or the data do not cover the whole quarter
                    truth = (
                        total[row.period] if row.team == "total" else actual[(row.team, row.period)]
                    )
                    rows.append({"as_of": as_of, "team": row.team, "quarter": row.period,
                                 "ahead": "this" if start <= as_of else "next",
                                 "actual": truth, "mean": row.mean, "p10": row.p10, "p90": row.p90,
                                 "inside": row.p10 <= truth <= row.p90,
                                 "daily_coverage": run.meta["backtest"].get("coverage_80")})  # fmt: skip
                print(f"  demo as of {as_of}: done", file=sys.stderr)
                as_of += dt.timedelta(days=every_days)
    return pd.DataFrame(rows)


def _quarter_start(label: str, calendar) -> str:
    year, q = int(label[:4]), int(label[-1])
    start = calendar.year_start(year)
    month = (start.month - 1 + 3 * (q - 1)) % 12 + 1
    return dt.date(year + (start.month - 1 + 3 * (q - 1)) // 12, month, 1).isoformat()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--horizons", default="7,14,28")
    parser.add_argument("--origins", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--demo", action="store_true", help="also the demo's quarter totals")
    parser.add_argument("--demo-only", action="store_true")
    parser.add_argument("--save", type=Path, help="keep every forecast here (pickles)")
    parser.add_argument("--only", choices=["requests", "tokens"], help="one of the two runs")
    parser.add_argument("--data", type=Path, default=DATA, help="daily.csv of the same format")
    args = parser.parse_args()
    logging.getLogger("cmdstanpy").disabled = True
    logging.getLogger("prophet").setLevel(logging.ERROR)
    warnings.simplefilter("ignore")
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    horizons = [int(h) for h in args.horizons.split(",")]
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
    if not args.demo_only:
        for with_requests in (True, False):
            if args.only and args.only != ("requests" if with_requests else "tokens"):
                continue
            label = "requests present where the source has them" if with_requests else "tokens only"
            print(f"\n== real usage, {label}", file=sys.stderr)
            tables = run_real(with_requests, horizons, args.origins, args.jobs, args.save,
                              args.data)  # fmt: skip
            print(f"\n## Real usage, {label}\n")
            for h, table in tables.items():
                print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"), "\n")
                _goals(table, h)
    if args.demo or args.demo_only:
        print("\n== demo quarter totals", file=sys.stderr)
        demo = run_demo(args.jobs)
        if args.save:
            demo.to_pickle(args.save / "demo.pkl")
        print("\n## Demo re-forecasts: quarter totals inside P10-P90\n")
        summary = demo.groupby(["ahead"]).agg(
            checks=("inside", "size"), coverage=("inside", "mean")
        )
        print(summary.to_string(float_format=lambda v: f"{v:.3f}"))
        print(f"\nall: {demo['inside'].mean():.3f} of {len(demo)} quarter totals "
              f"({demo['as_of'].nunique()} as-of dates); totals only: "
              f"{demo[demo.team == 'total']['inside'].mean():.3f}; the runs' own daily 80% "
              f"coverage: {demo.groupby('as_of')['daily_coverage'].first().mean():.3f}")  # fmt: skip


def _goals(table: pd.DataFrame, h: int) -> None:
    by = table.set_index("method")
    auto = by.loc["costcast auto", "mase_median"]
    best = by.loc[list(BASELINES), "mase_median"].min()
    naive = by.loc["SeasonalNaive(7)"]
    print(
        f"   h={h}: auto median MASE / best baseline's = {auto / best:.2f} (goal <= 0.90; "
        f"its P50: {by.loc['costcast auto P50', 'mase_median'] / best:.2f}); "
        f"auto / seasonal naive: median {auto / naive['mase_median']:.2f}, mean "
        f"{by.loc['costcast auto', 'mase_mean'] / naive['mase_mean']:.2f} (goal <= 1.05); "
        f"auto coverage {by.loc['costcast auto', 'coverage_80']:.2f} (goal 0.75-0.85), per "
        f"series {by.loc['costcast auto', 'series_cov_min']:.2f}-"
        f"{by.loc['costcast auto', 'series_cov_max']:.2f}, typically "
        f"{by.loc['costcast auto', 'series_cov_gap']:.3f} from 0.80; a forecast flat over "
        f"each window at its median, in hindsight: {by.loc[HINDSIGHT, 'mase_median'] / best:.2f}"
        "\n"
    )


if __name__ == "__main__":
    main()
