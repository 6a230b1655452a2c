"""Splitting answers into the units that evidence is drawn from, and telling words from noise."""

from __future__ import annotations

import re

_SENT = re.compile(r"(?<=[.!?;])\s+|\n\s*\n")  # hard-wrapped lines are not sentence ends
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")
_VOWEL = re.compile(r"[aeiouy]", re.IGNORECASE)


def complete_sentences(buffer: str) -> tuple[list[str], str]:
    """The sentences a growing text has finished, and the unfinished rest: how streamed words are read."""
    *done, rest = _SENT.split(buffer)
    return done, rest


def sentences(text: str) -> list[str]:
    """Sentences, long ones cut at ~40 words so one rambling sentence cannot cover everything."""
    out: list[str] = []
    for s in _SENT.split(text.strip()):
        words = s.split()  # also folds the single newlines of wrapped text
        for i in range(0, len(words), 40):
            piece = " ".join(words[i : i + 40]).strip()
            if len(piece) >= 3:
                out.append(piece)
    return out


# Function words, which say nothing about whether a claim was made. Negations are not among them.
STOP_WORDS = frozenset(
    "a an the of to in on and or is are was were be been being it its this that these those for with as by at from "
    "which what when where why how do does did can will would should could has have had there then than so if but "
    "because into about also just very more most much many some any all each other such only i you he she they we "
    "my your their our his her them us me".split()
)


def content_words(text: str) -> set[str]:
    """The words that carry a claim, cut to their first four letters (a crude stem: "resistance" and
    "resistor" meet, "series" and "parallel" do not; four was chosen over five on SemEval fold 0)."""
    return {w[:4] for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in STOP_WORDS}


def wordiness(text: str) -> float:
    """Share of tokens that look like words (letters with vowels); gibberish scores low."""
    tokens = text.split()
    if not tokens:
        return 0.0
    words = [t for t in tokens if _WORD.fullmatch(t.strip(".,;:!?()\"'")) and _VOWEL.search(t)]
    return len(words) / len(tokens)


def unwrap(text: str) -> str:
    """Text as a person reads it: hard-wrapped lines joined, paragraph breaks kept."""
    paragraphs = re.split(r"\n\s*\n", text.strip())
    return "\n\n".join(" ".join(p.split()) for p in paragraphs)
