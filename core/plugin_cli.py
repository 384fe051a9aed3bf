"""``agrifleet plugins``: list every installed plugin with its parameters, and the broken ones."""
from __future__ import annotations

import argparse
import inspect
import json
from typing import Any

from .errors import PluginError
from .plugin import GROUPS, describe, load_all

__all__ = ["PluginsCommand"]


def _parameters(obj: Any) -> dict[str, str]:
    """Parameters of a plugin: its own ``parameters()`` listing when it has one (implements), else the
    constructor parameters of its class (or the fields of a dataclass), with defaults."""
    listing = getattr(obj, "parameters", None)
    if callable(listing):
        try:
            return {p.name: p.default + (f"  ({p.help})" if p.help else "") for p in listing()}
        except Exception:  # fall back to the signature; describe() reports a broken plugin
            pass
    target = obj if inspect.isclass(obj) else type(obj)
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        return {}
    out = {}
    for name, p in sig.parameters.items():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        out[name] = "required" if p.default is p.empty else repr(p.default)
    return out


def _summary(group: str, name: str, obj: Any) -> dict[str, Any]:
    """What a plugin says about its default configuration (``describe()``); a plugin whose defaults do
    not work is broken, and the error names it."""
    describe = getattr(obj, "describe", None) if group == "agrifleet.implements" else None
    if not callable(describe):
        return {}
    try:
        return dict(describe())
    except Exception as exc:  # a third-party plugin may raise anything; report it, keep listing
        raise PluginError(f"plugin {group}:{name} does not work with its defaults: "
                          f"{type(exc).__name__}: {exc}") from exc


class PluginsCommand:
    name = "plugins"
    help = "list installed plugins (implements, drivers, planners, vehicles, commands)"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        report: dict[str, Any] = {}
        broken = 0
        for group in GROUPS:
            infos = {i.name: i for i in describe(group)}
            loaded, errors = load_all(group)
            plugins = []
            for n, obj in sorted(loaded.items()):
                try:
                    summary = _summary(group, n, obj)
                except PluginError as exc:
                    errors.append(exc)
                    continue
                doc = (inspect.getdoc(obj) or getattr(obj, "help", "") or "").split("\n")[0]
                plugins.append({"name": n, "value": infos[n].value, "distribution": infos[n].distribution,
                                "parameters": _parameters(obj), "summary": summary, "doc": doc})
            broken += len(errors)
            report[group] = {"plugins": plugins, "errors": [str(e) for e in errors]}
        if args.json:
            print(json.dumps(report, indent=2))
            return 0
        for group, entry in report.items():
            print(f"{group}:")
            for p in entry["plugins"]:
                print(f"  {p['name']:<14} {p['doc']}")
                summary = {k: v for k, v in p["summary"].items() if v not in (None, "", [])}
                if summary:
                    print(f"  {'':<14} " + ", ".join(f"{k}={_text(v)}" for k, v in summary.items()))
                for key, value in p["parameters"].items():
                    print(f"  {'':<14}   {key} = {value}")
            for e in entry["errors"]:
                print(f"  BROKEN: {e}")
            if not entry["plugins"] and not entry["errors"]:
                print("  (none)")
        return 0


def _text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "+".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)
