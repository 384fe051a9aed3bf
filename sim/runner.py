"""Headless trials: run a scenario through the real fleet logic on simulated time, and judge it.

A trial builds the world (fields, wind), puts every vehicle of the scenario in it with its driver plugin,
starts an agent per vehicle and the dispatcher's fleet manager (:mod:`._fleet`), and then loops on virtual
time: it hands each job to the fleet when its time comes (planned as ``agrifleet job submit`` plans it, by
the fleet manager's own ``plan_field``, which shares the work among the vehicles from where they are; or
by the planner plugin the job names, loaded through :func:`agrifleet.core.plugin.load`), applies the
faults on schedule (:mod:`._faults`), steps the physics, and serves the agents and the dispatcher once per
``fleet_period_s``.
It records the as-applied coverage of every job, the vehicles' tracks, cross-track error and geofence
breaches (:mod:`._metrics`), and ends when every job is done or the time limit is reached.

Why the fleet manager and the agents run in the trial's own thread rather than as the dispatcher and
agent processes on ZeroMQ sockets: delivery over real sockets depends on threads and the operating system,
so no two runs would be alike. Here only the sockets are replaced (by :mod:`._loopback`, with ZeroMQ's
socket API); the transport's reliability, the agents and the fleet manager run unchanged. A vehicle that
fails is noticed, and its work re-planned onto the others, by the same code and on the same timers as in
the field. With ``sim`` drivers the trial is deterministic: one seeded ``numpy.random.Generator`` feeds
the world (wind gusts) and, through it, every sensor, and no wall-clock time enters the report (it goes to
``timing``). ``tractor`` and ``mavlink`` drivers talk over loopback UDP with threads of their own; such
trials are paced against the wall clock (:mod:`._bindings`).
"""
from __future__ import annotations

import inspect
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from agrifleet.core.bus import BusConfig
from agrifleet.core.dispatcher import field_to_wire
from agrifleet.core.errors import AgrifleetError, ScenarioError
from agrifleet.core.fleet import implement_requirements
from agrifleet.core.implement import build_implement
from agrifleet.core.plan import Plan
from agrifleet.core.plugin import load
from agrifleet.core.replan import build_piece, split_remaining
from agrifleet.core.store import JobState
from agrifleet.drivers.agent import Agent, AgentConfig
from agrifleet.drivers.base import MissionState

from ._bindings import PACED_DRIVERS, Binding, bind_vehicle
from ._depots import serve_depots
from ._faults import FaultSchedule, VehicleHandles
from ._fleet import FleetServer, make_agent
from ._loopback import Network
from ._metrics import TrialMetrics
from ._report import JobRecord, TrialRecord, TrialResult, build_result
from .coverage import CoverageMap, CoverageRecorder
from .scenario import JobEntry, Scenario
from .world import World

__all__ = ["TrialResult", "run_trial", "start_poses"]

logger = logging.getLogger(__name__)

Progress = Callable[[float, float], None]
WAIT_FOR_TELEMETRY_S = 10.0   # a job waits at most this long for its vehicles to be heard
DONE_CHECK_S = 0.5            # how often the trial asks whether every job is done (done_at_s resolution)


def run_trial(scenario: Scenario, seed: int | None = None, *, speed_factor: float | None = None,
              progress: Progress | None = None, wall_clock: Callable[[], float] = time.perf_counter,
              sleep: Callable[[float], None] = time.sleep) -> TrialResult:
    """Run ``scenario`` once. ``seed`` defaults to the scenario's; ``speed_factor`` ``None`` runs as fast as
    possible (trials with ``tractor``/``mavlink`` drivers need a finite one). ``progress(t_s, limit_s)`` is
    called as simulated time passes. Raises :class:`ScenarioError` for a scenario that cannot be run."""
    if speed_factor is not None and not (math.isfinite(speed_factor) and speed_factor > 0):
        raise ScenarioError(f"speed factor {speed_factor!r} must be a number > 0")
    seed = scenario.seed if seed is None else int(seed)
    trial = _Trial(scenario, seed, speed_factor, progress, wall_clock, sleep)
    return trial.run()


def start_poses(scenario: Scenario) -> dict[str, tuple[float, float, float]]:
    """Where the vehicles start (x, y, heading rad): given start poses, else side by side 15 m apart, 12 m
    south of the fields, facing north."""
    minx, miny, _, _ = shapely.union_all([f.field.boundary for f in scenario.fields]).bounds
    out, k = {}, 0
    for v in scenario.fleet:
        if v.start is not None:
            out[v.id] = v.start
        else:
            out[v.id] = (minx + 5.0 + 15.0 * k, miny - 12.0, math.pi / 2)
            k += 1
    return out


@dataclass(slots=True)
class _Job:
    entry: JobEntry
    index: int
    cmap: CoverageMap
    recorder: CoverageRecorder
    job_id: int = 0
    submitted_at_s: float = math.nan
    plans: dict[str, Plan] = field(default_factory=dict)


class _Trial:
    def __init__(self, scenario: Scenario, seed: int, speed_factor: float | None, progress: Progress | None,
                 wall_clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
        self.sc, self.seed, self.speed, self.progress = scenario, seed, speed_factor, progress
        self.wall, self.sleep = wall_clock, sleep
        self.paced = any(v.driver in PACED_DRIVERS for v in scenario.fleet)
        if self.paced and speed_factor is None:
            raise ScenarioError(f"{scenario.source}: vehicles with the tractor or mavlink driver talk over "
                                "real sockets; give a speed factor (e.g. --speed-factor 2)")
        run = scenario.run
        self.world = World(rng=np.random.default_rng(seed), dt_s=scenario.world.dt_s,
                           wind=scenario.world.wind, fields=[f.field for f in scenario.fields],
                           frame=scenario.world.frame)
        self.bus = BusConfig(heartbeat_s=run.heartbeat_s, liveness=run.liveness, resend_s=run.heartbeat_s)
        self.network = Network(self._link_down)
        self.bindings: dict[str, Binding] = {}
        self.agents: dict[str, Agent] = {}
        self.silent: set[str] = set()
        self.jobs: list[_Job] = []
        self.server: FleetServer | None = None
        self.schedule: FaultSchedule | None = None
        self.metrics: TrialMetrics | None = None
        self.done_at_s: float | None = None
        self.plan_wall_s = 0.0
        self._next_done_check = 0.0
        self.depots = sorted({(float(x), float(y)) for j in scenario.jobs for x, y in j.params.get("depots", ())})
        self.services: list[dict[str, Any]] = []
        self._pacer: Any = None

    # --- set-up -------------------------------------------------------------------------------------------
    def _link_down(self, vehicle: str) -> bool:
        return self.schedule is not None and self.schedule.link_down(vehicle)

    def _starts(self) -> dict[str, tuple[float, float, float]]:
        return start_poses(self.sc)

    def _build(self) -> None:
        sc, run, world = self.sc, self.sc.run, self.world
        self.server = FleetServer(self.network, world.now, self.bus, run.replan_after_s)
        starts = self._starts()
        for k, entry in enumerate(sc.fleet):
            self.bindings[entry.id] = bind_vehicle(sc, entry, world, starts[entry.id], run.control_period_s,
                                                   run.telemetry_period_s, sysid=k + 1)
        config = AgentConfig(telemetry_hz=1.0 / run.telemetry_period_s, progress_min_s=run.fleet_period_s)
        for vid, b in self.bindings.items():
            self.agents[vid] = make_agent(vid, b.driver, self.network, world.now, self.bus, config,
                                          b.entry.driver)
        for i, job in enumerate(sc.jobs):
            fld = sc.field(job.field)
            tools = {v: sc.vehicle(v).implement or job.implement for v in job.vehicles}
            widths = [build_implement(t).working_width_m for t in tools.values() if t]
            cmap = CoverageMap(fld.boundary, run.coverage_cell_m, margin_m=max(widths, default=5.0) + 2.0)
            recorder = CoverageRecorder(cmap, every_n_steps=1)
            for v, tool in tools.items():
                if tool:
                    recorder.track(v, build_implement(tool))
            world.observers.append(recorder)
            self.jobs.append(_Job(job, i, cmap, recorder))
        margin = sc.criteria.geofence_margin_m
        fence = shapely.union_all([f.field.outer for f in sc.fields]).buffer(margin)
        self.metrics = TrialMetrics(world, list(self.bindings), self._plan_of, fence,
                                    max(1, round(run.measure_period_s / world.dt_s)), run.settle_m)
        world.observers.append(self.metrics)
        handles = {vid: VehicleHandles(b.driver, b.gnss, lambda vid=vid: self._silence(vid))
                   for vid, b in self.bindings.items()}
        self.schedule = FaultSchedule(sc.faults, world, handles)

    def _plan_of(self, vehicle: str) -> tuple[Plan, int] | None:
        agent = self.agents.get(vehicle)
        if agent is None or agent.plan is None or agent.state != MissionState.ACTIVE:
            return None
        if vehicle in self.silent or self.bindings[vehicle].driver.failure:
            return None          # broken down: it no longer follows anything
        return agent.plan, agent.index

    def _connect(self) -> None:
        for vid, b in self.bindings.items():
            if self.paced:
                self.agents[vid].start(10.0)  # connects the driver; a thread per agent, as on the vehicles
            else:
                b.driver.connect(10.0)
                self.agents[vid].bus.start()

    # --- the loop -----------------------------------------------------------------------------------------
    def run(self) -> TrialResult:
        wall0 = self.wall()
        cpu0 = time.process_time()
        try:
            self._build()
            if self.paced:
                self._run_paced()
            else:
                self._connect()
                self._run_lockstep()
            assert self.metrics is not None
            self.metrics.finish()
            for job in self.jobs:
                job.recorder.flush()
            record = self._record()
        finally:
            self._close()
        timing = {"wall_s": self.wall() - wall0, "cpu_s": time.process_time() - cpu0,
                  "plan_wall_s": self.plan_wall_s, "sim_s": self.world.t_s, "steps": self.world.steps,
                  "paced": self.paced, "speed_factor": self.speed}
        timing["real_time_factor"] = timing["sim_s"] / timing["wall_s"] if timing["wall_s"] > 0 else math.inf
        return build_result(record, timing)

    def _turn(self) -> bool:
        """Faults, jobs, and whether the trial is over."""
        assert self.schedule is not None
        with self.world.lock:
            self.schedule.update()
        self._submit_due()
        if self.done_at_s is None and self.world.t_s >= self._next_done_check and self._all_done():
            self.done_at_s = self.world.t_s
        return self.done_at_s is not None or self.world.t_s >= self.sc.run.time_limit_s - 1e-9

    def _run_lockstep(self) -> None:
        world, run = self.world, self.sc.run
        n = max(1, round(run.fleet_period_s / world.dt_s))
        wall0, t0 = self.wall(), world.t_s
        while not self._turn():
            for _ in range(n):
                world.step()
            if self.speed is not None:
                ahead = wall0 + (world.t_s - t0) / self.speed - self.wall()
                if ahead > 0:
                    self.sleep(ahead)
            self._fleet_step()
            if self.progress is not None:
                self.progress(world.t_s, run.time_limit_s)

    def _run_paced(self) -> None:
        from ._mav_runner import Runner

        assert self.speed is not None
        autopilots = [ap for b in self.bindings.values() for ap in b.autopilots]
        self._pacer = Runner(self.world, autopilots, speed_factor=self.speed).start()
        self._connect()
        period_wall = self.sc.run.fleet_period_s / self.speed
        while not self._turn():
            self._fleet_step()
            if self.progress is not None:
                self.progress(self.world.t_s, self.sc.run.time_limit_s)
            self.sleep(period_wall)
        self._pacer.stop()
        self._pacer = None

    def _fleet_step(self) -> None:
        assert self.server is not None
        if self.depots:
            self._serve_depots()
        if not self.paced:
            for vid, agent in self.agents.items():
                if vid not in self.silent:
                    agent.step(0.0)
        self.server.step()

    def _silence(self, vehicle: str) -> None:
        """The vehicle's computer died: its agent serves no more."""
        self.silent.add(vehicle)
        if self.paced:
            self.agents[vehicle].request_stop()

    def _serve_depots(self) -> None:
        """The ground crew (:mod:`._depots`) at the jobs' ``depots``; broken-down vehicles are not served."""
        skip = self.silent | {vid for vid, b in self.bindings.items() if b.driver.failure}
        with self.world.lock:
            self.services += serve_depots(self.world, {vid: b.entry.spec for vid, b in self.bindings.items()},
                                          self.depots, skip)

    def _all_done(self) -> bool:
        """Every job handed over and finished. Asked every ``DONE_CHECK_S`` (reading the store costs)."""
        assert self.server is not None
        self._next_done_check = self.world.t_s + DONE_CHECK_S - 1e-9
        if any(j.job_id == 0 for j in self.jobs):
            return False
        jobs = {j.id: j for j in self.server.store.jobs()}
        return all(jobs[j.job_id].state in JobState.FINAL for j in self.jobs)

    # --- jobs ---------------------------------------------------------------------------------------------
    def _submit_due(self) -> None:
        assert self.server is not None
        t = self.world.t_s
        for job in self.jobs:
            if job.job_id or t + 1e-9 < job.entry.start_s:
                continue
            infos = self.server.fleet.vehicles
            heard = all(v in infos and infos[v].online and infos[v].telemetry for v in job.entry.vehicles)
            if not heard and t < job.entry.start_s + WAIT_FOR_TELEMETRY_S:
                continue
            started = self.wall()
            job.plans = self._plan(job)
            self.plan_wall_s += self.wall() - started
            job.submitted_at_s = t

    def _plan(self, job: _Job) -> dict[str, Plan]:
        assert self.server is not None
        fleet, entry, sc = self.server.fleet, job.entry, self.sc
        fld = sc.field(entry.field)
        params = dict(entry.params)
        try:
            if not entry.planner:
                wire = field_to_wire(fld.boundary, fld.frame.to_dict() if fld.frame else None, fld.name)
                plans, implement, blob, params = fleet.plan_field(wire, entry.implement, list(entry.vehicles),
                                                                  params)
            else:
                plans = self._plan_with_plugin(entry, fld, params)
                implement, blob = entry.implement, shapely.to_wkb(fld.boundary)
                params["requires"] = sorted(implement_requirements(implement))
            job.job_id = fleet.submit_plans(entry.name, plans, implement, blob, params)
        except AgrifleetError as exc:
            raise ScenarioError(f"{sc.source}: jobs[{job.index}]: {exc}") from None
        except (TypeError, ValueError) as exc:     # a planner plugin refusing its parameters
            raise ScenarioError(f"{sc.source}: jobs[{job.index}].params: {exc}") from None
        logger.info("t=%.1f job %s: %d plan(s) for %s", self.world.t_s, entry.name, len(plans),
                    ", ".join(plans))
        return plans

    def _plan_with_plugin(self, entry: JobEntry, fld: Any, params: dict[str, Any]) -> dict[str, Plan]:
        """The planner plugin the job names: one plan per vehicle when it can (``plan_vehicles``), else one
        plan cut into pieces at pass boundaries, each with a transit from where its vehicle is."""
        assert self.server is not None
        obj = load("agrifleet.planners", entry.planner)
        planner = obj() if inspect.isclass(obj) else obj
        # what the planner is not told comes from the implement and the vehicles, as the fleet does it
        specs = [self.sc.vehicle(v).spec for v in entry.vehicles]
        if entry.implement:
            tool = build_implement(entry.implement)
            params.setdefault("width_m", tool.working_width_m)
            params.setdefault("sections", max(1, tool.n_sections))
        params.setdefault("turn_radius_m", max(max(s.min_turn_radius_m for s in specs), 0.5))
        params.setdefault("work_speed_mps", min(s.work_speed_mps for s in specs))
        params.setdefault("transit_speed_mps", min(s.transit_speed_mps for s in specs))
        infos = self.server.fleet.vehicles
        starts = {}
        for v in entry.vehicles:
            t = infos[v].telemetry if v in infos else {}
            if all(isinstance(t.get(k), float) and math.isfinite(t[k]) for k in ("x", "y", "heading_rad")):
                starts[v] = (t["x"], t["y"], t["heading_rad"])
        if callable(getattr(planner, "plan_vehicles", None)):
            specs = {v: self.sc.vehicle(v).spec for v in entry.vehicles}
            return dict(planner.plan_vehicles(fld, specs, params, starts=starts, implement=entry.implement))
        whole = planner.plan([fld], params, implement=entry.implement, vehicle=",".join(entry.vehicles))[0]
        ranges = split_remaining(whole, 0, len(entry.vehicles))
        out = {}
        for v, (a, b) in zip(entry.vehicles, ranges, strict=False):
            here = None
            if v in starts:
                here = np.zeros(1, dtype=whole.path.dtype)[0]
                here["x"], here["y"], here["heading"] = starts[v]
            speed = self.sc.vehicle(v).spec.transit_speed_mps
            out[v] = build_piece(whole, a, b, here, speed, planner).with_(vehicle=v)
        return out

    # --- results ------------------------------------------------------------------------------------------
    def _record(self) -> TrialRecord:
        assert self.server is not None and self.metrics is not None and self.schedule is not None
        store = self.server.store
        jobs = []
        for job in self.jobs:
            ids = sorted(store.plan_sizes(job.job_id)) if job.job_id else []
            plans = {pid: store.plan(pid) for pid in ids}
            status = self.server.fleet.job_status(job.job_id) if job.job_id else None
            jobs.append(JobRecord(job.entry, job.job_id, job.submitted_at_s, status, plans, job.cmap))
        return TrialRecord(
            scenario=self.sc, seed=self.seed, sim_s=self.world.t_s, done_at_s=self.done_at_s, jobs=jobs,
            metrics=self.metrics, faults=self.schedule.applied, events=store.events(limit=1_000_000),
            missions={vid: store.missions(vehicle=vid) for vid in self.bindings},
            failures={vid: b.driver.failure for vid, b in self.bindings.items()},
            states={vid: self.world.state(vid) for vid in self.bindings},
            lost=list(self.server.lost), frames_lost=self.network.frames_lost,
            collisions=[e for e in self.world.events if e.kind == "collision"],
            agent_counters={vid: dict(a.counters) for vid, a in self.agents.items()}, services=self.services,
            deterministic=not self.paced)

    def _close(self) -> None:
        if self._pacer is not None:
            try:
                self._pacer.stop()
            except Exception:  # the trial's own error is the one to report
                logger.debug("stopping the pacer failed", exc_info=True)
        for agent in self.agents.values():
            if self.paced:
                agent.stop(close_driver=False)    # the bindings close the drivers
            else:
                agent.bus.close()
        for b in self.bindings.values():
            b.close()
        if self.server is not None:
            self.server.close()
