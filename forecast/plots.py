"""Charts: the forecast fan (history, P50, 50% and 80% bands) per group."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never a window
import matplotlib.pyplot as plt
import pandas as pd

from forecast.aggregate import history
from forecast.ledger import Ledger
from forecast.runs import ForecastRun

HISTORY_DAYS = 120
MAX_PANELS = 6


def daily_bands(ledger: Ledger, run: ForecastRun, by: Sequence[str]) -> pd.DataFrame:
    """Per group and forecast day: quantiles 0.1, 0.25, 0.5, 0.75, 0.9 of daily cost."""
    group = ", ".join(f'"{k}"' for k in by)
    cols = (group + ",") if by else ""
    return ledger.con.execute(
        f"""SELECT {cols} ds,
                   quantile_cont(cost, [0.1, 0.25, 0.5, 0.75, 0.9]) AS q
            FROM (SELECT {cols} ds, path, sum(cost) AS cost FROM forecast_paths
                  WHERE run_id = ? GROUP BY ALL)
            GROUP BY ALL ORDER BY ALL""",
        [run.run_id],
    ).df()


def _label(row, by) -> str:
    return " / ".join(str(row[k]) for k in by) if by else "total"


def fan_chart(ledger: Ledger, run: ForecastRun, by: Sequence[str], path: str | Path) -> Path:
    """One panel per group (the largest ones, the rest as "other"), written to ``path``."""
    by = list(by)
    bands = daily_bands(ledger, run, by)
    past = history(ledger, run, by, run.as_of - dt.timedelta(days=HISTORY_DAYS))
    if by:
        size = bands.assign(mid=bands["q"].str[2]).groupby(by)["mid"].sum()
        top = list(size.sort_values(ascending=False).index[: MAX_PANELS - 1])
        top = [t if isinstance(t, tuple) else (t,) for t in top]
        groups = [dict(zip(by, t, strict=True)) for t in top]
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
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
