"""The ``sim`` driver: a simulated vehicle bound in-process, for fast trials without MAVLink or sockets.

The driver is the vehicle's controller in a :class:`~agrifleet.sim.world.World`: at every control tick the
world calls it with the vehicle's true state; it reads its simulated sensors (GNSS, heading, battery, tank)
and runs the on-board guidance of :mod:`agrifleet.core.guidance` on what they say, exactly as the software
of a real machine would. Ground vehicles follow the plan with :class:`PathFollower`; drones take off, fly it
with :class:`AirPathFollower` and land.

Two ways to bind it:

- ``SimDriver(vid, world=w, model=m)``: joins a shared world that someone else steps (a scenario runner,
  a test); commands take effect at the next control tick of that world;
- ``SimDriver(vid, spec="tractor", seed=1, real_time_factor=20)``: builds a private world with one vehicle
  and steps it in a background thread at that real-time factor (``None``: as fast as possible).

``implement="sprayer:boom_width_m=24,n_sections=8"`` (an implement spec string) gives the vehicle that
implement's sections and product rate, so its tank drains as it works; other keyword options go to the
vehicle model (``payload``, ``slip``, ``params``).

Telemetry samples are time-stamped with the injected ``clock`` (``time.monotonic`` by default; pass
``world.now`` for virtual time).
"""
from __future__ import annotations

import collections
import logging
import math
import threading
import time
from typing import Any, Callable, Iterator, Mapping

import numpy as np
from agrifleet.core.errors import CommandRejected, ConfigError, DriverError
from agrifleet.core.guidance import AirPathFollower, GuidanceParams, PathFollower
from agrifleet.core.implement import build_implement
from agrifleet.core.plan import Plan, SegmentKind, make_path
from agrifleet.core.vehicle import AirControl, GroundControl, VehicleModel, VehicleSpec, VehicleState
from agrifleet.sim.energy import payload_from_implement
from agrifleet.sim.sensors import BatterySensor, Gnss, HeadingSensor, TankSensor
from agrifleet.sim.vehicles import EXAMPLE_DRONE, EXAMPLE_ROVER, EXAMPLE_TRACTOR, model_for
from agrifleet.sim.world import World

from .base import Capabilities, Driver, GnssQuality, MissionState, TelemetrySample, drain_samples

__all__ = ["SimDriver"]

logger = logging.getLogger(__name__)

EXAMPLES = {"tractor": EXAMPLE_TRACTOR, "rover": EXAMPLE_ROVER, "multirotor": EXAMPLE_DRONE,
            "drone": EXAMPLE_DRONE}
_GNSS = {"rtk_fixed": GnssQuality.RTK_FIXED, "rtk_float": GnssQuality.RTK_FLOAT, "single": GnssQuality.SINGLE}


def _spec_from(value: VehicleSpec | Mapping[str, Any] | str) -> VehicleSpec:
    if isinstance(value, VehicleSpec):
        return value
    if isinstance(value, str):
        try:
            return EXAMPLES[value]
        except KeyError:
            raise ConfigError(f"sim driver: spec {value!r} is not one of {', '.join(EXAMPLES)}") from None
    return VehicleSpec.from_dict(value)


class SimDriver(Driver):
    """Binds one simulated vehicle in-process (see the module documentation)."""

    name = "sim"

    def __init__(self, vehicle_id: str, url: str | None = None, *, world: World | None = None,
                 model: VehicleModel | None = None, spec: VehicleSpec | Mapping[str, Any] | str = "tractor",
                 seed: int = 0, real_time_factor: float | None = 1.0, control_period_s: float = 0.1,
                 telemetry_period_s: float = 0.2, gnss: str = "rtk_fixed",
                 guidance: GuidanceParams | None = None, start_pose: tuple[float, float, float] | None = None,
                 implement: str | None = None, gnss_options: Mapping[str, Any] | None = None,
                 clock: Callable[[], float] = time.monotonic, **model_options: Any) -> None:
        super().__init__(vehicle_id, url)
        if implement is not None and "payload" not in model_options:
            # the implement's sections and product rate drive the tank (and the drone's mass)
            model_options["payload"] = payload_from_implement(build_implement(implement))
        if gnss not in _GNSS:
            raise ConfigError(f"sim driver: gnss {gnss!r} is not one of {', '.join(_GNSS)}")
        if not telemetry_period_s > 0:
            raise ConfigError(f"sim driver: telemetry_period_s = {telemetry_period_s!r} must be > 0")
        self._world = world
        self._own_world = world is None
        self._model = model
        self._spec = model.spec if model is not None else _spec_from(spec)
        self._seed = seed
        self._rtf = real_time_factor
        self._control_period_s = control_period_s
        self._telemetry_period_s = telemetry_period_s
        self._gnss_quality = _GNSS[gnss]
        self._gnss_options = dict(gnss_options or {})  # outages, outage_rate_per_h, reconverge_s, ...
        self._guidance_params = guidance
        self._start_pose = start_pose
        self._model_options = model_options
        self._clock = clock
        self._cond = threading.Condition()
        self._samples: collections.deque[TelemetrySample] = collections.deque(maxlen=10_000)
        self._connected = False
        self._mission = MissionState.IDLE
        self._plan: Plan | None = None
        self._start_index = 0
        self._follower: PathFollower | AirPathFollower | None = None
        self._plan_index = -1
        self._home: tuple[float, float] = (0.0, 0.0)
        self._air_phase = "ground"
        self._next_telemetry_t = -math.inf
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # --- lifecycle ----------------------------------------------------------------------------------------
    @property
    def capabilities(self) -> Capabilities:
        spec = self._spec
        features = set(spec.capabilities) | {"pause", "resume", "return_home"}
        if spec.reverse_allowed:
            features.add("reverse")
        return Capabilities(kinds=frozenset({spec.kind.value}), features=frozenset(features),
                            extra={"simulated": True})

    @property
    def spec(self) -> VehicleSpec:
        """The simulated vehicle's spec (the agent sends it in its hello, for assignment by capability)."""
        return self._spec

    @property
    def world(self) -> World:
        if self._world is None:
            raise DriverError("world", "NOT_CONNECTED", "connect() first")
        return self._world

    @property
    def gnss(self) -> Gnss:
        """The vehicle's GNSS receiver; a scenario degrades it (``quality``, ``outages``) to inject faults."""
        if not self._connected:
            raise DriverError("gnss", "NOT_CONNECTED", "connect() first")
        return self._gnss

    @property
    def model(self) -> VehicleModel:
        if self._model is None:
            raise DriverError("model", "NOT_CONNECTED", "connect() first")
        return self._model

    def connect(self, timeout_s: float = 10.0) -> None:
        if self._connected:
            return
        if self._world is None:
            self._world = World(rng=np.random.default_rng(self._seed))
        world = self._world
        with world.lock:
            # Everything that can fail on a bad option is built before the vehicle joins the world.
            rng = world.spawn_rng()
            try:
                gnss = Gnss(rng, self._gnss_quality, frame=world.frame, **self._gnss_options)
            except TypeError as exc:
                raise ConfigError(f"sim driver: bad gnss option ({exc})") from None
            if self._model is None:
                if self.vehicle_id in world.vehicles:
                    self._model = world.model(self.vehicle_id)
                else:
                    self._model = model_for(self._spec, **self._model_options)
            model = self._model
            if self._start_pose is not None:
                model.place(*self._start_pose, env=world)
            self._gnss = gnss
            self._heading = HeadingSensor(rng, gnss=gnss)
            self._battery = BatterySensor(rng, self._spec)
            self._tank = TankSensor(rng, self._spec)
            if self.vehicle_id not in world.vehicles:
                world.add_vehicle(self.vehicle_id, model)
            world.set_controller(self.vehicle_id, self._control, self._control_period_s)
            self._home = (model.state.x, model.state.y)
            self._connected = True
        if self._own_world:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run_world, name=f"sim-{self.vehicle_id}",
                                            daemon=True)
            self._thread.start()
        logger.info("sim driver %s connected (%s)", self.vehicle_id, self._spec.kind.value)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
        if self._connected and self._world is not None:
            with self._world.lock:
                self._world.set_controller(self.vehicle_id, None)
                self._world.set_control(self.vehicle_id, self._hold_control())
        self._connected = False

    def _run_world(self) -> None:
        world = self.world
        while not self._stop.is_set():
            world.run(0.1, real_time_factor=self._rtf)

    # --- commands -----------------------------------------------------------------------------------------
    def _require(self, call: str, *allowed: MissionState) -> None:
        if not self._connected:
            raise DriverError(call, "NOT_CONNECTED", "connect() first")
        if allowed and self._mission not in allowed:
            raise CommandRejected(call, "DENIED", f"mission is {self._mission.name}")

    def upload(self, plan: Plan, start_index: int = 0) -> None:
        with self.world.lock:
            self._require("upload()", MissionState.IDLE, MissionState.PAUSED, MissionState.ABORTED,
                          MissionState.COMPLETE, MissionState.FAILED)
            if len(plan) < 2 or not 0 <= start_index < len(plan) - 1:
                raise CommandRejected("upload()", "INVALID", f"plan of {len(plan)} samples cannot start at "
                                                             f"{start_index}")
            self._plan, self._start_index = plan, start_index
            self._follower = self._make_follower(plan, start_index)
            self._plan_index = start_index
            self._mission = MissionState.IDLE

    def _make_follower(self, plan: Plan, start_index: int) -> PathFollower | AirPathFollower:
        spec = self._spec
        if spec.kind.is_ground:
            params = self._guidance_params or GuidanceParams(
                implement_lag_m=spec.hitch_offset_m + spec.implement_offset_m)
            return PathFollower(plan, spec.wheelbase_m, spec.max_steer_rad, params, start_index)
        height = self._spec.cruise_alt_m if self._spec.cruise_alt_m > 0 else 3.0
        return AirPathFollower(plan, self._guidance_params, start_index, default_height_m=height)

    def start(self) -> None:
        with self.world.lock:
            self._require("start()", MissionState.IDLE)
            if self._follower is None:
                raise CommandRejected("start()", "NO_PLAN", "upload a plan first")
            if not self.model.arm():
                raise CommandRejected("start()", "ARM_DENIED", "the vehicle refused to arm")
            self._air_phase = "takeoff" if not self._spec.kind.is_ground else "ground"
            self._mission = MissionState.ACTIVE

    def pause(self) -> None:
        with self.world.lock:
            self._require("pause()", MissionState.ACTIVE)
            self._mission = MissionState.PAUSED

    def resume(self) -> None:
        with self.world.lock:
            self._require("resume()", MissionState.PAUSED)
            self._mission = MissionState.ACTIVE

    def abort(self) -> None:
        with self.world.lock:
            self._require("abort()")
            self._mission = MissionState.ABORTED

    def return_home(self) -> None:
        with self.world.lock:
            self._require("return_home()")
            s = self.model.state
            hx, hy = self._home
            if math.hypot(hx - s.x, hy - s.y) < 0.5:
                self._mission = MissionState.COMPLETE
                return
            z = max(self._spec.cruise_alt_m, 5.0) if not self._spec.kind.is_ground else 0.0
            speed = self._spec.transit_speed_mps
            path = make_path([(s.x, s.y), (hx, hy)], kind=SegmentKind.SERVICE, speed_mps=speed, z_m=z)
            home_plan = Plan(path)
            self._follower = self._make_follower(home_plan, 0)
            if not self._spec.kind.is_ground:
                self._air_phase = "takeoff" if s.landed else "follow"
                self.model.arm()
            self._mission = MissionState.RETURNING

    # --- telemetry ----------------------------------------------------------------------------------------
    def telemetry(self, timeout_s: float = 0.0) -> Iterator[TelemetrySample]:
        if not self._connected:
            raise DriverError("telemetry()", "NOT_CONNECTED", "connect() first")
        return drain_samples(self._cond, self._samples, timeout_s)

    @property
    def mission_state(self) -> MissionState:
        return self._mission

    # --- the controller the world calls -------------------------------------------------------------------
    def _hold_control(self) -> GroundControl | AirControl:
        return GroundControl() if self._spec.kind.is_ground else AirControl()

    def _control(self, t_s: float, state: VehicleState) -> GroundControl | AirControl:
        fix = self._gnss.read(state)
        heading = self._heading.read(state)
        if self._mission in (MissionState.ACTIVE, MissionState.RETURNING) and self._follower is not None:
            control = (self._ground(fix, heading, state) if self._spec.kind.is_ground
                       else self._air(fix, state))
        else:
            control = self._hold(state)
        if t_s >= self._next_telemetry_t:
            self._next_telemetry_t = t_s + self._telemetry_period_s - 1e-9
            self._emit(fix, heading, state)
        return control

    def _hold(self, state: VehicleState) -> GroundControl | AirControl:
        if self._spec.kind.is_ground:
            return GroundControl(steer_rad=state.steer_rad)
        return AirControl()  # hover in place (or stay on the ground)

    def _ground(self, fix: Any, heading: float, state: VehicleState) -> GroundControl:
        if not fix.valid or math.isnan(heading):
            return GroundControl(steer_rad=state.steer_rad)  # no position: stop and wait for the fix
        f = self._follower
        assert isinstance(f, PathFollower)
        cmd = f.update(fix.x, fix.y, heading, fix.speed_mps if state.speed_mps >= 0 else -fix.speed_mps)
        if self._mission is MissionState.ACTIVE:
            self._plan_index = cmd.plan_index
        if cmd.done and abs(state.speed_mps) < 0.05:
            self._finish()
        return GroundControl(cmd.steer_rad, cmd.speed_mps, cmd.sections)

    def _air(self, fix: Any, state: VehicleState) -> AirControl:
        f = self._follower
        assert isinstance(f, AirPathFollower)
        ground = self.world.height_at(state.x, state.y)
        if self._air_phase == "takeoff":
            z_plan = f.track.zs[f.track.i]
            target = ground + (z_plan if z_plan > 0 else f.default_height_m)
            if state.z >= target - 0.3:
                self._air_phase = "follow"
            return AirControl(vz_mps=min(2.0, max(0.5, target - state.z)))
        if self._air_phase == "land":
            if state.landed:
                self.model.disarm()
                self._finish()
            return AirControl(vz_mps=-1.0)
        if not fix.valid:
            return AirControl()  # hover until the fix returns
        cmd = f.update(fix.x, fix.y, fix.z, fix.speed_mps, ground)
        if self._mission is MissionState.ACTIVE:
            self._plan_index = cmd.plan_index
        if cmd.done:
            self._air_phase = "land"
            return AirControl()
        return AirControl(cmd.vx_mps, cmd.vy_mps, cmd.vz_mps, cmd.yaw_rad, cmd.sections)

    def _finish(self) -> None:
        if self._mission is MissionState.ACTIVE:
            self._mission = MissionState.COMPLETE
            self._plan_index = len(self._plan) - 1 if self._plan is not None else self._plan_index
        elif self._mission is MissionState.RETURNING:
            self._mission = MissionState.COMPLETE
        self._follower = None

    def _emit(self, fix: Any, heading: float, state: VehicleState) -> None:
        sample = TelemetrySample(
            t_mono_s=self._clock(), x=fix.x, y=fix.y, z=fix.z - self.world.height_at(state.x, state.y),
            lat_deg=fix.lat_deg, lon_deg=fix.lon_deg, heading_rad=heading, speed_mps=fix.speed_mps,
            battery_pct=self._battery.read(state), tank_l=self._tank.read(state),
            mode=self._mission.name.lower(), armed=state.armed, gnss=fix.quality, mission=self._mission,
            plan_index=self._plan_index, sections=state.sections)
        with self._cond:
            self._samples.append(sample)
            self._cond.notify_all()
