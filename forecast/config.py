"""costcast.yaml: ledger path, attribution rules, price overrides, budgets, fiscal calendar.

Found at ``--config PATH`` or ``./costcast.yaml``; without either, defaults
apply. ``COSTCAST_DB`` overrides the ledger path. Relative paths inside the
file are relative to the file.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from forecast.attribution import AttributionRule
from forecast.deployments import DeploymentEntry
from forecast.errors import ConfigError
from forecast.fiscal import Period
from forecast.frame import zone_problem
from forecast.pricing.book import PriceEntry
from forecast.watch.rules import AlertRules
from forecast.yamlio import load_yaml, raise_validation_error

DEFAULT_CONFIG_NAME = "costcast.yaml"
DEFAULT_LEDGER = "costcast.duckdb"


class LiteLLMMap(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: Path
    # The map carries no dates: its prices apply from this day on.
    effective: dt.date = dt.date(1970, 1, 1)


class PricesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entries: list[PriceEntry] = Field(default_factory=list)
    files: list[Path] = Field(default_factory=list)
    litellm_map: LiteLLMMap | None = None


class Budget(BaseModel):
    """A spend limit for one fiscal period, for the whole organisation or one team/feature/model."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    period: Period
    amount: float = Field(gt=0, le=1e15)
    team: str | None = None
    feature: str | None = None
    model: str | None = None


class DaskConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: str  # tcp://HOST:PORT of a running scheduler


SCOPES = (
    "read", "scenarios:write", "usage:write", "forecasts:write", "exports:read", "alerts:write",
)  # fmt: skip


TOKEN_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class ApiToken(BaseModel):
    """One API token: only its SHA-256 is kept (see forecast/tokens.py)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=TOKEN_NAME)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    scopes: list[Literal[SCOPES]] = Field(min_length=1)  # type: ignore[valid-type]
    created: str | None = None


class ApiConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tokens: list[ApiToken] = Field(default_factory=list)
    max_upload_mb: float = Field(default=50, gt=0)
    max_scenario_kb: float = Field(default=1024, gt=0)
    # A few hundred KB compressed can expand to millions of rows: uploads may be gzip only
    # where this is on, and then expand to at most max_upload_expanded_mb; Parquet files
    # (compressed inside) to at most max_upload_rows rows and that many MB.
    allow_compressed_uploads: bool = False
    max_upload_expanded_mb: float = Field(default=500, gt=0)
    max_upload_rows: int = Field(default=5_000_000, gt=0)


class Accounting(BaseModel):
    """How journal exports book LLM spend: accounts, cost centres per team, entity, currency."""

    model_config = ConfigDict(extra="forbid")

    entity: str = "default"
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    expense_account: str = "6420"
    accrual_account: str = "2190"
    cost_centers: dict[str, str] = Field(default_factory=dict)  # team -> cost centre
    # teams not listed go here; without it an unlisted team is an error naming the team
    default_cost_center: str | None = None
    journal_prefix: str = "ACR"
    description: str = "Accrued LLM API usage"
    billing_account_id: str = "costcast"  # FOCUS BillingAccountId
    billing_account_name: str | None = None


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ledger: Path = Path(DEFAULT_LEDGER)
    timezone: str | None = None
    fiscal_year_start: int = Field(default=1, ge=1, le=12)
    attribution: list[AttributionRule] = Field(default_factory=list)
    prices: PricesConfig = Field(default_factory=PricesConfig)
    budgets: list[Budget] = Field(default_factory=list)
    dask: DaskConfig | None = None
    api: ApiConfig = Field(default_factory=ApiConfig)
    accounting: Accounting = Field(default_factory=Accounting)
    alerts: AlertRules = Field(default_factory=AlertRules)
    deployments: list[DeploymentEntry] = Field(default_factory=list)
    source: Path | None = Field(default=None, exclude=True)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, name: str | None) -> str | None:
        if name is not None and (problem := zone_problem(name)):
            raise ValueError(problem)
        return name

    def _rebase(self, base: Path) -> Config:
        def rel(p: Path) -> Path:
            return p if p.is_absolute() else base / p

        prices = self.prices.model_copy(
            update={
                "files": [rel(p) for p in self.prices.files],
                "litellm_map": (
                    self.prices.litellm_map.model_copy(
                        update={"path": rel(self.prices.litellm_map.path)}
                    )
                    if self.prices.litellm_map
                    else None
                ),
            }
        )
        return self.model_copy(update={"ledger": rel(self.ledger), "prices": prices})


def present(path: Path) -> bool:
    """``path`` names something on disk; a name too long to look up is left to the read
    that follows, which says why it cannot read it."""
    try:
        return path.exists()
    except OSError:
        return True


def load_config(path: str | Path | None = None) -> Config:
    """The configuration in effect: explicit file, else ./costcast.yaml, else defaults."""
    if path is None and Path(DEFAULT_CONFIG_NAME).exists():
        path = DEFAULT_CONFIG_NAME
    if path is None:
        config = Config()
    else:
        path = Path(path)
        if not present(path):
            raise ConfigError("config file not found", file=str(path))
        doc = load_yaml(path, error=ConfigError)
        data = doc.data if doc.data is not None else {}
        if not isinstance(data, dict):
            raise ConfigError("the config must be a YAML mapping", file=str(path), line=1)
        try:
            config = Config.model_validate(data)
        except ValidationError as exc:
            raise_validation_error(exc.errors(), doc, ConfigError)
        config = config._rebase(path.resolve().parent).model_copy(update={"source": path})
    env_db = os.environ.get("COSTCAST_DB")
    if env_db:
        config = config.model_copy(update={"ledger": Path(env_db)})
    return config
