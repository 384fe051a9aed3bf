"""Consumables and energy of simulated vehicles: what the implement applies, and what flying costs.

:class:`Payload` is the applied product: a tank drains at ``rate × worked width × ground speed``, so a
sprayer that drives faster empties faster at the same rate per hectare, and a spray drone gets lighter as
it works. :class:`RotorPower` is the multirotor's electrical power from actuator-disc (momentum) theory:
induced power grows with thrust to the power 1.5, so a full tank costs more than its share of the mass.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from agrifleet.core.errors import ConfigError

if TYPE_CHECKING:
    from agrifleet.core.implement import Implement

__all__ = ["Payload", "RotorPower", "payload_from_implement"]

M2_PER_HA = 10_000.0


def _check(owner: str, name: str, value: float, *, allow_zero: bool = False, upper: float = math.inf) -> None:
    ok = math.isfinite(value) and (value >= 0.0 if allow_zero else value > 0.0) and value <= upper
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        if upper != math.inf:
            bound += f" and <= {upper:g}"
        raise ConfigError(f"{owner}: {name} = {value!r} must be {bound}")


@dataclass(frozen=True, slots=True)
class Payload:
    """A product applied through implement sections: section widths left to right, rate, density.

    ``rate_per_ha`` is in litres (liquids) or kilograms (granules, seed) per hectare; ``density_kg_per_l``
    turns tank litres into mass (1.0 for water-based spray mixes)."""

    section_widths_m: tuple[float, ...]
    rate_per_ha: float
    density_kg_per_l: float = 1.0

    def __post_init__(self) -> None:
        widths = tuple(float(w) for w in self.section_widths_m)
        if not widths or len(widths) > 32:
            raise ConfigError(f"payload: section_widths_m must list 1..32 sections, got {len(widths)}")
        for w in widths:
            _check("payload", "section width", w)
        object.__setattr__(self, "section_widths_m", widths)
        _check("payload", "rate_per_ha", self.rate_per_ha, allow_zero=True)
        _check("payload", "density_kg_per_l", self.density_kg_per_l)

    @classmethod
    def uniform(cls, width_m: float, n_sections: int, rate_per_ha: float,
                density_kg_per_l: float = 1.0) -> "Payload":
        if not 1 <= n_sections <= 32:
            raise ConfigError(f"payload: n_sections = {n_sections!r} must be 1..32")
        return cls((width_m / n_sections,) * n_sections, rate_per_ha, density_kg_per_l)

    @property
    def width_m(self) -> float:
        return math.fsum(self.section_widths_m)

    @property
    def all_sections(self) -> int:
        return (1 << len(self.section_widths_m)) - 1

    def width_on_m(self, sections: int) -> float:
        """Worked width with the sections of bitmask ``sections`` switched on (bit 0 = leftmost)."""
        if sections == 0:
            return 0.0
        if sections & self.all_sections == self.all_sections:
            return self.width_m
        return math.fsum(w for k, w in enumerate(self.section_widths_m) if sections >> k & 1)

    def flow_per_s(self, sections: int, ground_speed_mps: float) -> float:
        """Litres (or kg) per second leaving the tank."""
        return self.rate_per_ha / M2_PER_HA * self.width_on_m(sections) * abs(ground_speed_mps)


@dataclass(frozen=True, slots=True)
class RotorPower:
    """Electrical power of a multirotor from momentum theory, plus parasite drag and avionics.

    ``P = T^1.5 / (FM * eta * sqrt(2 rho A)) + D * v_air / eta + P_avionics`` with ``T`` the total thrust,
    ``A`` the total rotor disc area, ``FM`` the rotors' figure of merit, ``eta`` motor and ESC efficiency,
    ``D`` the drag force and ``v_air`` the speed through the air. Forward flight's relief of induced power
    (translational lift) is left out, which errs on the side of a battery that lasts a little less."""

    disc_area_m2: float = 2.2      # four 33-inch rotors
    figure_of_merit: float = 0.7
    drive_efficiency: float = 0.85
    avionics_w: float = 30.0

    def __post_init__(self) -> None:
        _check("rotor power", "disc_area_m2", self.disc_area_m2)
        _check("rotor power", "figure_of_merit", self.figure_of_merit, upper=1.0)
        _check("rotor power", "drive_efficiency", self.drive_efficiency, upper=1.0)
        _check("rotor power", "avionics_w", self.avionics_w, allow_zero=True)

    def induced_w(self, thrust_n: float, air_density_kg_m3: float) -> float:
        if thrust_n <= 0.0:
            return 0.0
        return thrust_n ** 1.5 / (self.figure_of_merit * self.drive_efficiency
                                  * math.sqrt(2.0 * air_density_kg_m3 * self.disc_area_m2))

    def power_w(self, thrust_n: float, drag_n: float, air_speed_mps: float,
                air_density_kg_m3: float) -> float:
        """Battery power drawn while the motors run."""
        return (self.induced_w(thrust_n, air_density_kg_m3) + drag_n * air_speed_mps / self.drive_efficiency
                + self.avionics_w)

    def hover_w(self, mass_kg: float, gravity_mps2: float, air_density_kg_m3: float) -> float:
        """Power to hover in still air with total mass ``mass_kg``."""
        return self.power_w(mass_kg * gravity_mps2, 0.0, 0.0, air_density_kg_m3)


def payload_from_implement(implement: "Implement") -> Payload:
    """The :class:`Payload` of an implement plugin: its sections (left to right) and its consumable's rate."""
    consumable = implement.consumable
    rate = consumable.rate_per_ha if consumable is not None else 0.0
    density = consumable.density_kg_per_unit if consumable is not None else 1.0
    return Payload(tuple(s.width_m for s in implement.sections), rate, density)
