"""What the candidate just did: answered, asked for a hint or clarification, gave up, or asked to stop."""

from __future__ import annotations

import re
from typing import Literal

Move = Literal["finish", "dont_know", "hint", "clarify", "answer"]

_FINISH = re.compile(
    r"^\s*(/(done|finish|end|quit)|(let'?s |please |can we |i'?d like to |i want to )?"
    r"(finish|end|stop|wrap up|conclude)( (the|this) interview| here| now| it)?[.!]?|i'?m done[.!]?)\s*$",
    re.IGNORECASE,
)
_DONT_KNOW = re.compile(
    r"^\s*(i (really )?(do not|don'?t) know|no idea|not sure|i'?m not sure|i have no idea|pass|skip|"
    r"i can'?t (answer|remember))\b[^?]{0,60}$",
    re.IGNORECASE,
)
_HINT = re.compile(r"\b(hint|a clue|nudge|point me)\b", re.IGNORECASE)
_CLARIFY = re.compile(
    r"\b(what do you mean|could you clarify|can you clarify|clarify|rephrase|what exactly|do you mean|"
    r"could you explain the question|i don'?t understand the question)\b",
    re.IGNORECASE,
)


_FINISH_IN_SHORT = re.compile(
    r"\b(let'?s (finish|wrap up|stop|end)|(end|finish|stop) (the|this) interview|i'?m done|that'?s all)\b",
    re.IGNORECASE,
)


def classify(message: str) -> Move:
    """A cheap, predictable classifier: interviews must not hinge on a small model's mood."""
    text = message.strip()
    if _FINISH.match(text) or (len(text) < 80 and _FINISH_IN_SHORT.search(text)):
        return "finish"
    if _HINT.search(text) and len(text) < 200:
        return "hint"
    if _CLARIFY.search(text) and len(text) < 300:
        return "clarify"
    if _DONT_KNOW.match(text):
        return "dont_know"
    return "answer"
