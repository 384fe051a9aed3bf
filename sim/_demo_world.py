"""The vehicle end of ``agrifleet demo``: the simulated farm and machines, paced against the wall clock.

One :class:`~agrifleet.sim.world.World` holds the farm and the fleet; the tractor sits under a simulated
tractor ECU (tractor link on a free UDP port) and each drone under a simulated autopilot (MAVLink on a free
UDP port), built by the same helpers as scenario trials (:mod:`._bindings`). A
:class:`~agrifleet.sim._mav_runner.Runner` thread steps the world at the speed factor and answers the
autopilots' links; the ECU reads its link at every control tick of the world.

The world's observers measure what the machines really did (never what they reported): the as-applied
coverage of every field (:class:`~.coverage.CoverageRecorder`), tracks, distances and cross-track error
(:class:`~._metrics.TrialMetrics`), and the :class:`Ledger` below; the depot crew (:mod:`._depots`) serves
vehicles that stop at a depot.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from agrifleet.core.errors import ScenarioError
from agrifleet.core.implement import build_implement
from agrifleet.core.plan import Plan

from ._bindings import place_autopilot, place_tractor_ecu
from ._depots import serve_depots
from ._metrics import PlanView, TrialMetrics
from .coverage import CoverageMap, CoverageRecorder, section_edges
from .scenario import Scenario
from .world import World

__all__ = ["DemoWorld", "Ledger", "PlanCursor", "VehicleLedger"]

logger = logging.getLogger(__name__)

MOVING_MPS = 0.1


@dataclass(slots=True)
class VehicleLedger:
    """What one vehicle did, from its true state."""

    applied_m2: float = 0.0            # sum over steps of (width of the sections on) x (implement travel)
    working_s: float = 0.0             # time with sections on
    moving_s: float = 0.0
    first_moved_s: float | None = None
    last_moved_s: float | None = None
    min_battery_pct: float = math.nan
    last_xy: tuple[float, float] = (math.nan, math.nan)


@dataclass(slots=True)
class Ledger:
    """A world observer: per-vehicle figures every ``every`` steps, and the depot crew."""

    specs: Mapping[str, Any]                       # vehicle id -> VehicleSpec
    widths: Mapping[str, np.ndarray]               # vehicle id -> section widths (bit k = row k)
    depots: list[tuple[float, float]]
    every: int = 2
    vehicles: dict[str, VehicleLedger] = field(default_factory=dict)
    services: list[dict[str, Any]] = field(default_factory=list)
    _width_on: dict[tuple[str, int], float | None] = field(default_factory=dict)   # (vehicle, sections) -> m

    def __call__(self, world: World) -> None:
        if world.steps % self.every:
            return
        dt = world.dt_s * self.every
        t = world.t_s
        self.services += serve_depots(world, self.specs, self.depots)
        for vid, spec in self.specs.items():
            s = world.state(vid)
            v = self.vehicles.get(vid)
            if v is None:
                v = self.vehicles[vid] = VehicleLedger(last_xy=(s.implement_x, s.implement_y))
            lx, ly = v.last_xy
            step = math.hypot(s.implement_x - lx, s.implement_y - ly) if math.isfinite(lx) else 0.0
            v.last_xy = (s.implement_x, s.implement_y)
            if s.sections:
                key = (vid, s.sections)
                if key not in self._width_on:
                    w = self.widths.get(vid)
                    self._width_on[key] = None if w is None else \
                        float(np.dot([(s.sections >> k) & 1 for k in range(len(w))], w))
                width = self._width_on[key]
                if width is not None:
                    v.applied_m2 += width * step
                v.working_s += dt
            if abs(s.speed_mps) > MOVING_MPS:
                v.moving_s += dt
                v.first_moved_s = t if v.first_moved_s is None else v.first_moved_s
                v.last_moved_s = t
            if spec.battery_wh > 0:
                pct = 100.0 * s.battery_wh / spec.battery_wh
                v.min_battery_pct = pct if math.isnan(v.min_battery_pct) else min(v.min_battery_pct, pct)


@dataclass(slots=True)
class PlanCursor:
    """Where a vehicle is along its plan, followed from its true position for the cross-track measurement:
    the nearest point of the plan within the distance the vehicle can have covered since the last look, and
    never backwards. The reach matters: a drone flying back from a depot crosses passes it has still to
    spray, and a cursor free to take the nearest segment anywhere ahead would jump to them."""

    view: PlanView
    index: int = 0                 # segment
    s_m: float = 0.0               # distance along the plan
    xy: tuple[float, float] | None = None
    slack_m: float = 10.0        # reach beyond the distance moved (catches up 50 m/s at 0.2 s a look)

    def follow(self, x: float, y: float, at_least: int = 0) -> int:
        """Move on to the vehicle at ``(x, y)``; ``at_least`` is an index known to be reached (the
        dispatcher's). Returns the segment index."""
        v = self.view
        n = len(v.dx)
        if at_least > self.index:
            self.index = min(at_least, n)
            self.s_m = max(self.s_m, float(v.cum[self.index]))
        moved = 0.0 if self.xy is None else math.hypot(x - self.xy[0], y - self.xy[1])
        self.xy = (x, y)
        a = self.index
        if a >= n:
            return a
        reach = self.s_m + moved + self.slack_m
        b = min(max(int(np.searchsorted(v.cum, reach, side="right")), a + 1), n)
        px, py = x - v.x0[a:b], y - v.y0[a:b]
        l2 = v.len2[a:b]
        length = v.cum[a + 1:b + 1] - v.cum[a:b]
        u_max = np.clip(np.divide(reach - v.cum[a:b], length, out=np.ones(b - a), where=length > 0), 0.0, 1.0)
        dot = px * v.dx[a:b] + py * v.dy[a:b]
        u = np.clip(np.divide(dot, l2, out=np.zeros(b - a), where=l2 > 0), 0.0, u_max)
        ex, ey = px - u * v.dx[a:b], py - u * v.dy[a:b]
        k = int(np.argmin(ex * ex + ey * ey))
        s_new = float(v.cum[a + k] + u[k] * (v.cum[a + k + 1] - v.cum[a + k]))
        if s_new > self.s_m:
            self.s_m, self.index = s_new, a + k
        return self.index


class DemoWorld:
    """The farm, the machines under their simulated controllers, the observers, and the pacing thread."""

    def __init__(self, scenario: Scenario, seed: int, starts: Mapping[str, tuple[float, float, float]],
                 plan_of: Callable[[str], tuple[Plan, int] | None]) -> None:
        sc = scenario
        self.scenario = sc
        self.starts = dict(starts)
        self.world = World(rng=np.random.default_rng(seed), dt_s=sc.world.dt_s, wind=sc.world.wind,
                           fields=[f.field for f in sc.fields], frame=sc.world.frame)
        self.ecus: dict[str, Any] = {}
        self.autopilots: dict[str, Any] = {}
        self.ports: dict[str, int] = {}
        self.ecu_stats: dict[str, dict[str, float]] = {}     # per tractor ECU, once stopped
        self._runner: Any = None
        try:
            for k, entry in enumerate(sc.fleet):
                if entry.driver == "tractor":
                    ecu = place_tractor_ecu(entry, self.world, starts[entry.id])
                    self.ecus[entry.id] = ecu
                    self.ports[entry.id] = ecu.address[1]
                elif entry.driver == "mavlink":
                    ap, port = place_autopilot(entry, self.world, starts[entry.id], sysid=k + 1)
                    self.autopilots[entry.id] = ap
                    self.ports[entry.id] = port
                else:
                    raise ScenarioError(f"{sc.source}: fleet[{k}].driver: the demo drives real links "
                                        f"(tractor or mavlink), not {entry.driver!r}")
            self._observe(plan_of)
        except BaseException:
            self.close()
            raise

    def _observe(self, plan_of: Callable[[str], tuple[Plan, int] | None]) -> None:
        sc, world = self.scenario, self.world
        tools = {v.id: build_implement(v.implement) for v in sc.fleet if v.implement}
        self.coverage: dict[str, tuple[CoverageMap, CoverageRecorder]] = {}
        margin = max((t.working_width_m for t in tools.values()), default=5.0) + 2.0
        every = max(1, round(0.1 / world.dt_s))
        for job in sc.jobs:
            cmap = CoverageMap(sc.field(job.field).boundary, sc.run.coverage_cell_m, margin_m=margin)
            recorder = CoverageRecorder(cmap, every_n_steps=every)
            for vid in job.vehicles:
                if vid in tools:
                    recorder.track(vid, tools[vid])
            world.observers.append(recorder)
            self.coverage[job.name] = (cmap, recorder)
        self.metrics = TrialMetrics(world, [v.id for v in sc.fleet], plan_of, None,
                                    max(1, round(sc.run.measure_period_s / world.dt_s)), sc.run.settle_m)
        world.observers.append(self.metrics)
        depots = sorted({(float(x), float(y)) for j in sc.jobs for x, y in j.params.get("depots", ())})
        widths = {vid: -np.diff(section_edges(t), axis=1)[:, 0] for vid, t in tools.items()}
        self.ledger = Ledger({v.id: v.spec for v in sc.fleet}, widths, depots, every=every)
        world.observers.append(self.ledger)

    # --- life ---------------------------------------------------------------------------------------------
    def start(self, speed_factor: float) -> None:
        """Step the world at ``speed_factor`` x real time in a thread of its own."""
        from ._mav_runner import Runner

        self._runner = Runner(self.world, list(self.autopilots.values()), speed_factor=speed_factor).start()

    @property
    def t_s(self) -> float:
        return self.world.t_s

    @property
    def runner_error(self) -> BaseException | None:
        return self._runner.error if self._runner is not None else None

    def stop(self) -> Any:
        """Stop stepping (the vehicles stay in the world, for the report); returns the pacing statistics."""
        if self._runner is None:
            return None
        runner, self._runner = self._runner, None
        stats = runner.stop()
        self.ecu_stats = {vid: {"watchdog_trips": ecu.watchdog_trips, "holds": ecu.holds,
                                "held_s": ecu.held_s} for vid, ecu in self.ecus.items()}
        with self.world.lock:
            self.metrics.finish()
            for _, recorder in self.coverage.values():
                recorder.flush()
        return stats

    def close(self) -> None:
        """Stop everything and free the sockets (idempotent)."""
        if self._runner is not None:
            try:
                self._runner.stop()
            except Exception:  # the demo's own error is the one to report
                logger.debug("stopping the world failed", exc_info=True)
            self._runner = None
        for ecu in self.ecus.values():
            ecu.close()
        for ap in self.autopilots.values():
            ap.close()
        self.ecus, self.autopilots = {}, {}
