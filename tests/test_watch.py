"""Alert rules, episodes and state against hours worked out by hand."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from forecast.errors import CostcastError
from forecast.ingest import ingest_files
from forecast.pricing import load_price_book
from forecast.watch.alerts import episodes, replay
from forecast.watch.rules import AlertRules, FailureRule, SpikeRule, failures, hourly_spike
from forecast.watch.state import check, stored_alerts


def test_an_alert_opens_once_and_resolves_after_three_clear_hours():
    holds = np.array([0, 1, 1, 0, 1, 0, 0, 0, 1], dtype=bool)
    # opens at 1; the gap at 3 is one hour, not three; clear from 5 to 7: resolved at 5
    assert episodes(holds, 3) == [(1, 5), (8, None)]
    assert episodes(holds, 1) == [(1, 3), (4, 5), (8, None)]


def test_a_spike_must_clear_the_rise_the_spread_and_the_floor():
    weeks = np.full((3 * 168 + 3, 1), 10.0)  # 10 USD every hour for three weeks
    weeks[-3], weeks[-2], weeks[-1] = 20.0, 14.0, 15.5
    verdict = hourly_spike(weeks, SpikeRule())
    # baseline 10 (the same hour of the past weeks), spread 0: threshold 10 + max(3, 0, 5)
    assert verdict.threshold[-1, 0] == pytest.approx(15.0)
    assert list(verdict.holds[-3:, 0]) == [True, False, True]  # 14 is +40% but under +$5
    assert not verdict.holds[: 3 * 168, 0].any()  # a constant series never fires
    noisy = weeks.copy()
    noisy[-3 - 168] = 40.0  # one wild hour a week before: the spread grows, not the median
    assert hourly_spike(noisy, SpikeRule()).holds[-3, 0]  # median of 10, 40, 10 is 10
    assert np.isnan(hourly_spike(weeks[:48], SpikeRule()).threshold[:48]).all()  # too young


def spiky_ledger(ledger, tmp_path, hot: dict[dt.datetime, int], days: int = 25):
    """support/triage costs $10 an hour (gpt-4o-mini input at $0.15 per million) from
    2026-03-02 for ``days`` days, but the hours of ``hot`` (USD): more calls, each as long."""
    rows = []
    for h in range(24 * days):
        t = dt.datetime(2026, 3, 2) + dt.timedelta(hours=h)
        usd = hot.get(t, 10)
        tokens = usd * 20_000_000 // 3
        rows.append(
            f"{t:%Y-%m-%dT%H}:00:00Z,support,triage,gpt-4o-mini,u1,success,{usd * 10},{tokens},0"
        )
    (tmp_path / "u.csv").write_text(HEADER + "\n".join(rows) + "\n")
    ingest_files(ledger, [tmp_path / "u.csv"])


def test_a_spike_that_returns_the_next_day_is_one_alert(ledger, tmp_path):
    """$30 an hour on Monday 2026-03-23 and Tuesday from 10:00 to 12:59."""
    days = (dt.date(2026, 3, 23), dt.date(2026, 3, 24))
    hot = {dt.datetime.combine(d, dt.time(h)): 30 for d in days for h in (10, 11, 12)}
    spiky_ledger(ledger, tmp_path, hot)

    def spikes(rules: AlertRules) -> list[tuple[dt.datetime, dt.datetime | None]]:
        alerts = replay(ledger, load_price_book(), rules, dt.datetime(2026, 3, 23),
                        dt.datetime(2026, 3, 26, 23), contributors=False)  # fmt: skip
        return [(a.fired_at, a.resolved_at) for a in alerts if a.rule == "hourly_spike"]

    # $30 against a baseline of $10 (+200%, over the $5 floor) from 10:00 to 12:00 both days;
    # 21 quiet hours between them are fewer than a day: one alert, resolved at the first of
    # the 24 clear hours after Tuesday's last hot one
    assert spikes(AlertRules()) == [(dt.datetime(2026, 3, 23, 10), dt.datetime(2026, 3, 24, 13))]
    # three clear hours resolve it (as they do for other rules): one alert a day
    assert spikes(AlertRules(hourly_spike={"clear_hours": 3})) == [
        (dt.datetime(2026, 3, 23, 10), dt.datetime(2026, 3, 23, 13)),
        (dt.datetime(2026, 3, 24, 10), dt.datetime(2026, 3, 24, 13)),
    ]
    assert AlertRules(clear_hours=5).clear_hours_of("failures") == 5
    own = AlertRules(clear_hours=5, failures={"clear_hours": 6})
    assert (own.clear_hours_of("failures"), own.clear_hours_of("unpriced")) == (6, 5)
    assert (own.escalation_of("failures"), own.escalation_of("hourly_spike")) == (0.0, 2.0)


def test_a_young_ledger_judges_its_hours_against_what_it_holds_not_zeros(ledger, tmp_path):
    """Ten days of $10 an hour (from Monday 2026-03-02), $30 on 03-11 at 10:00, replayed
    from day 8: the weeks before the ledger's first hour are unknown, not weeks of zero."""
    spiky_ledger(ledger, tmp_path, {dt.datetime(2026, 3, 11, 10): 30}, days=10)
    alerts = replay(ledger, load_price_book(), AlertRules(), dt.datetime(2026, 3, 9),
                    dt.datetime(2026, 3, 11, 23), contributors=False)  # fmt: skip
    # one week back is known ($10), the three before it are not: fewer than two weeks, so
    # the baseline is the same hour of the last 7 days, $10 with no spread, and the
    # threshold $10 + max(30% of 10, 0, $5) = $15. As zeros, those weeks had made the
    # median of (10, 0, 0, 0) zero and every $10 hour from day 8 on an alert.
    assert [(a.rule, a.fired_at, a.value, a.threshold) for a in alerts] == [
        ("hourly_spike", dt.datetime(2026, 3, 11, 10), pytest.approx(30.0),
         pytest.approx(15.0)),
    ]  # fmt: skip


def test_an_open_spike_alert_escalates_when_the_excess_doubles():
    holds = np.array([0, 1, 1, 1, 0, 1, 0, 0, 0], dtype=bool)
    excess = np.array([0, 10, 15, 25, 0, 60, 0, 0, 0], dtype=float)
    assert episodes(holds, 3) == [(1, 6)]
    # opened with 10: 25 is 2.5 times that, so a new alert opens at 3 with 25; 60 >= 50 at 5
    assert episodes(holds, 3, None, excess, 2.0) == [(1, 3), (3, 5), (5, 6)]
    assert episodes(holds, 3, None, excess, 3.0) == [(1, 5), (5, 6)]  # 60 >= 3 x 10


@given(
    st.lists(st.tuples(st.booleans(), st.floats(0, 100)), max_size=60),
    st.integers(1, 5),
    st.sampled_from([0.0, 1.5, 2.0, 3.0]),
)
def test_episodes_cover_every_hot_hour_once(hours, clear_hours, escalate):
    holds = np.array([h for h, _ in hours], dtype=bool)
    excess = np.array([e for _, e in hours], dtype=float)
    found = episodes(holds, clear_hours, None, excess, escalate)
    # one alert at a time, each opening at an hour that holds
    ends = [len(holds) if end is None else end for _, end in found]
    assert all(holds[start] for start, _ in found)
    assert all(a < b for (a, _), b in zip(found, ends, strict=True))
    assert all(b <= a for b, (a, _) in zip(ends, found[1:], strict=False))
    # every hour that holds is inside an alert
    inside = np.zeros(len(holds), dtype=bool)
    for (start, _), end in zip(found, ends, strict=True):
        inside[start:end] = True
    assert not (holds & ~inside).any()
    # an alert ends at an escalation (the next opens there) or after clear_hours clear ones
    for k, (_, end) in enumerate(found):
        escalated = k + 1 < len(found) and found[k + 1][0] == end
        if end is not None and not escalated:
            assert not holds[end : end + clear_hours].any()
            assert end + clear_hours <= len(holds)
    # without escalation, the alerts are those of the plain rule
    if escalate == 0:
        assert found == episodes(holds, clear_hours)
    else:  # and it only ever splits them
        plain = episodes(holds, clear_hours)
        assert {s for s, _ in plain} <= {s for s, _ in found}


def test_a_check_resolves_what_escalated_or_cleared_while_no_check_ran(ledger, tmp_path):
    monday = dt.datetime(2026, 3, 23)
    hot = {monday.replace(hour=10): 30, monday.replace(hour=11): 30, monday.replace(hour=12): 70,
           monday.replace(day=26, hour=10): 30}  # fmt: skip
    spiky_ledger(ledger, tmp_path, hot)
    book, rules = load_price_book(), AlertRules()
    first = check(ledger, book, rules, monday.replace(hour=10))
    assert [(a.rule, a.fired_at, a.value) for a in first.fired] == [
        ("hourly_spike", monday.replace(hour=10), pytest.approx(30.0))
    ]
    # 12:00 costs $60 over its $10 baseline, three times the $20 the alert fired with: the
    # 10:00 alert closes at 12:00 and a new one fires there
    noon = check(ledger, book, rules, monday.replace(hour=12))
    assert [a.fired_at for a in noon.resolved] == [monday.replace(hour=10)]
    assert [a.resolved_at for a in noon.resolved] == [monday.replace(hour=12)]
    assert [(a.fired_at, a.value, a.escalates) for a in noon.fired] == [
        (monday.replace(hour=12), pytest.approx(70.0), monday.replace(hour=10))
    ]
    assert [r["status"] for r in noon.records()] == ["fired", "resolved"]
    assert noon.records()[0]["escalates"] == "2026-03-23T10:00:00"
    # no check from then until Thursday 10:00, $30 again: the noon alert cleared at 13:00
    # (24 clear hours followed); Thursday's is a new alert, not the old one still open
    thursday = check(ledger, book, rules, monday.replace(day=26, hour=10))
    assert [(a.fired_at, a.resolved_at) for a in thursday.resolved] == [
        (monday.replace(hour=12), monday.replace(hour=13))
    ]
    assert [(a.fired_at, a.escalates) for a in thursday.fired] == [
        (monday.replace(day=26, hour=10), None)  # a new alert, not an escalation
    ]
    stored = stored_alerts(ledger)  # newest first
    assert len(stored) == 3 and stored["resolved_at"].isna().sum() == 1
    assert stored["escalates"].isna().tolist() == [True, False, True]


def test_failed_share_over_three_hours_by_hand():
    requests = np.full((6, 1), 100.0)
    failed = np.array([[2.0], [2.0], [2.0], [8.0], [8.0], [2.0]])
    verdict = failures(requests, failed, FailureRule(confidence=0))  # the share alone
    # hour 3: (2 + 2 + 8) / 300 = 4%; hour 4: 18 / 300 = 6%; hour 5: 18 / 300 = 6%
    assert verdict.value[3, 0] == pytest.approx(12 / 300)
    assert list(verdict.holds[:, 0]) == [False, False, False, False, True, True]
    few = failures(requests / 100, failed / 100, FailureRule(confidence=0))  # 3 requests
    assert not few.holds.any()
    # by default 18 of 300 is not enough (its 95% lower bound is 4.1%): chance gives 6% of
    # 300 requests often enough where 5% fail
    assert not failures(requests, failed, FailureRule()).holds.any()
    # the same share of ten times the requests is
    assert failures(requests * 10, failed * 10, FailureRule()).holds[:, 0].tolist() == [
        False, False, False, False, True, True]  # fmt: skip


def test_the_failed_share_must_pass_its_threshold_beyond_chance():
    """The rule's Wilson lower bound against scipy's Wilson interval (a one-sided 95% bound
    is a two-sided 90% interval's lower end)."""
    from scipy.stats import binomtest

    from forecast.watch.rules import wilson_lower

    for k, n in [(18, 300), (30, 300), (180, 3000), (0, 50), (50, 50), (103, 700)]:
        want = binomtest(k, n).proportion_ci(0.90, method="wilson").low
        assert wilson_lower(np.array([k / n]), np.array([n]), 0.95)[0] == pytest.approx(want)
    # 20 of 300 (6.7%): the bound is 4.7%, under 5%; 30 of 300 (10%): 7.5%; 180 of 3000
    # (6%): 5.3%, over
    low = wilson_lower(np.array([20 / 300, 30 / 300, 180 / 3000]), np.array([300, 300, 3000]), 0.95)
    assert (low > 0.05).tolist() == [False, True, True]


HEADER = "timestamp,team,feature,model,user,status,requests,input_tokens,output_tokens\n"


def incident_ledger(ledger, tmp_path):
    """support/triage on gpt-4o-mini: 200 calls an hour for three weeks, 1 failing; on
    2026-03-23 from 10:00 to 12:59 a retry loop from user u7: 100 more calls an hour, failing."""
    rows = []
    start = dt.datetime(2026, 3, 2)
    for h in range(24 * 22):
        t = start + dt.timedelta(hours=h)
        rows.append(
            f"{t:%Y-%m-%dT%H}:00:00Z,support,triage,gpt-4o-mini,u1,success,199,199000,19900"
        )
        rows.append(f"{t:%Y-%m-%dT%H}:00:00Z,support,triage,gpt-4o-mini,u2,error,1,1000,0")
        if dt.datetime(2026, 3, 23, 10) <= t < dt.datetime(2026, 3, 23, 13):
            rows.append(f"{t:%Y-%m-%dT%H}:00:00Z,support,triage,gpt-4o-mini,u7,error,100,100000,0")
    (tmp_path / "u.csv").write_text(HEADER + "\n".join(rows) + "\n")
    ingest_files(ledger, [tmp_path / "u.csv"])
    return ledger


def test_replay_names_the_incident_and_who_caused_it(ledger, tmp_path):
    incident_ledger(ledger, tmp_path)
    alerts = replay(ledger, load_price_book(), AlertRules(), dt.datetime(2026, 3, 16),
                    dt.datetime(2026, 3, 23, 23))  # fmt: skip
    (alert,) = alerts  # cost rises $0.015 an hour: far under the $5 floor, so no spike
    assert alert.rule == "failures" and alert.scope == {"team": "support", "feature": "triage"}
    # at 10:00 the three hours 08-10 hold 200 + 200 + 300 requests, 1 + 1 + 101 failed
    assert alert.fired_at == dt.datetime(2026, 3, 23, 10)
    assert alert.value == pytest.approx(103 / 700)
    # the windows of 13:00 (11-13: 203 of 800) and 14:00 (12-14: 103 of 700) still hold;
    # 15:00, 16:00 and 17:00 are clear (3 of 600): resolved at the first of them
    assert alert.resolved_at == dt.datetime(2026, 3, 23, 15)
    assert {"dimension": "user", "value": "u7", "share": pytest.approx(100 / 101, abs=1e-4)} in (
        alert.contributors
    )


def test_a_check_records_fires_once_and_resolves(ledger, tmp_path):
    incident_ledger(ledger, tmp_path)
    book, rules = load_price_book(), AlertRules()
    dry = check(ledger, book, rules, dt.datetime(2026, 3, 23, 11), dry_run=True)
    assert [a.rule for a in dry.fired] == ["failures"] and stored_alerts(ledger).empty
    first = check(ledger, book, rules, dt.datetime(2026, 3, 23, 11))
    again = check(ledger, book, rules, dt.datetime(2026, 3, 23, 12))
    assert len(first.fired) == 1 and not again.fired and len(again.still_open) == 1
    later = check(ledger, book, rules, dt.datetime(2026, 3, 23, 20))
    assert [a.resolved_at for a in later.resolved] == [dt.datetime(2026, 3, 23, 15)]
    stored = stored_alerts(ledger)
    assert len(stored) == 1 and json.loads(stored["scope"][0]) == {"team": "support",
                                                                    "feature": "triage"}  # fmt: skip


def test_watch_exits_1_when_an_alert_fired(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COSTCAST_DB", raising=False)
    from forecast.ledger import Ledger

    with Ledger(tmp_path / "costcast.duckdb") as ledger:
        incident_ledger(ledger, tmp_path)
    code, out, err = cli("watch", "--from", "2026-03-23", "--to", "2026-03-23T23:00",
                         "--output", "json")  # fmt: skip
    assert code == 1, err
    assert [r["rule"] for r in json.loads(out)] == ["failures"]
    assert cli("watch", "--from", "2026-03-16", "--to", "2026-03-22T23:00")[0] == 0
    code, _, err = cli("watch", "--from", "2026-03-23")
    assert code == 2 and "--to" in err
    code, _, err = cli("watch", "--at", "yesterday")
    assert code == 2 and "YYYY-MM-DD" in err


def test_the_api_lists_recorded_alerts_and_replays(tmp_path):
    from apikit import bearer, make_workspace
    from fastapi.testclient import TestClient

    from api.main import create_app
    from api.settings import Settings, get_settings
    from forecast.ledger import Ledger

    workspace = make_workspace(tmp_path, with_run=False, with_usage=False)
    config = workspace["config"]
    from forecast.config import load_config

    with Ledger(load_config(config).ledger) as ledger:
        incident_ledger(ledger, tmp_path)
        check(ledger, load_price_book(), AlertRules(), dt.datetime(2026, 3, 23, 11))
    app = create_app()
    app.dependency_overrides[get_settings] = lambda: Settings(config=config)
    with TestClient(app) as client:
        client.headers.update(bearer(workspace["tokens"]["all"]))
        stored = client.get("/v1/alerts").json()
        assert stored["count"] == 1 and stored["data"][0]["rule"] == "failures"
        assert stored["data"][0]["scope"] == {"team": "support", "feature": "triage"}
        replayed = client.get("/v1/alerts", params={"from": "2026-03-23T00:00:00",
                                                    "to": "2026-03-23T23:00:00"}).json()  # fmt: skip
        assert [a["fired_at"] for a in replayed["data"]] == ["2026-03-23T10:00:00"]
        # read with its five weeks of baseline: all 22 days, 2 rows an hour and the 3 retry rows
        assert replayed["provenance"]["rows"] == 22 * 24 * 2 + 3
        assert client.get("/v1/alerts", params={"from": "2026-03-23T00:00:00"}).status_code == 422


def test_hours_without_usage_are_an_error_not_a_quiet_span(ledger, tmp_path):
    """An hour outside the ledger's usage has no known cost: replayed, it would look like
    spending had stopped (every open alert resolved); checked, a check at 2020 resolved
    alerts fired in 2026 at 2020 and recorded it."""
    incident_ledger(ledger, tmp_path)  # hourly, 2026-03-02 00:00 to 2026-03-23 23:00
    book, rules = load_price_book(), AlertRules()
    for start, end, name in [((2000, 1, 1), (2000, 1, 1, 5), "from"),
                             ((2026, 3, 23), (2026, 3, 24), "to"),
                             ((2026, 3, 1, 23), (2026, 3, 2, 5), "from")]:  # fmt: skip
        with pytest.raises(CostcastError, match="usage runs from 2026-03-02 00:00 to "
                           "2026-03-23 23:00") as raised:  # fmt: skip
            replay(ledger, book, rules, dt.datetime(*start), dt.datetime(*end))
        assert raised.value.param == name
    # its first and last hours are inside
    replay(ledger, book, rules, dt.datetime(2026, 3, 2), dt.datetime(2026, 3, 23, 23))
    for hour in (dt.datetime(2020, 1, 1), dt.datetime(2026, 3, 24)):
        with pytest.raises(CostcastError, match="outside it") as raised:
            check(ledger, book, rules, hour, dry_run=True)
        assert raised.value.param == "at"
    assert not failures(np.zeros((4, 0)), np.zeros((4, 0)), FailureRule()).holds.size


def prompt_growth(ledger, tmp_path, deployment_at_growth: bool, later=()):
    """writer/drafts on gpt-4o-mini: 100 calls an hour for 20 days from 2026-03-02, 1,000
    input tokens a call for 10 days, then 1,300; deployed as v2 when it grows, or never.
    ``later``: tokens a call on the days after those 20, one value a day."""
    rows, start = [], dt.datetime(2026, 3, 2)
    for h in range(24 * (20 + len(later))):
        t = start + dt.timedelta(hours=h)
        grown = h >= 24 * 10
        per_call = later[h // 24 - 20] if h >= 24 * 20 else 1300 if grown else 1000
        tag = ("v2" if grown else "v1") if deployment_at_growth else ""
        rows.append(f"{t:%Y-%m-%dT%H}:00:00Z,writer,drafts,gpt-4o-mini,,success,100,"
                    f"{100 * per_call},1000,{tag}")  # fmt: skip
    header = HEADER.strip() + ",deployment\n"
    (tmp_path / "g.csv").write_text(header + "\n".join(rows) + "\n")
    ingest_files(ledger, [tmp_path / "g.csv"])


def test_token_inflation_against_the_first_week_when_no_deployment_explains_it(ledger, tmp_path):
    prompt_growth(ledger, tmp_path, deployment_at_growth=False)
    alerts = replay(ledger, load_price_book(), AlertRules(), dt.datetime(2026, 3, 9),
                    dt.datetime(2026, 3, 21, 23))  # fmt: skip
    (alert,) = [a for a in alerts if a.rule == "token_inflation"]
    # baseline: 1,000 a call over the first 7 days. On day 10 (03-12) at hour h the last 24
    # hours average (23 - h) x 1,000 + (h + 1) x 1,300 over 24: above 1,250 from h = 20
    assert alert.fired_at == dt.datetime(2026, 3, 12, 20)
    assert alert.threshold == pytest.approx(1250)
    assert alert.value == pytest.approx((3 * 1000 + 21 * 1300) / 24)
    assert alert.resolved_at is None  # still 30% above at the end


def test_a_scope_whose_prompts_swing_day_to_day_must_swing_further(ledger, tmp_path):
    # writer/drafts, 100 calls an hour from 2026-03-02, tokens a call per day: a first week
    # of 900-1,100, three days at 1,000, three at 1,300 (+30%), three at 1,500
    per_day = [900, 1000, 1100, 1000, 900, 1000, 1100] + [1000] * 3 + [1300] * 3 + [1500] * 3
    start = dt.datetime(2026, 3, 2)
    rows = [f"{start + dt.timedelta(hours=h):%Y-%m-%dT%H}:00:00Z,writer,drafts,gpt-4o-mini,,"
            f"success,100,{100 * per_day[h // 24]},1000" for h in range(24 * len(per_day))]  # fmt: skip
    (tmp_path / "g.csv").write_text(HEADER + "\n".join(rows) + "\n")
    ingest_files(ledger, [tmp_path / "g.csv"])

    def inflation(rules):
        return [a for a in replay(ledger, load_price_book(), rules, dt.datetime(2026, 3, 9),
                                  dt.datetime(2026, 3, 17, 23)) if a.rule == "token_inflation"]  # fmt: skip

    # the first week: level 7,000 / 7 = 1,000; its days' absolute deviations from their
    # median (1,000) are 100, 0, 100, 0, 100, 0, 100, whose median is 100: a robust standard
    # deviation of 148.26, and 3 of them put the threshold at 1,444.78, not 1,250
    (alert,) = inflation(AlertRules())
    assert alert.threshold == pytest.approx(1000 + 3 * 1.4826 * 100)
    # so the +30% days pass; on 03-15 at hour h the last 24 hours average
    # ((23 - h) x 1,300 + (h + 1) x 1,500) / 24: above 1,444.78 from h = 17 (1,450)
    assert alert.fired_at == dt.datetime(2026, 3, 15, 17)
    assert alert.value == pytest.approx(1450)
    assert alert.resolved_at is None  # still above at the end
    # with no spread asked for, +25% alone: 03-12 at 20:00, as for a steady first week
    (plain,) = inflation(AlertRules(token_inflation={"spread": 0}))
    assert plain.fired_at == dt.datetime(2026, 3, 12, 20)
    assert plain.threshold == pytest.approx(1250)


def test_an_inflation_names_who_sends_the_longer_prompts(ledger, tmp_path):
    # writer/drafts: u1 60 calls an hour at 1,000 input tokens throughout; u2 40 calls at
    # 1,000 for 10 days, then 20 calls at 2,500. From day 10 a 24-hour mean reaches
    # (60 x 1,000 + 20 x 2,500) / 80 = 1,375, +37.5% on the first week's 1,000.
    rows, start = [], dt.datetime(2026, 3, 2)
    for h in range(24 * 14):
        t, grown = start + dt.timedelta(hours=h), h >= 24 * 10
        for user, calls, per_call in (
            ("u1", 60, 1000),
            ("u2", *((20, 2500) if grown else (40, 1000))),
        ):
            rows.append(f"{t:%Y-%m-%dT%H}:00:00Z,writer,drafts,gpt-4o-mini,{user},success,"
                        f"{calls},{calls * per_call},{calls * 10}")  # fmt: skip
    (tmp_path / "g.csv").write_text(HEADER + "\n".join(rows) + "\n")
    ingest_files(ledger, [tmp_path / "g.csv"])
    alerts = replay(ledger, load_price_book(), AlertRules(), dt.datetime(2026, 3, 9),
                    dt.datetime(2026, 3, 15, 23))  # fmt: skip
    (alert,) = [a for a in alerts if a.rule == "token_inflation"]
    # at the firing hour u2 sends 20 x (2,500 - 1,000) tokens above the baseline, u1 none;
    # fewer calls than the week before, so more tokens than then would name u1 instead
    assert {"dimension": "user", "value": "u2", "share": 1.0} in alert.contributors


def test_token_inflation_clears_only_below_the_recovery_level(ledger, tmp_path):
    # 1,300 a call through 03-21, then 1,200 for 4 days (under +25%, over +15%), then 1,100
    prompt_growth(ledger, tmp_path, deployment_at_growth=False, later=[1200] * 4 + [1100] * 4)
    book = load_price_book()

    def inflation(rules, start=dt.datetime(2026, 3, 9), **kw):
        return [a for a in replay(ledger, book, rules, start, dt.datetime(2026, 3, 29, 23), **kw)
                if a.rule == "token_inflation"]  # fmt: skip

    (alert,) = inflation(AlertRules())
    assert alert.fired_at == dt.datetime(2026, 3, 12, 20)
    # clear once the 24 hours average 1,150 or less: on 03-26 at hour h they average
    # ((23 - h) x 1,200 + (h + 1) x 1,100) / 24, which is 1,150 from h = 11
    assert alert.resolved_at == dt.datetime(2026, 3, 26, 11)
    # without the gap it clears at 1,250, on the first 1,200 day by the same sum
    (plain,) = inflation(AlertRules(token_inflation={"recover_rise": 0.25}))
    assert plain.resolved_at == dt.datetime(2026, 3, 22, 11)
    # a replay that starts with the alert open reports it only when asked for what is carried
    assert inflation(AlertRules(), start=dt.datetime(2026, 3, 14)) == []
    (carried,) = inflation(AlertRules(), start=dt.datetime(2026, 3, 14), carried=True)
    assert (carried.fired_at, carried.resolved_at) == (alert.fired_at, alert.resolved_at)


def test_a_deployment_explains_its_own_change(ledger, tmp_path):
    prompt_growth(ledger, tmp_path, deployment_at_growth=True)
    alerts = replay(ledger, load_price_book(), AlertRules(), dt.datetime(2026, 3, 9),
                    dt.datetime(2026, 3, 21, 23))  # fmt: skip
    assert not [a for a in alerts if a.rule == "token_inflation"]


class _Hook:
    """A real HTTP server on 127.0.0.1 that answers each POST with the next status given
    and keeps the bodies it got."""

    def __init__(self, statuses):
        import http.server
        import threading

        hook = self
        self.statuses, self.bodies = list(statuses), []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                hook.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(hook.statuses.pop(0) if hook.statuses else 200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


RECORD = {"rule": "failures", "scope": {"team": "support", "feature": "triage"},
          "fired_at": "2026-03-23T10:00:00", "resolved_at": None, "value": 0.147,
          "threshold": 0.05, "status": "fired",
          "contributors": [{"dimension": "user", "value": "u7", "share": 0.99}]}  # fmt: skip


def test_webhooks_get_json_or_a_slack_message_and_retry_server_errors():
    from forecast.watch.deliver import Target, deliver

    hook = _Hook([500, 200, 400])
    try:
        (sent,) = deliver([Target(url=hook.url)], [RECORD], pauses=(0, 0))
        assert (sent.ok, sent.attempts) == (True, 2)  # a 500, then accepted
        assert hook.bodies[0] == hook.bodies[1] == {"alerts": [RECORD]}
        (refused,) = deliver([Target(url=hook.url, format="slack")], [RECORD], pauses=(0, 0))
        assert (refused.ok, refused.attempts, refused.error) == (False, 1, "HTTP 400")
        assert hook.bodies[2]["text"] == (
            "costcast: failures fired for team=support, feature=triage at 2026-03-23T10:00:00: "
            "0.147 against 0.05 (mostly user u7 99%)"
        )
        assert deliver([Target(url=hook.url)], []) == []  # nothing new: nothing sent
    finally:
        hook.close()
    (gone,) = deliver([Target(url=hook.url, timeout_seconds=1)], [RECORD], pauses=(0, 0))
    assert (gone.ok, gone.attempts) == (False, 3)


def test_a_check_sends_what_fired_and_a_dry_run_sends_nothing(cli, tmp_path, monkeypatch):
    from forecast.ledger import Ledger

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COSTCAST_DB", raising=False)
    hook = _Hook([])
    try:
        (tmp_path / "costcast.yaml").write_text(f"alerts:\n  deliver:\n    - url: {hook.url}\n")
        with Ledger(tmp_path / "costcast.duckdb") as ledger:
            incident_ledger(ledger, tmp_path)
        assert cli("watch", "--at", "2026-03-23T11:00", "--dry-run")[0] == 1
        assert hook.bodies == []
        code, _, err = cli("watch", "--at", "2026-03-23T11:00")
        assert code == 1 and "sent 1 alert(s)" in err
        (body,) = hook.bodies
        assert [a["rule"] for a in body["alerts"]] == ["failures"]
        assert cli("watch", "--at", "2026-03-23T12:00")[0] == 0  # still open: nothing new
        assert len(hook.bodies) == 1
    finally:
        hook.close()


def test_a_check_through_the_api_needs_alerts_write_and_records(tmp_path):
    from apikit import bearer, make_workspace
    from fastapi.testclient import TestClient

    from api.main import create_app
    from api.settings import Settings, get_settings
    from forecast.config import load_config
    from forecast.ledger import Ledger

    workspace = make_workspace(tmp_path, with_run=False, with_usage=False)
    with Ledger(load_config(workspace["config"]).ledger) as ledger:
        incident_ledger(ledger, tmp_path)
    app = create_app()
    app.dependency_overrides[get_settings] = lambda: Settings(config=workspace["config"])
    with TestClient(app) as client:
        hour = {"at": "2026-03-23T11:00:00"}
        read = bearer(workspace["tokens"]["read"])
        assert client.post("/v1/alerts/checks", params=hour, headers=read).status_code == 403
        write = bearer(workspace["tokens"]["alerts:write"])
        answer = client.post("/v1/alerts/checks", params=hour, headers=write).json()
        assert [(a["rule"], a["status"]) for a in answer["data"]] == [("failures", "fired")]
        again = client.post("/v1/alerts/checks", params=hour, headers=write).json()
        assert [a["status"] for a in again["data"]] == ["open"]
        assert client.get("/v1/alerts", headers=read).json()["count"] == 1
        odd = client.post("/v1/alerts/checks", params={"at": "0001-01-01T00:00:00"}, headers=write)
        assert odd.status_code == 422 and odd.json()["field"] == "at"


def test_an_hour_a_datetime_cannot_shift_to_utc_is_a_located_error(cli):
    code, _, err = cli("watch", "--at", "0001-01-01T00:00+05:00")
    assert code == 2 and "between 1971 and 2200" in err and "Traceback" not in err


def test_a_recovery_level_above_the_trigger_is_a_located_config_error(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COSTCAST_DB", raising=False)
    (tmp_path / "costcast.yaml").write_text(
        "alerts:\n  token_inflation:\n    max_rise: 0.2\n    recover_rise: 0.3\n"
    )
    code, _, err = cli("watch", "--at", "2026-03-23T11:00")
    assert code == 2 and "recover_rise" in err and "costcast.yaml" in err
    assert "Traceback" not in err


def test_the_readme_shows_the_rules_defaults():
    """The `alerts:` block of the README is a valid config whose values are the defaults
    (its webhooks aside): a default changed in code and not in the docs fails here."""
    import re
    from pathlib import Path

    import yaml

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    (block,) = [b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S)
                if b.startswith("alerts:")]  # fmt: skip
    documented = AlertRules(**yaml.safe_load(block)["alerts"])
    assert documented.deliver  # the example webhooks parse
    assert documented.model_dump(exclude={"deliver"}) == AlertRules().model_dump(
        exclude={"deliver"}
    )


def test_scopes_by_a_dimension_a_row_leaves_empty(ledger, tmp_path):
    """Watching by user where some rows name none: the rows without a user are a scope of
    their own (user ''), not dropped, and no scope's hours are mixed up. (A pivot table
    had squeezed the lone scope of ``by: [user]`` into a Series and failed.)"""
    from forecast.watch.alerts import hourly

    usage = tmp_path / "u.csv"
    usage.write_text(
        "timestamp,bucket,team,feature,model,user,requests,input_tokens,output_tokens\n"
        "2026-03-02T10:00:00Z,1h,ops,a,gpt-4o,,1,1000000,0\n"  # $2.50, no user
        "2026-03-02T11:00:00Z,1h,ops,a,gpt-4o,u1,1,2000000,0\n"  # $5.00, u1
        "2026-03-02T11:00:00Z,1h,ops,b,gpt-4o,u1,1,0,100000\n"  # $1.00, u1
    )
    ingest_files(ledger, [usage])
    book = load_price_book()
    first, last = dt.datetime(2026, 3, 2, 9), dt.datetime(2026, 3, 2, 12)
    data = hourly(ledger, book, ["user"], first, last)
    assert data.scopes == [{"user": ""}, {"user": "u1"}]
    # 09:00 is before the ledger's first hour: its cost is unknown, not zero
    np.testing.assert_allclose(data.cost, [[np.nan] * 2, [2.5, 0], [0, 6.0], [0, 0]])
    np.testing.assert_allclose(data.requests, [[0, 0], [1, 0], [0, 2], [0, 0]])
    only = hourly(ledger, book, ["deployment"], first, last)  # no row names one
    assert only.scopes == [{"deployment": ""}]
    np.testing.assert_allclose(only.cost[:, 0], [np.nan, 2.5, 6.0, 0])


def test_a_check_at_an_earlier_hour_rewrites_nothing(ledger, tmp_path):
    """Recorded alerts are the state as of the last check: a check at an earlier hour would
    resolve them before they fired. Refused; a dry run there compares with what was open
    at that hour."""
    incident_ledger(ledger, tmp_path)
    book, rules = load_price_book(), AlertRules()
    (alert,) = check(ledger, book, rules, dt.datetime(2026, 3, 23, 12)).fired
    assert (alert.rule, alert.fired_at) == ("failures", dt.datetime(2026, 3, 23, 10))
    with pytest.raises(CostcastError, match="recorded up to 2026-03-23 10:00") as raised:
        check(ledger, book, rules, dt.datetime(2026, 3, 20))
    assert raised.value.param == "at"
    earlier = check(ledger, book, rules, dt.datetime(2026, 3, 20), dry_run=True)
    assert (earlier.fired, earlier.still_open, earlier.resolved) == ([], [], [])
    stored = stored_alerts(ledger)
    assert len(stored) == 1 and stored["resolved_at"].isna().all()  # still open
    # the same hour again, and later ones, as before
    assert check(ledger, book, rules, dt.datetime(2026, 3, 23, 10)).fired == []
    assert [
        a.rule for a in check(ledger, book, rules, dt.datetime(2026, 3, 23, 12)).still_open
    ] == ["failures"]
