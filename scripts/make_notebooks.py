"""Writes the notebooks in notebooks/ from the cells below (outputs are not committed).

.venv/bin/python scripts/make_notebooks.py
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

QUARTER = [
    new_markdown_cell(
        "# This quarter's landing and next quarter's LLM spend\n\n"
        "A finance walkthrough on costcast's demo organisation: where this fiscal quarter "
        "will land (actuals to date plus forecast of the rest), next quarter by team, both "
        "against budget, and how far to trust the numbers (the backtest).\n\n"
        "Run it from the repository root's `.venv` (`make demo` creates it). It writes "
        "into a temporary folder; point `WORKDIR` at your own ledger's folder to use your data."
    ),
    new_code_cell(
        "import datetime as dt\n"
        "import tempfile\n"
        "from pathlib import Path\n\n"
        "import forecast as cc\n\n"
        "# the demo's folder (about 40 MB) goes when the kernel stops\n"
        "TMP = tempfile.TemporaryDirectory(prefix='costcast-')\n"
        "WORKDIR = Path(TMP.name)\n"
        "END = dt.date.today() - dt.timedelta(days=1)\n"
        "written = cc.write_demo_data(WORKDIR, seed=7, months=15, end=END)\n"
        "config = cc.load_config(WORKDIR / 'costcast.yaml')\n"
        "# the workspace: config, price book, fiscal calendar and ledger, as the CLI and API use them\n"
        "ws = cc.Workspace(config, cc.Ledger(config.ledger))\n"
        "results = ws.ingest(sorted(WORKDIR.glob('usage-*.csv')))\n"
        "print(f'{sum(r.rows_added for r in results):,} rows from {len(results)} files; '\n"
        "      f'fiscal year starts in month {config.fiscal_year_start}')"
    ),
    new_markdown_cell(
        "## Spend so far, by fiscal month\n\nCost is priced from the price book on each "
        "usage day, so the demo's provider price cut shows from its date."
    ),
    new_code_cell(
        "ws.usage(by='team', freq='month', start=END - dt.timedelta(days=120)).pivot_table(\n"
        "    index='timestamp', columns='team', values='cost_usd').round(0)"
    ),
    new_markdown_cell(
        "## Forecast through next fiscal quarter\n\nEvery series (team, feature, model) gets "
        "its own model, chosen by backtest, and 200 sample paths. The run is saved with the "
        "data it saw; its id traces every figure below."
    ),
    new_code_cell(
        "run = ws.forecast(\n"
        "    ws.horizon('next-quarter'),\n"
        "    settings=cc.RunSettings(forecasters='auto', n_paths=200, seed=0),\n"
        ")\n"
        "print(run.run_id, 'as of', run.as_of, 'through', run.horizon_end)\n"
        "run.meta['backtest']"
    ),
    new_markdown_cell(
        "## Landing and next quarter by team, against budget\n\n"
        "`mean` adds up across teams to the total; P10/P50/P90 are percentiles of each "
        "row's own total, so they do not add up. `p_exceed` is the share of sample paths "
        "above the budget. The current quarter includes actual spend to date."
    ),
    new_code_cell(
        "quarters = ws.forecast_table(run, by='team', freq='quarter')  # with the config's budgets\n"
        "quarters.drop(columns='run_id').round(2)"
    ),
    new_code_cell(
        "this_quarter = ws.calendar.label(run.start, 'quarter')\n"
        "landing = quarters[(quarters.team == 'total') & (quarters.period == this_quarter)]\n"
        "landing[['period', 'mean', 'p10', 'p50', 'p90', 'budget', 'p_exceed']].round(2)"
    ),
    new_code_cell(
        "from IPython.display import Image\n\n"
        "png = cc.fan_chart(ws.ledger, run, ['team'], WORKDIR / 'fan.png')\n"
        "Image(filename=str(png))"
    ),
    new_markdown_cell(
        "## How far to trust it: the backtest\n\nTwo 28-day windows ending on the as-of "
        "date, every model and `auto`, on daily total cost. `wape` is the absolute error as "
        "a share of spend; `coverage_80` should be near 0.8."
    ),
    new_code_cell("ws.backtest(horizon=28, windows=2).round(3)"),
    new_code_cell("ws.ledger.close()"),
]


SCENARIO_CELL = """\
start = run.start + dt.timedelta(days=30)
yaml_text = f'''
name: Support bot, routed to mini
baseline: {run.run_id}
changes:
  - kind: launch
    team: support
    feature: support-bot
    model: gpt-4.1
    start: {start}
    ramp_days: 30
    requests_per_day: {{low: 15000, likely: 20000, high: 30000}}
    input_tokens_per_request: 1200
    output_tokens_per_request: 350
  - kind: route
    feature: support-bot
    from_model: gpt-4.1
    to_model: gpt-4.1-mini
    share: 0.6
    start: {start + dt.timedelta(days=30)}
  - kind: price
    model: claude-sonnet-4
    discount: 0.2
    start: {start + dt.timedelta(days=60)}
'''
scenario = cc.parse_scenario(yaml_text)
result = ws.run_scenario(scenario)
{k: round(v['mean']) for k, v in result.totals.items() if isinstance(v, dict)}"""

WHAT_IF = [
    new_markdown_cell(
        "# What if? A product manager's walkthrough\n\n"
        "Write a scenario in a cell, run it against the latest forecast, read the "
        "waterfall (what each change adds), then compare two variants. Nothing is refitted: "
        "a scenario transforms the forecast's saved sample paths."
    ),
    new_code_cell(
        "import datetime as dt\n"
        "import tempfile\n"
        "from pathlib import Path\n\n"
        "import pandas as pd\n"
        "from IPython.display import Image\n\n"
        "import forecast as cc\n\n"
        "# the demo's folder (about 40 MB) goes when the kernel stops\n"
        "TMP = tempfile.TemporaryDirectory(prefix='costcast-')\n"
        "WORKDIR = Path(TMP.name)\n"
        "cc.write_demo_data(WORKDIR, seed=7, months=15, end=dt.date.today() - dt.timedelta(days=1))\n"
        "config = cc.load_config(WORKDIR / 'costcast.yaml')\n"
        "ws = cc.Workspace(config, cc.Ledger(config.ledger))\n"
        "ws.ingest(sorted(WORKDIR.glob('usage-*.csv')))\n"
        "run = ws.forecast(\n"
        "    ws.horizon('next-year'), settings=cc.RunSettings(forecasters='seasonal_naive', n_paths=200)\n"
        ")\n"
        "print('baseline', run.run_id, 'through', run.horizon_end)"
    ),
    new_markdown_cell(
        "## A scenario, written here\n\nLaunch a support bot (its traffic is uncertain, so "
        "it is a range), send 60% of it to a smaller model a month later, and assume a price "
        "cut. Dates count from the forecast's first day, so the notebook keeps working."
    ),
    new_code_cell(SCENARIO_CELL),
    new_markdown_cell(
        "## Each change's share of the difference\n\nShapley values: they add up to the "
        "total difference, whatever order the changes are listed in."
    ),
    new_code_cell("pd.DataFrame(result.changes).round(3)"),
    new_code_cell("Image(filename=str(cc.waterfall_chart(result, WORKDIR / 'waterfall.png')))"),
    new_markdown_cell("## By fiscal quarter and team"),
    new_code_cell(
        "quarters = result.periods[result.periods.freq == 'quarter']\n"
        "quarters.groupby(['period', 'team'])[['baseline_mean', 'scenario_mean', 'delta_mean']]"
        ".sum().round(0)"
    ),
    new_markdown_cell(
        "## Two variants side by side\n\nThe same launch with 30% instead of 60% routed."
    ),
    new_code_cell(
        "variant = cc.parse_scenario(yaml_text.replace('share: 0.6', 'share: 0.3'))\n"
        "other = ws.run_scenario(variant)\n"
        "pd.DataFrame({\n"
        "    '60% routed': {k: result.totals[k]['mean'] for k in ('baseline', 'scenario', 'delta')},\n"
        "    '30% routed': {k: other.totals[k]['mean'] for k in ('baseline', 'scenario', 'delta')},\n"
        "}).round(0)"
    ),
    new_code_cell("ws.ledger.close()"),
]


NOTEBOOKS = {"01_quarter_forecast.ipynb": QUARTER, "02_what_if.ipynb": WHAT_IF}
KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}


def main() -> None:
    folder = Path(__file__).resolve().parent.parent / "notebooks"
    for name, cells in NOTEBOOKS.items():
        notebook = new_notebook(cells=cells)
        for index, cell in enumerate(notebook.cells):
            cell["id"] = f"{name[:2]}-{index:02d}"  # stable ids: regenerating changes nothing
        notebook.metadata["kernelspec"] = KERNEL
        nbformat.write(notebook, folder / name)


if __name__ == "__main__":
    main()
