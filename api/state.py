"""What the server holds while it runs: the open ledger, the config and its price book,
the forecast job queue and the answers to reads (``api.cache``). Made in the app's
lifespan, never at import."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import duckdb
from fastapi import Request

from api.cache import ReadCache
from api.settings import Settings
from forecast import rollup_cost
from forecast.config import Config, load_config
from forecast.errors import CostcastError
from forecast.jobs import fail_unfinished
from forecast.ledger import Ledger
from forecast.pricing import PriceBook, load_price_book
from forecast.workspace import Workspace

log = logging.getLogger("costcast.api")
T = TypeVar("T")


class AppState:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._config_lock = threading.Lock()
        self.config = load_config(settings.config)
        self.book = load_price_book(self.config)
        self._stamp = self._config_stamp()
        self._config_version = 0
        # Why the config on disk cannot be used, while it cannot: every token is refused then
        # (a token removed from a config that no longer validates must not stay valid).
        self.config_problem: str | None = None
        self.reads = ReadCache()
        # The one connection that owns the file; requests work through sessions of it.
        self.ledger = Ledger(self.config.ledger, write_lock=threading.Lock())
        self._price_rollup()
        interrupted = fail_unfinished(self.ledger)
        if interrupted:
            log.warning("%d forecast job(s) from the last server marked failed", interrupted)
        self.jobs = ThreadPoolExecutor(
            max_workers=settings.forecast_workers, thread_name_prefix="forecast"
        )

    def _config_stamp(self) -> tuple[float, int] | None:
        source = self.config.source
        if not source or not Path(source).exists():
            return None
        stat = Path(source).stat()
        return stat.st_mtime, stat.st_size  # an edit within the clock's resolution still shows

    def current(self) -> tuple[Config, PriceBook]:
        """The config and book, re-read when the file changed (a token made or revoked).

        A config edited into an invalid state, or deleted, fails closed: the last good one
        still names the ledger and prices, but ``config_problem`` says why no token is
        accepted until the file is valid again.
        """
        with self._config_lock:
            stamp = self._config_stamp()
            if stamp != self._stamp:
                self._stamp = stamp
                try:
                    config = load_config(self.config.source)
                    self.book = load_price_book(config)
                    self.config = config
                    self._config_version += 1
                    self._price_rollup()
                    if self.config_problem:
                        log.warning("config valid again: tokens are accepted")
                    self.config_problem = None
                except CostcastError as exc:
                    self.config_problem = str(exc)
                    log.error("config invalid, every token is refused until it is fixed: %s", exc)
            return self.config, self.book

    def _price_rollup(self) -> None:
        """Price the daily rollup with the current book (once per book): until then, readers
        price the rows themselves, so a failure here costs time, not a right answer."""
        session = self.ledger.session()  # the connection itself may be busy in a request
        try:
            rollup_cost.ensure(session, self.book)
        except duckdb.Error as exc:
            log.warning("the daily rollup stays priced by the old book: %s", exc)
        finally:
            session.close()

    def cached(self, request: Request, compute: Callable[[], T]) -> T:
        """``compute()``, or its answer to the same path and query since the ledger and the
        config last changed."""
        key = (request.url.path, tuple(sorted(request.query_params.multi_items())))
        self.current()  # a config edited on disk is a change too
        version = (self.ledger.changes.count, self._config_version)
        answer: T = self.reads.get(key, version, compute)
        return answer

    @contextmanager
    def workspace(self) -> Iterator[Workspace]:
        """The service layer over a fresh ledger session, for work off the request's own
        (a forecast job, an upload, a scenario run in a worker thread)."""
        config, book = self.current()
        session = self.ledger.session()
        try:
            yield Workspace(config, session, book)
        finally:
            session.close()

    def close(self) -> None:
        # A running forecast finishes and is saved; queued ones are dropped and marked
        # failed at the next start. Only then may the connection its session uses close.
        self.jobs.shutdown(wait=True, cancel_futures=True)
        self.ledger.close()
