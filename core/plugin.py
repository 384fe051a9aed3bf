"""Plugin discovery through entry points, with contract checks and errors that name the plugin.

Built-in implements, drivers, planners, vehicle models and command-line commands register through the
same entry-point groups a third-party package uses; core reaches all of them only through here, which keeps
the dependency arrows pointing one way. A plugin that fails to import or breaks its contract yields one
:class:`PluginError` naming the plugin and its distribution; the other plugins keep working.

Contracts are checked by shape (the attributes a plugin must offer), the way pluggy validates hook
implementations, so that core need not import the packages that define the base classes.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from .errors import PluginError

__all__ = ["GROUPS", "CONTRACTS", "PluginInfo", "discover", "load", "load_all"]

logger = logging.getLogger(__name__)

GROUPS = (
    "agrifleet.implements",
    "agrifleet.drivers",
    "agrifleet.planners",
    "agrifleet.vehicles",
    "agrifleet.commands",
)

CONTRACTS: dict[str, tuple[str, ...]] = {
    # group: attributes every plugin object of the group must have
    "agrifleet.implements": ("name", "working_width_m", "sections", "footprint", "consumable",
                             "capabilities_required", "actuation", "section_actuation", "on_lead_s",
                             "off_lag_s", "actuation_commands"),
    "agrifleet.drivers": ("connect", "upload", "start", "pause", "resume", "abort", "return_home",
                          "telemetry", "capabilities", "close"),
    "agrifleet.planners": ("name", "plan"),
    "agrifleet.vehicles": ("kind", "spec", "step"),
    "agrifleet.commands": ("name", "help", "add_arguments", "run"),
}


@dataclass(frozen=True, slots=True)
class PluginInfo:
    group: str
    name: str
    value: str
    distribution: str

    def __str__(self) -> str:
        return f"{self.group}:{self.name} ({self.value}, from {self.distribution})"


def _info(group: str, ep: EntryPoint) -> PluginInfo:
    dist = ep.dist.name if getattr(ep, "dist", None) is not None else "unknown distribution"
    return PluginInfo(group, ep.name, ep.value, dist)


def discover(group: str) -> dict[str, EntryPoint]:
    """Entry points of ``group`` by name. A name registered twice keeps the first and logs the clash."""
    if group not in GROUPS:
        raise PluginError(f"unknown plugin group {group!r} (expected one of {', '.join(GROUPS)})")
    found: dict[str, EntryPoint] = {}
    for ep in sorted(entry_points(group=group), key=lambda e: (e.name, e.value)):
        if ep.name in found and found[ep.name].value != ep.value:
            logger.warning("plugin %s:%s is registered twice (%s and %s); using the first",
                           group, ep.name, found[ep.name].value, ep.value)
            continue
        found.setdefault(ep.name, ep)
    return found


def check_contract(group: str, name: str, obj: Any, info: PluginInfo | None = None) -> None:
    missing = [attr for attr in CONTRACTS[group] if not hasattr(obj, attr)]
    if missing:
        label = str(info) if info else f"{group}:{name}"
        raise PluginError(f"plugin {label} does not fulfil the {group} contract: "
                          f"missing {', '.join(missing)}")


def load(group: str, name: str) -> Any:
    """Load and check one plugin; raises :class:`PluginError` naming it."""
    eps = discover(group)
    if name not in eps:
        known = ", ".join(sorted(eps)) or "none installed"
        raise PluginError(f"no {group.split('.')[-1][:-1]} plugin named {name!r} (known: {known})")
    return _load_one(group, eps[name])


def _load_one(group: str, ep: EntryPoint) -> Any:
    info = _info(group, ep)
    try:
        obj = ep.load()
    except Exception as exc:  # a third-party plugin may raise anything at import; report, never crash
        raise PluginError(f"plugin {info} failed to load: {type(exc).__name__}: {exc}") from exc
    check_contract(group, ep.name, obj, info)
    return obj


def load_all(group: str) -> tuple[dict[str, Any], list[PluginError]]:
    """Every loadable plugin of ``group``, and one error per broken plugin."""
    loaded: dict[str, Any] = {}
    errors: list[PluginError] = []
    for name, ep in discover(group).items():
        try:
            loaded[name] = _load_one(group, ep)
        except PluginError as exc:
            logger.debug("%s", exc)  # returned to the caller, which reports it once
            errors.append(exc)
    return loaded, errors


def describe(group: str) -> list[PluginInfo]:
    return [_info(group, ep) for ep in discover(group).values()]
