"""The dispatcher's brain: who drives what, how far they got, and what happens when a vehicle is lost.

The :class:`FleetManager` keeps every decision in the :class:`~agrifleet.core.store.Store` and talks to
vehicles only through a :class:`FleetLink` (the dispatcher's bus), so it is tested without sockets. Each
vehicle works through its queue of missions one at a time; the manager reconciles what a vehicle says it
holds (HELLO, PROGRESS, acks) with what the store says it should be doing, and sends the plan or command
that closes the gap. Progress is acknowledged only after it is committed.

When a vehicle falls silent for ``replan_after_s`` or reports a fault, its unfinished work (from the last
acknowledged index) is cut at pass boundaries into pieces balanced by working length and appended to the
queues of the remaining capable vehicles. A piece keeps the lost plan's own turns between its passes; the
way from a receiving vehicle's last position to the piece is a transit asked from the planner plugin
(``transit``) or, without one, built in :mod:`.replan`.
"""
from __future__ import annotations

import dataclasses
import inspect
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import shapely

from .errors import ConfigError, PlanError, PluginError
from .field import Field
from .geo import LocalFrame
from .messages import CommandCode, EventCode, MissionPhase, Severity
from .plan import PATH_DTYPE, Plan
from .replan import build_piece, split_remaining, working_cumulative, working_done_m
from .store import JobRow, JobState, MissionRow, Store
from .vehicle import VehicleSpec

__all__ = ["AgentState", "FleetLink", "FleetManager", "VehicleInfo", "implement_requirements"]

logger = logging.getLogger(__name__)


class AgentState:
    """``drivers.base.MissionState`` values as the agent reports them (core does not import drivers)."""

    IDLE, ACTIVE, PAUSED, COMPLETE, ABORTED, RETURNING, FAILED = range(7)


# --- the manager -------------------------------------------------------------------------------------

class FleetLink(Protocol):
    """What the manager needs from the transport."""

    def send_plan(self, vehicle: str, mission: int, job: int, plan_bytes: bytes, start_index: int) -> None: ...

    def send_command(self, vehicle: str, mission: int, command: CommandCode) -> int:
        """Send reliably; returns the message id its acknowledgement will name."""
        ...

    def forget(self, vehicle: str) -> None: ...


@dataclass(slots=True)
class VehicleInfo:
    """What the manager knows of a vehicle (volatile; the store keeps the durable part)."""

    id: str
    kind: str = ""
    driver: str = ""
    kinds: frozenset[str] = frozenset()
    features: frozenset[str] = frozenset()
    spec: VehicleSpec | None = None
    online: bool = False
    offline_since: float | None = None
    hold: bool = False                       # paused by the operator, vehicle-wide
    mission: int = 0                         # what the agent says it holds
    state: int = AgentState.IDLE
    index: int = -1
    delivering: int = 0                      # mission whose plan is on its way
    commanded: dict[int, tuple[int, CommandCode]] = field(default_factory=dict)  # msg id -> (mission, command)
    last_telemetry: Any = None               # the latest TELEMETRY message
    telemetry_saved_s: float = -math.inf

    @property
    def telemetry(self) -> dict[str, Any]:
        return self.last_telemetry.body() if self.last_telemetry is not None else {}

    @property
    def offers(self) -> frozenset[str]:
        ground = self.kind != "multirotor"
        spec_caps = self.spec.capabilities if self.spec else frozenset()
        return self.features | self.kinds | spec_caps | {self.kind, "ground" if ground else "air"}

    def summary(self) -> dict[str, Any]:
        t = self.telemetry
        return {"id": self.id, "kind": self.kind, "online": self.online, "hold": self.hold,
                "mission": self.mission, "state": self.state, "index": self.index,
                **{k: t.get(k) for k in ("x", "y", "heading_rad", "speed_mps", "battery_pct", "gnss", "mode")}}


class FleetManager:
    def __init__(self, store: Store, link: FleetLink, clock: Callable[[], float] = time.monotonic,
                 replan_after_s: float = 10.0, telemetry_every_s: float = 1.0,
                 planner: Callable[[], Any] | None = None) -> None:
        self.store, self.link, self.clock = store, link, clock
        self.replan_after_s = replan_after_s
        self.telemetry_every_s = telemetry_every_s
        self.vehicles: dict[str, VehicleInfo] = {}
        self._planner_factory = planner
        self._planner: Any = None
        self._job_planner: Any = None
        self._cum: dict[int, np.ndarray] = {}
        self._stranded: set[int] = set()
        # read caches of the store, so that a decision (``_drive``: every command, every progress report)
        # needs no SQLite query: the head of each vehicle's open queue and job rows. Every write that can
        # change them goes through _set_phase, _add_mission and _set_job_state, which drop the entry.
        self._heads: dict[str, tuple[int, int] | None] = {}     # vehicle -> (mission, job) at its queue head
        self._jobs: dict[int, JobRow] = {}
        for row in store.vehicles():
            self.vehicles[row["id"]] = VehicleInfo(row["id"], row["kind"], row["driver"], frozenset(row["kinds"]),
                                                   frozenset(row["features"]), _spec(row["spec"]),
                                                   offline_since=clock())

    # --- planner ------------------------------------------------------------------------------------
    def planner(self) -> Any:
        """The coverage planner plugin, loaded on first use (``None`` when it is not installed)."""
        if self._planner is None:
            try:
                if self._planner_factory is not None:
                    self._planner = self._planner_factory()
                else:
                    from .plugin import load
                    obj = load("agrifleet.planners", "coverage")
                    self._planner = obj() if inspect.isclass(obj) else obj
            except (PluginError, TypeError) as exc:
                logger.warning("no coverage planner: %s", exc)
                self._planner = False
        return self._planner or None

    def job_planner(self) -> Any:
        """The multi-vehicle job planner plugin (``job``, with ``plan_vehicles``), or ``None``: then a field
        is planned for one machine by the coverage planner and cut into pieces here."""
        if self._job_planner is None:
            self._job_planner = False
            if self._planner_factory is None:
                try:
                    from .plugin import load
                    obj = load("agrifleet.planners", "job")
                    obj = obj() if inspect.isclass(obj) else obj
                    self._job_planner = obj if callable(getattr(obj, "plan_vehicles", None)) else False
                except (PluginError, TypeError) as exc:
                    logger.info("no job planner (%s); fields are shared out by the fleet manager", exc)
        return self._job_planner or None

    # --- jobs ---------------------------------------------------------------------------------------
    def submit_plans(self, name: str, plans: dict[str, Plan], implement: str = "", field_blob: bytes | None = None,
                     params: dict[str, Any] | None = None) -> int:
        """A job from ready plans, one per vehicle; returns the job id."""
        if not plans:
            raise PlanError("a job needs at least one plan")
        for vehicle in plans:
            self._vehicle(vehicle)          # a typo, or a vehicle whose key was refused: say so now
        with self.store.transaction():
            job_id = self.store.add_job(name, implement, list(plans), field_blob, params or {})
            for vehicle, plan in plans.items():
                plan_id = self.store.add_plan(job_id, plan.with_(vehicle=vehicle))
                self._add_mission(job_id, plan_id, vehicle)
        logger.info("job %d (%s): %d plans for %s", job_id, name, len(plans), ", ".join(plans))
        for vehicle in plans:
            self._drive(vehicle)
        return job_id

    def plan_field(self, doc: Any, implement: str, vehicles: Sequence[str],
                   params: dict[str, Any]) -> tuple[dict[str, Plan], str, bytes, dict[str, Any]]:
        """Plan a field for ``vehicles``: with the job planner plugin when installed (one plan per vehicle,
        finish times balanced, each starting where its vehicle is), else as follows.

        The coverage planner (``plan([field], params, implement=..., vehicle=...) -> [Plan]``) plans one machine's
        path; it is cut at pass boundaries into one piece per vehicle, balanced by working length, and each
        piece starts with a transit from where its vehicle is (when its telemetry says so). Missing
        parameters come from the implement (width, sections) and the vehicles (turning radius, speeds)."""
        planner = self.planner()
        if planner is None:
            raise ConfigError("no coverage planner plugin is installed; submit ready plans instead")
        if not isinstance(doc, dict) or not isinstance(doc.get("boundary_wkb"), bytes):
            raise ConfigError("submit: field must be a map with boundary_wkb")
        try:
            boundary = shapely.from_wkb(doc["boundary_wkb"])
            frame = LocalFrame.from_dict(doc["frame"]) if doc.get("frame") else None
            fld = Field(name=str(doc.get("name", "field")), boundary=boundary, frame=frame)
        except (shapely.errors.ShapelyError, KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"submit: bad field ({exc})") from None
        infos = [self._vehicle(v) for v in vehicles]
        params = dict(params)
        if implement:
            from .implement import build_implement
            tool = build_implement(implement)
            params.setdefault("width_m", tool.working_width_m)
            params.setdefault("sections", max(1, tool.n_sections))
        specs = [i.spec for i in infos if i.spec is not None]
        if specs:
            params.setdefault("turn_radius_m", max(max(s.min_turn_radius_m for s in specs), 0.5))
            params.setdefault("work_speed_mps", min(s.work_speed_mps for s in specs))
            params.setdefault("transit_speed_mps", min(s.transit_speed_mps for s in specs))
        out_params = dict(params, requires=sorted(implement_requirements(implement)))
        job_planner = self.job_planner()
        if job_planner is not None:
            specs = {i.id: self._planning_spec(i, params) for i in infos}
            starts = {}
            for i in infos:
                pose = self._queue_end(i.id)
                if pose is not None:
                    starts[i.id] = (float(pose["x"]), float(pose["y"]), float(pose["heading"]))
            plans = job_planner.plan_vehicles(fld, specs, params, starts=starts, implement=implement)
            by_vehicle = {v: p.with_(vehicle=v) for v, p in plans.items() if len(p) >= 2}
            if not by_vehicle:
                raise PlanError(f"the job planner found no work in field {fld.name!r}")
            return by_vehicle, implement, doc["boundary_wkb"], out_params
        for key in ("width_m", "turn_radius_m"):
            if key not in params:
                raise ConfigError(f"submit: {key} is not given and cannot be taken from the implement or the "
                                  "vehicles' specs")
        (whole,) = planner.plan([fld], params, implement=implement, vehicle=",".join(vehicles))
        ranges = split_remaining(whole, 0, len(vehicles))
        if len(ranges) < len(vehicles):
            raise PlanError(f"the field has {len(ranges)} pass(es) of work for {len(vehicles)} vehicles")
        by_vehicle = {}
        for info, (a, b) in zip(infos, ranges):
            start = self._queue_end(info.id)
            speed = info.spec.transit_speed_mps if info.spec else float(params.get("transit_speed_mps", 3.0))
            by_vehicle[info.id] = build_piece(whole, a, b, start, speed, planner).with_(vehicle=info.id)
        return by_vehicle, implement, doc["boundary_wkb"], out_params

    def _planning_spec(self, info: VehicleInfo, params: dict[str, Any]) -> VehicleSpec:
        """The spec a planner gets for ``info``: what the vehicle reported, named by its id, with the
        features its driver offers, and the job's turning radius where the vehicle did not say."""
        spec = info.spec or VehicleSpec(name=info.id, kind=info.kind or "tractor")
        radius = spec.min_turn_radius_m or float(params.get("turn_radius_m", 0.0))
        return dataclasses.replace(spec, name=info.id, min_turn_radius_m=radius,
                                   capabilities=spec.capabilities | info.features)

    def job_vehicles_required(self, job: JobRow) -> frozenset[str]:
        return frozenset(job.params.get("requires", ()))

    def set_job(self, state: str, job_id: int | None = None) -> list[int]:
        """Pause, resume or abort one job or every open job; returns the jobs changed."""
        jobs = [self._job(job_id)] if job_id is not None else self.store.jobs(open_only=True)
        changed = []
        for job in jobs:
            if job.state in JobState.FINAL:
                if job_id is not None:
                    raise ConfigError(f"job {job.id} is {job.state}")
                continue
            self._set_job_state(job.id, state)
            changed.append(job.id)
            for m in self.store.missions(job_id=job.id, open_only=True):
                if state == JobState.ABORTED:
                    self._abort_mission(m, "aborted by operator")
                else:
                    self._drive(m.vehicle)
        return changed

    def hold(self, vehicle: str, on: bool) -> None:
        info = self._vehicle(vehicle)
        info.hold = on
        self._drive(vehicle)

    def return_home(self, vehicle: str) -> None:
        """Hold the vehicle and send it home; a later resume re-sends its mission from where it stopped."""
        info = self._vehicle(vehicle)
        info.hold = True
        self._command(info, info.mission, CommandCode.RETURN_HOME)

    def abort_vehicle(self, vehicle: str, estop: bool = False) -> None:
        self._vehicle(vehicle)
        had_open = self.store.missions(vehicle=vehicle, open_only=True)
        for m in had_open:
            self._abort_mission(m, "emergency stop" if estop else "vehicle aborted by operator", estop)
        if estop and not had_open:
            self._command(self.vehicles[vehicle], 0, CommandCode.ESTOP)
        for job in {m.job_id for m in self.store.missions(vehicle=vehicle)}:
            self._finish_job_if_done(job)

    def _abort_mission(self, m: MissionRow, reason: str, estop: bool = False) -> None:
        self._set_phase(m, MissionPhase.ABORTED, reason)
        info = self.vehicles.get(m.vehicle)
        if info is not None and info.online and m.phase not in (MissionPhase.QUEUED,):
            self._command(info, m.id, CommandCode.ESTOP if estop else CommandCode.ABORT)
        self._finish_job_if_done(m.job_id)

    def _job(self, job_id: int) -> JobRow:
        job = self._jobs.get(job_id)
        if job is None:
            job = self.store.job(job_id)
            if job is None:
                raise ConfigError(f"no job {job_id}")
            self._jobs[job_id] = job
        return job

    def _set_job_state(self, job_id: int, state: str) -> None:
        self.store.set_job_state(job_id, state)
        self._jobs.pop(job_id, None)

    def _set_phase(self, m: MissionRow, phase: MissionPhase, reason: str = "") -> None:
        self.store.set_phase(m.id, phase, reason)
        if phase.is_final:
            self._heads.pop(m.vehicle, None)

    def _add_mission(self, job_id: int, plan_id: int, vehicle: str) -> int:
        mission = self.store.add_mission(job_id, plan_id, vehicle, self.store.next_queue_pos(vehicle))
        self._heads.pop(vehicle, None)
        return mission

    def _head(self, vehicle: str) -> tuple[int, int] | None:
        """(mission, job) at the head of ``vehicle``'s open queue. Missions join a queue at its end and
        leave it only by reaching a final phase, so the head changes only through the two writes above."""
        try:
            return self._heads[vehicle]
        except KeyError:
            queue = self.store.missions(vehicle=vehicle, open_only=True)
            head = self._heads[vehicle] = (queue[0].id, queue[0].job_id) if queue else None
            return head

    def _vehicle(self, vehicle: str) -> VehicleInfo:
        if vehicle not in self.vehicles:
            raise ConfigError(f"no vehicle {vehicle!r} has registered (known: {', '.join(sorted(self.vehicles)) or 'none'})")
        return self.vehicles[vehicle]

    def job_status(self, job_id: int) -> dict[str, Any]:
        job = self._job(job_id)
        missions = self.store.missions(job_id=job_id)
        sizes = self.store.plan_sizes(job_id)
        total = self.store.job_working_m(job_id)
        done = sum(m.done_m for m in missions)
        return {"id": job.id, "name": job.name, "state": job.state, "implement": job.implement,
                "vehicles": list(job.vehicles), "coverage": done / total if total > 0 else 0.0,
                "working_m": total, "done_m": done,
                "missions": [{"id": m.id, "vehicle": m.vehicle, "phase": m.phase.name.lower(),
                              "acked_index": m.acked_index, "done_m": m.done_m, "reason": m.reason,
                              "n_samples": sizes.get(m.plan_id, 0)} for m in missions]}

    def jobs_summary(self) -> list[dict[str, Any]]:
        out = []
        for job in self.store.jobs():
            missions = self.store.missions(job_id=job.id)
            total = self.store.job_working_m(job.id)
            out.append({"id": job.id, "name": job.name, "state": job.state, "vehicles": list(job.vehicles),
                        "coverage": sum(m.done_m for m in missions) / total if total > 0 else 0.0})
        return out

    # --- vehicle traffic ----------------------------------------------------------------------------
    def on_hello(self, vehicle: str, kind: str, driver: str, kinds: Sequence[str], features: Sequence[str],
                 spec: dict[str, Any], mission: int, index: int, state: int, new_session: bool) -> None:
        info = self.vehicles.setdefault(vehicle, VehicleInfo(vehicle))
        info.kind, info.driver = kind, driver
        info.kinds, info.features, info.spec = frozenset(kinds), frozenset(features), _spec(spec)
        info.online, info.offline_since = True, None
        info.mission, info.index, info.state = mission, index, state
        if new_session:
            info.delivering = 0
            info.commanded.clear()
        self.store.upsert_vehicle(vehicle, kind, driver, sorted(kinds), sorted(features), spec)
        logger.info("vehicle %s registered (%s, driver %s%s)", vehicle, kind, driver,
                    f", holds mission {mission} at {index}" if mission else "")
        if mission:
            m = self.store.mission(mission)
            if m is not None and m.vehicle == vehicle and not m.phase.is_final:
                self._progress(m, index, state, None)
        self._drive(vehicle)

    def on_lost(self, vehicle: str) -> None:
        info = self.vehicles.get(vehicle)
        if info is None or not info.online:
            return
        info.online, info.offline_since = False, self.clock()
        info.delivering = 0
        info.commanded.clear()
        logger.warning("vehicle %s lost (no heartbeat)", vehicle)

    def on_progress(self, vehicle: str, mission: int, index: int, state: int, coverage: float) -> bool:
        """Store progress; True when the agent may be acknowledged (stored, or older than what is stored)."""
        info = self.vehicles.get(vehicle)
        m = self.store.mission(mission)
        if info is None or m is None or m.vehicle != vehicle:
            return True   # acknowledge and forget: nothing of ours
        info.mission, info.index, info.state = mission, max(info.index, index), state
        if not m.phase.is_final:
            self._progress(m, index, state, coverage)
        self._drive(vehicle)
        return True

    def _progress(self, m: MissionRow, index: int, state: int, coverage: float | None) -> None:
        cum = self._cumulative(m.plan_id)
        if state == AgentState.COMPLETE:
            index = max(index, len(cum) - 1)
        done = working_done_m(cum, index)
        cov = coverage if coverage is not None else (done / cum[-1] if len(cum) and cum[-1] > 0 else 0.0)
        self.store.record_progress(m.id, index, state, cov, done)
        if state == AgentState.COMPLETE:
            self._set_phase(m, MissionPhase.COMPLETE)
            self._finish_job_if_done(m.job_id)
        elif state == AgentState.FAILED:
            self._fail(m, "vehicle reported the mission failed")
        elif state == AgentState.ACTIVE and m.phase in (MissionPhase.SENT, MissionPhase.READY, MissionPhase.PAUSED):
            self._set_phase(m, MissionPhase.ACTIVE)
        elif state == AgentState.PAUSED and m.phase in (MissionPhase.ACTIVE, MissionPhase.SENT, MissionPhase.READY):
            self._set_phase(m, MissionPhase.PAUSED)

    def on_plan_ack(self, vehicle: str, mission: int, complete: bool, ok: bool, reason: str) -> None:
        info = self.vehicles.get(vehicle)
        m = self.store.mission(mission)
        if info is None or m is None or m.vehicle != vehicle:
            return
        if not ok:
            info.delivering = 0
            self.store.add_event(vehicle, mission, int(EventCode.FAULT), int(Severity.CRITICAL),
                                 f"plan refused: {reason}")
            self._fail(m, f"plan refused: {reason}")
            return
        if complete and info.delivering == mission:
            info.delivering = 0
            info.mission, info.state = mission, AgentState.IDLE
            info.index = max(m.acked_index, 0)
            if m.phase == MissionPhase.SENT:
                self._set_phase(m, MissionPhase.READY)
            self._drive(vehicle)

    def on_command_ack(self, vehicle: str, ref: int, command: CommandCode, ok: bool, result: str) -> None:
        info = self.vehicles.get(vehicle)
        if info is None:
            return
        pending = info.commanded.pop(ref, None)
        if pending is None:
            return   # not ours (sent before a restart) or answered already
        mission = pending[0]
        m = self.store.mission(mission) if mission else None
        if not ok:
            self.store.add_event(vehicle, mission or None, int(EventCode.DRIVER_ERROR), int(Severity.WARNING),
                                 f"{command.name.lower()} failed: {result}")
            if m is not None and command in (CommandCode.START, CommandCode.RESUME) and not m.phase.is_final:
                self._fail(m, f"{command.name.lower()} failed: {result}")
            return
        if m is not None and not m.phase.is_final:
            if command in (CommandCode.START, CommandCode.RESUME):
                self._set_phase(m, MissionPhase.ACTIVE)
                info.state = AgentState.ACTIVE
            elif command == CommandCode.PAUSE:
                self._set_phase(m, MissionPhase.PAUSED)
                info.state = AgentState.PAUSED
        if command in (CommandCode.ABORT, CommandCode.ESTOP) and info.mission == mission:
            info.state = AgentState.ABORTED
        elif command == CommandCode.RETURN_HOME:
            info.state = AgentState.RETURNING
        self._drive(vehicle)

    def on_event(self, vehicle: str, mission: int, code: EventCode, severity: Severity, text: str) -> None:
        self.store.add_event(vehicle, mission or None, int(code), int(severity), text)
        m = self.store.mission(mission) if mission else None
        if code in (EventCode.FAULT, EventCode.FAILSAFE) and m is not None and m.vehicle == vehicle \
                and not m.phase.is_final:
            self._fail(m, f"{code.name.lower()}: {text}")

    def on_telemetry(self, vehicle: str, telemetry: Any) -> None:
        """The latest reading (a TELEMETRY message); one per ``telemetry_every_s`` is stored."""
        info = self.vehicles.get(vehicle)
        if info is None:
            return
        info.last_telemetry = telemetry
        now = self.clock()
        if now - info.telemetry_saved_s >= self.telemetry_every_s:
            info.telemetry_saved_s = now
            self.store.add_telemetry(vehicle, telemetry.body())

    # --- timers -------------------------------------------------------------------------------------
    def tick(self) -> None:
        now = self.clock()
        for info in list(self.vehicles.values()):
            if info.online or info.offline_since is None or now - info.offline_since < self.replan_after_s:
                continue
            open_missions = self.store.missions(vehicle=info.id, open_only=True)
            if open_missions:
                self._reassign(info.id, open_missions, f"vehicle {info.id} lost")

    # --- decisions ----------------------------------------------------------------------------------
    def _drive(self, vehicle: str) -> None:
        """Send what closes the gap between what ``vehicle`` holds and what it should be doing."""
        info = self.vehicles.get(vehicle)
        if info is None or not info.online or info.delivering or info.commanded:
            return   # offline, or an answer is awaited: the bus resends until it comes
        head = self._head(vehicle)
        holds = info.mission
        if holds and (head is None or holds != head[0]) and info.state in (
                AgentState.ACTIVE, AgentState.PAUSED, AgentState.RETURNING):
            logger.info("vehicle %s still drives mission %d: aborting it", vehicle, holds)
            self._command(info, holds, CommandCode.ABORT)
            return
        if head is None:
            return
        mission, job_id = head
        if holds != mission:
            self._deliver(info, mission)
            return
        run = self._job(job_id).state == JobState.ACTIVE and not info.hold
        if info.state == AgentState.IDLE and run:
            self._command(info, mission, CommandCode.START)
        elif info.state == AgentState.ACTIVE and not run:
            self._command(info, mission, CommandCode.PAUSE)
        elif info.state == AgentState.PAUSED and run:
            self._command(info, mission, CommandCode.RESUME)
        elif info.state == AgentState.RETURNING and run:
            self._deliver(info, mission)          # went home; drive on from the acknowledged index

    def _deliver(self, info: VehicleInfo, mission: int) -> None:
        m = self.store.mission(mission)           # read afresh: the acknowledged index moves
        if m is None:
            self._heads.pop(info.id, None)
            return
        start = max(m.acked_index, 0)
        if start >= len(self._cumulative(m.plan_id)) - 1:
            # the last sample was acknowledged and only the word "complete" got lost: nothing to drive
            self._set_phase(m, MissionPhase.COMPLETE, "last sample reached")
            self._finish_job_if_done(m.job_id)
            self._drive(info.id)
            return
        self._set_phase(m, MissionPhase.SENT)
        info.delivering = m.id
        logger.info("mission %d -> %s (from sample %d)", m.id, info.id, start)
        self.link.send_plan(info.id, m.id, m.job_id, self.store.plan_bytes(m.plan_id), start)

    def _command(self, info: VehicleInfo, mission: int, command: CommandCode) -> None:
        msg_id = self.link.send_command(info.id, mission, command)
        info.commanded[msg_id] = (mission, command)

    def _fail(self, m: MissionRow, reason: str) -> None:
        logger.warning("mission %d on %s failed: %s", m.id, m.vehicle, reason)
        self._reassign(m.vehicle, [m], reason, phase=MissionPhase.FAILED)
        self._drive(m.vehicle)   # it may still drive the failed mission: stop it

    def _finish_job_if_done(self, job_id: int) -> None:
        job = self.store.job(job_id)
        if job is None or job.state in JobState.FINAL:
            return
        missions = self.store.missions(job_id=job_id)
        if any(not m.phase.is_final for m in missions):
            return
        total = self.store.job_working_m(job_id)
        done = sum(m.done_m for m in missions)
        if total <= 0 or done >= total * (1 - 1e-6):
            state = JobState.COMPLETE
        elif any(m.phase == MissionPhase.ABORTED for m in missions):
            state = JobState.ABORTED            # an operator stopped part of it
        else:
            state = JobState.FAILED             # work was left that no capable vehicle could take
        self._set_job_state(job_id, state)
        logger.info("job %d %s (%.1f %% of its working length)", job_id, state, 100 * done / total if total else 100)

    def _receivers(self, job: JobRow, lost: str, needs: frozenset[str], turn_radius_m: float) -> list[VehicleInfo]:
        out = []
        for vid in job.vehicles:
            info = self.vehicles.get(vid)
            if info is None or vid == lost or not info.online:
                continue
            if not needs <= info.offers:
                continue
            if info.spec is not None and info.spec.min_turn_radius_m > turn_radius_m + 1e-6 and turn_radius_m > 0:
                continue
            out.append(info)
        return out

    def _reassign(self, vehicle: str, missions: list[MissionRow], reason: str,
                  phase: MissionPhase = MissionPhase.REASSIGNED) -> None:
        for m in missions:
            job = self._job(m.job_id)
            plan = self._plan(m.plan_id)
            lost = self.vehicles.get(vehicle)
            needs = self.job_vehicles_required(job) | ({lost.kind} if lost and lost.kind else frozenset())
            receivers = self._receivers(job, vehicle, needs, plan.turn_radius_m)
            if not receivers:
                if phase == MissionPhase.FAILED:
                    self._set_phase(m, MissionPhase.FAILED, f"{reason}; no capable vehicle left")
                    self._finish_job_if_done(m.job_id)
                elif m.id not in self._stranded:
                    self._stranded.add(m.id)
                    logger.warning("mission %d: no capable vehicle to take it over; waiting", m.id)
                continue
            ranges = split_remaining(plan, max(m.acked_index, 0), len(receivers))
            with self.store.transaction():
                self._set_phase(m, phase, reason)
                loads = {r.id: self._queued_work_m(r.id) for r in receivers}
                for a, b in ranges:
                    target = min(receivers, key=lambda r: loads[r.id])
                    start = self._queue_end(target.id)
                    speed = target.spec.transit_speed_mps if target.spec else float(plan.path["speed"].max())
                    piece = build_piece(plan, a, b, start, speed, self.planner(), m.id).with_(vehicle=target.id)
                    plan_id = self.store.add_plan(m.job_id, piece, source=(m.id, a, b))
                    new = self._add_mission(m.job_id, plan_id, target.id)
                    loads[target.id] += piece.metrics.working_length_m + piece.metrics.headland_length_m
                    logger.info("mission %d samples [%d, %d) -> mission %d on %s", m.id, a, b, new, target.id)
                self.store.add_event(vehicle, m.id, int(EventCode.INFO), int(Severity.WARNING),
                                     f"{reason}: {len(ranges)} piece(s) re-planned onto "
                                     f"{', '.join(sorted({r.id for r in receivers}))}")
            if phase == MissionPhase.REASSIGNED:
                self.link.forget(vehicle)
            self._finish_job_if_done(m.job_id)
            for r in receivers:
                self._drive(r.id)

    def _queued_work_m(self, vehicle: str) -> float:
        total = 0.0
        for m in self.store.missions(vehicle=vehicle, open_only=True):
            cum = self._cumulative(m.plan_id)
            total += float(cum[-1]) - working_done_m(cum, m.acked_index) if len(cum) else 0.0
        return total

    def _queue_end(self, vehicle: str) -> np.ndarray | None:
        """Where ``vehicle`` will be when its queue is done: the last sample of its last open mission,
        else where its telemetry says it is."""
        queue = self.store.missions(vehicle=vehicle, open_only=True)
        if queue:
            return self._plan(queue[-1].plan_id).path[-1]
        t = self.vehicles[vehicle].telemetry
        if t and all(isinstance(t.get(k), float) and math.isfinite(t[k]) for k in ("x", "y")):
            out = np.zeros(1, dtype=PATH_DTYPE)[0]
            out["x"], out["y"] = t["x"], t["y"]
            out["heading"] = t.get("heading_rad", 0.0) if math.isfinite(t.get("heading_rad", math.nan)) else 0.0
            return out
        return None

    # --- caches -------------------------------------------------------------------------------------
    def _plan(self, plan_id: int) -> Plan:
        return self.store.plan(plan_id)

    def _cumulative(self, plan_id: int) -> np.ndarray:
        if plan_id not in self._cum:
            self._cum[plan_id] = working_cumulative(self._plan(plan_id))
        return self._cum[plan_id]

    def snapshot(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        return [v.summary() for v in self.vehicles.values()], self.jobs_summary()


def implement_requirements(implement: str) -> frozenset[str]:
    """What a vehicle must offer to carry ``implement`` (an implement spec string; empty = nothing)."""
    if not implement:
        return frozenset()
    from .implement import build_implement
    return frozenset(build_implement(implement).capabilities_required)


def _spec(data: dict[str, Any] | None) -> VehicleSpec | None:
    if not data:
        return None
    try:
        return VehicleSpec.from_dict(data)
    except (ConfigError, TypeError, ValueError) as exc:
        logger.warning("ignoring a bad vehicle spec: %s", exc)
        return None
