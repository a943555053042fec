"""The delivery metrics as one PNG a person looks at on the asset's page in the Dagster UI:
four panels (deployment frequency, change lead time, change failure rate, time to restore),
one line per environment, one point per week. Numbers and environment names only.

matplotlib is imported when a chart is drawn, not when the code location loads (it takes a
few tenths of a second), and through its object API with the Agg canvas: no pyplot state, no
display, safe in any thread."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

PANELS = (
    ("successful_deployments", "Deployment frequency", "successful deployments / week", 1.0),
    ("lead_time_median_s", "Change lead time", "median, hours", 3600.0),
    ("change_failure_rate", "Change failure rate", "% of deployments", 0.01),
    ("time_to_restore_median_s", "Time to restore", "median, hours (by week of failure)", 3600.0),
)


def render_metrics_chart(frame: pd.DataFrame, *, title: str = "Delivery metrics") -> bytes:
    """``deployment_metrics`` rows drawn as a PNG (bytes)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 7), dpi=80)  # fixed margins: a layout engine costs a third
    FigureCanvasAgg(figure)
    axes = figure.subplots(2, 2, sharex=True)
    figure.subplots_adjust(left=0.07, right=0.985, top=0.91, bottom=0.11, hspace=0.22, wspace=0.2)
    environments = sorted(set(frame["environment"])) if not frame.empty else []
    for ax, (column, name, unit, scale) in zip(axes.flat, PANELS, strict=True):
        for env in environments:
            rows = frame[frame["environment"] == env].sort_values("week")
            weeks = pd.to_datetime(rows["week"], utc=True).dt.tz_localize(None)
            values = pd.to_numeric(rows[column], errors="coerce") / scale
            ax.plot(weeks, values, marker="o", markersize=4, linewidth=1.5, label=env)
        ax.set_title(name, fontsize=11)
        ax.set_ylabel(unit, fontsize=9)
        ax.grid(True, alpha=0.3)
        ax.set_ylim(bottom=0)
        ax.tick_params(labelsize=8)
        if not environments:
            ax.text(0.5, 0.5, "no deployments yet", ha="center", va="center",
                    transform=ax.transAxes)  # fmt: skip
    for ax in axes[1]:
        ax.tick_params(axis="x", labelrotation=30)
    if environments:
        axes[0][0].legend(fontsize=8, title="environment", title_fontsize=8)
    figure.suptitle(title, fontsize=13)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def write_chart(png: bytes, path: Path) -> Path:
    """``png`` written to ``path`` atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.writing")
    partial.write_bytes(png)
    partial.replace(path)
    return path
