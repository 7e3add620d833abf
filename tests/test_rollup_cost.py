"""The daily rollup's stored cost (forecast/rollup_cost.py): priced by ingests and writable
workspaces with their book, read only with the same book, and never a stale price.

Costs are worked out by hand here, or per hourly row in pandas: never by the module's SQL."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from builders import play, write_csv
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forecast import rollup_cost
from forecast.config import load_config
from forecast.errors import CostcastError
from forecast.ingest import ingest_files
from forecast.kpis import kpis
from forecast.ledger import Ledger
from forecast.pricing.book import PriceBook, PriceEntry
from forecast.workspace import Workspace

HEADER = "timestamp,team,model,requests,input_tokens,output_tokens"


def book(march_2_input: float = 4.0) -> PriceBook:
    """m1: $2 per million input and $10 per million output tokens, input $4 from March 2."""
    return PriceBook([
        PriceEntry(model="m1", effective=dt.date(2026, 3, 1), input=2.0, output=10.0),
        PriceEntry(model="m1", effective=dt.date(2026, 3, 2), input=march_2_input, output=10.0),
    ])  # fmt: skip


def hourly(folder, name, hours, tokens=100, team="ops"):
    """One m1 request an hour from 2026-03-01 00:00 UTC: ``tokens`` in, 10 out."""
    lines = [f"2026-03-{1 + h // 24:02d}T{h % 24:02d}:10:00Z,{team},m1,1,{tokens},10"
             for h in hours]  # fmt: skip
    return write_csv(folder, name, *lines, header=HEADER)


def stored(ledger):
    """Day -> the rollup's stored cost (rounded to a millionth of a cent)."""
    rows = ledger.con.execute(
        "SELECT strftime(ts, '%m-%d'), sum(cost_usd) FROM usage_daily GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    return {day: round(cost, 8) for day, cost in rows}


def test_an_ingest_prices_the_rows_it_adds_at_each_days_price(ledger, tmp_path):
    prices = book()
    ingest_files(ledger, [hourly(tmp_path, "a.csv", range(48))], book=prices)
    # March 1: 24 x (100 x $2 + 10 x $10) / 1e6; March 2: input at $4
    assert stored(ledger) == {"03-01": 0.0072, "03-02": 0.012}
    assert rollup_cost.priced_by(ledger) == rollup_cost.book_key(prices)
    # a second ingest prices its own rows: 6 more hours of March 2 at 200 tokens
    ingest_files(ledger, [hourly(tmp_path, "b.csv", range(24, 30), 200)], book=prices,
                 on_overlap="keep")  # fmt: skip
    assert stored(ledger) == {"03-01": 0.0072, "03-02": 0.012 + 6 * (200 * 4 + 100) / 1e6}


def test_a_reader_with_another_book_prices_the_rows_itself(ledger, tmp_path):
    ingest_files(ledger, [hourly(tmp_path, "a.csv", range(48))], book=book())
    dearer = book(march_2_input=8.0)  # a scenario's book, or prices edited since
    assert not rollup_cost.ready(ledger, dearer) and rollup_cost.ready(ledger, book())
    by_day = kpis(ledger, dearer, freq="day").set_index("period_start")["cost_usd"]
    assert list(by_day.round(8)) == [0.0072, 24 * (100 * 8 + 100) / 1e6]
    by_day = kpis(ledger, book(), freq="day").set_index("period_start")["cost_usd"]
    assert list(by_day.round(8)) == [0.0072, 0.012]  # an equal book is the same book


def test_a_writable_workspace_reprices_under_a_new_book_and_a_reader_does_not(tmp_path):
    config_path = tmp_path / "costcast.yaml"

    def configure(march_2_input: float) -> None:
        config_path.write_text(
            "ledger: l.duckdb\nprices:\n  entries:\n"
            "    - {model: m1, effective: 2026-03-01, input: 2.0, output: 10.0}\n"
            f"    - {{model: m1, effective: 2026-03-02, input: {march_2_input}, output: 10.0}}\n"
        )

    configure(4.0)
    with Workspace.open(load_config(config_path)) as ws:
        ws.ingest([hourly(tmp_path, "a.csv", range(48))])
        assert stored(ws.ledger) == {"03-01": 0.0072, "03-02": 0.012}
    configure(8.0)
    new_key = rollup_cost.book_key(load_price_book_of(config_path))
    with Workspace.open(load_config(config_path), read_only=True) as ws:
        assert stored(ws.ledger)["03-02"] == 0.012  # a reader writes nothing
        assert rollup_cost.priced_by(ws.ledger) != new_key
        assert list(ws.kpis(freq="day")["cost_usd"].round(8)) == [0.0072, 0.0216]
    with Workspace.open(load_config(config_path)) as ws:
        assert stored(ws.ledger) == {"03-01": 0.0072, "03-02": 0.0216}
        assert rollup_cost.priced_by(ws.ledger) == new_key
        assert list(ws.kpis(freq="day")["cost_usd"].round(8)) == [0.0072, 0.0216]


def load_price_book_of(config_path):
    from forecast.pricing import load_price_book

    return load_price_book(load_config(config_path))


def test_removals_keep_the_prices_and_a_sum_without_a_book_forgets_them(ledger, tmp_path):
    prices = book()
    first, second = (ingest_files(ledger, [hourly(tmp_path, f"{n}.csv", hours)], book=prices)[0]
                     for n, hours in (("a", range(24)), ("b", range(24, 48))))  # fmt: skip
    ledger.remove_ingest(second.ingest_id)
    assert stored(ledger) == {"03-01": 0.0072} and rollup_cost.ready(ledger, prices)
    # an ingest with no book (a library caller's) sums days it cannot price
    ingest_files(ledger, [hourly(tmp_path, "c.csv", range(24, 30))], on_overlap="keep")
    assert rollup_cost.priced_by(ledger) is None
    by_day = kpis(ledger, prices, freq="day")["cost_usd"].round(8)
    assert list(by_day) == [0.0072, 6 * (100 * 4 + 100) / 1e6]  # priced by the reader
    assert first.ingest_id != second.ingest_id


def test_a_refused_ingest_leaves_the_prices_as_they_were(ledger, tmp_path):
    prices = book()
    ingest_files(ledger, [hourly(tmp_path, "a.csv", range(24))], book=prices)
    bad = write_csv(tmp_path, "bad.csv", "2026-03-03T00:00:00Z,ops,m1,1,lots,10", header=HEADER)
    with pytest.raises(CostcastError):
        ingest_files(ledger, [hourly(tmp_path, "b.csv", range(24, 48)), bad], book=book(8.0))
    assert stored(ledger) == {"03-01": 0.0072} and rollup_cost.ready(ledger, prices)


def test_an_older_ledger_without_the_column_is_read_and_then_priced(tmp_path):
    path = tmp_path / "old.duckdb"
    with Ledger(path) as ledger:
        ingest_files(ledger, [hourly(tmp_path, "a.csv", range(48))], book=book())
        ledger.con.execute("ALTER TABLE usage_daily DROP COLUMN cost_usd")
        ledger.con.execute("DROP TABLE rollup_book")
    with Ledger(path, read_only=True) as ledger:
        assert list(kpis(ledger, book(), freq="day")["cost_usd"].round(8)) == [0.0072, 0.012]
    with Ledger(path) as ledger:  # a writer adds the column; the next pricing fills it
        assert rollup_cost.priced_by(ledger) is None
        rollup_cost.ensure(ledger, book())
        assert stored(ledger) == {"03-01": 0.0072, "03-02": 0.012}


def cost_by_hand(ledger, prices: PriceBook) -> dict:
    """(day, ingest) -> cost, priced hour by hour in pandas from the usage table."""
    usage = ledger.con.execute("SELECT ts, ingest_id, input_tokens, output_tokens FROM usage").df()
    cost = {}
    for row in usage.itertuples(index=False):
        entry = prices.price("m1", row.ts.date())
        day = (row.ts.strftime("%m-%d"), int(row.ingest_id))
        cost[day] = (
            cost.get(day, 0.0)
            + (row.input_tokens * entry.input + row.output_tokens * entry.output) / 1e6
        )
    return {k: round(v, 9) for k, v in sorted(cost.items())}


# A step: ingest hours [first, first + span) at this many tokens with the book's March 2 price
# (a changed book reprices everything), keeping or replacing what overlaps; or remove the
# ingest made that many steps back.
steps = st.lists(
    st.one_of(
        st.tuples(st.just("ingest"), st.integers(0, 60), st.integers(1, 30),
                  st.integers(1, 500), st.sampled_from([4.0, 6.0]),
                  st.sampled_from(["replace", "keep"])),
        st.tuples(st.just("remove"), st.integers(1, 3)),
    ),
    min_size=1, max_size=6,
)  # fmt: skip


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))  # fmt: skip
@given(steps)
def test_any_sequence_of_writes_keeps_the_stored_cost_the_books(tmp_path_factory, plan):
    folder = tmp_path_factory.mktemp("plan")
    prices = book()

    def ingest(n, step):
        nonlocal prices
        _, first, span, tokens, march_2, how = step
        path = hourly(folder, f"f{n}.csv", range(first, first + span), tokens)
        prices = book(march_2)
        return ingest_files(ledger, [path], book=prices, on_overlap=how)[0].ingest_id

    with Ledger(folder / "l.duckdb") as ledger:
        for _ in play(ledger, plan, ingest):
            kept = ledger.con.execute(
                """SELECT strftime(ts, '%m-%d'), ingest_id, sum(cost_usd)
                   FROM usage_daily GROUP BY ALL ORDER BY ALL"""
            ).fetchall()
            if rollup_cost.ready(ledger, prices):
                assert {(d, i): round(c, 9) for d, i, c in kept} == cost_by_hand(ledger, prices)
            if not ledger.row_count():  # all removed: nothing to read
                continue
            total = kpis(ledger, prices, freq="day")["cost_usd"].sum()
            assert total == pytest.approx(sum(cost_by_hand(ledger, prices).values()), abs=1e-9)
            assert pd.notna(total)


def test_a_provider_the_source_left_out_is_the_books_on_either_path(ledger, tmp_path):
    """Stored costs and a reader's own pricing give the same rows by provider: the book's
    provider where a row has none, the row's own where it has one."""
    from forecast.usage import usage_summary

    def priced(source: str | None) -> PriceBook:
        return PriceBook([PriceEntry(model="m1", provider="acme", effective=dt.date(2026, 3, 1),
                                     input=2.0, output=10.0, source=source)])  # fmt: skip

    lines = ["2026-03-01T10:00:00Z,ops,m1,,1,100,10", "2026-03-01T11:00:00Z,ops,m1,azure,1,100,10"]
    path = write_csv(tmp_path, "p.csv", *lines,
                     header="timestamp,team,model,provider,requests,input_tokens,output_tokens")  # fmt: skip
    ingest_files(ledger, [path], book=priced(None))
    equal = priced("the same prices from elsewhere")  # another book: priced by the reader
    assert rollup_cost.ready(ledger, priced(None)) and not rollup_cost.ready(ledger, equal)
    for book_ in (priced(None), equal):
        frame = usage_summary(ledger, book_, by="provider", freq="day")
        assert frame["provider"].tolist() == ["acme", "azure"]
        assert frame["cost_usd"].tolist() == [(100 * 2 + 10 * 10) / 1e6] * 2
