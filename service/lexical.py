"""Okapi BM25 over the cards: catches the exact terms (ZeRO, MLA, focal) that a small embedder blurs."""

from __future__ import annotations

import math
import re
from collections import Counter

from service.grading.text import STOP_WORDS

_TOKEN = re.compile(r"[a-z0-9]+(?:[.-][a-z0-9]+)*")


def tokens(text: str) -> list[str]:
    out = []
    for tok in _TOKEN.findall(text.lower()):
        if tok in STOP_WORDS:
            continue
        out.append(tok)
        if "-" in tok or "." in tok:  # "cross-entropy" also matches "cross" and "entropy"
            out.extend(p for p in re.split(r"[.-]", tok) if p and p not in STOP_WORDS)
    return out


class BM25:
    """Scores documents against a query; k1 and b are the usual defaults."""

    def __init__(self, docs: dict[str, str], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.tf = {key: Counter(tokens(text)) for key, text in docs.items()}
        self.len = {key: sum(tf.values()) for key, tf in self.tf.items()}
        self.avg = sum(self.len.values()) / max(len(self.len), 1)
        df: Counter[str] = Counter()
        for tf in self.tf.values():
            df.update(tf.keys())
        n = len(self.tf)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    def scores(self, query: str) -> dict[str, float]:
        q = tokens(query)
        out = {}
        for key, tf in self.tf.items():
            norm = self.k1 * (1 - self.b + self.b * self.len[key] / self.avg)
            out[key] = sum(self.idf.get(t, 0.0) * tf[t] * (self.k1 + 1) / (tf[t] + norm) for t in q if t in tf)
        return out
