"""Simulated sensors: what a vehicle's controller may know, as opposed to the truth in its state.

GNSS error is white noise plus a first-order Gauss-Markov error (exactly discretised, so the statistics do
not depend on the read rate), per fix quality:

==============  =====================  =============================================================
quality         horizontal RMS (2-D)   character
==============  =====================  =============================================================
RTK fixed       ~2 cm                  1 cm white + 1 cm slowly wandering, per axis
RTK float       ~0.3 m                 decimetre wander over minutes
single point    ~1.5 m                 a metre-level random walk (correlation time 5 min) + 0.3 m white
==============  =====================  =============================================================

Outages are scheduled intervals and/or random (Poisson starts, exponential durations); during an outage a
fix has quality NONE and NaN position. After an outage an RTK receiver re-converges: it reports RTK float
for ``reconverge_s`` before it is fixed again. Heading (dual antenna or INS), battery and tank sensors add
noise and quantisation. Every sensor draws from the ``numpy.random.Generator`` it is given.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from agrifleet.core.errors import ConfigError
from agrifleet.core.geo import LocalFrame
from agrifleet.core.vehicle import VehicleSpec, VehicleState
from agrifleet.drivers.base import GnssQuality

__all__ = ["BatterySensor", "GNSS_MODELS", "Gnss", "GnssErrorModel", "GnssFix", "HeadingSensor", "TankSensor"]


@dataclass(frozen=True, slots=True)
class GnssErrorModel:
    """Per-axis horizontal error: ``white_sigma_m`` white + ``walk_sigma_m`` Gauss-Markov (``walk_tau_s``)."""

    quality: GnssQuality
    white_sigma_m: float
    walk_sigma_m: float
    walk_tau_s: float
    vertical_factor: float = 2.0

    def __post_init__(self) -> None:
        for name in ("white_sigma_m", "walk_sigma_m", "vertical_factor"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise ConfigError(f"gnss model: {name} = {v!r} must be >= 0")
        if not (math.isfinite(self.walk_tau_s) and self.walk_tau_s > 0):
            raise ConfigError(f"gnss model: walk_tau_s = {self.walk_tau_s!r} must be > 0")

    @property
    def horizontal_rms_m(self) -> float:
        """Expected 2-D RMS error (both axes, both error terms)."""
        return math.sqrt(2.0 * (self.white_sigma_m ** 2 + self.walk_sigma_m ** 2))


GNSS_MODELS: dict[GnssQuality, GnssErrorModel] = {
    GnssQuality.RTK_FIXED: GnssErrorModel(GnssQuality.RTK_FIXED, 0.01, 0.01, 60.0),
    GnssQuality.RTK_FLOAT: GnssErrorModel(GnssQuality.RTK_FLOAT, 0.05, 0.206, 120.0),
    GnssQuality.SINGLE: GnssErrorModel(GnssQuality.SINGLE, 0.3, 1.017, 300.0),
}


class GnssFix(NamedTuple):
    """One position fix in the local frame (and WGS84 when the sensor knows the frame).

    A named tuple rather than a dataclass: every simulated vehicle makes one at its control rate."""

    t_s: float
    x: float
    y: float
    z: float
    quality: GnssQuality
    speed_mps: float = math.nan
    course_rad: float = math.nan
    lat_deg: float = math.nan
    lon_deg: float = math.nan

    @property
    def valid(self) -> bool:
        return self.quality is not GnssQuality.NONE


class _Normals:
    """Standard normal draws from a generator, fetched in blocks: a sensor read costs no numpy call.

    The sequence is the generator's, so a seed still reproduces every reading."""

    __slots__ = ("rng", "_buf", "_i")

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self._buf: list[float] = []
        self._i = 0

    def __call__(self) -> float:
        if self._i >= len(self._buf):
            self._buf = self.rng.standard_normal(1024).tolist()
            self._i = 0
        self._i += 1
        return self._buf[self._i - 1]

    def take(self, k: int) -> list[float]:
        """The next ``k`` draws (the same values ``k`` calls would give)."""
        i = self._i
        if i + k > len(self._buf):
            rest = self._buf[i:]
            self._buf = rest + self.rng.standard_normal(1024).tolist()
            i = 0
        self._i = i + k
        return self._buf[i:i + k]


@dataclass(slots=True)
class _Walk:
    """A 3-axis Gauss-Markov error state."""

    x: float = 0.0
    y: float = 0.0
    z: float = 0.0
    t_s: float = math.nan


class Gnss:
    """A GNSS receiver on a vehicle. Call :meth:`read` with the vehicle state whenever a fix is due."""

    def __init__(self, rng: np.random.Generator, quality: GnssQuality = GnssQuality.RTK_FIXED, *,
                 models: dict[GnssQuality, GnssErrorModel] | None = None,
                 outages: tuple[tuple[float, float], ...] = (), outage_rate_per_h: float = 0.0,
                 outage_mean_s: float = 10.0, reconverge_s: float = 20.0, speed_sigma_mps: float = 0.02,
                 frame: LocalFrame | None = None) -> None:
        if quality not in (GnssQuality.RTK_FIXED, GnssQuality.RTK_FLOAT, GnssQuality.SINGLE):
            raise ConfigError(f"gnss: quality {quality!r} cannot be simulated "
                              "(RTK_FIXED, RTK_FLOAT or SINGLE)")
        for a, b in outages:
            if not b > a:
                raise ConfigError(f"gnss: outage ({a}, {b}) must end after it starts")
        if not (outage_rate_per_h >= 0 and outage_mean_s > 0 and reconverge_s >= 0):
            raise ConfigError("gnss: outage_rate_per_h >= 0, outage_mean_s > 0 and reconverge_s >= 0 "
                              "are required")
        self.rng = rng
        self._normal = _Normals(rng)
        self.quality = quality
        self.models = dict(GNSS_MODELS if models is None else models)
        self.outages = tuple(sorted(outages))
        self.outage_rate_per_s = outage_rate_per_h / 3600.0
        self.outage_mean_s = outage_mean_s
        self.reconverge_s = reconverge_s
        self.speed_sigma_mps = speed_sigma_mps
        self.frame = frame
        self._walks = {q: _Walk() for q in self.models}
        self._random_outage_until = -math.inf
        self._last_t = math.nan
        self._outage_ended_at = -math.inf
        self._in_outage = False

    def in_outage(self, t_s: float) -> bool:
        if t_s < self._random_outage_until:
            return True
        if not self.outages:
            return False
        return any(a <= t_s < b for a, b in self.outages)

    def _current_quality(self, t_s: float) -> GnssQuality:
        dt = 0.0 if math.isnan(self._last_t) else max(0.0, t_s - self._last_t)
        self._last_t = t_s
        if self.outage_rate_per_s > 0 and dt > 0 and t_s >= self._random_outage_until:
            if self.rng.random() < -math.expm1(-self.outage_rate_per_s * dt):
                self._random_outage_until = t_s + self.rng.exponential(self.outage_mean_s)
        out = self.in_outage(t_s)
        if out:
            self._in_outage = True
            return GnssQuality.NONE
        if self._in_outage:
            self._in_outage = False
            self._outage_ended_at = t_s
        if (self.quality is GnssQuality.RTK_FIXED and t_s - self._outage_ended_at < self.reconverge_s):
            return GnssQuality.RTK_FLOAT
        return self.quality

    def _error(self, model: GnssErrorModel, t_s: float) -> tuple[float, float, float, float, float]:
        """Position error (x, y, z) and two more draws for the velocity noise."""
        walk = self._walks[model.quality]
        n0, n1, n2, n3, n4, n5, n6, n7 = self._normal.take(8)
        sw, sv = model.walk_sigma_m, model.vertical_factor
        if math.isnan(walk.t_s):
            walk.x, walk.y, walk.z = sw * n0, sw * n1, sw * sv * n2
        else:
            a = math.exp(-max(0.0, t_s - walk.t_s) / model.walk_tau_s)
            k = sw * math.sqrt(1.0 - a * a)
            walk.x, walk.y, walk.z = a * walk.x + k * n0, a * walk.y + k * n1, a * walk.z + k * sv * n2
        walk.t_s = t_s
        w = model.white_sigma_m
        return walk.x + w * n3, walk.y + w * n4, walk.z + w * sv * n5, n6, n7

    def read(self, state: VehicleState) -> GnssFix:
        t = state.t_s
        q = self._current_quality(t)
        if q is GnssQuality.NONE:
            return GnssFix(t, math.nan, math.nan, math.nan, q)
        ex, ey, ez, nvx, nvy = self._error(self.models[q], t)
        x, y, z = state.x + ex, state.y + ey, state.z + ez
        vx = state.vx + self.speed_sigma_mps * nvx
        vy = state.vy + self.speed_sigma_mps * nvy
        speed = math.hypot(vx, vy)
        lat = lon = math.nan
        if self.frame is not None:
            lon, lat = (float(v) for v in self.frame.to_wgs84(np.array([[x, y]]))[0])
        return GnssFix(t, x, y, z, q, speed, math.atan2(vy, vx) if speed > 0.1 else math.nan, lat, lon)


class HeadingSensor:
    """Vehicle heading (dual-antenna GNSS or INS): white noise ``sigma_rad`` around a fixed ``bias_rad``.
    Reads NaN during the outages of the GNSS it is tied to, if any."""

    def __init__(self, rng: np.random.Generator, sigma_rad: float = math.radians(0.1), bias_rad: float = 0.0,
                 gnss: Gnss | None = None) -> None:
        if not (math.isfinite(sigma_rad) and sigma_rad >= 0):
            raise ConfigError(f"heading sensor: sigma_rad = {sigma_rad!r} must be >= 0")
        self.rng, self.sigma_rad, self.bias_rad, self.gnss = rng, sigma_rad, bias_rad, gnss
        self._normal = _Normals(rng)

    def read(self, state: VehicleState) -> float:
        if self.gnss is not None and self.gnss.in_outage(state.t_s):
            return math.nan
        noisy = state.heading_rad + self.bias_rad + self.sigma_rad * self._normal()
        return math.remainder(noisy, 2.0 * math.pi)


def _quantise(value: float, step: float) -> float:
    return round(value / step) * step if step > 0 else value


class BatterySensor:
    """State of charge in percent of the spec's capacity: noise, then quantised (a BMS reports whole %)."""

    def __init__(self, rng: np.random.Generator, spec: VehicleSpec, sigma_pct: float = 0.5,
                 step_pct: float = 1.0) -> None:
        self.rng, self.capacity_wh, self.sigma_pct, self.step_pct = rng, spec.battery_wh, sigma_pct, step_pct

    def read(self, state: VehicleState) -> float:
        if self.capacity_wh <= 0:
            return math.nan
        pct = 100.0 * state.battery_wh / self.capacity_wh + self.sigma_pct * float(self.rng.standard_normal())
        return min(100.0, max(0.0, _quantise(pct, self.step_pct)))


class TankSensor:
    """Tank level in litres (a float gauge): noise, then quantised to ``step_l``."""

    def __init__(self, rng: np.random.Generator, spec: VehicleSpec, sigma_l: float = 0.2,
                 step_l: float = 0.5) -> None:
        self.rng, self.capacity_l, self.sigma_l, self.step_l = rng, spec.tank_l, sigma_l, step_l

    def read(self, state: VehicleState) -> float:
        if self.capacity_l <= 0:
            return math.nan
        level = state.tank_l + self.sigma_l * float(self.rng.standard_normal())
        return min(self.capacity_l, max(0.0, _quantise(level, self.step_l)))
