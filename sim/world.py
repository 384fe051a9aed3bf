"""The simulated world: a fixed-step virtual clock, terrain, wind, fields, and the vehicles in it.

The world holds state and steps time; dynamics live in :mod:`agrifleet.sim.vehicles` and observations in
:mod:`agrifleet.sim.sensors` (the HighwayEnv split: ``act`` then ``step``). Physics runs at ``dt_s``; each
vehicle's controller (on-board guidance, a simulated autopilot, a driver) runs at its own, slower control
period, a whole multiple of ``dt_s``, exactly as a real controller samples a faster physical process.

Everything random draws from the one injected :class:`numpy.random.Generator`, and vehicles step in the
order they were added, so one seed reproduces a run bit for bit. Time is virtual: :meth:`World.run` steps
as fast as possible, or paced against an injected wall clock at a set real-time factor.

The world is also the *environment* the vehicle models see (:class:`Environment`): wind, terrain height
and slope at a point. Models accept any object with that shape; :data:`CALM` is a calm, flat one for
physics tests that need no world.
"""
from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Protocol

import numpy as np
import shapely
from agrifleet.core.errors import ConfigError
from agrifleet.core.field import Field
from agrifleet.core.geo import LocalFrame
from agrifleet.core.vehicle import AirControl, GroundControl, VehicleModel, VehicleState
from shapely.geometry import Polygon

__all__ = ["CALM", "Calm", "Controller", "Environment", "FlatTerrain", "HeightMap", "Terrain", "Wind",
           "World", "WorldEvent", "GRAVITY_MPS2", "AIR_DENSITY_KG_M3"]

logger = logging.getLogger(__name__)

GRAVITY_MPS2 = 9.80665
AIR_DENSITY_KG_M3 = 1.225


class Environment(Protocol):
    """What a vehicle model may ask of its surroundings. Wind is the velocity of the air (ENU, m/s)."""

    gravity_mps2: float
    air_density_kg_m3: float

    def wind_at(self, x: float, y: float, z: float) -> tuple[float, float, float]: ...

    def height_at(self, x: float, y: float) -> float: ...

    def gradient_at(self, x: float, y: float) -> tuple[float, float]: ...


class Terrain(Protocol):
    def height_at(self, x: float, y: float) -> float: ...

    def gradient_at(self, x: float, y: float) -> tuple[float, float]: ...


@dataclass(frozen=True, slots=True)
class FlatTerrain:
    """Level ground at ``height_m``: the default."""

    height_m: float = 0.0

    def height_at(self, x: float, y: float) -> float:
        return self.height_m

    def gradient_at(self, x: float, y: float) -> tuple[float, float]:
        return (0.0, 0.0)


@dataclass(frozen=True, slots=True)
class HeightMap:
    """A regular grid of ground heights, bilinearly interpolated; clamped to its edge values outside.

    ``heights_m[j, i]`` is the height at ``(origin_x + i * cell_m, origin_y + j * cell_m)`` (row = north).
    The gradient is that of the bilinear surface, so height and slope agree with each other.
    """

    heights_m: np.ndarray
    origin_xy: tuple[float, float] = (0.0, 0.0)
    cell_m: float = 1.0

    def __post_init__(self) -> None:
        h = np.asarray(self.heights_m, dtype=float)
        if h.ndim != 2 or h.shape[0] < 2 or h.shape[1] < 2:
            raise ConfigError(f"height map: heights_m must be a 2-D grid, at least 2x2, not {h.shape}")
        if not np.isfinite(h).all():
            raise ConfigError("height map: heights_m holds non-finite values")
        if not (math.isfinite(self.cell_m) and self.cell_m > 0):
            raise ConfigError(f"height map: cell_m = {self.cell_m!r} must be > 0")
        object.__setattr__(self, "heights_m", h)

    def _cell(self, x: float, y: float) -> tuple[int, int, float, float, bool, bool]:
        ny, nx = self.heights_m.shape
        u = (x - self.origin_xy[0]) / self.cell_m
        v = (y - self.origin_xy[1]) / self.cell_m
        inside_u = 0.0 <= u <= nx - 1
        inside_v = 0.0 <= v <= ny - 1
        u = min(max(u, 0.0), nx - 1.0)
        v = min(max(v, 0.0), ny - 1.0)
        i = min(int(u), nx - 2)
        j = min(int(v), ny - 2)
        return i, j, u - i, v - j, inside_u, inside_v

    def height_at(self, x: float, y: float) -> float:
        i, j, fu, fv, _, _ = self._cell(x, y)
        h = self.heights_m
        return float((1 - fu) * (1 - fv) * h[j, i] + fu * (1 - fv) * h[j, i + 1]
                     + (1 - fu) * fv * h[j + 1, i] + fu * fv * h[j + 1, i + 1])

    def gradient_at(self, x: float, y: float) -> tuple[float, float]:
        i, j, fu, fv, inside_u, inside_v = self._cell(x, y)
        h = self.heights_m
        gx = ((1 - fv) * (h[j, i + 1] - h[j, i]) + fv * (h[j + 1, i + 1] - h[j + 1, i])) / self.cell_m
        gy = ((1 - fu) * (h[j + 1, i] - h[j, i]) + fu * (h[j + 1, i + 1] - h[j, i + 1])) / self.cell_m
        return (float(gx) if inside_u else 0.0, float(gy) if inside_v else 0.0)


@dataclass(frozen=True, slots=True)
class Wind:
    """Mean wind plus gusts: each axis a first-order Gauss-Markov process (std ``gust_sigma_mps``,
    correlation time ``gust_tau_s``), the usual low-order stand-in for a Dryden spectrum. Uniform in space."""

    mean_mps: tuple[float, float, float] = (0.0, 0.0, 0.0)
    gust_sigma_mps: float = 0.0
    gust_tau_s: float = 5.0
    vertical_fraction: float = 0.3  # vertical gust std as a fraction of the horizontal one

    def __post_init__(self) -> None:
        mean = tuple(float(v) for v in self.mean_mps)
        if len(mean) == 2:
            mean = (*mean, 0.0)
        if len(mean) != 3 or not all(math.isfinite(v) for v in mean):
            raise ConfigError(f"wind: mean_mps = {self.mean_mps!r} must be 2 or 3 finite numbers")
        object.__setattr__(self, "mean_mps", mean)
        if not (math.isfinite(self.gust_sigma_mps) and self.gust_sigma_mps >= 0):
            raise ConfigError(f"wind: gust_sigma_mps = {self.gust_sigma_mps!r} must be >= 0")
        if not (math.isfinite(self.gust_tau_s) and self.gust_tau_s > 0):
            raise ConfigError(f"wind: gust_tau_s = {self.gust_tau_s!r} must be > 0")
        if not (math.isfinite(self.vertical_fraction) and self.vertical_fraction >= 0):
            raise ConfigError(f"wind: vertical_fraction = {self.vertical_fraction!r} must be >= 0")

    @classmethod
    def from_speed(cls, speed_mps: float, towards_deg: float, gust_sigma_mps: float = 0.0,
                   gust_tau_s: float = 5.0) -> "Wind":
        """Wind of ``speed_mps`` blowing *towards* ``towards_deg`` (CCW from east)."""
        a = math.radians(towards_deg)
        return cls((speed_mps * math.cos(a), speed_mps * math.sin(a), 0.0), gust_sigma_mps, gust_tau_s)


@dataclass(slots=True)
class Calm:
    """A stand-alone environment: constant wind over flat (or given) terrain, for tests without a world."""

    wind_mps: tuple[float, float, float] = (0.0, 0.0, 0.0)
    terrain: Terrain = field(default_factory=FlatTerrain)
    gravity_mps2: float = GRAVITY_MPS2
    air_density_kg_m3: float = AIR_DENSITY_KG_M3

    def wind_at(self, x: float, y: float, z: float) -> tuple[float, float, float]:
        return self.wind_mps

    def height_at(self, x: float, y: float) -> float:
        return self.terrain.height_at(x, y)

    def gradient_at(self, x: float, y: float) -> tuple[float, float]:
        return self.terrain.gradient_at(x, y)


CALM = Calm()
"""No wind, level ground at 0 m."""


class Controller(Protocol):
    """Runs at the vehicle's control period: reads what it may of the world, returns the next control
    (``None`` keeps the previous one)."""

    def __call__(self, t_s: float, state: VehicleState) -> Any: ...


@dataclass(frozen=True, slots=True)
class WorldEvent:
    """Something that happened in the world: a collision with an obstacle, a controller fault."""

    t_s: float
    vehicle: str
    kind: str
    detail: str = ""


@dataclass(slots=True)
class _Slot:
    model: VehicleModel
    controller: Controller | None
    every: int            # control period in physics steps
    control: Any
    in_obstacle: bool = False


class World:
    """Fixed-step simulation of vehicles on a farm. Thread-safe: stepping and vehicle access share ``lock``.

    ``observers`` are called after every physics step with the world (coverage recorders, loggers); they
    must not change the state.
    """

    def __init__(self, *, rng: np.random.Generator, dt_s: float = 0.05, t0_s: float = 0.0,
                 terrain: Terrain | None = None, wind: Wind | None = None, fields: Iterable[Field] = (),
                 frame: LocalFrame | None = None, gravity_mps2: float = GRAVITY_MPS2,
                 air_density_kg_m3: float = AIR_DENSITY_KG_M3,
                 wall_clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if not isinstance(rng, np.random.Generator):
            raise ConfigError("world: rng must be a numpy.random.Generator (seed it to reproduce a run)")
        if not (math.isfinite(dt_s) and 0 < dt_s <= 1.0):
            raise ConfigError(f"world: dt_s = {dt_s!r} must be in (0, 1] seconds")
        self.rng = rng
        self.dt_s = float(dt_s)
        self.steps = 0
        self.t0_s = float(t0_s)
        self.terrain: Terrain = terrain if terrain is not None else FlatTerrain()
        self.wind = wind if wind is not None else Wind()
        self.fields = tuple(fields)
        self.frame = frame if frame is not None else next((f.frame for f in self.fields if f.frame), None)
        self.gravity_mps2 = gravity_mps2
        self.air_density_kg_m3 = air_density_kg_m3
        self.events: list[WorldEvent] = []
        self.observers: list[Callable[[World], None]] = []
        self.lock = threading.RLock()
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._slots: dict[str, _Slot] = {}
        self._gust = np.zeros(3)
        self._wind_now = self.wind.mean_mps
        obstacles = [o for f in self.fields for o in f.obstacles]
        self._obstacles = shapely.union_all(obstacles) if obstacles else None
        if self._obstacles is not None:
            shapely.prepare(self._obstacles)

    # --- clock ------------------------------------------------------------------------------------------
    @property
    def t_s(self) -> float:
        """Virtual time now. Counted in whole steps so that long runs do not drift."""
        return self.t0_s + self.steps * self.dt_s

    def now(self) -> float:
        """The virtual clock as a callable, to inject where a module wants ``clock()``."""
        return self.t_s

    # --- vehicles ---------------------------------------------------------------------------------------
    def add_vehicle(self, vehicle_id: str, model: VehicleModel, controller: Controller | None = None,
                    control_period_s: float = 0.1) -> None:
        """Put a vehicle in the world. ``control_period_s`` is rounded to a whole number of steps."""
        if not vehicle_id:
            raise ConfigError("world: a vehicle needs a non-empty id")
        every = max(1, round(control_period_s / self.dt_s))
        if abs(every * self.dt_s - control_period_s) > 1e-9 * max(1.0, control_period_s):
            logger.info("control period %.4g s of %s rounded to %d steps of %.4g s",
                        control_period_s, vehicle_id, every, self.dt_s)
        with self.lock:
            if vehicle_id in self._slots:
                raise ConfigError(f"world: vehicle {vehicle_id!r} is already in the world")
            model.state.t_s = self.t_s
            self._slots[vehicle_id] = _Slot(model, controller, every, _idle_control(model))

    def remove_vehicle(self, vehicle_id: str) -> None:
        with self.lock:
            self._slots.pop(vehicle_id, None)

    def set_controller(self, vehicle_id: str, controller: Controller | None,
                       control_period_s: float | None = None) -> None:
        with self.lock:
            slot = self._slot(vehicle_id)
            slot.controller = controller
            if control_period_s is not None:
                slot.every = max(1, round(control_period_s / self.dt_s))

    def set_control(self, vehicle_id: str, control: Any) -> None:
        """Hold ``control`` until the controller (if any) or the next call replaces it."""
        if control is None:
            raise ConfigError(f"world: control for {vehicle_id!r} must not be None")
        with self.lock:
            self._slot(vehicle_id).control = control

    @property
    def vehicles(self) -> Mapping[str, VehicleModel]:
        return {vid: slot.model for vid, slot in self._slots.items()}

    def model(self, vehicle_id: str) -> VehicleModel:
        return self._slot(vehicle_id).model

    def state(self, vehicle_id: str) -> VehicleState:
        return self._slot(vehicle_id).model.state

    def _slot(self, vehicle_id: str) -> _Slot:
        try:
            return self._slots[vehicle_id]
        except KeyError:
            have = ", ".join(self._slots) or "none"
            raise ConfigError(f"world: no vehicle {vehicle_id!r} (have: {have})") from None

    # --- environment (the Environment protocol) ----------------------------------------------------------
    def wind_at(self, x: float, y: float, z: float) -> tuple[float, float, float]:
        return self._wind_now

    def height_at(self, x: float, y: float) -> float:
        return self.terrain.height_at(x, y)

    def gradient_at(self, x: float, y: float) -> tuple[float, float]:
        return self.terrain.gradient_at(x, y)

    def spawn_rng(self) -> np.random.Generator:
        """An independent generator derived from the world's, for a sensor or a fault injector.

        Children are spawned in call order, so a scenario that builds the same things in the same order
        gets the same streams."""
        return self.rng.spawn(1)[0]

    # --- stepping ---------------------------------------------------------------------------------------
    def step(self) -> None:
        """One physics step: controllers due at this instant act, then every vehicle moves by ``dt_s``."""
        with self.lock:
            t = self.t_s
            dt = self.dt_s
            for slot in self._slots.values():
                if slot.controller is not None and self.steps % slot.every == 0:
                    control = slot.controller(t, slot.model.state)
                    if control is not None:
                        slot.control = control
            self._advance_wind(dt)
            for slot in self._slots.values():
                slot.model.step(dt, slot.control, self)
            self.steps += 1
            t_next = self.t_s
            for slot in self._slots.values():
                slot.model.state.t_s = t_next
            if self._obstacles is not None:
                self._check_obstacles(t_next)
            for observer in self.observers:
                observer(self)

    def run(self, duration_s: float, *, real_time_factor: float | None = None,
            until: Callable[[World], bool] | None = None) -> float:
        """Step for ``duration_s`` of virtual time (or until ``until(world)`` is true); return the time run.

        ``real_time_factor=None`` runs as fast as possible; ``2.0`` runs twice as fast as the wall clock."""
        if real_time_factor is not None and not (real_time_factor > 0 and math.isfinite(real_time_factor)):
            raise ConfigError(f"world: real_time_factor = {real_time_factor!r} must be > 0")
        n = max(0, round(duration_s / self.dt_s))
        t_start = self.t_s
        wall_start = self._wall_clock()
        for k in range(n):
            if until is not None and until(self):
                break
            self.step()
            if real_time_factor is not None:
                ahead = (k + 1) * self.dt_s / real_time_factor - (self._wall_clock() - wall_start)
                if ahead > 0:
                    self._sleep(ahead)
        return self.t_s - t_start

    def _advance_wind(self, dt: float) -> None:
        w = self.wind
        if w.gust_sigma_mps <= 0.0:
            self._wind_now = w.mean_mps   # ``wind`` may have been changed (a scenario's gust)
            return
        a = math.exp(-dt / w.gust_tau_s)
        sigma = np.array([w.gust_sigma_mps, w.gust_sigma_mps, w.gust_sigma_mps * w.vertical_fraction])
        self._gust = a * self._gust + sigma * math.sqrt(1.0 - a * a) * self.rng.standard_normal(3)
        m = w.mean_mps
        gx, gy, gz = (float(v) for v in self._gust)
        self._wind_now = (m[0] + gx, m[1] + gy, m[2] + gz)

    def _check_obstacles(self, t: float) -> None:
        for vid, slot in self._slots.items():
            s = slot.model.state
            if not slot.model.kind.is_ground:
                continue
            inside = bool(shapely.contains_xy(self._obstacles, s.x, s.y))
            if inside and not slot.in_obstacle:
                where = f"entered an obstacle at ({s.x:.2f}, {s.y:.2f})"
                self.events.append(WorldEvent(t, vid, "collision", where))
                logger.warning("t=%.2f %s entered an obstacle at (%.2f, %.2f)", t, vid, s.x, s.y)
            slot.in_obstacle = inside

    @property
    def obstacles(self) -> Polygon | None:
        """The union of the fields' holes, or ``None``."""
        return self._obstacles


def _idle_control(model: VehicleModel) -> Any:
    """What a vehicle gets before anyone commands it: stand still, implement off."""
    return GroundControl() if model.kind.is_ground else AirControl()
