"""``agrifleet sim``: the simulator's command group.

Sub-commands register in :data:`SUBCOMMANDS` (``vehicle`` lives here; scenario runs and sweeps add
themselves the same way with :func:`register`), so the group grows without an if/elif ladder.

``agrifleet sim vehicle`` runs one simulated vehicle with a MAVLink autopilot that real ground stations
(QGroundControl, Mission Planner, MAVProxy, MAVSDK) fly. By default it sends to 127.0.0.1:14550 (ground
stations) and 127.0.0.1:14540 + (sysid - 1) (APIs such as MAVSDK and agrifleet's MAVLink driver), as PX4's
simulator does; each ``--mavlink`` replaces those defaults with a pymavlink connection string.
"""
from __future__ import annotations

import argparse
import logging
import math
import signal
import sys
import time
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from agrifleet.core.errors import ConfigError
from agrifleet.core.geo import LocalFrame

__all__ = ["SUBCOMMANDS", "SimCommand", "SubCommand", "VehicleSubcommand", "parse_home", "register"]

logger = logging.getLogger(__name__)


class SubCommand(Protocol):
    name: str
    help: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


SUBCOMMANDS: dict[str, SubCommand] = {}


def register(sub: SubCommand) -> SubCommand:
    """Add a sub-command to ``agrifleet sim`` (a later registration of the same name replaces it)."""
    SUBCOMMANDS[sub.name] = sub
    return sub


def parse_home(text: str) -> tuple[float, float, float]:
    """``LAT,LON[,ALT]`` in degrees and metres above sea level; one clear error naming the value."""
    parts = [p.strip() for p in text.split(",")]
    try:
        if len(parts) not in (2, 3):
            raise ValueError
        lat, lon = float(parts[0]), float(parts[1])
        alt = float(parts[2]) if len(parts) == 3 else 0.0
    except ValueError:
        raise ConfigError(f"--home {text!r}: expected LAT,LON or LAT,LON,ALT in degrees and metres") from None
    if not (math.isfinite(lat) and -90 < lat < 90):
        raise ConfigError(f"--home {text!r}: latitude {lat} is not within (-90, 90)")
    if not (math.isfinite(lon) and -180 <= lon <= 180):
        raise ConfigError(f"--home {text!r}: longitude {lon} is not within [-180, 180]")
    if not math.isfinite(alt):
        raise ConfigError(f"--home {text!r}: altitude is not a number")
    return lat, lon, alt


def _param(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    try:
        if not sep or not name.strip():
            raise ValueError
        return name.strip().upper(), float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--param {text!r}: expected NAME=VALUE, e.g. FENCE_ENABLE=1") \
            from None


@dataclass(frozen=True, slots=True)
class VehicleSubcommand:
    name: str = "vehicle"
    help: str = "run one simulated vehicle with an ArduPilot or PX4 style MAVLink autopilot"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--kind", choices=("copter", "rover", "tractor"), default="copter",
                            help="vehicle: multirotor spray drone, small rover, or tractor (default copter)")
        parser.add_argument("--autopilot", choices=("ardupilot", "px4"), default="px4",
                            help="autopilot personality: mode numbers and mission conventions (default px4)")
        parser.add_argument("--home", required=True, metavar="LAT,LON[,ALT]",
                            help="start and home position, degrees (and metres above sea level)")
        parser.add_argument("--mavlink", action="append", default=None, metavar="URL",
                            help="pymavlink connection string, repeatable (default: udpout:127.0.0.1:14550 "
                                 "and udpout:127.0.0.1:14540+SYSID-1)")
        parser.add_argument("--sysid", type=int, default=1, metavar="N", help="MAVLink system id (default 1)")
        parser.add_argument("--speed-factor", type=float, default=1.0, metavar="K",
                            help="simulated seconds per wall second (default 1)")
        parser.add_argument("--signing-key", default=None, metavar="HEX",
                            help="MAVLink 2 signing key, 64 hex digits: unsigned commands are then ignored")
        parser.add_argument("--implement", default=None, metavar="SPEC",
                            help="implement spec (e.g. sprayer:boom_width_m=12,n_sections=4): its outputs "
                                 "switch the sections; default: sprayer on drones, relay 0 on ground "
                                 "vehicles")
        parser.add_argument("--param", action="append", type=_param, default=[], metavar="NAME=VALUE",
                            help="initial autopilot parameter, repeatable (e.g. FENCE_ENABLE=1)")
        parser.add_argument("--duration", type=float, default=math.inf, metavar="S",
                            help="stop after this much simulated time (default: run until interrupted)")
        parser.add_argument("--seed", type=int, default=0, help="random seed of sensors and wind (default 0)")

    def run(self, args: argparse.Namespace) -> int:
        from agrifleet.core.implement import build_implement
        from agrifleet.core.vehicle import VehicleKind

        from ._mav_links import Link, parse_signing_key
        from ._mav_runner import Runner
        from .autopilot import AutopilotConfig, SimAutopilot
        from .vehicles import EXAMPLE_DRONE, EXAMPLE_ROVER, EXAMPLE_TRACTOR, model_for
        from .world import World

        lat, lon, alt = parse_home(args.home)
        if not (math.isfinite(args.speed_factor) and args.speed_factor > 0):
            raise ConfigError(f"--speed-factor {args.speed_factor!r} must be a number > 0")
        if not 1 <= args.sysid <= 250:
            raise ConfigError(f"--sysid {args.sysid} must be within 1..250")
        key = parse_signing_key(args.signing_key)
        spec = {"copter": EXAMPLE_DRONE, "rover": EXAMPLE_ROVER, "tractor": EXAMPLE_TRACTOR}[args.kind]
        implement = build_implement(args.implement) if args.implement else None
        urls = args.mavlink or ["udpout:127.0.0.1:14550", f"udpout:127.0.0.1:{14540 + args.sysid - 1}"]
        config = AutopilotConfig(autopilot=args.autopilot, home_lat_deg=lat, home_lon_deg=lon, home_alt_m=alt,
                                 sysid=args.sysid, signing_key=key, params=dict(args.param))
        world = World(rng=np.random.default_rng(args.seed), dt_s=0.05, frame=LocalFrame(lat, lon))
        links = [Link(url, sysid=args.sysid, compid=1) for url in urls]
        try:
            ap = SimAutopilot(world, f"{args.kind}{args.sysid}", model_for(spec), config, links=links,
                              implement=implement)
        except ConfigError:
            for link in links:
                link.close()
            raise
        ports = ", ".join(f"{u} (port {link.local_port})" if u.startswith(("udpin", "udp:", "tcpin")) else u
                          for u, link in zip(urls, links, strict=True))
        kind = "multirotor" if spec.kind is VehicleKind.MULTIROTOR else spec.kind.value
        signed = ", signed" if key else ""
        print(f"agrifleet sim vehicle: sysid {args.sysid}, {args.autopilot} {kind}, home {lat:.7f},{lon:.7f},"
              f"{alt:g}, speed x{args.speed_factor:g}{signed}; MAVLink on {ports}", flush=True)
        runner = Runner(world, [ap], speed_factor=args.speed_factor)
        previous = signal.signal(signal.SIGTERM, lambda *_: runner.request_stop())
        started = time.monotonic()
        try:
            stats = runner.run(args.duration)
        except KeyboardInterrupt:
            stats = None
        finally:
            signal.signal(signal.SIGTERM, previous)
            ap.close()
        wall = time.monotonic() - started
        sim_s = stats.sim_s if stats else world.t_s
        print(f"agrifleet sim vehicle: stopped after {sim_s:.1f} s simulated in {wall:.1f} s "
              f"(x{sim_s / wall if wall > 0 else 0:.1f}), {ap.messages_handled} messages handled", flush=True)
        return 0


register(VehicleSubcommand())

from . import run_cli  # noqa: F401  - registers `run` and `sweep` (scenario trials)


class SimCommand:
    """The ``sim`` command: dispatches to the registered sub-commands."""

    name = "sim"
    help = "simulator: run a simulated vehicle with a MAVLink autopilot (and scenarios)"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="sim_command", metavar="SUBCOMMAND")
        for name in sorted(SUBCOMMANDS):
            command = SUBCOMMANDS[name]
            sp = sub.add_parser(name, help=command.help, description=command.help)
            command.add_arguments(sp)

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        name = getattr(args, "sim_command", None)
        if not name:
            print("agrifleet sim: choose a sub-command: " + ", ".join(sorted(SUBCOMMANDS)), file=sys.stderr)
            return 2
        return int(SUBCOMMANDS[name].run(args) or 0)

