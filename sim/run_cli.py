"""``agrifleet sim run`` and ``agrifleet sim sweep``: scenario trials from the command line.

``run`` runs one trial headless and writes its report (``report.json``, ``timing.json``, ``report.png``);
it exits 0 when every criterion holds, 1 when one fails and 2 for a bad scenario. ``sweep`` runs many
trials (scenarios x seeds) on local processes or a Dask cluster and prints a table. Both show a progress
bar on a terminal; ``--json`` prints one JSON document instead, for scripts.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agrifleet.core.errors import ConfigError

from .cli import register

__all__ = ["RunSubcommand", "SweepSubcommand", "parse_speed_factor"]


def parse_speed_factor(text: str) -> float | None:
    """``max`` (as fast as possible: ``None``) or a positive number of simulated seconds per wall second."""
    if text.strip().lower() in ("max", "inf", "fast"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--speed-factor {text!r}: expected a number > 0 or 'max'") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"--speed-factor {text!r}: expected a number > 0 or 'max'")
    return value


def _bar(enabled: bool, total: float, unit: str, desc: str) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, desc=desc, disable=not enabled, file=sys.stderr, leave=False,
                dynamic_ncols=True, bar_format="{desc} {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} {unit} "
                                               "[{elapsed}<{remaining}]")


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.4g}{unit}"
    return f"{value}{unit}"


@dataclass(frozen=True, slots=True)
class RunSubcommand:
    name: str = "run"
    help: str = "run a scenario headless: faults, acceptance criteria, report.json and a picture"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("scenario", metavar="SCENARIO.toml", help="scenario file")
        parser.add_argument("--report", metavar="DIR", default=None,
                            help="write report.json, timing.json and report.png here "
                                 "(default: ./<scenario>-report)")
        parser.add_argument("--seed", type=int, default=None, metavar="N",
                            help="random seed (default: the scenario's)")
        parser.add_argument("--speed-factor", type=parse_speed_factor, default=None, metavar="K|max",
                            help="simulated seconds per wall second, or max (default max)")
        parser.add_argument("--no-picture", action="store_true", help="skip report.png")
        parser.add_argument("--json", action="store_true", help="print one JSON object (no progress bar)")

    def run(self, args: argparse.Namespace) -> int:
        from ._report import write_report
        from .runner import run_trial
        from .scenario import load_scenario

        if args.seed is not None and args.seed < 0:
            raise ConfigError(f"--seed {args.seed}: must be >= 0")
        scenario = load_scenario(args.scenario)
        out = Path(args.report) if args.report else Path(f"{Path(args.scenario).stem}-report")
        bar = _bar(not args.json and sys.stderr.isatty(), scenario.run.time_limit_s, "s", scenario.name)

        def progress(t_s: float, limit_s: float) -> None:
            bar.update(min(t_s, limit_s) - bar.n)

        try:
            result = run_trial(scenario, args.seed, speed_factor=args.speed_factor, progress=progress)
        finally:
            bar.close()
        written = write_report(result, out, picture=not args.no_picture)
        report, timing = result.report, result.timing
        if args.json:
            print(json.dumps({"passed": result.passed, "exit_code": result.exit_code, "report": str(out),
                              "files": [str(p) for p in written], "criteria": report["criteria"],
                              "summary": report["summary"], "timing": timing}))
            return result.exit_code
        s = report["summary"]
        verdict = "PASSED" if result.passed else "FAILED"
        done = f"done at {s['done_at_s']:.1f} s" if s["done_at_s"] is not None else \
            f"not done within the time limit of {s['time_limit_s']:g} s"
        print(f"{scenario.name} (seed {report['seed']}): {verdict}, {done}; "
              f"{s['sim_time_s']:.1f} s simulated in {timing['wall_s']:.1f} s "
              f"(x{timing['real_time_factor']:.0f})")
        for c in report["criteria"]:
            mark = "ok  " if c["passed"] else "FAIL"
            worst = f" ({c['worst']})" if c["worst"] else ""
            print(f"  {mark} {c['name']:<22} limit {_fmt(c['limit']):<8} "
                  f"measured {_fmt(c['measured'])}{worst}")
        if not report["criteria"]:
            print("  (the scenario sets no criteria)")
        print(f"  faults applied {s['faults_applied']}, missions re-planned {s['replanned_missions']}, "
              f"breaches {s['breaches']}")
        print(f"  wrote {', '.join(str(p) for p in written)}")
        return result.exit_code


@dataclass(frozen=True, slots=True)
class SweepSubcommand:
    name: str = "sweep"
    help: str = "run many scenario trials (scenarios x seeds) on local processes or a Dask cluster"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("scenarios", nargs="+", metavar="SCENARIO.toml", help="scenario files")
        parser.add_argument("--seeds", type=int, default=1, metavar="N",
                            help="trials per scenario, on seeds S, S+1, ... from the scenario's seed S "
                                 "(default 1)")
        parser.add_argument("--workers", type=int, default=None, metavar="N",
                            help="local worker processes (default: one per CPU; 1 runs in this process)")
        parser.add_argument("--scheduler", default=None, metavar="tcp://HOST:8786",
                            help="run on this Dask distributed scheduler instead of local processes")
        parser.add_argument("--speed-factor", type=parse_speed_factor, default=None, metavar="K|max",
                            help="simulated seconds per wall second, or max (default max)")
        parser.add_argument("--report", metavar="DIR", default=None,
                            help="write every trial's report into DIR/<scenario>-seed<N>/")
        parser.add_argument("--json", action="store_true", help="print one JSON object (no progress bar)")

    def run(self, args: argparse.Namespace) -> int:
        from .scenario import load_scenario
        from .sweep import run_sweep, table, trials_for, write_sweep_reports

        scenarios = [load_scenario(p) for p in args.scenarios]     # every file checked before anything runs
        trials = trials_for(scenarios, args.seeds)
        bar = _bar(not args.json and sys.stderr.isatty(), len(trials), "trials", "sweep")
        try:
            summaries = run_sweep(trials, workers=args.workers, scheduler=args.scheduler,
                                  speed_factor=args.speed_factor, with_reports=args.report is not None,
                                  progress=lambda _: bar.update(1))
        finally:
            bar.close()
        if args.report:
            write_sweep_reports(summaries, trials, args.report)
        passed = sum(1 for s in summaries if s["passed"])
        code = 2 if any(s["exit_code"] == 2 for s in summaries) else (0 if passed == len(summaries) else 1)
        if args.json:
            print(json.dumps({"trials": summaries, "passed": passed, "failed": len(summaries) - passed,
                              "exit_code": code}, default=str))
            return code
        for line in table(summaries):
            print(line)
        for s in summaries:
            if s.get("error"):
                print(f"{s['file']} seed {s['seed']}: {s['status']}: {s['error']}")
            elif s.get("failed_criteria"):
                print(f"{s['file']} seed {s['seed']}: failed {', '.join(s['failed_criteria'])}")
        where = f"; reports in {args.report}" if args.report else ""
        print(f"{passed} of {len(summaries)} trial(s) passed{where}")
        return code


register(RunSubcommand())
register(SweepSubcommand())
