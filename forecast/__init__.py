"""costcast: forecast and steer LLM API spend.

The public API, for notebooks and other programs; the CLI (``costcast``) and
the HTTP API are thin layers over these.
"""

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
