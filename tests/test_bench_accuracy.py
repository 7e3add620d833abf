"""bench/accuracy.py reads any daily.csv of the real-usage format: what each kind of source
becomes, so that a benchmark on other usage scores what that usage cost."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "accuracy.py"


def _bench(name: str):
    path = BENCH.with_name(f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _accuracy():
    return _bench("accuracy")


def _daily(tmp_path: Path) -> Path:
    fields = ("requests", "input_tokens", "cached_input_tokens", "cache_write_tokens",
              "output_tokens", "cost_usd", "total_tokens", "reasoning_tokens")  # fmt: skip
    rows = []

    def add(series: str, day: pd.Timestamp, **given: float) -> None:
        rows.append({"series": series, "date": day.date(), "model": "ALL", "filled": 0}
                    | dict.fromkeys(fields) | given)  # fmt: skip

    for i, day in enumerate(pd.date_range("2024-01-01", periods=70)):
        # tokens by kind, and requests as a rate over the day (fractional)
        add("split", day, input_tokens=1000 * (i + 1), output_tokens=100, requests=2.6)
        add("total", day, total_tokens=2000)  # a total only
        add("billed", day, cost_usd=0.25 + i / 100)  # cost only, as a billing export gives it
        add("calls", day, requests=3)  # requests alone: nothing to price
        if i < 59:  # too short to be scored
            add("young", day, input_tokens=5, output_tokens=5)
    path = tmp_path / "daily.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_every_kind_of_source_is_scored_at_what_it_cost(tmp_path, capsys):
    accuracy = _accuracy()
    series = accuracy.real_series(_daily(tmp_path))
    assert sorted(series) == ["billed", "calls", "split", "total"]
    assert "4 series of 60 days or more, 1 shorter left out" in capsys.readouterr().err

    rows = accuracy.canonical_rows(series, with_requests=False)
    assert "calls: no tokens or cost on any day, left out" in capsys.readouterr().err
    assert "calls" not in set(rows["team"])
    flat = accuracy.FLAT
    uncached = rows["input_tokens"] - rows["cached_input_tokens"] - rows["cache_write_tokens"]
    rows["cost"] = (uncached * flat["input"] + rows["output_tokens"] * flat["output"]) / 1e6
    cost = rows.groupby("team")["cost"].apply(list)
    # by hand: $1 per million input tokens and $4 per million output tokens
    assert np.allclose(cost["split"], [(1000 * (i + 1) + 400) / 1e6 for i in range(70)])
    assert np.allclose(cost["total"], [2000 / 1e6] * 70)  # a total counts as input
    assert np.allclose(cost["billed"], [0.25 + i / 100 for i in range(70)])  # the bill
    # each series ends on the benchmark's day, on its own weekdays
    ends = pd.to_datetime(rows.groupby("team")["timestamp"].max().str.slice(0, 10))
    assert (ends <= pd.Timestamp(accuracy.END)).all()
    assert (ends > pd.Timestamp(accuracy.END) - pd.Timedelta(days=7)).all()
    assert (ends.dt.dayofweek == pd.Timestamp("2024-03-10").dayofweek).all()
    with_requests = accuracy.canonical_rows(series, with_requests=True)
    calls = with_requests.groupby("team")["requests"].apply(list)
    assert calls["split"] == [3] * 70 and pd.isna(calls["total"]).all()


def test_a_file_with_fewer_columns_and_models_under_the_stream_name(tmp_path, capsys):
    """Per-model rows that keep the stream's name beside its total (model ALL) are their
    own series, not added into the total; absent count columns count as not reported."""
    accuracy = _accuracy()
    days = pd.date_range("2024-01-01", periods=61).date
    rows = [{"series": "s", "date": d, "model": m, "input_tokens": n, "output_tokens": 0}
            for d in days for m, n in (("ALL", 30), ("a", 10), ("b", 20))]  # fmt: skip
    path = tmp_path / "few.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    series = accuracy.real_series(path)
    assert sorted(series) == ["s", "s/a", "s/b"]
    tokens = accuracy.canonical_rows(series, with_requests=True)
    # 61 days, Monday to Friday, shifted by whole weeks to end by the benchmark's Sunday:
    # the last five days fall past it, 56 are left
    assert tokens.groupby(["team", "feature"])["input_tokens"].sum().to_dict() == {
        ("s", "a"): 56 * 10, ("s", "all"): 56 * 30, ("s", "b"): 56 * 20}  # fmt: skip
    (tmp_path / "bad.csv").write_text("day,tokens\n2024-01-01,5\n")
    try:
        accuracy.real_series(tmp_path / "bad.csv")
    except SystemExit as stop:
        assert "expected the columns series, date" in str(stop)
    else:
        raise AssertionError("a file of another format must stop the benchmark")


@pytest.mark.parametrize(("bench", "reader"), [("accuracy", "real_series"),
                                               ("watch", "client_usage")])  # fmt: skip
def test_a_file_that_is_missing_empty_or_not_csv_stops_with_its_name(tmp_path, bench, reader):
    read = getattr(_bench(bench), reader)
    (tmp_path / "zipped.csv").write_bytes(b"\x1f\x8b\x08\x00\xff\xfe\x00")
    (tmp_path / "empty.csv").write_bytes(b"")
    for name in ("absent.csv", "zipped.csv", "empty.csv"):
        path = tmp_path / name
        with pytest.raises(SystemExit) as stop:
            read(path)
        assert str(stop.value).startswith(f"{path}: cannot be read as CSV"), name


def test_the_watch_bench_names_the_servegen_columns_a_file_lacks(tmp_path):
    path = tmp_path / "hours.csv"
    path.write_text("hour,client,input_tokens\n2025-01-01 00:00,a,5\n")
    with pytest.raises(SystemExit) as stop:
        _bench("watch").client_usage(path)
    assert str(stop.value).startswith(f"{path}: expected the columns model, output_tokens")


@pytest.mark.parametrize(("bench", "reader", "text", "where"), [
    ("accuracy", "real_series", "series,date,input_tokens\ns,2024-01-01,5\ns,,5\n",
     "line 3, field 'date': empty: a date or time is needed"),
    ("accuracy", "real_series", "series,date,input_tokens\ns,2024-01-01,5\ns,01/02/24,5\n",
     "line 3, field 'date': not a date or time (got '01/02/24')"),
    ("watch", "client_usage",
     "hour,model,client,requests,input_tokens,output_tokens\n2001-01-01 00:00,m,a,1,5,1\n"
     "soon,m,a,1,5,1\n",
     "line 3, field 'hour': not a date or time (got 'soon')"),
])  # fmt: skip
def test_a_cell_that_is_not_a_time_stops_with_its_line(tmp_path, bench, reader, text, where):
    path = tmp_path / "odd.csv"
    path.write_text(text)
    with pytest.raises(SystemExit) as stop:
        getattr(_bench(bench), reader)(path)
    assert str(stop.value) == f"{path}, {where}"


def test_an_hour_no_client_called_in_is_still_an_hour(tmp_path):
    """The spike rule's baselines count hours back by position: an hour missing from the
    file (no client called) must be a row of zeros, not shift every later hour."""
    watch = _bench("watch")
    hours = pd.date_range("2001-01-01", periods=watch.JUDGED_FROM + 48, freq="h")
    rows = [{"hour": h, "model": "m", "client": c, "requests": 1, "input_tokens": 1e6 * (k + 1),
             "output_tokens": 0} for k, h in enumerate(hours) if k != 100
            for c in ("a", "b")]  # fmt: skip
    path = tmp_path / "hours.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    cost = watch.client_costs(*watch.client_usage(path))
    assert cost.shape == (len(hours), 2)
    # $1 per million input tokens: hour k costs k + 1 dollars, and nothing in hour 100
    expected = np.arange(1, len(hours) + 1, dtype=float)
    expected[100] = 0.0
    assert np.array_equal(cost[:, 0], expected) and np.array_equal(cost[:, 1], expected)


def test_days_a_stream_did_not_report_are_not_scored(tmp_path):
    """A stream with no rows at all from 2024-02-10 to 02-19 (a span missing from an export,
    as Guard-233's January; 7 days or more): those days are unknown for its total and its
    models, and a scored day there is left out of every figure, as is its in-sample change."""
    accuracy = _accuracy()
    # and nothing from 03-01 to 03-03 either: three days a source left out are idle days
    days = [d for d in pd.date_range("2024-01-01", periods=80)
            if not pd.Timestamp("2024-02-10") <= d <= pd.Timestamp("2024-02-19")
            and not pd.Timestamp("2024-03-01") <= d <= pd.Timestamp("2024-03-03")]  # fmt: skip
    rows = [{"series": "s", "date": d.date(), "model": m, "input_tokens": 5, "output_tokens": 0}
            for d in days for m in ("ALL", "a")]  # fmt: skip
    rows.append({"series": "s", "date": "2024-03-20", "model": "b", "input_tokens": 5})
    path = tmp_path / "gap.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    series = accuracy.real_series(path)
    reported = accuracy.reported_days(series)
    shift = accuracy.shift_to_end(series["s"]["date"].max())
    missing = pd.date_range("2024-02-10", "2024-02-19") + shift
    assert set(reported) == {"s|all", "s|a"}  # b has one day: too short to score
    assert not reported["s|all"].isin(missing).any()
    assert (pd.date_range("2024-03-01", "2024-03-03") + shift).isin(reported["s|all"]).all()
    assert len(reported["s|all"]) == 70 and reported["s|all"].equals(reported["s|a"])
    # scored: two days known, one not (NaN): MASE |1 - 2| + |3 - 2| over 2 days / scale 1
    a = dict(method="m", origin=0, series="x", scale=1.0, lo=np.zeros(3), hi=np.full(3, 2.5))
    row = accuracy.score([a | dict(actual=np.array([1.0, np.nan, 3.0]),
                                   mean=np.array([2.0, 100.0, 2.0]))]).iloc[0]  # fmt: skip
    assert row["mase_median"] == pytest.approx(1.0)
    assert row["wape"] == pytest.approx(2 / 4) and row["total_ratio"] == pytest.approx(4 / 4)
    assert row["coverage_80"] == pytest.approx(1 / 2)  # 1 inside [0, 2.5], 3 above
    from forecast.metrics import mase_scale

    # weekly changes of known pairs only: |8 - 1| (days 7 and 0); day 8's pair has a NaN
    assert mase_scale(np.array([1, 2, 3, 4, 5, 6, 7, 8, np.nan])) == pytest.approx(7.0)


def test_scores_worked_out_by_hand():
    # two series, one origin each, three days; the in-sample naive error (scale) given
    a = dict(method="m", origin=0, lo=np.zeros(3), hi=np.full(3, 5.0))
    rows = [a | dict(series="x", actual=np.array([1.0, 2.0, 3.0]), mean=np.array([2.0, 2.0, 2.0]),
                     scale=1.0),
            a | dict(series="y", actual=np.array([0.0, 0.0, 6.0]), mean=np.array([1.0, 1.0, 1.0]),
                     scale=2.0)]  # fmt: skip
    row = _accuracy().score(rows).iloc[0]
    # MASE: x |1-2|,0,|3-2| -> 2/3 / 1; y 1,1,5 -> 7/3 / 2 = 7/6
    assert row["mase_median"] == pytest.approx((2 / 3 + 7 / 6) / 2)
    assert row["wape"] == pytest.approx((2 + 7) / 12)
    # the forecasts add up to 9 of the 12 that came; per series 6/6 and 3/6
    assert row["total_ratio"] == pytest.approx(9 / 12)
    assert row["total_ratio_median"] == pytest.approx((1 + 0.5) / 2)
    # inside [0, 5]: x all three, y two of three (6 is above)
    assert row["coverage_80"] == pytest.approx(5 / 6)
    # the hindsight bound: each window flat at its own median (x: 2, y: 0), no interval;
    # x |1-2|, 0, |3-2| -> 2/3 / 1; y 0, 0, 6 -> 2 / 2 = 1
    bench = _accuracy()
    bound = [r | bench.hindsight(r["actual"]) for r in rows]
    table = bench.score(rows + bound).set_index("method")
    assert table.loc[bench.HINDSIGHT, "mase_median"] == pytest.approx((2 / 3 + 1) / 2)
    assert np.isnan(table.loc[bench.HINDSIGHT, "coverage_80"])
    assert table.loc["m", "mase_median"] == pytest.approx((2 / 3 + 7 / 6) / 2)  # unmoved
    assert list(bench.score(rows)["method"]) == ["m"]  # no bound row where none was scored


def test_the_churn_bench_moves_a_streams_models_together(tmp_path):
    """Model a used in its stream's first 10 days, b in its last 21: moved each on its own,
    both would end on the benchmark's day; together, a still starts 19 days before b. The 9
    days between, with no row of the stream, are a gap of its source: not scored."""
    rows = [{"series": "S", "date": day.date(), "model": model, "input_tokens": 1000}
            for model, days in (("a", range(10)), ("b", range(19, 40)))
            for day in pd.date_range("2024-03-01", periods=40)[list(days)]]  # fmt: skip
    path = tmp_path / "daily.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    churn = _bench("churn")
    moved, gaps = churn.per_model_rows(_accuracy(), path)
    day = pd.to_datetime(moved["timestamp"].str.slice(0, 10)).groupby(moved["feature"])
    first, last = day.min(), day.max()
    assert (first["b"] - first["a"]).days == 19
    # the stream's last day moves to the benchmark's day or up to 6 days past it (weekdays
    # kept; days past it are dropped): a's, 30 days before b's, lands 24-30 days before it
    assert 24 <= (pd.Timestamp(_accuracy().END) - last["a"]).days <= 30
    assert last["b"] <= pd.Timestamp(_accuracy().END)
    assert set(moved["team"]) == {"S"}  # one stream, one team: its models are its features
    assert sorted(gaps["S"]) == list(pd.date_range(last["a"], first["b"])[1:-1].date)
    assert len(gaps["S"]) == 9
