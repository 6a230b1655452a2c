"""The one factory for graders: keyword-only, so every call site says which mode and model."""

from __future__ import annotations

from service.config import Settings
from service.errors import ModelError
from service.grading.cache import GradeCache
from service.grading.grader import Grader
from service.grading.models import Decider, Mode

_caches: dict[str, GradeCache] = {}


def default_mode(settings: Settings) -> Mode:
    """The grading mode the settings ask for; see the README for why the embedded default is semantic."""
    if settings.mode == "semantic":
        return "semantic"
    if settings.grader != "auto":
        return settings.grader
    return "llm" if (settings.grader_model or settings.model) else "semantic"


def make_grader(
    *, settings: Settings, mode: Mode | None = None, use_cache: bool = True, decider: Decider | None = None
) -> Grader:
    """A grader for `mode` (default: from settings). LLM mode needs a reachable model."""
    from service.llm.factory import make_llm

    mode = mode or default_mode(settings)
    cache = None
    if use_cache:
        key = settings.database_url or str(settings.db_path)
        cache = _caches.get(key) or _caches.setdefault(key, GradeCache(settings))
    llm = make_llm(settings=settings, role="grade") if mode == "llm" else None
    return Grader(settings=settings, mode=mode, llm=llm, cache=cache, decider=decider or settings.decider)


def make_grader_or_semantic(*, settings: Settings) -> tuple[Grader, str | None]:
    """The configured grader, or the semantic one with the reason when no model can be reached."""
    try:
        return make_grader(settings=settings), None
    except ModelError as exc:
        return make_grader(settings=settings, mode="semantic"), f"grading semantically: {exc.message}"
