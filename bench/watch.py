"""Watch benchmark: the hourly spike rule on real bursty usage, untouched and with spikes put in.

**Real usage** (``../shared/data/real-usage/servegen_hourly_by_client.csv.gz``, or
``--data FILE`` of its format): every client (per model) with hours in at least two thirds
of the file's span, and at least 8 days of them, is one scope, its hourly
cost priced flat (input $1, output $4 per million tokens). The rule judges day 8 on (a week
of baseline before); alerts are episodes as ``costcast watch`` counts them (the rule's
``clear_hours`` apart, an escalation counting as one more).

- false alarms: alerts per client-week on the untouched series;
- detection: ``--spikes`` times, a random client and hour from day 8 on whose cost is at
  least the rule's ``min_increase_usd`` (a smaller spike is below the floor by design) is
  doubled for 2 hours; detected if the rule holds in one of those two hours. The same
  places are also spiked 3, 5 and 10 times (``--sizes``): what size of incident the rule
  catches within 2 hours.

Goal (issue 12): >= 95% of spikes detected within 2 hours, at most 1 alert per client-week.
Also prints the rule's settings, so that a run says what it measured.

- the product itself (where the file counts every row's requests): the same clients' hours
  put into a real ledger as canonical usage and replayed with ``costcast watch --from/--to``
  over the judged days, every rule at its defaults: alerts per client-week of each rule (the
  spike rule's count, which opens no alert already open at day 8, is a second computation of
  the one above).

**Speed on the demo** (``--demo``): the demo's 15 months in a ledger with its outcomes
imported; ``costcast kpis`` by team and week over all of it (also before the outcomes are
imported), and a watch check of the last hour, each timed (best of 7) and printed as a
ratio to a bare DuckDB group-by of the same rows by team and week.
Goals: kpis within 2x the group-by, a watch hour under a second.

    python bench/watch.py [--spikes 2000] [--sizes 2,3,5,10] [--rise 0.3] [--spread 3]
                          [--min-increase 5] [--clear-hours 24] [--escalate 2]
                          [--data FILE] [--demo]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

# This folder has a forecast.py: keep it off the import path.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

DATA = (Path(__file__).resolve().parents[2] / "shared" / "data" / "real-usage"
        / "servegen_hourly_by_client.csv.gz")  # fmt: skip
JUDGED_FROM = 24 * 7


def client_usage(path: Path) -> tuple[pd.DataFrame, pd.DatetimeIndex]:
    """Every hour of the file's span, and its rows (``hour`` as UTC timestamps, ``cost``
    priced flat: input $1, output $4 per million tokens) of the clients judged: those with
    hours in at least two thirds of its span and at least 8 days of them (ServeGen's one-day
    pools have no baseline)."""
    try:
        frame = pd.read_csv(path)
    except (
        OSError,
        pd.errors.ParserError,
        pd.errors.EmptyDataError,
        UnicodeDecodeError,
        EOFError,
    ) as exc:
        sys.exit(f"{path}: cannot be read as CSV: {exc}")
    missing = {"hour", "model", "client", "input_tokens", "output_tokens"} - set(frame.columns)
    if missing:
        sys.exit(f"{path}: expected the columns {', '.join(sorted(missing))} (the ServeGen "
                 f"hourly format); it has {', '.join(map(str, frame.columns))}")  # fmt: skip
    from forecast.errors import CostcastError
    from forecast.frame import times

    try:
        frame["hour"] = times(frame["hour"], "hour", str(path), iso_utc=True)
    except CostcastError as exc:
        sys.exit(str(exc))
    frame["cost"] = (frame["input_tokens"] * 1.0 + frame["output_tokens"] * 4.0) / 1e6
    # an hour in which no client called is no row of the file, and must still be an hour:
    # the baselines count hours back by position
    hours = pd.date_range(frame["hour"].min(), frame["hour"].max(), freq="h")
    seen = frame[frame["cost"].notna()].groupby(["model", "client"])["hour"].nunique()
    judged = seen[seen >= max(JUDGED_FROM + 24, 2 / 3 * len(hours))].index
    return frame[pd.MultiIndex.from_frame(frame[["model", "client"]]).isin(judged)], hours


def client_costs(frame: pd.DataFrame, hours: pd.DatetimeIndex) -> np.ndarray:
    """(hours, clients): each judged client's cost every hour of the file's span."""
    table = frame.pivot_table(index="hour", columns=["model", "client"], values="cost",
                              aggfunc="sum")  # fmt: skip
    return table.reindex(hours).fillna(0.0).to_numpy()


def main() -> None:
    from forecast.watch.alerts import episodes
    from forecast.watch.rules import SpikeRule, hourly_spike

    parser = argparse.ArgumentParser()
    parser.add_argument("--spikes", type=int, default=2000)
    parser.add_argument("--rise", type=float, default=SpikeRule().rise)
    parser.add_argument("--spread", type=float, default=SpikeRule().spread)
    parser.add_argument("--min-increase", type=float, default=SpikeRule().min_increase_usd)
    parser.add_argument("--clear-hours", type=int, default=SpikeRule().clear_hours)
    parser.add_argument("--escalate", type=float, default=SpikeRule().escalate)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sizes", type=lambda text: [float(v) for v in text.split(",")],
                        default=[2.0, 3.0, 5.0, 10.0], help="spike sizes, the goal's 2x first")  # fmt: skip
    parser.add_argument("--demo", action="store_true", help="also time kpis and watch")
    parser.add_argument("--data", type=Path, default=DATA,
                        help="hourly usage by client in the same format (CSV, gzipped or not)")  # fmt: skip
    args = parser.parse_args()
    rule = SpikeRule(rise=args.rise, spread=args.spread, min_increase_usd=args.min_increase,
                     clear_hours=args.clear_hours, escalate=args.escalate)  # fmt: skip
    clear = rule.clear_hours
    usage, span = client_usage(args.data)
    cost = client_costs(usage, span)
    if cost.shape[1] == 0:
        sys.exit(f"{args.data}: no client has 8 days of hours, in two thirds of the span, to judge")
    hours, clients = cost.shape
    verdict = hourly_spike(cost, rule)
    excess = verdict.excess[JUDGED_FROM:]
    alerts = sum(len(episodes(verdict.holds[JUDGED_FROM:, j], clear, None, excess[:, j],
                              rule.escalate)) for j in range(clients))  # fmt: skip
    weeks = (hours - JUDGED_FROM) / 168
    rng = np.random.default_rng(args.seed)
    big = np.argwhere(cost[JUDGED_FROM:-1] >= rule.min_increase_usd)
    spots = big[rng.choice(len(big), size=min(args.spikes, len(big)), replace=False)]
    found = {size: detected(cost, spots, size, rule) for size in args.sizes}
    print(f"{clients} clients x {hours} hours ({args.data.name}), judged from day 8; rule: rise "
          f"{rule.rise:.0%}, spread {rule.spread} robust sd, min increase ${rule.min_increase_usd}"
          f"/hour, baseline {rule.weeks} weeks (7 days while fewer), clear after {clear} h, "
          f"escalate at {rule.escalate:g}x")  # fmt: skip
    print(
        f"untouched: {alerts} alerts = {alerts / (clients * weeks):.2f} per client-week (goal <= 1)"
    )
    holds, opens = found.get(2.0, (float("nan"), float("nan")))
    print(
        f"2x for 2 hours at {len(spots)} random client-hours of >= ${rule.min_increase_usd}: "
        f"{holds:.1%} detected within 2 hours (goal >= 95%), {opens:.1%} by an alert opened "
        "or escalated then (the rest in one of the scope's already open); by size: "
        + ", ".join(f"{size:g}x {h:.1%} ({o:.1%})" for size, (h, o) in found.items())
    )
    bounds = oracle_bounds(cost, rule)
    print("upper bound at <= 1 alert per client-week (a threshold per client, chosen in "
          "hindsight so that one untouched value of the week passes it), share of the spikes "
          "detected on: " + ", ".join(f"{k} {v:.1%}" for k, v in bounds.items()))  # fmt: skip
    if "requests" not in usage or usage["requests"].isna().any():
        # a ledger row without a count is one request (the canonical default): per-request
        # figures would be made up
        print("the ledger replay needs every row's requests: skipped")
    else:
        replayed = ledger_replay(usage, span, rule)
        said = ", ".join(f"{name} {n} = {n / (clients * weeks):.2f} per client-week"
                         for name, n in sorted(replayed.items()))  # fmt: skip
        print("the same clients in a ledger, replayed with costcast watch from day 8 (every "
              f"rule at its defaults, the spike rule as above): {said or 'no alert'}")  # fmt: skip
    if args.demo:
        demo_speed()


def ledger_replay(usage: pd.DataFrame, hours: pd.DatetimeIndex, rules) -> dict[str, int]:
    """Alerts per rule from ``costcast watch --from day 8 --to the end`` on a real ledger
    holding the same clients' hours as canonical usage (each client of each pool a team of
    its own, feature ``api``, requests and tokens rounded to whole numbers, priced flat as
    above by a price entry): what the product itself says, every rule at its defaults but
    for the spike rule's settings given."""
    import tempfile

    from forecast.config import Config, PricesConfig
    from forecast.ledger import Ledger
    from forecast.pricing.book import PriceEntry
    from forecast.watch.rules import AlertRules
    from forecast.workspace import Workspace

    canonical = pd.DataFrame({
        "timestamp": usage["hour"].dt.strftime("%Y-%m-%dT%H:00:00Z"), "bucket": "1h",
        "team": usage["model"].str.split("/").str[-1] + "-" + usage["client"].astype(str),
        "feature": "api", "model": "servegen-flat",
        **{k: usage[k].round().astype("int64")
           for k in ("requests", "input_tokens", "output_tokens")},
    })  # fmt: skip
    flat = PriceEntry(model="servegen-flat", effective=hours[0].date(), input=1.0, output=4.0)
    with tempfile.TemporaryDirectory() as tmp:
        canonical.to_csv(Path(tmp) / "usage.csv", index=False)
        config = Config(ledger=Path(tmp) / "costcast.duckdb",
                        prices=PricesConfig(entries=[flat]),
                        alerts=AlertRules(hourly_spike=rules))  # fmt: skip
        with Ledger(config.ledger) as ledger:
            ws = Workspace(config, ledger)
            ws.ingest([Path(tmp) / "usage.csv"])
            alerts = ws.replay_alerts(hours[JUDGED_FROM].to_pydatetime(),
                                      hours[-1].to_pydatetime())  # fmt: skip
    return dict(Counter(alert.rule for alert in alerts))


def detected(cost: np.ndarray, spots: np.ndarray, size: float, rule) -> tuple[float, float]:
    """Of spikes (``size`` times the cost for 2 hours, at each judged client-hour of
    ``spots``), the share the rule holds in at one of those two hours, judging each hour as
    it comes (no later hour is seen), and the share for which an alert opens then (not
    already open from the hours before)."""
    from forecast.watch.alerts import episodes
    from forecast.watch.rules import hourly_spike

    held = opened = 0
    for t, c in spots:
        t += JUDGED_FROM
        series = cost[: t + 2, [c]].copy()
        series[t : t + 2] *= size
        verdict = hourly_spike(series, rule)
        holds, excess = verdict.holds[:, 0], verdict.excess[:, 0]
        held += bool(holds[t : t + 2].any())
        opened += any(start in (t, t + 1) for start, _ in
                      episodes(holds, rule.clear_hours, None, excess, rule.escalate))  # fmt: skip
    return held / max(len(spots), 1), opened / max(len(spots), 1)


def oracle_bounds(cost: np.ndarray, rule) -> dict[str, float]:
    """Detection of 2x-for-2-hours spikes (at every judged client-hour of at least the rule's
    floor) by the best threshold each client could have had: the second-highest untouched
    value of its judged week, on four statistics of an hour against its seasonal median:
    the log ratio and the excess of the hour, and of the two hours ending there. No rule
    that compares one or two hours with that baseline does better at the goal's
    false-alarm rate."""
    from forecast.watch.rules import seasonal_baseline

    median = seasonal_baseline(cost, rule.weeks)[0][JUDGED_FROM:]
    now = cost[JUDGED_FROM:]
    pairs = (now[1:] + now[:-1], median[1:] + median[:-1])  # two hours ending at t + 1

    def ratio(a, b):
        with np.errstate(all="ignore"):
            return np.log(a / b)

    found = {}
    for name, (a, b) in {"1 h ratio": (now, median), "1 h excess": (now, median),
                         "2 h ratio": pairs, "2 h excess": pairs}.items():  # fmt: skip
        stat_of = ratio if "ratio" in name else np.subtract
        # an hour over a zero median is +inf (any ratio rule fires on it); 0 / 0 never fires
        stat = np.nan_to_num(stat_of(a, b), nan=-np.inf, posinf=np.inf, neginf=-np.inf)
        hits = tries = 0
        for j in range(cost.shape[1]):
            bar = np.sort(stat[:, j])[-2]
            for t in np.flatnonzero(now[:-1, j] >= rule.min_increase_usd):
                tries += 1
                if name.startswith("1 h"):  # either spiked hour, doubled
                    spiked = [stat_of(2 * now[t + k, j], median[t + k, j]) for k in (0, 1)]
                else:  # the two hours ending at the spike's second hour: both doubled
                    spiked = [stat_of(2 * a[t, j], b[t, j])]
                hits += bool(max(spiked) > bar)  # spiked hours cost >= the floor: never 0 / 0
        found[name] = hits / max(tries, 1)
    found[f"1 h ratio to the {RECENT_HOURS} h before"] = recent_bound(cost, rule)
    return found


RECENT_HOURS = 12  # of 1, 2, 3, 6 and 12 hours tried, the baseline that detects most


def recent_bound(cost: np.ndarray, rule) -> float:
    """The same bound on the hour's log ratio to the mean of the hours just before it (a
    short-term level instead of a seasonal one; for the spike's second hour those hours
    hold its doubled first): these clients' hours swing too far for that to do better."""
    kernel = np.ones(RECENT_HOURS) / RECENT_HOURS
    hits = tries = 0
    for j in range(cost.shape[1]):
        x = cost[:, j]
        before = np.convolve(x, kernel)[: len(x)]  # before[t]: mean of x[t - 11 .. t]
        base = np.concatenate([[np.nan], before[:-1]])  # the hours before t, t excluded
        with np.errstate(all="ignore"):
            stat = np.nan_to_num(np.log(x / base), nan=-np.inf, posinf=np.inf)[JUDGED_FROM:]
            bar = np.sort(stat)[-2]
            for t in np.flatnonzero(x[JUDGED_FROM:-1] >= rule.min_increase_usd) + JUDGED_FROM:
                tries += 1
                spiked = (
                    np.log(2 * x[t] / base[t]),
                    np.log(2 * x[t + 1] / (base[t + 1] + x[t] / RECENT_HOURS)),
                )
                hits += bool(max(spiked) > bar)
    return hits / max(tries, 1)


def demo_speed() -> None:
    import datetime as dt
    import tempfile
    import timeit

    from forecast.config import load_config
    from forecast.demo import write_demo_data
    from forecast.ledger import Ledger
    from forecast.workspace import Workspace

    def best(call, runs: int = 7) -> float:
        return min(timeit.repeat(call, repeat=runs, number=1))

    with tempfile.TemporaryDirectory() as tmp:
        write_demo_data(Path(tmp), seed=7, months=15, end=dt.date(2026, 12, 2))
        config = load_config(Path(tmp) / "costcast.yaml")
        with Ledger(config.ledger) as ledger:
            ws = Workspace(config, ledger)
            ws.ingest(sorted(Path(tmp).glob("usage-*.csv")))
            rows = ledger.row_count()
            bare = best(lambda: ledger.con.execute(
                """SELECT date_trunc('week', ts), team, sum(requests), sum(input_tokens),
                          sum(output_tokens) FROM usage GROUP BY ALL""").fetchall())  # fmt: skip
            alone = best(lambda: ws.kpis(by="team", freq="week"))
            ws.import_outcomes([Path(tmp) / "outcomes-support.csv"])  # as the demo does
            # the first read after a commit asks the ledger what it holds; later reads
            # until the next commit remember it (a server's case): both are shown
            first = best(lambda: ws.kpis(by="team", freq="week"), runs=1)
            kpis = best(lambda: ws.kpis(by="team", freq="week"))
            firsts = []  # and after commits that change nothing, the best of seven
            for _ in range(7):
                with ledger.transaction():
                    pass
                firsts.append(best(lambda: ws.kpis(by="team", freq="week"), runs=1))
            watch = best(lambda: ws.check_alerts(dry_run=True))
    print(f"demo ledger, {rows:,} rows: bare DuckDB group-by by team and week {bare:.3f}s")
    print(
        f"costcast kpis by team and week: {kpis:.4f}s = {kpis / bare:.2f}x the group-by "
        f"(goal <= 2x); before the outcomes were imported {alone:.4f}s = {alone / bare:.2f}x; "
        f"the first read after the import {first:.4f}s = {first / bare:.2f}x, after a "
        f"commit (best of 7) {min(firsts):.4f}s = {min(firsts) / bare:.2f}x"
    )
    print(
        f"watch check of the last hour: {watch:.3f}s = {watch / bare:.1f}x the group-by "
        "(goal < 1 s)"
    )


if __name__ == "__main__":
    main()
