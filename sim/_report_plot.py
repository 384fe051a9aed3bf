"""The picture of a trial: per job, the as-applied map under the field, the plans and the driven tracks.

Background: the coverage raster's classes (applied once, twice or more, skipped, applied outside).
On top: the field and its obstacles, every plan of the job (originals dashed, re-planned pieces dotted)
and every vehicle's driven track in the vehicle's colour, with where faults struck and breaches happened.
matplotlib is imported here only.
"""
from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

if TYPE_CHECKING:
    from ._report import TrialResult

__all__ = ["draw_trial"]

_CLASSES = ["#ffffff", "#9ecae1", "#d62728", "#b7e4a8", "#f4a259"]   # see CoverageMap.picture
_CLASS_NAMES = ["", "applied outside", "skipped", "applied once", "applied twice or more"]
_FAULT_MARK = {"vehicle_failure": "X", "gnss": "^", "link_loss": "v"}


def _classes(cmap: Any, max_pixels: int = 1600) -> np.ndarray:
    img = cmap.picture()
    step = max(1, math.ceil(max(img.shape) / max_pixels))
    if step > 1:     # keep the worst class of each block so that thin skips stay visible
        ny, nx = (img.shape[0] // step) * step, (img.shape[1] // step) * step
        blocks = img[:ny, :nx].reshape(ny // step, step, nx // step, step)
        img = np.where((blocks == 2).any(axis=(1, 3)), 2, blocks.max(axis=(1, 3)))
    return img


def draw_trial(result: TrialResult, path: str | os.PathLike[str] | BinaryIO) -> None:
    """Draw the trial's picture as PNG into ``path`` (a file name or a binary file object)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    record, report = result.record, result.report
    jobs = record.jobs
    cols = min(2, len(jobs))
    rows = math.ceil(len(jobs) / cols)
    ratio = max(j.cmap.ny / max(j.cmap.nx, 1) for j in jobs)
    height = min(12.0, max(3.0, 7.0 * ratio + 0.8))
    fig, axes = plt.subplots(rows, cols, figsize=(8.5 * cols, height * rows + 1.6), dpi=100, squeeze=False)
    ids = [v.id for v in record.scenario.fleet]
    colour = {vid: plt.get_cmap("tab10")(k % 10) for k, vid in enumerate(ids)}
    for ax, job, summary in zip(axes.flat, jobs, report["jobs"], strict=False):
        cmap = job.cmap
        extent = (cmap.x0, cmap.x0 + cmap.nx * cmap.cell_m, cmap.y0, cmap.y0 + cmap.ny * cmap.cell_m)
        ax.imshow(_classes(cmap), origin="lower", cmap=ListedColormap(_CLASSES), vmin=0, vmax=4,
                  extent=extent, interpolation="nearest")
        boundary = record.scenario.field(job.entry.field).boundary
        ax.plot(*np.asarray(boundary.exterior.coords).T, color="#2f5d1e", lw=1.4)
        for hole in boundary.interiors:
            ax.fill(*np.asarray(hole.coords).T, facecolor="#8c96a0", edgecolor="#51606b", lw=1.0)
        for plan in job.plans.values():
            piece = "source_range" in plan.meta
            ax.plot(plan.path["x"], plan.path["y"], color=colour.get(plan.vehicle, "grey"), lw=0.6,
                    ls=":" if piece else "--", alpha=0.7)
        for vid in job.entry.vehicles:
            track = np.asarray([(x, y) for x, y, _ in record.metrics.vehicles[vid].track])
            ax.plot(track[:, 0], track[:, 1], color=colour[vid], lw=1.1, alpha=0.9)
            ax.plot(*track[0], marker="o", color=colour[vid], ms=6, mec="black")
            ax.plot(*track[-1], marker="s", color=colour[vid], ms=6, mec="black")
        for f in record.faults:
            if f.get("vehicle") in job.entry.vehicles and "xy" in f:
                ax.plot(*f["xy"], marker=_FAULT_MARK.get(f["kind"], "*"), color="black", ms=11, mfc="yellow")
        for b in report["breaches"]:
            if b["vehicle"] in job.entry.vehicles and "x" in b:
                ax.plot(b["x"], b["y"], marker="x", color="red", ms=10, mew=2)
        cov = summary["as_applied"]
        ax.set_title(f"{summary['name']} ({summary['field']}): coverage {_pct(cov['coverage_ratio'])}, "
                     f"overlap {_pct(cov['overlap_ratio'])}, {len(summary['replanned'])} re-planned",
                     fontsize=10)
        ax.set_aspect("equal")
        ax.set_xlabel("east (m)")
        ax.set_ylabel("north (m)")
    for ax in list(axes.flat)[len(jobs):]:
        ax.axis("off")
    handles = [Line2D([0], [0], color=colour[v], lw=2, label=v) for v in ids]
    handles += [Patch(facecolor=_CLASSES[k], edgecolor="grey", label=_CLASS_NAMES[k]) for k in (3, 4, 2, 1)]
    handles += [Line2D([0], [0], color="grey", ls="--", label="plan"),
                Line2D([0], [0], color="grey", ls=":", label="re-planned piece")]
    handles += [Line2D([0], [0], marker=m, color="black", mfc="yellow", ls="", label=k.replace("_", " "))
                for k, m in _FAULT_MARK.items() if any(f["kind"] == k for f in record.faults)]
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 6), fontsize=9, frameon=False)
    verdict = "PASSED" if report["passed"] else "FAILED"
    s = report["summary"]
    done = f"done at {s['done_at_s']:.0f} s" if s["done_at_s"] is not None else "not done"
    fig.suptitle(f"{report['scenario']['name']}\nseed {report['seed']}: {verdict}, {done}, "
                 f"{s['sim_time_s']:.0f} s simulated", fontsize=11)
    top = 1.0 - 0.9 / fig.get_figheight()
    fig.tight_layout(rect=(0, 1.0 / fig.get_figheight(), 1, top))
    fig.savefig(path if hasattr(path, "write") else os.fspath(path), format="png")
    plt.close(fig)


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.1f} %"
