"""The command line: help everywhere, documented commands, clean errors with exit code 2."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
import typer.main

from forecast.cli import app
from forecast.errors import CostcastError
from forecast.runs import RunSettings


def _commands(group, prefix=()):
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from _commands(command, (*prefix, name))
        else:
            yield " ".join((*prefix, name))


COMMANDS = sorted(_commands(typer.main.get_command(app)))
README = (Path(__file__).parent.parent / "README.md").read_text()


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_and_is_documented(cli, command):
    code, out, _ = cli(*command.split(), "--help")
    assert code == 0 and "Usage" in out
    assert f"costcast {command}" in README


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COSTCAST_DB", raising=False)
    return tmp_path


def test_ingest_then_usage_csv_and_json(cli, workdir, fixture_path):
    code, out, err = cli("ingest", fixture_path("canonical.csv"), fixture_path("otel_spans.jsonl"))
    assert code == 0, err
    assert "canonical.csv" in out and "otel_spans.jsonl" in out
    assert (workdir / "costcast.duckdb").exists()
    code, out, _ = cli("usage", "--by", "team,model", "--freq", "day", "--output", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == [
        "timestamp", "team", "model", "requests", "failed_requests", "input_tokens",
        "cached_input_tokens", "cache_write_tokens", "output_tokens", "cost_usd",
        "reported_cost_usd", "unpriced_requests", "days", "partial",
    ]  # fmt: skip
    assert rows[0]["timestamp"] == "2026-03-01T00:00:00Z"
    code, out, _ = cli("usage", "--output", "json")
    records = json.loads(out)
    assert sum(r["input_tokens"] for r in records) == 3500 + 5900
    # a second ingest adds nothing and says so
    code, out, _ = cli("ingest", fixture_path("canonical.csv"))
    assert code == 0 and "already present" in out


def test_costcast_db_overrides_the_ledger_path(cli, workdir, fixture_path, monkeypatch):
    monkeypatch.setenv("COSTCAST_DB", str(workdir / "elsewhere.duckdb"))
    assert cli("ingest", fixture_path("canonical.csv"))[0] == 0
    assert (workdir / "elsewhere.duckdb").exists()
    assert not (workdir / "costcast.duckdb").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("usage",), "ledger not found"),
        (("ingest", "missing.csv"), "missing.csv: file not found"),
        (("ingest", "--format", "excel", "x.csv"), "x.csv: file not found"),
        (("prices", "gpt-5o-turbo"), "not in the price book"),
        (("prices", "gpt-4o", "--on", "yesterday"), "expected a date"),
        (("usage", "--config", "nope.yaml"), "config file not found"),
    ],
)
def test_user_mistakes_exit_2_without_traceback(cli, workdir, args, message):
    code, out, err = cli(*args)
    assert code == 2
    assert message in err
    assert "Traceback" not in err + out


def test_bad_row_message_names_file_line_field_value(cli, workdir):
    path = workdir / "bad.csv"
    path.write_text("timestamp,model,input_tokens,output_tokens\n2026-01-01T00:00:00Z,gpt-4o,5,x\n")
    code, _, err = cli("ingest", path)
    assert code == 2
    assert "bad.csv, line 2, field 'output_tokens'" in err and "'x'" in err


def test_unpriced_model_names_it_and_how_to_add_it(cli, workdir):
    path = workdir / "u.csv"
    path.write_text(
        "timestamp,model,input_tokens,output_tokens\n2026-01-01T00:00:00Z,mystery-9,5,1\n"
    )
    code, _, err = cli("ingest", path)
    assert code == 0 and "warning: no price for model(s) mystery-9" in err and "prices:" in err
    code, out, err = cli("usage", "--output", "json")
    assert code == 0 and json.loads(out)[0]["cost_usd"] is None
    assert "no price for mystery-9" in err
    code, _, err = cli("usage", "--strict")
    assert code == 2
    assert "mystery-9" in err and "prices:" in err


def test_config_error_names_line_and_field(cli, workdir, fixture_path):
    (workdir / "costcast.yaml").write_text("ledger: l.duckdb\nfiscal_year_start: 13\n")
    code, _, err = cli("ingest", fixture_path("canonical.csv"))
    assert code == 2
    assert "costcast.yaml, line 2, column 20, field 'fiscal_year_start'" in err


def test_an_unknown_time_zone_is_an_error_before_anything_is_read(cli, workdir, fixture_path):
    """A file whose times all carry offsets never asks the zone: --timezone Mars/Olympus was
    accepted without a word, and the same name in costcast.yaml too; on a file without
    offsets, DuckDB's own error came through."""
    for args in (["--timezone", "Mars/Olympus"], ["--timezone", ""], ["--timezone", "../etc"],
                 ["--timezone", "a" * 300]):  # fmt: skip
        code, _, err = cli("ingest", fixture_path("canonical.csv"), *args)
        assert code == 2 and "option --timezone: unknown time zone" in err, err
    assert not (workdir / "costcast.duckdb").exists() or cli("usage")[0] == 2  # nothing stored
    (workdir / "costcast.yaml").write_text("timezone: Mars/Olympus\n")
    code, _, err = cli("ingest", fixture_path("canonical.csv"))
    assert code == 2
    assert "costcast.yaml, line 1, column 11, field 'timezone'" in err
    assert "unknown time zone 'Mars/Olympus'" in err
    (workdir / "costcast.yaml").write_text("timezone: Europe/Berlin\n")
    assert cli("ingest", fixture_path("canonical.csv"))[0] == 0


def test_prices_lists_the_book_on_a_date(cli):
    code, out, _ = cli("prices", "--on", "2025-06-10", "--output", "json")
    assert code == 0
    entries = {e["model"]: e for e in json.loads(out)}
    assert entries["o3"]["input"] == 2.0 and entries["o3"]["effective"] == "2025-06-10"
    assert "gpt-5" not in entries  # released 2025-08-07
    _, out, _ = cli(
        "prices", "claude-sonnet-4-5-20250929", "--on", "2026-01-01", "--output", "json"
    )
    (entry,) = json.loads(out)
    assert (entry["asked"], entry["model"], entry["cache_write"]) == (
        "claude-sonnet-4-5-20250929", "claude-sonnet-4-5", 3.75,
    )  # fmt: skip


def test_forecast_command_outputs_runs_and_charts(cli, workdir):
    from builders import KEYS, daily_csv

    assert cli("ingest", daily_csv(workdir / "u.csv", KEYS, days=90))[0] == 0
    code, out, err = cli(
        "forecast", "--horizon", "30d", "--by", "team", "--forecasters", "seasonal_naive",
        "--paths", "20", "--jobs", "1", "--output", "csv", "--plot", workdir / "fan.png",
    )  # fmt: skip
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == [
        "team", "period", "mean", "p10", "p50", "p90", "budget", "p_exceed", "days",
        "partial", "run_id",
    ]  # fmt: skip
    assert {r["team"] for r in rows} == {"search", "support", "total"}
    assert {r["period"] for r in rows} == {"2026-06", "2026-07"}
    run_id = rows[0]["run_id"]
    assert f"run id: {run_id}" in err and "as of 2026-06-15" in err
    assert "the ledger's usage ends on 2026-06-15, more than a week ago" in err
    assert (workdir / "fan.png").read_bytes()[:4] == b"\x89PNG"
    code, out, _ = cli("runs", "list", "--output", "json")
    assert [r["run_id"] for r in json.loads(out)] == [run_id]
    code, out, _ = cli("runs", "show", run_id, "--output", "json")
    shown = json.loads(out)
    assert shown["provenance"]["rows"] == 90 * 3
    assert {s["forecaster"] for s in shown["series"]} == {"seasonal_naive"}
    code, out, err = cli("forecast", "--horizon", "7d", "--by", "", "--models", "seasonal_naive",
                         "--paths", "20", "--jobs", "1", "--output", "json",
                         "--as-of", "2026-06-01")  # fmt: skip
    # the ledger's own last day, not the day --as-of cut it at (it said "ends on 2026-06-01")
    assert "the ledger's usage ends on 2026-06-15, more than a week ago" in err
    records = json.loads(out)
    assert all(set(r) == {"period", "mean", "p10", "p50", "p90", "budget", "p_exceed", "days",
                          "partial", "run_id"}
               for r in records)  # fmt: skip


@pytest.mark.parametrize(
    ("extra_config", "args", "message"),
    [
        (
            "budgets:\n  - {team: nobody, period: 2026-Q3, amount: 10}\n",
            (),
            "budget for unknown team 'nobody'",
        ),
        ("", ("--horizon", "2025-Q1"), "on or before the as-of date"),
        ("", ("--by", "colour"), "cannot forecast by colour"),
        ("", ("--models", "arima"), "unknown forecaster 'arima'"),
        ("", ("--as-of", "2027-01-01"), "after the ledger's last complete day"),
    ],
)
def test_forecast_mistakes_exit_2(cli, workdir, extra_config, args, message):
    from builders import KEYS, daily_csv

    (workdir / "costcast.yaml").write_text("ledger: costcast.duckdb\n" + extra_config)
    assert cli("ingest", daily_csv(workdir / "u.csv", KEYS[:1], days=60))[0] == 0
    code, out, err = cli(
        "forecast", "--models", "seasonal_naive", "--paths", "20", "--jobs", "1", *args
    )
    assert code == 2, err
    assert message in err and "Traceback" not in err + out


def test_a_parameter_mistake_names_the_option(cli, workdir, fixture_path):
    (workdir / "costcast.yaml").write_text("ledger: costcast.duckdb\n")
    assert cli("ingest", fixture_path("canonical.csv"))[0] == 0
    code, _, err = cli("usage", "--freq", "decade")
    assert code == 2 and "option --freq: unknown frequency 'decade'" in err
    code, _, err = cli("usage", "--from", "2026-03-02", "--to", "2026-03-01")
    assert code == 2 and "option --to: the last day 2026-03-01 is before the first" in err
    # a positional argument has no option: it is named as in the command's usage line
    code, _, err = cli("export", "journal", "2027-Q5")
    assert code == 2 and "PERIOD" in err and "Traceback" not in err


def test_scenario_run_json_and_plot(cli, workdir):
    from builders import KEYS, daily_csv

    assert cli("ingest", daily_csv(workdir / "u.csv", KEYS, days=60))[0] == 0
    code, _, err = cli("forecast", "--horizon", "30d", "--models", "seasonal_naive",
                       "--paths", "20", "--jobs", "1")  # fmt: skip
    assert code == 0, err
    path = workdir / "s.yaml"
    path.write_text(
        "name: cut\nchanges:\n"
        "  - {kind: price, model: gpt-4o, discount: 0.5, start: 2026-06-20}\n"
        "  - {kind: traffic, team: search, factor: 2, start: 2026-07-01}\n"
    )
    code, out, err = cli("scenario", "run", path, "--output", "json", "--plot", workdir / "w.png")
    assert code == 0, err
    body = json.loads(out)
    assert {"baseline_run", "totals", "periods", "changes"} <= set(body)
    assert set(body["totals"]["delta"]) >= {"mean", "p10", "p50", "p90"}
    assert [c["kind"] for c in body["changes"]] == ["price", "traffic"]
    assert sum(c["delta_mean"] for c in body["changes"]) == pytest.approx(
        body["totals"]["delta"]["mean"]
    )
    assert (workdir / "w.png").read_bytes()[:4] == b"\x89PNG"
    # saved, as the API saves it: listed, and a journal can be exported from it
    saved = re.search(r"saved as (scn-[0-9a-f]+)", err)[1]
    code, out, _ = cli("scenario", "list", "--output", "json")
    assert code == 0 and [r["id"] for r in json.loads(out)] == [saved]
    (workdir / "costcast.yaml").write_text("accounting: {default_cost_center: CC-ALL}\n")
    code, out, err = cli("export", "journal", "2026-07", "--basis", "scenario", "--scenario", saved)
    assert code == 0, err
    assert "journal_id" in out.splitlines()[0]
    code, _, err = cli("export", "journal", "2026-07", "--basis", "budget")
    assert code == 2 and "option --basis: unknown basis 'budget'" in err, err
    code, _, err = cli("scenario", "run", path, "--no-save", "--output", "json")
    code, out, _ = cli("scenario", "list", "--output", "json")
    assert code == 0 and len(json.loads(out)) == 1
    code, out, _ = cli("scenario", "compare", path, path, "--output", "json")
    assert code == 0 and len(json.loads(out)) == 2
    code, _, err = cli("scenario", "run", path, "--run", "run-missing")
    assert code == 2 and "option --run: no forecast run 'run-missing'" in err
    # `runs show` takes the run as an argument: the error names it so, not another
    # command's --run
    code, _, err = cli("runs", "show", "run-missing")
    assert code == 2 and "RUN: no forecast run 'run-missing'" in err and "--run" not in err


def test_token_create_list_revoke(cli, tmp_path):
    config = tmp_path / "costcast.yaml"
    config.write_text("# ours\nfiscal_year_start: 2\n")
    code, out, err = cli("token", "create", "--name", "erp", "--scope", "exports:read",
                         "--scope", "read", "--config", config)  # fmt: skip
    assert code == 0, err
    token = out.strip()
    assert token.startswith("cc_") and len(token) > 40
    text = config.read_text()
    assert token not in text and "# ours" in text  # only the hash is kept; comments survive
    code, out, _ = cli("token", "list", "--output", "csv", "--config", config)
    assert "erp,read exports:read," in out and token not in out
    code, _, err = cli("token", "create", "--name", "erp", "--scope", "read", "--config", config)
    assert code == 2 and "exists" in err
    code, _, err = cli("token", "create", "--name", "x", "--scope", "admin", "--config", config)
    assert code == 2 and "unknown scope 'admin'" in err
    # a name outside the rule: a located error, where pydantic's own came out with exit 1
    for bad in ("", "-x", "a b", "x" * 65):
        code, _, err = cli("token", "create", "--name", bad, "--scope", "read", "--config", config)
        assert code == 2 and "option --name: a token name is 1 to 64" in err, err
    assert "pydantic" not in err and config.read_text() == text
    assert cli("token", "revoke", "erp", "--config", config)[0] == 0
    code, _, err = cli("token", "revoke", "erp", "--config", config)
    assert code == 2 and "no token named 'erp'" in err


def test_a_ledger_held_by_another_process_gets_the_documented_message(cli, workdir, fixture_path):
    import subprocess
    import sys

    assert cli("ingest", fixture_path("canonical.csv"))[0] == 0
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time\n"
         "con = duckdb.connect('costcast.duckdb'); print('open', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        code, _, err = cli("usage")
        assert code == 2 and "in use by another costcast process" in err
        assert "costcast serve" in err and "Conflicting lock" not in err
    finally:
        holder.kill()
        holder.wait()


def test_finance_chart_of_a_forecast(cli, workdir):
    from builders import KEYS, daily_csv

    (workdir / "costcast.yaml").write_text("budgets:\n  - {period: 2026-Q3, amount: 100}\n")
    assert cli("ingest", daily_csv(workdir / "u.csv", KEYS, days=60))[0] == 0
    code, _, err = cli("forecast", "--horizon", "2026-Q3", "--forecasters", "seasonal_naive",
                       "--paths", "20", "--jobs", "1", "--freq", "quarter",
                       "--budget-plot", workdir / "b.png")  # fmt: skip
    assert code == 0, err
    assert (workdir / "b.png").read_bytes()[:4] == b"\x89PNG" and "wrote" in err


def test_the_group_keys_the_help_lists_all_work(cli, workdir, fixture_path):
    from forecast.usage import GROUP_KEYS

    assert cli("ingest", fixture_path("canonical.csv"))[0] == 0
    code, out, _ = cli("usage", "--help")
    listed = " ".join(out.split())
    assert all(key in listed for key in GROUP_KEYS)
    code, out, err = cli("usage", "--by", ",".join(GROUP_KEYS), "--output", "json")
    assert code == 0, err
    assert set(GROUP_KEYS) <= set(json.loads(out)[0])


def test_table_cells_keep_one_number_of_decimals_per_column():
    import pandas as pd

    from forecast.cli.common import _cell, _decimals

    money = [_cell(v, _decimals("cost_usd")) for v in (0.5, 1234.5, -0.001)]
    assert money == ["0.50", "1,234.50", "0.00"]  # cents throughout, no -0.00
    assert [_cell(v, _decimals("failed_share")) for v in (0.1, 0.12345)] == ["0.1000", "0.1235"]
    assert _cell(12.5, _decimals("p90")) == "12.50" and _decimals("input") is None
    assert _cell(42.756549, _decimals("burn_rate_sd")) == "42.76"  # dollars a day
    assert _cell(pd.NA) == ""


def test_a_table_too_wide_for_the_terminal_splits_its_columns_and_cuts_no_value():
    import io

    import pandas as pd
    from rich.console import Console

    from forecast.cli.common import tables

    frame = pd.DataFrame({"period_start": ["2026-11-01", "2026-12-01"], "team": ["search"] * 2,
                          **{f"tokens_per_request_kind_{k}": [1234567.891, 2.5] for k in range(6)},
                          "requests": [3015350.0, 93.0],
                          "contributors": ["model claude-sonnet-4-5 92%, deployment copilot@v2 "
                                           "100%, user someone@example.com 40%", ""]})  # fmt: skip

    def shown(width: int) -> tuple[int, str]:
        console = Console(file=io.StringIO(), width=width)
        found = tables(frame, "KPIs", width)
        for table in found:
            console.print(table)
        return len(found), console.file.getvalue()

    blocks, text = shown(80)
    assert blocks > 1 and "…" not in text and max(map(len, text.splitlines())) <= 80
    # every value whole, in every block the row it belongs to
    assert text.count("1,234,567.891") == 6 and text.count("2.500") == 6
    assert "3,015,350" in text and " 93 " in text  # counts as counts, not 3,015,350.00
    for word in ("claude-sonnet-4-5", "copilot@v2", "someone@example.com"):  # text wraps
        assert word in text  # between words
    assert text.count("2026-12-01") == blocks and f"KPIs ({blocks} of {blocks})" in text
    assert "tokens_per_" in text and "tokens_per_request_kind_0" not in text  # folded
    blocks, text = shown(400)  # room enough: one table, headers whole
    assert blocks == 1 and "tokens_per_request_kind_5" in text and "(1 of" not in text


def test_every_command_has_a_one_line_summary_for_the_command_list():
    """The command list shows a command's first paragraph; several ran 4 to 13 ragged lines
    (the docstring's own line breaks, kept by Rich's markup)."""
    import typer

    from forecast.cli import app

    def commands(group, path=()):
        for name, sub in getattr(group, "commands", {}).items():
            yield " ".join((*path, name)), sub
            yield from commands(sub, (*path, name))

    found = dict(commands(typer.main.get_command(app)))
    assert len(found) >= 40
    long = {name: c.help for name, c in found.items()
            if "\n" in (c.help or "").strip().split("\n\n")[0]}  # fmt: skip
    assert long == {}


def test_a_seed_out_of_range_is_a_located_error(cli, workdir, fixture_path):
    """A negative seed ended in numpy's traceback, one past 64 bits in DuckDB's (storing the
    run); the API already took 0 to 2**31 - 1, and the command line now the same."""
    assert cli("ingest", fixture_path("canonical.csv"))[0] == 0
    for command in (["forecast", "--horizon", "7d", "--as-of", "2026-03-01"],
                    ["backtest", "--horizon", "7", "--as-of", "2026-03-01"]):  # fmt: skip
        for seed in ("-1", str(2**31), "99999999999999999999"):
            code, _, err = cli(*command, "--seed", seed)
            assert code == 2 and "option --seed: the seed is a whole number from 0 to " in err, err


def test_paths_beyond_two_thousand_are_refused_before_any_work(cli, workdir, fixture_path):
    """backtest --paths 35141035 was taken (forecast stopped at 2,000, backtest had no upper
    bound) and drew paths until the kernel killed the process at 24 GB."""
    assert cli("ingest", fixture_path("canonical.csv"))[0] == 0
    for command in (["forecast", "--horizon", "7d"], ["backtest", "--horizon", "7"]):
        for paths, why in (("35141035", "less than or equal to 2000"),
                           ("2001", "less than or equal to 2000"),
                           ("19", "greater than or equal to 20")):  # fmt: skip
            code, _, err = cli(*command, "--paths", paths)
            assert code == 2 and "--paths" in err and why in err, err
    with pytest.raises(CostcastError, match="paths: a whole number from 20 to 2,000"):
        RunSettings(n_paths=35141035)  # the library, as the API and notebooks call it


def test_jobs_beyond_256_are_refused(cli, workdir):
    # a worker process each, started as the chunks come: 100,000 asked one per chunk
    code, _, err = cli("forecast", "--horizon", "7d", "--jobs", "100000")
    assert code == 2 and "--jobs" in err and "less than or equal to 256" in err, err
