"""The vehicle agent: hosts one driver plugin and keeps it on the dispatcher's link.

The agent registers with the dispatcher (HELLO, again after every reconnect, saying which mission it holds
and how far it got), receives plans in chunks and hands them to the driver, runs commands, and reports
telemetry (unacknowledged, at a fixed rate), progress (acknowledged; only the latest index is ever resent)
and events (faults, failsafes, low battery, degraded GNSS). The driver lifecycle ``connect -> upload ->
start (pause/resume)* -> abort | finish -> close`` is enforced here, not by each driver.

``agrifleet agent`` runs it in the foreground; tests and the demo use ``Agent(...).start()`` / ``stop()``.
A driver error never stops the agent: it becomes a failed command acknowledgement or a FAULT event.
"""
from __future__ import annotations

import inspect
import logging
import math
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from agrifleet.core import __version__
from agrifleet.core.bus import BusConfig, ClientBus, LogThrottle
from agrifleet.core.errors import AgrifleetError, DriverError, PlanError
from agrifleet.core.keys import ClientKeys
from agrifleet.core.messages import (
    Command,
    CommandAck,
    CommandCode,
    Error,
    Event,
    EventCode,
    Hello,
    Message,
    PlanAck,
    PlanChunk,
    Progress,
    Severity,
    Telemetry,
)
from agrifleet.core.plan import Plan
from agrifleet.core.plan_io import plans_from_msgpack
from agrifleet.core.plugin import load
from agrifleet.core.replan import working_cumulative, working_done_m

from .base import Driver, GnssQuality, MissionState, TelemetrySample

__all__ = ["Agent", "AgentConfig", "load_driver"]

logger = logging.getLogger(__name__)

_RUNNING = (MissionState.ACTIVE, MissionState.PAUSED, MissionState.RETURNING)
_ACTION = {CommandCode.START: "start", CommandCode.PAUSE: "pause", CommandCode.RESUME: "resume",
           CommandCode.ABORT: "abort", CommandCode.RETURN_HOME: "return_home", CommandCode.ESTOP: "estop"}
_AFTER = {CommandCode.START: MissionState.ACTIVE, CommandCode.PAUSE: MissionState.PAUSED,
          CommandCode.RESUME: MissionState.ACTIVE, CommandCode.ABORT: MissionState.ABORTED,
          CommandCode.RETURN_HOME: MissionState.RETURNING, CommandCode.ESTOP: MissionState.ABORTED}
_OUTCOMES = (MissionState.COMPLETE, MissionState.FAILED, MissionState.ABORTED, MissionState.RETURNING)
_ALREADY = {CommandCode.START: MissionState.ACTIVE, CommandCode.PAUSE: MissionState.PAUSED,
            CommandCode.RESUME: MissionState.ACTIVE}


@dataclass(frozen=True, slots=True)
class AgentConfig:
    telemetry_hz: float = 5.0          # telemetry messages per second (the latest sample each time)
    progress_min_s: float = 0.1        # at most this often a progress report, unless the state changes
    low_battery_pct: float = 20.0
    poll_s: float = 0.02               # longest wait for the dispatcher between two driver polls


@dataclass(slots=True)
class _Assembly:
    mission: int
    job: int
    n_chunks: int
    size: int
    crc32: int
    start_index: int
    chunks: dict[int, bytes]


def load_driver(name: str, vehicle: str, url: str | None = None, **options: Any) -> Driver:
    """Instantiate driver plugin ``name`` (``agrifleet.drivers`` group) for ``vehicle``."""
    factory = load("agrifleet.drivers", name)
    return factory(vehicle, url, **options) if inspect.isclass(factory) or callable(factory) else factory


class Agent:
    """One vehicle on the fleet link."""

    def __init__(self, vehicle: str, driver: Driver, server: str, keys: ClientKeys | None = None,
                 bus: BusConfig = BusConfig(), config: AgentConfig = AgentConfig(),
                 clock: Callable[[], float] = time.monotonic, driver_name: str = "") -> None:
        self.vehicle, self.driver, self.config, self.clock = vehicle, driver, config, clock
        self.driver_name = driver_name or getattr(driver, "name", "") or type(driver).__name__
        self.session = uuid.uuid4().hex[:16]
        self.bus = ClientBus(server, self._hello, keys, bus, clock)
        self.mission = 0
        self.job = 0
        self.plan: Plan | None = None
        self.state = MissionState.IDLE
        self.index = -1
        self.uploads: list[tuple[int, int]] = []      # (mission, start_index) handed to the driver
        self.counters = {"handler_errors": 0, "driver_errors": 0, "telemetry": 0, "progress": 0}
        self._assembly: _Assembly | None = None
        self._held: tuple[int, int, int] = (0, 0, 0)     # mission, CRC, start index of the plan the driver has
        self._cum: np.ndarray = np.zeros(0)
        self._reported: tuple[int, int, int] = (0, -2, -1)
        self._last_progress = -math.inf
        self._last_telemetry = -math.inf
        self._sample: TelemetrySample | None = None
        self._flags: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._peer_log = LogThrottle(logger, clock=clock)

    # --- life ----------------------------------------------------------------------------------------
    def start(self, connect_timeout_s: float = 10.0) -> Agent:
        self.driver.connect(connect_timeout_s)
        self.bus.start()
        self._thread = threading.Thread(target=self._run_loop, name=f"agrifleet-agent-{self.vehicle}", daemon=True)
        self._thread.start()
        return self

    def run(self, connect_timeout_s: float = 10.0) -> None:
        """Serve in the calling thread until :meth:`stop`."""
        self.driver.connect(connect_timeout_s)
        self.bus.start()
        self._run_loop()

    def request_stop(self) -> None:
        """Ask the loop to end (safe from a signal handler); :meth:`run` then returns."""
        self._stop.set()

    def stop(self, timeout_s: float = 10.0, close_driver: bool = True) -> None:
        """Stop serving. ``close_driver=False`` leaves the vehicle as it is (a crash, as tests need it)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        if close_driver:
            self.driver.close()

    def _run_loop(self) -> None:
        try:
            while not self._stop.is_set():
                self.step(self.config.poll_s)
        finally:
            self.bus.close()

    # --- one turn of the loop ------------------------------------------------------------------------
    def step(self, timeout_s: float) -> None:
        for msg in self.bus.receive(timeout_s):       # each served (answered) as soon as it is read
            try:
                self._serve(msg)
            except AgrifleetError as exc:
                self.counters["handler_errors"] += 1
                self._peer_log.warning("cannot serve %s: %s", msg.KIND.name.lower(), exc)
                self.bus.send(Error(ref=msg.id, code=exc.code, text=str(exc)[:4000]))
        self._read_driver()
        self.bus.tick()

    def _hello(self) -> Hello:
        caps = self.driver.capabilities
        spec = getattr(self.driver, "spec", None) or caps.extra.get("spec")
        spec_dict = spec.to_dict() if hasattr(spec, "to_dict") else dict(spec or {})
        kind = spec_dict.get("kind") or (sorted(caps.kinds)[0] if caps.kinds else "")
        return Hello(vehicle=self.vehicle, vehicle_kind=str(kind), driver=self.driver_name[:64],
                     software=f"agrifleet {__version__}", session=self.session, kinds=tuple(sorted(caps.kinds)),
                     features=tuple(sorted(caps.features)), max_mission_items=caps.max_mission_items,
                     spec=spec_dict, mission=self.mission, index=max(self.index, -1), state=int(self.state))

    def _serve(self, msg: Message) -> None:
        if isinstance(msg, PlanChunk):
            self._plan_chunk(msg)
        elif isinstance(msg, Command):
            self._command(msg)
        elif isinstance(msg, Error):
            self._peer_log.warning("dispatcher error: %s %s", msg.code, msg.text)
        else:
            raise PlanError(f"{msg.KIND.name.lower()} is not something a dispatcher sends to an agent")

    def _plan_chunk(self, msg: PlanChunk) -> None:
        a = self._assembly
        if a is None or a.mission != msg.mission or a.crc32 != msg.crc32 or a.start_index != msg.start_index:
            a = self._assembly = _Assembly(msg.mission, msg.job, msg.n_chunks, msg.size, msg.crc32,
                                           msg.start_index, {})
        if msg.n_chunks != a.n_chunks or msg.size != a.size:
            raise PlanError(f"mission {msg.mission}: chunk {msg.chunk} disagrees on the plan's size")
        a.chunks[msg.chunk] = msg.data
        if len(a.chunks) < a.n_chunks:
            self.bus.send(PlanAck(ref=msg.id, mission=msg.mission, chunk=msg.chunk))
            return
        self._assembly = None
        ok, reason = True, ""
        try:
            self._upload(a)
        except (AgrifleetError, ValueError) as exc:
            ok, reason = False, str(exc)[:4000]
            self._peer_log.warning("mission %d refused: %s", a.mission, reason)
        self.bus.send(PlanAck(ref=msg.id, mission=msg.mission, chunk=msg.chunk, complete=True, ok=ok, reason=reason))

    def _upload(self, a: _Assembly) -> None:
        data = b"".join(a.chunks[k] for k in range(a.n_chunks))
        if len(data) != a.size or zlib.crc32(data) != a.crc32:
            raise PlanError(f"mission {a.mission}: plan arrived damaged ({len(data)} of {a.size} bytes, CRC mismatch)")
        if (a.mission, a.crc32, a.start_index) == self._held and self.state == MissionState.IDLE:
            logger.debug("mission %d: the same plan again (the link dropped our ack); the vehicle has it", a.mission)
            return
        plan = plans_from_msgpack(data, f"mission {a.mission}")[0]
        if not 0 <= a.start_index < max(len(plan), 1):
            raise PlanError(f"mission {a.mission}: start index {a.start_index} outside the plan of {len(plan)} samples")
        vehicle_busy = self._sample is not None and self._sample.mission in _RUNNING
        if self.state in _RUNNING or vehicle_busy:
            self.driver.abort()       # a vehicle takes a new plan only when it stands
        self.driver.upload(plan, a.start_index)
        # Samples queued before the upload tell of the mission before (its end, as often as not): adopted
        # once the new one runs (a START can be served in this same step), they would end it at once.
        try:
            stale = list(self.driver.telemetry(0.0))
        except DriverError:              # the link trouble shows at the next read; the plan is on board
            stale = []
        if stale:
            self._sample = stale[-1]
        self.uploads.append((a.mission, a.start_index))
        self._held = (a.mission, a.crc32, a.start_index)
        self.mission, self.job, self.plan = a.mission, a.job, plan
        self.state, self.index = MissionState.IDLE, a.start_index
        self._cum = working_cumulative(plan)
        self._flags.clear()
        logger.info("mission %d uploaded (%d samples, from %d)", a.mission, len(plan), a.start_index)

    def _command(self, msg: Command) -> None:
        code = msg.command
        if msg.mission and msg.mission != self.mission:
            ok = code in (CommandCode.ABORT, CommandCode.ESTOP)   # nothing of that mission runs here
            result = "" if ok else f"mission {msg.mission} is not on this vehicle (holds {self.mission})"
            self.bus.send(CommandAck(ref=msg.id, command=code, ok=ok, result=result))
            return
        if _ALREADY.get(code) == self.state:
            # a resent or repeated command: the vehicle is there already, say yes without asking it again
            self.bus.send(CommandAck(ref=msg.id, command=code, ok=True, result="already"))
            return
        try:
            if code == CommandCode.START and self.plan is None:
                raise DriverError("start()", "DENIED", "no plan uploaded")
            getattr(self.driver, _ACTION[code])()
        except DriverError as exc:
            self.counters["driver_errors"] += 1
            self.bus.send(CommandAck(ref=msg.id, command=code, ok=False, result=str(exc)[:4000]))
            return
        self.bus.send(CommandAck(ref=msg.id, command=code, ok=True, result="ok"))   # the dispatcher waits
        self.state = _AFTER[code]
        # the acknowledgement tells the dispatcher the new state; progress reports what the vehicle does
        self._reported = (self.mission, self._reported[1], int(self.state))

    # --- the vehicle side ----------------------------------------------------------------------------
    def _read_driver(self) -> None:
        try:
            samples = list(self.driver.telemetry(0.0))
        except DriverError as exc:
            self.counters["driver_errors"] += 1
            if "link" not in self._flags:
                self._flags.add("link")
                self._event(EventCode.FAULT, Severity.CRITICAL, str(exc))
            return
        now = self.clock()
        if samples:
            self._flags.discard("link")
            for s in samples:
                self._adopt(s)
            self._sample = samples[-1]
            self._watch(samples[-1])
        self._report_progress()
        if self._sample is not None and now - self._last_telemetry >= 1.0 / self.config.telemetry_hz:
            self._last_telemetry = now
            s = self._sample
            self.counters["telemetry"] += 1
            self.bus.send(Telemetry(t_s=s.t_mono_s, x=s.x, y=s.y, z=s.z, lat_deg=_clip(s.lat_deg, 90.0),
                                    lon_deg=_clip(s.lon_deg, 180.0), heading_rad=s.heading_rad,
                                    speed_mps=s.speed_mps, battery_pct=s.battery_pct, tank_l=s.tank_l,
                                    mode=s.mode[:32], armed=s.armed, gnss=int(s.gnss), state=int(self.state),
                                    mission=self.mission, index=max(self.index, -1), sections=int(s.sections)))

    def _adopt(self, s: TelemetrySample) -> None:
        """Take progress and the mission's outcome from a sample, never a step back.

        Samples lag commands (a driver may have read them before the command took effect), so the agent
        keeps the state its commands produced and adopts from the vehicle only what the vehicle decides on
        its own: the index reached and the end of the mission (complete, failed, aborted, returning)."""
        if self.plan is None or self.state not in _RUNNING:
            return
        if self.state == MissionState.RETURNING:
            if s.mission == MissionState.FAILED:
                self.state = MissionState.FAILED
            return
        if s.mission in (MissionState.ACTIVE, MissionState.PAUSED, MissionState.COMPLETE) and s.plan_index >= 0:
            self.index = max(self.index, min(s.plan_index, len(self.plan) - 1))
        if s.mission in _OUTCOMES and s.mission != self.state:
            self.state = MissionState(s.mission)
            if s.mission == MissionState.COMPLETE:
                self.index = len(self.plan) - 1

    def _watch(self, s: TelemetrySample) -> None:
        """Turn telemetry into events, once per transition."""
        low = math.isfinite(s.battery_pct) and s.battery_pct < self.config.low_battery_pct
        if low and "battery" not in self._flags:
            self._event(EventCode.LOW_BATTERY, Severity.WARNING, f"battery {s.battery_pct:.0f} %")
        self._flags.discard("battery") if not low else self._flags.add("battery")
        degraded = self.state == MissionState.ACTIVE and s.gnss < GnssQuality.RTK_FLOAT
        if degraded and "gnss" not in self._flags:
            self._event(EventCode.GNSS_DEGRADED, Severity.WARNING, f"GNSS {s.gnss.name}")
        self._flags.discard("gnss") if not degraded else self._flags.add("gnss")
        if s.mission == MissionState.FAILED and "failed" not in self._flags:
            self._flags.add("failed")
            self._event(EventCode.FAILSAFE, Severity.CRITICAL, f"mode {s.mode or '?'}: mission failed on the vehicle")

    def _event(self, code: EventCode, severity: Severity, text: str) -> None:
        logger.warning("event %s: %s", code.name.lower(), text)
        self.bus.send(Event(code=code, severity=severity, text=text[:4000], mission=self.mission), reliable=True)

    def _report_progress(self, force: bool = False) -> None:
        if not self.mission:
            return
        now = self.clock()
        current = (self.mission, self.index, int(self.state))
        if current == self._reported:
            return
        state_changed = current[0] != self._reported[0] or current[2] != self._reported[2]
        if not (force or state_changed) and now - self._last_progress < self.config.progress_min_s:
            return
        self._reported, self._last_progress = current, now
        total = float(self._cum[-1]) if len(self._cum) else 0.0
        done = working_done_m(self._cum, self.index)
        if self.state == MissionState.COMPLETE:
            done = total
        self.counters["progress"] += 1
        self.bus.send(Progress(mission=self.mission, index=max(self.index, -1), state=int(self.state),
                               coverage=min(1.0, done / total) if total > 0 else 0.0),
                      reliable=True, key=("progress", self.mission))


def _clip(value: float, limit: float) -> float:
    return value if not math.isfinite(value) or abs(value) <= limit else math.nan
