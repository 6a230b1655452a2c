"""The eval runners compute what they claim, on small inputs whose answers are known."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals import retrieval
from evals.grading import metrics
from evals.semeval import f1_report
from service.errors import InvalidInputError, UnknownTrapError


def test_grading_metrics_on_a_toy_set() -> None:
    rows = [
        {"band": [80, 100], "fell_into_trap": False, "kind": "expert"},
        {"band": [40, 75], "fell_into_trap": False, "kind": "partial"},
        {"band": [0, 40], "fell_into_trap": True, "kind": "trap"},
        {"band": [0, 30], "fell_into_trap": False, "kind": "injection"},
    ]
    m = metrics(rows, [90, 50, 45, 10], [False, True, True, False])
    assert m["spearman"] == 1.0
    assert m["band_accuracy"] == 0.75  # the trap answer's 45 is outside [0, 40]
    assert (m["trap_precision"], m["trap_recall"]) == (0.5, 1.0)
    assert m["injection_robustness"] == 1.0


def test_f1_report() -> None:
    r = f1_report([True, True, False, False], [True, False, False, False])
    assert r["accuracy"] == 0.75 and r["macro_f1"] == round((2 / 3 + 0.8) / 2, 4)


def test_retrieval_eval_on_own_file(tmp_path: Path, index) -> None:  # type: ignore[no-untyped-def]
    queries = tmp_path / "q.jsonl"
    queries.write_text(
        json.dumps({"query": "reservoir sampling proof for a stream", "trap_id": "mlsd-33"})
        + "\n"
        + json.dumps({"query": "bytes per parameter of AdamW in mixed precision", "trap_id": "llm-45"})
        + "\n"
    )
    result = retrieval.run(index, queries)
    assert result["queries"] == 2 and set(result["methods"]) == {"hybrid", "dense", "lexical"}
    assert result["methods"]["hybrid"]["top3"] == 1.0


def test_retrieval_eval_rejects_bad_files(tmp_path: Path, index) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"query": "x", "trap_id": "mlsd-33"}\nnot json\n')
    with pytest.raises(InvalidInputError, match="bad.jsonl:2: not JSON"):
        retrieval.run(index, bad)
    unknown = tmp_path / "unknown.jsonl"
    unknown.write_text('{"query": "x", "trap_id": "mlsd-99"}\n')
    with pytest.raises(UnknownTrapError, match="unknown trap id 'mlsd-99'"):
        retrieval.run(index, unknown)


def test_repository_queries_cover_every_trap(catalog) -> None:  # type: ignore[no-untyped-def]
    rows = [json.loads(line) for line in retrieval.DEFAULT_QUERIES.read_text().splitlines()]
    per_trap = {t: sum(r["trap_id"] == t for r in rows) for t in catalog.ids}
    assert min(per_trap.values()) >= 3 and len(rows) >= 147


def test_recall_tradeoff_reaches_each_goal_at_the_best_precision_the_grid_offers(catalog) -> None:  # type: ignore[no-untyped-def]
    from evals.calibrate import _predict, _recall_tradeoff
    from evals.grading import DEFAULT_GOLD, load_gold
    from service.grading import semantic
    from service.grading.subject import Subject

    rows = load_gold(DEFAULT_GOLD, catalog, {"mlsd-32", "adl-19"})
    th = semantic.thresholds("trap")
    analysed = [
        (s, semantic.analyse(s, r["answer"], th))
        for s, r in ((Subject.from_trap(catalog.get(r["trap_id"])), r) for r in rows)
    ]
    grid = [(f, m) for f in (0.3, 0.45, 0.6, 0.75) for m in (-0.1, 0.0, 0.1)]
    points = _recall_tradeoff(rows, analysed, th, grid)
    assert points, "the loosest point of this grid flags every trap answer"
    for p in points:
        assert p["trap_recall"] >= p["recall_at_least"]
        flagged = _predict(analysed, th.model_copy(update={"flag": p["flag"], "flag_margin": p["flag_margin"]}))[1]
        wrong = [r["kind"] for r, f in zip(rows, flagged, strict=True) if f and not r["fell_into_trap"]]
        assert sum(p["false_flags_by_kind"].values()) == len(wrong)
        others = [
            metrics(rows, *_predict(analysed, th.model_copy(update={"flag": f, "flag_margin": m}))) for f, m in grid
        ]
        assert all(
            b["trap_precision"] <= p["trap_precision"] for b in others if b["trap_recall"] >= p["recall_at_least"]
        )
    # Asking for more recall can only cost precision.
    assert [p["trap_precision"] for p in points] == sorted((p["trap_precision"] for p in points), reverse=True)
