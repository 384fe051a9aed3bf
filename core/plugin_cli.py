"""``agrifleet plugins``: list every installed plugin with its parameters, and the broken ones."""
from __future__ import annotations

import argparse
import inspect
import json
from typing import Any

from .plugin import GROUPS, describe, load_all

__all__ = ["PluginsCommand"]


def _parameters(obj: Any) -> dict[str, str]:
    """Constructor parameters of a plugin class (or the fields of a dataclass), with defaults."""
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
            broken += len(errors)
            report[group] = {
                "plugins": [{"name": n, "value": infos[n].value, "distribution": infos[n].distribution,
                             "parameters": _parameters(obj),
                             "doc": (inspect.getdoc(obj) or "").split("\n")[0]}
                            for n, obj in sorted(loaded.items())],
                "errors": [str(e) for e in errors],
            }
        if args.json:
            print(json.dumps(report, indent=2))
            return 0
        for group, entry in report.items():
            print(f"{group}:")
            for p in entry["plugins"]:
                params = ", ".join(f"{k}={v}" for k, v in p["parameters"].items())
                print(f"  {p['name']:<14} {p['doc']}")
                if params:
                    print(f"  {'':<14} parameters: {params}")
            for e in entry["errors"]:
                print(f"  BROKEN: {e}")
            if not entry["plugins"] and not entry["errors"]:
                print("  (none)")
        return 0
