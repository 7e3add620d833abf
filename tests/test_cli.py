"""The command line: help everywhere, documented commands, clean errors with exit code 2."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import typer.main

from forecast.cli import app

COMMANDS = sorted(c.name for c in typer.main.get_command(app).commands.values())
README = (Path(__file__).parent.parent / "README.md").read_text()


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_and_is_documented(cli, command):
    code, out, _ = cli(command, "--help")
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
        "reported_cost_usd",
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
    assert cli("ingest", path)[0] == 0
    code, _, err = cli("usage")
    assert code == 2
    assert "mystery-9" in err and "prices:" in err


def test_config_error_names_line_and_field(cli, workdir, fixture_path):
    (workdir / "costcast.yaml").write_text("ledger: l.duckdb\nfiscal_year_start: 13\n")
    code, _, err = cli("ingest", fixture_path("canonical.csv"))
    assert code == 2
    assert "costcast.yaml, line 2, field 'fiscal_year_start'" in err


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
