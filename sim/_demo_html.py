"""``report.html`` of the demo: one self-contained page (inline CSS, PNG pictures as base64, no script, no
network), and the three pictures on it: the farm with its plans, the driven tracks over the plans, and
the as-applied coverage map. matplotlib is imported here only, when the pictures are drawn.
"""
from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from agrifleet.core.plan import WORKING_KINDS

if TYPE_CHECKING:
    from ._demo_run import DemoRun

__all__ = ["PICTURES", "draw_pictures", "render_html"]

PICTURES = {   # name: (heading, caption)
    "plans": ("Fields and plans", ("The fields with their obstacles and zones, the depots, where the vehicles "
                                   "started, and each vehicle's plans (bold where the implement works).")),
    "tracks": ("Driven tracks", ("What the machines really did (the simulator's truth, not their reports), "
                                 "bold where the implement was on, over the plans in grey.")),
    "coverage": ("As-applied coverage", ("Where product landed: once, twice or more, skipped, or outside the "
                                         "field, painted from each implement's sections along its track.")),
}
_CLASSES = ["#ffffff", "#9ecae1", "#d62728", "#b7e4a8", "#f4a259"]   # CoverageMap.picture classes
_CLASS_NAMES = ["", "applied outside", "skipped", "applied once", "applied twice or more"]
_WORKING = np.array([int(k) for k in WORKING_KINDS])

_CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2em auto; max-width: 1200px;
       color: #1d2a1d; padding: 0 1em; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ccd; }
.lead { color: #475; font-size: 1.1em; }
.ok { color: #1a7f37; font-weight: 600; } .bad { color: #c62828; font-weight: 600; }
.figures { display: flex; flex-wrap: wrap; gap: 1em; margin: 1em 0; }
.figure { background: #f3f7f1; border-radius: 6px; padding: 0.6em 1em; min-width: 9em; }
.figure b { display: block; font-size: 1.4em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.92em; }
th, td { border-bottom: 1px solid #dde; padding: 0.3em 0.7em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
img { max-width: 100%; border: 1px solid #dde; }
code { background: #f4f4f8; padding: 0.1em 0.3em; font-size: 0.88em; }
"""


def _png(fig: Any) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()


def _farm_axes(run: DemoRun, title: str) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sc = run.scenario
    minx = min(f.field.boundary.bounds[0] for f in sc.fields)
    miny = min(f.field.boundary.bounds[1] for f in sc.fields)
    maxx = max(f.field.boundary.bounds[2] for f in sc.fields)
    maxy = max(f.field.boundary.bounds[3] for f in sc.fields)
    for x, y, _ in run.world.starts.values():
        minx, miny, maxx, maxy = min(minx, x), min(miny, y), max(maxx, x), max(maxy, y)
    pad = 0.04 * max(maxx - minx, maxy - miny)
    ratio = (maxy - miny + 2 * pad) / max(maxx - minx + 2 * pad, 1.0)
    fig, ax = plt.subplots(figsize=(11, min(14.0, max(4.0, 11 * ratio + 1.0))))
    ax.set_xlim(minx - pad, maxx + pad)
    ax.set_ylim(miny - pad, maxy + pad)
    ax.set_aspect("equal")
    ax.set_xlabel("east (m)")
    ax.set_ylabel("north (m)")
    ax.set_title(title, fontsize=11)
    return fig, ax


def _draw_fields(run: DemoRun, ax: Any, labels: bool = True) -> None:
    for f in run.scenario.fields:
        b = f.field.boundary
        ax.plot(*np.asarray(b.exterior.coords).T, color="#2f5d1e", lw=1.4)
        for hole in b.interiors:
            ax.fill(*np.asarray(hole.coords).T, facecolor="#8c96a0", edgecolor="#51606b", lw=1.0)
        for z in f.field.zones:
            ax.fill(*np.asarray(z.polygon.exterior.coords).T, facecolor="none", edgecolor="#3a6ea5",
                    hatch="//", lw=0.8)
        if labels:
            c = b.representative_point()
            ax.annotate(f.name, (c.x, c.y), ha="center", fontsize=9, color="#2f5d1e",
                        bbox={"boxstyle": "round", "fc": "white", "ec": "none", "alpha": 0.7})


def _colours(run: DemoRun) -> dict[str, Any]:
    import matplotlib.pyplot as plt

    return {v.id: plt.get_cmap("tab10")(k % 10) for k, v in enumerate(run.scenario.fleet)}


def _legend(ax: Any, run: DemoRun, colour: Mapping[str, Any], extra: list[Any]) -> None:
    from matplotlib.lines import Line2D

    handles = [Line2D([0], [0], color=colour[v.id], lw=2, label=f"{v.id} ({v.kind}, {v.driver})")
               for v in run.scenario.fleet]
    ax.legend(handles=handles + extra, loc="lower left", fontsize=8, framealpha=0.85)


def _plans_picture(run: DemoRun) -> bytes:
    from matplotlib.lines import Line2D

    fig, ax = _farm_axes(run, "Fields and plans")
    _draw_fields(run, ax)
    colour = _colours(run)
    for jp in run.farm.jobs:
        for vid, plan in jp.plans.items():
            p = plan.path
            work = np.isin(p["kind"], _WORKING) & (p["sections"] != 0)
            ax.plot(p["x"], p["y"], color=colour[vid], lw=0.5, ls="--", alpha=0.6)
            xs, ys = np.where(work, p["x"], np.nan), np.where(work, p["y"], np.nan)
            ax.plot(xs, ys, color=colour[vid], lw=0.9)
    depots = {tuple(d) for j in run.scenario.jobs for d in j.params.get("depots", ())}
    if depots:
        ax.plot(*np.asarray(sorted(depots)).T, ls="", marker="^", ms=8, color="#6a3d9a", mec="black")
    for vid, (x, y, _) in run.world.starts.items():
        ax.plot(x, y, marker="o", ms=7, color=colour[vid], mec="black")
    extra = [Line2D([0], [0], ls="", marker="^", color="#6a3d9a", mec="black", label="depot"),
             Line2D([0], [0], color="grey", lw=0.9, label="working (implement on)"),
             Line2D([0], [0], color="grey", lw=0.5, ls="--", label="transit, turns")]
    _legend(ax, run, colour, extra)
    fig.tight_layout()
    return _png(fig)


def _tracks_picture(run: DemoRun) -> bytes:
    fig, ax = _farm_axes(run, "Driven tracks (bold: implement on) over the plans (grey)")
    _draw_fields(run, ax, labels=False)
    colour = _colours(run)
    for jp in run.farm.jobs:
        for plan in jp.plans.values():
            ax.plot(plan.path["x"], plan.path["y"], color="#9a9a9a", lw=0.5, alpha=0.7)
    for vid, m in run.world.metrics.vehicles.items():
        track = np.asarray(m.track, dtype=float).reshape(-1, 3)
        if len(track) < 2:
            continue
        on = track[:, 2] > 0
        ax.plot(track[:, 0], track[:, 1], color=colour[vid], lw=0.5, alpha=0.8)
        ax.plot(np.where(on, track[:, 0], np.nan), np.where(on, track[:, 1], np.nan), color=colour[vid],
                lw=1.3)
        ax.plot(*track[-1, :2], marker="s", ms=7, color=colour[vid], mec="black")
    _legend(ax, run, colour, [])
    fig.tight_layout()
    return _png(fig)


def _coverage_picture(run: DemoRun, report: Mapping[str, Any]) -> bytes:
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    from ._report_plot import _classes

    fig, ax = _farm_axes(run, "As-applied coverage")
    colours = ListedColormap(_CLASSES)
    for cmap, _ in run.world.coverage.values():
        img = np.ma.masked_equal(_classes(cmap), 0)
        extent = (cmap.x0, cmap.x0 + cmap.nx * cmap.cell_m, cmap.y0, cmap.y0 + cmap.ny * cmap.cell_m)
        ax.imshow(img, origin="lower", cmap=colours, vmin=0, vmax=4, extent=extent, interpolation="nearest")
    _draw_fields(run, ax, labels=False)
    for f in report["fields"]:
        c = run.scenario.field(f["name"]).boundary.representative_point()
        text = f"{f['name']}\n{_pct(f['coverage'])} covered\n{_pct(f['overlap'])} overlap"
        ax.annotate(text, (c.x, c.y), ha="center", va="center", fontsize=8,
                    bbox={"boxstyle": "round", "fc": "white", "ec": "grey", "alpha": 0.85})
    classes = [Patch(facecolor=_CLASSES[k], edgecolor="grey", label=_CLASS_NAMES[k]) for k in (3, 4, 2, 1)]
    ax.legend(handles=classes, loc="lower left", fontsize=8, framealpha=0.85)
    fig.tight_layout()
    return _png(fig)


def draw_pictures(run: DemoRun, report: Mapping[str, Any]) -> dict[str, bytes]:
    """The page's pictures as PNG bytes, by the names of :data:`PICTURES`."""
    return {"plans": _plans_picture(run), "tracks": _tracks_picture(run),
            "coverage": _coverage_picture(run, report)}


# --- the page --------------------------------------------------------------------------------------------

def _pct(v: Any) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.1f} %"


def _num(v: Any, fmt: str = "{:.1f}", scale: float = 1.0) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "&ndash;"
    return fmt.format(v * scale)


def _e(v: Any) -> str:
    return html.escape(str(v), quote=True)


def _table(head: list[str], rows: list[list[str]]) -> str:
    """Cells are HTML already (escape text before)."""
    out = ["<table><thead><tr>", *(f"<th>{h}</th>" for h in head), "</tr></thead><tbody>"]
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _vehicle_table(report: Mapping[str, Any]) -> str:
    rows = []
    for vid, v in report["vehicles"].items():
        xte = v["cross_track"]
        rows.append([f"<b>{_e(vid)}</b>", _e(v["kind"]), _e(v["driver"]),
                     _num(v["applied_area_m2"], "{:.2f}", 1e-4), _pct(v["share_of_farm"]),
                     _num(v["distance_m"], "{:.2f}", 1e-3), _num(v["working_distance_m"], "{:.2f}", 1e-3),
                     _num(v["time_working_s"], "{:.1f}", 1 / 60), _num(v["busy_s"], "{:.1f}", 1 / 60),
                     _num(v["product_used_l"], "{:.1f}"),
                     _num(v["energy_used_wh"], "{:.0f}"), _num(v["min_battery_pct"], "{:.0f}"),
                     _num(v["sorties_planned"], "{:.0f}"), _num(v["depot_services"], "{:.0f}"),
                     _num(xte["rms_m"], "{:.3f}"), _pct(v["fleet_coverage"]),
                     f"{v['missions_complete']}/{len(v['missions'])}"])
    head = ["vehicle", "kind", "driver", "applied (ha)", "share", "driven (km)", "working (km)",
            "working (min)", "busy (min)", "product (l)", "energy (Wh)", "battery min (%)", "sorties",
            "depot stops", "cross-track RMS (m)", "fleet progress", "missions"]
    return _table(head, rows)


def _field_table(report: Mapping[str, Any]) -> str:
    rows = [[f"<b>{_e(f['name'])}</b>", _num(f["area_ha"], "{:.2f}"), _pct(f["coverage"]), _pct(f["overlap"]),
             _num(f["skipped_m2"], "{:.0f}"), _num(f["applied_outside_m2"], "{:.0f}"),
             _pct(f["fleet_coverage"]), _e(", ".join(f["vehicles"])), _e(f["state"])] for f in report["fields"]]
    head = ["field", "area (ha)", "coverage", "overlap", "skipped (m²)", "applied outside (m²)",
            "fleet progress", "vehicles", "job"]
    return _table(head, rows)


def render_html(report: Mapping[str, Any], pictures: Mapping[str, bytes]) -> str:
    """The page for ``report`` (the dict of ``report.json``) with ``pictures`` (PNG bytes by name)."""
    s = report["summary"]
    state = ('<span class="ok">done</span>' if report["completed"] else '<span class="bad">not done</span>')
    figures = [("fields", f"{s['fields']}"), ("area", f"{_num(s['area_ha'], '{:.1f}')} ha"),
               ("coverage", _pct(s["coverage"])), ("overlap", _pct(s["overlap"])),
               ("farm time", f"{_num(s['work_s'], '{:.1f}', 1 / 60)} min"),
               ("wall time", f"{_num(s['wall_s'], '{:.0f}')} s"),
               ("speed", f"x{_num(s['achieved_speed_factor'], '{:.0f}')}"),
               ("product", f"{_num(s['product_used_l'], '{:.0f}')} l"),
               ("depot stops", f"{s['depot_services']}")]
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>{_e(report['scenario']['name'])}</title><style>{_CSS}</style></head><body>",
             f"<h1>{_e(report['scenario']['name'])}</h1>",
             (f'<p class="lead">{state}: {s["vehicles"]} vehicles worked {s["fields"]} fields through the '
              "dispatcher, their agents and drivers, in simulated time.</p>"),
             '<div class="figures">',
             *(f'<div class="figure">{_e(k)}<b>{v}</b></div>' for k, v in figures), "</div>"]
    if report["scenario"].get("description"):
        parts.append(f"<p>{_e(report['scenario']['description'])}</p>")
    for name, (heading, caption) in PICTURES.items():
        data = pictures.get(name)
        if data is None:
            continue
        b64 = base64.b64encode(data).decode("ascii")
        parts.append(f'<h2>{_e(heading)}</h2><p>{_e(caption)}</p>'
                     f'<img alt="{_e(heading)}" src="data:image/png;base64,{b64}">')
    parts += ["<h2>Vehicles</h2>", _vehicle_table(report), "<h2>Fields</h2>", _field_table(report)]
    if report.get("criteria"):
        rows = [[_e(c["name"]), _e(c["limit"]), _e(c["measured"]), _e(c["worst"]),
                 '<span class="ok">ok</span>' if c["passed"] else '<span class="bad">failed</span>']
                for c in report["criteria"]]
        head = ["criterion", "limit", "measured", "worst", ""]
        parts += ["<h2>Acceptance criteria</h2>", _table(head, rows)]
    fleet = report["fleet"]
    parts += ["<h2>Fleet</h2>",
              (f"<p>Dispatcher on <code>{_e(fleet['dispatcher'])}</code> with CURVE keys in "
               f"<code>{_e(fleet['keys'])}/</code> and its SQLite store in "
               f"<code>{_e(fleet['database'])}</code> ({fleet['missions_stored']} missions). Agents:</p><ul>"),
              *(f"<li><code>{_e(cmd)}</code></li>" for cmd in fleet["agents"].values()), "</ul>"]
    t = report["timings"]
    rows = [[_e(k), _num(v, "{:.2f}")] for k, v in t.items()]
    parts += ["<h2>Timings</h2>", _table(["", "value"], rows)]
    notes = report.get("planning", {}).get("notes") or []
    if notes:
        parts += ["<h2>Planner notes</h2><ul>", *(f"<li>{_e(n)}</li>" for n in notes), "</ul>"]
    events = report.get("events") or []
    if events:
        rows = [[_e(e["vehicle"]), _e(e["code"]), _e(e["severity"]), _e(e["text"])] for e in events[-50:]]
        parts += [f"<h2>Events ({len(events)})</h2>", _table(["vehicle", "event", "severity", "text"], rows)]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
