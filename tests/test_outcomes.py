"""Outcome imports and the KPIs they add, worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from forecast.errors import DataFormatError
from forecast.ingest import ingest_files
from forecast.kpis import kpis
from forecast.outcomes import import_outcomes, outcomes_json_schema
from forecast.pricing import load_price_book

# gpt-4o: 1,000 input and 100 output tokens a call cost (1000 x 2.50 + 100 x 10) / 1e6
CALL = 0.0035


def usage(tmp_path):
    """ops/triage: five single calls r1-r4 on Monday 2026-03-02, r5 on Tuesday; sales/draft:
    100 calls on Monday and 50 on Tuesday, counted per day."""
    path = tmp_path / "u.csv"
    rows = ["timestamp,team,feature,model,request_id,status,requests,input_tokens,output_tokens"]
    for i, day in enumerate(["02", "02", "02", "02", "03"], start=1):
        rows.append(f"2026-03-{day}T10:0{i}:00Z,ops,triage,gpt-4o,r{i},success,1,1000,100")
    for day, calls in (("02", 100), ("03", 50)):
        rows.append(f"2026-03-{day}T00:00:00Z,sales,draft,gpt-4o,,success,{calls},"
                    f"{calls * 1000},{calls * 100}")  # fmt: skip
    path.write_text("\n".join(rows) + "\n")
    return path


def week(ledger, by="team,feature"):
    frame = kpis(ledger, load_price_book(), by=by, freq="week")
    return {tuple(r[k] for k in by.split(",")): r for r in frame.to_dict("records")}


def write(tmp_path, name, text):
    (tmp_path / name).write_text(text)
    return tmp_path / name


def test_outcomes_per_request_and_per_day_by_hand(ledger, tmp_path):
    ingest_files(ledger, [usage(tmp_path)])
    per_request = write(tmp_path, "r.jsonl", "\n".join(json.dumps(r) for r in [
        {"request_id": "r1", "outcome": "success"}, {"request_id": "r2", "outcome": "failure"},
        {"request_id": "r3", "outcome": 0.5}, {"request_id": "r5", "outcome": "success"},
        {"request_id": "r99", "outcome": 1}]) + "\n")  # fmt: skip
    per_day = write(tmp_path, "d.csv", "date,team,feature,successes,attempts\n"
                    "2026-03-02,sales,draft,30,40\n2026-03-03,sales,draft,10,20\n")  # fmt: skip
    first, days = import_outcomes(ledger, [per_request, per_day])
    assert (first.kind, first.rows, first.added, first.unmatched) == ("request", 5, 5, 1)
    assert (days.kind, days.added) == ("day", 2)
    rows = week(ledger)
    ops = rows[("ops", "triage")]
    # r1 + r2 + r3 + r5 = 1 + 0 + 0.5 + 1 of 4 attempts; r4 has no outcome, so its cost is out
    assert (ops["successful_outcomes"], ops["outcome_attempts"]) == (2.5, 4)
    assert ops["resolution_rate"] == pytest.approx(2.5 / 4)
    assert ops["cost_per_successful_outcome"] == pytest.approx(4 * CALL / 2.5)
    sales = rows[("sales", "draft")]
    # 40 of 60 attempts over the two days, which cost 150 calls
    assert (sales["successful_outcomes"], sales["outcome_attempts"]) == (40, 60)
    assert sales["cost_per_successful_outcome"] == pytest.approx(150 * CALL / 40)
    # a day's outcomes per group win over that day's per-request ones: r5 is now counted
    # by ops/triage's Tuesday (5 of 10), whose usage is r5's call
    import_outcomes(ledger, [write(tmp_path, "d2.csv", "date,team,feature,successes,attempts\n"
                                   "2026-03-03,ops,triage,5,10\n")])  # fmt: skip
    ops = week(ledger)[("ops", "triage")]
    assert (ops["successful_outcomes"], ops["outcome_attempts"]) == (6.5, 13)
    assert ops["cost_per_successful_outcome"] == pytest.approx(
        4 * CALL / 6.5, abs=1e-8
    )  # rounded to 1e-8


def test_successes_too_small_to_show_leave_the_cost_per_success_unknown(ledger, tmp_path):
    """Scores summing to less than the 6 decimals successful_outcomes shows: the cost per
    successful outcome is unknown, not the cost over a denormal (infinite, or 1e+43)."""
    ingest_files(ledger, [usage(tmp_path)])
    scores = [{"request_id": "r1", "outcome": 5e-324}, {"request_id": "r2", "outcome": 1e-40},
              {"request_id": "r5", "outcome": 0.5}]  # fmt: skip
    import_outcomes(ledger, [write(tmp_path, "tiny.jsonl",
                                   "\n".join(json.dumps(r) for r in scores) + "\n")])  # fmt: skip
    days = kpis(ledger, load_price_book(), by="team,feature", freq="day")
    ops = days[days["team"] == "ops"].set_index("period_start")
    monday, tuesday = ops.loc[pd.Timestamp("2026-03-02")], ops.loc[pd.Timestamp("2026-03-03")]
    # Monday: r1 and r2, about 1e-40 of a success in all, shown as 0 of 2
    assert (monday["successful_outcomes"], monday["outcome_attempts"]) == (0.0, 2)
    assert monday["resolution_rate"] == 0.0
    assert pd.isna(monday["cost_per_successful_outcome"])
    # Tuesday: r5, half a success for its one call, by hand
    assert tuesday["cost_per_successful_outcome"] == pytest.approx(CALL / 0.5)


def test_outcomes_per_day_alone_by_hand(ledger, tmp_path):
    ingest_files(ledger, [usage(tmp_path)])
    import_outcomes(ledger, [write(tmp_path, "d.csv", "date,team,feature,successes,attempts\n"
                                   "2026-03-02,sales,draft,30,40\n2026-03-03,sales,draft,10,20\n")])  # fmt: skip
    for by, key in (("team,feature", ("sales", "draft")), ("team", ("sales",))):
        sales = week(ledger, by)[key]
        # 40 of 60 attempts over the two days, whose usage is 150 calls
        assert (sales["successful_outcomes"], sales["outcome_attempts"]) == (40, 60), by
        assert sales["cost_per_successful_outcome"] == pytest.approx(150 * CALL / 40)
    assert pd_isna(week(ledger)[("ops", "triage")]["successful_outcomes"])


def test_groups_outcomes_per_day_cannot_split_show_only_per_request_ones(ledger, tmp_path):
    ingest_files(ledger, [usage(tmp_path)])
    import_outcomes(ledger, [
        write(tmp_path, "r.csv", "request_id,outcome\nr1,success\nr2,0.25\n"),
        write(tmp_path, "d.csv", "date,team,feature,successes,attempts\n2026-03-02,sales,draft,3,4\n"),
    ])  # fmt: skip
    rows = week(ledger, by="team,model")
    assert rows[("ops", "gpt-4o")]["successful_outcomes"] == 1.25
    sales = rows[("sales", "gpt-4o")]
    assert pd_isna(sales["successful_outcomes"]) and pd_isna(sales["cost_per_successful_outcome"])


def pd_isna(value):
    import pandas as pd

    return bool(pd.isna(value))


def test_import_again_changes_nothing_and_a_revised_outcome_replaces(ledger, tmp_path):
    ingest_files(ledger, [usage(tmp_path)])
    path = write(tmp_path, "r.csv", "request_id,outcome\nr1,failure\nr2,failure\n")
    import_outcomes(ledger, [path])
    (again,) = import_outcomes(ledger, [path])
    assert again.skipped
    (revised,) = import_outcomes(
        ledger, [write(tmp_path, "r2.csv", "request_id,outcome\nr2,success\n")]
    )
    assert (revised.added, revised.replaced) == (0, 1)
    ops = week(ledger)[("ops", "triage")]
    assert (ops["successful_outcomes"], ops["outcome_attempts"]) == (1, 2)


@pytest.mark.parametrize(
    ("name", "text", "line", "field", "words"),
    [
        ("a.csv", "request_id,outcome\nr1,success\nr2,maybe\n", 3, "outcome", "success, failure or a score"),
        ("b.csv", "request_id,outcome\nr1,1.5\n", 2, "outcome", "less than or equal to 1"),
        ("c.csv", "date,team,feature,successes,attempts\n2026-03-02,ops,triage,5,4\n", 2, None,
         "successes \\(5\\) cannot pass attempts \\(4\\)"),
        ("d.jsonl", '{"date": "2026-03-02", "team": "ops", "feature": "t", "successes": 1}\n', 1,
         "attempts", "Field required"),
        ("e.csv", "when,what\n2026-03-02,ok\n", 1, None, "not an outcomes file"),
    ],
)  # fmt: skip
def test_a_bad_file_is_a_located_error_and_stores_nothing(ledger, tmp_path, name, text, line,
                                                         field, words):  # fmt: skip
    good = write(tmp_path, "good.csv", "request_id,outcome\nr1,success\n")
    bad = write(tmp_path, name, text)
    with pytest.raises(DataFormatError, match=words) as caught:
        import_outcomes(ledger, [good, bad])
    assert (caught.value.file, caught.value.line, caught.value.field) == (str(bad), line, field)
    assert not ledger.has_table("outcome_imports")


def test_cli_imports_lists_and_prints_the_schema_kept_in_the_repo(cli, tmp_path, monkeypatch):
    kept = (Path(__file__).parents[1] / "schemas" / "outcomes.json").read_text()
    assert kept == outcomes_json_schema()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COSTCAST_DB", raising=False)
    assert cli("ingest", usage(tmp_path))[0] == 0
    write(tmp_path, "r.csv", "request_id,outcome\nr1,success\nr7,failure\n")
    code, out, err = cli("outcomes", "import", "r.csv")
    assert code == 0, err
    assert "2 new" in out and "1 request id(s) not in the usage yet" in out
    code, out, _ = cli("outcomes", "list", "--output", "json")
    assert [(r["kind"], r["rows"]) for r in json.loads(out)] == [("request", 2)]
    code, out, err = cli("kpis", "--by", "team", "--output", "json")
    # r1-r4 share an hour and a group: one ledger row; r5 one more; sales two days
    assert "from 4 ledger rows, 2026-03-02 to 2026-03-03" in err
    ops = next(r for r in json.loads(out) if r["team"] == "ops")
    assert ops["resolution_rate"] == 1.0  # r1 succeeded; r7 is not in the usage
    write(tmp_path, "bad.csv", "request_id,outcome\nr1,perhaps\n")
    code, _, err = cli("outcomes", "import", "bad.csv")
    assert code == 2 and "bad.csv, line 2, field 'outcome'" in err and "Traceback" not in err
    assert json.loads(cli("outcomes", "schema")[1])["title"] == "costcast outcome record"


def test_outcomes_imported_before_their_usage_count_once_it_arrives(ledger, tmp_path):
    ingest_files(ledger, [usage(tmp_path)])
    (ingest_id,) = ledger.ingests()["ingest_id"]
    ledger.remove_ingests([int(ingest_id)])
    (early,) = import_outcomes(
        ledger, [write(tmp_path, "r.csv", "request_id,outcome\nr1,success\n")]
    )
    assert early.unmatched == 1  # its usage was taken out with its ingest
    ingest_files(ledger, [usage(tmp_path)])
    ops = week(ledger)[("ops", "triage")]
    assert (ops["successful_outcomes"], ops["cost_per_successful_outcome"]) == (1, CALL)


def test_requests_map_to_the_same_groups_whether_or_not_the_file_is_in_ledger_form(
    ledger, tmp_path
):
    """A file already in ledger form is indexed without grouping again: its requests must
    land in the groups a file needing normalisation (padded, upper-case text) gives."""
    from forecast.ledger import Ledger

    def calls(team: str, status: str) -> str:
        rows = ["timestamp,team,feature,model,request_id,status,input_tokens,output_tokens"]
        rows += [f"2026-03-02T10:0{i}:00Z,{team},triage,gpt-4o,r{i},{status},1000,100"
                 for i in range(1, 5)]  # fmt: skip
        rows.append("2026-03-02T11:00:00Z,ops,triage,gpt-4o,r5,error,1000,100")
        return "\n".join(rows) + "\n"

    ingest_files(ledger, [write(tmp_path, "ready.csv", calls("ops", "success"))])
    with Ledger(tmp_path / "other.duckdb") as other:
        ingest_files(other, [write(tmp_path, "loose.csv", calls(" ops ", "SUCCESS"))])
        pairs = "SELECT unnest(ks) AS k, g FROM request_groups ORDER BY k"
        loose = other.con.execute(pairs).fetchall()
    ready = ledger.con.execute(pairs).fetchall()
    assert ready == loose and len(ready) == 5
    assert len({g for _, g in ready}) == 2  # 10:00 success (r1-r4) and 11:00 error (r5)
    found = [json.dumps({"request_id": f"r{i}", "outcome": "success"}) for i in (1, 2, 5)]
    import_outcomes(ledger, [write(tmp_path, "o.jsonl", "\n".join(found) + "\n")])
    ops = week(ledger)[("ops", "triage")]
    # three outcomes, three calls' cost: r5's failed call counts at its own group's cost
    assert (ops["successful_outcomes"], ops["outcome_attempts"]) == (3, 3)
    assert ops["cost_per_successful_outcome"] == pytest.approx(CALL)


def test_an_outcome_follows_its_request_out_with_its_ingest_and_into_a_revised_one(
    ledger, tmp_path
):
    """An outcome is matched to its request's usage group once; removing that usage
    unmatches it, and a revised export that puts the request in another group (it failed
    after all) matches it there."""
    ingest_files(ledger, [usage(tmp_path)])
    import_outcomes(ledger, [write(tmp_path, "r.csv", "request_id,outcome\nr1,success\n")])
    assert week(ledger)[("ops", "triage")]["successful_outcomes"] == 1
    (ingest_id,) = ledger.ingests()["ingest_id"]
    ledger.remove_ingests([int(ingest_id)])
    assert ledger.con.execute("SELECT g FROM outcome_requests").fetchall() == [(None,)]
    # the same calls again, r1 now an error at 10:01 and three times the tokens: its own group
    revised = usage(tmp_path).read_text().replace(
        "10:01:00Z,ops,triage,gpt-4o,r1,success,1,1000,100",
        "10:01:00Z,ops,triage,gpt-4o,r1,error,1,3000,300")  # fmt: skip
    ingest_files(ledger, [write(tmp_path, "u2.csv", revised)])
    ops = week(ledger)[("ops", "triage")]
    assert (ops["successful_outcomes"], ops["outcome_attempts"]) == (1, 1)
    assert ops["cost_per_successful_outcome"] == pytest.approx(3 * CALL)


def test_a_ledger_that_kept_a_row_per_request_is_converted_on_opening(tmp_path):
    """Ledgers of the version before kept (k, g, ingest_id) per request and matched outcomes
    on every read: opened, they keep a list of keys per group and each outcome its group,
    with the same KPIs."""
    from forecast.ledger import Ledger

    path = tmp_path / "old.duckdb"
    with Ledger(path) as ledger:
        ingest_files(ledger, [usage(tmp_path)])
        import_outcomes(ledger, [write(tmp_path, "r.csv", "request_id,outcome\nr1,success\n"
                                       "r2,failure\nr5,success\n")])  # fmt: skip
        before = week(ledger)[("ops", "triage")]
        # back to the older layout: one row per request id, outcomes without their group
        ledger.con.execute("""CREATE TABLE flat AS SELECT unnest(ks) AS k, g, ingest_id
                              FROM request_groups""")  # fmt: skip
        ledger.con.execute("DROP TABLE request_groups")
        ledger.con.execute("ALTER TABLE flat RENAME TO request_groups")
        ledger.con.execute("ALTER TABLE outcome_requests DROP COLUMN g")
    # a reader asks a writer to convert it: this process holds no other, so that is done
    with Ledger(path, read_only=True) as reader:
        assert reader.con.execute("SELECT count(*) FROM request_groups").fetchall()[0][0] == 2
        after = week(reader)[("ops", "triage")]
        assert reader.con.execute("SELECT count(*) FROM outcome_requests WHERE g IS NULL"
                                  ).fetchall()[0][0] == 0  # fmt: skip
    assert (after["successful_outcomes"], after["outcome_attempts"]) == (2, 3)
    assert after["cost_per_successful_outcome"] == before["cost_per_successful_outcome"]


def test_an_outcome_day_outside_1971_to_2200_is_refused(ledger, tmp_path):
    from forecast.outcomes import import_outcomes

    (tmp_path / "o.csv").write_text(
        "date,team,feature,successes,attempts\n2026-06-01,a,b,1,2\n9999-12-31,a,b,1,2\n"
    )
    with pytest.raises(DataFormatError, match="a day between 1971 and 2200") as e:
        import_outcomes(ledger, [tmp_path / "o.csv"])
    assert (e.value.line, e.value.field) == (3, "date")
