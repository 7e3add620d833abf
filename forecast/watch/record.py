"""One alert, as every front end shows it (see ``forecast.watch.alerts``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Alert:
    rule: str
    scope: dict[str, str]
    fired_at: dt.datetime
    resolved_at: dt.datetime | None
    value: float
    threshold: float
    contributors: list[dict[str, Any]] = field(default_factory=list)
    # the alert of the same rule and scope this one escalates (its fired_at), closed as
    # this one fired: a spike grown to twice the excess that alert fired with
    escalates: dt.datetime | None = None
    # a budget alert's projected exhaustion: the first day its spend reaches the amount
    # (None where that is past the period's end)
    exhaustion_date: dt.date | None = None
    # what the value was judged against as it fired (not stored): whose excess the
    # contributors share
    baseline: float | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "scope": self.scope, "fired_at": self.fired_at.isoformat(),
                "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
                "value": self.value, "threshold": self.threshold,
                "contributors": self.contributors,
                "escalates": self.escalates.isoformat() if self.escalates else None,
                "exhaustion_date": self.exhaustion_date.isoformat()
                if self.exhaustion_date else None}  # fmt: skip


def scope_text(scope: dict[str, str]) -> str:
    """``team=support, feature=triage``: an alert's scope in words."""
    return ", ".join(f"{k}={v}" for k, v in scope.items())


def contributors_text(contributors: list[dict[str, Any]]) -> str:
    """``user u7 99%, model gpt-4o 80%``: who carried an alert's change, in words."""
    return ", ".join(f"{c['dimension']} {c['value']} {c['share']:.0%}" for c in contributors)
