"""Command-line commands of fleet control: ``serve``, ``job``, ``watch`` and ``keys``.

``serve`` runs the dispatcher in the foreground. ``job`` and ``watch`` are operator clients of a running
dispatcher (``--server``, loopback by default); with ``--keys DIR`` they authenticate with an operator key
(``--operator NAME``, default ``operator``). ``keys gen`` makes the CURVE certificates.
"""
from __future__ import annotations

import argparse
import json
import math
import signal
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .bus import BusConfig, Subscriber, request
from .dispatcher import Dispatcher, DispatcherConfig, field_to_wire
from .errors import ConfigError, PlanError
from .keys import ClientKeys, Role, generate, load_client
from .messages import Event, EventCode, FleetState, Progress, Severity
from .store import JobState

__all__ = ["DEFAULT_SERVER", "JobCommand", "KeysCommand", "ServeCommand", "WatchCommand"]

DEFAULT_SERVER = "tcp://127.0.0.1:5755"
DEFAULT_PUB = "tcp://127.0.0.1:5756"
_PLAN_SUFFIXES = (".afp", ".msgpack", ".mpk")
_STATE_NAMES = ("idle", "active", "paused", "complete", "aborted", "returning", "failed")


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number")
    return value


def _client_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", default=DEFAULT_SERVER, help=f"dispatcher address (default {DEFAULT_SERVER})")
    parser.add_argument("--keys", metavar="DIR", help="CURVE key directory (agrifleet keys gen)")
    parser.add_argument("--operator", default="operator", help="operator key name under DIR/operators")
    parser.add_argument("--timeout", type=_positive, default=10.0, help="seconds to wait for the dispatcher")
    parser.add_argument("--json", action="store_true", help="print JSON")


def _keys(args: argparse.Namespace) -> ClientKeys | None:
    return load_client(args.keys, args.operator, Role.OPERATOR) if args.keys else None


def _call(args: argparse.Namespace, op: str, **kwargs: Any) -> Any:
    return request(args.server, op, kwargs, _keys(args), args.timeout)


# --- serve ---------------------------------------------------------------------------------------------

class ServeCommand:
    name = "serve"
    help = "run the fleet dispatcher (ZeroMQ ROUTER for agents and operators, PUB for fleet state)"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--bind", default=DEFAULT_SERVER, help=f"agent/operator socket (default {DEFAULT_SERVER})")
        parser.add_argument("--pub", default=DEFAULT_PUB, help=f"fleet state socket (default {DEFAULT_PUB}); "
                                                               "'none' to switch it off")
        parser.add_argument("--db", default="agrifleet.db", help="SQLite database file (default agrifleet.db)")
        parser.add_argument("--keys", metavar="DIR", help="serve with CURVE; admit only the keys in DIR")
        parser.add_argument("--heartbeat", type=_positive, default=1.0, help="heartbeat interval, s (default 1)")
        parser.add_argument("--replan-after", type=_positive, default=10.0,
                            help="re-plan a silent vehicle's work after this many seconds (default 10)")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        config = DispatcherConfig(bind=args.bind, pub_bind=None if args.pub == "none" else args.pub, db=args.db,
                                  keys_dir=args.keys, bus=BusConfig(heartbeat_s=args.heartbeat,
                                                                    resend_s=args.heartbeat),
                                  replan_after_s=args.replan_after)
        dispatcher = Dispatcher(config)
        signal.signal(signal.SIGTERM, lambda *_: dispatcher.stop(0))
        signal.signal(signal.SIGINT, lambda *_: dispatcher.stop(0))
        print(f"agrifleet serve: database {args.db}; agents and operators on {args.bind}, "
              f"state on {config.pub_bind or 'none'}{' (CURVE)' if args.keys else ''}", flush=True)
        try:
            dispatcher.run()
        except OSError as exc:
            raise ConfigError(f"cannot serve on {args.bind}: {exc}") from None
        return 0


# --- job -----------------------------------------------------------------------------------------------

class JobCommand:
    name = "job"
    help = "submit, list, inspect, pause, resume or abort jobs on a running dispatcher"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="job_command", metavar="ACTION", required=True)
        p = sub.add_parser("submit", help="plan a field (or take ready plans) and dispatch it to vehicles")
        p.add_argument("field", help="field file (GeoJSON, KML, Shapefile, WKT) or plan file (.afp/.msgpack, "
                                     "plan GeoJSON), one plan per vehicle")
        p.add_argument("--vehicles", required=True, help="comma-separated vehicle ids")
        p.add_argument("--implement", default="", help="implement spec, e.g. sprayer:boom_width_m=24")
        p.add_argument("--name", help="job name (default: the file's name)")
        p.add_argument("--crs", default="auto", help="coordinates of a field file (auto, wgs84, local, gcj02, bd09)")
        p.add_argument("--width", type=_positive, help="working width, m (default: the implement's)")
        p.add_argument("--turn-radius", type=_positive, help="turning radius, m (default: the vehicles')")
        p.add_argument("--headland-passes", type=int, help="rings around the boundary")
        p.add_argument("--angle", help="swath direction in degrees, or auto")
        _client_options(p)
        p = sub.add_parser("list", help="all jobs")
        _client_options(p)
        p = sub.add_parser("status", help="one job, its missions and coverage")
        p.add_argument("job", type=int)
        _client_options(p)
        for action in ("pause", "resume", "abort"):
            p = sub.add_parser(action, help=f"{action} a job, one vehicle (--vehicle) or, with neither, every job")
            p.add_argument("job", type=int, nargs="?")
            p.add_argument("--vehicle", help="only this vehicle")
            p.add_argument("--wait", action="store_true", help="answer when the vehicles have confirmed")
            _client_options(p)

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        action = args.job_command
        if action == "submit":
            result = _call(args, "submit", **_submission(args))
            print(json.dumps(result) if args.json else
                  f"job {result['job']} submitted: " + ", ".join(f"{v} ({n} samples)"
                                                                 for v, n in result["samples"].items()))
        elif action == "list":
            jobs = _call(args, "list")
            if args.json:
                print(json.dumps(jobs))
            for j in [] if args.json else jobs:
                print(f"{j['id']:>5}  {j['state']:<9} {100 * j['coverage']:6.1f} %  {j['name']}  "
                      f"[{', '.join(j['vehicles'])}]")
            if not jobs and not args.json:
                print("no jobs")
        elif action == "status":
            status = _call(args, "status", job=args.job)
            if args.json:
                print(json.dumps(status))
            else:
                print(f"job {status['id']} {status['name']!r}: {status['state']}, coverage "
                      f"{100 * status['coverage']:.1f} % ({status['done_m']:.0f} of {status['working_m']:.0f} m)")
                for m in status["missions"]:
                    print(f"  mission {m['id']:>4} {m['vehicle']:<12} {m['phase']:<10} at {m['acked_index']:>6} of "
                          f"{m['n_samples']:<6} {m['reason']}")
        else:
            if args.job is not None and args.vehicle:
                raise ConfigError(f"job {action}: give a job or --vehicle, not both")
            kwargs: dict[str, Any] = {"vehicle": args.vehicle} if args.vehicle else (
                {"job": args.job} if args.job is not None else {})
            if args.wait:
                kwargs.update(wait=True, timeout_s=args.timeout * 0.8)
            result = _call(args, action, **kwargs)
            print(json.dumps(result) if args.json else f"{action}: " + (
                f"vehicle {result['vehicle']}" if "vehicle" in result else
                (f"job(s) {', '.join(map(str, result['jobs']))}" if result["jobs"] else "no open job")))
        return 0


def _submission(args: argparse.Namespace) -> dict[str, Any]:
    vehicles = [v.strip() for v in args.vehicles.split(",") if v.strip()]
    if not vehicles:
        raise ConfigError("--vehicles: give at least one vehicle id")
    path = Path(args.field)
    name = args.name or path.stem
    if _is_plan_file(path):
        from .plan_io import plans_to_msgpack, read_plans
        plans = read_plans(path)
        return {"name": name, "vehicles": vehicles, "implement": args.implement,
                "plans": plans_to_msgpack(plans)}
    from .field_files import load_fields
    fields = load_fields(path, crs=args.crs)
    if len(fields) != 1:
        raise ConfigError(f"{path}: holds {len(fields)} fields; submit one field per job")
    f = fields[0]
    params: dict[str, Any] = {}
    for key, value in (("width_m", args.width), ("turn_radius_m", args.turn_radius),
                       ("headland_passes", args.headland_passes)):
        if value is not None:
            params[key] = value
    if args.angle is not None and args.angle != "auto":
        try:
            params["angle_deg"] = float(args.angle)
        except ValueError:
            raise ConfigError(f"--angle {args.angle!r}: give degrees or 'auto'") from None
    return {"name": name, "vehicles": vehicles, "implement": args.implement, "params": params,
            "field": field_to_wire(f.boundary, f.frame.to_dict() if f.frame else None, f.name)}


def _is_plan_file(path: Path) -> bool:
    if path.suffix.lower() in _PLAN_SUFFIXES:
        return True
    if path.suffix.lower() in (".geojson", ".json") and path.is_file():
        try:
            head = path.read_bytes()
        except OSError as exc:
            raise PlanError(f"{path}: cannot read ({exc.strerror})") from None
        return b'"agrifleet"' in head and b'"agrifleet.plan"' in head
    return False


# --- watch ---------------------------------------------------------------------------------------------

class WatchCommand:
    name = "watch"
    help = "follow live fleet state, progress and events from a running dispatcher"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        _client_options(parser)
        parser.add_argument("--pub", help="state socket (default: asked from the dispatcher)")
        parser.add_argument("--count", type=int, default=0, help="stop after this many updates (0 = never)")
        parser.add_argument("--for", dest="for_s", type=_positive, help="stop after this many seconds")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        import time
        pub = args.pub or _pub_address(args)
        sub = Subscriber(pub, keys=_keys(args))
        shown = 0
        deadline = time.monotonic() + args.for_s if args.for_s else math.inf
        try:
            while time.monotonic() < deadline and (not args.count or shown < args.count):
                got = sub.receive(min(0.5, max(0.0, deadline - time.monotonic())))
                if got is None:
                    continue
                topic, msg = got
                shown += 1
                if args.json:
                    print(json.dumps({"topic": topic, **_jsonable(msg.body())}), flush=True)
                else:
                    print(_describe(topic, msg), flush=True)
        finally:
            sub.close()
        return 0


def _pub_address(args: argparse.Namespace) -> str:
    pub = str(_call(args, "ping")["pub"])
    if not pub:
        raise ConfigError(f"the dispatcher at {args.server} publishes no state (serve --pub none)")
    host = urlsplit(args.server).hostname or "127.0.0.1"
    parts = urlsplit(pub)
    if parts.hostname in ("0.0.0.0", "::", "*"):
        pub = f"{parts.scheme}://{host}:{parts.port}"
    return pub


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _describe(topic: str, msg: Any) -> str:
    if isinstance(msg, FleetState):
        vehicles = "  ".join(
            f"{v['id']}:{'on' if v.get('connected') else 'OFF'}/{_STATE_NAMES[v['state']] if 0 <= v['state'] < 7 else v['state']}"
            f"@{v['index']}" + (f" {v['battery_pct']:.0f}%" if isinstance(v.get("battery_pct"), float)
                                and math.isfinite(v["battery_pct"]) else "")
            for v in msg.vehicles)
        jobs = "  ".join(f"job {j['id']} {j['state']} {100 * j['coverage']:.1f}%" for j in msg.jobs if
                         j["state"] not in JobState.FINAL)
        return f"state  {vehicles or 'no vehicles'} | {jobs or 'no open jobs'}"
    if isinstance(msg, Progress):
        return f"progress mission {msg.mission}: index {msg.index}, {100 * msg.coverage:.1f} %, " \
               f"{_STATE_NAMES[msg.state] if msg.state < 7 else msg.state}"
    if isinstance(msg, Event):
        return f"event  mission {msg.mission}: {EventCode(msg.code).name.lower()} " \
               f"({Severity(msg.severity).name.lower()}) {msg.text}"
    return f"{topic} {msg.KIND.name.lower()}"


# --- keys ----------------------------------------------------------------------------------------------

class KeysCommand:
    name = "keys"
    help = "make CURVE keys for the dispatcher, vehicles and operators"

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
        p = sub.add_parser("gen", help="create the server key and one key per vehicle and operator")
        p.add_argument("--dir", default="keys", help="key directory (default ./keys)")
        p.add_argument("--vehicles", default="", help="comma-separated vehicle ids")
        p.add_argument("--operators", default="operator", help="comma-separated operator names (default operator)")
        p.add_argument("--force", action="store_true", help="replace existing keys")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        vehicles = [v.strip() for v in args.vehicles.split(",") if v.strip()]
        operators = [o.strip() for o in args.operators.split(",") if o.strip()]
        written = generate(args.dir, vehicles, operators, force=args.force)
        for path in written:
            print(path)
        if not written:
            print(f"{args.dir}: all keys exist already (--force to replace)", file=sys.stderr)
        return 0
