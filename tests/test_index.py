"""Retrieval: the persistent Chroma index finds the right card, filters, and rebuilds on change."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.catalog import Catalog
from service.config import Settings
from service.errors import InvalidInputError
from service.index import TrapIndex, card_chunks


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("how much GPU memory does AdamW need for a 7B model in bf16", "llm-45"),
        ("uniformly sample an infinite stream into a fixed buffer", "mlsd-33"),
        ("draft model for speculative decoding gives no speedup", "llm-50"),
    ],
)
def test_topic_queries_find_their_trap(index: TrapIndex, query: str, expected: str) -> None:
    assert expected in [h.trap_id for h in index.search(query, k=3)]


def test_series_filter_keeps_only_that_series(index: TrapIndex) -> None:
    hits = index.search("memory", k=10, series="adl")
    assert hits and all(h.trap_id.startswith("adl-") for h in hits)


def test_tag_filter(index: TrapIndex, catalog: Catalog) -> None:
    tag = catalog.get("llm-46").card.tags[0]
    hits = index.search("training", k=49, tag=tag)
    assert {h.trap_id for h in hits} == {t.id for t in catalog.filter(tag=tag)}


def test_empty_query_is_refused(index: TrapIndex) -> None:
    with pytest.raises(InvalidInputError, match="empty query"):
        index.search("   ")


def test_index_persists_and_rebuilds_when_cards_change(tmp_path: Path, catalog: Catalog) -> None:
    settings = Settings(data_dir=tmp_path)
    first = TrapIndex(catalog, settings)
    assert first.ensure() is True  # built
    assert TrapIndex(catalog, settings).ensure() is False  # persisted: a new process reuses it
    traps = list(catalog)
    card = traps[0].card.model_copy(update={"question": traps[0].card.question + " Also consider cost."})
    changed = Catalog([traps[0].model_copy(update={"card": card}), *traps[1:]])
    assert TrapIndex(changed, settings).ensure() is True  # content hash moved: rebuilt


def test_every_card_is_chunked(catalog: Catalog) -> None:
    for trap in catalog:
        assert len(card_chunks(trap.card)) >= 6
