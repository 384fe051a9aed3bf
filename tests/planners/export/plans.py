"""Plans for the export tests: a boustrophedon on a field with an obstacle, and random plans (hypothesis)."""
from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st
from shapely.geometry import MultiPoint, Polygon

from agrifleet.core.geo import LocalFrame
from agrifleet.core.plan import PATH_DTYPE, Plan, SegmentKind, Sortie, make_path

SPRAYER = "sprayer:boom_width_m=6,n_sections=3,section_actuation=relay:2,on_lead_s=0.4,off_lag_s=0.2"


def boustrophedon(n_swaths: int = 6, length_m: float = 100.0, width_m: float = 6.0, speed_mps: float = 2.5,
                  turn_speed_mps: float = 1.5, z_m: float = 0.0, sections: int = 0b111, step_m: float = 2.0,
                  frame: LocalFrame | None = LocalFrame(52.0, 5.0), implement: str = SPRAYER,
                  vehicle: str = "t1") -> Plan:
    """Straight passes ``width_m`` apart joined by half-circle turns, in a field with one obstacle."""
    parts = []
    for k in range(n_swaths):
        x = np.linspace(0.0, length_m, int(round(length_m / step_m)) + 1)
        x = x[::-1] if k % 2 else x
        parts.append(make_path(np.column_stack([x, np.full_like(x, k * width_m)]), kind=SegmentKind.SWATH,
                               speed_mps=speed_mps, sections=sections, swath=k, z_m=z_m))
        if k < n_swaths - 1:
            side = 1.0 if k % 2 == 0 else -1.0
            ang = np.linspace(-math.pi / 2, math.pi / 2, 13)[1:-1]
            txy = np.column_stack([x[-1] + side * width_m / 2 * np.cos(ang),
                                   k * width_m + width_m / 2 + width_m / 2 * np.sin(ang)])
            parts.append(make_path(txy, kind=SegmentKind.TURN, speed_mps=turn_speed_mps, z_m=z_m))
    top = n_swaths * width_m
    boundary = Polygon([(-10, -10), (length_m + 10, -10), (length_m + 10, top + 4), (-10, top + 4)],
                       [[(40, 10), (50, 10), (50, 15), (40, 15)]])
    return Plan(path=np.concatenate(parts), frame=frame, boundary=boundary, field_name="north", width_m=width_m,
                implement=implement, vehicle=vehicle)


@st.composite
def random_plans(draw: st.DrawFn, air: bool | None = None) -> Plan:
    """A random walk of 1-8 stretches: kinds, speeds, section masks, direction, height all vary."""
    flying = draw(st.booleans()) if air is None else air
    n_runs = draw(st.integers(1, 8))
    heading = draw(st.floats(-math.pi, math.pi))
    pos = np.zeros(2)
    runs = []
    for r in range(n_runs):
        n = draw(st.integers(2, 30))
        step = draw(st.floats(0.2, 5.0))
        turn = draw(st.floats(-0.3, 0.3))
        hs = heading + turn * np.arange(n)
        xy = pos + np.cumsum(np.column_stack([np.cos(hs), np.sin(hs)]) * step, axis=0) - \
            np.array([np.cos(hs[0]), np.sin(hs[0])]) * step
        kind = draw(st.sampled_from([SegmentKind.SWATH, SegmentKind.HEADLAND, SegmentKind.TURN,
                                     SegmentKind.TRANSIT]))
        working = kind in (SegmentKind.SWATH, SegmentKind.HEADLAND)
        runs.append(make_path(
            xy, kind=kind, speed_mps=draw(st.sampled_from([0.8, 1.5, 2.5, 4.0])),
            sections=draw(st.integers(1, 7)) if working else 0,
            direction=-1 if (not flying and draw(st.integers(0, 9)) == 0) else 1,
            swath=r if working else -1,
            z_m=draw(st.floats(5.0, 40.0)) if flying else 0.0))
        pos, heading = xy[-1] + np.array([np.cos(hs[-1]), np.sin(hs[-1])]) * step, hs[-1]
    path = np.concatenate(runs)
    assert path.dtype == PATH_DTYPE
    lat = draw(st.floats(-60.0, 60.0))
    lon = draw(st.floats(-179.0, 179.0))
    hull = MultiPoint(np.column_stack([path["x"], path["y"]])).convex_hull.buffer(5.0)
    return Plan(path=path, frame=LocalFrame(lat, lon), boundary=Polygon(hull.exterior), field_name="random",
                implement=SPRAYER, vehicle="v")


def with_sorties(plan: Plan, cuts: list[int]) -> Plan:
    bounds = [0, *cuts, len(plan.path)]
    return plan.with_(sorties=tuple(Sortie(a, b, depot_xy=(float(plan.path["x"][a]), float(plan.path["y"][a])))
                                    for a, b in zip(bounds[:-1], bounds[1:])))
