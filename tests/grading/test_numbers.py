"""The number check beside the reader: a passage that restates a point's quantity with another value.

Hand-written pairs; none is taken from the reader data."""

from __future__ import annotations

import numpy as np
import pytest

from service.catalog import Catalog
from service.grading import semantic
from service.grading.checklist import ReaderThresholds, read
from service.grading.numbers import Quantity, conflicts, overrule, quantities
from service.grading.subject import Subject

MEMORY = "Mixed-precision AdamW needs 16 bytes per parameter, about 208 GB per GPU for 13B."
RIDGE = "An H100 needs roughly 300 FLOPs per byte (250 to 350 acceptable) to be compute-bound."


def test_quantities_read_units_magnitudes_and_skip_names() -> None:
    got = quantities("A 7B model on an H100 in FP32: 8 B a weight, 2.5 GiB, 400 ms, 2x faster, 1.2e22, 60%.")
    assert [(q.value, q.kind) for q in got] == [
        (7e9, "count"),
        (8.0, "bytes"),
        (2.5 * 2**30, "bytes"),
        (0.4, "time"),
        (2.0, "ratio"),
        (1.2e22, "count"),
        (60.0, "percent"),
    ]
    assert quantities("top-1, 2 layers, FP16") == []  # the commonest small counts and names are no quantity
    assert [q.value for q in quantities("a spacing of 2^-8")] == [2**-8]
    assert quantities("down to 365") == [Quantity(365.0, "count", 365.0, bare=True)]


@pytest.mark.parametrize(
    ("passage", "conflict"),
    [
        ("That comes to about 20 GB per GPU, so it fits.", True),  # off by 10x
        ("16 bytes a parameter: roughly 210 GB on each GPU.", False),  # loosely restated
        ("It needs a lot of memory per GPU.", False),  # no number: the reader decides
        ("Sixteen bytes per parameter, so no single GPU holds it.", False),
    ],
)
def test_a_different_value_of_a_pinned_quantity_conflicts(passage: str, conflict: bool) -> None:
    assert conflicts(MEMORY, passage) is conflict


def test_a_value_inside_the_stated_range_is_the_statements_own() -> None:
    assert not conflicts(RIDGE, "The ridge point is around 280 FLOPs per byte.")
    assert conflicts(RIDGE, "The ridge point is around 30 FLOPs per byte.")


def test_a_bare_number_answers_a_value_but_only_a_unit_makes_it_conflict() -> None:
    point = "With inference at 70 of 400 ms, a 2x faster model brings the request from 400 ms to about 365 ms."
    assert not conflicts(point, "Halve the 70 ms and 400 only drops to 365.")
    assert conflicts(point, "Halve the 70 ms and 400 ms drops to about 200 ms.")
    assert not conflicts(point, "Halve the 70 ms and 400 drops to about 200.")  # 200 what? the reader decides


def test_fractions_and_coefficients_are_one_value() -> None:
    iso = "Matching a 4x ReLU MLP in parameters requires 3·d·d_ff = 8d², so d_ff = 8d/3, about 2.67d."
    assert [q.written for q in quantities("shrinks the hidden dimension to about 8/3 of d")] == [8 / 3]
    assert not conflicts(iso, "A fair comparison shrinks the hidden dimension to about 8/3 of d.")


def test_numbers_the_trap_already_knows_are_no_conflict() -> None:
    weights = "A 70B model's BF16 weights take about 140 GB."
    states = "Its FP32 master weights and Adam moments take about 840 GB."
    passage = "The FP32 master weights and both moments come to about 840 GB."  # answers the other point
    assert not conflicts(weights, passage, known=[states])
    assert conflicts(weights, passage)  # unknown, 840 GB would be a wrong value for the weights
    assert not conflicts(weights, "The batch of 64 sequences is beside the point.", known=["a batch of 64"])


def test_overrule_moves_agreement_to_contradicts_only_where_numbers_conflict() -> None:
    probs = np.array([[0.7, 0.2, 0.05, 0.05], [0.7, 0.2, 0.05, 0.05]], dtype=np.float32)
    pairs = [(MEMORY, "About 20 GB per GPU."), (MEMORY, "About 200 GB per GPU.")]
    out = overrule(probs, pairs, {})
    assert out[0].tolist() == pytest.approx([0.0, 0.0, 0.95, 0.05])
    assert out[1].tolist() == pytest.approx(probs[1].tolist())
    assert probs[0, 0] == pytest.approx(0.7)  # the reader's own reading is left as it was


class AgreesWithEverything:
    """A reader that reads every pair as entailing: what MiniLM does with a wrong number."""

    name = "agrees"

    def probabilities(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        return np.tile(np.array([0.97, 0.01, 0.01, 0.01]), (len(pairs), 1))


def test_the_checklist_credits_no_point_whose_number_the_answer_gets_wrong(catalog: Catalog) -> None:
    subject = Subject.from_trap(catalog.get("mlsd-26"))
    th = ReaderThresholds(candidates=3, point=0.6, flag=0.9)

    def status(answer: str) -> str:
        checklist = read(subject, semantic.analyse(subject, answer), AgreesWithEverything(), th)
        return {p.id: r.status for rp in checklist.points for p, r in rp}["two-x-gives-365"]

    assert status("A 2x faster INT8 model takes the request from 400 ms to about 365 ms.") == "stated"
    assert status("A 2x faster INT8 model takes the request from 400 ms to about 200 ms.") == "contradicted"
