"""Alert state in the ledger: a check at an hour opens each alert once, keeps it open while
its rule holds, and resolves it when it clears (see ``alerts.episodes``)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from forecast.config import Budget
from forecast.deployments import DeploymentEntry
from forecast.errors import CostcastError
from forecast.fiscal import FiscalCalendar
from forecast.ledger import Ledger
from forecast.pricing.book import PriceBook
from forecast.usage import check_year
from forecast.watch.alerts import contributors_of, replay, within_usage
from forecast.watch.deliver import Delivery, deliver
from forecast.watch.record import Alert
from forecast.watch.rules import WEEK_HOURS, AlertRules

ALERTS_DDL = """
CREATE SEQUENCE IF NOT EXISTS alert_id_seq START 1;
CREATE TABLE IF NOT EXISTS alerts (
    alert_id BIGINT PRIMARY KEY, rule VARCHAR NOT NULL, scope VARCHAR NOT NULL,
    fired_at TIMESTAMP NOT NULL, resolved_at TIMESTAMP, value DOUBLE, threshold DOUBLE,
    contributors VARCHAR NOT NULL, escalates TIMESTAMP, exhaustion_date DATE
);
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS escalates TIMESTAMP;
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS exhaustion_date DATE;
"""
LOOKBACK = dt.timedelta(hours=WEEK_HOURS)  # how far back a check looks for an open episode


@dataclass
class Check:
    at: dt.datetime
    fired: list[Alert]  # new this check
    still_open: list[Alert]
    resolved: list[Alert]
    deliveries: list[Delivery] = field(default_factory=list)

    def records(self, changed_only: bool = False) -> list[dict[str, Any]]:
        """Each alert as a record with its ``status``: fired, open or resolved (without the
        open ones when ``changed_only``, which is what webhooks are sent)."""
        groups = [("fired", self.fired), ("open", [] if changed_only else self.still_open),
                  ("resolved", self.resolved)]  # fmt: skip
        return [dict(a.to_dict(), status=status) for status, group in groups for a in group]


def _key(rule: str, scope: dict[str, str]) -> tuple[str, str]:
    return rule, json.dumps(scope, sort_keys=True)


def check(ledger: Ledger, book: PriceBook, rules: AlertRules, at: dt.datetime,
          dry_run: bool = False, budgets: Sequence[Budget] = (),
          calendar: FiscalCalendar | None = None, listed: Sequence[DeploymentEntry] = ()
          ) -> Check:  # fmt: skip
    """The alerts open at hour ``at`` against those the ledger holds open: new ones fire,
    cleared ones resolve, and both go to the rules' webhooks; with ``dry_run`` nothing is
    written or sent."""
    check_year("at", at)  # before the lookback is taken off it
    within_usage(ledger, ("at", at))
    latest = _latest(ledger)
    if not dry_run and latest is not None and at < latest:
        raise CostcastError(
            f"alerts are recorded up to {latest:%Y-%m-%d %H:00}: a check at an earlier hour "
            "would rewrite them", param="at", value=at.isoformat(),
            hint="add --dry-run to see what a check then would have found, or replay those "
            "hours with --from/--to",
        )  # fmt: skip
    found = replay(ledger, book, rules, at - LOOKBACK, at, contributors=False,
                   budgets=budgets, calendar=calendar, carried=True, listed=listed)  # fmt: skip
    active = {_key(a.rule, a.scope): a for a in found if a.resolved_at is None}
    stored = _open_alerts(ledger, at)

    def end_of(k: tuple[str, str]) -> dt.datetime | None:
        """When the stored open alert ``k`` ended, as the replay sees it (None: still open).
        The earliest episode of its key to resolve after it fired: checks may have skipped
        the hours it cleared (or escalated) in. An alert open since before the replay's
        first hours is found starting later, and still open."""
        ends = [a.resolved_at for a in found if a.resolved_at is not None
                and _key(a.rule, a.scope) == k and a.resolved_at > stored[k].fired_at]  # fmt: skip
        return min(ends) if ends else (None if k in active else at)

    ended = {k: end_of(k) for k in stored}
    fired = [a for k, a in active.items() if k not in stored or ended[k] is not None]
    still = [stored[k] for k in stored if ended[k] is None]
    resolved = []
    for k, alert in stored.items():
        if ended[k] is not None:
            alert.resolved_at = ended[k]
            resolved.append(alert)
    for alert in fired:
        alert.contributors = contributors_of(ledger, book, alert, rules)
    done = Check(at, fired, still, resolved)
    if not dry_run and (fired or resolved):
        _write(ledger, fired, resolved)
        done.deliveries = deliver(rules.deliver, done.records(changed_only=True))
    return done


def _open_alerts(ledger: Ledger, at: dt.datetime) -> dict[tuple[str, str], Alert]:
    """The recorded alerts open at hour ``at``: fired by then and not resolved by then
    (those not resolved yet, for a check after every recorded one)."""
    if not ledger.has_table("alerts"):
        return {}
    rows = ledger.con.execute(
        """SELECT rule, scope, fired_at, value, threshold, contributors FROM alerts
           WHERE fired_at <= $at AND (resolved_at IS NULL OR resolved_at > $at)
           ORDER BY alert_id""",
        {"at": at},
    ).fetchall()
    return {(r[0], r[1]): Alert(r[0], json.loads(r[1]), r[2], None, r[3], r[4], json.loads(r[5]))
            for r in rows}  # fmt: skip


def _latest(ledger: Ledger) -> dt.datetime | None:
    """The last hour an alert was recorded to fire or resolve at (None: none recorded)."""
    if not ledger.has_table("alerts"):
        return None
    found = ledger.con.execute(
        "SELECT max(greatest(fired_at, coalesce(resolved_at, fired_at))) FROM alerts"
    ).fetchall()[0][0]
    return None if found is None else pd.Timestamp(found).to_pydatetime()


def _write(ledger: Ledger, fired: list[Alert], resolved: list[Alert]) -> None:
    with ledger.transaction() as con:
        ledger.create_tables(ALERTS_DDL)
        for a in resolved:  # first: an escalation resolves an alert of the key it fires
            con.execute(
                "UPDATE alerts SET resolved_at = ? WHERE rule = ? AND scope = ? "
                "AND resolved_at IS NULL",
                [a.resolved_at, a.rule, _key(a.rule, a.scope)[1]],
            )
        for a in fired:
            con.execute(
                """INSERT INTO alerts (alert_id, rule, scope, fired_at, resolved_at, value,
                                      threshold, contributors, escalates, exhaustion_date)
                   VALUES (nextval('alert_id_seq'), ?, ?, ?, NULL, ?, ?, ?, ?, ?)""",
                [a.rule, _key(a.rule, a.scope)[1], a.fired_at, a.value, a.threshold,
                 json.dumps(a.contributors), a.escalates, a.exhaustion_date],
            )  # fmt: skip


def stored_alerts(ledger: Ledger) -> pd.DataFrame:
    """Every alert a check has recorded, newest first."""
    if not ledger.has_table("alerts"):
        return pd.DataFrame(columns=["alert_id", "rule", "scope", "fired_at", "resolved_at",
                                     "value", "threshold", "contributors", "escalates",
                                     "exhaustion_date"])  # fmt: skip
    return ledger.con.execute("SELECT * FROM alerts ORDER BY fired_at DESC, alert_id DESC").df()
