"""Charts: the forecast fan per group (history, P50, 50% and 80% bands), the finance view
(period totals with P10-P90 against budget, and the burn-up of the current period), and a
scenario's waterfall."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")  # files only; never a window
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd

from forecast.errors import CostcastError
from forecast.ledger import Ledger
from forecast.runstore import ForecastRun, group_actuals, load_paths

if TYPE_CHECKING:
    from forecast.scenario.engine import ScenarioResult

HISTORY_DAYS = 120
MAX_PANELS = 6
THOUSANDS = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}")


def daily_bands(ledger: Ledger, run: ForecastRun, by: Sequence[str]) -> pd.DataFrame:
    """Per group and forecast day: quantiles 0.1, 0.25, 0.5, 0.75, 0.9 of daily cost."""
    by = list(by)
    keys, cost = load_paths(ledger, run.run_id, "cost")  # (series, paths, days)
    days = pd.date_range(run.start, run.horizon_end, freq="D")
    groups = keys.groupby(by, sort=True).indices.items() if by else [((), np.arange(len(keys)))]
    rows = []
    for name, index in groups:
        bands = np.quantile(cost[index].sum(axis=0), [0.1, 0.25, 0.5, 0.75, 0.9], axis=0)
        name = name if isinstance(name, tuple) else (name,)
        for d, day in enumerate(days):
            rows.append([*name, day, list(bands[:, d])])
    return pd.DataFrame(rows, columns=[*by, "ds", "q"])


def _label(row: Any, by: Sequence[str]) -> str:
    return " / ".join(str(row[k]) for k in by) if by else "total"


def fan_chart(ledger: Ledger, run: ForecastRun, by: Sequence[str], path: str | Path) -> Path:
    """One panel per group (the largest ones, the rest as "other"), written to ``path``."""
    by = list(by)
    bands = daily_bands(ledger, run, by)
    past = group_actuals(ledger, run.run_id, by, run.as_of - dt.timedelta(days=HISTORY_DAYS))
    if by:
        size = bands.assign(mid=bands["q"].str[2]).groupby(by)["mid"].sum()
        top = list(size.sort_values(ascending=False).index[: MAX_PANELS - 1])
        top = [t if isinstance(t, tuple) else (t,) for t in top]
        groups: list[dict[str, Any] | None] = [dict(zip(by, t, strict=True)) for t in top]
        if len(size) > len(top):
            groups.append(None)  # "other": everything not in a panel of its own
    else:
        groups = [{}]
    fig, axes = plt.subplots(len(groups), 1, figsize=(10, 2.6 * len(groups)), squeeze=False)
    for ax, group in zip(axes[:, 0], groups, strict=True):
        if group is None:
            title = "other"
            keep_b = ~bands[by].apply(tuple, axis=1).isin(top)
            keep_h = ~past[by].apply(tuple, axis=1).isin(top)
            # quantiles do not add up: "other" shows the sum of its groups' medians only
            b = bands[keep_b].assign(mid=bands["q"].str[2]).groupby("ds")["mid"].sum()
            ax.plot(b.index, b.values, color="C0", label="P50 (sum of groups)")
            h = past[keep_h].groupby("ds")["cost"].sum()
        else:
            title = _label(group, by)
            mask_b = pd.Series(True, index=bands.index)
            mask_h = pd.Series(True, index=past.index)
            for k, v in group.items():
                mask_b &= bands[k] == v
                mask_h &= past[k] == v
            b = bands[mask_b].set_index("ds")["q"]
            q = pd.DataFrame(b.tolist(), index=b.index)
            ax.fill_between(q.index, q[0], q[4], color="C0", alpha=0.15, label="80%")
            ax.fill_between(q.index, q[1], q[3], color="C0", alpha=0.3, label="50%")
            ax.plot(q.index, q[2], color="C0", label="P50")
            h = past[mask_h].groupby("ds")["cost"].sum()
        ax.plot(h.index, h.values, color="0.2", linewidth=0.8, label="actual")
        ax.axvline(run.start, color="0.5", linestyle=":", linewidth=0.8)
        ax.set_title(title, loc="left", fontsize=10)
        ax.set_ylabel("USD / day")
        ax.legend(loc="upper left", fontsize=7, ncol=4)
    fig.suptitle(f"{run.run_id}: daily cost, as of {run.as_of}", fontsize=11)
    fig.tight_layout()
    return _save(fig, path)


def waterfall_chart(result: ScenarioResult, path: str | Path) -> Path:
    """Baseline -> each change's Shapley share -> scenario (mean total cost over the horizon),
    beside a fan of baseline and scenario daily cost."""
    base = result.totals["baseline"]["mean"]
    steps = [(f"{i + 1}. {c['kind']}", c["delta_mean"]) for i, c in enumerate(result.changes)]
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(13, 4.5), gridspec_kw={"width_ratios": [1, 1.4]}
    )
    labels = ["baseline", *(s[0] for s in steps), "scenario"]
    level = base
    left.bar(0, base, color="0.6")
    for i, (_, delta) in enumerate(steps, start=1):
        left.bar(i, delta, bottom=level, color="C3" if delta > 0 else "C2")
        level += delta
    left.bar(len(labels) - 1, result.totals["scenario"]["mean"], color="C0")
    left.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
    left.set_ylabel("USD over the horizon (mean)")
    # from zero: the baseline and scenario bars are compared by their height
    levels = np.cumsum([base, *(d for _, d in steps)])
    left.set_ylim(0, max(levels.max(), result.totals["scenario"]["mean"]) * 1.12)
    values = [base, *(d for _, d in steps), result.totals["scenario"]["mean"]]
    tops = [base, *levels[1:], result.totals["scenario"]["mean"]]
    for i, (value, top) in enumerate(zip(values, tops, strict=True)):
        signed = 0 < i < len(values) - 1
        left.annotate(f"{value:+,.0f}" if signed else f"{value:,.0f}", (i, max(top, top - value)),
                      ha="center", va="bottom", fontsize=7, xytext=(0, 2),
                      textcoords="offset points")  # fmt: skip
    left.yaxis.set_major_formatter(THOUSANDS)
    left.set_title(result.scenario.name, loc="left", fontsize=10)
    days = pd.to_datetime(result.daily["days"])
    for name, color in (("baseline", "0.5"), ("scenario", "C0")):
        q10, q50, q90 = result.daily[name]
        right.fill_between(days, q10, q90, color=color, alpha=0.2)
        right.plot(days, q50, color=color, label=f"{name} P50 (band: P10-P90)")
    right.set_ylabel("USD / day")
    right.set_ylim(bottom=0)
    right.yaxis.set_major_formatter(THOUSANDS)
    right.legend(loc="upper left", fontsize=8)
    right.set_title(f"baseline run {result.baseline_run}", loc="left", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def budget_chart(table: pd.DataFrame, burn: pd.DataFrame, title: str, path: str | Path) -> Path:
    """Left: each fiscal period's total (actuals to date plus forecast) as a bar with its
    P10-P90 range and value, and its budget where one is set. Right: the current period's
    cumulative spend, actual then forecast (P50, P10-P90), against its budget.

    ``table``: the total rows of a forecast table (period, mean, p10, p90, budget);
    ``burn``: day, actual (cumulative, to the as-of date), p10, p50, p90 (cumulative
    forecast after it), and ``burn.attrs["budget"]`` and ``["period"]``."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.5))
    x = np.arange(len(table))
    means = table["mean"].to_numpy(dtype=float)
    # a skewed period's mean can lie outside its P10-P90: draw the range, never a negative bar
    low = np.clip(means - table["p10"].to_numpy(dtype=float), 0, None)
    high = np.clip(table["p90"].to_numpy(dtype=float) - means, 0, None)
    left.bar(x, means, color="C0", alpha=0.8, yerr=[low, high], capsize=4, label="mean, P10-P90")
    for i, value in enumerate(means):  # inside the bar: the range and budget stay readable
        left.annotate(f"{value:,.0f}", (i, value / 2), ha="center", va="center", fontsize=9,
                      color="white", fontweight="bold")  # fmt: skip
    budgets = pd.to_numeric(table["budget"], errors="coerce").to_numpy(dtype=float)
    if np.isfinite(budgets).any():
        left.scatter(x, budgets, marker="_", s=900, color="C3", linewidths=2, label="budget")
    left.set_xticks(x, table["period"])
    left.set_ylim(0, np.nanmax([*(means + high), *budgets]) * 1.15)
    left.yaxis.set_major_formatter(THOUSANDS)
    left.set_ylabel("USD per period")
    left.legend(loc="upper right", fontsize=8)
    left.set_title(title, loc="left", fontsize=10)
    days = pd.to_datetime(burn["day"])
    right.plot(days, burn["actual"], color="0.2", label="actual to date")
    right.fill_between(days, burn["p10"], burn["p90"], color="C0", alpha=0.2, label="P10-P90")
    right.plot(days, burn["p50"], color="C0", label="forecast P50")
    budget = burn.attrs.get("budget")
    if budget:
        right.axhline(budget, color="C3", linewidth=1.5, label=f"budget {budget:,.0f}")
    right.set_ylim(bottom=0)
    right.yaxis.set_major_formatter(THOUSANDS)
    right.set_ylabel("USD, cumulative")
    right.legend(loc="upper left", fontsize=8)
    right.set_title(f"{burn.attrs.get('period', '')}: burn-up against budget", loc="left",
                    fontsize=10)  # fmt: skip
    fig.autofmt_xdate()
    fig.tight_layout()
    return _save(fig, path)


def lorenz_chart(costs: pd.Series, path: str | Path, top: float = 0.05) -> Path:
    """How unequal spend is across users: the Lorenz curve, with the top ``top`` marked.
    Users of unknown cost (NaN) are left out of it, and the title says how many."""
    from forecast.kpis import lorenz_points

    unknown = int(costs.isna().sum())
    costs = costs.dropna()
    x, y = lorenz_points(costs)
    n_top = max(1, int(len(costs) * top))
    share = float(np.sort(costs.to_numpy())[-n_top:].sum() / costs.sum()) if len(costs) else 0.0
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.plot(x, y, color="tab:blue", label="cost by user, cheapest first")
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="every user the same")
    ax.axvline(1 - n_top / max(len(costs), 1), color="tab:red", linewidth=0.8)
    left_out = f"\n({unknown} more of unknown cost: the book cannot price them)" if unknown else ""
    ax.set_title(f"{len(costs)} users: the top {top:.0%} ({n_top}) spend {share:.0%} of the "
                 f"cost{left_out}")  # fmt: skip
    ax.set_xlabel("share of users")
    ax.set_ylabel("share of cost")
    ax.legend(loc="upper left")
    return _save(fig, path, tight=True)


def chart_problem(path: str | Path) -> str | None:
    """Why a chart cannot be written to ``path`` (None: it can), asked before the work: its
    format comes from the suffix, and its folder must exist."""
    from matplotlib.backend_bases import FigureCanvasBase

    path = Path(path)
    kinds = FigureCanvasBase.get_supported_filetypes()
    if path.suffix.lower().lstrip(".") not in kinds:
        return f"a chart is written as one of {', '.join(sorted(kinds))}: name the file so"
    try:
        if path.is_dir():
            return "a folder: name the chart's file"
        if not path.parent.is_dir():
            return f"no folder {path.parent} to write it in"
    except OSError as exc:  # a name too long
        return f"cannot write there: {exc.strerror}"
    return None


def _save(fig: Any, path: str | Path, tight: bool = False) -> Path:
    path = Path(path)
    try:
        fig.savefig(path, dpi=110, **({"bbox_inches": "tight"} if tight else {}))
    except (OSError, ValueError) as exc:  # a format or folder chart_problem did not foresee
        raise CostcastError(f"cannot write the chart: {exc}", file=str(path)) from None
    finally:
        plt.close(fig)
    return path
