"""The effective-dated price book: snapshot names, dates, tiers, layers, LiteLLM import."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from forecast.config import load_config
from forecast.errors import ConfigError, UnknownModelError, UnpricedModelError
from forecast.pricing import PriceBook, PriceEntry, load_price_book, resolve_model_name

D = dt.date


@pytest.fixture(scope="module")
def book():
    return load_price_book()


@pytest.mark.parametrize(
    ("billed", "entry"),
    [
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4o-2024-05-13", "gpt-4o-2024-05-13"),  # an exact snapshot entry wins
        ("GPT-4o", "gpt-4o"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-3-5-sonnet-latest", "claude-3-5-sonnet"),
        ("anthropic.claude-3-5-sonnet-20240620-v1:0", "claude-3-5-sonnet"),
        ("us.anthropic.claude-sonnet-4-20250514-v1:0", "claude-sonnet-4"),
        ("openai/gpt-4.1-mini", "gpt-4.1-mini"),
        ("gemini-1.5-pro-002", "gemini-1.5-pro"),
        ("models/gemini-2.5-flash", "gemini-2.5-flash"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
    ],
)
def test_billed_names_resolve_to_their_entry(book, billed, entry):
    assert book.resolve(billed) == entry


def test_unknown_names_do_not_resolve_to_a_neighbour(book):
    assert book.resolve("gpt-4o-ultra") is None
    assert resolve_model_name("claude-9", {"claude-3-haiku"}) is None


def test_price_follows_the_usage_date(book):
    # o3 cost $10/$40 from launch and $2/$8 from the 2025-06-10 cut
    assert book.price("o3", D(2025, 6, 9)).input == 10.00
    assert book.price("o3-2025-04-16", D(2025, 6, 10)).input == 2.00
    assert book.price("o3", D(2025, 6, 10)).output == 8.00
    with pytest.raises(UnknownModelError, match="first price takes effect 2025-04-16"):
        book.price("o3", D(2025, 1, 1))


def test_tiers_and_defaults(book):
    batch = book.price("gpt-4.1", D(2025, 9, 1), "batch")
    assert (batch.input, batch.output) == (1.00, 4.00)
    # no cache prices listed: cache reads and writes are billed as input
    plain = book.price("gpt-4-turbo", D(2025, 1, 1)).per_token_kind()
    assert plain["cached_input"] == plain["input"] == plain["cache_write"] == 10.00
    with pytest.raises(UnknownModelError, match="no priority price"):
        book.price("gpt-4.1", D(2025, 9, 1), "priority")


def test_every_bundled_entry_has_a_source_and_three_providers(book):
    assert all(e.source for e in book.entries)
    assert {e.provider for e in book.entries} >= {"openai", "anthropic", "google"}


def test_unpriced_error_names_every_model():
    small = PriceBook([PriceEntry(model="a", effective=D(2025, 1, 1), input=1, output=1)])
    with pytest.raises(UnpricedModelError) as info:
        small.require_prices(
            [("a", "standard", D(2024, 12, 31)), ("b", "standard", D(2025, 1, 1)),
             ("a", "batch", D(2025, 2, 1))]
        )  # fmt: skip
    assert info.value.models == [
        "a (batch tier)",
        "a: used from 2024-12-31, first price 2025-01-01",
        "b",
    ]
    assert "prices:" in info.value.hint


def test_config_entries_override_the_bundled_book(tmp_path):
    (tmp_path / "costcast.yaml").write_text(
        "prices:\n  entries:\n"
        "    - {model: gpt-4o, effective: 2026-01-01, input: 2.00, output: 8.00,"
        " source: negotiated}\n"
        "    - {model: acme-chat-1, provider: acme, effective: 2026-01-01, input: 1, output: 2}\n"
    )
    book = load_price_book(load_config(tmp_path / "costcast.yaml"))
    assert book.price("gpt-4o", D(2025, 12, 31)).input == 2.50  # bundled, before the override
    assert book.price("gpt-4o", D(2026, 1, 1)).source == "negotiated"
    assert book.provider_of("acme-chat-1") == "acme"


def test_litellm_map_import(tmp_path):
    price_map = {
        "sample_spec": {"input_cost_per_token": 0},
        "acme-chat-1": {
            "litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 2.5e-06,
            "output_cost_per_token": 1e-05, "cache_read_input_token_cost": 1.25e-06,
            "input_cost_per_token_batches": 1.25e-06, "output_cost_per_token_batches": 5e-06,
        },
        "vertex_ai/acme-embed": {"litellm_provider": "vertex_ai-embedding-models",
                                 "input_cost_per_token": 1e-07, "output_cost_per_token": 0},
    }  # fmt: skip
    (tmp_path / "map.json").write_text(json.dumps(price_map))
    (tmp_path / "costcast.yaml").write_text(
        "prices:\n  litellm_map: {path: map.json, effective: 2026-02-01}\n"
    )
    book = load_price_book(load_config(tmp_path / "costcast.yaml"))
    std = book.price("acme-chat-1", D(2026, 2, 1))
    assert (std.input, std.cached_input, std.output) == (2.5, 1.25, 10.0)
    batch = book.price("acme-chat-1", D(2026, 2, 1), "batch")
    assert (batch.input, batch.output) == (1.25, 5.0)
    assert book.provider_of("vertex_ai/acme-embed") == "google"
    with pytest.raises(UnknownModelError):
        book.price("acme-chat-1", D(2026, 1, 31))


def test_bad_price_entry_is_located(tmp_path):
    (tmp_path / "costcast.yaml").write_text(
        "prices:\n  entries:\n    - {model: x, effective: 2026-01-01, input: -1, output: 1}\n"
    )
    with pytest.raises(ConfigError, match="greater than or equal to 0") as info:
        load_config(tmp_path / "costcast.yaml")
    assert (info.value.line, info.value.field) == (3, "prices.entries[0].input")


def test_prices_on_many_days_change_on_the_effective_day():
    book = PriceBook([
        PriceEntry(model="m", effective=dt.date(2026, 1, 1), input=2.0, output=8.0),
        PriceEntry(model="m", effective=dt.date(2026, 3, 1), input=1.0, output=4.0,
                   cached_input=0.25),
        PriceEntry(model="m", tier="batch", effective=dt.date(2026, 1, 1), input=1.0, output=4.0),
    ])  # fmt: skip
    import pandas as pd

    days = pd.date_range("2026-02-27", "2026-03-02", freq="D")
    prices = book.on_days("m", days)
    assert list(prices["input"]) == [2.0, 2.0, 1.0, 1.0]
    assert list(prices["output"]) == [8.0, 8.0, 4.0, 4.0]
    # the same, entry by entry, through the one-day lookup
    for i, day in enumerate(days):
        entry = book.price("m", day.date())
        assert prices["cached_input"][i] == entry.per_token_kind()["cached_input"]
    assert list(book.on_days("m", days, "batch")["input"]) == [1.0] * 4
    with pytest.raises(UnknownModelError, match="first price takes effect 2026-01-01"):
        book.on_days("m", pd.date_range("2025-12-31", periods=3, freq="D"))
    with pytest.raises(UnknownModelError, match="has no flex price"):
        book.on_days("m", days, "flex")
