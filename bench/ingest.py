"""Ingest benchmark: 10 million canonical per-request rows (CSV).

Prints costcast's ingest time as a ratio to a bare DuckDB ``read_csv`` +
group-by of the same file to the same hourly grain, run in the same
invocation, and the peak RSS of each. Each side runs in its own child
process (so peak memory is its own) and runs ``--runs`` times (5), alternating
with the other side; the fastest run of each side counts (the machine is shared:
the same run's time spreads by 20-40%).
Goal (issue 2): ratio <= 1.5, peak RSS <= 2 GB.

``--outcomes``: then imports an outcome for every 100th request into the last ledger and
times ``costcast kpis`` by team and week (its outcome KPIs join each outcome to its
request's usage group) against a bare DuckDB group-by of the ledger's rows by team and week.

    python bench/ingest.py [--rows N] [--runs N] [--dir DIR] [--outcomes]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

# This folder has a forecast.py: keep it off the import path.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import duckdb  # noqa: E402

MODELS = [
    "gpt-4.1", "gpt-4.1-mini", "gpt-4o-mini", "o4-mini",
    "claude-sonnet-4-5", "claude-haiku-4-5", "gemini-2.5-flash", "gemini-2.5-pro",
]  # fmt: skip


def generate(path: Path, rows: int) -> None:
    """Per-request rows over 60 days in time order: 8 teams, 30 features, 300 users."""
    models = "[" + ", ".join(f"'{m}'" for m in MODELS) + "]"
    step = 60 * 86400 / rows
    duckdb.connect().execute(
        f"""
        COPY (
            SELECT
                strftime(TIMESTAMP '2026-09-01' + to_microseconds(CAST(i * {step} * 1e6 AS BIGINT)),
                         '%Y-%m-%dT%H:%M:%S.%g') || 'Z' AS timestamp,
                'team-' || (f % 8) AS team,
                'feature-' || f AS feature,
                {models}[CAST(1 + (f + hash(i) % 2) % 8 AS BIGINT)] AS model,
                CASE WHEN hash(i, 1) % 60 = 0 THEN 'error' ELSE 'success' END AS status,
                inp AS input_tokens,
                CAST(inp * (hash(i, 3) % 50) / 100 AS BIGINT) AS cached_input_tokens,
                CAST(20 + hash(i, 4) % 900 AS BIGINT) AS output_tokens,
                'user-' || ((f * 10 + hash(i, 5) % 10) % 300) AS user,
                'req_' || md5(CAST(i AS VARCHAR))[:24] AS request_id
            FROM (SELECT i, CAST(hash(i, 0) % 30 AS BIGINT) AS f,
                         CAST(200 + hash(i, 2) % 4000 AS BIGINT) AS inp
                  FROM range({rows}) t(i))
        ) TO '{path}' (HEADER)
        """
    )


BASELINE = """
import duckdb, json, resource, sys, time
con = duckdb.connect()
start = time.perf_counter()
con.execute('''CREATE TABLE hourly AS
    SELECT date_trunc('hour', timestamp) AS ts, team, feature, model, status, "user",
           count(*) AS requests, sum(input_tokens), sum(cached_input_tokens), sum(output_tokens)
    FROM read_csv(?) GROUP BY ALL''', [sys.argv[1]])
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

COSTCAST = """
import json, resource, sys, time
from forecast.ingest import ingest_files
from forecast.ledger import Ledger
from forecast.pricing import load_price_book
start = time.perf_counter()
# as `costcast ingest` does it: with the book, which prices the days the ingest sums
with Ledger(sys.argv[2]) as ledger:
    (result,) = ingest_files(ledger, [sys.argv[1]], book=load_price_book())
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rows_added": result.rows_added}))
"""


def run(code: str, *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--outcomes", action="store_true", help="also time outcome KPIs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        csv = Path(tmp) / "requests.csv"
        t0 = time.perf_counter()
        generate(csv, args.rows)
        size = csv.stat().st_size / 1e6
        print(f"generated {args.rows:,} rows ({size:,.0f} MB) in {time.perf_counter() - t0:.1f}s")
        base, ours = [], []
        for attempt in range(args.runs):
            base.append(run(BASELINE, str(csv)))
            ledger = Path(tmp) / f"ledger{attempt}.duckdb"
            ours.append(run(COSTCAST, str(csv), str(ledger)))
            assert ours[-1]["rows_added"] == args.rows, ours[-1]
            print(
                f"run {attempt + 1}: baseline {base[-1]['seconds']:.2f}s, costcast {ours[-1]['seconds']:.2f}s"
            )
        b = min(r["seconds"] for r in base)
        c = min(r["seconds"] for r in ours)
        print(
            f"baseline read_csv+group-by: {b:.2f}s, peak RSS {max(r['rss_mb'] for r in base):,.0f} MB"
        )
        print(
            f"costcast ingest:            {c:.2f}s, peak RSS {max(r['rss_mb'] for r in ours):,.0f} MB"
        )
        print(f"ratio (costcast / baseline): {c / b:.2f}  (goal <= 1.5)")
        paired = [o["seconds"] / r["seconds"] for o, r in zip(ours, base, strict=True)]
        print("ratio of each paired run:", ", ".join(f"{x:.2f}" for x in paired))
        if args.outcomes:
            outcome_kpis(ledger, Path(tmp), args.rows)


def outcome_kpis(ledger_path: Path, folder: Path, rows: int) -> None:
    from forecast.kpis import kpis
    from forecast.ledger import Ledger
    from forecast.outcomes import import_outcomes
    from forecast.pricing import load_price_book

    ids = (
        duckdb.connect()
        .execute(  # the request ids generate() wrote, every 100th
            f"SELECT 'req_' || md5(CAST(i AS VARCHAR))[:24] FROM range(0, {rows}, 100) t(i)"
        )
        .fetchall()
    )
    outcomes = folder / "outcomes.jsonl"
    outcomes.write_text("".join(json.dumps({"request_id": r, "outcome": "success"}) + "\n"
                                for (r,) in ids))  # fmt: skip
    with Ledger(ledger_path) as ledger:
        (done,) = import_outcomes(ledger, [outcomes])
        book = load_price_book()

        def best(call) -> float:
            return min(timeit.repeat(call, repeat=3, number=1))

        bare = best(lambda: ledger.con.execute(
            """SELECT date_trunc('week', ts), team, sum(requests), sum(input_tokens),
                      sum(output_tokens) FROM usage GROUP BY ALL""").fetchall())  # fmt: skip
        ours = best(lambda: kpis(ledger, book, by="team", freq="week"))
    print(f"{done.added:,} outcomes per request; kpis by team and week {ours:.3f}s, a bare "
          f"group-by {bare:.3f}s: {ours / bare:.1f}x")  # fmt: skip


if __name__ == "__main__":
    main()
