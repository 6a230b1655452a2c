"""Evaluation runners and benchmarks; data files sit beside them (retrieval/, gold/)."""

from pathlib import Path

EVALS_DIR = Path(__file__).resolve().parent
