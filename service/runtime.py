"""Process-wide state in one object, built at start-up: by the app's lifespan, or a CLI entry point."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from service.catalog import Catalog
from service.config import Settings, get_settings
from service.index import TrapIndex


@dataclass
class Runtime:
    """The settings, the catalog, and the retrieval index (which connects on first search: not every
    command needs it, and a Chroma that is down must not stop what does not)."""

    settings: Settings
    catalog: Catalog

    @classmethod
    def build(cls, settings: Settings | None = None) -> Runtime:
        settings = settings or get_settings()
        return cls(settings, Catalog.with_banks(settings.seeds_dir, settings.rubrics_dir, settings.banks))

    @cached_property
    def index(self) -> TrapIndex:
        return TrapIndex(self.catalog, self.settings)

    def warm_cards(self) -> None:
        """Embed every text the cards' grading and follow-ups read, so no candidate's first turn on a trap
        waits for it (~100 texts a trap: ~1 s here, ~40 s for the catalog on one core).

        The vectors are saved beside the embedder's export: a later process, or the next worker of the
        same service, loads them in milliseconds and embeds only texts that changed since.
        """
        from service.agent import questions
        from service.embeddings import load_vectors, memo_size, save_vectors, vectors_path
        from service.grading import checklist, semantic
        from service.grading.subject import Subject

        path = vectors_path()
        load_vectors(path)
        before = memo_size()
        for trap in self.catalog:
            semantic.targets(Subject.from_trap(trap))
            checklist.statement_vectors(trap.rubric)
            questions.warm(trap)
        if memo_size() > before:  # something was embedded afresh
            save_vectors(path)
