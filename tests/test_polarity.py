"""The reader's data: many writers, current statements, splits that keep held-out writers and traps out."""

from __future__ import annotations

from collections import Counter

from evals import polarity
from evals.polarity_data import CELLS, HELD_OUT_TRAPS, HELD_OUT_WRITERS, Pair, load
from service.catalog import Catalog


def test_every_line_names_current_statements_of_its_trap(catalog: Catalog) -> None:
    pairs, problems = load(catalog)
    assert problems == []  # a renamed point would silently lose its labels
    assert {p.trap_id for p in pairs if p.trap_id} == set(catalog.ids)


def test_the_set_is_written_by_many_writers_at_scale(catalog: Catalog) -> None:
    pairs, _ = load(catalog)
    writers = Counter(p.writer for p in pairs if p.writer != "project")
    assert len(writers) >= 8 and set(writers) >= HELD_OUT_WRITERS
    on_traps = [p for p in pairs if p.trap_id is not None and p.writer != "project"]
    general = [p for p in pairs if p.trap_id is None]
    assert len(on_traps) >= 25_000 and len(general) >= 5_000
    kinds = Counter(p.kind for p in on_traps if p.explicit)
    for kind in ("assertion", "terse", "rejection", "setup", "attributed", "concession", "double-negation", "contrast"):
        assert kinds[kind] >= 50, f"{kind}: {kinds[kind]}"


def test_cells_split_by_whole_writers_and_traps() -> None:
    trap = sorted(HELD_OUT_TRAPS)[0]
    writer = sorted(HELD_OUT_WRITERS)[0]

    def pair(w: str, t: str | None, pid: str) -> Pair:
        return Pair(w, t, "c/p", "s", "passage", "entails", "assertion", pid)

    assert pair(writer, trap, "x").cell == "unseen-writer/unseen-trap"
    assert pair(writer, "mlsd-35", "x").cell == "unseen-writer/seen-trap"
    assert pair("terse-staff", trap, "x").cell == "seen-writer/unseen-trap"
    assert pair(writer, None, "x").cell == "unseen-writer/general"
    seen = Counter(pair("terse-staff", "mlsd-35", f"terse-staff/mlsd-35.jsonl:{n}").cell for n in range(400))
    assert set(seen) == {"train", "seen-writer/seen-trap"} and 30 < seen["seen-writer/seen-trap"] < 90
    assert set(CELLS) >= {c for c in seen if c != "train"}


def test_the_report_counts_what_it_says() -> None:
    gold = ["entails", "entails", "contradicts", "neither"]
    pred = ["entails", "contradicts", "contradicts", "contradicts"]
    r = polarity.confusion_report(gold, pred)
    assert r["accuracy"] == 0.5 and r["confusion"]["entails"]["contradicts"] == 1
    assert r["per_class"]["contradicts"] == {"precision": 0.3333, "recall": 1.0, "f1": 0.5}
    assert r["per_class"]["neither"]["recall"] == 0.0 and "partial" not in r["per_class"]


def test_rejections_read_as_assertions_are_counted() -> None:
    pairs = [
        Pair("w", "mlsd-35", "f/c", "s", "I would never do X", "contradicts", "rejection", "1", is_claim=True),
        Pair("w", "mlsd-35", "f/c", "s", "skip X", "contradicts", "rejection", "2", is_claim=True),
        Pair("w", "mlsd-35", "c/p", "s", "X, yes", "entails", "terse", "3"),
    ]
    r = polarity.report(pairs, ["entails", "contradicts", "entails"])
    assert r["rejections_read_as_assertions"] == 0.5 and r["terse_credited"] == 1.0
    assert r["flag_precision"] == 0.0  # the one claim read as asserted was a rejection


def test_a_second_labeller_agrees_with_every_writer(catalog: Catalog) -> None:
    """A different labeller re-labelled a seeded 5% of each writer's passages, blind to their labels."""
    from evals.relabel import LIMIT, disagreement

    pairs, _ = load(catalog)
    result = disagreement(pairs)
    writers = {p.writer for p in pairs} - {"project"}
    assert set(result) == writers, set(result) ^ writers
    assert all(r["pairs"] >= 500 and r["disagreement"] <= LIMIT for r in result.values()), result
