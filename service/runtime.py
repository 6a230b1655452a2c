"""Process-wide objects built once per Settings: the catalog and the retrieval index."""

from __future__ import annotations

import threading

from service.catalog import Catalog
from service.config import Settings, get_settings
from service.index import TrapIndex

_lock = threading.Lock()
_catalogs: dict[str, Catalog] = {}
_indexes: dict[str, TrapIndex] = {}


def _key(settings: Settings) -> str:
    return settings.model_dump_json()


def catalog(settings: Settings | None = None) -> Catalog:
    settings = settings or get_settings()
    with _lock:
        key = _key(settings)
        if key not in _catalogs:
            _catalogs[key] = Catalog.load(settings.seeds_dir, settings.rubrics_dir)
        return _catalogs[key]


def index(settings: Settings | None = None) -> TrapIndex:
    """The index, rebuilt first if the cards changed since it was built."""
    settings = settings or get_settings()
    cat = catalog(settings)
    with _lock:
        key = _key(settings)
        if key not in _indexes:
            idx = TrapIndex(cat, settings)
            idx.ensure()
            _indexes[key] = idx
        return _indexes[key]


def warm_cards(settings: Settings | None = None) -> None:
    """Embed every text the cards' grading and follow-ups read, so no candidate's first turn on a trap
    waits for it (~100 texts a trap: ~1 s here, ~40 s for the catalog on one core).

    The vectors are saved beside the embedder's export: a later process, or the next worker of the
    same service, loads them in milliseconds and embeds only texts that changed since.
    """
    from service.agent import questions
    from service.embeddings import load_vectors, memo_size, save_vectors, vectors_path
    from service.grading import semantic
    from service.grading.subject import Subject

    path = vectors_path()
    load_vectors(path)
    before = memo_size()
    for trap in catalog(settings):
        semantic.targets(Subject.from_trap(trap))
        questions.warm(trap)
    if memo_size() > before:  # something was embedded afresh
        save_vectors(path)
