"""``agrifleet agent``: run the vehicle agent for one vehicle with a driver plugin, in the foreground."""
from __future__ import annotations

import argparse
import signal
from typing import Any

from agrifleet.core.bus import BusConfig
from agrifleet.core.errors import ConfigError
from agrifleet.core.keys import Role, load_client

from .agent import Agent, load_driver

__all__ = ["AgentCommand"]


def _option(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"{text!r}: write driver options as key=value")
    for convert in (int, float):
        try:
            return key, convert(value)
        except ValueError:
            pass
    return key, {"true": True, "false": False}.get(value.lower(), value)


class AgentCommand:
    name = "agent"
    help = "run the vehicle agent: connect a driver plugin to the fleet dispatcher"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--vehicle", required=True, help="vehicle id (as the dispatcher knows it)")
        parser.add_argument("--driver", required=True, help="driver plugin name (agrifleet plugins)")
        parser.add_argument("--connect", metavar="URL", help="vehicle link for the driver, e.g. udpin://0.0.0.0:14540")
        parser.add_argument("--server", default="tcp://127.0.0.1:5755", help="dispatcher address")
        parser.add_argument("--keys", metavar="DIR", help="CURVE keys: DIR/server.key and DIR/vehicles/ID.key_secret")
        parser.add_argument("--option", "-o", action="append", type=_option, default=[], metavar="KEY=VALUE",
                            help="driver option (repeatable)")
        parser.add_argument("--heartbeat", type=float, default=1.0, help="heartbeat interval, s (default 1)")
        parser.add_argument("--connect-timeout", type=float, default=10.0, help="seconds to reach the vehicle")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        if not args.heartbeat > 0:
            raise ConfigError(f"--heartbeat {args.heartbeat}: must be > 0")
        keys = load_client(args.keys, args.vehicle, Role.VEHICLE) if args.keys else None
        driver = load_driver(args.driver, args.vehicle, args.connect, **dict(args.option))
        agent = Agent(args.vehicle, driver, args.server, keys,
                      BusConfig(heartbeat_s=args.heartbeat, resend_s=args.heartbeat), driver_name=args.driver)
        signal.signal(signal.SIGTERM, lambda *_: agent.request_stop())
        signal.signal(signal.SIGINT, lambda *_: agent.request_stop())
        print(f"agrifleet agent: vehicle {args.vehicle}, driver {args.driver}, dispatcher {args.server}"
              f"{' (CURVE)' if keys else ''}", flush=True)
        try:
            agent.run(args.connect_timeout)
        finally:
            driver.close()
        return 0
