"""The ``agrifleet`` command line.

Sub-commands are plugins of the ``agrifleet.commands`` entry-point group, contributed by the package that
owns the work (``plan`` by planners, ``sim`` by the simulator, ...), so this module never imports the layers
above core. A command is an object with ``name``, ``help``, ``add_arguments(parser)`` and
``run(args) -> int``.

Errors a user can cause (:class:`AgrifleetError`) print as one line on stderr and exit with the error's
code (2 for bad input); anything else is a bug and keeps its traceback.
"""
from __future__ import annotations

import argparse
import logging
import sys
from typing import Sequence

from . import __version__
from .errors import AgrifleetError, PluginError
from .plugin import load_all

__all__ = ["main", "build_parser"]


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, object], list[PluginError]]:
    parser = argparse.ArgumentParser(
        prog="agrifleet",
        description="Plan, simulate and run field work for fleets of autonomous tractors and drones.",
    )
    parser.add_argument("--version", action="version", version=f"agrifleet {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (repeat for debug)")
    commands, errors = load_all("agrifleet.commands")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in sorted(commands):
        command = commands[name]
        sp = sub.add_parser(name, help=command.help, description=command.help)
        command.add_arguments(sp)
    return parser, commands, errors


def main(argv: Sequence[str] | None = None) -> int:
    parser, commands, errors = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)],
                        format="%(levelname)s %(name)s: %(message)s")
    if args.command != "plugins":  # `agrifleet plugins` lists broken plugins itself
        for err in errors:
            print(f"agrifleet: warning: {err}", file=sys.stderr)
    if not args.command:
        parser.print_help()
        return 2
    try:
        return int(commands[args.command].run(args) or 0)
    except AgrifleetError as exc:
        print(f"agrifleet {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"agrifleet {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
