"""The catalog: all 49 traps load, match the source, and bad content is named precisely."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from service.catalog import Catalog, answer_hash, load_rubric, parse_seed
from service.checks import check_content
from service.config import ROOT
from service.errors import ContentError, UnknownTrapError

SOURCE = ROOT / "seeds" / "interview-traps.txt"
SHARED_SOURCE = ROOT.parent / "shared" / "seeds" / "interview-traps.txt"


def test_source_is_verbatim_copy_when_shared_is_present() -> None:
    if not SHARED_SOURCE.exists():
        pytest.skip("../shared is not beside this checkout")
    assert SOURCE.read_bytes() == SHARED_SOURCE.read_bytes()


def test_all_49_traps_load_with_rubrics(catalog: Catalog) -> None:
    assert len(catalog) == 49
    series = [t.card.series for t in catalog]
    assert (series.count("mlsd"), series.count("llm"), series.count("adl")) == (8, 24, 17)


def test_every_seed_summary_and_title_match_the_source(catalog: Catalog) -> None:
    seed = parse_seed(SOURCE.read_text(encoding="utf-8"))
    assert set(seed) == set(catalog.ids)
    for trap in catalog:
        title, summary = seed[trap.id]
        assert trap.card.seed_summary == summary, trap.id
        assert trap.card.title == title, trap.id


def test_content_check_is_clean() -> None:
    assert check_content(ROOT / "seeds" / "traps", ROOT / "rubrics", SOURCE) == []


def test_every_rubric_has_current_hash_and_anchors(catalog: Catalog) -> None:
    for trap in catalog:
        assert trap.rubric.derived_from == answer_hash(trap.card.correct_answer), trap.id
        assert 3 <= len(trap.rubric.criteria) <= 6
        assert sum(c.weight for c in trap.rubric.criteria) == 100
        assert trap.rubric.red_flags, trap.id


@pytest.fixture
def content_copy(tmp_path: Path) -> tuple[Path, Path]:
    seeds, rubrics = tmp_path / "traps", tmp_path / "rubrics"
    shutil.copytree(ROOT / "seeds" / "traps", seeds)
    shutil.copytree(ROOT / "rubrics", rubrics)
    shutil.copy(SOURCE, tmp_path / "interview-traps.txt")
    return seeds, rubrics


def _edit(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_changed_answer_makes_rubric_stale(content_copy: tuple[Path, Path]) -> None:
    seeds, rubrics = content_copy
    # One word changed, so the answer keeps its length (the cards sit near the 400-word limit).
    _edit(seeds / "llm-46.yaml", lambda d: d.update(correct_answer=d["correct_answer"].replace("the", "a", 1)))
    problems = check_content(seeds, rubrics, seeds.parent / "interview-traps.txt")
    assert len(problems) == 1
    assert "llm-46.yaml: field 'derived_from': stale" in problems[0]


def test_invalid_weights_name_file_and_field(content_copy: tuple[Path, Path]) -> None:
    seeds, rubrics = content_copy
    _edit(rubrics / "mlsd-35.yaml", lambda d: d["criteria"][0].update(weight=d["criteria"][0]["weight"] + 5))
    with pytest.raises(ContentError) as exc:
        load_rubric(rubrics / "mlsd-35.yaml")
    assert "mlsd-35.yaml" in exc.value.message
    assert "weights must sum to 100, they sum to 105" in exc.value.message


def test_rubric_for_unknown_trap_is_reported(content_copy: tuple[Path, Path]) -> None:
    seeds, rubrics = content_copy
    shutil.copy(rubrics / "adl-2.yaml", rubrics / "adl-99.yaml")
    _edit(rubrics / "adl-99.yaml", lambda d: d.update(trap_id="adl-99"))
    problems = check_content(seeds, rubrics, seeds.parent / "interview-traps.txt")
    assert any("adl-99.yaml: field 'trap_id': names unknown trap 'adl-99'" in p for p in problems)
    with pytest.raises(ContentError, match="names unknown trap 'adl-99'"):
        Catalog.load(seeds, rubrics)


def test_typo_in_card_field_is_an_error(content_copy: tuple[Path, Path]) -> None:
    seeds, rubrics = content_copy
    _edit(seeds / "adl-7.yaml", lambda d: d.update(dificulty="hard"))
    with pytest.raises(ContentError) as exc:
        Catalog.load(seeds, rubrics)
    assert "adl-7.yaml: field 'dificulty': Extra inputs are not permitted" in exc.value.message


def test_malformed_yaml_names_the_file(content_copy: tuple[Path, Path]) -> None:
    seeds, rubrics = content_copy
    (seeds / "llm-30.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    problems = check_content(seeds, rubrics, seeds.parent / "interview-traps.txt")
    assert any(p.startswith(f"{seeds / 'llm-30.yaml'}: field '(file)': not valid YAML") for p in problems)


def test_unknown_trap_id_names_nearest(catalog: Catalog) -> None:
    with pytest.raises(UnknownTrapError) as exc:
        catalog.get("llm-460")
    assert exc.value.nearest[0] == "llm-46"
    assert "unknown trap id 'llm-460'; nearest ids: llm-46" in exc.value.message


def test_no_card_follow_up_gives_the_model_answer_away(catalog) -> None:  # type: ignore[no-untyped-def]
    """The interviewer asks a card's follow-ups word for word; the leak check must let them through."""
    from service.agent import questions

    leaking = [
        (t, f.question)
        for t in catalog.ids
        for f in catalog.get(t).card.follow_ups
        if questions.leaks(catalog.get(t), f.question)
    ]
    assert leaking == []


def test_no_hint_gives_the_model_answer_away(catalog) -> None:  # type: ignore[no-untyped-def]
    """A hint points toward an idea: it passes the leak check and shares no run of 6 words with the model
    answer or with the claim it points to."""
    import re

    from service.agent import questions

    def runs(text: str) -> set[tuple[str, ...]]:
        words = re.findall(r"[a-z0-9]+", text.lower())
        return {tuple(words[i : i + 6]) for i in range(len(words) - 5)}

    giving = []
    for t in catalog:
        for c in t.rubric.criteria:
            assert c.hint is not None and not c.hint.rstrip().endswith("?"), (t.id, c.id)
            if questions.leaks(t, c.hint) or runs(c.hint) & (runs(t.card.correct_answer) | runs(c.claim)):
                giving.append((t.id, c.id))
    assert giving == []


def test_every_criterion_is_a_checklist_and_every_flag_has_claims(catalog: Catalog) -> None:
    for trap in catalog:
        for c in trap.rubric.criteria:
            assert 2 <= len(c.points) <= 5 and sum(p.core for p in c.points) == 1, f"{trap.id} {c.id}"
            assert c.full_others <= len(c.points) - 1
        for f in trap.rubric.red_flags:
            assert 1 <= len(f.claims) <= 3 and any(cl.raises for cl in f.claims), f"{trap.id} {f.id}"


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (lambda c, f: c.update(points=c["points"][:1]), "criteria.0.points", "needs 2 to 5 points, has 1"),
        (lambda c, f: [p.update(core=True) for p in c["points"]], "criteria.0.points", "exactly one point"),
        (
            lambda c, f: c["points"][1].update(text="It changes calibration, not the ranking."),
            "points.1.text",
            "pronoun",
        ),
        (lambda c, f: c["points"][1].update(text=" ".join(["word"] * 26)), "points.1.text", "at most 25 words, has 26"),
        (lambda c, f: c["points"][1].update(source="words the card never says"), "points.1.source", "not a verbatim"),
        (lambda c, f: c.update(full_others=3), "criteria.0.full_others", "only 2 exist"),
        (
            lambda c, f: c["levels"].update(full="The core and at least 2 of the others."),
            "levels.full",
            "says at least 2",
        ),
        (lambda c, f: c["points"][2].update(text=c["points"][1]["text"]), "points.2.text", "duplicates the point"),
        (lambda c, f: [cl.update(raises=False) for cl in f["claims"]], "red_flags.0.claims", "no claim raises"),
        (lambda c, f: f.update(claims=[]), "red_flags.0.claims", "needs 1 to 3 claims, has 0"),
    ],
)
def test_checklist_rules_name_the_field(content_copy: tuple[Path, Path], change, field: str, problem: str) -> None:  # type: ignore[no-untyped-def]
    seeds, rubrics = content_copy
    _edit(rubrics / "mlsd-35.yaml", lambda d: change(d["criteria"][0], d["red_flags"][0]))
    problems = check_content(seeds, rubrics, seeds.parent / "interview-traps.txt")
    assert problems and all("mlsd-35.yaml" in p for p in problems), problems
    assert any(field in p and problem in p for p in problems), problems
