"""KPIs against a fortnight whose numbers are worked out by hand."""

from __future__ import annotations

import pytest

from forecast.config import load_config
from forecast.ingest import ingest_files
from forecast.kpis import kpis, top_users
from forecast.pricing import load_price_book


@pytest.fixture
def book():
    return load_price_book()


# gpt-4o: $2.50 input, $10 output per million tokens. Week 1 (Mon 2026-03-02): 100 calls a
# day of 1,000 input and 100 output tokens, all succeed. Week 2: prompts 25% longer (1,250
# input), 90 calls succeed and 10 fail (failed calls: input only) every day.
HEADER = "timestamp,bucket,team,feature,model,status,requests,input_tokens,output_tokens\n"


def tokens_only_day(path, day: str, workspace: str, input_tokens: int, output_tokens: int):
    """An Anthropic usage report of one day of one workspace: tokens, and no request count."""
    import datetime as dt
    import json

    end = dt.date.fromisoformat(day) + dt.timedelta(days=1)
    result = {"model": "claude-sonnet-4-5-20250929", "workspace_id": workspace,
              "uncached_input_tokens": input_tokens, "output_tokens": output_tokens}  # fmt: skip
    path.write_text(json.dumps({
        "data": [{"starting_at": f"{day}T00:00:00Z", "ending_at": f"{end}T00:00:00Z",
                  "results": [result]}], "has_more": False, "next_page": None}))  # fmt: skip
    return path


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
    # daily buckets of March 2-15: two whole weeks; by month, 14 days of March's 31
    assert frame[["days", "partial"]].values.tolist() == [[7, False], [7, False]]
    month = kpis(ledger, book, freq="month").iloc[0]
    assert (month["days"], month["partial"]) == (14, True)


def pd_isna(value) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def test_the_top_five_percent_of_users_share(ledger, tmp_path, book):
    """40 users in March; user i spends i x 2.50 USD (i million gpt-4o input tokens). The top
    5% are 2 users, 39 and 40: (39 + 40) / (1 + ... + 40) = 79 / 820 of the cost."""
    from forecast.kpis import top_users

    rows = ["timestamp,team,model,user,requests,input_tokens,output_tokens"]
    rows += [f"2026-03-10T00:00:00Z,t,gpt-4o,u{i:02d},1,{i * 1_000_000},0" for i in range(1, 41)]
    rows += ["2026-03-11T00:00:00Z,t,gpt-4o,,1,999000000,0"]  # no user: not counted
    path = tmp_path / "users.csv"
    path.write_text("\n".join(rows) + "\n")
    ingest_files(ledger, [path])
    frame = top_users(ledger, book, freq="month")
    assert len(frame) == 1
    row = frame.iloc[0]
    assert (row["users"], row["top_users"]) == (40, 2)
    assert row["top_cost_share"] == pytest.approx(79 / 820, abs=1e-6)  # kept to 6 places


def test_the_lorenz_curve_by_hand(ledger, tmp_path, book, cli, monkeypatch):
    from forecast.kpis import lorenz_points, user_costs

    x, y = lorenz_points([7.0, 1.0, 1.0, 1.0])  # cheapest first: 1, 1, 1, then 7 of 10
    assert list(x) == [0, 0.25, 0.5, 0.75, 1]
    assert list(y) == pytest.approx([0, 0.1, 0.2, 0.3, 1])
    rows = ["timestamp,team,model,user,requests,input_tokens,output_tokens"]
    rows += [f"2026-03-10T00:00:00Z,t,gpt-4o,u{i:02d},1,{i * 1_000_000},0" for i in range(1, 5)]
    (tmp_path / "users.csv").write_text("\n".join(rows) + "\n")
    ingest_files(ledger, [tmp_path / "users.csv"])
    costs = user_costs(ledger, book)  # u04 spends 4 x 2.50, the most
    assert list(costs.index) == ["u04", "u03", "u02", "u01"]
    assert costs.iloc[0] == pytest.approx(10.0)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COSTCAST_DB", str(ledger.path))
    ledger.close()
    code, _, err = cli("kpis", "--top-users", "--plot", "lorenz.png")
    assert code == 0, err
    assert (tmp_path / "lorenz.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "unknown" not in err


def test_a_user_the_book_cannot_price_is_unknown_not_dropped(ledger, tmp_path, book, monkeypatch):
    """user_costs left such a user out without a word, and the Lorenz curve with it."""
    from forecast.kpis import user_costs
    from forecast.plots import lorenz_chart

    rows = ["timestamp,team,model,user,requests,input_tokens,output_tokens",
            "2026-03-10T00:00:00Z,t,gpt-4o,u1,1,1000000,0",
            "2026-03-10T00:00:00Z,t,mystery-7,u2,1,1000000,0",
            "2026-03-11T00:00:00Z,t,gpt-4o,u2,1,1000000,0"]  # fmt: skip
    (tmp_path / "users.csv").write_text("\n".join(rows) + "\n")
    ingest_files(ledger, [tmp_path / "users.csv"])
    costs = user_costs(ledger, book)
    assert list(costs.index) == ["u1", "u2"]  # the known first
    assert costs["u1"] == pytest.approx(2.5) and pd_isna(costs["u2"])  # not 2.50: part unpriced
    import matplotlib.pyplot as plt

    drawn = []  # the figure, kept from being closed once written
    monkeypatch.setattr(plt, "close", drawn.append)
    lorenz_chart(costs, tmp_path / "l.png")
    title = drawn[0].axes[0].get_title()
    assert title.startswith("1 users: the top 5% (1) spend 100%") and "1 more of unknown" in title


def test_ratios_over_nothing_are_unknown_never_infinite(ledger, tmp_path, book, cli, monkeypatch):
    # week 1: calls with no input tokens at all (a baseline of 0 per request); week 2: all
    # calls fail (no successes to divide by); both with a cost, so no ratio is 0/0
    rows = [f"2026-03-{1 + d:02d}T00:00:00Z,1d,t,f,gpt-4o,success,10,0,100" for d in range(1, 8)]
    rows += [f"2026-03-{1 + d:02d}T00:00:00Z,1d,t,f,gpt-4o,error,10,500,0" for d in range(8, 15)]
    (tmp_path / "u.csv").write_text(HEADER + "\n".join(rows) + "\n")
    ingest_files(ledger, [tmp_path / "u.csv"])
    second = kpis(ledger, book, by="team", freq="week").iloc[1]
    assert second["tokens_per_request_input"] == 50 and pd_isna(second["token_inflation"])
    assert second["successful_requests"] == 0 and pd_isna(second["cost_per_success"])
    assert second["failed_share"] == 1
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COSTCAST_DB", str(ledger.path))
    ledger.close()
    code, out, err = cli("kpis", "--by", "team", "--output", "json")
    assert code == 0, err
    assert "Infinity" not in out and '"token_inflation": null' in out


@pytest.mark.parametrize("freq", ["day", "week", "month"])
def test_token_inflation_against_the_28_days_before_each_period(ledger, tmp_path, book, freq):
    """Two teams over three months with idle days and weeks, prompts that drift, and a day
    with no request count: each period's baseline, worked out from the rows with pandas, is
    the input tokens per request over the 28 days before the period starts (the uncounted
    day's tokens are in neither ratio: they came with no requests to divide by)."""

    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(3)
    days = pd.date_range("2026-01-01", "2026-03-31", freq="D")
    rows = []
    a, b = "workspace_id:a", "workspace_id:b"  # team names as the Anthropic report gives them
    for team, skip in ((a, 0.2), (b, 0.5)):
        for i, day in enumerate(days):
            if rng.random() < skip or (team == b and 20 <= i < 34):  # idle days, 2 weeks
                continue
            calls = int(rng.integers(1, 50))
            per_call = 1000 + 10 * i + int(rng.integers(0, 300))  # prompts drift up
            rows.append((day, team, calls, calls * per_call))
    usage = pd.DataFrame(rows, columns=["day", "team", "requests", "input_tokens"])
    lines = [f"{d:%Y-%m-%d}T00:00:00Z,1d,{t},f,gpt-4o,success,{r},{n},0"
             for d, t, r, n in usage.itertuples(index=False)]  # fmt: skip
    (tmp_path / "u.csv").write_text(HEADER + "\n".join(lines) + "\n")
    # Anthropic's usage report counts tokens but not requests: a day of team a's whose tokens
    # must stay out of both ratios
    tokens_only_day(tmp_path / "t.json", "2026-02-10", "a", 99_999_999, 0)
    ingest_files(ledger, [tmp_path / "u.csv", tmp_path / "t.json"])
    frame = kpis(ledger, book, by="team", freq=freq)
    checked = 0
    for row in frame.itertuples(index=False):
        start = pd.Timestamp(row.period_start)
        mine = usage[(usage["team"] == row.team) & (usage["day"] < start)
                     & (usage["day"] >= start - pd.Timedelta(days=28))]  # fmt: skip
        first = usage[(usage["team"] == row.team) & (usage["day"] >= start)]
        period_end = start + {"day": pd.DateOffset(days=1), "week": pd.DateOffset(weeks=1),
                              "month": pd.DateOffset(months=1)}[freq]  # fmt: skip
        now = first[first["day"] < period_end]
        if mine["requests"].sum() == 0 or now["requests"].sum() == 0:
            assert pd.isna(row.token_inflation)
            continue
        expected = (now["input_tokens"].sum() / now["requests"].sum()) / (
            mine["input_tokens"].sum() / mine["requests"].sum()
        ) - 1
        assert row.token_inflation == pytest.approx(expected, abs=2e-6), (row.team, start)
        checked += 1
    assert checked >= {"day": 80, "week": 15, "month": 3}[freq]


def test_empty_tables_say_why(ledger, tmp_path, cli, monkeypatch):
    ingest_files(ledger, [fortnight(tmp_path / "u.csv")])  # 2026-03-02 to 03-15, no users
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COSTCAST_DB", str(ledger.path))
    ledger.close()
    span = "the ledger's usage runs from 2026-03-02 to 2026-03-15"
    for command in (("usage",), ("kpis",)):
        code, out, err = cli(*command, "--from", "2027-01-01", "--output", "csv")
        assert code == 0, err
        assert f"no usage from 2027-01-01 to the end: {span}" in err, command
        assert len(out.strip().splitlines()) == 1  # the header alone
    code, _, err = cli("kpis", "--top-users")
    assert code == 0 and f"no usage names a user (the user column): {span}" in err
    code, _, err = cli("kpis", "--model-spread")
    assert code == 0 and "no feature was served by more than one model" in err


def test_days_no_timestamp_can_reach_around_are_located_errors(ledger, tmp_path, book):
    """The API's /v1/kpis?from=0001-01-01 answered 500: the trailing baseline's first day,
    four weeks and a month before it, is no date at all (an OverflowError)."""
    import datetime as dt

    from forecast.errors import CostcastError
    from forecast.routing import model_cost_spread

    rows = [f"2026-03-{d:02d}T00:00:00Z,1d,t,f,gpt-4o,success,10,500,100" for d in range(1, 8)]
    (tmp_path / "u.csv").write_text(HEADER + "\n".join(rows) + "\n")
    ingest_files(ledger, [tmp_path / "u.csv"])
    for start, end, name in [(dt.date(1, 1, 1), None, "from"), (None, dt.date(9999, 12, 31), "to"),
                             (dt.date(1970, 12, 31), dt.date(2026, 3, 7), "from")]:  # fmt: skip
        # top users checked no day: --top-users --to 9999-12-31 ended in an OverflowError
        for read in (kpis, model_cost_spread, top_users):
            with pytest.raises(CostcastError, match="between 1971 and 2200") as raised:
                read(ledger, book, start=start, end=end)
            assert raised.value.param == name
    assert len(kpis(ledger, book, start=dt.date(1971, 1, 1), freq="day")) == 7  # inside: fine
    from forecast.export.focus import focus_export  # its end + 1 day overflowed at 9999-12-31

    with pytest.raises(CostcastError, match="between 1971 and 2200"):
        focus_export(ledger, book, load_config(None), dt.date(2026, 3, 1), dt.date(9999, 12, 31))


def test_counts_are_whole_numbers_and_unknown_where_no_requests_are_counted(
    ledger, tmp_path, cli, monkeypatch
):
    """A team whose source counts tokens only has no request counts, failed ones included
    (it had said 0 failed): empty in a CSV, null in JSON; the other team's stay whole
    numbers (70, not 70.0), as an ERP reads them."""
    import json

    rows = [f"2026-03-{2 + d:02d}T00:00:00Z,1d,a,f,gpt-4o,success,10,1000,100" for d in range(7)]
    (tmp_path / "u.csv").write_text(HEADER + "\n".join(rows) + "\n")
    tokens_only_day(tmp_path / "t.json", "2026-03-03", "b", 5000, 10)
    ingest_files(ledger, [tmp_path / "u.csv", tmp_path / "t.json"])
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COSTCAST_DB", str(ledger.path))
    ledger.close()
    code, out, err = cli("kpis", "--by", "team", "--output", "csv")
    assert code == 0, err
    lines = {line.split(",")[1]: line.split(",") for line in out.splitlines()[1:]}
    assert lines["a"][2:5] == ["70", "70", "0"]  # requests, successful, failed: 7 days x 10
    assert lines["workspace_id:b"][2:5] == ["", "", ""]  # not even how many failed
    code, out, _ = cli("kpis", "--by", "team", "--output", "json")
    by_team = {row["team"]: row for row in json.loads(out)}
    assert by_team["a"]["requests"] == 70 and isinstance(by_team["a"]["requests"], int)
    assert by_team["workspace_id:b"]["requests"] is None
    code, out, _ = cli("kpis", "--by", "team")
    assert code == 0 and "70.0" not in out
