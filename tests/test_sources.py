"""Each source's token meanings, converted to the canonical record; expected values by hand."""

from __future__ import annotations

import pytest
from conftest import totals

from forecast.attribution import AttributionRule
from forecast.errors import DataFormatError
from forecast.ingest import ingest_files
from forecast.sources import SourceContext


def rows(ledger):
    return ledger.con.execute(
        """SELECT ts::VARCHAR, bucket, team, feature, model, provider, service_tier, status,
                  "user", deployment, requests, input_tokens, cached_input_tokens,
                  cache_write_tokens, output_tokens, reported_cost_usd
           FROM usage ORDER BY ts, model"""
    ).fetchall()


def test_openai_2026_meaning_keeps_cache_writes_apart_and_ignores_audio(ledger, fixture_path):
    (result,) = ingest_files(ledger, [fixture_path("openai_2026_page.json")])
    assert result.format == "openai-usage"
    assert result.rows_added == 2
    # 12000 + 10000 input; audio (500) is already inside input_tokens in the 2026 meaning
    assert totals(ledger) == {
        "rows": 2, "requests": 50, "input": 22000, "cached": 5000, "write": 1500,
        "output": 3300, "reported_cost": None,
    }  # fmt: skip
    by_model = {r[4]: r for r in rows(ledger)}
    mini = by_model["gpt-4o-mini-2024-07-18"]
    assert mini[:9] == (
        "2026-08-01 00:00:00", "1d", "project_id:proj_demo", "unassigned",
        "gpt-4o-mini-2024-07-18", "openai", "standard", "success", "",
    )  # fmt: skip
    big = by_model["gpt-4.1-2025-04-14"]
    assert big[2:4] == ("project_id:proj_search", "api_key_id:key_1")
    assert big[6] == "batch" and big[8] == "user_abc"


def test_openai_2024_meaning_adds_audio_to_input(ledger, fixture_path):
    (result,) = ingest_files(ledger, [fixture_path("openai_2024_pages.json")])
    assert result.rows_added == 2
    # page 1: 8000 text (cached included) + 500 audio; page 2: 2000
    assert totals(ledger)["input"] == 10500
    assert totals(ledger)["cached"] == 1000
    assert totals(ledger)["write"] == 0
    assert [r[0] for r in rows(ledger)] == ["2025-01-15 00:00:00", "2025-01-15 01:00:00"]
    assert {r[1] for r in rows(ledger)} == {"1h"}


def test_openai_without_model_dimension_is_refused(ledger, tmp_path):
    path = tmp_path / "nomodel.json"
    path.write_text(
        '{"object": "page", "data": [{"object": "bucket", "start_time": 1785542400,'
        ' "end_time": 1785628800, "results": [{"object": "organization.usage.completions.result",'
        ' "input_tokens": 5, "output_tokens": 1, "num_model_requests": 1, "model": null}]}]}'
    )
    with pytest.raises(DataFormatError, match="group_by=model") as info:
        ingest_files(ledger, [path])
    assert info.value.record == 1 and info.value.field == "model"


def test_anthropic_usage_report_sums_uncached_cache_reads_and_writes(ledger, fixture_path):
    (result,) = ingest_files(ledger, [fixture_path("anthropic_usage_report.json")])
    assert result.format == "anthropic-usage"
    assert "no request count" in " ".join(result.notes)
    # the one row with 1-hour cache writes has 300 of them
    assert "300 cache-write token(s) had a 1-hour lifetime" in " ".join(result.notes)
    t = totals(ledger)
    # 410000 + 52000 + 0 + 1300000, and 1000 + 200 + 300 + 0
    assert t["input"] == 1_762_000 + 1_500
    assert t["cached"] == 1_300_000
    assert t["write"] == 52_000 + 500
    assert t["output"] == 88_050
    assert t["requests"] is None  # unknown, not zero
    haiku = next(r for r in rows(ledger) if r[4].startswith("claude-haiku"))
    assert haiku[2:4] == ("workspace_id:default", "api_key_id:apikey_01")
    assert haiku[6] == "batch"


def test_anthropic_analytics_rows_with_flat_cache_fields_and_requests(ledger, fixture_path):
    ingest_files(ledger, [fixture_path("anthropic_analytics.json")])
    assert totals(ledger) == {
        "rows": 1, "requests": 4, "input": 1000, "cached": 200, "write": 100, "output": 90,
        "reported_cost": None,
    }  # fmt: skip
    assert rows(ledger)[0][1] == "1h"


def test_litellm_spend_logs_read_cache_tokens_from_metadata(ledger, fixture_path):
    (result,) = ingest_files(ledger, [fixture_path("litellm_spendlogs.csv")])
    assert result.format == "litellm-spendlogs"
    t = totals(ledger)
    assert (t["requests"], t["input"], t["cached"], t["write"], t["output"]) == (
        3, 3500, 700, 200, 450,
    )  # fmt: skip
    assert t["reported_cost"] == pytest.approx(0.0142)
    got = {r[2]: r for r in rows(ledger)}
    # the failed call's metadata is empty, so only its raw team id is left
    assert set(got) == {"team_alias:search", "team_id:team-support", "team_id:team-search"}
    assert got["team_id:team-support"][3] == "metadata.feature:reply-drafts"
    assert got["team_id:team-support"][8] == "cust-9"  # end user wins over internal user
    statuses = ledger.con.execute(
        "SELECT status, sum(requests) FROM usage GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert statuses == [("error", 1), ("success", 2)]
    # offset-less LiteLLM times are UTC
    assert sorted({r[0] for r in rows(ledger)}) == ["2026-02-14 10:00:00", "2026-02-14 11:00:00"]


def test_langfuse_generations_add_details_back_and_skip_spans(ledger, fixture_path):
    (result,) = ingest_files(ledger, [fixture_path("langfuse_observations.json")])
    assert result.format == "langfuse"
    assert result.rows_added == 2
    assert "1 SPAN" in " ".join(result.notes)
    t = totals(ledger)
    # obs-1: 900 + 100 cached; obs-3: 500 + 2000 read + 300 write; outputs 250 and 120 + 30
    assert (t["input"], t["cached"], t["write"], t["output"]) == (3800, 2100, 300, 400)
    assert t["reported_cost"] == pytest.approx(0.004875)
    by_team = {r[2]: r for r in rows(ledger)}
    assert by_team["metadata.team:support"][7] == "error"
    assert by_team["metadata.team:support"][0] == "2026-03-02 10:00:00"  # 11:00+01:00
    assert by_team["environment:production"][3] == "name:answer"


def test_otel_spans_current_and_deprecated_names(ledger, fixture_path):
    (result,) = ingest_files(ledger, [fixture_path("otel_spans.jsonl")])
    assert result.format == "otel"
    assert "1 invoke_agent" in " ".join(result.notes)
    t = totals(ledger)
    assert (t["requests"], t["input"], t["cached"], t["write"], t["output"]) == (
        2, 5900, 4000, 0, 360,
    )  # fmt: skip
    by_model = {r[4]: r for r in rows(ledger)}
    claude = by_model["claude-sonnet-4-5-20250929"]
    assert claude[3] == "service.name:support-bot" and claude[9] == "2.3.1"
    assert claude[5] == "anthropic" and claude[7] == "success"
    old = by_model["gpt-4o"]
    assert old[5] == "openai" and old[7] == "error"


def test_canonical_csv_converts_offsets_to_utc_hours(ledger, fixture_path):
    ingest_files(ledger, [fixture_path("canonical.csv")])
    assert [(r[0], r[2], r[11]) for r in rows(ledger)] == [
        ("2026-03-01 09:00:00", "search", 2000),  # 10:45+01:00
        ("2026-03-01 10:00:00", "search", 1000),
        ("2026-03-01 11:00:00", "support", 500),
    ]


def test_attribution_rules_map_raw_ids(ledger, fixture_path):
    rules = [
        AttributionRule(match={"project_id": "proj_demo"}, team="growth", feature="onboarding"),
        AttributionRule(match={"project_id": "proj_*"}, team="platform"),
    ]
    ingest_files(
        ledger, [fixture_path("openai_2026_page.json")], context=SourceContext(attribution=rules)
    )
    got = sorted((r[2], r[3]) for r in rows(ledger))
    assert got == [("growth", "onboarding"), ("platform", "api_key_id:key_1")]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("parquet-looking.json", '{"something": "else"}'),
        ("random.csv", "a,b,c\n1,2,3\n"),
    ],
)
def test_undetectable_format_lists_the_formats(ledger, tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(DataFormatError, match="cannot tell which format") as info:
        ingest_files(ledger, [path])
    assert "openai-usage" in info.value.hint and "canonical" in info.value.hint


def test_file_that_is_not_what_format_says(ledger, fixture_path):
    with pytest.raises(DataFormatError, match="OpenAI usage pages"):
        ingest_files(ledger, [fixture_path("anthropic_usage_report.json")], fmt="openai-usage")
    with pytest.raises(DataFormatError, match="missing required column"):
        ingest_files(ledger, [fixture_path("litellm_spendlogs.csv")], fmt="canonical")
    assert totals(ledger)["rows"] == 0
