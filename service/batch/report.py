"""What people would rather see than read: a CSV, a summary table, and an HTML report with plots."""

from __future__ import annotations

import csv
import html
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from service.batch.output import latest
from service.catalog import Catalog


def rows(output: Path) -> list[dict[str, Any]]:
    return list(latest(output).values())


def write_csv(records: list[dict[str, Any]], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "id",
                "trap_id",
                "score",
                "score_scaled",
                "verdict",
                "fell_into_trap",
                "red_flags",
                "unclear_flags",
                "mode",
                "model",
                "error",
            ]
        )
        for r in records:
            grader = r.get("grader") or {}
            w.writerow(
                [
                    r.get("id"),
                    r.get("trap_id"),
                    r.get("score"),
                    r.get("score_scaled"),
                    r.get("verdict"),
                    r.get("fell_into_trap"),
                    ";".join(r.get("red_flags") or []),
                    ";".join(r.get("unclear_flags") or {}),
                    grader.get("mode"),
                    grader.get("model"),
                    r.get("error"),
                ]
            )


def stats(records: list[dict[str, Any]]) -> dict[str, Any]:
    graded = [r for r in records if "error" not in r]
    by_trap: dict[str, list[int]] = defaultdict(list)
    by_criterion: dict[str, list[float]] = defaultdict(list)
    flags: Counter[str] = Counter()
    unclear: Counter[str] = Counter()
    for r in graded:
        by_trap[r.get("trap_id") or "(reference)"].append(r["score"])
        for c in r.get("criteria", []):
            by_criterion[f"{r.get('trap_id') or 'ref'}:{c['id']}"].append(c["score"] / c["max"])
        flags.update(r.get("red_flags") or [])
        unclear.update(list(r.get("unclear_flags") or {}))  # the flag ids, not their quotes
    errors = Counter(str(r["error"]).split(":")[0] for r in records if "error" in r)
    scores = [r["score"] for r in graded]
    return {
        "records": len(records),
        "graded": len(graded),
        "errors": len(records) - len(graded),
        "mean_score": round(sum(scores) / len(scores), 1) if scores else None,
        "verdicts": dict(Counter(r["verdict"] for r in graded)),
        "histogram": [sum(10 * i <= s < 10 * (i + 1) or (i == 9 and s == 100) for s in scores) for i in range(10)],
        "by_trap": {k: round(sum(v) / len(v), 1) for k, v in sorted(by_trap.items())},
        "by_criterion": {k: round(sum(v) / len(v), 2) for k, v in sorted(by_criterion.items())},
        "red_flags": flags.most_common(10),
        "unclear_flags": unclear.most_common(10),
        "error_kinds": errors.most_common(10),
    }


def _bars(items: list[tuple[str, float]], scale: float, unit: str = "") -> str:
    height = 22 * len(items) + 10
    parts = [f'<svg width="720" height="{height}" role="img">']
    for i, (label, value) in enumerate(items):
        y = 5 + 22 * i
        width = 0 if scale == 0 else 420 * value / scale
        parts.append(
            f'<text x="0" y="{y + 15}" font-size="12">{html.escape(label)}</text>'
            f'<rect x="250" y="{y + 3}" width="{width:.1f}" height="15" fill="#3b73d1"/>'
            f'<text x="{255 + width:.1f}" y="{y + 15}" font-size="12">{value}{unit}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


VERDICTS = ("strong", "pass", "borderline", "fail")
STYLE = """
body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:auto;padding:0 1em;color:#1b1f24}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #d0d7de;padding:4px 6px;text-align:left}
mark{background:#fff3b0}mark.flag{background:#ffd7d5;color:#82071e}mark.unclear{background:#ffe2bf}
.answer{white-space:pre-wrap}
section{border-top:2px solid #d0d7de;margin-top:1.5em}.crit{margin:.2em 0}
"""


def _marked(text: str, quotes: list[tuple[str, str]]) -> str:
    """The answer, escaped, with each quote that is a span of it marked (flags in red)."""
    spans = sorted((i, i + len(q), cls) for q, cls in quotes if q and (i := text.find(q)) >= 0)
    out, at = [], 0
    for start, end, cls in spans:
        if start < at:
            continue  # overlaps a mark already made
        out += [html.escape(text[at:start]), f'<mark class="{cls}">', html.escape(text[start:end]), "</mark>"]
        at = end
    return "".join([*out, html.escape(text[at:])])


def _answer_section(rec: dict[str, Any], answer: str | None, catalog: Catalog | None) -> str:
    rid = str(rec.get("id"))
    trap = catalog.get(rec["trap_id"]) if catalog is not None and rec.get("trap_id") in catalog else None
    words = catalog.criterion_words(trap.id) if catalog is not None and trap else {}
    flags = {f.id: f.statement for f in trap.rubric.red_flags} if trap else {}
    head = f'<section id="a-{html.escape(rid)}"><h3>{html.escape(rid)}'
    if "error" in rec:
        return f"{head}: not graded</h3><p>{html.escape(str(rec['error']))}</p></section>"
    title = f" — {html.escape(trap.card.title)}" if trap else ""
    parts = [f"{head}{title}: {rec['score']}/100, {rec['verdict']}</h3>"]
    for c in rec.get("criteria", []):
        parts.append(
            f'<p class="crit">{c["score"]}/{c["max"]} · {html.escape(words.get(c["id"], c["id"]))}'
            + (f" — <q>{html.escape(c['evidence'])}</q>" if c.get("evidence") else "")
            + "</p>"
        )
    for f in rec.get("red_flags", []):
        quote = (rec.get("flag_evidence") or {}).get(f, "")
        statement = html.escape(flags.get(f, f))
        parts.append(
            f'<p class="crit">Fell into the trap: {statement} — <mark class="flag">{html.escape(quote)}</mark></p>'
        )
    for f, quote in (rec.get("unclear_flags") or {}).items():  # read weakly: asked about, never capped
        parts.append(
            f'<p class="crit">You may have meant: {html.escape(flags.get(f, f))} — '
            f'<mark class="unclear">{html.escape(quote)}</mark></p>'
        )
    if answer:
        quotes = [(c.get("evidence") or "", "") for c in rec.get("criteria", [])]
        quotes += [(q, "flag") for q in (rec.get("flag_evidence") or {}).values()]
        quotes += [(q, "unclear") for q in (rec.get("unclear_flags") or {}).values()]
        parts.append(f'<p class="answer">{_marked(answer, quotes)}</p>')
    return "".join(parts) + "</section>"


def write_html(
    records: list[dict[str, Any]],
    path: Path,
    title: str,
    catalog: Catalog | None = None,
    answers: dict[str, str] | None = None,
) -> None:
    """The report: figures in words and bars, trap titles and criteria in their own words, then every
    answer, reachable from its row, with its evidence marked in the candidate's text."""
    s = stats(records)
    answers = answers or {}

    def trap_label(trap_id: str) -> str:
        if catalog is not None and trap_id in catalog:
            return f"{trap_id} — {catalog.get(trap_id).card.title}"
        return trap_id

    def criterion_label(key: str) -> str:
        trap_id, _, cid = key.rpartition(":")
        if catalog is not None and trap_id in catalog:
            words = catalog.criterion_words(trap_id).get(cid, cid)
            return f"{trap_id}: {words[:90]}{'…' if len(words) > 90 else ''}"
        return key

    verdicts = ", ".join(f"{s['verdicts'][v]} {v}" for v in VERDICTS if s["verdicts"].get(v))
    hist = [(f"{10 * i}–{10 * i + 9 if i < 9 else 100}", n) for i, n in enumerate(s["histogram"])]
    table = ["<table><tr><th>id</th><th>trap</th><th>score</th><th>verdict</th></tr>"]
    for rec in records:
        rid = html.escape(str(rec.get("id")))
        trap = html.escape(trap_label(rec.get("trap_id") or "") if rec.get("trap_id") else "(reference answer)")
        score, verdict = ("—", "error") if "error" in rec else (rec["score"], rec["verdict"])
        table.append(f'<tr><td><a href="#a-{rid}">{rid}</a></td><td>{trap}</td><td>{score}</td><td>{verdict}</td></tr>')
    table.append("</table>")
    sections = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{s['graded']} answers graded, {s['errors']} not graded; mean score {s['mean_score']}."
        + (f" Verdicts: {verdicts}.</p>" if verdicts else "</p>"),
        "<h2>Score distribution</h2>",
        _bars(hist, max(s["histogram"]) or 1),
        "<h2>Average score per trap</h2>",
        _bars([(trap_label(k), v) for k, v in s["by_trap"].items()], 100),
        "<h2>Average credit per criterion</h2>",
        _bars([(criterion_label(k), v) for k, v in s["by_criterion"].items()], 1),
        "<h2>Most common red flags</h2>",
        _bars([(k, v) for k, v in s["red_flags"]], max([1, *[v for _, v in s["red_flags"]]])),
    ]
    if s["unclear_flags"]:  # read weakly: worth a reviewer's look, never capped
        sections += [
            "<h2>Traps the answers may mean (read weakly, not capped)</h2>",
            _bars(s["unclear_flags"], max(v for _, v in s["unclear_flags"])),
        ]
    if s["error_kinds"]:
        sections += (
            ["<h2>Errors</h2><ul>"] + [f"<li>{html.escape(k)}: {n}</li>" for k, n in s["error_kinds"]] + ["</ul>"]
        )
    sections += ["<h2>Every answer</h2>", *table]
    sections += [_answer_section(rec, answers.get(str(rec.get("id"))), catalog) for rec in records]
    path.write_text(
        f"<!doctype html><html lang='en'><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style><body>" + "".join(sections),
        encoding="utf-8",
    )


def answers_of(source: Path) -> dict[str, str]:
    """Each input id's answer text (a transcript's candidate turns), for the report to quote."""
    import json

    out: dict[str, str] = {}
    with source.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if not isinstance(rec, dict) or rec.get("id") is None:
                continue
            if isinstance(rec.get("turns"), list):
                text = "\n\n".join(
                    str(t.get("content", ""))
                    for t in rec["turns"]
                    if isinstance(t, dict) and t.get("role") == "candidate"
                )
            else:
                text = str(rec.get("answer", ""))
            out[str(rec["id"])] = text
    return out
