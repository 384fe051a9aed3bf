"""Map pictures of plans: field, obstacles, zones, and the path coloured by what each stretch is for."""
from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from agrifleet.core.field import Field
from agrifleet.core.plan import Plan, SegmentKind

__all__ = ["draw_plans", "KIND_STYLE"]

KIND_STYLE = {
    SegmentKind.SWATH: {"color": "#1f77b4", "lw": 0.9, "ls": "-", "label": "swath"},
    SegmentKind.HEADLAND: {"color": "#ff7f0e", "lw": 0.9, "ls": "-", "label": "headland pass"},
    SegmentKind.TURN: {"color": "#7f7f7f", "lw": 0.6, "ls": "-", "label": "turn"},
    SegmentKind.TRANSIT: {"color": "#d62728", "lw": 0.8, "ls": "--", "label": "transit"},
    SegmentKind.SERVICE: {"color": "#9467bd", "lw": 0.8, "ls": ":", "label": "to/from service point"},
}


def _ring(ax, coords: np.ndarray, **kw) -> None:
    ax.fill(coords[:, 0], coords[:, 1], **kw)


def draw_plans(plans: Sequence[Plan], path: str | os.PathLike[str], *, fields: Sequence[Field] = (),
               title: str = "", tracks: Sequence[np.ndarray] = ()) -> None:
    """Write a PNG or SVG map of ``plans`` (local metres). ``tracks`` are driven ``(N, 2)`` tracks."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    fig, ax = plt.subplots(figsize=(9, 9), dpi=110)
    boundaries = [p.boundary for p in plans if p.boundary is not None] + [f.boundary for f in fields]
    seen = set()
    for poly in boundaries:
        if poly.wkb in seen:
            continue
        seen.add(poly.wkb)
        _ring(ax, np.asarray(poly.exterior.coords), facecolor="#e8f3e0", edgecolor="#4c7a34", lw=1.2)
        for hole in poly.interiors:
            _ring(ax, np.asarray(hole.coords), facecolor="#b9c4cc", edgecolor="#51606b", lw=1.0, hatch="//")
    for f in fields:
        for zone in f.zones:
            _ring(ax, np.asarray(zone.polygon.exterior.coords), facecolor="#f2d7a0", edgecolor="#a07a2c",
                  alpha=0.6, lw=0.8)
    used = set()
    for plan in plans:
        xy = plan.xy
        for seg in plan.segments():
            style = KIND_STYLE[seg.kind]
            stop = min(seg.stop + 1, len(xy))
            ax.plot(xy[seg.start:stop, 0], xy[seg.start:stop, 1], color=style["color"], lw=style["lw"],
                    ls=style["ls"], solid_capstyle="butt")
            used.add(seg.kind)
        if len(xy):
            ax.plot(*xy[0], marker="o", color="green", ms=6)
            ax.plot(*xy[-1], marker="s", color="black", ms=5)
    for track in tracks:
        ax.plot(track[:, 0], track[:, 1], color="#2ca02c", lw=0.7, alpha=0.8)
    handles = [Line2D([0], [0], color=KIND_STYLE[k]["color"], ls=KIND_STYLE[k]["ls"], label=KIND_STYLE[k]["label"])
               for k in SegmentKind if k in used]
    handles += [Line2D([0], [0], marker="o", color="green", ls="", label="start"),
                Line2D([0], [0], marker="s", color="black", ls="", label="end")]
    ax.legend(handles=handles, loc="upper right", fontsize=8, framealpha=0.85)
    ax.set_aspect("equal")
    ax.set_xlabel("east (m)")
    ax.set_ylabel("north (m)")
    ax.set_title(title or ", ".join(p.field_name for p in plans))
    ax.grid(True, lw=0.3, alpha=0.5)
    fig.tight_layout()
    fig.savefig(os.fspath(path))
    plt.close(fig)
