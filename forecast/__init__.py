"""costcast: forecast and steer LLM API spend.

The public API, for notebooks and other programs; the CLI (``costcast``) and
the HTTP API are thin layers over these. Each name is imported when first used
(PEP 562): importing any part of the package, as every ``costcast`` command
does, would otherwise load all of it, matplotlib and the scenario engine
included, a second of the command's start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

_EXPORTS = {
    "Config": "forecast.config",
    "ConfigError": "forecast.errors",
    "CostcastError": "forecast.errors",
    "DataFormatError": "forecast.errors",
    "FiscalCalendar": "forecast.fiscal",
    "ForecastRun": "forecast.runstore",
    "Horizon": "forecast.fiscal",
    "Ledger": "forecast.ledger",
    "LedgerError": "forecast.errors",
    "PriceBook": "forecast.pricing",
    "RunSettings": "forecast.runs",
    "Scenario": "forecast.scenario",
    "ScenarioResult": "forecast.scenario.engine",
    "SourceContext": "forecast.sources",
    "UnknownModelError": "forecast.errors",
    "UnpricedModelError": "forecast.errors",
    "Workspace": "forecast.workspace",
    "backtest": "forecast.backtest",
    "create_forecast": "forecast.runs",
    "evaluate": "forecast.scenario.engine",
    "fan_chart": "forecast.plots",
    "ingest_files": "forecast.ingest",
    "list_runs": "forecast.runstore",
    "load_config": "forecast.config",
    "load_price_book": "forecast.pricing",
    "load_run": "forecast.runstore",
    "load_scenario": "forecast.scenario",
    "lorenz_chart": "forecast.plots",
    "parse_scenario": "forecast.scenario",
    "summarize": "forecast.aggregate",
    "usage_summary": "forecast.usage",
    "waterfall_chart": "forecast.plots",
    "write_demo_data": "forecast.demo",
}

if TYPE_CHECKING:
    from forecast.aggregate import summarize
    from forecast.backtest import backtest
    from forecast.config import Config, load_config
    from forecast.demo import write_demo_data
    from forecast.errors import (
        ConfigError,
        CostcastError,
        DataFormatError,
        LedgerError,
        UnknownModelError,
        UnpricedModelError,
    )
    from forecast.fiscal import FiscalCalendar, Horizon
    from forecast.ingest import ingest_files
    from forecast.ledger import Ledger
    from forecast.plots import fan_chart, lorenz_chart, waterfall_chart
    from forecast.pricing import PriceBook, load_price_book
    from forecast.runs import RunSettings, create_forecast
    from forecast.runstore import ForecastRun, list_runs, load_run
    from forecast.scenario import Scenario, load_scenario, parse_scenario
    from forecast.scenario.engine import ScenarioResult, evaluate
    from forecast.sources import SourceContext
    from forecast.usage import usage_summary
    from forecast.workspace import Workspace

__all__ = [
    "Config",
    "ConfigError",
    "CostcastError",
    "DataFormatError",
    "FiscalCalendar",
    "ForecastRun",
    "Horizon",
    "Ledger",
    "LedgerError",
    "PriceBook",
    "RunSettings",
    "Scenario",
    "ScenarioResult",
    "SourceContext",
    "UnknownModelError",
    "UnpricedModelError",
    "Workspace",
    "backtest",
    "create_forecast",
    "evaluate",
    "fan_chart",
    "ingest_files",
    "list_runs",
    "load_config",
    "load_price_book",
    "load_run",
    "load_scenario",
    "lorenz_chart",
    "parse_scenario",
    "summarize",
    "usage_summary",
    "waterfall_chart",
    "write_demo_data",
]


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'forecast' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # found once: later lookups do not come here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
