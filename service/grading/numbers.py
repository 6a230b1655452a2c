"""Numbers the reader cannot weigh: a passage that restates a point's quantity with a different value.

MiniLM reads "the model grows to ~67B" as agreeing with "the model grows to 8.9B": the words match and
a number is one token among many (on seen writers' pairs, a third of wrong-number passages read as
entailing). A number is easy to compare in code, so this check runs beside the reader: a passage
conflicts with a statement when the statement pins a quantity the passage does not match, and the
passage gives a value of the same kind (bytes, time, a percentage, a ratio, a plain count) that is
neither the statement's nor any number the trap already knows (the other statements on its side:
points for a point, claims for a claim; and its question). Known numbers keep a passage that answers
another point, or repeats the scenario, clear.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from service.grading.entailment import CONTRADICTS, ENTAILS, PARTIAL

TOLERANCE = 1.35  # a restated value within this factor is the same value ("~9 GB" for 8.9 GB)
KNOWN_TOLERANCE = 1.1  # a number the trap knows is restated nearly as written, or it is a different value
RANGE_SLACK = 1.05  # a value just outside a stated acceptable range still counts as inside it

_MAGNITUDE = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "b": 1e9, "bn": 1e9, "billion": 1e9}
_MAGNITUDE |= {"t": 1e12, "trillion": 1e12}
_BYTES = {"byte": 1, "bytes": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "pb": 1e15}
_BYTES |= {"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_TIME = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1}
_TIME |= {"min": 60, "mins": 60, "minute": 60, "minutes": 60, "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600}
_TIME |= {"hours": 3600, "day": 86400, "days": 86400}
_NUMBER = re.compile(
    r"(?<![\w.^/*])(?<!\^-)(?<!\^−)(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
    r"(?:\s?[eE](?P<exp>[-+−]?\d+)|\s?[×x*]\s?10\^(?P<pow>[-+−]?\d+)|\^(?P<sup>[-+−]?\d+)"
    r"|/(?P<den>\d+(?:\.\d+)?)(?![\w/.]))?"
    r"(?P<unit>\s?(?:%|×|x\b|times\b|[kKmMbBtT]\b|bn\b|thousand\b|million\b|billion\b|trillion\b|"
    r"[KMGTP]i?B\b|bytes?\b|ns\b|µs\b|us\b|ms\b|s\b|secs?\b|seconds?\b|mins?\b|minutes?\b|"
    r"h\b|hrs?\b|hours?\b|days?\b)|(?P<var>[a-z])(?![A-Za-z]))?(?![A-Za-z_\d^])"
)
_RANGE = re.compile(
    r"(?<![\w.,])(?<!from )(?<!from ~)(?<!from about )(?P<lo>\d[\d.,]*\s?\S*?)"
    r"\s?(?:–|—|-| to )\s?(?:about |roughly |~)?(?P<hi>[\d.,]+\s?[^\s,;)]*)"
)


@dataclass(frozen=True)
class Quantity:
    value: float  # in base units: bytes, seconds, a plain count
    kind: str  # "bytes", "time", "percent", "ratio" or "count"
    written: float  # the number as written, before its unit ("400" in "400 ms")
    bare: bool = False  # no unit and no magnitude: "down to 365" may mean 365 ms


_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
_POWER = re.compile(r"[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+")


def quantities(text: str, small: bool = False) -> list[Quantity]:
    """Every number in the text with its kind. Names with digits (FP32, H100, L2, top-1) are no quantity;
    a coefficient ("4d", "2.67d") and a fraction ("8/3") are bare counts; bare 0, 1 and 2 are too common
    ("1 step", "2 layers") to pin one, unless `small` (a span's ends)."""
    text = _POWER.sub(lambda m: "^" + m[0].translate(_SUPERSCRIPT), text)  # 0.5³² is 0.5^32
    out = []
    for m in _NUMBER.finditer(text):
        written = float(m["num"].replace(",", ""))
        if m["sup"] is not None:
            written **= int(m["sup"].replace("−", "-"))
        if m["den"] is not None:
            written /= float(m["den"]) or 1.0  # 8/3 is one value
        exp = m["exp"] or m["pow"]
        if exp is not None:
            written *= 10 ** int(exp.replace("−", "-"))
        value, kind = written, "count"
        raw = m["unit"] or ""
        unit, low = raw.strip(), raw.strip().lower()
        if unit == "%":
            kind = "percent"
        elif low in ("×", "x", "times"):
            kind = "ratio"
        elif low in _BYTES or (unit == "B" and raw.startswith(" ")):  # "8 B" is bytes, "7B" billions
            kind, value = "bytes", written * _BYTES.get(low, 1)
        elif low in _TIME:
            kind, value = "time", written * _TIME[low]
        elif low in _MAGNITUDE:
            value = written * _MAGNITUDE[low]
        elif written in (0, 1, 2) and not small:
            continue
        out.append(Quantity(value, kind, written, bare=m["var"] is not None or not raw.strip()))
    return out


def _ranges(text: str) -> list[tuple[Quantity, Quantity]]:
    """The spans a statement gives ("250 to 350", "1,400–1,550", "85B to 250B"): a value inside one
    is the statement's own. The unit may be written once, after the second number. "From 400 ms to
    365 ms" is a change, not a span."""
    out = []
    for m in _RANGE.finditer(text):
        lo, hi = quantities(m["lo"], small=True), quantities(m["hi"], small=True)
        if lo and hi:
            a, b = lo[-1], hi[0]
            if a.kind == "count" and b.kind != "count" or a.value < b.value / 1000:
                a = Quantity(b.value * a.written / b.written, b.kind, a.written)
            out.append((a, b) if a.value <= b.value else (b, a))
    return out


def _inside(q: Quantity, ranges: Iterable[tuple[Quantity, Quantity]]) -> bool:
    return any(q.kind == lo.kind and lo.value / RANGE_SLACK <= q.value <= hi.value * RANGE_SLACK for lo, hi in ranges)


def _gap(a: Quantity, b: Quantity) -> float:
    """How far apart two values are, as a factor; infinite when they cannot be the same quantity."""
    if a.kind == b.kind:
        x, y = a.value, b.value
    elif a.bare or b.bare:
        x, y = a.written, b.written
    else:
        return float("inf")
    if x == y:
        return 1.0
    return max(x, y) / min(x, y) if x > 0 and y > 0 else float("inf")


def conflicts(statement: str, passage: str, known: Iterable[str] = ()) -> bool:
    """Whether the passage gives a quantity of a kind the statement pins, with a value that is neither
    the statement's (within TOLERANCE or a span it gives) nor one the trap already knows, while some
    value of that kind in the statement goes unmatched. A passage's value answers the statement's value
    nearest to it only: "from 400 ms to about 200 ms" does not match 365 ms through the 400."""
    pinned = quantities(statement)
    said = quantities(passage)
    if not pinned or not said:
        return False
    ranges = _ranges(statement)
    answered: set[int] = set()
    for p in said:
        gaps = [_gap(p, q) for q in pinned]
        nearest = min(range(len(pinned)), key=gaps.__getitem__)
        if gaps[nearest] <= TOLERANCE:
            answered.add(nearest)
    for i, q in enumerate(pinned):
        if any(lo.value <= q.value <= hi.value and lo.kind == q.kind for lo, hi in ranges) and any(
            _inside(p, ranges) for p in said
        ):
            answered.add(i)
    unmatched = {q.kind for i, q in enumerate(pinned) if i not in answered}
    if not unmatched:
        return False
    familiar = [q for text in known for q in quantities(text)]
    return any(
        p.kind in unmatched
        and min(_gap(p, q) for q in pinned) > TOLERANCE
        and not any(_gap(p, k) <= KNOWN_TOLERANCE for k in familiar)
        and not _inside(p, ranges)
        for p in said
    )


def overrule(probs: np.ndarray, pairs: list[tuple[str, str]], known: Mapping[str, Sequence[str]]) -> np.ndarray:
    """The reader's probabilities, with each conflicting pair's agreement (entails and partial) moved to
    contradicts. `known[statement]` holds the texts whose numbers the statement's trap already knows."""
    out = probs.copy()
    for i, (statement, passage) in enumerate(pairs):
        if conflicts(statement, passage, known.get(statement, ())):
            out[i, CONTRADICTS] += out[i, ENTAILS] + out[i, PARTIAL]
            out[i, ENTAILS] = out[i, PARTIAL] = 0.0
    return out
