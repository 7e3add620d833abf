"""KPIs against a fortnight whose numbers are worked out by hand."""

from __future__ import annotations

import pytest

from forecast.ingest import ingest_files
from forecast.kpis import kpis
from forecast.pricing import load_price_book


@pytest.fixture
def book():
    return load_price_book()


# gpt-4o: $2.50 input, $10 output per million tokens. Week 1 (Mon 2026-03-02): 100 calls a
# day of 1,000 input and 100 output tokens, all succeed. Week 2: prompts 25% longer (1,250
# input), 90 calls succeed and 10 fail (failed calls: input only) every day.
HEADER = "timestamp,bucket,team,feature,model,status,requests,input_tokens,output_tokens\n"


def fortnight(path):
    rows = []
    for day in range(1, 8):
        rows.append(
            f"2026-03-{1 + day:02d}T00:00:00Z,1d,search,ask,gpt-4o,success,100,100000,10000"
        )
    for day in range(8, 15):
        rows.append(f"2026-03-{1 + day:02d}T00:00:00Z,1d,search,ask,gpt-4o,success,90,112500,9000")
        rows.append(f"2026-03-{1 + day:02d}T00:00:00Z,1d,search,ask,gpt-4o,error,10,12500,0")
    path.write_text(HEADER + "\n".join(rows) + "\n")
    return path


def test_weekly_kpis_by_hand(ledger, tmp_path, book):
    ingest_files(ledger, [fortnight(tmp_path / "u.csv")])
    frame = kpis(ledger, book, by="team", freq="week")
    first, second = frame.iloc[0], frame.iloc[1]
    assert str(first["period_start"].date()) == "2026-03-02"
    assert first["failed_share"] == 0 and first["cost_per_success"] == pytest.approx(
        (1000 * 2.5 + 100 * 10) / 1e6
    )
    assert pd_isna(first["token_inflation"])  # nothing before it to compare with
    day_cost = (100 * 1250 * 2.5 + 90 * 100 * 10) / 1e6  # 0.4025
    assert second["requests"] == 700 and second["successful_requests"] == 630
    assert second["failed_share"] == pytest.approx(0.1)
    assert second["cost_usd"] == pytest.approx(7 * day_cost)
    assert second["failed_cost_usd"] == pytest.approx(7 * 10 * 1250 * 2.5 / 1e6)
    assert second["cost_per_success"] == pytest.approx(7 * day_cost / 630)
    assert second["tokens_per_request_input"] == pytest.approx(1250)
    assert second["tokens_per_request_output"] == pytest.approx(90 * 100 / 100)
    assert second["token_inflation"] == pytest.approx(0.25)  # against week 1's 1,000


def pd_isna(value) -> bool:
    import pandas as pd

    return bool(pd.isna(value))
