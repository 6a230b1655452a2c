"""The A/B tally: per pair the judges' majority, per model the win rate over pairs decided, Wilson 95%."""

from __future__ import annotations

import json
from pathlib import Path

from evals import turn_ab


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_wilson_interval() -> None:
    assert turn_ab.wilson(0, 0) == (0.0, 1.0)
    low, high = turn_ab.wilson(30, 60)
    assert low < 0.5 < high and (low, high) == (0.377, 0.623)
    assert turn_ab.wilson(55, 60)[0] > 0.5


def test_tally_reads_every_judge_and_takes_each_pairs_majority(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(turn_ab, "DIR", tmp_path)
    name = turn_ab.MODELS["0.5b"]
    _write(tmp_path / "recorded_0.5b.jsonl", [
        {"trap_id": "t", "raw": "Why?", "shown": "Why?", "draft": "How?", "source": "model"},
    ])  # fmt: skip
    _write(tmp_path / "ab_key.jsonl", [
        {"pair_id": "p1", "model_option": "A", "model": name},
        {"pair_id": "p2", "model_option": "B", "model": name},
        {"pair_id": "p3", "model_option": "A", "model": name},
    ])  # fmt: skip
    _write(tmp_path / "judgments" / "j1.jsonl", [
        {"pair_id": "p1", "choice": "A"}, {"pair_id": "p2", "choice": "A"}, {"pair_id": "p3", "choice": "tie"},
    ])  # fmt: skip
    _write(tmp_path / "judgments" / "j2.jsonl", [
        {"pair_id": "p1", "choice": "A"}, {"pair_id": "p2", "choice": "A"}, {"pair_id": "p3", "choice": "B"},
    ])  # fmt: skip
    out = turn_ab.tally(tmp_path)
    m = out["models"][name]
    assert out["judges"] == ["j1", "j2"]
    assert m["pairs"] == {"model": 1, "card": 2} and m["judgments"] == {"model": 2, "card": 3, "tie": 1}
    assert m["win_rate"] == 0.333 and m["wins"] is False
