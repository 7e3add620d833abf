"""API benchmark: a running ``costcast serve`` driven from this (second) process on loopback.

Sets up a workspace (demo usage, a seasonal-naive forecast run, a token),
starts the server in its own process, then, each for ``--duration`` seconds
with ``--clients`` client threads:

1. the baseline, ``GET /health/live``, on the same machine and moment;
2. the mixed read workload a dashboard and an ERP send: forecast tables
   (by team and month, by model and quarter, the total per year), run detail,
   run list, usage by team and month; its rate is printed as a ratio of the
   baseline's (goal: >= 100 req/s);
3. the same reads while a forecast (``--forecasters``, default auto) runs in
   the server (goal: reads' p99 <= 300 ms);
4. reads with one scenario post in ``--scenario-every``.

Prints requests per second, p50 / p99 latency per kind and overall, and the
error count (any answer >= 400 or failed connection; the bar is 0).

    python bench/api.py [--duration 30] [--clients 4] [--months 6]
"""

from __future__ import annotations

import argparse
import datetime as dt
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

# This folder has a forecast.py: keep it off the import path.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import httpx  # noqa: E402
import numpy as np  # noqa: E402

SCENARIO = """name: bench
baseline: {run}
changes:
  - {{kind: traffic, team: {team}, factor: {{low: 1.1, likely: 1.3, high: 1.8}}, start: {start}}}
  - {{kind: tokens, input_factor: 1.2, start: {start}, ramp_days: 14}}
"""


def setup(folder: Path, months: int) -> tuple[Path, str, str, str]:
    from forecast.config import SCOPES
    from forecast.demo import write_demo_data
    from forecast.fiscal import Horizon
    from forecast.ingest import ingest_files
    from forecast.ledger import Ledger
    from forecast.pricing import load_price_book
    from forecast.runs import RunSettings, create_forecast
    from forecast.tokens import create_token

    end = dt.date.today() - dt.timedelta(days=1)
    written = write_demo_data(folder, seed=7, months=months, end=end)
    config = folder / "costcast.yaml"
    token = create_token(config, "bench", list(SCOPES))
    from forecast.config import load_config

    cfg = load_config(config)
    with Ledger(cfg.ledger) as ledger:
        ingest_files(ledger, [p for p in written if p.name.startswith("usage-")])
        run = create_forecast(
            ledger, load_price_book(cfg), horizon=Horizon.until(end + dt.timedelta(days=90)),
            settings=RunSettings(forecasters="seasonal_naive", n_paths=200), jobs=2,
        )  # fmt: skip
        team = ledger.con.execute("SELECT min(team) FROM forecast_series WHERE run_id = ?",
                                  [run.run_id]).fetchall()[0][0]  # fmt: skip
    return config, token, run.run_id, team


def start_server(config: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-c", "from forecast.cli import main; main()", "serve",
               "--port", str(port), "--config", str(config)]  # fmt: skip
    log = (config.parent / "server.log").open("w")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(url + "/health/ready", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the server did not start; see " + str(config.parent / "server.log"))


def drive(url, token, duration, clients, pick) -> list[tuple[str, float, bool]]:
    """(kind, seconds, ok) for every request sent by ``clients`` threads for ``duration`` s."""
    results: list[tuple[str, float, bool]] = []
    lock = threading.Lock()
    stop = time.monotonic() + duration

    def client(index: int) -> None:
        done = []
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"},
                          timeout=120) as http:  # fmt: skip
            n = index
            while time.monotonic() < stop:
                kind, method, path, kwargs = pick(n)
                n += clients
                began = time.perf_counter()
                try:
                    ok = http.request(method, path, **kwargs).status_code < 400
                except httpx.HTTPError:
                    ok = False
                done.append((kind, time.perf_counter() - began, ok))
        with lock:
            results.extend(done)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def report(title: str, results, duration: float) -> float:
    rate = len(results) / duration
    errors = sum(not ok for _, _, ok in results)
    print(f"{title}: {len(results)} requests, {rate:.1f} req/s, {errors} errors")
    for kind in sorted({k for k, _, _ in results}):
        times = np.array([s for k, s, _ in results if k == kind]) * 1000
        p50, p99 = np.percentile(times, [50, 99])
        print(f"  {kind:<18} n={len(times):>6}  p50 {p50:8.1f} ms  p99 {p99:8.1f} ms")
    times = np.array([s for _, s, _ in results]) * 1000
    p50, p99 = np.percentile(times, [50, 99])
    print(f"  {'all':<18} n={len(times):>6}  p50 {p50:8.1f} ms  p99 {p99:8.1f} ms")
    return rate


def wait_for(url: str, token: str, run_id: str) -> str:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:
        while True:
            status = http.get(f"/v1/forecasts/{run_id}").json()["status"]
            if status in ("done", "failed"):
                return status
            time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--scenario-every", type=int, default=5)
    parser.add_argument("--forecasters", default="auto")
    args = parser.parse_args()
    errors = 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config, token, run_id, team = setup(folder, args.months)
        process, url = start_server(config)
        try:
            start = (dt.date.today() + dt.timedelta(days=10)).isoformat()
            body = SCENARIO.format(run=run_id, team=team, start=start).encode()
            series = f"/v1/forecasts/{run_id}/series"
            reads = [
                ("series team/month", "GET", series, {"params": {"by": "team", "freq": "month"}}),
                ("series model/quarter", "GET", series, {"params": {"by": "model", "freq": "quarter"}}),
                ("series total/year", "GET", series, {"params": {"by": "", "freq": "year"}}),
                ("run detail", "GET", f"/v1/forecasts/{run_id}", {}),
                ("run list", "GET", "/v1/forecasts", {}),
                ("usage team/month", "GET", "/v1/usage", {"params": {"by": "team"}}),
            ]  # fmt: skip
            post = ("scenario post", "POST", "/v1/scenarios",
                    {"content": body, "headers": {"Content-Type": "application/yaml"}})  # fmt: skip

            def read(n: int):
                return reads[n % len(reads)]

            def mixed(n: int):
                return post if n % args.scenario_every == 0 else read(n)

            d, c = args.duration, args.clients
            base = drive(url, token, d, c, lambda n: ("health", "GET", "/health/live", {}))
            base_rate = report(f"1. baseline GET /health/live ({d:.0f} s, {c} clients)", base, d)
            results = drive(url, token, d, c, read)
            rate = report(f"2. mixed reads ({d:.0f} s, {c} clients)", results, d)
            print(f"   ratio mixed reads / health req/s: {rate / base_rate:.3f} "
                  f"(reads {rate:.1f} req/s; goal >= 100)")  # fmt: skip
            errors += sum(not ok for _, _, ok in results)
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:
                job = http.post("/v1/forecasts", json={"horizon": "90d",
                                "forecasters": args.forecasters, "seed": 1}).json()  # fmt: skip
            began = time.monotonic()
            results = drive(url, token, d, c, read)
            busy = report(f"3. reads while a forecast ({args.forecasters}) runs", results, d)
            times = np.array([s for _, s, _ in results]) * 1000
            print(f"   reads p99 under a forecast: {np.percentile(times, 99):.0f} ms (goal <= 300); "
                  f"{busy / rate:.2f} of the idle read rate")  # fmt: skip
            errors += sum(not ok for _, _, ok in results)
            status = wait_for(url, token, job["run_id"])
            print(
                f"   the forecast finished ({status}) {time.monotonic() - began:.0f} s after it started"
            )
            results = drive(url, token, d, c, mixed)
            report(f"4. reads with 1 in {args.scenario_every} a scenario post", results, d)
            errors += sum(not ok for _, _, ok in results)
            print(f"errors: {errors} (bar: 0)")
        finally:
            process.terminate()
            process.wait(timeout=120)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
