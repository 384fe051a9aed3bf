"""The implement contract: what the planner, the simulator and the drivers need to know about a tool.

An implement (sprayer, seeder, spreader, mower, survey camera, a third party's weeder) is a plugin of the
``agrifleet.implements`` entry-point group: a subclass of :class:`Implement`, written as a frozen, slotted
dataclass whose fields are its parameters. From them it derives the few things every consumer uses:

* ``working_width_m`` — the spacing of adjacent passes (the planner's swath width);
* ``sections`` — independently switched parts of the width, numbered left to right looking in the
  direction of travel (ISO 11783-10 numbering); bit ``i`` of ``Plan.path["sections"]`` is section ``i``;
* ``footprint`` — where the implement acts on the ground relative to the vehicle (the simulator's coverage
  raster), with a lateral application profile (a spinning-disc spreader throws wider than it works);
* ``consumable`` — litres or kilograms per hectare and the tank or hopper capacity (sortie planning);
* ``on_lead_s`` / ``off_lag_s`` — actuator delays. ``Plan.path["sections"]`` says where the ground is to be
  worked; whoever commands the implement (driver, mission export, on-board guidance) sends "on"
  ``on_lead_s`` and "off" ``off_lag_s`` before the vehicle gets there, so the work starts and stops on the
  planned line. :meth:`Implement.switch_lead_m` turns them into distances;
* ``actuation`` / ``section_actuation`` — how a MAVLink autopilot switches it (DO_SET_RELAY, DO_SET_SERVO,
  DO_SPRAYER, DO_SET_CAM_TRIGG_DIST); :meth:`Implement.actuation_commands` gives the commands for a change
  of the section bitmask, in a safe order;
* ``capabilities_required`` — what a vehicle must offer (``ground``/``air`` plus features such as ``spray``).

Parameters are spelt as a spec string, ``sprayer:boom_width_m=24,n_sections=8,actuation=relay:0``, which is
what ``Plan.implement`` records and what ``--implement`` takes, so a plan file says exactly which tool it
was planned for. :func:`build_implement` turns a spec into an instance through the plugin registry.
"""
from __future__ import annotations

import dataclasses
import math
import types
import typing
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

import numpy as np
from shapely.geometry import Polygon
from shapely.ops import unary_union

from ._implement_parts import (MAX_SECTIONS, Actuation, ActuationKind, ConsumableModel, Footprint, MavCmd,
                               MavCommand, Section, even_sections)
from .errors import ConfigError

__all__ = [
    "MAX_SECTIONS", "Actuation", "ActuationKind", "ConsumableModel", "Footprint", "Implement", "MavCmd",
    "MavCommand", "ParamInfo", "Section", "build_implement", "even_sections", "param", "parse_spec",
]


def param(default: Any, help: str) -> Any:  # noqa: A002 - reads as documentation at the call site
    """A parameter field with its one-line help, shown by ``agrifleet plugins``."""
    if isinstance(default, (list, dict, set)):
        raise TypeError("parameter defaults must be immutable (use a tuple)")
    return dataclasses.field(default=default, metadata={"help": help})


@dataclass(frozen=True, slots=True)
class ParamInfo:
    name: str
    type: str
    default: str
    help: str


class Implement(ABC):
    """Base class of implement plugins. Subclass it as ``@dataclass(frozen=True, slots=True)``; the fields
    are the parameters (declare them with :func:`param`), validated in ``__post_init__``."""

    __slots__ = ()

    name: ClassVar[str] = ""
    kind: ClassVar[str] = "implement"

    # Optional members; a subclass overrides them with fields or properties.
    on_lead_s: float = 0.0
    off_lag_s: float = 0.0
    consumable: ConsumableModel | None = None
    section_actuation: Actuation | None = None
    max_work_speed_mps: float = math.inf
    min_work_speed_mps: float = 0.0

    @property
    @abstractmethod
    def working_width_m(self) -> float: ...

    @property
    @abstractmethod
    def sections(self) -> tuple[Section, ...]: ...

    @property
    @abstractmethod
    def footprint(self) -> Footprint: ...

    @property
    @abstractmethod
    def capabilities_required(self) -> frozenset[str]: ...

    @property
    @abstractmethod
    def actuation(self) -> Actuation: ...

    # --- derived --------------------------------------------------------------------------------------

    @property
    def n_sections(self) -> int:
        return len(self.sections)

    @property
    def all_on_mask(self) -> int:
        return (1 << self.n_sections) - 1

    @property
    def section_bounds_m(self) -> np.ndarray:
        """``(S, 2)`` lateral [left, right] edges of the sections (left positive)."""
        return np.array([[s.left_m, s.right_m] for s in self.sections], dtype=float).reshape(-1, 2)

    def active_width_m(self, mask: int) -> float:
        """Width of the sections switched on in ``mask``."""
        return float(sum(s.width_m for i, s in enumerate(self.sections) if mask >> i & 1))

    def working_polygon(self, x: float, y: float, heading_rad: float, mask: int | None = None) -> Any:
        """Ground worked at one pose by the sections in ``mask`` (all when ``None``): a shapely geometry."""
        mask = self.all_on_mask if mask is None else mask
        fp = self.footprint
        parts = [Footprint(s.width_m, fp.length_m, fp.offset_m).polygon(
            x - s.offset_m * math.sin(heading_rad), y + s.offset_m * math.cos(heading_rad), heading_rad)
            for i, s in enumerate(self.sections) if mask >> i & 1]
        return unary_union(parts) if parts else Polygon()

    def switch_lead_m(self, speed_mps: float, on: bool) -> float:
        """How far ahead of the planned switch point the command must go out at ``speed_mps``."""
        return abs(float(speed_mps)) * (self.on_lead_s if on else self.off_lag_s)

    def actuation_commands(self, prev_mask: int, new_mask: int) -> list[MavCommand]:
        """Commands for a change of the section bitmask. Switching off, the master output goes first and
        the section valves after; switching on, sections open first and the master output last."""
        prev_mask &= self.all_on_mask
        new_mask &= self.all_on_mask
        out: list[MavCommand | None] = []
        master, sec = self.actuation, self.section_actuation
        if prev_mask and not new_mask:
            out.append(master.command(False))
        if sec:
            off, on = prev_mask & ~new_mask, new_mask & ~prev_mask
            out += [sec.shifted(i).command(False) for i in range(self.n_sections) if off >> i & 1]
            out += [sec.shifted(i).command(True) for i in range(self.n_sections) if on >> i & 1]
        if new_mask and not prev_mask:
            out.append(master.command(True))
        return [c for c in out if c is not None]

    def _check(self, name: str, ok: bool, requirement: str) -> None:
        """Raise the one-line error a bad parameter deserves."""
        if not ok:
            raise ConfigError(f"implement {self.name!r}: {name} = {getattr(self, name)!r} {requirement}")

    def _check_positive(self, *names: str, allow_zero: bool = False) -> None:
        for n in names:
            v = getattr(self, n)
            self._check(n, isinstance(v, (int, float)) and math.isfinite(v) and (v >= 0 if allow_zero else v > 0),
                        "must be >= 0" if allow_zero else "must be > 0")

    # --- parameters -----------------------------------------------------------------------------------

    @classmethod
    def parameters(cls) -> list[ParamInfo]:
        """The parameters with their types, defaults and help, for ``agrifleet plugins`` and the docs."""
        hints = typing.get_type_hints(cls)
        out = []
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            default = "required" if f.default is dataclasses.MISSING else _to_text(f.default)
            out.append(ParamInfo(f.name, _type_name(hints.get(f.name, Any)), default, f.metadata.get("help", "")))
        return out

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> "Implement":
        """An instance from parameter values given as text (spec strings) or as JSON/TOML values."""
        hints = typing.get_type_hints(cls)
        known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(params) - known)
        if unknown:
            raise ConfigError(f"implement {cls.name!r}: unknown parameter {unknown[0]!r} "
                              f"(known: {', '.join(sorted(known))})")
        values = {k: _coerce(cls.name, k, v, hints.get(k, Any)) for k, v in params.items()}
        try:
            return cls(**values)
        except ConfigError:
            raise
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"implement {cls.name!r}: {exc}") from None

    def to_params(self) -> dict[str, Any]:
        """Parameter values as plain JSON values (actuations as text, tuples as lists)."""
        out = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            out[f.name] = v.to_text() if isinstance(v, Actuation) else list(v) if isinstance(v, tuple) else v
        return out

    def to_spec(self) -> str:
        """``name:key=value,...`` with the parameters that differ from their defaults."""
        items = [f"{f.name}={_to_text(getattr(self, f.name))}" for f in dataclasses.fields(self)  # type: ignore
                 if f.default is dataclasses.MISSING or getattr(self, f.name) != f.default]
        return f"{self.name}:{','.join(items)}" if items else self.name

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """A summary of the default instance, for listings; raises ConfigError if the defaults are broken."""
        impl = cls()  # type: ignore[call-arg]
        return {"kind": cls.kind, "working_width_m": impl.working_width_m, "sections": impl.n_sections,
                "capabilities_required": sorted(impl.capabilities_required),
                "actuation": impl.actuation.to_text(),
                "consumable": (f"{impl.consumable.rate_per_ha:g} {impl.consumable.unit}/ha from "
                               f"{impl.consumable.capacity:g} {impl.consumable.unit}") if impl.consumable else None}


def _type_name(tp: Any) -> str:
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return " | ".join("none" if a is type(None) else _type_name(a) for a in args)
    if typing.get_origin(tp) is tuple:
        return f"tuple[{_type_name(args[0])}, ...]" if args else "tuple"
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _to_text(v: Any) -> str:
    if isinstance(v, Actuation):
        return v.to_text()
    if isinstance(v, tuple):
        return "+".join(_to_text(x) for x in v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v) if not v.is_integer() else f"{v:.1f}"
    return "none" if v is None else str(v)


def _coerce(impl: str, key: str, value: Any, tp: Any) -> Any:
    """Turn a spec-string or JSON value into the field's type, with an error naming implement and key."""
    def bad(what: str) -> ConfigError:
        return ConfigError(f"implement {impl!r}: parameter {key} = {value!r} is not {what}")

    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
            if type(None) in args:
                return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(impl, key, value, inner[0]) if len(inner) == 1 else value
    if tp is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise bad("true or false")
    if tp is int:
        try:
            f = float(value)
        except (TypeError, ValueError):
            raise bad("a whole number") from None
        if not f.is_integer():
            raise bad("a whole number")
        return int(f)
    if tp is float:
        try:
            out = float(value)
        except (TypeError, ValueError):
            raise bad("a number") from None
        if not math.isfinite(out):
            raise bad("a finite number")
        return out
    if tp is str:
        return str(value)
    if tp is Actuation:
        if isinstance(value, Actuation):
            return value
        if isinstance(value, Mapping):
            return Actuation(**value)
        return Actuation.parse(str(value))
    if typing.get_origin(tp) is tuple:
        items = value.replace("+", " ").split() if isinstance(value, str) else list(value)
        return tuple(_coerce(impl, key, v, args[0]) for v in items)
    return value


def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    """``"sprayer:boom_width_m=24,n_sections=8"`` -> ``("sprayer", {"boom_width_m": "24", ...})``."""
    name, _, rest = str(spec).strip().partition(":")
    name = name.strip()
    if not name:
        raise ConfigError(f"implement spec {spec!r} has no implement name (expected NAME[:key=value,...])")
    params: dict[str, str] = {}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise ConfigError(f"implement spec {spec!r}: {item!r} is not key=value")
        params[key.strip()] = value.strip()
    return name, params


def build_implement(spec: str | Mapping[str, Any], **overrides: Any) -> Implement:
    """An implement from a spec string or a mapping ``{"name": ..., <params>}``, through the plugin registry.

    Raises :class:`~agrifleet.core.errors.PluginError` for an unknown or broken plugin and
    :class:`ConfigError` naming the implement, key and value for a bad parameter.
    """
    from .plugin import load

    if isinstance(spec, Mapping):
        params: dict[str, Any] = dict(spec)
        name = str(params.pop("name", ""))
        if not name:
            raise ConfigError("implement mapping has no 'name'")
    else:
        name, params = parse_spec(spec)  # type: ignore[assignment]
    params.update(overrides)
    cls = load("agrifleet.implements", name)
    factory = getattr(cls, "from_params", None)
    return factory(params) if factory is not None else cls(**params)
