"""Dispatch for evals/bench: each benchmark prints a table, or with --json one JSON object.

A benchmark whose figures list `failures` (a check it makes, such as no message lost) makes evals/bench exit 1.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys

from service.config import offline_environment

BENCHMARKS = {
    "retrieval": "evals.benchmarks.retrieval",
    "grading": "evals.benchmarks.grading",
    "embed": "evals.benchmarks.embed",
    "agent": "evals.benchmarks.agent",
    "batch": "evals.benchmarks.batch",
    "batch-ray": "evals.benchmarks.batch_ray",
    "load": "evals.benchmarks.load",
    "load-faults": "evals.benchmarks.load:run_faults",  # module:function, where it is not run()
    "llm": "evals.benchmarks.llm",
    "ttft": "evals.benchmarks.ttft",
}


def main() -> None:
    offline_environment()
    logging.basicConfig(level=logging.WARNING)
    parser = argparse.ArgumentParser(prog="evals/bench", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run, of {', '.join(BENCHMARKS)} (default: all)")
    parser.add_argument("--json", action="store_true", help="one JSON object of all figures on stdout")
    args = parser.parse_args()
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    results = {}
    for name in args.names or list(BENCHMARKS):
        module, _, function = BENCHMARKS[name].partition(":")
        results[name] = getattr(importlib.import_module(module), function or "run")()
    if args.json:
        print(json.dumps(results))
    else:
        for name, figures in results.items():
            print(f"\n{name}")
            _table(figures, "  ")
    failed = [name for name, figures in results.items() if figures.get("failures")]
    if failed:
        sys.exit(f"evals/bench: {', '.join(failed)} failed its checks (see failures)")


def _table(figures: dict[str, object], indent: str) -> None:
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        if isinstance(value, dict):
            print(f"{indent}{key}")
            _table(value, indent + "  ")
        else:
            print(f"{indent}{key:<{width}}  {value}")
