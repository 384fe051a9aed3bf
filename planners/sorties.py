"""Sorties: a drone plan cut into trips that each fit the tank and the battery, with refill stops between.

A spray drone carries a few tens of litres and flies for minutes, so a plan is flown as sorties: take off at
a refill (or landing) point, fly to where the work was left (the breakpoint), work until the tank or the
battery calls it a day, fly back to the nearest refill point with the implement off, land. The next sortie
starts from that point.

Tank: the product a sortie needs is the implement's rate (L/ha) times the area its working stretches cover
(sections switched on x length), plus a small margin for what tracking adds; it is what the crew loads.
Battery: the energy of every stretch at its speed and at the drone's mass there (it gets lighter as it
sprays), from the simulator's rotor power model (:mod:`._drone_energy`), plus take-off, landing and the
stops, must stay within the battery less a reserve.

Breakpoints may fall anywhere along the working stretches (every ``break_step_m``), and wherever the work
crosses from one pass to the next. The cut is a shortest path over those candidates: fewest sorties first,
then least time; so no sortie ends early if that would cost one more, and among equal counts the breaks
fall where the way back to a refill point is short. The sums over a candidate sortie are prefix-sum lookups
(the power is taken on its chord in mass, which only ever overestimates), so the search is linear in the
breakpoints times the breakpoints one sortie can reach.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Any, Literal

import numpy as np
from agrifleet.core.errors import ConfigError, PlanError
from agrifleet.core.implement import Implement, build_implement
from agrifleet.core.plan import PATH_DTYPE, Plan, PlanMetrics, SegmentKind, Sortie, make_path, segment_lengths
from agrifleet.core.vehicle import VehicleSpec
from shapely.geometry import MultiPoint, Polygon, box

from ._drone_energy import FlightModel
from ._drone_route import FreeSpace, densify

__all__ = ["SortieParams", "split_sorties"]

logger = logging.getLogger(__name__)

_BIG_S = 1e9  # one more sortie outweighs any saving in time


@dataclass(frozen=True, slots=True)
class SortieParams:
    """Where a drone refills and how much it keeps back. Points are in the plan's local metres."""

    depots: tuple[tuple[float, float], ...]
    launch_xy: tuple[float, float] | None = None   # first take-off (default: the depot nearest the work)
    reserve: float = 0.2                # share of the battery never planned for
    payload_margin: float = 0.02        # product loaded beyond what a sortie sprays, as a share of it
    service_alt_m: float | None = None  # height of the legs to and from depots (default: working height)
    service_time_s: float = 120.0       # on the ground between sorties: refill, battery swap
    break_step_m: float = 10.0          # spacing of candidate breakpoints along the work
    avoid_obstacles: bool = True        # legs to depots go round the field's obstacles
    breaks: Literal["anywhere", "pass_ends"] = "anywhere"  # pass_ends: never stop in the middle of a pass
    search: Literal["fewest", "greedy"] = "fewest"  # greedy: each sortie as long as it goes (next fit)

    def __post_init__(self) -> None:
        pts = tuple((float(x), float(y)) for x, y in self.depots)
        if not pts:
            raise ConfigError("sorties: give at least one refill or landing point (depot)")
        if not all(math.isfinite(c) for p in pts for c in p):
            raise ConfigError(f"sorties: depot positions must be finite, got {list(self.depots)}")
        object.__setattr__(self, "depots", pts)
        if not (0.0 <= self.reserve < 1.0):
            raise ConfigError(f"sorties: reserve = {self.reserve!r} must be within 0..1 (1 excluded)")
        if not (0.0 <= self.payload_margin <= 0.5):
            raise ConfigError(f"sorties: payload margin = {self.payload_margin!r} must be within 0..0.5")
        for name in ("service_time_s",):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) >= 0):
                raise ConfigError(f"sorties: {name} = {getattr(self, name)!r} must be >= 0")
        if not (math.isfinite(self.break_step_m) and self.break_step_m > 0):
            raise ConfigError(f"sorties: break step = {self.break_step_m!r} must be > 0")
        alt = self.service_alt_m
        if alt is not None and not (math.isfinite(alt) and alt > 0):
            raise ConfigError(f"sorties: service height = {self.service_alt_m!r} must be > 0")
        if self.breaks not in ("anywhere", "pass_ends"):
            raise ConfigError(f"sorties: breaks = {self.breaks!r} must be 'anywhere' or 'pass_ends'")
        if self.search not in ("fewest", "greedy"):
            raise ConfigError(f"sorties: search = {self.search!r} must be 'fewest' or 'greedy'")


@dataclass(frozen=True, slots=True)
class _Work:
    """The plan's path with the prefix sums a candidate sortie is priced with (index = sample)."""

    path: np.ndarray
    litres: np.ndarray      # product used from sample 0 up to each sample
    time_s: np.ndarray      # flight time from sample 0
    e0_wh: np.ndarray       # energy with an empty tank
    k_wh_kg: np.ndarray     # energy growth per kg carried
    kl_wh_kg: np.ndarray    # the same weighted by the product already used at each stretch


def _prefix(values: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(values)])


def _litres_per_stretch(path: np.ndarray, impl: Implement | None, width_m: float) -> np.ndarray:
    consumable = impl.consumable if impl is not None else None
    if consumable is None or len(path) < 2:
        return np.zeros(max(len(path) - 1, 0))
    masks = path["sections"][:-1].astype(np.int64)
    widths = np.zeros(len(masks))
    for m in np.unique(masks[masks != 0]):
        widths[masks == m] = impl.active_width_m(int(m)) if impl.n_sections else width_m
    return consumable.rate_per_ha * widths * segment_lengths(path) / 10_000.0


def _work(plan: Plan, model: FlightModel, impl: Implement | None, step_m: float) -> _Work:
    working = plan.path["sections"][:-1] != 0 if len(plan) > 1 else np.zeros(0, bool)
    if not working.any():
        raise PlanError("the plan has no working stretch to fly in sorties")
    on = np.flatnonzero(working)
    path = densify(plan.path[on[0]:on[-1] + 2], step_m, working[on[0]:on[-1] + 1])
    t = model.stretch_times(path)
    litres = _litres_per_stretch(path, impl, plan.width_m)
    p0, k = model.power_chord(path["speed"][:-1].astype(float))
    used = _prefix(litres)
    return _Work(path, used, _prefix(t), _prefix(t * p0 / 3600.0), _prefix(t * k / 3600.0),
                 _prefix(t * k * used[:-1] / 3600.0))


def _candidates(path: np.ndarray, breaks: str) -> np.ndarray:
    """Samples a sortie may start or end at: on or at the ends of working stretches (only their ends, for
    ``pass_ends``), and the path's ends."""
    on = path["sections"][:-1] != 0
    mark = np.zeros(len(path), dtype=bool)
    if breaks == "pass_ends":
        mark[1:-1] = on[1:] != on[:-1]
    else:
        mark[:-1] |= on
        mark[1:] |= on
    mark[[0, -1]] = True
    return np.flatnonzero(mark)


def _service_space(plan: Plan, depots: np.ndarray, avoid: bool) -> FreeSpace | None:
    """Where legs to the depots may go: anywhere around the field but its obstacles (``None``: straight)."""
    holes = [Polygon(r) for r in plan.boundary.interiors] if (avoid and plan.boundary is not None) else []
    if not holes:
        return None
    hull = MultiPoint(np.vstack([plan.xy, depots])).envelope.buffer(50.0)
    area = box(*hull.bounds)
    for h in holes:
        area = area.difference(h)
    return FreeSpace(area)


class _Legs:
    """Distances and routes between breakpoints and depots."""

    def __init__(self, space: FreeSpace | None, depots: np.ndarray) -> None:
        self.space, self.depots = space, depots

    def distances(self, pts: np.ndarray) -> np.ndarray:
        if self.space is None:
            d = pts[:, None, :] - self.depots[None, :, :]
            return np.hypot(d[..., 0], d[..., 1])
        return np.column_stack([self.space.lengths_to(pts, d) for d in self.depots])

    def to(self, pts: np.ndarray, goal: np.ndarray) -> np.ndarray:
        return np.hypot(*(pts - goal).T) if self.space is None else self.space.lengths_to(pts, goal)

    def route(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.array([a, b]) if self.space is None else self.space.route(a, b)


def split_sorties(plan: Plan, vehicle: VehicleSpec, params: SortieParams, *,
                  implement: Implement | str | None = None, model: FlightModel | None = None) -> Plan:
    """``plan`` flown as sorties by ``vehicle``: the path gains the legs to and from the depots (kind
    ``SERVICE``, implement off), and ``plan.sorties`` says what each trip loads, uses and resumes from.

    ``params.search = "greedy"`` makes every sortie as long as it goes (next fit) instead of searching for
    the fewest sorties and least time; ``params.breaks = "pass_ends"`` never stops in the middle of a pass.
    Raises :class:`PlanError` when some part of the work cannot be reached and flown back from any depot
    within one battery (less the reserve)."""
    spec = implement if implement is not None else (plan.implement or None)
    impl = build_implement(spec) if isinstance(spec, str) else spec
    consumable = impl.consumable if impl is not None else None
    density = consumable.density_kg_per_unit if consumable is not None else 1.0
    model = model if model is not None else FlightModel(vehicle, density)
    tank = vehicle.tank_l if vehicle.tank_l > 0 else (consumable.capacity if consumable is not None else 0.0)
    if consumable is not None and tank <= 0:
        raise ConfigError(f"vehicle {vehicle.name!r} has no tank for the {impl.name}'s product")
    battery = vehicle.battery_wh * (1.0 - params.reserve) if vehicle.battery_wh > 0 else math.inf
    depots = np.array(params.depots, dtype=float)
    w = _work(plan, model, impl, params.break_step_m)
    path = w.path
    z_work = float(np.max(path["z"])) if len(path) else 0.0
    alt = params.service_alt_m if params.service_alt_m is not None else max(z_work, 1.0)
    v_t = vehicle.transit_speed_mps
    legs = _Legs(_service_space(plan, depots, params.avoid_obstacles), depots)
    cand = _candidates(path, params.breaks)
    pts = np.column_stack([path["x"][cand], path["y"][cand]])
    dist = legs.distances(pts)
    dep = np.argmin(dist, axis=1)
    back_m = dist[np.arange(len(cand)), dep]
    # A sortie that resumes where a pass ended flies straight to the start of the next working stretch.
    starts = np.zeros(len(path), dtype=bool)
    starts[:-1] = path["sections"][:-1] != 0
    begins = np.flatnonzero(starts[cand])
    nxt = begins[np.minimum(np.searchsorted(begins, np.arange(len(cand))), len(begins) - 1)] \
        if len(begins) else np.arange(len(cand))
    resume = np.where(nxt >= np.arange(len(cand)), nxt, np.arange(len(cand)))
    if params.launch_xy is None:
        launch = depots[int(np.argmin(dist[resume[0]]))]
    else:
        launch = np.asarray(params.launch_xy, dtype=float)
    out_m = dist[resume, dep]              # from the depot a sortie ends at, out to where the next resumes
    out_m[0] = float(legs.to(pts[resume[:1]], launch)[0])

    # Time and energy that do not depend on where the work stops, as (seconds, speed) pieces.
    on = path["sections"][:-1] != 0
    v_w = float(np.max(path["speed"][:-1][on])) if np.any(on) else float(vehicle.work_speed_mps)
    up_s, down_s = model.vertical_s(alt)
    p0_h, k_h = model.power_chord(np.array([0.0]))
    p0_t, k_t = model.power_chord(np.array([v_t]))  # the stops around the work too: the faster, the dearer
    resume_s = float(model.stop_s(v_t, v_w)) + float(model.stop_s(0.0, v_t))   # leave depot, start working
    finish_s = float(model.stop_s(v_w, v_t)) + v_t / (2.0 * model.stop_decel_mps2)  # stop work, stop at depot
    rho = density

    # prefix sums at the candidates, so that a sortie's window is a slice
    lit, t_c = w.litres[cand], w.time_s[cand]
    e0, kk, kl = w.e0_wh[cand], w.k_wh_kg[cand], w.kl_wh_kg[cand]
    hover0, hoverk = float(p0_h[0]), float(k_h[0])
    trans0, transk = float(p0_t[0]), float(k_t[0])

    def price(ia: int, ib: slice) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(seconds, Wh, litres loaded) of the sorties from candidate ``ia`` to each candidate in ``ib``."""
        out_s = out_m[ia] / v_t
        ia = int(resume[ia])
        need = lit[ib] - lit[ia]
        load = need * (1.0 + params.payload_margin)
        m_out, m_back = rho * load, rho * (load - need)
        t_back = back_m[ib] / v_t
        work_wh = (e0[ib] - e0[ia] + rho * (load + lit[ia]) * (kk[ib] - kk[ia]) - rho * (kl[ib] - kl[ia]))
        outbound = up_s * (hover0 + hoverk * m_out) + (out_s + resume_s) * (trans0 + transk * m_out)
        inbound = (t_back + finish_s) * (trans0 + transk * m_back) + down_s * (hover0 + hoverk * m_back)
        wh = work_wh + (outbound + inbound) / 3600.0
        secs = (up_s + out_s + resume_s + finish_s + down_s) + (t_c[ib] - t_c[ia]) + t_back
        return secs, wh, load

    n = len(cand)
    best = np.full(n, math.inf)
    prev = np.full(n, -1, dtype=np.int64)
    best[0] = 0.0
    tank_cap = tank / (1.0 + params.payload_margin) if tank > 0 else math.inf
    tank_ok = tank + 1e-9 if tank > 0 else math.inf
    reach = 0
    frontier = 0   # greedy: the one state it stands in
    greedy = params.search == "greedy"
    for ia in range(n - 1):
        here = best[ia]
        if here == math.inf or (greedy and ia != frontier):
            continue
        hi = min(int(lit.searchsorted(lit[ia] + tank_cap + 1e-9, side="right")),
                 int(e0.searchsorted(e0[ia] + battery, side="right")), n)
        first = int(resume[ia]) + 1
        if first >= n:
            continue
        window = slice(first, max(hi, first + 1))
        secs, wh, load = price(ia, window)
        ok = (wh <= battery) & (load <= tank_ok)
        idx = np.flatnonzero(ok)
        if len(idx) == 0:
            continue
        if greedy:
            idx = idx[-1:]
        total = here + (_BIG_S + params.service_time_s) + secs[idx]
        idx += first
        frontier = int(idx[-1])
        better = total < best[idx]
        best[idx[better]] = total[better]
        prev[idx[better]] = ia
        reach = max(reach, int(idx[-1]))
    if not math.isfinite(best[-1]):
        x, y = pts[min(reach + 1, n - 1)]
        raise PlanError(f"no sortie of {vehicle.name!r} reaches the work at ({x:.1f}, {y:.1f}) and returns "
                        f"to a depot within {battery:.0f} Wh (battery {vehicle.battery_wh:g} Wh less "
                        f"{100 * params.reserve:g} % reserve)" + (f" and {tank:g} l" if consumable else ""))
    chain = [n - 1]
    while chain[-1] != 0:
        chain.append(int(prev[chain[-1]]))
    chain.reverse()
    return _assemble(plan, w, cand, resume, chain, price, dep, launch, depots, legs, alt, v_t, params,
                     {"battery_wh": vehicle.battery_wh, "tank_l": tank, "vehicle": vehicle.name})


def _leg(xy: np.ndarray, alt: float, speed: float) -> np.ndarray:
    return make_path(xy, kind=SegmentKind.SERVICE, speed_mps=speed, z_m=alt)


def _assemble(plan: Plan, w: _Work, cand: np.ndarray, resume: np.ndarray, chain: Sequence[int], price: Any,
              dep: np.ndarray, launch: np.ndarray, depots: np.ndarray, legs: _Legs, alt: float, v_t: float,
              params: SortieParams, info: dict[str, Any]) -> Plan:
    path = w.path
    pieces: list[np.ndarray] = []
    sorties: list[Sortie] = []
    figures: list[dict[str, Any]] = []
    here = launch
    start = 0
    for ia, ib in pairwise(chain):
        a, b = int(cand[resume[ia]]), int(cand[ib])
        secs, wh, load = (float(v[0]) for v in price(ia, slice(ib, ib + 1)))
        p_a = np.array([path["x"][a], path["y"][a]])
        p_b = np.array([path["x"][b], path["y"][b]])
        depot = depots[dep[ib]]
        out = _leg(legs.route(here, p_a), alt, v_t)[:-1]      # its end is the work's first sample
        back = _leg(legs.route(p_b, depot), alt, v_t)          # from the breakpoint, implement off
        trip = np.concatenate([out, path[a:b], back])
        pieces.append(trip)
        sorties.append(Sortie(start, start + len(trip), (float(depot[0]), float(depot[1])), load, wh,
                              (float(p_a[0]), float(p_a[1]))))
        figures.append({"flight_s": secs, "energy_wh": wh, "payload_l": load,
                        "sprayed_l": float(w.litres[b] - w.litres[a]), "depot": int(dep[ib]),
                        "resume_xy": [float(p_a[0]), float(p_a[1])],
                        "break_xy": [float(p_b[0]), float(p_b[1])]})
        start += len(trip)
        here = depot
    new_path = np.concatenate(pieces) if pieces else np.zeros(0, dtype=PATH_DTYPE)
    flight = sum(f["flight_s"] for f in figures)
    meta = dict(plan.meta)
    meta.update({"sorties": figures, "n_sorties": len(figures), "flight_time_s": flight,
                 "job_time_s": flight + params.service_time_s * max(len(figures) - 1, 0),
                 "service_time_s": params.service_time_s, "reserve": params.reserve, **info})
    old = plan.metrics
    metrics = PlanMetrics.from_path(new_path)
    if old is not None:
        metrics = replace(metrics, field_area_m2=old.field_area_m2, coverage_ratio=old.coverage_ratio,
                          overlap_ratio=old.overlap_ratio, boundary_violations=old.boundary_violations)
    logger.debug("%d sorties, %.0f s of flight", len(figures), flight)
    return plan.with_(path=new_path, sorties=tuple(sorties), metrics=metrics, meta=meta)
