"""Map the raw ids real exports carry (project, workspace, API key, metadata) to team and feature.

Rules come from costcast.yaml and are tried in order; for each of team and
feature the first matching rule that sets it wins. Whatever no rule maps keeps
its raw id, prefixed by the id's kind (``project_id:proj_abc``), so unmapped
spend stays visible instead of vanishing into "unassigned".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase

from pydantic import BaseModel, ConfigDict, Field

UNASSIGNED = "unassigned"


class AttributionRule(BaseModel):
    """``match`` maps attribute names to values (shell-style wildcards allowed)."""

    model_config = ConfigDict(extra="forbid")

    match: dict[str, str] = Field(min_length=1)
    team: str | None = None
    feature: str | None = None

    def matches(self, attrs: Mapping[str, object]) -> bool:
        for key, pattern in self.match.items():
            value = attrs.get(key)
            if value is None or not fnmatchcase(str(value), pattern):
                return False
        return True


def attribute(
    attrs: Mapping[str, object],
    rules: Sequence[AttributionRule],
    team_from: Sequence[str],
    feature_from: Sequence[str],
) -> tuple[str, str]:
    """(team, feature) for one record's raw attributes.

    ``team_from`` / ``feature_from`` name, in order of preference, the raw
    attributes whose value stands in (with its kind as prefix) when no rule
    sets the field.
    """
    team = feature = None
    for rule in rules:
        wanted = (team is None and rule.team) or (feature is None and rule.feature)
        if wanted and rule.matches(attrs):
            team = team or rule.team
            feature = feature or rule.feature
        if team and feature:
            break
    return team or _fallback(attrs, team_from), feature or _fallback(attrs, feature_from)


def _fallback(attrs: Mapping[str, object], kinds: Sequence[str]) -> str:
    for kind in kinds:
        value = attrs.get(kind)
        if value not in (None, ""):
            return f"{kind}:{value}"
    return UNASSIGNED
