"""Small ledgers' inputs whose right answers can be worked out by hand, shared by the tests."""

from __future__ import annotations

import datetime as dt

import pandas as pd

AS_OF = dt.date(2026, 6, 15)
KEYS = [("search", "ask", "gpt-4o"), ("support", "bot", "gpt-4o"), ("support", "triage", "gpt-4o")]
# gpt-4o from 2024-10-02: $2.50 input, $10 output per million tokens
DAILY_COST = 100 * (1000 * 2.50 + 100 * 10) / 1e6  # = 0.35 USD per key and day


def daily_csv(path, keys, days=120, end=AS_OF, requests=100, input_tokens=1000, output_tokens=100):
    """Daily buckets: each key makes ``requests`` calls a day of the given size."""
    rows = ["timestamp,bucket,team,feature,model,requests,input_tokens,output_tokens"]
    for day in pd.date_range(end - dt.timedelta(days=days - 1), end):
        for team, feature, model in keys:
            rows.append(
                f"{day:%Y-%m-%d}T00:00:00Z,1d,{team},{feature},{model},{requests},"
                f"{requests * input_tokens},{requests * output_tokens}"
            )
    path.write_text("\n".join(rows) + "\n")
    return path


def write_csv(folder, name, *lines, header):
    """A CSV file of ``lines`` under ``header``."""
    path = folder / name
    path.write_text("\n".join([header, *lines]) + "\n")
    return path


def snapshot(ledger):
    """What must not change when an ingest is refused: totals, the log, the row keys."""
    from conftest import totals

    return (
        totals(ledger),
        ledger.con.execute("SELECT count(*) FROM ingests").fetchall(),
        ledger.con.execute("SELECT count(*) FROM row_keys").fetchall(),
    )


def answer(what: str, call):
    """A reader's answer, or None where it refused with a costcast error that says what;
    a table's figures are never infinite, and it turns into the JSON the API sends."""
    import numpy as np

    from forecast.errors import CostcastError

    try:
        found = call()
    except CostcastError as exc:
        assert exc.message, what
        return None
    if isinstance(found, pd.DataFrame):
        numbers = found.select_dtypes("number").to_numpy(dtype=float)
        assert not np.isinf(numbers).any(), f"{what}: an infinite figure\n{found}"
        found.to_json(orient="records")  # what the API and --output json send
    return found


def play(ledger, plan, ingest):
    """Carry out a random ``plan`` of writes, yielding after each step so that a test can
    check the ledger between them: ``("remove", k)`` removes the ingest made ``k`` steps
    back (nothing where there is none yet); any other step is ``ingest(n, step)``'s to
    write, which returns the new ingest's id, or None where the ledger refused it."""
    made: list[int] = []
    for n, step in enumerate(plan):
        if step[0] == "remove":
            if len(made) >= step[1]:
                ledger.remove_ingest(made[-step[1]])
        elif (ingest_id := ingest(n, step)) is not None:
            made.append(ingest_id)
        yield step
