"""The demo's outcome signals: tickets the support bot's triage resolved, per day.

Support's ticket-triage makes about three calls a ticket; 78% of tickets are resolved,
and 40% on the days of the retry-loop incident, when calls failed in a loop. Drawn from
their own seed, so the usage files stay what they were.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

TEAM, FEATURE = "support", "ticket-triage"
CALLS_PER_TICKET = 3
RESOLVED, RESOLVED_IN_INCIDENT = 0.78, 0.40


def write_demo_outcomes(out_dir: Path, usage: pd.DataFrame, truth: dict[str, Any],
                        seed: int) -> Path:  # fmt: skip
    """``outcomes-support.csv``: date, team, feature, successes, attempts."""
    rng = np.random.default_rng(seed + 1)
    mine = usage[(usage["team"] == TEAM) & (usage["feature"] == FEATURE)
                 & (usage["status"] == "success")]  # fmt: skip
    calls = mine.groupby(mine["timestamp"].str.slice(0, 10))["requests"].sum()
    incident = next(e for e in truth["events"] if e["kind"] == "retry_incident")
    days = pd.Index(calls.index)
    during = (days >= incident["start"]) & (days < incident["end"])  # as the usage: end excluded
    attempts = np.maximum(calls.to_numpy() // CALLS_PER_TICKET, 1)
    successes = rng.binomial(attempts, np.where(during, RESOLVED_IN_INCIDENT, RESOLVED))
    path = out_dir / "outcomes-support.csv"
    pd.DataFrame({"date": days, "team": TEAM, "feature": FEATURE, "successes": successes,
                  "attempts": attempts}).to_csv(path, index=False)  # fmt: skip
    return path
