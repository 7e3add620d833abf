"""Sending alerts on: a generic webhook (the alerts as JSON) or a Slack-compatible incoming
webhook (one message), each POSTed with retries and every attempt logged.

A delivery that still fails after its retries is reported, never raised: the alerts are in
the ledger already, and the next check does not send them again (it sends what is new).
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from forecast.watch.record import contributors_text, scope_text

log = logging.getLogger("costcast.watch")
RETRY_PAUSES = (0.5, 2.0)  # seconds before the second and the third attempt


class Target(BaseModel):
    """One place alerts go: ``url`` and its ``format`` (``json`` or ``slack``)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(pattern=r"^https?://\S+$")
    format: Literal["json", "slack"] = "json"
    timeout_seconds: float = Field(default=5.0, gt=0, le=60)


@dataclass
class Delivery:
    url: str
    ok: bool
    attempts: int
    error: str | None = None


def deliver(targets: list[Target], records: list[dict[str, Any]],
            pauses: tuple[float, ...] = RETRY_PAUSES) -> list[Delivery]:  # fmt: skip
    """POST ``records`` (alerts as ``Alert.to_dict()`` with a ``status``) to every target;
    nothing when there are none."""
    if not records:
        return []
    return [_post(t, _body(t, records), pauses) for t in targets]


def _body(target: Target, records: list[dict[str, Any]]) -> bytes:
    if target.format == "json":
        return json.dumps({"alerts": records}, default=str).encode()
    lines = [_line(r) for r in records]
    return json.dumps({"text": "costcast: " + "\n".join(lines)}).encode()


def _line(record: dict[str, Any]) -> str:
    text = (f"{record['rule']} {record.get('status', 'fired')} for {scope_text(record['scope'])} at "
            f"{record['fired_at']}: {record['value']:.4g} against {record['threshold']:.4g}")  # fmt: skip
    top = contributors_text(record.get("contributors") or [])
    escalates, runs_out = record.get("escalates"), record.get("exhaustion_date")
    return (text + (f" (mostly {top})" if top else "")
            + (f", escalating the alert of {escalates}" if escalates else "")
            + (f", the budget runs out on {runs_out}" if runs_out else ""))  # fmt: skip


def _post(target: Target, body: bytes, pauses: tuple[float, ...]) -> Delivery:
    error = None
    for attempt in range(1, len(pauses) + 2):
        request = urllib.request.Request(target.url, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=target.timeout_seconds) as answer:
                log.info("alerts sent to %s (attempt %d): HTTP %d", target.url, attempt,
                         answer.status)  # fmt: skip
                return Delivery(target.url, True, attempt)
        except urllib.error.HTTPError as exc:
            error = f"HTTP {exc.code}"
            if exc.code < 500 and exc.code != 429:  # the request is wrong: sending again won't help
                log.warning("alerts to %s refused: %s", target.url, error)
                return Delivery(target.url, False, attempt, error)
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            error = str(getattr(exc, "reason", exc))
        log.warning("alerts to %s failed (attempt %d): %s", target.url, attempt, error)
        if attempt <= len(pauses):
            time.sleep(pauses[attempt - 1])
    return Delivery(target.url, False, len(pauses) + 1, error)
