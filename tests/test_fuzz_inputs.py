"""Any bytes a user can hand costcast end in a located costcast error, never another
exception: every usage and bill adapter, and detection, fed arbitrary JSON documents,
JSON shaped like their own formats but wrong, and arbitrary text and bytes."""

from __future__ import annotations

import json
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forecast.billed import import_billed
from forecast.deployments import import_deployments
from forecast.errors import CostcastError
from forecast.ingest import ingest_files
from forecast.ledger import Ledger
from forecast.outcomes import import_outcomes
from forecast.sources import SOURCES

pytestmark = pytest.mark.slow

BILLED = ("openai_costs", "anthropic_costs", "focus")
JSON_FORMATS = [n for n in SOURCES if n != "canonical"] + ["openai_costs", "anthropic_costs"]

scalars = (
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8)
)
documents = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
EDGES = st.sampled_from(
    ["0001-01-01", "9999-12-31T23:59:59Z", "1970-12-31T23:00:00Z", "2201-01-01"]
)
# Keys the formats really use, so that documents get past the first checks.
KEYS = ["object", "data", "results", "start_time", "end_time", "starting_at", "ending_at",
        "resourceSpans", "scopeSpans", "spans", "attributes", "key", "value", "stringValue",
        "intValue", "model", "usage", "usageDetails", "input_tokens", "output_tokens",
        "amount", "currency", "value", "line_item", "project_id", "startTime", "endTime",
        "has_more", "num_model_requests", "timestamp", "cost", "response_cost", "status"]  # fmt: skip
shaped = st.recursive(
    # times at the calendar's edges too: a year 1 or 9999 once ended in an overflow
    scalars | st.sampled_from(["page", "2026-01-01T00:00:00Z", "usd", "gpt-4o"]) | EDGES,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)
    ),
    max_leaves=25,
)
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))  # fmt: skip


@pytest.fixture(scope="module")
def ledger(tmp_path_factory):
    with Ledger(tmp_path_factory.mktemp("fuzz") / "l.duckdb") as opened:
        yield opened


def feed(ledger, folder, name: str, body: bytes, fmt: str | None) -> None:
    path = folder / name
    path.write_bytes(body)
    try:
        if fmt in BILLED:
            import_billed(ledger, [path], fmt)
        elif fmt in SIGNALS:
            SIGNALS[fmt](ledger, [path])
        else:
            ingest_files(ledger, [path], fmt=fmt)
    except CostcastError as exc:
        assert str(exc)  # says what, and where
    finally:
        path.unlink()


@pytest.mark.parametrize("fmt", [*JSON_FORMATS, None])
@SETTINGS
@given(doc=documents | shaped)
def test_any_json_document_is_a_located_error_or_ingested(ledger, tmp_path_factory, fmt, doc):
    folder = tmp_path_factory.getbasetemp()
    feed(ledger, folder, "doc.json", json.dumps(doc).encode(), fmt)


@pytest.mark.parametrize("fmt", ["canonical", "focus", None])
@SETTINGS
@given(text=st.text(alphabet=string.printable + "é\x00\r", max_size=300))
def test_any_text_is_a_located_error_or_ingested(ledger, tmp_path_factory, fmt, text):
    folder = tmp_path_factory.getbasetemp()
    feed(ledger, folder, "file.csv", text.encode("utf-8", "surrogatepass"), fmt)


@SETTINGS
@given(
    body=st.binary(max_size=300),
    name=st.sampled_from(["x.csv", "x.json", "x.csv.gz", "x.jsonl", "x.parquet", "x"]),
)
def test_any_bytes_under_any_name_are_a_located_error_or_ingested(
    ledger, tmp_path_factory, body, name
):
    feed(ledger, tmp_path_factory.getbasetemp(), name, body, None)


SIGNALS = {"outcomes": import_outcomes, "deployments": import_deployments}
SIGNAL_KEYS = ["request_id", "outcome", "date", "team", "feature", "successes", "attempts",
               "id", "time", "description"]  # fmt: skip
signal_values = (
    scalars | st.sampled_from(["success", "failure", "0.5", "2026-03-01", "ops"]) | EDGES
)
signal_rows = st.dictionaries(st.sampled_from(SIGNAL_KEYS), signal_values, max_size=6)


@pytest.mark.parametrize("kind", list(SIGNALS))
@SETTINGS
@given(rows=st.lists(signal_rows | documents, max_size=4), lines=st.booleans())
def test_any_outcome_or_deployment_records_are_a_located_error_or_imported(
    ledger, tmp_path_factory, kind, rows, lines
):
    body = "\n".join(json.dumps(r) for r in rows) if lines else json.dumps(rows)
    feed(ledger, tmp_path_factory.getbasetemp(), "s.jsonl" if lines else "s.json",
         body.encode(), kind)  # fmt: skip


@pytest.mark.parametrize("kind", list(SIGNALS))
@SETTINGS
@given(
    header=st.sampled_from(["request_id,outcome", "date,team,feature,successes,attempts",
                            "id,time,team,feature,description", ""]),
    text=st.text(alphabet=string.printable + "é\x00\r", max_size=200),
    name=st.sampled_from(["s.csv", "s", "s.json"]),
)  # fmt: skip
def test_any_text_or_bytes_as_outcomes_or_deployments_are_a_located_error(
    ledger, tmp_path_factory, kind, header, text, name
):
    body = f"{header}\n{text}".encode("utf-8", "surrogatepass")
    feed(ledger, tmp_path_factory.getbasetemp(), name, body, kind)
    feed(ledger, tmp_path_factory.getbasetemp(), name, text.encode("utf-16"), kind)


def test_deep_nesting_is_a_located_error(ledger, tmp_path):
    for fmt in (None, "langfuse"):
        feed(ledger, tmp_path, "deep.json", b"[" * 100_000 + b"]" * 100_000, fmt)
