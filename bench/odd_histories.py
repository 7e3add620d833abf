"""Odd histories: do a quarter's sample paths stay sensible beside bursty neighbours?

Seven synthetic daily histories in the format of ``../shared/data/real-usage/daily.csv``
(one stream, ``Stress``): its total over 800 days (weekly and yearly pattern), and
per-model series that real ledgers hold too: intermittent (85% idle days), exactly 60
days, one day of 10,000x, tokens without requests, a level 5x higher for its last 50
days, and 40 idle days in the middle. They go into one ledger as ``bench/accuracy.py``
puts real usage (flat price), and one forecast runs to the end of next quarter.

Per series it prints the last 30 days' cost across the paths (mean, P10, P50, P90) and
the share of paths at zero on day 60. A steady series' P50 month should sit near its
mean and its P10 well above zero; what a series' own burst or change of level does to
its own interval is shown, not judged.

    python bench/odd_histories.py [--write FILE]   (FILE: keep the histories as CSV)
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import warnings
from pathlib import Path

# This folder has a forecast.py: keep it off the import path.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

END = "2025-09-30"


def histories(seed: int = 42) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []

    def add(name: str, values: np.ndarray, requests: bool = True) -> None:
        for day, v in zip(pd.date_range(end=END, periods=len(values)), values, strict=True):
            v = float(max(v, 0))
            rows.append({"series": "Stress" + (f"/{name}" if name else ""), "date": day.date(),
                         "model": name or "ALL",
                         "requests": (int(v / 1000) + (v > 0)) if requests else None,
                         "input_tokens": int(v * 0.8), "cached_input_tokens": int(v * 0.1),
                         "cache_write_tokens": None, "output_tokens": int(v * 0.1),
                         "cost_usd": None, "total_tokens": int(v), "reasoning_tokens": None,
                         "filled": int(v == 0)})  # fmt: skip

    t = np.arange(800)
    weekend = pd.date_range(end=END, periods=800).dayofweek >= 5
    add("", 1e6 * (1 + 0.3 * np.sin(2 * np.pi * t / 365)) * np.where(weekend, 0.4, 1)
        * rng.lognormal(0, 0.2, 800))  # fmt: skip
    add("intermittent", np.where(rng.random(200) < 0.15, rng.lognormal(12, 1, 200), 0))
    add("exact60", rng.lognormal(13, 0.5, 60))
    spike = rng.lognormal(12, 0.4, 120)
    spike[70] *= 10_000
    add("hugespike", spike)
    add("noreq", rng.lognormal(12, 0.6, 150), requests=False)
    step = rng.lognormal(12, 0.3, 150)
    step[100:] *= 5
    add("step", step)
    gap = rng.lognormal(12, 0.3, 150)
    gap[60:100] = 0
    add("gap", gap)
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", type=Path, help="keep the histories here (daily.csv format)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    logging.getLogger("cmdstanpy").disabled = True
    logging.getLogger("prophet").setLevel(logging.ERROR)

    import importlib.util

    # the real-usage benchmark's loading, as it is (this folder is off the import path)
    spec = importlib.util.spec_from_file_location(
        "accuracy", Path(__file__).with_name("accuracy.py")
    )
    assert spec and spec.loader
    accuracy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(accuracy)
    canonical_rows, flat_config, real_series = (
        accuracy.canonical_rows,
        accuracy.flat_config,
        accuracy.real_series,
    )
    BENCH_END = accuracy.END

    from forecast.config import load_config
    from forecast.fiscal import FiscalCalendar, Horizon
    from forecast.ingest import ingest_files
    from forecast.ledger import Ledger
    from forecast.pricing import load_price_book
    from forecast.runs import RunSettings, create_forecast

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        daily = args.write or folder / "daily.csv"
        histories().to_csv(daily, index=False)
        canonical_rows(real_series(daily), with_requests=True).to_csv(folder / "u.csv", index=False)
        config = load_config(flat_config(folder))
        with Ledger(config.ledger) as ledger:
            ingest_files(ledger, [folder / "u.csv"])
            run = create_forecast(ledger, load_price_book(config), as_of=BENCH_END,
                                  horizon=Horizon.parse("next-quarter", FiscalCalendar()),
                                  settings=RunSettings())  # fmt: skip
            paths = ledger.con.execute(
                "SELECT feature, ds, path, cost FROM forecast_path_days WHERE run_id = ?",
                [run.run_id],
            ).df()
    print(f"run to the end of next quarter from {BENCH_END}; last 30 days' cost (USD) per series")
    print(f"{'series':14s} {'mean':>8s} {'P10':>8s} {'P50':>8s} {'P90':>8s}  zero paths, day 60")
    for feature, part in paths.groupby("feature"):
        table = part.pivot(index="path", columns="ds", values="cost").to_numpy()
        month = table[:, -30:].sum(axis=1)
        p10, p50, p90 = np.quantile(month, [0.1, 0.5, 0.9])
        print(f"{feature:14s} {month.mean():8.2f} {p10:8.2f} {p50:8.2f} {p90:8.2f}  "
              f"{(table[:, 59] == 0).mean():.0%}")  # fmt: skip


if __name__ == "__main__":
    main()
