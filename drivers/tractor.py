"""The ``tractor`` driver: path following on the agent, steering and speed to the tractor ECU.

The agent runs the on-board guidance (:class:`~agrifleet.core.guidance.PathFollower`) on the pose the ECU
reports and sends steering, speed and section commands back over the tractor link (``docs/tractor_link.md``:
msgpack over UDP) at the control rate. The ECU follows only fresh, engaged commands, so a crashed agent
or a lost link stops the tractor within the ECU's watchdog time.

Mission commands are local (the plan lives on the agent) except e-stop, which the ECU acknowledges. The
driver runs one background thread that receives STATE messages, runs guidance every control period and
queues telemetry samples. Timeouts use ``time.monotonic`` (injectable as ``clock``).

The control and telemetry periods run on the *vehicle's* clock, the ``t`` of its STATE messages: guidance
runs once the ECU's time has moved on by a control period. On a machine the two clocks tick alike; against
a simulated tractor running K times faster than real time, guidance still steers every 0.1 s of the
tractor's life, whatever K is and however unevenly the simulation keeps pace, so a trial needs no
knowledge of its speed factor here. While no STATE comes (a silent ECU), the loop falls back to the wall
clock and keeps sending stop commands every control period.
"""
from __future__ import annotations

import collections
import logging
import math
import socket
import threading
import time
from typing import Any, Callable, Iterator
from urllib.parse import urlparse

from agrifleet.core.errors import (
    CommandRejected,
    ConfigError,
    ConnectionLost,
    DriverError,
    DriverTimeout,
    ProtocolError,
)
from agrifleet.core.guidance import GuidanceParams, PathFollower
from agrifleet.core.plan import Plan, SegmentKind, make_path

from .base import Capabilities, Driver, GnssQuality, MissionState, TelemetrySample, drain_samples
from .tractor_link import EcuFault, LinkMsg, decode, encode

__all__ = ["TractorDriver"]

logger = logging.getLogger(__name__)


def _fault_name(code: int) -> str:
    try:
        return EcuFault(code).name.lower()
    except ValueError:
        return f"fault {code}"


def _quality(code: int) -> GnssQuality:
    try:
        return GnssQuality(code)
    except ValueError:
        return GnssQuality.NONE


def _parse_url(url: str | None) -> tuple[str, int]:
    if not url:
        raise ConfigError("tractor driver: url is required (udp://HOST:PORT of the tractor ECU)")
    u = urlparse(url)
    if u.scheme != "udp" or not u.hostname or not u.port:
        raise ConfigError(f"tractor driver: url {url!r} must look like udp://HOST:PORT")
    return u.hostname, u.port


class TractorDriver(Driver):
    """Drives a tractor ECU over the tractor link (``url="udp://host:port"``)."""

    name = "tractor"

    def __init__(self, vehicle_id: str, url: str | None = None, *, control_period_s: float = 0.1,
                 telemetry_period_s: float = 0.2, link_timeout_s: float = 1.0,
                 guidance: GuidanceParams | None = None, clock: Callable[[], float] = time.monotonic,
                 **options: Any) -> None:
        super().__init__(vehicle_id, url, **options)
        self._addr = _parse_url(url)
        if not (control_period_s > 0 and telemetry_period_s > 0 and link_timeout_s > 0):
            raise ConfigError("tractor driver: periods and link_timeout_s must be > 0")
        self._control_period_s = control_period_s
        self._telemetry_period_s = telemetry_period_s
        self._link_timeout_s = link_timeout_s
        self._guidance_params = guidance
        self._clock = clock
        self._sock: socket.socket | None = None
        self._seq = 0
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._samples: collections.deque[TelemetrySample] = collections.deque(maxlen=10_000)
        self._ident: dict[str, Any] | None = None
        self._state: dict[str, Any] | None = None
        self._state_t = -math.inf
        self._next_tick_vt = -math.inf          # vehicle time of the next guidance tick
        self._next_telemetry_vt = -math.inf     # ... and of the next telemetry sample
        self._acks: dict[int, bool] = {}
        self._mission = MissionState.IDLE
        self._plan: Plan | None = None
        self._follower: PathFollower | None = None
        self._plan_index = -1
        self._home: tuple[float, float] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.bad_datagrams = 0

    @property
    def capabilities(self) -> Capabilities:
        features = {"pause", "resume", "return_home", "estop", "sections"}
        if self._ident and self._ident.get("reverse"):
            features.add("reverse")
        return Capabilities(kinds=frozenset({"tractor"}), features=frozenset(features))

    @property
    def mission_state(self) -> MissionState:
        return self._mission

    # --- link ---------------------------------------------------------------------------------------------
    def _send(self, kind: LinkMsg, **fields: Any) -> int:
        if self._sock is None:
            raise DriverError(f"{kind.name.lower()}", "NOT_CONNECTED", "connect() first")
        with self._lock:
            self._seq += 1
            seq = self._seq
        try:
            self._sock.sendto(encode(kind, seq, **fields), self._addr)
        except OSError as exc:
            raise ConnectionLost(f"{kind.name.lower()}()", "SEND_FAILED", str(exc)) from None
        return seq

    def _receive(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for a datagram, then take in every one waiting, so that guidance acts
        on the latest STATE rather than on a queue of stale ones; True when a STATE came."""
        assert self._sock is not None
        got_state = False
        self._sock.settimeout(max(timeout_s, 1e-3))
        while True:
            try:
                data, _ = self._sock.recvfrom(65536)
            except (TimeoutError, BlockingIOError, InterruptedError):
                return got_state
            except OSError:
                return got_state
            got_state = self._take(data) or got_state
            self._sock.settimeout(0.0)     # the rest without waiting

    def _take(self, data: bytes) -> bool:
        """One datagram in; True when it was a STATE."""
        try:
            kind, msg = decode(data)
        except ProtocolError as exc:
            self.bad_datagrams += 1
            logger.warning("tractor %s: dropped a bad datagram: %s", self.vehicle_id, exc)
            return False
        with self._cond:
            if kind is LinkMsg.IDENT:
                self._ident = msg
            elif kind is LinkMsg.STATE:
                self._state = msg
                self._state_t = self._clock()
            elif kind is LinkMsg.ACK:
                self._acks[int(msg["ack"])] = bool(msg["ok"])
            else:
                self.bad_datagrams += 1
            self._cond.notify_all()
        return kind is LinkMsg.STATE

    def connect(self, timeout_s: float = 10.0) -> None:
        if self._thread is not None:
            return
        self._ident = self._state = None  # a reconnect must hear the ECU again
        self._state_t = -math.inf
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("0.0.0.0" if self._addr[0] not in ("127.0.0.1", "localhost") else "127.0.0.1", 0))
        deadline = self._clock() + timeout_s
        next_hello = -math.inf
        while self._ident is None or self._state is None:
            now = self._clock()
            if now >= deadline:
                self._sock.close()
                self._sock = None
                where = f"udp://{self._addr[0]}:{self._addr[1]}"
                raise DriverTimeout("connect()", "TIMEOUT", f"no answer from the ECU at {where} within "
                                                            f"{timeout_s:g} s")
            if now >= next_hello:
                self._send(LinkMsg.HELLO, vid=self.vehicle_id)
                self._send(LinkMsg.COMMAND, steer=0.0, speed=0.0, sections=0, engage=False)
                next_hello = now + 0.2
            self._receive(min(0.05, deadline - now))
        if self._ident["vid"] != self.vehicle_id:
            logger.warning("tractor %s: the ECU says it is %r", self.vehicle_id, self._ident["vid"])
        self._home = self._position()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=f"tractor-{self.vehicle_id}", daemon=True)
        self._thread.start()
        logger.info("tractor %s connected to the ECU at %s:%d", self.vehicle_id, *self._addr)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
        if self._sock is not None:
            try:
                self._send(LinkMsg.COMMAND, steer=0.0, speed=0.0, sections=0, engage=False)
            except DriverError:
                pass
            self._sock.close()
            self._sock = None

    def _position(self) -> tuple[float, float] | None:
        st = self._state
        if st is None:
            return None
        if "x" in st and "y" in st:
            x, y = float(st["x"]), float(st["y"])
            return None if math.isnan(x) or math.isnan(y) else (x, y)
        frame = self._plan.frame if self._plan is not None else None
        if frame is None:
            return None  # geographic state but no frame to put it in yet
        return frame.point_to_local(float(st["lon"]), float(st["lat"]))

    # --- the control loop ---------------------------------------------------------------------------------
    def _loop(self) -> None:
        """Guidance on the vehicle's clock while STATEs come; on the wall clock while they do not."""
        period = self._control_period_s
        next_wall = self._clock()
        while not self._stop.is_set():
            now = self._clock()
            silent = now - self._state_t >= period
            if silent and now >= next_wall:
                self._safe_tick(now)
                next_wall = now + period
                continue
            if not self._receive(max(next_wall - now, 0.0) if silent else period):
                continue
            with self._lock:
                vt = float(self._state["t"]) if self._state is not None else math.nan
            if vt < self._next_tick_vt - 2 * period:
                self._next_tick_vt = self._next_telemetry_vt = -math.inf   # the ECU's clock restarted
            if vt >= self._next_tick_vt - 1e-6:
                # a tick every period of vehicle time; after a stall, on from now rather than catching up
                self._next_tick_vt += period
                if self._next_tick_vt < vt:
                    self._next_tick_vt = vt + period
                self._safe_tick(self._clock(), vt)
                next_wall = self._clock() + period

    def _safe_tick(self, now: float, vt: float = math.nan) -> None:
        try:
            self._tick(now, vt)
        except DriverError as exc:
            logger.warning("tractor %s: %s", self.vehicle_id, exc)

    def _tick(self, now: float, vt: float = math.nan) -> None:
        """One control step at wall time ``now``; ``vt`` is the vehicle time of the STATE behind it."""
        with self._lock:
            st, fresh = self._state, now - self._state_t <= self._link_timeout_s
            mission, follower = self._mission, self._follower
        pos = self._position() if fresh else None
        steer = speed = 0.0
        sections, engage = 0, mission in (MissionState.ACTIVE, MissionState.PAUSED, MissionState.ABORTED,
                                          MissionState.RETURNING)
        ok_fix = st is not None and pos is not None and st["gnss"] != int(GnssQuality.NONE)
        if mission in (MissionState.ACTIVE, MissionState.RETURNING) and follower is not None and ok_fix:
            cmd = follower.update(pos[0], pos[1], float(st["heading"]), float(st["speed"]))
            steer, speed, sections = cmd.steer_rad, cmd.speed_mps, cmd.sections
            with self._lock:
                if mission is MissionState.ACTIVE:
                    self._plan_index = cmd.plan_index
                if cmd.done and abs(float(st["speed"])) < 0.05:
                    self._mission = MissionState.COMPLETE
                    self._follower = None
                    if mission is MissionState.ACTIVE and self._plan is not None:
                        self._plan_index = len(self._plan) - 1
        elif st is not None:
            steer = float(st["steer"])  # hold the wheel where it is, stand still
        self._send(LinkMsg.COMMAND, steer=steer, speed=speed, sections=sections, engage=engage)
        if st is not None and fresh and vt >= self._next_telemetry_vt:
            self._next_telemetry_vt = vt + self._telemetry_period_s - 1e-9
            self._emit(now, st, pos)

    def _emit(self, now: float, st: dict[str, Any], pos: tuple[float, float] | None) -> None:
        x, y = pos if pos is not None else (math.nan, math.nan)
        sample = TelemetrySample(
            t_mono_s=now, x=x, y=y, z=float(st.get("z", math.nan)), lat_deg=float(st.get("lat", math.nan)),
            lon_deg=float(st.get("lon", math.nan)), heading_rad=float(st["heading"]),
            speed_mps=float(st["speed"]), tank_l=float(st["tank"]),
            mode=_fault_name(st["fault"]), armed=bool(st["engaged"]), gnss=_quality(st["gnss"]),
            mission=self._mission, plan_index=self._plan_index, sections=int(st["sections"]))
        with self._cond:
            self._samples.append(sample)
            self._cond.notify_all()

    # --- mission commands ---------------------------------------------------------------------------------
    def _require(self, call: str, *allowed: MissionState) -> None:
        if self._thread is None:
            raise DriverError(call, "NOT_CONNECTED", "connect() first")
        if self._clock() - self._state_t > self._link_timeout_s:
            raise ConnectionLost(call, "NO_STATE", f"no state from the ECU for {self._link_timeout_s:g} s")
        if allowed and self._mission not in allowed:
            raise CommandRejected(call, "DENIED", f"mission is {self._mission.name}")

    def _make_follower(self, plan: Plan, start_index: int) -> PathFollower:
        ident = self._ident or {}
        lag = float(ident.get("implement_lag_m", 0.0))
        params = self._guidance_params or GuidanceParams(implement_lag_m=lag)
        return PathFollower(plan, float(ident["wheelbase_m"]), float(ident["max_steer_rad"]), params,
                            start_index)

    def upload(self, plan: Plan, start_index: int = 0) -> None:
        with self._lock:
            self._require("upload()", MissionState.IDLE, MissionState.PAUSED, MissionState.ABORTED,
                          MissionState.COMPLETE, MissionState.FAILED)
            if self._ident and self._ident.get("crs") == "wgs84" and plan.frame is None:
                raise CommandRejected("upload()", "INVALID",
                                      "the ECU reports WGS84 and the plan has no frame")
            if len(plan) < 2 or not 0 <= start_index < len(plan) - 1:
                raise CommandRejected("upload()", "INVALID",
                                      f"plan of {len(plan)} samples cannot start at {start_index}")
            self._plan = plan
            self._follower = self._make_follower(plan, start_index)
            self._plan_index = start_index
            self._mission = MissionState.IDLE
            if self._home is None:
                self._home = self._position()

    def start(self) -> None:
        with self._lock:
            self._require("start()", MissionState.IDLE)
            if self._follower is None:
                raise CommandRejected("start()", "NO_PLAN", "upload a plan first")
            if self._state is not None and self._state["fault"] == int(EcuFault.ESTOP):
                raise CommandRejected("start()", "ESTOP", "reset the e-stop first")
            self._mission = MissionState.ACTIVE
        self._wait_engaged("start()")

    def _wait_engaged(self, call: str, timeout_s: float = 2.0) -> None:
        deadline = self._clock() + timeout_s
        with self._cond:
            while not (self._state is not None and self._state["engaged"]):
                left = deadline - self._clock()
                if left <= 0:
                    self._mission = MissionState.IDLE
                    fault = EcuFault(self._state["fault"]).name if self._state else "NO_STATE"
                    raise DriverTimeout(call, "NOT_ENGAGED", f"the ECU did not engage (fault {fault})")
                self._cond.wait(left)

    def pause(self) -> None:
        with self._lock:
            self._require("pause()", MissionState.ACTIVE)
            self._mission = MissionState.PAUSED

    def resume(self) -> None:
        with self._lock:
            self._require("resume()", MissionState.PAUSED)
            self._mission = MissionState.ACTIVE

    def abort(self) -> None:
        with self._lock:
            self._require("abort()")
            self._mission = MissionState.ABORTED

    def return_home(self) -> None:
        with self._lock:
            self._require("return_home()")
            here, home = self._position(), self._home
            if here is None or home is None:
                raise CommandRejected("return_home()", "NO_POSITION", "no position fix to plan the way home")
            if math.hypot(home[0] - here[0], home[1] - here[1]) < 0.5:
                self._mission = MissionState.COMPLETE
                return
            path = make_path([here, home], kind=SegmentKind.SERVICE, speed_mps=2.0)
            frame = self._plan.frame if self._plan is not None else None
            self._follower = self._make_follower(Plan(path, frame=frame), 0)
            self._mission = MissionState.RETURNING

    def estop(self) -> None:
        if self._thread is None:
            raise DriverError("estop()", "NOT_CONNECTED", "connect() first")
        with self._lock:
            self._mission = MissionState.ABORTED
        seq = self._send(LinkMsg.ESTOP)
        self._wait_ack("estop()", seq)

    def reset_estop(self) -> None:
        seq = self._send(LinkMsg.RESET)
        self._wait_ack("reset_estop()", seq)

    def _wait_ack(self, call: str, seq: int, timeout_s: float = 1.0) -> None:
        deadline = self._clock() + timeout_s
        with self._cond:
            while seq not in self._acks:
                left = deadline - self._clock()
                if left <= 0:
                    raise DriverTimeout(call, "TIMEOUT", "the ECU did not acknowledge")
                self._cond.wait(left)
            if not self._acks.pop(seq):
                raise CommandRejected(call, "DENIED")

    # --- telemetry ----------------------------------------------------------------------------------------
    def telemetry(self, timeout_s: float = 0.0) -> Iterator[TelemetrySample]:
        if self._thread is None:
            raise DriverError("telemetry()", "NOT_CONNECTED", "connect() first")
        return drain_samples(self._cond, self._samples, timeout_s)
