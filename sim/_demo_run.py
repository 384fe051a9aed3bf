"""One run of ``agrifleet demo``: plan the farm, start the fleet and the vehicles, work, shut down, collect.

Order of events: the farm is planned (:mod:`._demo_plan`) before anything starts; then the dispatcher with
its keys and database (:mod:`._demo_fleet`), the paced world with the vehicles under their simulated ECU
and autopilots (:mod:`._demo_world`), and an agent process per vehicle. Once every agent has registered over
its CURVE link, each field goes to the dispatcher as one job of ready plans (one mission per vehicle, queued
field after field on every vehicle). The dispatcher's progress drives the progress callback, and which
mission each vehicle drives (for the cross-track measurement); the run ends when every job is final or the
scenario's time limit passes. Shut-down runs on every way out (Ctrl-C included): agents, world, dispatcher.
Then the store is read back from the SQLite file, the way any tool would read it.
"""
from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agrifleet.core.errors import ConfigError, ScenarioError
from agrifleet.core.plan import Plan
from agrifleet.core.store import JobState, MissionRow, Store

from ._bindings import PACED_DRIVERS
from ._demo_fleet import DemoFleet
from ._demo_plan import FarmPlan, plan_farm
from ._demo_world import DemoWorld, PlanCursor
from ._metrics import PlanView, TrialMetrics
from ._report import JobRecord, TrialRecord, TrialResult, build_result
from .runner import start_poses
from .scenario import Scenario

__all__ = ["DemoRun", "Progress", "run_demo"]

logger = logging.getLogger(__name__)

Progress = Callable[[float, float, float], None]   # (hectares done, hectares in all, simulated seconds)
POLL_S = 0.1          # how often the dispatcher is asked for progress (wall clock)
STATUS_EVERY = 5      # ... and every this many polls for each job's missions


@dataclass(slots=True)
class DemoRun:
    """Everything a demo run leaves for its report."""

    scenario: Scenario
    seed: int
    speed_factor: float
    out: Path
    farm: FarmPlan
    trial: TrialResult                      # the trial report's figures (criteria, jobs, vehicles, events)
    world: DemoWorld
    job_ids: dict[str, int]                 # job name -> dispatcher job id
    submitted_at_s: float
    done_at_s: float | None
    endpoint: str
    agents: dict[str, str]                  # vehicle -> command line
    agent_exit: dict[str, int | None]
    dispatcher_stats: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)


class _Driving:
    """Which plan each vehicle drives and where along it, for the cross-track measurement (``plan_of`` of
    :class:`~._metrics.TrialMetrics`, called on the world's thread).

    The dispatcher knows the plan and the last acknowledged index, seconds of simulated time behind (agents
    report progress a few times a wall second, and the demo asks a few times a wall second: at x50 that is
    tens of metres, more than the measurement's search window on a dense headland pass). So the index is
    carried forward from the acknowledged one by a :class:`~._demo_world.PlanCursor` on the vehicle's true
    position."""

    def __init__(self) -> None:
        self.plans: dict[tuple[int, str], Plan] = {}      # (job id, vehicle) -> submitted plan
        self.now: dict[str, tuple[Plan, int]] = {}        # vehicle -> (plan, acknowledged index)
        self.world: Any = None                            # set once the world exists
        self.view: Callable[[Plan], PlanView] = PlanView   # the world's metrics share theirs once it exists
        self._cursors: dict[int, tuple[Plan, PlanCursor]] = {}

    def __call__(self, vehicle: str) -> tuple[Plan, int] | None:
        hit = self.now.get(vehicle)
        if hit is None or self.world is None:
            return None
        plan, acked = hit
        key = id(plan)
        if key not in self._cursors:
            self._cursors[key] = (plan, PlanCursor(self.view(plan)))
        s = self.world.state(vehicle)
        return plan, self._cursors[key][1].follow(s.x, s.y, acked)

    def update(self, statuses: list[dict[str, Any]]) -> None:
        now: dict[str, tuple[Plan, int]] = {}
        for st in statuses:
            for m in st["missions"]:
                plan = self.plans.get((st["id"], m["vehicle"]))
                if plan is not None and m["phase"] == "active":
                    now[m["vehicle"]] = (plan, max(int(m["acked_index"]), 0))
        self.now = now


def run_demo(scenario: Scenario, out: Path, *, speed_factor: float, seed: int | None = None,
             progress: Progress | None = None, say: Callable[[str], None] | None = None,
             wall_clock: Callable[[], float] = time.monotonic,
             sleep: Callable[[float], None] = time.sleep) -> DemoRun:
    """Run the demo of ``scenario`` into ``out`` at ``speed_factor`` (see the module documentation).
    ``progress`` follows the work; ``say`` gets a line at each stage (for a command line to print)."""
    if not (math.isfinite(speed_factor) and speed_factor > 0):
        raise ConfigError(f"speed factor {speed_factor!r} must be a number > 0")
    for k, v in enumerate(scenario.fleet):
        if v.driver not in PACED_DRIVERS:
            raise ScenarioError(f"{scenario.source}: fleet[{k}].driver: the demo drives vehicles over their "
                                f"real links ({' or '.join(PACED_DRIVERS)}), not {v.driver!r}")
    seed = scenario.seed if seed is None else int(seed)
    tell = say or (lambda line: None)
    wall0 = wall_clock()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{out}: cannot create the output folder ({exc.strerror})") from None
    starts = start_poses(scenario)
    farm = plan_farm(scenario, starts)
    timings = {"plan_s": farm.wall_s}
    tell(f"planned {len(farm.jobs)} fields for {len(scenario.fleet)} vehicles in {farm.wall_s:.1f} s")
    driving = _Driving()
    fleet = world = None
    try:
        t = wall_clock()
        fleet = DemoFleet(out, [v.id for v in scenario.fleet])
        world = DemoWorld(scenario, seed, starts, driving)
        driving.world, driving.view = world.world, world.metrics.view
        world.start(speed_factor)
        for k, v in enumerate(scenario.fleet):
            port = world.ports[v.id]
            if v.driver == "tractor":
                fleet.start_agent(v.id, "tractor", f"udp://127.0.0.1:{port}",
                                  {"control_period_s": scenario.run.control_period_s,
                                   "telemetry_period_s": scenario.run.telemetry_period_s, **v.options})
            else:
                options = {key: val for key, val in v.options.items() if key != "autopilot"}
                options = {"target_system": k + 1, "implement": v.implement, "end": "land", **options}
                fleet.start_agent(v.id, "mavlink", f"udpout:127.0.0.1:{port}", options)
        tell(f"dispatcher on {fleet.endpoint} (CURVE keys in {fleet.keys_dir}, database {fleet.db}); "
             f"vehicles on UDP ports {', '.join(f'{v}:{p}' for v, p in world.ports.items())}")
        fleet.wait_registered([v.id for v in scenario.fleet])
        timings["startup_s"] = wall_clock() - t
        tell(f"{len(fleet.agents)} agents registered over CURVE "
             f"({', '.join(f'{v.id}: agrifleet agent --driver {v.driver}' for v in scenario.fleet)}); "
             f"logs in {fleet.logs}")
        t = wall_clock()
        job_ids = {}
        for jp in farm.jobs:
            job_ids[jp.entry.name] = jid = fleet.submit(jp.entry.name, jp.plans, jp.entry.implement)
            for vid, plan in jp.plans.items():
                driving.plans[(jid, vid)] = plan
        submitted_at_s = world.t_s
        done_at_s = _work(scenario, farm, fleet, world, driving, job_ids, submitted_at_s, speed_factor,
                          progress, wall_clock, sleep)
        timings["work_s"] = wall_clock() - t
        tell("work done; stopping the agents, the vehicles and the dispatcher" if done_at_s is not None else
             "time is up; stopping the agents, the vehicles and the dispatcher")
        statuses = {name: fleet.status(jid) for name, jid in job_ids.items()}
        stats = fleet.stats()
        endpoint = fleet.endpoint
        agents = {vid: a.command for vid, a in fleet.agents.items()}
        exits = fleet.stop_agents()
        pacing = world.stop()
        fleet.dispatcher.stop()
        timings["sim_s"] = world.t_s
        timings["achieved_speed_factor"] = pacing.speed_factor if pacing is not None else math.nan
        trial = _collect(scenario, seed, fleet.db, world, farm, job_ids, statuses, submitted_at_s, done_at_s)
        run = DemoRun(scenario, seed, speed_factor, out, farm, trial, world, job_ids, submitted_at_s,
                      done_at_s, endpoint, agents, exits, stats, timings)
    finally:
        if fleet is not None:
            fleet.close()
        if world is not None:
            world.close()
    timings["wall_s"] = wall_clock() - wall0
    return run


def _work(scenario: Scenario, farm: FarmPlan, fleet: DemoFleet, world: DemoWorld, driving: _Driving,
          job_ids: dict[str, int], t0_s: float, speed_factor: float, progress: Progress | None,
          wall_clock: Callable[[], float], sleep: Callable[[float], None]) -> float | None:
    """Follow the jobs until every one is final; returns the simulated time they were, or ``None``."""
    area_ha = {j.entry.name: scenario.field(j.entry.field).area_m2 / 1e4 for j in farm.jobs}
    total_ha = sum(area_ha.values())
    by_id = {jid: name for name, jid in job_ids.items()}
    limit_s = scenario.run.time_limit_s
    wall_limit = wall_clock() + limit_s / speed_factor * 1.5 + 60.0
    polls = 0
    while True:
        if world.runner_error is not None:
            raise world.runner_error
        fleet.check_agents()
        jobs = [j for j in fleet.jobs() if j["id"] in by_id]
        if progress is not None:
            done = sum(min(1.0, j["coverage"]) * area_ha[by_id[j["id"]]] for j in jobs)
            progress(done, total_ha, world.t_s - t0_s)
        if len(jobs) == len(job_ids) and all(j["state"] in JobState.FINAL for j in jobs):
            return world.t_s
        if world.t_s - t0_s > limit_s or wall_clock() > wall_limit:
            logger.warning("the work is not done within the time limit of %g s", limit_s)
            return None
        if polls % STATUS_EVERY == 0:
            driving.update([fleet.status(jid) for jid in job_ids.values()])
        polls += 1
        sleep(POLL_S)


def _collect(scenario: Scenario, seed: int, db: Path, world: DemoWorld, farm: FarmPlan,
             job_ids: dict[str, int], statuses: dict[str, dict[str, Any]], submitted_at_s: float,
             done_at_s: float | None) -> TrialResult:
    """The trial report's figures, from the world's observers and the dispatcher's SQLite file."""
    store = Store(db)
    try:
        jobs = []
        for jp in farm.jobs:
            jid = job_ids[jp.entry.name]
            plans = {pid: store.plan(pid) for pid in sorted(store.plan_sizes(jid))}
            cmap = world.coverage[jp.entry.name][0]
            jobs.append(JobRecord(jp.entry, jid, submitted_at_s, statuses[jp.entry.name], plans, cmap))
        missions: dict[str, list[MissionRow]] = {v.id: store.missions(vehicle=v.id) for v in scenario.fleet}
        events = store.events(limit=1_000_000)
    finally:
        store.close()
    w = world.world
    metrics: TrialMetrics = world.metrics
    record = TrialRecord(
        scenario=scenario, seed=seed, sim_s=w.t_s, done_at_s=done_at_s, jobs=jobs, metrics=metrics, faults=[],
        events=events, missions=missions, failures={}, states={v.id: w.state(v.id) for v in scenario.fleet},
        lost=[], frames_lost=0, collisions=[e for e in w.events if e.kind == "collision"],
        agent_counters={}, services=world.ledger.services, deterministic=False)
    return build_result(record, {})
