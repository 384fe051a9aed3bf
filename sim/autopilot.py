"""A simulated flight controller that speaks real MAVLink 2, with ArduPilot and PX4 personalities.

:class:`SimAutopilot` sits on a vehicle model in a :class:`~agrifleet.sim.world.World` as that vehicle's
controller: at every control tick it reads its GNSS, checks its failsafes, runs the mode it is in (the
mission, a hold, a return to launch, a landing) and hands the model an ``AirControl`` or ``GroundControl``;
between ticks it answers whatever arrives on its MAVLink links. Ground stations fly it as they fly ArduPilot
or PX4: heartbeat and health, home and version on request, the mission protocol, commands with addressed
acknowledgements, mission progress, parameters, failsafes and optional MAVLink 2 signing (see
``../shared/MAVLINK_NOTES.md`` for what each of those must look like on the wire).

Everything the vehicle does runs on the world's simulated clock (telemetry rates, failsafe timers, hold
times), so at ``speed_factor`` K the vehicle lives K times faster than the ground station; only the
protocol timers of the mission exchange run on the wall clock. :class:`~agrifleet.sim._mav_runner.Runner`
paces the world and serves the sockets.

Parts: :mod:`._mav_proto` (wire constants), :mod:`._mav_modes` (personalities), :mod:`._mav_params`,
:mod:`._mav_mission` (mission protocol), :mod:`._mav_nav` (mission execution), :mod:`._mav_guidance`
(motions), :mod:`._mav_failsafe`, :mod:`._mav_outputs` (implement outputs), :mod:`._mav_telemetry`,
:mod:`._mav_commands` (command handlers), :mod:`._mav_links`.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from agrifleet.core.errors import ConfigError
from agrifleet.core.implement import Implement
from agrifleet.core.vehicle import AirControl, GroundControl, VehicleModel
from agrifleet.drivers.base import GnssQuality

from ._mav_commands import handle_command
from ._mav_control import ModeControl
from ._mav_failsafe import Failsafes
from ._mav_guidance import Chain, Climb, Estimate, Hold, Land, Motion, PathMotion
from ._mav_links import Link, parse_signing_key
from ._mav_mission import MissionItem, MissionServer
from ._mav_modes import FlightMode, ModeEntry, Personality, personality
from ._mav_nav import MissionExecutor
from ._mav_outputs import Outputs
from ._mav_params import ParamService, ParamStore, param_table
from ._mav_proto import (COMP_AUTOPILOT, RELATIVE_FRAMES, MavMissionResult, MavMissionType, MavSeverity,
                         MavType, MissionState, MsgId, load_mavutil)
from ._mav_runner import Runner, RunStats
from ._mav_status import StatusMixin
from ._mav_telemetry import BUILDERS, CAPABILITIES_COMMON, Streams
from .sensors import Gnss
from .world import World

__all__ = ["AutopilotConfig", "Link", "RunStats", "Runner", "SimAutopilot", "parse_signing_key"]

logger = logging.getLogger(__name__)

FIX_TYPE = {GnssQuality.NONE: 1, GnssQuality.SINGLE: 3, GnssQuality.DGPS: 4, GnssQuality.RTK_FLOAT: 5,
            GnssQuality.RTK_FIXED: 6}
SW_VERSION = {"ardupilot": (4 << 24) | (5 << 16) | (7 << 8) | 255, "px4": (1 << 24) | (15 << 16) | 255}


@dataclass(frozen=True, slots=True)
class AutopilotConfig:
    """Who the simulated autopilot is and where it starts. ``home_alt_m`` is above mean sea level."""

    autopilot: str = "px4"
    home_lat_deg: float = 52.0
    home_lon_deg: float = 5.0
    home_alt_m: float = 0.0
    sysid: int = 1
    control_period_s: float = 0.05
    signing_key: bytes | None = None
    rates_hz: Mapping[int, float] | None = None
    params: Mapping[str, float] = field(default_factory=dict)   # initial parameter values

    def __post_init__(self) -> None:
        personality(self.autopilot)       # raises on an unknown name
        if not (math.isfinite(self.home_lat_deg) and -90 < self.home_lat_deg < 90):
            raise ConfigError(f"autopilot: home latitude {self.home_lat_deg!r} is not within (-90, 90)")
        if not (math.isfinite(self.home_lon_deg) and -180 <= self.home_lon_deg <= 180):
            raise ConfigError(f"autopilot: home longitude {self.home_lon_deg!r} is not within [-180, 180]")
        if not math.isfinite(self.home_alt_m):
            raise ConfigError(f"autopilot: home altitude {self.home_alt_m!r} is not a number")
        if not 1 <= self.sysid <= 250:
            raise ConfigError(f"autopilot: sysid {self.sysid} must be within 1..250 "
                              "(255 is a ground station's)")
        if not (math.isfinite(self.control_period_s) and 0 < self.control_period_s <= 0.5):
            raise ConfigError(f"autopilot: control_period_s = {self.control_period_s!r} must be in (0, 0.5]")
        if self.signing_key is not None and len(self.signing_key) != 32:
            raise ConfigError("autopilot: a MAVLink 2 signing key has exactly 32 bytes")


class SimAutopilot(ModeControl, StatusMixin):
    """The flight controller of one simulated vehicle (a :class:`~agrifleet.sim.world.Controller`)."""

    def __init__(self, world: World, vehicle_id: str, model: VehicleModel, config: AutopilotConfig, *,
                 links: Sequence[Link] = (), gnss: Gnss | None = None, implement: Implement | None = None,
                 wall_clock: Callable[[], float] = time.monotonic) -> None:
        if world.frame is None:
            raise ConfigError("autopilot: the world needs a local frame (LocalFrame) to report positions")
        self.world, self.vehicle_id, self.model, self.config = world, vehicle_id, model, config
        self.spec = model.spec
        self.air = not self.spec.kind.is_ground
        self.personality: Personality = personality(config.autopilot)
        self.sysid = config.sysid
        self.mav_type = int(MavType.QUADROTOR if self.air else MavType.GROUND_ROVER)
        self.autopilot_type = int(self.personality.autopilot)
        self.capabilities = int(CAPABILITIES_COMMON) | (16 if self.personality.param_bytewise else 4096)
        self.sw_version = SW_VERSION[self.personality.name]
        self.frame = world.frame
        self.links = list(links)
        self._wall = wall_clock
        mavutil = load_mavutil()
        self.enc = mavutil.mavlink.MAVLink(None, srcSystem=self.sysid, srcComponent=COMP_AUTOPILOT)
        self._reply_link: Link | None = None

        home_xy = self.frame.to_local(np.array([config.home_lon_deg, config.home_lat_deg]))
        model.place(float(home_xy[0]), float(home_xy[1]), 0.0, world)  # type: ignore[attr-defined]
        self.home_xyz = (float(home_xy[0]), float(home_xy[1]), model.state.z)
        self.home_lat_lon_alt = (config.home_lat_deg, config.home_lon_deg, config.home_alt_m)
        self.gnss = gnss if gnss is not None else Gnss(world.spawn_rng(), GnssQuality.RTK_FIXED)
        self._fix_xyz = (model.state.x, model.state.y, model.state.z)
        self._truth_at_fix = self._fix_xyz
        self.fix_type, self.satellites = FIX_TYPE[GnssQuality.RTK_FIXED], 24
        self.t_boot_s = world.t_s

        table = param_table(self.personality.name, self.air, self.sysid, self.spec.battery_wh,
                            self.spec.work_speed_mps)
        self.params = ParamStore(table, self.personality.param_bytewise, on_change=self._param_changed)
        for name, value in config.params.items():
            try:
                self.params.set(name, float(value))
            except ValueError as exc:
                raise ConfigError(f"autopilot {vehicle_id}: {exc}") from None
        self.param_service = ParamService(self.params, self.enc, self._reply)
        self.speed_mps = self.params.setting("cruise_speed_mps", self.spec.work_speed_mps)
        self.outputs = Outputs.for_implement(implement, self.air)
        self.failsafes = Failsafes(lambda: world.t_s, wall_clock)
        self.executor = MissionExecutor(self.spec, self.personality.mission_offset(), self, lambda: world.t_s)
        self.mission = MissionServer(
            sysid=self.sysid, compid=COMP_AUTOPILOT, encoder=self.enc, send=self._reply,
            commit=self._commit_mission, set_current=self.executor.set_current,
            home_item=self._home_item if self.personality.home_is_seq0 else None,
            max_items=self.personality.max_mission_items, wall_clock=wall_clock)
        self.rally_xy: list[tuple[float, float]] = []
        self.streams = Streams(world.t_s, dict(config.rates_hz) if config.rates_hz else None)
        self.mode: ModeEntry = self.personality.entry(FlightMode.HOLD, self.air)
        self.behaviour = FlightMode.HOLD
        self._motion: Motion | None = None
        self._active_motion: Motion | None = None
        self._paused = False          # DO_PAUSE_CONTINUE inside AUTO
        self._est = self._estimate()
        self._mission_report = (self.executor.seq, 0, MissionState.NO_MISSION, 2)
        self.messages_handled = 0
        for link in self.links:
            if config.signing_key is not None:
                link.set_signing(config.signing_key)
        world.add_vehicle(vehicle_id, model, self, control_period_s=config.control_period_s)

    # -- clock and estimate --------------------------------------------------------------------------
    @property
    def t_s(self) -> float:
        return self.world.t_s

    @property
    def boot_ms(self) -> int:
        return int((self.world.t_s - self.t_boot_s) * 1000) & 0xFFFFFFFF

    def _estimate(self) -> Estimate:
        s = self.model.state
        fix = self.gnss.read(s)
        if fix.valid:
            self._fix_xyz = (fix.x, fix.y, fix.z)
            self._truth_at_fix = (s.x, s.y, s.z)
            x, y, z = self._fix_xyz
        else:   # an ideal inertial system bridges the outage from the last fix
            fx, fy, fz = self._fix_xyz
            tx, ty, tz = self._truth_at_fix
            x, y, z = fx + s.x - tx, fy + s.y - ty, fz + s.z - tz
        self.fix_type = FIX_TYPE.get(fix.quality, 1)
        self.satellites = 0 if not fix.valid else (24 if fix.quality >= GnssQuality.RTK_FLOAT else 14)
        lon, lat = self.frame.point_to_wgs84(x, y)
        self._lat_lon_e7 = (int(round(lat * 1e7)), int(round(lon * 1e7)))
        return Estimate(x, y, z - self.home_xyz[2], s.heading_rad, s.speed_mps, s.vx, s.vy, s.vz, s.landed)

    # -- sending -------------------------------------------------------------------------------------
    def send(self, msg: Any) -> None:
        """Send on every link."""
        for link in self.links:
            link.send(msg)

    def _reply(self, msg: Any) -> None:
        """Send on the link the message being handled came from (all links outside a handler)."""
        if self._reply_link is not None:
            self._reply_link.send(msg)
        else:
            self.send(msg)

    def statustext(self, severity: MavSeverity, text: str) -> None:
        logger.info("%s: %s", self.vehicle_id, text)
        self.send(self.enc.statustext_encode(int(severity), text[:50].encode("ascii", "replace")))

    def send_message(self, msg_id: int, reply: bool = False) -> bool:
        builder = BUILDERS.get(msg_id)
        if builder is None:
            return False
        msg = builder(self, self.enc)
        self._reply(msg) if reply else self.send(msg)
        return True

    # -- receiving -----------------------------------------------------------------------------------
    def service(self, link: Link) -> int:
        """Handle everything waiting on ``link``; returns the number of messages handled."""
        msgs = link.receive()
        for msg in msgs:
            self.handle(msg, link)
        return len(msgs)

    def handle(self, msg: Any, link: Link | None = None) -> None:
        """One received message. A malformed or unexpected message is logged and dropped, never raised."""
        self._reply_link = link
        try:
            self._dispatch(msg)
        except Exception:   # a hostile peer must never take the vehicle down  # noqa: BLE001
            logger.exception("%s: error handling %s", self.vehicle_id, msg.get_type())
        finally:
            self._reply_link = None
        self.messages_handled += 1
        self._report_mission()        # a command or an upload may have changed the mission state

    def _dispatch(self, msg: Any) -> None:
        kind = msg.get_type()
        if kind == "HEARTBEAT":
            if msg.type == MavType.GCS:
                self.failsafes.gcs_alive()
            return
        if kind in ("COMMAND_LONG", "COMMAND_INT"):
            handle_command(self, msg)
            return
        if self.mission.handle(msg) or self.param_service.handle(msg):
            return
        if kind == "SET_MODE" and msg.target_system == self.sysid:
            entry = self.personality.decode(msg.custom_mode, self.air)
            if entry is not None:
                self.set_mode(entry, "SET_MODE")
        elif kind == "SETUP_SIGNING" and msg.target_system in (0, self.sysid):
            key = bytes(msg.secret_key)
            for link in self.links:
                link.set_signing(key if any(key) else None)
            self.statustext(MavSeverity.NOTICE, "Signing " + ("enabled" if any(key) else "disabled"))

    def tick_protocol(self) -> None:
        """Wall-clock protocol timers (mission upload re-requests)."""
        self.mission.tick()

    # -- the control loop (World.Controller) ---------------------------------------------------------
    def __call__(self, t_s: float, state: Any) -> AirControl | GroundControl:
        self._est = est = self._estimate()
        for event in self.failsafes.check(armed=self.armed, landed=state.landed, air=self.air,
                                          battery_frac=self.battery_frac, x=est.x, y=est.y, height_m=est.z,
                                          home_xy=self.home_xyz[:2], setting=self.params.setting):
            self._failsafe(event)
        control = self._control(est)
        if self.air and self.armed and state.landed and self.behaviour in (FlightMode.LAND, FlightMode.RTL) \
                and self._motion is not None and self._motion.done:
            self.disarm(force=False, reason="landed")
        for msg_id in self.streams.due(t_s):
            self.send_message(msg_id)
        self._report_mission()
        return control

    def _control(self, est: Estimate) -> AirControl | GroundControl:
        sections = self.outputs.sections
        if not self.armed:
            self._active_motion = None
            return AirControl() if self.air else GroundControl()
        if self.behaviour is FlightMode.AUTO and not self._paused:
            motion = self.executor.update(est)
        else:
            if self._motion is None:
                self._motion = Hold(self.air, est.x, est.y, est.z)
            motion = self._motion
            if self.behaviour is FlightMode.TAKEOFF and motion.done:   # PX4 holds after take-off
                if self.personality.name == "px4":
                    self.set_flight_mode(FlightMode.HOLD, "take-off complete")
                else:
                    self.behaviour = FlightMode.GUIDED                       # the climb goes on holding
        self._active_motion = motion
        return motion.control(est, sections)

    def _report_mission(self) -> None:
        report = self.mission_report
        if report[:3] != self._mission_report[:3]:
            self._mission_report = report
            self.send_message(MsgId.MISSION_CURRENT)

    # -- executor hooks (MissionHooks) -----------------------------------------------------------------
    def setting(self, key: str, default: float = math.nan) -> float:
        return self.params.setting(key, default)

    def item_xyz(self, item: MissionItem) -> tuple[float, float, float] | None:
        if not item.has_position:
            return None
        x, y = self.frame.point_to_local(item.lon_deg, item.lat_deg)
        z = item.z if item.frame in RELATIVE_FRAMES else item.z - self.home_lat_lon_alt[2]
        return x, y, (float(z) if math.isfinite(z) else math.nan)

    def reached(self, seq: int) -> None:
        self.send(self.enc.mission_item_reached_encode(seq))

    def current_changed(self, seq: int) -> None:
        self._report_mission()

    def do_command(self, item: MissionItem) -> None:
        from ._mav_commands import do_item
        do_item(self, item.command, (item.param1, item.param2, item.param3, item.param4,
                                     item.lat_deg, item.lon_deg, item.z))

    def return_motion(self) -> Motion:
        hx, hy = self.rtl_target()
        if not self.air:
            return PathMotion(self.spec, self._est, np.array([[hx, hy, 0.0]]), [self.speed_mps])
        rtl_alt = self.setting("rtl_alt_m", 15.0)
        climb = self.setting("climb_speed_mps", 2.5)
        land = self.setting("land_speed_mps", 0.7)
        return Chain(lambda e: Climb(e.x, e.y, max(e.z, rtl_alt), climb),
                     lambda e: PathMotion(self.spec, e, np.array([[hx, hy, e.z]]), [self.speed_mps]),
                     lambda e: Land(hx, hy, land))

    def landed_in_mission(self) -> None:
        self._report_mission()           # the mission's end goes out before the disarmed heartbeat
        self.disarm(force=False, reason="landed")

    def rtl_target(self) -> tuple[float, float]:
        """Home, or the nearest rally point (ArduPilot's rule)."""
        cands = [self.home_xyz[:2]] + self.rally_xy
        ex, ey = self._est.x, self._est.y
        return min(cands, key=lambda p: math.hypot(p[0] - ex, p[1] - ey))

    # -- mission storage -----------------------------------------------------------------------------
    def _home_item(self) -> MissionItem:
        lat, lon, alt = self.home_lat_lon_alt
        return MissionItem(0, 0, 16, 0, 1, 0.0, 0.0, 0.0, 0.0, int(round(lat * 1e7)), int(round(lon * 1e7)),
                           float(alt))

    def _commit_mission(self, mission_type: int, items: tuple[MissionItem, ...]) -> MavMissionResult:
        if mission_type == MavMissionType.MISSION:
            self.executor.load(items)
            if self.behaviour is FlightMode.AUTO and self.executor.total == 0:
                self.set_flight_mode(FlightMode.HOLD, "mission cleared")
        elif mission_type == MavMissionType.FENCE:
            self.failsafes.fence.load(items, self.item_xyz)
        elif mission_type == MavMissionType.RALLY:
            self.rally_xy = [xyz[:2] for xyz in map(self.item_xyz, items) if xyz is not None]
        return MavMissionResult.ACCEPTED

    def _param_changed(self, name: str, value: float) -> None:
        if self.params.drives(name) == "cruise_speed_mps":     # a new cruise speed applies at once
            self.speed_mps = self.params.setting("cruise_speed_mps")

    def close(self) -> None:
        for link in self.links:
            link.close()
        self.world.remove_vehicle(self.vehicle_id)
