"""Batch trials: many scenarios and seeds, on local processes or on a Dask distributed cluster.

A sweep is a list of (scenario, seed) trials. :func:`run_one` runs one trial and returns a small summary
(and, when asked, the report's files as bytes); it is a plain top-level function of picklable arguments, so
it runs the same in a ``concurrent.futures.ProcessPoolExecutor`` worker (the default; ``spawn`` start, so a
worker never inherits the caller's threads) and on a Dask worker (``distributed.Client.map``). Scenarios
travel as checked :class:`~agrifleet.sim.scenario.Scenario` objects with their field geometry, so workers
on other machines need no access to the scenario files, and reports come back to the caller, who writes
them. Results are returned in trial order whatever order the workers finish in.
"""
from __future__ import annotations

import logging
import math
import multiprocessing
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agrifleet.core.errors import ConfigError, ScenarioError

from .scenario import Scenario

__all__ = ["Trial", "run_one", "run_sweep", "table", "trials_for", "write_sweep_reports"]

logger = logging.getLogger(__name__)

Progress = Callable[[dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class Trial:
    scenario: Scenario
    seed: int

    @property
    def label(self) -> str:
        return f"{Path(self.scenario.source).stem}-seed{self.seed}"


def trials_for(scenarios: Sequence[Scenario], seeds: int) -> list[Trial]:
    """``seeds`` trials per scenario, on the seeds that follow the scenario's own (its seed first)."""
    if seeds < 1:
        raise ConfigError(f"--seeds {seeds}: at least one seed per scenario")
    return [Trial(sc, sc.seed + k) for sc in scenarios for k in range(seeds)]


def run_one(scenario: Scenario, seed: int, speed_factor: float | None = None,
            with_report: bool = False) -> dict[str, Any]:
    """Run one trial; never raises: a bad scenario or a crash becomes the summary's ``status``."""
    from ._report import render_files
    from .runner import run_trial

    base = {"scenario": scenario.name, "file": Path(scenario.source).name, "seed": seed}
    try:
        result = run_trial(scenario, seed, speed_factor=speed_factor)
    except ScenarioError as exc:
        return {**base, "status": "bad scenario", "passed": False, "exit_code": 2, "error": str(exc)}
    except Exception as exc:  # a crash in one trial must not take the sweep down; it is reported
        logger.debug("trial %s seed %d crashed", scenario.name, seed, exc_info=True)
        return {**base, "status": "error", "passed": False, "exit_code": 1,
                "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc(limit=8)}
    s = result.report["summary"]
    out = {**base, "status": "passed" if result.passed else "failed", "passed": result.passed,
           "exit_code": result.exit_code, "coverage_min": s["coverage_min"], "overlap_max": s["overlap_max"],
           "cross_track_rms_max_m": s["cross_track_rms_max_m"], "done_at_s": s["done_at_s"],
           "sim_s": s["sim_time_s"], "breaches": s["breaches"], "replanned": s["replanned_missions"],
           "failed_criteria": [c["name"] for c in result.report["criteria"] if not c["passed"]],
           "wall_s": result.timing["wall_s"], "real_time_factor": result.timing["real_time_factor"]}
    if with_report:
        out["files"] = render_files(result)
    return out


def run_sweep(trials: Sequence[Trial], *, workers: int | None = None, scheduler: str | None = None,
              client: Any = None, speed_factor: float | None = None, with_reports: bool = False,
              progress: Progress | None = None) -> list[dict[str, Any]]:
    """Run ``trials`` and return their summaries in trial order.

    Local processes by default (``workers``: how many, default the CPU count; ``1`` runs in this process);
    on a Dask cluster when ``scheduler`` (``tcp://host:8786``) or a ``distributed.Client`` is given.
    ``progress(summary)`` is called as each trial finishes."""
    if not trials:
        return []
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers {workers}: at least one worker")
    args = [(t.scenario, t.seed, speed_factor, with_reports) for t in trials]
    if client is not None or scheduler is not None:
        return _on_dask(args, scheduler, client, progress)
    if workers == 1 or len(trials) == 1:
        out = []
        for a in args:
            out.append(run_one(*a))
            if progress is not None:
                progress(out[-1])
        return out
    n = min(workers or multiprocessing.cpu_count(), len(trials))
    results: list[dict[str, Any] | None] = [None] * len(trials)
    with ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(run_one, *a): k for k, a in enumerate(args)}
        for fut in as_completed(futures):
            results[futures[fut]] = fut.result()
            if progress is not None:
                progress(results[futures[fut]])   # type: ignore[arg-type]
    return [r for r in results if r is not None]


def _on_dask(args: list[tuple[Any, ...]], scheduler: str | None, client: Any,
             progress: Progress | None) -> list[dict[str, Any]]:
    try:
        from distributed import Client
        from distributed import as_completed as dask_completed
    except ImportError:
        raise ConfigError("--scheduler needs Dask's distributed package (pip install 'dask[distributed]')") \
            from None
    own = client is None
    if own:
        try:
            client = Client(scheduler, timeout=10)
        except (OSError, TimeoutError) as exc:
            raise ConfigError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({exc})") from None
    try:
        futures = [client.submit(run_one, *a, pure=False) for a in args]
        index = {f.key: k for k, f in enumerate(futures)}
        results: list[dict[str, Any] | None] = [None] * len(args)
        for fut in dask_completed(futures):
            results[index[fut.key]] = fut.result()
            if progress is not None:
                progress(results[index[fut.key]])   # type: ignore[arg-type]
        return [r for r in results if r is not None]
    finally:
        if own:
            client.close()


def write_sweep_reports(summaries: Sequence[dict[str, Any]], trials: Sequence[Trial], directory: str | Path
                        ) -> list[Path]:
    """Write each trial's report files (``files`` of its summary) into ``directory/<scenario>-seed<N>``."""
    from ._report import write_files

    written = []
    for summary, trial in zip(summaries, trials, strict=True):
        files = summary.pop("files", None)
        if files:
            written.append(write_files(files, Path(directory) / trial.label)[0].parent)
    return written


def table(summaries: Sequence[dict[str, Any]]) -> list[str]:
    """The summary table, one line per trial."""
    head = f"{'scenario':<28} {'seed':>5} {'result':<12} {'coverage':>9} {'overlap':>8} {'xte rms':>8} " \
           f"{'done at':>8} {'sim s':>7} {'wall s':>7}"
    lines = [head, "-" * len(head)]
    for s in summaries:
        lines.append(f"{s['scenario'][:28]:<28} {s['seed']:>5} {s['status']:<12} "
                     f"{_pct(s.get('coverage_min')):>9} {_pct(s.get('overlap_max')):>8} "
                     f"{_num(s.get('cross_track_rms_max_m'), 3):>8} {_num(s.get('done_at_s'), 0):>8} "
                     f"{_num(s.get('sim_s'), 0):>7} {_num(s.get('wall_s'), 1):>7}")
    return lines


def _pct(v: Any) -> str:
    return f"{100 * v:.2f}%" if isinstance(v, float) and math.isfinite(v) else "-"


def _num(v: Any, digits: int) -> str:
    return f"{v:.{digits}f}" if isinstance(v, (int, float)) and math.isfinite(v) else "-"
