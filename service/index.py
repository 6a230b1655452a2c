"""Retrieval over the trap cards: a persistent Chroma collection of card chunks plus BM25, fused.

Each card is split into chunks (scenario, trap, answer passages, follow-ups) so a query that
matches one facet is not diluted by the rest of the card; a card's dense score is its best
chunk. Dense and lexical rankings are fused by reciprocal rank, which needs no score scaling.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal
from urllib.parse import urlparse

from service.catalog import Card, Catalog
from service.config import Settings
from service.embeddings import MODEL_NAME, embed
from service.errors import IndexError_, InvalidInputError
from service.grading.text import sentences
from service.lexical import BM25
from service.locks import exclusive

log = logging.getLogger(__name__)
RRF_K = 60
Method = Literal["hybrid", "dense", "lexical"]
LEXICAL_WEIGHT = 1.3  # chosen on odd-numbered traps, held up on even ones (see closing note of issue 2)
DENSE_WEIGHT = 1.0


@dataclass(frozen=True)
class Hit:
    trap_id: str
    title: str
    score: float


def card_chunks(card: Card) -> list[str]:
    """The texts embedded for one card; each stands on its own for a query to match."""
    head = f"{card.title}. {', '.join(card.tags)}."
    chunks = [f"{head} {card.question}", f"{head} {card.trap}", card.seed_summary]
    sents = sentences(card.correct_answer)
    chunks += [" ".join(sents[i : i + 3]) for i in range(0, len(sents), 3)]
    chunks += [f"{f.question} {f.good_answer}" for f in card.follow_ups]
    return chunks


def card_text(card: Card) -> str:
    """The whole card as one document for the lexical side."""
    follow = " ".join(f.question for f in card.follow_ups)
    return " ".join(
        [
            card.title,
            " ".join(card.tags),
            card.setting,
            card.seed_summary,
            card.question,
            card.trap,
            card.correct_answer,
            follow,
        ]
    )


class TrapIndex:
    """The catalog's retrieval index; rebuilds itself when the cards' content hash changes.

    Nothing connects to Chroma until the first search (or `ready`): a Chroma that cannot be reached
    fails the searches, with an IndexError_ that says so, and nothing else; each later search tries
    again, so retrieval comes back with Chroma, without a restart."""

    def __init__(self, catalog: Catalog, settings: Settings) -> None:
        self.catalog = catalog
        self.settings = settings
        self._ready = False
        self._ready_lock = threading.Lock()

    def ready(self) -> None:
        """The collection, built if the cards changed since it was built: once per process, when it succeeds."""
        if self._ready:
            return
        with self._ready_lock:
            if not self._ready:
                self.ensure()
                self._ready = True

    @cached_property
    def _client(self) -> Any:
        import chromadb  # heavy import, only where retrieval is used

        try:
            if self.settings.chroma_url:
                url = urlparse(self.settings.chroma_url)
                return chromadb.HttpClient(
                    host=url.hostname or "127.0.0.1", port=url.port or 8000, ssl=url.scheme == "https"
                )
            self.settings.index_dir.mkdir(parents=True, exist_ok=True)
            return chromadb.PersistentClient(path=str(self.settings.index_dir))
        except Exception as exc:  # chromadb raises many types; they all mean the same to a user
            raise IndexError_(f"cannot open the Chroma store: {exc}") from exc

    @cached_property
    def _bm25(self) -> BM25:
        return BM25({t.id: card_text(t.card) for t in self.catalog})

    def _collection(self) -> Any:
        try:
            return self._client.get_or_create_collection(
                self.settings.collection, embedding_function=None, metadata={"hnsw:space": "cosine"}
            )
        except Exception as exc:
            raise IndexError_(f"cannot open collection '{self.settings.collection}': {exc}") from exc

    def _stamp(self) -> str:
        return f"{self.catalog.content_hash}/{MODEL_NAME}"

    def is_current(self) -> bool:
        meta = self._collection().metadata or {}
        return meta.get("stamp") == self._stamp()

    def ensure(self) -> bool:
        """Build the collection if the cards changed since it was built; True when it rebuilt.

        Under a host-wide lock: the workers of one service start together, and one builds while the
        others wait, then find it current.
        """
        with exclusive(self.settings.data_dir / "index.lock"):
            if self.is_current():
                return False
            self.build()
            return True

    def build(self) -> int:
        """(Re)build the collection from the catalog; returns the number of chunks stored."""
        ids, docs, metas = [], [], []
        for trap in self.catalog:
            for j, chunk in enumerate(card_chunks(trap.card)):
                ids.append(f"{trap.id}#{j}")
                docs.append(chunk)
                metas.append({"trap_id": trap.id, "series": trap.card.series, "tags": list(trap.card.tags)})
        vectors = embed(docs)
        try:
            with contextlib.suppress(Exception):  # absent: nothing to delete
                self._client.delete_collection(self.settings.collection)
            col = self._client.create_collection(
                self.settings.collection,
                embedding_function=None,
                metadata={"hnsw:space": "cosine", "stamp": self._stamp()},
            )
            col.add(ids=ids, embeddings=vectors.tolist(), documents=docs, metadatas=metas)
        except Exception as exc:
            raise IndexError_(f"cannot build the index: {exc}") from exc
        log.info("indexed %d chunks of %d cards", len(ids), len(self.catalog))
        return len(ids)

    def search(
        self,
        text: str,
        k: int = 5,
        series: str | None = None,
        tag: str | None = None,
        method: Method = "hybrid",
    ) -> list[Hit]:
        """Cards ranked for a free-text query: a topic, a candidate's answer, an interviewer's turn.

        `method` exists so the retrieval eval can report dense and lexical alone beside the fusion.
        """
        if not text or not text.strip():
            raise InvalidInputError("empty query: say what to search for, e.g. 'GPU memory'")
        self.ready()
        allowed = {t.id for t in self.catalog.filter(series=series, tag=tag)}
        if not allowed:
            return []
        where: dict[str, Any] | None = None
        clauses: list[dict[str, Any]] = []
        if series:
            clauses.append({"series": series})
        if tag:
            clauses.append({"tags": {"$contains": tag}})
        if clauses:
            where = clauses[0] if len(clauses) == 1 else {"$and": clauses}
        col = self._collection()
        try:
            res = col.query(
                query_embeddings=embed([text]).tolist(),
                n_results=min(col.count(), 200),
                where=where,
                include=["metadatas", "distances"],
            )
        except Exception as exc:
            raise IndexError_(f"index query failed: {exc}") from exc
        dense: dict[str, float] = {}
        for meta, dist in zip(res["metadatas"][0], res["distances"][0], strict=True):
            tid = str(meta["trap_id"])
            dense[tid] = max(dense.get(tid, -1.0), 1.0 - float(dist))
        lexical = {t: s for t, s in self._bm25.scores(text).items() if t in allowed}
        fused = {"dense": dense, "lexical": lexical, "hybrid": self._fuse(dense, lexical)}[method]
        ranked = sorted(fused.items(), key=lambda kv: -kv[1])[:k]
        return [Hit(tid, self.catalog.get(tid).card.title, round(score, 5)) for tid, score in ranked]

    @staticmethod
    def _fuse(dense: dict[str, float], lexical: dict[str, float]) -> dict[str, float]:
        fused: dict[str, float] = {}
        for weight, scores in ((DENSE_WEIGHT, dense), (LEXICAL_WEIGHT, lexical)):
            ordered = sorted((t for t, s in scores.items() if s > 0), key=lambda t: -scores[t])
            for rank, tid in enumerate(ordered):
                fused[tid] = fused.get(tid, 0.0) + weight / (RRF_K + rank + 1)
        return fused
