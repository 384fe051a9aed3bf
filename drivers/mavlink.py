"""The ``mavlink`` driver: agrifleet plans on ArduPilot and PX4 autopilots, over MAVLink 2 (pymavlink).

``url`` is a pymavlink connection string (``udpin:0.0.0.0:14540``, the default, where PX4-style vehicles
and ``agrifleet sim vehicle`` send; ``udpout:HOST:PORT``; ``tcp:HOST:5760``; ``/dev/ttyUSB0,57600``) or its
MAVSDK spelling (``udp://:14540``, ``tcp://HOST:PORT``, ``serial:///dev/ttyUSB0:57600``).

* ``connect`` waits for an autopilot heartbeat (component 1; ``target_system`` picks one among several),
  detects its firmware (ArduPilot or PX4, which fixes mode numbers and mission conventions) and vehicle
  type, and asks for ``AUTOPILOT_VERSION`` to check that it takes MISSION_ITEM_INT.
* ``upload`` turns the plan into mission items (:mod:`._mission_items`: decimation, speed changes,
  implement actuation where the sections change), uploads them, reads them back and compares. A plan that
  needs more items than the autopilot holds (``max_items``) is split; the driver uploads the next part and
  restarts the mission when the vehicle reports the previous one complete.
* ``start`` arms (from a hold mode, where every firmware allows it) and sends ``MISSION_START``; ``pause``
  and ``resume`` switch between the hold mode and the mission mode (both firmwares resume at the current
  item); ``abort`` switches the implement off and holds; ``return_home`` switches the implement off and
  returns to launch.
* Telemetry: one :class:`TelemetrySample` per ``GLOBAL_POSITION_INT``, positions also in the plan's local
  frame, and ``plan_index`` from ``MISSION_ITEM_REACHED`` through the seq -> sample map.
* Optional MAVLink 2 signing (``signing_key``, 64 hex digits): commands are signed; unsigned input is
  dropped. The driver sends a ground-station heartbeat at 1 Hz, which autopilots' link-loss failsafes watch.
"""
from __future__ import annotations

import collections
import logging
import math
import threading
import time
from typing import Any, Callable, Iterator


from agrifleet.core.errors import CommandRejected, ConfigError, DriverError, DriverTimeout, PlanError
from agrifleet.core.geo import LocalFrame
from agrifleet.core.implement import Implement, build_implement
from agrifleet.core.plan import Plan
from agrifleet.sim._mav_links import parse_signing_key
from agrifleet.sim._mav_modes import FlightMode, Personality
from agrifleet.sim._mav_proto import MavCmd, MsgId, ProtocolCapability

from ._mav_client import MavClient
from ._mav_state import VehicleWatch
from ._mission_items import MissionPart, items_differ, plan_to_parts
from .base import Capabilities, Driver, MissionState, TelemetrySample, drain_samples

__all__ = ["MavlinkDriver", "mavlink_url"]

logger = logging.getLogger(__name__)

MAX_ITEMS = {"ardupilot": 724, "px4": 2000}
"""Default item limits: ArduPilot on small boards (4 KiB mission storage, home included), PX4's dataman."""


def mavlink_url(url: str | None) -> str:
    """A pymavlink connection string from pymavlink or MAVSDK spelling."""
    if not url:
        return "udpin:0.0.0.0:14540"
    for scheme, prefix in (("udp://", "udpin:"), ("udpin://", "udpin:"), ("udpout://", "udpout:"),
                           ("tcp://", "tcp:"), ("tcpout://", "tcp:"), ("tcpin://", "tcpin:")):
        if url.startswith(scheme):
            rest = url[len(scheme):]
            host, _, port = rest.rpartition(":")
            if not port.isdigit():
                raise ConfigError(f"mavlink driver: url {url!r} has no port")
            return f"{prefix}{host or '0.0.0.0'}:{port}"
    if url.startswith("serial://"):
        dev, _, baud = url[len("serial://"):].rpartition(":")
        return f"{dev},{baud}" if baud.isdigit() else dev
    return url


class MavlinkDriver(VehicleWatch, Driver):
    """Drives one ArduPilot or PX4 autopilot (see the module docstring for the options' meaning)."""

    name = "mavlink"

    def __init__(self, vehicle_id: str, url: str | None = None, *, target_system: int = 0,
                 source_system: int = 254, source_component: int = 191,
                 signing_key: str | bytes | None = None,
                 implement: str | Implement | None = None, max_items: int | None = None,
                 tolerance_m: float = 0.1, acceptance_radius_m: float = 0.0, end: str = "auto",
                 origin: tuple[float, float] | None = None, verify: bool = True,
                 command_timeout_s: float = 1.0,
                 link_timeout_s: float = 3.0, clock: Callable[[], float] = time.monotonic,
                 **options: Any) -> None:
        super().__init__(vehicle_id, url, **options)
        if not 0 <= target_system <= 250:
            raise ConfigError(f"mavlink driver: target_system {target_system} must be within 1..250 "
                              "(0 = the first autopilot heard)")
        self._url = mavlink_url(url)
        self._ids = (int(source_system), int(source_component))
        self._key = parse_signing_key(signing_key)
        if isinstance(implement, str):
            implement = build_implement(implement) if implement.strip().lower() not in ("", "none") else None
        self._implement = implement
        self._max_items, self._tolerance_m, self._radius_m = max_items, tolerance_m, acceptance_radius_m
        self._end, self._origin, self._verify = end, origin, verify
        self._cmd_timeout_s, self._link_timeout_s, self._clock = command_timeout_s, link_timeout_s, clock
        self._want_system = int(target_system)
        self._client: MavClient | None = None
        self._lock = threading.RLock()                  # driver state, shared with the reader thread
        self._cond = threading.Condition(self._lock)
        self._samples: collections.deque[TelemetrySample] = collections.deque(maxlen=2000)
        self.personality: Personality | None = None
        self.vehicle_type = -1
        self.autopilot_capabilities = -1
        self._hb: Any = None
        self._hb_t = -math.inf
        self._status: dict[str, Any] = {}
        self._mission = MissionState.IDLE
        self._plan: Plan | None = None
        self._frame: LocalFrame | None = None
        self._parts: list[MissionPart] = []
        self._part = 0
        self._plan_index = -1
        self._seen_active = False
        self._reached_last = False
        self._chain_pending = False
        self._mode_since: tuple[tuple[FlightMode | None, bool], float] = ((None, False), -math.inf)

    # -- contract: identity --------------------------------------------------------------------------
    @property
    def capabilities(self) -> Capabilities:
        kinds = frozenset({"multirotor"} if self.air else {"rover", "tractor"}) if self.vehicle_type >= 0 \
            else frozenset({"multirotor", "rover", "tractor"})
        limit = self._item_limit() if self.personality else 0
        extra = {"autopilot": self.personality.name if self.personality else "",
                 "mav_type": self.vehicle_type,
                 "target_system": self._client.target_system if self._client else 0}
        return Capabilities(kinds=kinds, features=frozenset({"pause", "return_home", "split_missions"}),
                            max_mission_items=limit, extra=extra)

    def _item_limit(self) -> int:
        assert self.personality is not None
        return self._max_items or MAX_ITEMS[self.personality.name]

    # -- contract: life ------------------------------------------------------------------------------
    def connect(self, timeout_s: float = 10.0) -> None:
        if self._client is not None:
            return
        client = MavClient(self._url, source_system=self._ids[0], source_component=self._ids[1],
                           signing_key=self._key, on_message=self._on_message, clock=self._clock)
        self._client = client
        try:
            if not client.wait_idle(lambda: self.personality is not None, timeout_s):
                raise DriverTimeout("connect()", "NO_HEARTBEAT",
                                    f"no ArduPilot or PX4 autopilot heard on {self._url} in {timeout_s:g} s")
            try:
                client.command("connect()", MavCmd.REQUEST_MESSAGE, [MsgId.AUTOPILOT_VERSION],
                               timeout_s=self._cmd_timeout_s, retries=2)
                client.wait_idle(lambda: self.autopilot_capabilities >= 0, 1.0)
            except (DriverTimeout, CommandRejected) as exc:   # old firmware: carry on, MISSION_INT assumed
                logger.info("AUTOPILOT_VERSION not available (%s)", exc)
            caps = self.autopilot_capabilities
            if caps >= 0 and not caps & ProtocolCapability.MISSION_INT:
                raise DriverError("connect()", "UNSUPPORTED", "the autopilot does not take MISSION_ITEM_INT")
        except BaseException:
            self.close()
            raise
        logger.info("mavlink %s: system %d is %s, MAV_TYPE %d", self.vehicle_id, client.target_system,
                    self.personality.name, self.vehicle_type)  # type: ignore[union-attr]

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    # -- contract: commands --------------------------------------------------------------------------
    def _require(self, call: str, *allowed: MissionState) -> MavClient:
        client = self._client
        if client is None or self.personality is None:
            raise DriverError(call, "NOT_CONNECTED", "connect() first")
        client.check_alive(call, self._link_timeout_s)
        if allowed and self._mission not in allowed:
            raise CommandRejected(call, "DENIED", f"mission is {self._mission.name}")
        return client

    def _set_mode(self, call: str, mode: FlightMode) -> None:
        client = self._require(call)
        entry = self.personality.entry(mode, self.air)  # type: ignore[union-attr]
        params = self.personality.command_params(entry.custom_mode, self.armed)  # type: ignore[union-attr]
        client.command(call, MavCmd.DO_SET_MODE, params, timeout_s=self._cmd_timeout_s)
        if not client.wait_idle(lambda: self._reports_mode(entry.custom_mode), 3.0):
            raise DriverTimeout(call, "MODE", f"the vehicle did not report {entry.name} within 3 s")

    def _reports_mode(self, custom_mode: int) -> bool:
        return self._hb is not None and self._hb.custom_mode == custom_mode

    def _implement_off(self, call: str) -> None:
        impl = self._current_implement()
        if impl is None:
            return
        client = self._require(call)
        for cmd in impl.actuation_commands(impl.all_on_mask, 0):
            client.command(call, int(cmd.command), cmd.params, timeout_s=self._cmd_timeout_s)

    def _current_implement(self) -> Implement | None:
        if self._implement is not None:
            return self._implement  # type: ignore[return-value]
        spec = self._plan.implement if self._plan is not None else ""
        if not spec or spec.strip().lower() == "none":
            return None
        try:
            return build_implement(spec)
        except Exception as exc:  # a plan naming an implement that is not installed  # noqa: BLE001
            raise CommandRejected("upload()", "INVALID", f"the plan's implement {spec!r}: {exc}") from None

    def upload(self, plan: Plan, start_index: int = 0) -> None:
        call = "upload()"
        client = self._require(call, MissionState.IDLE, MissionState.PAUSED, MissionState.ABORTED,
                               MissionState.COMPLETE, MissionState.FAILED)
        with self._lock:
            previous, self._plan = self._plan, plan
        try:
            implement = self._current_implement()
            parts = plan_to_parts(plan, start_index, firmware=self.personality.name, air=self.air,  # type: ignore
                                  implement=implement, max_items=self._item_limit(),
                                  tolerance_m=self._tolerance_m,
                                  acceptance_radius_m=self._radius_m, end=self._end, origin=self._origin)
        except PlanError as exc:
            with self._lock:
                self._plan = previous
            raise CommandRejected(call, "INVALID", str(exc)) from None
        self._upload_part(client, parts[0])
        frame = plan.frame or (LocalFrame(*self._origin) if self._origin else None)
        with self._lock:
            self._frame, self._parts, self._part = frame, parts, 0
            self._plan_index, self._mission = start_index, MissionState.IDLE
            self._seen_active = self._reached_last = self._chain_pending = False
        logger.info("mavlink %s: plan of %d samples from %d uploaded as %d part(s), %d items first",
                    self.vehicle_id, len(plan), start_index, len(parts), len(parts[0].items))

    def _upload_part(self, client: MavClient, part: MissionPart) -> None:
        client.upload("upload()", part.items)
        if self._verify:
            why = items_differ(part.items, client.download("upload()"), part.first_seq)
            if why:
                raise DriverError("upload()", "VERIFY_FAILED", why)

    def start(self) -> None:
        call = "start()"
        client = self._require(call, MissionState.IDLE)
        if not self._parts:
            raise CommandRejected(call, "NO_PLAN", "upload a plan first")
        if not self.armed:
            if self._flight_mode() not in (FlightMode.HOLD, FlightMode.GUIDED, FlightMode.MANUAL):
                self._set_mode(call, FlightMode.HOLD)         # every firmware arms in its hold mode
            client.command(call, MavCmd.COMPONENT_ARM_DISARM, [1.0], timeout_s=self._cmd_timeout_s)
            if not client.wait_idle(lambda: self.armed, 3.0):
                raise DriverTimeout(call, "ARM", "the vehicle acknowledged arming but does not report armed")
        self._mission_start(call, client)

    def _mission_start(self, call: str, client: MavClient) -> None:
        part = self._parts[self._part]
        auto = self.personality.entry(FlightMode.AUTO, self.air)  # type: ignore[union-attr]
        with self._lock:
            self._seen_active = self._reached_last = False
        client.command(call, MavCmd.MISSION_START, [float(part.first_seq), 0.0],
                       timeout_s=self._cmd_timeout_s)
        if not client.wait_idle(lambda: self._reports_mode(auto.custom_mode), 3.0):
            raise DriverTimeout(call, "MODE", f"the vehicle did not switch to {auto.name}")
        with self._lock:
            self._mission = MissionState.ACTIVE

    def pause(self) -> None:
        self._require("pause()", MissionState.ACTIVE)
        self._set_mode("pause()", FlightMode.HOLD)
        with self._lock:
            self._mission = MissionState.PAUSED

    def resume(self) -> None:
        self._require("resume()", MissionState.PAUSED)
        self._set_mode("resume()", FlightMode.AUTO)     # both firmwares go on at the current item
        with self._lock:
            self._mission = MissionState.ACTIVE

    def abort(self) -> None:
        self._require("abort()")
        self._implement_off("abort()")
        if self.armed and self._flight_mode() is not FlightMode.HOLD:
            self._set_mode("abort()", FlightMode.HOLD)
        with self._lock:
            self._mission = MissionState.ABORTED

    def return_home(self) -> None:
        client = self._require("return_home()")
        self._implement_off("return_home()")
        if not self.armed:
            with self._lock:
                self._mission = MissionState.COMPLETE
            return
        client.command("return_home()", MavCmd.NAV_RETURN_TO_LAUNCH, timeout_s=self._cmd_timeout_s)
        with self._lock:
            self._mission = MissionState.RETURNING

    # -- contract: telemetry -------------------------------------------------------------------------
    def telemetry(self, timeout_s: float = 0.0) -> Iterator[TelemetrySample]:
        client = self._require("telemetry()")
        if self._chain_pending:
            self._chain_next(client)
        return drain_samples(self._cond, self._samples, timeout_s)

    def _chain_next(self, client: MavClient) -> None:
        """The vehicle finished one part of a split mission: upload the next and go on."""
        with self._lock:
            self._chain_pending = False
            self._part += 1
            part = self._parts[self._part]
        logger.info("mavlink %s: part %d of %d", self.vehicle_id, self._part + 1, len(self._parts))
        self._upload_part(client, part)
        self._mission_start("telemetry()", client)

    @property
    def mission_state(self) -> MissionState:
        return self._mission

    @property
    def plan_index(self) -> int:
        return self._plan_index

    @property
    def mission_parts(self) -> int:
        return len(self._parts)

    def __repr__(self) -> str:
        return f"MavlinkDriver({self.vehicle_id!r}, {self._url!r})"

