"""The spend-watch part of the service layer (``forecast.workspace.Workspace`` inherits it):
KPIs, budget burn, model cost spread, deployment impact and alerts, each a thin call into the
module that holds the formulas."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from forecast.config import Config
from forecast.fiscal import FiscalCalendar
from forecast.ledger import Ledger
from forecast.pricing import PriceBook

if TYPE_CHECKING:  # imported where used: a CLI command loads only what it needs
    from forecast.deployments import DeploymentImport
    from forecast.outcomes import OutcomeImport
    from forecast.watch.record import Alert
    from forecast.watch.state import Check


class SpendWatch:
    config: Config
    book: PriceBook
    calendar: FiscalCalendar

    @property
    def ledger(self) -> Ledger:
        raise NotImplementedError  # the workspace's

    def usage_provenance(self, start: dt.date | None = None, end: dt.date | None = None
                         ) -> dict[str, Any]:  # fmt: skip
        """The ledger rows of [start, end]: count, days and content hash (what a figure of
        that window was computed from)."""
        from forecast.usage import usage_provenance

        return usage_provenance(self.ledger, start, end)

    def kpis(self, **options: Any) -> pd.DataFrame:
        """Spend KPIs per group and period (see ``forecast.kpis`` for the formulas)."""
        from forecast.kpis import kpis

        return kpis(self.ledger, self.book, **options)

    def top_users(self, **options: Any) -> pd.DataFrame:
        """Per period: the top 5% of users' share of cost (see ``forecast.kpis``)."""
        from forecast.kpis import top_users

        return top_users(self.ledger, self.book, **options)

    def user_costs(self, **options: Any) -> pd.Series:
        from forecast.kpis import user_costs

        return user_costs(self.ledger, self.book, **options)

    def replay_alerts(self, start: dt.datetime, end: dt.datetime) -> list[Alert]:
        """The alerts a watch running every hour of [start, end] would have raised."""
        from forecast.watch.alerts import replay

        return replay(self.ledger, self.book, self.config.alerts, start, end,
                      budgets=self.config.budgets, calendar=self.calendar,
                      listed=self.config.deployments)  # fmt: skip

    def check_alerts(self, at: dt.datetime | None = None, dry_run: bool = False) -> Check:
        """Alerts at hour ``at`` (default: the last hour of data) against the stored ones."""
        from forecast.watch.state import check

        if at is None:
            from forecast.coverage import usage_hours

            at = usage_hours(self.ledger)[1].replace(minute=0, second=0, microsecond=0)
        return check(self.ledger, self.book, self.config.alerts, at, dry_run,
                     budgets=self.config.budgets, calendar=self.calendar,
                     listed=self.config.deployments)  # fmt: skip

    def stored_alerts(self) -> pd.DataFrame:
        from forecast.watch.state import stored_alerts

        return stored_alerts(self.ledger)

    def budget_burn(self, as_of: dt.date | None = None) -> pd.DataFrame:
        """Each budget in progress: spent, burn rate, landing and exhaustion date
        (see ``forecast.burn``)."""
        from forecast.burn import budget_burn

        return budget_burn(self.ledger, self.book, self.config.budgets, self.calendar, as_of=as_of)

    def deployment_impact(self, deployment: str, **options: Any) -> dict[str, Any]:
        """What one deployment did to cost per request (see ``forecast.impact``)."""
        from forecast.impact import deployment_impact

        return deployment_impact(self.ledger, self.book, deployment,
                                 listed=self.config.deployments, **options)  # fmt: skip

    def rank_deployments(self, **options: Any) -> pd.DataFrame:
        from forecast.impact import rank_deployments

        return rank_deployments(self.ledger, self.book, listed=self.config.deployments, **options)

    def deployments(self) -> pd.DataFrame:
        """Every deployment, tagged in the usage or listed (see ``forecast.deployments``)."""
        from forecast.deployments import deployment_starts

        return deployment_starts(self.ledger, self.config.deployments)

    def import_deployments(self, files: list[Path]) -> list[DeploymentImport]:
        from forecast.deployments import import_deployments

        return import_deployments(self.ledger, files)

    def import_outcomes(self, files: list[Path]) -> list[OutcomeImport]:
        from forecast.outcomes import import_outcomes

        return import_outcomes(self.ledger, files)

    def outcome_imports(self) -> pd.DataFrame:
        from forecast.outcomes import outcome_imports

        return outcome_imports(self.ledger)

    def model_cost_spread(self, **options: Any) -> pd.DataFrame:
        """Cost per request of each model of a feature and what routing would save
        (see ``forecast.routing``)."""
        from forecast.routing import model_cost_spread

        return model_cost_spread(self.ledger, self.book, **options)
