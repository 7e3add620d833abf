#!/usr/bin/env bash
# The main job end to end on built-in demo data: generate, ingest, summarise.
# Run through `make demo`, which puts the project's .venv first on PATH.
set -euo pipefail
OUT=${DEMO_OUT:-demo-out}
CONFIG="$OUT/costcast.yaml"

echo "== 1. demo usage history (synthetic organisation) -> $OUT/"
costcast demo-data --out "$OUT"

echo "== 2. ingest it into a fresh ledger ($OUT/costcast.duckdb), then one file again: 0 rows added"
# Regenerated demo data differs from the last run's (it ends yesterday), so start clean.
rm -f "$OUT/costcast.duckdb" "$OUT/costcast.duckdb.wal"
costcast ingest --config "$CONFIG" "$OUT"/usage-*.csv
costcast ingest --config "$CONFIG" "$(ls "$OUT"/usage-*.csv | tail -n 1)"

echo "== 3. spend by team per month (cost from the price book)"
costcast usage --config "$CONFIG" --by team --freq month

echo "== 4. spend by model over the last full month"
last_month_start=$(python -c "import datetime as d; t=d.date.today().replace(day=1); p=(t-d.timedelta(days=1)).replace(day=1); print(p)")
last_month_end=$(python -c "import datetime as d; print(d.date.today().replace(day=1)-d.timedelta(days=1))")
costcast usage --config "$CONFIG" --by provider,model --freq month --from "$last_month_start" --to "$last_month_end"

echo "== 5. the price book on the day of the demo's price cut, and today"
cut=$(python -c "import yaml; print(next(e['start'] for e in yaml.safe_load(open('$OUT/events.yaml'))['events'] if e['kind']=='price_cut'))")
costcast prices gemini-2.5-flash --config "$CONFIG" --on "$(python -c "import datetime as d; print(d.date.fromisoformat('$cut')-d.timedelta(days=1))")"
costcast prices gemini-2.5-flash --config "$CONFIG" --on "$cut"

echo "== 6. forecast this and next fiscal quarter by team (fiscal year starts in February)"
echo "      saves a run, prints its backtest on stderr, writes $OUT/fan.png"
costcast forecast --config "$CONFIG" --horizon next-quarter --by team --freq quarter --plot "$OUT/fan.png"

echo "== 7. what if: launch a support bot, route most of it to a mini model, get a discount"
costcast scenario run scenarios/launch-support-bot.yaml --config "$CONFIG" --plot "$OUT/waterfall.png"

echo "== 8. what the providers billed, against the usage priced with the book"
echo "      (exit code 1 means days were flagged: the demo hides one, see billing_gap in $OUT/events.yaml)"
costcast billing import --config "$CONFIG" "$OUT"/billed-*.json
code=0
costcast reconcile --config "$CONFIG" --flagged || code=$?
[ "$code" -le 1 ] || exit "$code"  # 2 would be a real error

echo "== 9. the accrual journal for this fiscal quarter: actuals to date plus the run's forecast (CSV for the ERP)"
quarter=$(python -c "
from forecast.fiscal import FiscalCalendar; import datetime as d
print(FiscalCalendar(2).label(d.date.today(), 'quarter'))")
costcast export journal "$quarter" --config "$CONFIG" --out "$OUT/journal-$quarter.csv"
cat "$OUT/journal-$quarter.csv"

echo "== 10. what a resolved ticket costs: support's outcomes per day, then its KPIs over the last full month"
costcast outcomes import --config "$CONFIG" "$OUT/outcomes-support.csv"
costcast kpis --config "$CONFIG" --by team,feature --freq month --from "$last_month_start" --to "$last_month_end" --output csv \
  | python -c "
import csv, sys
for row in csv.DictReader(sys.stdin):
    if row['resolution_rate']:
        print(f\"{row['team']}/{row['feature']} {row['period_start'][:7]}: {float(row['cost_usd']):,.2f} USD, \"
              f\"{float(row['successful_outcomes']):,.0f} of {int(row['outcome_attempts']):,} tickets resolved \"
              f\"({float(row['resolution_rate']):.0%}), {float(row['cost_per_successful_outcome']):.4f} USD a resolved ticket\")"

echo "== 11. spend watch: the quarter's budgets, the alerts a watch raises now, and deployments by cost impact"
costcast kpis --config "$CONFIG" --budget-burn
echo "      (exit code 1 means alerts fired: the demo's Q4 budgets land above 85%; --dry-run records and sends nothing)"
code=0
costcast watch --config "$CONFIG" --dry-run || code=$?
[ "$code" -le 1 ] || exit "$code"  # 2 would be a real error
costcast impact --list --config "$CONFIG" --output json \
  | python -c "
import json, sys
for row in json.load(sys.stdin)[:5]:
    print(row.get('summary') or f\"{row['deployment']}: {row['why_unmeasured']}\")"
