"""Drone jobs: a 200 ha spray job for 4 drones, planned end to end (survey lines, pieces balanced on finish
time, sorties for tank and battery), with peers measured in the same run:

- the sortie search against next fit (each sortie as long as it goes, the classic greedy), and against
  breaking only at the ends of passes, on the whole field for one drone: sorties and flight time; the same
  for a camera survey at 40 m, where the battery, not a tank, ends the sorties;
- the balanced partition against an even split of the lines by working length: finish-time spread;
- one drone against four: the job's finish time;
- the simulator: sorties of the job flown by the simulated drone (rotor power, drag, guidance that stops at
  corners, a tank that drains): planned over flown energy and time.

Planning times are medians of ``--repeats`` runs, wall clock, on whatever the machine is doing.

    python bench/drone_jobs.py [--repeats 3] [--sim-sorties 6] [--json]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import statistics

import numpy as np
from agrifleet.core.field import Field
from agrifleet.planners._drone_energy import FlightModel
from agrifleet.planners._drone_split import cut_path, spread
from agrifleet.planners.partition import JobParams, plan_job
from agrifleet.planners.sorties import SortieParams, split_sorties
from agrifleet.planners.survey import plan_survey, survey_params, swath_from_implement
from agrifleet.sim.sortie_flight import fly_sortie
from agrifleet.sim.vehicles import EXAMPLE_DRONE
from shapely.geometry import Polygon
from _timing import median_time

SPRAYER = ("sprayer:platform=air,boom_width_m=7,n_sections=1,rate_l_per_ha=15,tank_l=20,actuation=sprayer,"
           "nozzle_spacing_m=1.75,boom_offset_m=0,nozzle_max_flow_l_per_min=5")
DEPOTS = ((-30.0, -30.0), (1720.0, 450.0), (840.0, 1200.0))


def farm() -> Field:
    """About 200 ha: an irregular pentagon with a pylon and a pond the drones fly round."""
    outer = [(0, 0), (1640, -80), (1745, 975), (870, 1210), (-60, 1080)]
    holes = [[(480, 380), (540, 380), (540, 440), (480, 440)],
             [(1150, 650), (1230, 630), (1260, 720), (1190, 760), (1140, 720)]]
    return Field("bench 200 ha", Polygon(outer, holes))


def drones(n: int) -> list:
    return [dataclasses.replace(EXAMPLE_DRONE, name=f"drone-{k}") for k in range(1, n + 1)]


def even_split(fld: Field, n: int) -> list[float]:
    """Finish times when the lines are cut into ``n`` pieces of equal working length (no balancing)."""
    sw = swath_from_implement(SPRAYER)
    whole = plan_survey(fld, survey_params(sw, EXAMPLE_DRONE), start_xy=DEPOTS[0], implement=SPRAYER)
    p = whole.path
    on = p["sections"][:-1] != 0
    work = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(p["x"]), np.diff(p["y"])) * on)])
    pieces = cut_path(p, work, [work[-1] * k / n for k in range(1, n)])
    plans = [split_sorties(whole.with_(path=q, metrics=whole.metrics), d, SortieParams(DEPOTS))
             for q, d in zip(pieces, drones(n))]
    return [q.meta["job_time_s"] for q in plans]


def fly(plan, k: int) -> tuple[float, float, float, float]:
    """Planned and flown (energy Wh, time s) of sortie ``k`` of ``plan`` in the simulator."""
    flight = fly_sortie(plan, k, EXAMPLE_DRONE, SPRAYER)
    if not flight.completed:
        raise RuntimeError(f"sortie {k} did not complete in the simulator")
    return plan.sorties[k].energy_wh, flight.model.energy_used_wh, plan.meta["sorties"][k]["flight_s"], \
        flight.world.t_s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--sim-sorties", type=int, default=6, help="sorties of the job to fly in the simulator")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    fld = farm()
    params = JobParams(air_implement=SPRAYER, depots=DEPOTS)

    t_job, job = median_time(lambda: plan_job(fld, drones(4), params), args.repeats)
    plans = list(job.plans.values())
    sorties = {p.vehicle: len(p.sorties) for p in plans}
    flight = sum(p.meta["flight_time_s"] for p in plans)
    litres = sum(f["sprayed_l"] for p in plans for f in p.meta["sorties"])
    t_one, one = median_time(lambda: plan_job(fld, drones(1), params), 1)

    sw = swath_from_implement(SPRAYER)
    whole = plan_survey(fld, survey_params(sw, EXAMPLE_DRONE), start_xy=DEPOTS[0], implement=SPRAYER)
    peers = {}
    variants = (("fewest", {}), ("greedy", {"search": "greedy"}), ("pass_ends", {"breaks": "pass_ends"}))
    for name, kw in variants:
        t, out = median_time(lambda kw=kw: split_sorties(whole, EXAMPLE_DRONE, SortieParams(DEPOTS, **kw)),
                             args.repeats)
        peers[name] = {"plan_s": t, "sorties": len(out.sorties), "flight_s": out.meta["flight_time_s"],
                       "job_s": out.meta["job_time_s"]}
    even = even_split(fld, 4)
    camera = "camera:altitude_m=40"
    survey = plan_survey(fld, survey_params(swath_from_implement(camera), EXAMPLE_DRONE), start_xy=DEPOTS[0],
                         implement=camera)
    for name, kw in (("camera fewest", {}), ("camera greedy", {"search": "greedy"})):
        t, out = median_time(lambda kw=kw: split_sorties(survey, EXAMPLE_DRONE, SortieParams(DEPOTS, **kw)),
                             args.repeats)
        peers[name] = {"plan_s": t, "sorties": len(out.sorties), "flight_s": out.meta["flight_time_s"],
                       "job_s": out.meta["job_time_s"]}

    flown = []
    all_sorties = [(p, k) for p in plans for k in range(len(p.sorties))]
    for i in np.linspace(0, len(all_sorties) - 1, args.sim_sorties).round().astype(int):
        flown.append(fly(*all_sorties[i]))
    e_ratio = statistics.median(pe / fe for pe, fe, _, _ in flown)
    t_ratio = statistics.median(pt / ft for _, _, pt, ft in flown)
    model = FlightModel(EXAMPLE_DRONE)

    result = {
        "field_ha": fld.area_m2 / 1e4, "litres": litres, "coverage": plans[0].metrics.coverage_ratio,
        "plan_s_4_drones": t_job, "plan_s_1_drone": t_one, "sorties": sorties,
        "sorties_total": sum(sorties.values()),
        "flight_time_h": flight / 3600, "finish_h": max(job.finish_s.values()) / 3600, "spread": job.spread,
        "finish_h_1_drone": max(one.finish_s.values()) / 3600, "even_split_spread": spread(even),
        "even_split_finish_h": max(even) / 3600, "search_peers": peers,
        "sim_energy_planned_over_flown": e_ratio, "sim_time_planned_over_flown": t_ratio,
        "sim_sorties_flown": len(flown), "hover_w_full": model.power_w(model.full_kg, 0.0),
    }
    if args.json:
        print(json.dumps(result, indent=2, default=float))
        return
    print(f"{result['field_ha']:.1f} ha, {litres:.0f} l at 15 l/ha, 4 drones (20 l, 1200 Wh), 3 depots; "
          f"coverage {100 * result['coverage']:.2f} %")
    print(f"  plan (survey + balance + sorties): {t_job:.2f} s median of {args.repeats}; "
          f"one drone {t_one:.2f} s")
    print(f"  sorties {sum(sorties.values())} ({', '.join(f'{k} {v}' for k, v in sorties.items())}), flight "
          f"{result['flight_time_h']:.2f} h in all, finish after {result['finish_h']:.2f} h, spread "
          f"{100 * job.spread:.1f} %")
    print(f"  one drone alone finishes after {result['finish_h_1_drone']:.2f} h "
          f"({result['finish_h_1_drone'] / result['finish_h']:.2f}x); even split by length: spread "
          f"{100 * result['even_split_spread']:.1f} %, finish {result['even_split_finish_h']:.2f} h")
    for name, p in peers.items():
        base = peers["camera fewest" if name.startswith("camera") else "fewest"]
        print(f"  search {name:<13} {p['sorties']:4d} sorties, flight {p['flight_s'] / 3600:6.2f} h "
              f"({p['flight_s'] / base['flight_s']:.3f}x), with refills {p['job_s'] / 3600:6.2f} h "
              f"({p['job_s'] / base['job_s']:.3f}x), planned in {p['plan_s']:.2f} s")
    print(f"  simulator, {len(flown)} sorties: planned/flown energy {e_ratio:.3f}, time {t_ratio:.3f} "
          "(median)")


if __name__ == "__main__":
    main()
