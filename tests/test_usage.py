"""Usage summaries priced by the book on each usage date; costs worked out by hand."""

from __future__ import annotations

import datetime as dt
import io

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from forecast.errors import CostcastError, LedgerError, UnpricedModelError
from forecast.ingest import ingest_files
from forecast.pricing import load_price_book
from forecast.usage import usage_summary


@pytest.fixture(scope="module")
def book():
    return load_price_book()


def test_cost_per_team_by_hand(ledger, fixture_path, book):
    ingest_files(ledger, [fixture_path("canonical.csv")])
    frame = usage_summary(ledger, book, by="team", freq="month")
    got = frame.set_index("team")
    # gpt-4o in March 2026: $2.50 input, $1.25 cached, $10 output per million tokens
    #   r1: (800 * 2.50 + 200 * 1.25 + 100 * 10) / 1e6 = 0.00325
    #   r2: (2000 * 2.50 + 300 * 10) / 1e6           = 0.008
    # claude-sonnet-4-5: $3 input: r3: 500 * 3 / 1e6  = 0.0015
    assert got.loc["search", "cost_usd"] == pytest.approx(0.01125)
    assert got.loc["support", "cost_usd"] == pytest.approx(0.0015)
    assert got.loc["search", "reported_cost_usd"] == pytest.approx(0.00325)
    assert got.loc["support", "failed_requests"] == 1
    assert got.loc["search", "failed_requests"] == 0
    assert list(frame.columns) == [
        "timestamp", "team", "requests", "failed_requests", "input_tokens",
        "cached_input_tokens", "cache_write_tokens", "output_tokens", "cost_usd",
        "reported_cost_usd", "unpriced_requests", "days", "partial",
    ]  # fmt: skip
    # the usage runs from 09:45 to the hour after 11:05 on March 1: one day of March's 31
    assert frame[["days", "partial"]].drop_duplicates().values.tolist() == [[1, True]]


def test_a_period_the_data_cover_in_part_says_so(ledger, tmp_path, book):
    """Daily buckets from 2026-03-03 to 04-10: March and April are partial sums (a month to
    date is no month of low spend), and --from / --to cut them too."""
    days = pd.date_range("2026-03-03", "2026-04-10")
    (tmp_path / "u.csv").write_text(
        "timestamp,bucket,team,model,requests,input_tokens,output_tokens\n"
        + "".join(f"{d:%Y-%m-%d}T00:00:00Z,1d,ops,gpt-4o,1,1000,0\n" for d in days)
    )  # fmt: skip
    ingest_files(ledger, [tmp_path / "u.csv"])

    def covered(**options):
        frame = usage_summary(ledger, book, **options)
        return list(zip(frame["days"], frame["partial"], strict=True))

    assert covered(freq="month") == [(29, True), (10, True)]  # March 3-31, April 1-10
    assert covered(freq="quarter") == [(29, True), (10, True)]  # fiscal Q1 and Q2
    assert covered(freq="day", start=dt.date(2026, 3, 9), end=dt.date(2026, 3, 10)) == [
        (1, False), (1, False)]  # fmt: skip
    # Monday March 2's week lacks its Monday; the week of April 6 ends on Friday the 10th
    weeks = covered(freq="week")
    assert weeks[0] == (6, True) and weeks[1] == (7, False) and weeks[-1] == (5, True)
    assert covered(freq="month", start=dt.date(2026, 3, 5), end=dt.date(2026, 3, 31)) == [
        (27, True)]  # fmt: skip


def test_price_cut_reprices_from_its_date(ledger, tmp_path, book):
    path = tmp_path / "o3.csv"
    path.write_text(
        "timestamp,model,input_tokens,output_tokens\n"
        "2025-06-09T23:00:00Z,o3-2025-04-16,1000000,0\n"
        "2025-06-10T00:00:00Z,o3-2025-04-16,1000000,0\n"
    )
    ingest_files(ledger, [path])
    frame = usage_summary(ledger, book, freq="day")
    assert frame["cost_usd"].tolist() == [10.0, 2.0]


def test_periods_and_range(ledger, fixture_path, book):
    ingest_files(ledger, [fixture_path("canonical.csv"), fixture_path("otel_spans.jsonl")])
    weekly = usage_summary(ledger, book, freq="week")
    # 2026-03-01 is a Sunday: its week starts Monday 2026-02-23; 2026-03-02 starts the next
    assert [str(t.date()) for t in weekly["timestamp"]] == ["2026-02-23", "2026-03-02"]
    hourly = usage_summary(ledger, book, freq="hour", start=dt.date(2026, 3, 2))
    assert hourly["requests"].sum() == 2
    none_after = usage_summary(
        ledger, book, freq="day", start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 1)
    )
    assert none_after["requests"].sum() == 3


def test_provider_comes_from_the_book_when_the_source_has_none(ledger, fixture_path, book):
    ingest_files(ledger, [fixture_path("canonical.csv")])
    frame = usage_summary(ledger, book, by="provider", freq="month")
    assert frame["provider"].tolist() == ["anthropic", "openai"]


def test_unpriced_models_show_as_unknown_cost_and_strict_stops(ledger, tmp_path, book):
    path = tmp_path / "x.csv"
    path.write_text(
        "timestamp,team,model,input_tokens,output_tokens\n"
        "2026-01-01T00:00:00Z,a,mystery-1,1,1\n2026-01-01T00:00:00Z,a,mystery-2,1,1\n"
        "2026-01-01T00:00:00Z,b,gpt-4o,1000000,0\n"
    )
    (result,) = ingest_files(ledger, [path], book=book)
    assert "mystery-1, mystery-2" in result.notes[0] and "prices:" in result.notes[0]
    by_team = usage_summary(ledger, book, by="team").set_index("team")
    assert pd.isna(by_team.loc["a", "cost_usd"])  # unknown, never zero
    assert by_team.loc["a", "unpriced_requests"] == 2
    assert by_team.loc["b", "cost_usd"] == pytest.approx(2.50)  # 1M gpt-4o input tokens
    assert by_team.loc["b", "unpriced_requests"] == 0
    assert pd.isna(usage_summary(ledger, book)["cost_usd"].iloc[0])  # the total too
    with pytest.raises(UnpricedModelError) as info:
        usage_summary(ledger, book, strict=True)
    assert info.value.models == ["mystery-1", "mystery-2"]


def test_bad_arguments(ledger, fixture_path, book):
    with pytest.raises(LedgerError, match="empty"):
        usage_summary(ledger, book)
    ingest_files(ledger, [fixture_path("canonical.csv")])
    with pytest.raises(CostcastError, match="cannot group by colour"):
        usage_summary(ledger, book, by="team,colour")
    with pytest.raises(CostcastError, match="unknown frequency 'decade'") as info:
        usage_summary(ledger, book, freq="decade")
    # the library names its parameter; each front end spells it its own way
    assert info.value.param == "freq" and "--" not in str(info.value)
    with pytest.raises(CostcastError, match="is before the first") as info:
        usage_summary(ledger, book, start=dt.date(2026, 3, 2), end=dt.date(2026, 3, 1))
    assert info.value.param == "to"


def test_fiscal_quarters_add_up_the_months_they_hold(ledger, tmp_path, book):
    """120 constant days to 2026-06-15, fiscal year from February: 2026-Q1 (Feb-Apr) holds
    Feb 16 to Apr 30, 74 days; 2026-Q2 (May-Jul) May 1 to Jun 15, 46 days."""
    from builders import DAILY_COST, KEYS, daily_csv

    from forecast.fiscal import FiscalCalendar

    ingest_files(ledger, [daily_csv(tmp_path / "u.csv", KEYS)])
    frame = usage_summary(ledger, book, by="team", freq="quarter", calendar=FiscalCalendar(2))
    search = frame[frame.team == "search"].set_index("period")
    assert list(search.index) == ["2026-Q1", "2026-Q2"]
    assert search.loc["2026-Q1", "requests"] == 74 * 100
    assert search.loc["2026-Q1", "cost_usd"] == pytest.approx(74 * DAILY_COST)
    assert search.loc["2026-Q2", "cost_usd"] == pytest.approx(46 * DAILY_COST)
    assert str(search.loc["2026-Q1", "timestamp"].date()) == "2026-02-01"
    year = usage_summary(ledger, book, freq="year", calendar=FiscalCalendar(2))
    assert list(year["period"]) == ["FY2026"] and year["requests"].iloc[0] == 3 * 120 * 100


def test_csv_is_the_same_bytes_whatever_order_the_rows_came_in(cli, tmp_path, monkeypatch):
    """Issue 13, point 8: floating-point sums depend on the order rows are added in. Two
    ledgers of the same 6,000 requests, ingested in opposite orders, must print the same
    CSV; each reported cost is the exact decimal sum of what the files say, to the cent."""
    import decimal
    import random

    rng = random.Random(8)
    header = "timestamp,request_id,team,model,requests,input_tokens,output_tokens,cost_usd"
    lines, exact = [], {}
    for i in range(6000):
        day, team = 1 + i % 9, ("search", "support", "ops")[i // 9 % 3]
        # magnitudes far apart, so that a float sum's result depends on its order
        cost = f"{rng.choice([0.1, 0.2, 0.3, 1e-7, 1234.5]) * rng.uniform(0.5, 2):.9f}"
        lines.append(f"2026-03-{day:02d}T{i % 24:02d}:00:00Z,r{i},{team},gpt-4o,1,"
                     f"{rng.randint(1, 9999)},{rng.randint(1, 999)},{cost}")  # fmt: skip
        key = (f"2026-03-{day:02d}", team)
        exact[key] = exact.get(key, decimal.Decimal(0)) + decimal.Decimal(cost)
    outputs = []
    for name, order in (("forward", lines), ("backward", lines[::-1])):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "usage.csv").write_text("\n".join([header, *order]) + "\n")
        monkeypatch.setenv("COSTCAST_DB", str(folder / "ledger.duckdb"))
        assert cli("ingest", folder / "usage.csv")[0] == 0
        code, out, err = cli("usage", "--by", "team", "--freq", "day", "--output", "csv")
        assert code == 0, err
        outputs.append(out)
    assert outputs[0] == outputs[1]
    rows = pd.read_csv(io.StringIO(outputs[0]), dtype=str)
    assert len(rows) == len(exact) == 27
    for row in rows.itertuples():
        want = exact[(row.timestamp[:10], row.team)]
        assert abs(decimal.Decimal(row.reported_cost_usd) - want) <= decimal.Decimal("0.005")
        assert "-0" not in row.cost_usd and len(row.reported_cost_usd.split(".")[1]) <= 6


@pytest.fixture
def dearer(ledger, tmp_path, book):
    """One o3 call of a million input tokens on 2025-06-10 (2.0 USD by the bundled book),
    and a book whose price cut of that day is to $7 instead of $2 (7.0 USD)."""
    from forecast.pricing.book import PriceBook, PriceEntry

    path = tmp_path / "o3.csv"
    path.write_text("timestamp,model,input_tokens,output_tokens\n"
                    "2025-06-10T00:00:00Z,o3-2025-04-16,1000000,0\n")  # fmt: skip
    ingest_files(ledger, [path])
    assert usage_summary(ledger, book, freq="day")["cost_usd"].tolist() == [2.0]
    return PriceBook([*book.entries, PriceEntry(model="o3", effective=dt.date(2025, 6, 10),
                                                input=7.0, output=28.0)])  # fmt: skip


def test_repeated_reads_follow_every_commit_and_every_book(ledger, tmp_path, book, dearer):
    """A ledger remembers what models it holds and which prices it registered between
    commits: a second book, a new ingest and a transaction must each be seen at once."""
    # the dearer book: 7.0, and with the bundled book again 2.0
    assert usage_summary(ledger, dearer, freq="day")["cost_usd"].tolist() == [7.0]
    assert usage_summary(ledger, book, freq="day")["cost_usd"].tolist() == [2.0]
    # a model that arrives with the next ingest is priced on the next read (gpt-4o: 2.50)
    more = tmp_path / "4o.csv"
    more.write_text("timestamp,model,input_tokens,output_tokens\n"
                    "2025-06-10T00:00:00Z,gpt-4o,1000000,0\n")  # fmt: skip
    ingest_files(ledger, [more])
    by_model = usage_summary(ledger, book, by="model", freq="day").set_index("model")
    assert by_model["cost_usd"].to_dict() == {"gpt-4o": 2.5, "o3-2025-04-16": 2.0}
    assert ledger.row_count() == 2
    # inside a transaction nothing is remembered: its writes may yet roll back
    reads = []
    with ledger.transaction():
        for _ in range(2):
            ledger.remember(("test",), lambda: reads.append(1))
    assert len(reads) == 2
    ledger.remember(("test",), lambda: reads.append(1))
    ledger.remember(("test",), lambda: reads.append(1))
    assert len(reads) == 3  # outside, once until the next commit


def test_prices_registered_inside_a_transaction_that_rolls_back_are_registered_again(
    ledger, book, dearer
):
    """DuckDB drops a frame registered inside a transaction that rolls back: the ledger
    must not believe it is still there (a read after a refused ingest failed, or priced
    with the frame from before)."""
    with pytest.raises(ZeroDivisionError), ledger.transaction():
        assert usage_summary(ledger, dearer, freq="day")["cost_usd"].tolist() == [7.0]
        1 / 0  # noqa: B018
    assert usage_summary(ledger, dearer, freq="day")["cost_usd"].tolist() == [7.0]
    assert usage_summary(ledger, book, freq="day")["cost_usd"].tolist() == [2.0]


@given(
    st.sampled_from(["day", "week", "month", "quarter", "year"]),
    st.integers(1, 12),  # the fiscal year's first month
    st.datetimes(dt.datetime(2025, 1, 1), dt.datetime(2026, 12, 31)),
    st.integers(0, 24 * 120),  # hours of usage known
    st.integers(0, 24 * 400),  # the period's start, hours after 2025-01-01 (snapped to it)
)
def test_a_periods_coverage_counted_hour_by_hour(freq, fiscal_start, first, hours, offset):
    """``span_coverage`` against a second count: every hour of the period, whether the
    usage known from ``first`` (on the hour) for ``hours`` hours holds it."""
    from forecast.coverage import span_coverage
    from forecast.fiscal import FiscalCalendar

    calendar = FiscalCalendar(fiscal_start)
    first = first.replace(minute=0, second=0, microsecond=0)
    stop = first + dt.timedelta(hours=hours)
    day = (dt.datetime(2025, 1, 1) + dt.timedelta(hours=offset)).date()
    start = dt.datetime.combine(calendar.period_start(day, freq), dt.time())
    end = dt.datetime.combine(calendar.period_end(start.date(), freq), dt.time())
    inside = [start + dt.timedelta(hours=k) for k in range((end - start) // dt.timedelta(hours=1))]
    known = [t for t in inside if first <= t < stop]
    expected = (len({t.date() for t in known}), len(known) < len(inside))
    assert span_coverage(start, freq, calendar, first, stop) == expected
