"""Tractor cross-track error: the simulated tractor follows a multi-swath plan at 2.5 m/s with on-board
guidance fed by simulated GNSS (RTK fixed, float, single point), and the *true* rear-axle and implement
positions are measured against the plan. Peers in the same run: pure pursuit vs Stanley, and the three
fix qualities. Prints medians over ``--seeds`` runs; RMS on straight swaths (after a settling distance at
each swath start) and on turns.

    python bench/cross_track.py [--seeds 3] [--swaths 6]
"""
from __future__ import annotations

import argparse
import math
import statistics

import numpy as np
import shapely
from agrifleet.core.guidance import GuidanceParams, PathFollower, SteeringLaw
from agrifleet.core.plan import Plan, SegmentKind, make_path
from agrifleet.core.vehicle import GroundControl
from agrifleet.drivers.base import GnssQuality
from agrifleet.sim.sensors import Gnss, HeadingSensor
from agrifleet.sim.vehicles import EXAMPLE_TRACTOR, TractorModel
from agrifleet.sim.world import World
from shapely.geometry import LineString

SPACING_M = 12.0
LENGTH_M = 150.0
SETTLE_M = 10.0


def boustrophedon(n: int) -> Plan:
    parts = []
    for k in range(n):
        x = k * SPACING_M
        y0, y1 = (0.0, LENGTH_M) if k % 2 == 0 else (LENGTH_M, 0.0)
        parts.append(make_path([(x, y0), (x, y1)], kind=SegmentKind.SWATH, speed_mps=2.5, sections=1,
                               swath=k))
        if k < n - 1:
            th = np.linspace(math.pi, 0, 60)[1:-1] if k % 2 == 0 else np.linspace(-math.pi, 0, 60)[1:-1]
            cy = y1
            turn = np.column_stack([x + SPACING_M / 2 + SPACING_M / 2 * np.cos(th),
                                    cy + SPACING_M / 2 * np.sin(th) * (1 if k % 2 == 0 else 1)])
            parts.append(make_path(turn, kind=SegmentKind.TURN, speed_mps=2.0))
    return Plan(np.concatenate(parts))


def run(law: SteeringLaw, quality: GnssQuality, seed: int, n_swaths: int) -> dict[str, float]:
    plan = boustrophedon(n_swaths)
    world = World(rng=np.random.default_rng(seed), dt_s=0.05)
    model = TractorModel(EXAMPLE_TRACTOR)
    model.place(0.0, -5.0, math.pi / 2, world)
    model.arm()
    lag = EXAMPLE_TRACTOR.hitch_offset_m + EXAMPLE_TRACTOR.implement_offset_m
    follower = PathFollower(plan, EXAMPLE_TRACTOR.wheelbase_m, EXAMPLE_TRACTOR.max_steer_rad,
                            GuidanceParams(law=law, implement_lag_m=lag))
    rng = world.spawn_rng()
    gnss, heading = Gnss(rng, quality), HeadingSensor(rng)
    log: list[tuple[float, float, float, float, int]] = []

    def control(t: float, state):
        fix = gnss.read(state)
        cmd = follower.update(fix.x, fix.y, heading.read(state), state.speed_mps)
        log.append((state.x, state.y, state.implement_x, state.implement_y, cmd.plan_index))
        return GroundControl(cmd.steer_rad, cmd.speed_mps, cmd.sections)

    world.add_vehicle("t", model, control, control_period_s=0.1)
    world.run(3600.0, until=lambda w: follower.done)
    arr = np.array(log)
    kind = plan.path["kind"][arr[:, 4].astype(int)]
    swath_id = plan.path["swath"][arr[:, 4].astype(int)]
    out: dict[str, float] = {}
    for who, cols in (("axle", (0, 1)), ("implement", (2, 3))):
        pts = shapely.points(arr[:, cols[0]], arr[:, cols[1]])
        on_swath = kind == SegmentKind.SWATH
        # straight swaths: distance to the swath's own line, after SETTLE_M into the swath
        xte = np.full(len(arr), np.nan)
        for k in range(n_swaths):
            sel = on_swath & (swath_id == k)
            xte[sel] = np.abs(arr[sel, cols[0]] - k * SPACING_M)
            y = arr[:, cols[1]]
            into = y if k % 2 == 0 else LENGTH_M - y
            xte[sel & (into < SETTLE_M)] = np.nan
        out[f"{who}_swath_rms_m"] = float(np.sqrt(np.nanmean(xte[on_swath] ** 2)))
        out[f"{who}_swath_max_m"] = float(np.nanmax(xte[on_swath]))
        turns = kind == SegmentKind.TURN
        line = LineString(plan.xy)
        d = shapely.distance(line, pts[turns])
        out[f"{who}_turn_rms_m"] = float(np.sqrt(np.mean(d ** 2)))
        out[f"{who}_turn_max_m"] = float(d.max())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--swaths", type=int, default=6)
    args = ap.parse_args()
    pp, st = SteeringLaw.PURE_PURSUIT, SteeringLaw.STANLEY
    cases = [(pp, GnssQuality.RTK_FIXED), (st, GnssQuality.RTK_FIXED), (pp, GnssQuality.RTK_FLOAT),
             (pp, GnssQuality.SINGLE)]
    print(f"{'law':<13} {'fix':<10} {'swath RMS':>10} {'swath max':>10} {'turn RMS':>9} {'turn max':>9} "
          f"{'impl swath RMS':>15} {'impl turn RMS':>14}   (m, medians of {args.seeds} seeds)")
    first = None
    for law, q in cases:
        runs = [run(law, q, seed, args.swaths) for seed in range(args.seeds)]
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        if first is None:
            first = med
        print(f"{law.value:<13} {q.name.lower():<10} {med['axle_swath_rms_m']:>10.4f} "
              f"{med['axle_swath_max_m']:>10.4f} {med['axle_turn_rms_m']:>9.3f} "
              f"{med['axle_turn_max_m']:>9.3f} {med['implement_swath_rms_m']:>15.4f} "
              f"{med['implement_turn_rms_m']:>14.3f}")
    ok = first["axle_swath_rms_m"] <= 0.05
    print(f"target: straight-swath RMS <= 0.05 m at 2.5 m/s with RTK fixed (pure pursuit): "
          f"{'met' if ok else 'NOT met'} ({first['axle_swath_rms_m'] * 100:.1f} cm)")


if __name__ == "__main__":
    main()
