"""What a turn may show: one question, optionally after one short sentence to the candidate.

A model's reply is read sentence by sentence, in the order it streams. The first sentence that asks
ends the turn (whatever follows is never shown); before it, at most one short sentence that speaks
to the candidate ("You'd keep the 10,000x weight.", "Good, that's a start."), or the card question's
own scene-setting sentences, passed through (two statements at most in all). Anything else
rejects the model's text: a sentence from the prompt, a near-duplicate of a sentence before it or of
the question it was given, a fragment without a verb, a statement that lectures, the card's answer
(the leak check, passed in), or a reply that never asks. What was rejected is never shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

from service.grading.text import content_words

ECHO_RUN = 5  # words in a row shared with the instructions the model was given: it is reading them back
NEAR_DUPLICATE = 0.6  # share of content words two sentences have in common (of the smaller one)
MAX_QUESTION_WORDS = 45
MAX_PREFACE_WORDS = 20
# What a shown turn may hold before its question: a model's turn has at most one such sentence; a card's
# own question sets its scene in up to two ("Say you keep only... That discards... How would you...?").
MAX_SETUP_SENTENCES = 2

# Requests that ask as plainly as a question does ("Walk me through...", "Estimate...").
_ASKING = re.compile(
    r"^(walk|explain|describe|tell|estimate|sketch|compute|calculate|show|give|name|list|compare|outline|derive|"
    r"quantify|talk|prove|write|justify|predict|propose|design|diagnose|work)\b",
    re.IGNORECASE,
)
# A question needs a verb: a wh-word or an auxiliary carries one ("What happens...", "Is it...").
_QUESTION_VERB = re.compile(
    r"\b(what|why|how|which|who|whom|whose|where|when|is|are|was|were|be|do|does|did|can|could|would|will|should|"
    r"shall|may|might|must|has|have|had|isn't|aren't|doesn't|don't|didn't|wouldn't|couldn't|won't|"
    r"[a-z]+'(d|s|re|ll|ve))\b",
    re.IGNORECASE,
)
# A sentence that opens with one of these and ends in a full stop is half a sentence ("When INT8 ... is
# the right call.", "Why dropout ... matters."): an indirect question the model stopped writing.
_SUBORDINATE = re.compile(
    r"^(when|why|whether|how|if|because|although|though|while|what|which|where|who)\b", re.IGNORECASE
)
_ACKNOWLEDGE = re.compile(
    r"^(ok|okay|good|great|right|fair|interesting|thanks|thank you|understood|got it|sure|alright|all right|nice|"
    r"that makes sense|makes sense|that's fine|fine|noted|i see)\b",
    re.IGNORECASE,
)
_ADDRESSES = re.compile(r"\byou('d|'re|'ve|'ll)?\s+[a-z]", re.IGNORECASE)  # "you" as the subject of a verb


def clean(sentence: str) -> str:
    return sentence.strip().strip("\"'“”").strip()


def words(text: str) -> str:
    """Text as its lower-case words alone: what "word for word the same" compares."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def asks(sentence: str) -> bool:
    """Whether a sentence asks the candidate something: a question, or a request like "Estimate the cost."."""
    s = clean(sentence)
    return s.endswith("?") or bool(_ASKING.match(s))


def fragment(sentence: str) -> bool:
    """Half a sentence: a question with no verb in it, or a statement that opens like a clause of another."""
    s = clean(sentence)
    if s.endswith("?"):
        return not _QUESTION_VERB.search(s) and not _ASKING.match(s)
    if _ASKING.match(s):
        return False
    return bool(_SUBORDINATE.match(s)) and "," not in s


def near_duplicate(a: str, b: str) -> bool:
    """Two sentences that say the same thing in nearly the same words ("When X is right. When is X right?")."""
    wa, wb = content_words(a), content_words(b)
    if not wa or not wb:
        return words(a) == words(b)
    return len(wa & wb) / min(len(wa), len(wb)) >= NEAR_DUPLICATE and len(wa & wb) >= 2


def _runs(text: str, n: int = ECHO_RUN) -> set[tuple[str, ...]]:
    split = words(text).split()
    return {tuple(split[i : i + n]) for i in range(len(split) - n + 1)}


_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)


@lru_cache(maxsize=8)
def instruction_runs(prompts_dir: Path, names: tuple[str, ...]) -> frozenset[tuple[str, ...]]:
    """The word runs of the prompts' own text (their placeholders cut out): what a turn must never echo."""
    out: set[tuple[str, ...]] = set()
    for name in names:
        for piece in _TAG.split((prompts_dir / name).read_text(encoding="utf-8")):
            out |= _runs(piece)
    return frozenset(out)


def echoes(sentence: str, runs: Iterable[tuple[str, ...]]) -> bool:
    return bool(_runs(sentence) & set(runs))


Verdict = Literal["preface", "question", "reject"]


@dataclass
class Gate:
    """Decides each sentence of a model's turn as it arrives: shown as the preface, shown as the
    question (the turn ends), or the whole model text rejected.

    `draft` is the question the model was asked to phrase: a preface restating it is the model
    stalling ("When INT8 ... is the right call. When is INT8 ... ?"), and for a clarification the
    question must be new words. `preface_taken`: the turn already opens with a sentence of its own.
    """

    runs: frozenset[tuple[str, ...]]
    draft: str
    clarify: bool = False
    preface_taken: bool = False
    shown: list[str] = field(default_factory=list)
    problem: str | None = None

    def __post_init__(self) -> None:
        from service.grading.text import sentences

        # The card's own scene-setting sentences, which a model may pass through before the question.
        self._setup = {words(x) for x in sentences(self.draft) if not asks(x)} if not self.clarify else set()
        self._statements = int(self.preface_taken)

    def judge(self, sentence: str) -> Verdict:
        s = clean(sentence)
        problem = self._problem(s)
        if problem:
            self.problem = problem
            return "reject"
        self.shown.append(s)
        if asks(s):
            return "question"
        self._statements += 1
        if words(s) not in self._setup:
            self.preface_taken = True
        return "preface"

    def _problem(self, s: str) -> str | None:
        n = len(s.split())
        if echoes(s, self.runs):
            return "prompt text"
        if fragment(s):
            return "fragment"
        if any(near_duplicate(s, x) for x in self.shown):
            return "near-duplicate"
        if asks(s):
            if n > MAX_QUESTION_WORDS:
                return "long question"
            if self.clarify and near_duplicate(s, self.draft):
                return "clarification repeats the question"
            return None
        if self._statements >= MAX_SETUP_SENTENCES:
            return "a lecture before the question"
        if words(s) in self._setup:
            return None
        if self.preface_taken:
            return "a second statement"
        if n > MAX_PREFACE_WORDS:
            return "long statement"
        if near_duplicate(s, self.draft):
            return "restates the question as a statement"
        if not (_ADDRESSES.search(s) or (_ACKNOWLEDGE.match(s) and n <= 8)):
            return "statement not to the candidate"
        return None


def problems(text: str, runs: Iterable[tuple[str, ...]]) -> list[str]:
    """What is wrong with a turn as shown (the interviewer eval's reading): each problem once, in order."""
    from service.grading.text import sentences

    sents = [clean(s) for s in sentences(text)]
    out: list[str] = []
    run_set = set(runs)
    asking = [s for s in sents if asks(s)]
    if any(echoes(s, run_set) for s in sents):
        out.append("prompt text")
    if any(near_duplicate(a, b) for i, a in enumerate(sents) for b in sents[i + 1 :]):
        out.append("near-duplicate")
    if any(fragment(s) for s in sents):
        out.append("fragment")
    if len(asking) != 1:
        out.append(f"{len(asking)} questions")
    elif sents[-1] != asking[0]:
        out.append("text after the question")
    if len(sents) - len(asking) > MAX_SETUP_SENTENCES:
        out.append("a lecture before the question")
    return out
