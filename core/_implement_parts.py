"""The parts an implement is described with: sections, footprint, consumable, MAVLink actuation.

Small frozen value objects, validated on construction, re-exported by :mod:`agrifleet.core.implement`
(import them from there). They live apart only to keep the contract module short.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import numpy as np
from shapely.geometry import Polygon

from .errors import ConfigError

__all__ = ["MAX_SECTIONS", "Actuation", "ActuationKind", "ConsumableModel", "Footprint", "MavCmd", "MavCommand",
           "Section", "even_sections"]

MAX_SECTIONS = 32  # Plan.path["sections"] is a uint32 bitmask


class MavCmd(IntEnum):
    """MAVLink MAV_CMD ids an implement is switched with. Values are MAVLink's; never renumber."""

    DO_SET_RELAY = 181
    DO_SET_SERVO = 183
    DO_SET_CAM_TRIGG_DIST = 206
    DO_SPRAYER = 216


class ActuationKind(IntEnum):
    """How an implement output is switched. Values travel on the wire; never renumber."""

    NONE = 0
    RELAY = 1      # DO_SET_RELAY(instance, 0|1)
    SERVO = 2      # DO_SET_SERVO(output, pwm_us)
    SPRAYER = 3    # DO_SPRAYER(0|1): ArduPilot's sprayer library (pump and spinner)
    CAMERA = 4     # DO_SET_CAM_TRIGG_DIST(distance_m | 0)


@dataclass(frozen=True, slots=True)
class MavCommand:
    """One MAVLink command: id and its seven parameters (``x``/``y``/``z`` unused by actuation)."""

    command: MavCmd
    params: tuple[float, float, float, float, float, float, float]


@dataclass(frozen=True, slots=True)
class Actuation:
    """One switched output of an autopilot. Text form: ``none``, ``relay:N``, ``servo:N[:ON_US:OFF_US]``,
    ``sprayer``, ``camera:DIST_M``. Relay instances count from 0 (ArduPilot RELAYn), servo outputs from 1."""

    kind: ActuationKind = ActuationKind.NONE
    channel: int = 0
    pwm_on_us: int = 1900
    pwm_off_us: int = 1100
    trigger_distance_m: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.kind, ActuationKind):
            object.__setattr__(self, "kind", ActuationKind(self.kind))
        if self.kind is ActuationKind.RELAY and not 0 <= self.channel <= 255:
            raise ConfigError(f"actuation relay:{self.channel}: relay instance must be within 0..255")
        if self.kind is ActuationKind.SERVO:
            if not 1 <= self.channel <= 32:
                raise ConfigError(f"actuation servo:{self.channel}: servo output must be within 1..32")
            for name in ("pwm_on_us", "pwm_off_us"):
                if not 500 <= getattr(self, name) <= 2500:
                    raise ConfigError(f"actuation {self.to_text()}: {name} = {getattr(self, name)} is not "
                                      "a PWM width within 500..2500 us")
        if self.kind is ActuationKind.CAMERA and not (math.isfinite(self.trigger_distance_m)
                                                      and self.trigger_distance_m > 0):
            raise ConfigError(f"actuation camera: trigger distance {self.trigger_distance_m!r} must be > 0 m")

    def __bool__(self) -> bool:
        return self.kind is not ActuationKind.NONE

    def command(self, on: bool) -> MavCommand | None:
        """The command that switches this output on or off (``None`` for ``none``)."""
        k = self.kind
        if k is ActuationKind.RELAY:
            return MavCommand(MavCmd.DO_SET_RELAY, (float(self.channel), 1.0 if on else 0.0, 0, 0, 0, 0, 0))
        if k is ActuationKind.SERVO:
            pwm = self.pwm_on_us if on else self.pwm_off_us
            return MavCommand(MavCmd.DO_SET_SERVO, (float(self.channel), float(pwm), 0, 0, 0, 0, 0))
        if k is ActuationKind.SPRAYER:
            return MavCommand(MavCmd.DO_SPRAYER, (1.0 if on else 0.0, 0, 0, 0, 0, 0, 0))
        if k is ActuationKind.CAMERA:  # param3 = 1: take the first picture at once
            return MavCommand(MavCmd.DO_SET_CAM_TRIGG_DIST,
                              (self.trigger_distance_m, 0, 1.0, 0, 0, 0, 0) if on else (0, 0, 0, 0, 0, 0, 0))
        return None

    def shifted(self, k: int) -> "Actuation":
        """The same kind of output ``k`` channels further on (section ``k`` of a block of section valves)."""
        return dataclasses.replace(self, channel=self.channel + k) if self.kind in (
            ActuationKind.RELAY, ActuationKind.SERVO) else self

    def to_text(self) -> str:
        k = self.kind
        if k is ActuationKind.RELAY:
            return f"relay:{self.channel}"
        if k is ActuationKind.SERVO:
            return f"servo:{self.channel}:{self.pwm_on_us}:{self.pwm_off_us}"
        if k is ActuationKind.CAMERA:
            return f"camera:{self.trigger_distance_m!r}"
        return k.name.lower()

    @classmethod
    def parse(cls, text: str) -> "Actuation":
        parts = [p.strip() for p in str(text).strip().lower().split(":")]
        try:
            kind = ActuationKind[parts[0].upper()]
            nums = [float(p) for p in parts[1:]]
        except (KeyError, ValueError):
            raise ConfigError(f"actuation {text!r} is not none, relay:N, servo:N[:ON_US:OFF_US], sprayer "
                              "or camera:DIST_M") from None
        want = {ActuationKind.NONE: (0, 0), ActuationKind.SPRAYER: (0, 0), ActuationKind.RELAY: (1, 1),
                ActuationKind.SERVO: (1, 3), ActuationKind.CAMERA: (1, 1)}[kind]
        if not want[0] <= len(nums) <= want[1] or (kind is ActuationKind.SERVO and len(nums) == 2):
            raise ConfigError(f"actuation {text!r}: wrong number of values for {kind.name.lower()}")
        if kind is ActuationKind.CAMERA:
            return cls(kind, trigger_distance_m=nums[0])
        ints = [int(n) for n in nums]
        if any(i != n for i, n in zip(ints, nums)):
            raise ConfigError(f"actuation {text!r}: channel and PWM must be whole numbers")
        return cls(kind, *ints)


@dataclass(frozen=True, slots=True)
class Section:
    """One independently switched part of the working width. ``offset_m`` is the lateral position of its
    centre from the implement's centre line, positive to the left."""

    offset_m: float
    width_m: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.width_m) and self.width_m > 0 and math.isfinite(self.offset_m)):
            raise ConfigError(f"section at {self.offset_m!r} m: width {self.width_m!r} must be > 0 m")

    @property
    def left_m(self) -> float:
        return self.offset_m + self.width_m / 2

    @property
    def right_m(self) -> float:
        return self.offset_m - self.width_m / 2


def even_sections(width_m: float, n: int | None = None, widths_m: tuple[float, ...] = (),
                  owner: str = "") -> tuple[Section, ...]:
    """Sections across ``width_m``, left to right: ``n`` equal ones, or the given widths (which must add up).
    ``owner`` names the implement in error messages."""
    where = f"implement {owner!r}: " if owner else ""
    if widths_m:
        if not math.isclose(sum(widths_m), width_m, rel_tol=1e-9, abs_tol=1e-6):
            raise ConfigError(f"{where}section widths {'+'.join(f'{w:g}' for w in widths_m)} add up to "
                              f"{sum(widths_m):g} m, not the working width {width_m:g} m")
        if any(not (math.isfinite(w) and w > 0) for w in widths_m):
            raise ConfigError(f"{where}section widths {'+'.join(f'{w:g}' for w in widths_m)} must all be > 0")
        widths = list(widths_m)
    else:
        if n is None or not 1 <= n <= MAX_SECTIONS:
            raise ConfigError(f"{where}number of sections {n!r} must be within 1..{MAX_SECTIONS}")
        widths = [width_m / n] * n
    if len(widths) > MAX_SECTIONS:
        raise ConfigError(f"{where}{len(widths)} sections: at most {MAX_SECTIONS} fit the plan's section bitmask")
    left = width_m / 2
    out = []
    for w in widths:
        out.append(Section(left - w / 2, w))
        left -= w
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Footprint:
    """Where the implement acts, in the vehicle's frame: a rectangle ``width_m`` across and ``length_m``
    along travel, centred ``offset_m`` ahead of the vehicle's reference point (negative = behind, towed).

    ``flat_width_m`` gives a trapezoidal lateral profile: full rate over the middle ``flat_width_m``, falling
    linearly to zero at ``width_m`` (a spinning-disc spreader); ``None`` means uniform over the width.
    """

    width_m: float
    length_m: float
    offset_m: float = 0.0
    flat_width_m: float | None = None

    def __post_init__(self) -> None:
        for name in ("width_m", "length_m"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ConfigError(f"footprint {name} = {v!r} must be > 0")
        if not math.isfinite(self.offset_m):
            raise ConfigError(f"footprint offset_m = {self.offset_m!r} must be finite")
        f = self.flat_width_m
        if f is not None and not (math.isfinite(f) and 0 <= f <= self.width_m):
            raise ConfigError(f"footprint flat_width_m = {f!r} must be within 0..width_m ({self.width_m:g})")

    def corners(self, x: Any, y: Any, heading_rad: Any) -> np.ndarray:
        """Corners (rear-right, front-right, front-left, rear-left) at poses: shape ``(..., 4, 2)``."""
        x, y, h = (np.asarray(a, dtype=float) for a in (x, y, heading_rad))
        along = np.array([-0.5, 0.5, 0.5, -0.5]) * self.length_m + self.offset_m
        across = np.array([-0.5, -0.5, 0.5, 0.5]) * self.width_m
        c, s = np.cos(h)[..., None], np.sin(h)[..., None]
        return np.stack([x[..., None] + c * along - s * across, y[..., None] + s * along + c * across], axis=-1)

    def polygon(self, x: float, y: float, heading_rad: float) -> Polygon:
        return Polygon(self.corners(x, y, heading_rad))

    def profile(self, lateral_m: Any) -> np.ndarray:
        """Relative application rate (0..1) at lateral offsets from the centre line."""
        d = np.abs(np.asarray(lateral_m, dtype=float))
        half = self.width_m / 2
        if self.flat_width_m is None or self.flat_width_m >= self.width_m:
            return (d <= half).astype(float)
        flat = self.flat_width_m / 2
        ramp = max(half - flat, 1e-12)
        return np.clip((half - d) / ramp, 0.0, 1.0)


@dataclass(frozen=True, slots=True)
class ConsumableModel:
    """What the implement uses up: ``rate_per_ha`` units per hectare from a ``capacity`` of units
    (``unit`` is ``l`` or ``kg``). ``density_kg_per_unit`` turns a load into payload mass for drones."""

    product: str
    unit: str
    rate_per_ha: float
    capacity: float
    density_kg_per_unit: float = 1.0

    def __post_init__(self) -> None:
        if self.unit not in ("l", "kg"):
            raise ConfigError(f"consumable {self.product!r}: unit {self.unit!r} is not l or kg")
        for name in ("rate_per_ha", "capacity", "density_kg_per_unit"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ConfigError(f"consumable {self.product!r}: {name} = {v!r} must be > 0")

    def amount_for_area(self, area_m2: float) -> float:
        """Units needed to treat ``area_m2``."""
        return self.rate_per_ha * area_m2 / 10_000.0

    @property
    def area_per_fill_m2(self) -> float:
        """Area one full tank or hopper treats."""
        return self.capacity / self.rate_per_ha * 10_000.0

    def flow_per_s(self, speed_mps: Any, width_m: float) -> Any:
        """Units per second at a ground speed over ``width_m``: the rate per hectare follows speed."""
        return self.rate_per_ha * width_m * np.asarray(speed_mps, dtype=float) / 10_000.0

    @property
    def full_mass_kg(self) -> float:
        return self.capacity * self.density_kg_per_unit
