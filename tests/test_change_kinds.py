"""Every registered change kind, applied alone to one plain stream, against effects worked
out by hand. A kind added to the registry without an example here fails the first test."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from forecast.pricing import load_price_book
from forecast.scenario.changes import KINDS, REGISTRY
from forecast.scenario.schema import Scenario
from forecast.scenario.streams import Context, Stream

DAYS = pd.date_range("2026-07-01", periods=10, freq="D")
PATHS = 2
# gpt-4o in the bundled book: input 2.50, cached input 1.25, output 10.00 USD per million
INPUT, CACHED, OUTPUT = 2.5, 1.25, 10.0


def plain_stream(ctx: Context) -> Stream:
    """100 requests a day, 1,000 input and 100 output tokens each, 10% failing."""
    d = len(DAYS)
    intensity = {"input": np.full(d, 1000.0), "cached_input": np.zeros(d),
                 "cache_write": np.zeros(d), "output": np.full(d, 100.0)}  # fmt: skip
    return Stream("search", "ask", "gpt-4o", np.full((PATHS, d), 100.0), intensity,
                  np.full(d, 0.1), ctx.prices("gpt-4o", {"standard": 1.0}))  # fmt: skip


def day_cost(input_tokens: float, cached: float, output: float) -> float:
    return (input_tokens * INPUT + cached * CACHED + output * OUTPUT) / 1e6


BASE_UNIT = day_cost(1000, 0, 100)  # USD per request before any change
# kind -> (the change, as in a scenario file; expected cost per path over the 10 days)
EXAMPLES = {
    # 50 more requests a day at 200 in / 20 out, on top of the untouched stream
    "launch": (
        {
            "team": "search",
            "feature": "new",
            "model": "gpt-4o",
            "requests_per_day": 50,
            "input_tokens_per_request": 200,
            "output_tokens_per_request": 20,
        },
        10 * (100 * BASE_UNIT + 50 * day_cost(200, 0, 20)),
    ),
    # doubled from the sixth day
    "traffic": (
        {"feature": "ask", "factor": 2, "start": "2026-07-06"},
        (5 * 100 + 5 * 200) * BASE_UNIT,
    ),
    # half to a model priced 2.00 in / 8.00 out
    "route": (
        {"from_model": "gpt-4o", "to_model": "gpt-4.1", "share": 0.5},
        10 * (50 * BASE_UNIT + 50 * (1000 * 2.0 + 100 * 8.0) / 1e6),
    ),
    "price": ({"model": "gpt-4o", "discount": 0.5}, 10 * 100 * BASE_UNIT / 2),
    "tokens": ({"team": "search", "input_factor": 2}, 10 * 100 * day_cost(2000, 0, 100)),
    "cache": ({"cached_share": 0.5}, 10 * 100 * day_cost(500, 500, 100)),
    # no more failures: each success takes one call instead of 1 / 0.9
    "retries": ({"failure_rate": 0}, 10 * 90 * BASE_UNIT),
    # gone over a two-day ramp: 1/2 on the first day, nothing after
    "sunset": ({"feature": "ask", "ramp_days": 2}, 100 * BASE_UNIT / 2),
}


def test_every_registered_kind_has_an_example_and_a_schema_entry():
    assert set(EXAMPLES) == set(KINDS) == set(REGISTRY)
    schema = json.dumps(Scenario.model_json_schema())
    for kind, cls in REGISTRY.items():
        assert f'"const": "{kind}"' in schema, kind
        assert cls.__doc__, kind  # the description a scenario editor shows


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_a_kind_alone_changes_cost_as_worked_out_by_hand(kind):
    fields, expected = EXAMPLES[kind]
    change = REGISTRY[kind].model_validate({"kind": kind, "start": "2026-07-01", **fields})
    ctx = Context(DAYS, PATHS, load_price_book())
    before = plain_stream(ctx)
    frozen = (before.volume.copy(), {k: v.copy() for k, v in before.intensity.items()},
              {k: np.copy(v) for k, v in before.prices.items()}, before.failure.copy())  # fmt: skip
    values = {name: getattr(change, name) for name in type(change).model_fields}
    after = change.apply([before], values, change.weight(DAYS), ctx)
    total = sum(s.total() for s in after)
    assert np.allclose(total, expected, rtol=1e-9)
    # pure: the stream it was given is as it was
    assert np.array_equal(before.volume, frozen[0]) and np.array_equal(before.failure, frozen[3])
    assert all(np.array_equal(before.intensity[k], frozen[1][k]) for k in frozen[1])
    assert all(np.array_equal(before.prices[k], frozen[2][k]) for k in frozen[2])


def test_targets_are_the_streams_a_change_selects():
    ctx = Context(DAYS, PATHS, load_price_book())
    stream = plain_stream(ctx)
    other = Stream("billing", "ask", "gpt-4.1", stream.volume, stream.intensity,
                   stream.failure, stream.prices)  # fmt: skip
    traffic = REGISTRY["traffic"].model_validate(
        {"kind": "traffic", "start": "2026-07-01", "team": "search", "factor": 2}
    )
    assert traffic.targets([other, stream], ctx) == [1]
    route = REGISTRY["route"].model_validate(
        {"kind": "route", "start": "2026-07-01", "from_model": "gpt-4.1", "to_model": "gpt-4o",
         "share": 1}
    )  # fmt: skip
    assert route.targets([other, stream], ctx) == [0]  # a route selects by from_model
    launch = REGISTRY["launch"].model_validate(
        {"kind": "launch", "start": "2026-07-01", **EXAMPLES["launch"][0]}
    )
    assert launch.targets([other, stream], ctx) == []  # it adds a stream of its own


def test_a_tier_price_change_moves_only_that_tiers_share_of_the_blend():
    """A stream priced 3/4 standard, 1/4 batch: a batch discount cuts only the batch quarter
    (worked out from the book's two gpt-4o entries), and a flex price touches nothing."""
    import datetime as dt

    book = load_price_book()
    ctx = Context(DAYS, PATHS, book)
    tiers = {"standard": 0.75, "batch": 0.25}
    base = plain_stream(ctx)
    stream = Stream(base.team, base.feature, base.model, base.volume, base.intensity,
                    base.failure, ctx.prices("gpt-4o", tiers), tiers)  # fmt: skip
    per_request = {
        tier: day_cost_with(book.price("gpt-4o", dt.date(2026, 7, 1), tier), 1000, 100)
        for tier in tiers
    }
    before = 10 * 100 * (0.75 * per_request["standard"] + 0.25 * per_request["batch"])
    assert np.allclose(stream.total(), before)

    def after(tier: str) -> np.ndarray:
        change = REGISTRY["price"].model_validate(
            {"kind": "price", "model": "gpt-4o", "discount": 0.5, "tier": tier,
             "start": "2026-07-01"}
        )  # fmt: skip
        values = {n: getattr(change, n) for n in type(change).model_fields}
        assert change.targets([stream], ctx) == ([0] if tier in tiers else [])
        return sum(s.total() for s in change.apply([stream], values, change.weight(DAYS), ctx))

    assert np.allclose(after("batch"), before - 10 * 100 * 0.25 * 0.5 * per_request["batch"])
    assert np.allclose(after("standard"), before - 10 * 100 * 0.75 * 0.5 * per_request["standard"])
    assert np.allclose(after("flex"), before)


def day_cost_with(entry, input_tokens: float, output_tokens: float) -> float:
    return (input_tokens * entry.input + output_tokens * entry.output) / 1e6
