"""The daily rollup's book cost: each ``usage_daily`` row priced once, when it is summed,
so that readers of days (KPIs, budget burn, usage summaries) sum a column instead of
joining every row to the price book on every read (the price lookup was a third of a KPI
read, and most of the time DuckDB spent planning it).

A cost is only as good as the book it was priced with, so ``rollup_book`` names that book
(a hash of its entries and of how a row is priced) and a reader uses the column only with
the same book. Any other reader (a scenario's book, a config whose prices were edited
since, an older ledger opened read-only) prices the rows itself, as before. An ingest prices
the rows it adds, or every row for a new book; a workspace opened for writing, and the
server at start and after a config edit, price every row again under a new book; anything
else that sums days again forgets the name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from forecast.ledger import Ledger
from forecast.pricing.book import PriceBook

# Bump when COST_SQL or the way a model finds its price changes: costs priced before are void.
PRICING = 1

# cost of one ledger row `u` at price row `p` (USD per million tokens)
COST_SQL = """(
    (u.input_tokens - u.cached_input_tokens - u.cache_write_tokens) * p.input
    + u.cached_input_tokens * p.cached_input
    + u.cache_write_tokens * p.cache_write
    + u.output_tokens * p.output
) / 1e6"""

# each price from its day to the next one's: an equality join then a range check, half the
# time of an ASOF join on DuckDB 1.x
PRICE_JOIN = """JOIN _price_models m ON u.model = m.model
        {kind} JOIN _prices p
            ON m.key = p.model AND u.service_tier = p.tier AND u.ts >= p.effective
               AND (p.until IS NULL OR u.ts < p.until)"""


def book_key(book: PriceBook) -> str:
    """What names a book in ``rollup_book``: its entries and ``PRICING``."""
    return f"{PRICING}:{book.digest}"


def register_prices(ledger: Ledger, book: PriceBook) -> None:
    """Register the lookups ``PRICE_JOIN`` reads: ``_price_models`` (every model of the
    ledger, its price key and provider) and ``_prices`` (the book)."""
    models = tuple((m, book.resolve(m), book.provider_of(m) or "") for m in ledger_models(ledger))
    # every model of the ledger, whatever a reader's range: two priced reads in one statement
    # register this view in turn, and the one read last must not drop the other's models
    ledger.register("_price_models", models,
                    lambda: pd.DataFrame(models, columns=["model", "key", "provider"]))  # fmt: skip
    # the book itself is the key (it compares by identity): a book never changes, a new
    # config makes a new one
    ledger.register("_prices", book, book.frame)


def ledger_models(ledger: Ledger) -> list[str]:
    """Every model the ledger's usage names."""
    return sorted({m for m, _, _ in models_used(ledger)})


def models_used(ledger: Ledger, where: str = "", params: Sequence[Any] = ()
                ) -> tuple[tuple[Any, ...], ...]:  # fmt: skip
    """(model, tier, first day) of every model and tier of the rollup's rows matching
    ``where`` (with ``params``), remembered until a commit."""
    return ledger.remember(("used", where, *params), lambda: tuple(ledger.con.execute(
        f"""SELECT model, service_tier, min(ts)::DATE FROM usage_daily {where}
            GROUP BY ALL ORDER BY ALL""",
        params,
    ).fetchall()))  # fmt: skip


def priced_by(ledger: Ledger) -> str | None:
    """The ``book_key`` of the book the rollup's costs are priced with (None: not priced)."""

    def read() -> str | None:
        if not ledger.has_table("rollup_book"):  # an older ledger, opened read-only
            return None
        found = ledger.con.execute("SELECT book FROM rollup_book").fetchall()
        return str(found[0][0]) if found else None

    return ledger.remember(("rollup_book",), read)


def ready(ledger: Ledger, book: PriceBook) -> bool:
    """The rollup's ``cost_usd`` is this book's."""
    return priced_by(ledger) == book_key(book)


def price(ledger: Ledger, book: PriceBook, ingest_ids: Sequence[int] | None = None) -> None:
    """Inside the caller's transaction: price the rollup rows of ``ingest_ids`` (just summed)
    with ``book``, or every row where the rollup was priced with another book or none."""
    key = book_key(book)
    only = ""
    if ingest_ids is not None and priced_by(ledger) == key:
        if not ingest_ids:
            return
        only = f"WHERE u.ingest_id IN ({', '.join(str(int(i)) for i in ingest_ids)})"
    register_prices(ledger, book)
    ledger.con.execute(
        f"""UPDATE usage_daily SET cost_usd = c.cost
            FROM (SELECT u.rowid AS r, {COST_SQL} AS cost
                  FROM usage_daily u {PRICE_JOIN.format(kind="LEFT")} {only}) c
            WHERE usage_daily.rowid = c.r"""
    )
    ledger.con.execute("DELETE FROM rollup_book")
    ledger.con.execute("INSERT INTO rollup_book VALUES (?)", [key])


def ensure(ledger: Ledger, book: PriceBook) -> None:
    """Price the rollup with ``book`` if it holds another's costs and the ledger is open for
    writing (one transaction; a read-only reader prices its rows itself meanwhile)."""
    if ledger.read_only or ready(ledger, book):
        return
    with ledger.transaction():
        price(ledger, book)
