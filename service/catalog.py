"""Trap cards and rubrics: typed loading, validation and lookup, for the built-in bank and your own.

A bank is a folder with `traps/<id>.yaml` and `rubrics/<id>.yaml` in the built-in schema, and
optionally a `bank.yaml` giving its `name` (else the folder's name). INTERVIEWER_BANKS lists banks;
their traps join the built-in ones under ids namespaced by the bank, `<bank>:<id>` (sql:db-1),
so two banks never clash with each other or with the built-in ids.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from typing import Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from service.errors import ContentError, UnknownTrapError

Series = str  # the built-in bank's are mlsd, llm and adl; a bank names its own
SERIES_NAMES: dict[str, Series] = {
    "Machine Learning System Design Interview": "mlsd",
    "LLM System Design Interview": "llm",
    "Advanced Deep Learning Interview Questions": "adl",
}
_SEED_TITLE = re.compile(
    r"^(?P<series>" + "|".join(re.escape(s) for s in SERIES_NAMES) + r") #(?P<number>\d+)\s*[-–]\s*(?P<title>.+)$"
)
_ID = re.compile(r"^[a-z][a-z0-9]*-\d+$")
_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def normalise_space(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def answer_hash(correct_answer: str) -> str:
    """The rubric's derived_from: whitespace-insensitive, so reflowing a card is not a change."""
    return "sha256:" + hashlib.sha256(normalise_space(correct_answer).encode()).hexdigest()[:16]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Slugged(_Strict):
    """Content named by a lowercase-hyphenated id: criteria, points, claims."""

    id: str

    @field_validator("id")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not _SLUG.match(v):
            raise ValueError("must be lowercase-hyphenated")
        return v


class FollowUp(_Strict):
    question: str = Field(min_length=10)
    good_answer: str = Field(min_length=10)


class Card(_Strict):
    id: str
    series: Series = Field(pattern=r"^[a-z][a-z0-9]*$")
    number: int = Field(gt=0)
    title: str = Field(min_length=3)
    seed_summary: str = Field(min_length=20)
    setting: str = Field(min_length=3)
    tags: list[str] = Field(min_length=1)
    difficulty: Literal["medium", "hard", "expert"]
    question: str = Field(min_length=30)
    trap: str = Field(min_length=30)
    correct_answer: str
    follow_ups: list[FollowUp] = Field(min_length=3)

    @field_validator("id")
    @classmethod
    def _id_form(cls, v: str) -> str:
        if not _ID.match(v):
            raise ValueError("must be <series>-<number>, like mlsd-35 or db-1")
        return v

    @field_validator("correct_answer")
    @classmethod
    def _answer_length(cls, v: str) -> str:
        words = len(v.split())
        if not 150 <= words <= 400:
            raise ValueError(f"must be 150-400 words, has {words}")
        return v

    @model_validator(mode="after")
    def _id_matches(self) -> Card:
        if self.id != f"{self.series}-{self.number}":
            raise ValueError(f"id '{self.id}' does not match series '{self.series}' and number {self.number}")
        return self


class Levels(_Strict):
    none: str
    partial: str
    full: str


_VAGUE_START = re.compile(r"^(it|this|that|these|those|they|its)\b", re.IGNORECASE)
POINT_MAX_WORDS = 25


class Point(_Slugged):
    """One fact or mechanism a reader can decide on its own: entailed by a passage or not."""

    text: str = Field(min_length=10, description="Self-contained, at most 25 words, in a strong candidate's words.")
    core: bool = Field(default=False, description="The mechanism a senior interviewer cannot do without.")
    source: str | None = Field(
        default=None,
        min_length=10,
        description="Verbatim span of the card's correct_answer or trap that the point comes from.",
    )


class Criterion(_Slugged):
    description: str = Field(min_length=10)
    claim: str = Field(
        min_length=10, description="What a full answer asserts, as one statement: the entailment target."
    )
    hint: str | None = Field(
        default=None,
        min_length=10,
        description="A pointer toward the idea, shown when a candidate asks for a hint; never the answer itself. "
        "Every trap rubric has one; rubrics derived for outside questions have no interview to hint in.",
    )
    weight: int = Field(gt=0, le=100)
    anchor: str = Field(min_length=1, description="Verbatim span of the card's (or reference's) answer.")
    levels: Levels
    points: list[Point] = Field(
        default_factory=list, description="2-5 atomic statements, one the core; the reader decides each."
    )
    full_others: int = Field(default=0, ge=0, description="Full credit: the core plus at least this many other points.")

    @property
    def core(self) -> Point | None:
        return next((p for p in self.points if p.core), None)


class Claim(_Slugged):
    """One plain assertion of the trap; a flag is raised when every claim marked `raises` is asserted."""

    text: str = Field(min_length=10)
    raises: bool = False


class RedFlag(_Strict):
    id: str
    statement: str = Field(min_length=10)
    cap: int = Field(ge=0, le=100)
    claims: list[Claim] = Field(default_factory=list, description="1-3 plain claims; those marked raises decide.")


class Rubric(_Strict):
    trap_id: str
    derived_from: str | None = None
    pass_mark: int = Field(default=60, ge=0, le=100)
    criteria: list[Criterion] = Field(min_length=1, max_length=6)  # catalog rubrics need 3+
    red_flags: list[RedFlag] = Field(default_factory=list)

    @model_validator(mode="after")
    def _weights(self) -> Rubric:
        total = sum(c.weight for c in self.criteria)
        if total != 100:
            raise ValueError(f"criteria weights must sum to 100, they sum to {total}")
        ids = [c.id for c in self.criteria]
        if len(set(ids)) != len(ids):
            raise ValueError(f"criterion ids repeat: {ids}")
        return self


class Trap(BaseModel):
    """A card with its rubric: what the interviewer and grader work from."""

    model_config = ConfigDict(frozen=True)
    card: Card
    rubric: Rubric
    bank: str | None = None  # None: the built-in bank

    @property
    def id(self) -> str:
        return self.card.id if self.bank is None else f"{self.bank}:{self.card.id}"


def _load_yaml(path: Path) -> dict[str, object]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ContentError(path, "(file)", f"not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ContentError(path, "(file)", "must be a mapping of fields")
    return data


M = TypeVar("M", bound=BaseModel)


def _validate(model: type[M], path: Path) -> M:
    try:
        return model.model_validate(_load_yaml(path))
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "(file)"
        raise ContentError(path, field, err["msg"]) from exc


def load_card(path: Path) -> Card:
    return _validate(Card, path)


def load_rubric(path: Path) -> Rubric:
    return _validate(Rubric, path)


_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4}
_AT_LEAST = re.compile(r"\b(?:at least|≥)\s*(\d+|one|two|three|four)\b", re.IGNORECASE)


def statement_problems(where: str, text: str) -> list[tuple[str, str]]:
    """A point or claim is read on its own: short, and naming its own subject."""
    problems = []
    if len(text.split()) > POINT_MAX_WORDS:
        problems.append((where, f"must be at most {POINT_MAX_WORDS} words, has {len(text.split())}"))
    if _VAGUE_START.match(text.strip()):
        problems.append((where, "must name its subject, not start with a pronoun (it, this, they, ...)"))
    return problems


def checklist_problems(rubric: Rubric, card: Card | None = None) -> list[tuple[str, str]]:
    """The checklist rules: 2-5 atomic points a criterion with one core and a reachable full level,
    1-3 claims a red flag with at least one that raises it; with the card, every point traceable to it."""
    problems: list[tuple[str, str]] = []
    source = normalise_space(f"{card.correct_answer} {card.trap}") if card else None
    seen: dict[str, str] = {}
    for i, crit in enumerate(rubric.criteria):
        where = f"criteria.{i}"
        if not 2 <= len(crit.points) <= 5:
            problems.append((f"{where}.points", f"needs 2 to 5 points, has {len(crit.points)}"))
        cores = sum(p.core for p in crit.points)
        if crit.points and cores != 1:
            problems.append((f"{where}.points", f"exactly one point must be the core, {cores} are"))
        if crit.full_others > max(len(crit.points) - 1, 0):
            problems.append(
                (f"{where}.full_others", f"{crit.full_others} others asked for, but only {len(crit.points) - 1} exist")
            )
        said = _AT_LEAST.search(crit.levels.full)
        if crit.points and said:
            n = int(said[1]) if said[1].isdigit() else _NUMBER_WORDS[said[1].lower()]
            if n != crit.full_others:
                problems.append((f"{where}.levels.full", f"says at least {n}, but full_others is {crit.full_others}"))
        ids = [p.id for p in crit.points]
        if len(set(ids)) != len(ids):
            problems.append((f"{where}.points", f"point ids repeat: {ids}"))
        for j, point in enumerate(crit.points):
            problems += statement_problems(f"{where}.points.{j}.text", point.text)
            key = normalise_space(point.text).lower().rstrip(".")
            if key in seen:
                problems.append((f"{where}.points.{j}.text", f"duplicates the point at {seen[key]}"))
            seen[key] = f"{where}.points.{j}"
            if source is not None:
                if point.source is None:
                    problems.append((f"{where}.points.{j}.source", "missing: quote the card's words it comes from"))
                elif normalise_space(point.source) not in source:
                    problems.append(
                        (f"{where}.points.{j}.source", "not a verbatim span of the card's correct_answer or trap")
                    )
    for i, flag in enumerate(rubric.red_flags):
        where = f"red_flags.{i}.claims"
        if not 1 <= len(flag.claims) <= 3:
            problems.append((where, f"needs 1 to 3 claims, has {len(flag.claims)}"))
        elif not any(c.raises for c in flag.claims):
            problems.append((where, "no claim raises the flag: mark the trap's own assertion `raises: true`"))
        ids = [c.id for c in flag.claims]
        if len(set(ids)) != len(ids):
            problems.append((where, f"claim ids repeat: {ids}"))
        for j, claim in enumerate(flag.claims):
            problems += statement_problems(f"{where}.{j}.text", claim.text)
    return problems


def trap_rubric_problems(rubric: Rubric) -> list[tuple[str, str]]:
    """What a trap rubric needs beyond any rubric: enough criteria to interview on, and a hint for each."""
    problems = []
    if len(rubric.criteria) < 3:
        problems.append(("criteria", f"a trap rubric needs 3 to 6 criteria, has {len(rubric.criteria)}"))
    for i, crit in enumerate(rubric.criteria):
        if len(crit.anchor) < 10:
            problems.append((f"criteria.{i}.anchor", "must quote at least 10 characters of the card's answer"))
        if crit.hint is None:
            problems.append((f"criteria.{i}.hint", "missing: a trap rubric gives a hint for every criterion"))
        elif "?" in crit.hint:
            problems.append((f"criteria.{i}.hint", "must point toward the idea, not ask another question"))
    return problems


def parse_seed(text: str) -> dict[str, tuple[str, str]]:
    """The source file's entries as id -> (title, summary); the book announcement is not a trap."""
    lines = text.split("\n")
    entries: dict[str, tuple[str, str]] = {}
    for i, line in enumerate(lines[:-1]):
        m = _SEED_TITLE.match(line.strip())
        if m:
            tid = f"{SERIES_NAMES[m['series']]}-{m['number']}"
            entries[tid] = (m["title"].strip(), lines[i + 1])
    return entries


def bank_name(folder: Path) -> str:
    """A bank's namespace: `name` in its bank.yaml, else the folder's name."""
    meta = folder / "bank.yaml"
    name = str(_load_yaml(meta).get("name", "")) if meta.exists() else folder.name
    if not _SLUG.match(name):
        where = meta if meta.exists() else folder
        raise ContentError(where, "name", f"'{name}' must be lowercase-hyphenated: it prefixes the bank's ids")
    return name


class Catalog:
    """All traps, loaded once and validated; lookups name the nearest ids on a miss."""

    def __init__(self, traps: Iterable[Trap]) -> None:
        self._traps = {t.id: t for t in traps}

    @classmethod
    def with_banks(cls, seeds_dir: Path, rubrics_dir: Path, banks: Iterable[Path] = ()) -> Catalog:
        """The built-in traps, then each bank's under its namespace."""
        traps = list(cls.load(seeds_dir, rubrics_dir))
        seen: dict[str, Path] = {}
        for folder in banks:
            if not (folder / "traps").is_dir():
                raise ContentError(folder, "(bank)", "not a bank: it needs a traps/ folder (and rubrics/)")
            name = bank_name(folder)
            if name in seen:
                raise ContentError(folder, "name", f"bank '{name}' is already {seen[name]}")
            seen[name] = folder
            traps += list(cls.load(folder / "traps", folder / "rubrics", bank=name))
        return cls(traps)

    @classmethod
    def load(cls, seeds_dir: Path, rubrics_dir: Path, bank: str | None = None) -> Catalog:
        traps = []
        for card_path in sorted(seeds_dir.glob("*.yaml")):
            card = load_card(card_path)
            if card_path.stem != card.id:
                raise ContentError(card_path, "id", f"'{card.id}' does not match the file name")
            rubric_path = rubrics_dir / f"{card.id}.yaml"
            if not rubric_path.exists():
                raise ContentError(rubric_path, "(file)", f"missing: trap {card.id} has no rubric")
            rubric = load_rubric(rubric_path)
            for field, problem in trap_rubric_problems(rubric):
                raise ContentError(rubric_path, field, problem)
            if rubric.trap_id != card.id:
                raise ContentError(rubric_path, "trap_id", f"'{rubric.trap_id}' but the file is for {card.id}")
            traps.append(Trap(card=card, rubric=rubric, bank=bank))
        for rubric_path in sorted(rubrics_dir.glob("*.yaml")):
            if not (seeds_dir / rubric_path.name).exists():
                raise ContentError(rubric_path, "trap_id", f"names unknown trap '{rubric_path.stem}'")
        return cls(traps)

    def __len__(self) -> int:
        return len(self._traps)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._traps.values())

    def __contains__(self, trap_id: object) -> bool:
        return trap_id in self._traps

    @cached_property
    def ids(self) -> list[str]:
        def order(trap_id: str) -> tuple[bool, str, int]:  # built-in first, then by bank, series and number
            series, number = trap_id.rsplit("-", 1)
            return (":" in trap_id, series, int(number))

        return sorted(self._traps, key=order)

    def nearest(self, trap_id: str, n: int = 3) -> list[str]:
        return difflib.get_close_matches(trap_id.lower().strip(), self.ids, n=n, cutoff=0.3)

    def get(self, trap_id: str) -> Trap:
        trap = self._traps.get(trap_id.strip().lower())
        if trap is None:
            raise UnknownTrapError(trap_id, self.nearest(trap_id))
        return trap

    def criterion_words(self, trap_id: str | None) -> dict[str, str]:
        """Each criterion of the trap's rubric in its own words, by id, for reports that a person reads
        ({} for a trap the catalog does not hold, such as a reference answer's)."""
        if trap_id is None or trap_id not in self:
            return {}
        return {c.id: c.description for c in self.get(trap_id).rubric.criteria}

    def filter(self, series: str | None = None, tag: str | None = None) -> list[Trap]:
        return [
            self._traps[i]
            for i in self.ids
            if (series is None or self._traps[i].card.series == series)
            and (tag is None or tag in self._traps[i].card.tags)
        ]

    @cached_property
    def content_hash(self) -> str:
        """Changes whenever any card changes; the index rebuilds itself on a new value."""
        h = hashlib.sha256()
        for i in self.ids:
            h.update(self._traps[i].card.model_dump_json().encode())
        return h.hexdigest()[:16]
