"""The change kinds a scenario may hold, registered in one place.

A kind is one module here: a pydantic model (its schema) with ``targets`` and
``apply`` (see ``base``). Add the class to ``REGISTRY``; ``KINDS``, the scenario
schema, its JSON Schema and the engine all follow from it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Union

from pydantic import Field

from forecast.scenario.changes.base import ChangeKind, Names, Number, Range
from forecast.scenario.changes.cache import Cache
from forecast.scenario.changes.launch import Launch
from forecast.scenario.changes.price import Price
from forecast.scenario.changes.retries import Retries
from forecast.scenario.changes.route import Route
from forecast.scenario.changes.sunset import Sunset
from forecast.scenario.changes.tokens import Tokens
from forecast.scenario.changes.traffic import Traffic

REGISTRY: dict[str, type[ChangeKind]] = {
    cls.model_fields["kind"].annotation.__args__[0]: cls  # type: ignore[union-attr]
    for cls in (Launch, Traffic, Route, Price, Tokens, Cache, Retries, Sunset)
}
KINDS = tuple(REGISTRY)

if TYPE_CHECKING:
    Change = ChangeKind
else:
    # one tagged union of every registered kind: pydantic picks the class by ``kind``
    Change = Annotated[Union[tuple(REGISTRY.values())], Field(discriminator="kind")]  # noqa: UP007

__all__ = ["KINDS", "REGISTRY", "Change", "ChangeKind", "Names", "Number", "Range"]
