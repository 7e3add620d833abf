"""Shared set-up for the API tests: a ledger of constant daily usage with a finished run,
a config with accounts and cost centres, and one token per scope."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from builders import AS_OF, KEYS, daily_csv

from forecast.config import SCOPES
from forecast.fiscal import Horizon
from forecast.ingest import ingest_files
from forecast.ledger import Ledger
from forecast.pricing import load_price_book
from forecast.runs import RunSettings, create_forecast
from forecast.tokens import create_token

HORIZON_END = dt.date(2026, 8, 31)
CONFIG = """\
ledger: ledger.duckdb
fiscal_year_start: 1
accounting:
  entity: ACME-US
  cost_centers: {search: CC-SEARCH, support: CC-SUPPORT}
api:
  max_upload_mb: 1
  max_scenario_kb: 4
"""


def make_workspace(folder: Path, with_run: bool = True, with_usage: bool = True) -> dict:
    """costcast.yaml, a ledger with 120 days of constant usage (and a seasonal-naive run
    through 2026-08-31), and tokens: one per scope plus 'all' holding every scope."""
    config = folder / "costcast.yaml"
    config.write_text(CONFIG)
    tokens = {scope: create_token(config, scope.replace(":", "-"), [scope]) for scope in SCOPES}
    tokens["all"] = create_token(config, "all", list(SCOPES))
    usage = daily_csv(folder / "usage.csv", KEYS)
    run_id = None
    with Ledger(folder / "ledger.duckdb") as ledger:
        if with_usage:
            ingest_files(ledger, [usage])
        if with_usage and with_run:
            run_id = create_forecast(
                ledger, load_price_book(), horizon=Horizon.until(HORIZON_END),
                settings=RunSettings(forecasters="seasonal_naive", n_paths=50), jobs=1,
            ).run_id  # fmt: skip
    return {"config": config, "tokens": tokens, "run_id": run_id, "usage": usage, "as_of": AS_OF}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


class Server:
    """``costcast serve`` in its own process on a free loopback port."""

    def __init__(self, config: Path, *extra: str) -> None:
        import socket
        import subprocess
        import sys

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = config.parent / f"server-{self.port}.log"
        command = [sys.executable, "-c", "from forecast.cli import main; main()", "serve",
                   "--port", str(self.port), "--config", str(config), *extra]  # fmt: skip
        self.process = subprocess.Popen(
            command, stdout=self.log.open("w"), stderr=subprocess.STDOUT
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60) -> None:
        import time

        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited:\n{self.log.read_text()}")
            try:
                if httpx.get(self.url + "/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server not ready after {timeout} s:\n{self.log.read_text()}")

    def stop(self, kill: bool = False) -> None:
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        self.process.wait(timeout=60)
