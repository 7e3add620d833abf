"""Server settings, from the environment (``COSTCAST_*``); tests override ``get_settings``.

Everything about the organisation (ledger path, tokens, accounts, limits)
lives in costcast.yaml; these say only which config to use and how the
server runs forecast jobs.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from forecast.engine import MAX_JOBS


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COSTCAST_")

    config: Path | None = None  # costcast.yaml; default ./costcast.yaml if present
    # worker processes per forecast run (default: all cores), as the command line takes them
    forecast_jobs: int | None = Field(default=None, ge=1, le=MAX_JOBS)
    forecast_workers: int = 1  # forecast runs at once; more would only share the same cores


@lru_cache
def get_settings() -> Settings:
    return Settings()
