"""``agrifleet demo``: the whole system on the bundled sample farm, in accelerated time, with a report.

With no arguments it plans the sample farm's three fields for one tractor with a 24 m boom and two spray
drones (:file:`sim/data/demo.toml`), starts the dispatcher (SQLite database and CURVE keys in the output
folder), the simulated vehicles (a tractor ECU on the tractor link, ArduPilot and PX4 autopilots speaking
MAVLink over UDP) and one ``agrifleet agent`` process per vehicle, hands the fields to the fleet, follows
the work with a progress bar, and writes ``report.html`` and ``report.json``. The pieces:
:mod:`._demo_plan` (planning), :mod:`._demo_fleet` (keys, dispatcher, agents), :mod:`._demo_world` (the
vehicles and what they really did), :mod:`._demo_run` (one run), :mod:`._demo_report` and
:mod:`._demo_html` (the report).

The default speed factor (x50) is what this kind of machine sustains with the vehicles' own control rates
(the tractor's guidance at 10 Hz and its ECU's watchdog, the autopilots' telemetry) all on simulated time:
the farm's 45 minutes of work take about a minute.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from importlib.resources import files
from pathlib import Path
from typing import Any

from agrifleet.core.errors import ConfigError

__all__ = ["DEFAULT_SPEED_FACTOR", "DemoCommand", "demo_scenario_path"]

DEFAULT_SPEED_FACTOR = 50.0


def demo_scenario_path() -> Path:
    """The bundled demo scenario (the sample farm, one tractor, two drones)."""
    return Path(str(files("agrifleet.sim") / "data" / "demo.toml"))


def _speed_factor(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--speed-factor {text!r}: expected a number > 0") from None
    if not (value > 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"--speed-factor {text!r}: expected a number > 0")
    return value


class _Bar:
    """A tqdm bar of hectares done, on stderr, made at the first progress report (so that its clock and its
    estimate of the time left start with the work, not with the planning)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None

    def update(self, done_ha: float, total_ha: float, sim_s: float) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            from tqdm import tqdm

            form = "{desc} {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} ha [{elapsed}<{remaining}{postfix}]"
            self.bar = tqdm(total=total_ha, unit="ha", desc="spraying", file=sys.stderr, leave=False,
                            dynamic_ncols=True, bar_format=form)
        self.bar.n = min(done_ha, total_ha)
        self.bar.set_postfix_str(f"{sim_s / 60:.0f} min of farm time", refresh=False)
        self.bar.refresh()

    def write(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _can_open_browser() -> bool:
    """Only on an interactive desktop: a console browser would take over the terminal."""
    if not sys.stdout.isatty():
        return False
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


class DemoCommand:
    name = "demo"
    help = ("run the whole system on the bundled sample farm (dispatcher, agents, simulated tractor and "
            "drones) in accelerated time; writes report.html and report.json")

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--out", default="agrifleet-demo", metavar="DIR",
                            help="output folder: report, database, keys, agent logs "
                                 "(default ./agrifleet-demo)")
        parser.add_argument("--speed-factor", type=_speed_factor, default=DEFAULT_SPEED_FACTOR, metavar="K",
                            help=f"simulated seconds per wall second (default {DEFAULT_SPEED_FACTOR:g})")
        parser.add_argument("--seed", type=int, default=None, metavar="N",
                            help="random seed of the simulation (default: the scenario's)")
        parser.add_argument("--scenario", default=None, metavar="FILE",
                            help="another farm and fleet, in the scenario format of the bundled demo.toml")
        parser.add_argument("--json", action="store_true",
                            help="print one JSON summary line, no progress bar")
        parser.add_argument("--no-open", action="store_true", help="do not open report.html in a browser")

    @staticmethod
    def run(args: argparse.Namespace) -> int:
        from ._demo_report import build_report, summary_lines, write_report
        from ._demo_run import run_demo
        from .scenario import load_scenario

        if args.seed is not None and args.seed < 0:
            raise ConfigError(f"--seed {args.seed}: must be >= 0")
        scenario = load_scenario(args.scenario or demo_scenario_path())
        out = Path(args.out)
        talk = not args.json
        if talk:
            print(f"agrifleet demo: {scenario.name}; output in {out}/ (x{args.speed_factor:g} time)",
                  file=sys.stderr, flush=True)
        bar = _Bar(talk and sys.stderr.isatty())

        def say(line: str) -> None:
            if talk:
                bar.write(f"  {line}")

        previous = signal.signal(signal.SIGTERM, _interrupt) if _main_thread() else None
        held = _PlannerNotes.install() if not getattr(args, "verbose", 0) else None
        try:
            run = run_demo(scenario, out, speed_factor=args.speed_factor, seed=args.seed, progress=bar.update,
                           say=say)
        finally:
            bar.close()
            if held is not None:
                held.remove()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
        report = build_report(run)
        written = write_report(run, report)
        ok = bool(report["completed"] and report["passed"])
        if args.json:
            print(json.dumps({"completed": report["completed"], "passed": report["passed"], "out": str(out),
                              "files": [str(p) for p in written], "summary": report["summary"],
                              "fields": report["fields"], "criteria": report["criteria"],
                              "timings": report["timings"]}))
            return 0 if ok else 1
        for line in summary_lines(report):
            print(line)
        failed = [c["name"] for c in report["criteria"] if not c["passed"]]
        if failed:
            print(f"  criteria not met: {', '.join(failed)}")
        if report["planning"]["notes"]:
            print(f"  {len(report['planning']['notes'])} planner notes in report.json (planning.notes)")
        print(f"  wrote {', '.join(str(p) for p in written)} (database {out / 'fleet.db'}, keys "
              f"{out / 'keys'}, agent logs {out / 'logs'})")
        if not args.no_open and _can_open_browser():
            import webbrowser

            webbrowser.open(written[-1].resolve().as_uri())
        return 0 if ok else 1


class _PlannerNotes(logging.Filter):
    """Keeps the planners' warnings off the terminal (the report lists them as planning notes): going from
    field to field, transits that start outside a field are expected, and say so at length."""

    NAMES = ("agrifleet.core.replan", "agrifleet.planners")

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or not record.name.startswith(self.NAMES)

    @classmethod
    def install(cls) -> _PlannerNotes:
        held = cls()
        for handler in logging.getLogger().handlers:
            handler.addFilter(held)
        return held

    def remove(self) -> None:
        for handler in logging.getLogger().handlers:
            handler.removeFilter(self)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _interrupt(signum: int, frame: Any) -> None:
    """SIGTERM ends the demo as Ctrl-C does: every process and vehicle is stopped on the way out."""
    raise KeyboardInterrupt
