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
        "WORKDIR = Path(tempfile.mkdtemp(prefix='costcast-'))\n"
        "END = dt.date.today() - dt.timedelta(days=1)\n"
        "written = cc.write_demo_data(WORKDIR, seed=7, months=15, end=END)\n"
        "config = cc.load_config(WORKDIR / 'costcast.yaml')\n"
        "book = cc.load_price_book(config)\n"
        "calendar = cc.FiscalCalendar(config.fiscal_year_start)\n"
        "ledger = cc.Ledger(config.ledger)\n"
        "results = cc.ingest_files(ledger, sorted(WORKDIR.glob('usage-*.csv')), book=book)\n"
        "print(f'{sum(r.rows_added for r in results):,} rows from {len(results)} files; '\n"
        "      f'fiscal year starts in month {config.fiscal_year_start}')"
    ),
    new_markdown_cell(
        "## Spend so far, by fiscal month\n\nCost is priced from the price book on each "
        "usage day, so the demo's provider price cut shows from its date."
    ),
    new_code_cell(
        "cc.usage_summary(ledger, book, by='team', freq='month',\n"
        "                 start=END - dt.timedelta(days=120)).pivot_table(\n"
        "    index='timestamp', columns='team', values='cost_usd').round(0)"
    ),
    new_markdown_cell(
        "## Forecast through next fiscal quarter\n\nEvery series (team, feature, model) gets "
        "its own model, chosen by backtest, and 200 sample paths. The run is saved with the "
        "data it saw; its id traces every figure below."
    ),
    new_code_cell(
        "run = cc.create_forecast(\n"
        "    ledger, book,\n"
        "    horizon_end=lambda as_of: calendar.horizon_end('next-quarter', as_of),\n"
        "    settings=cc.RunSettings(models='auto', n_paths=200, seed=0),\n"
        "    config_snapshot=config.model_dump(mode='json', exclude={'source'}),\n"
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
        "budgets = [b.model_dump(exclude_none=True) for b in config.budgets]\n"
        "quarters = cc.summarize(ledger, run, by='team', freq='quarter', calendar=calendar,\n"
        "                        budgets=budgets)\n"
        "quarters.drop(columns='run_id').round(2)"
    ),
    new_code_cell(
        "this_quarter = calendar.label(run.start, 'quarter')\n"
        "landing = quarters[(quarters.team == 'total') & (quarters.period == this_quarter)]\n"
        "landing[['period', 'mean', 'p10', 'p50', 'p90', 'budget', 'p_exceed']].round(2)"
    ),
    new_code_cell(
        "png = cc.fan_chart(ledger, run, ['team'], WORKDIR / 'fan.png')\n"
        "from IPython.display import Image\n"
        "Image(filename=str(png))"
    ),
    new_markdown_cell(
        "## How far to trust it: the backtest\n\nTwo 28-day windows ending on the as-of "
        "date, every model and `auto`, on daily total cost. `wape` is the absolute error as "
        "a share of spend; `coverage_80` should be near 0.8."
    ),
    new_code_cell("cc.backtest(ledger, book, horizon=28, windows=2).round(3)"),
    new_code_cell("ledger.close()"),
]


def main() -> None:
    folder = Path(__file__).resolve().parent.parent / "notebooks"
    notebook = new_notebook(cells=QUARTER)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(notebook, folder / "01_quarter_forecast.ipynb")


if __name__ == "__main__":
    main()
