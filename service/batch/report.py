"""What people would rather see than read: a CSV, a summary table, and an HTML report with plots."""

from __future__ import annotations

import csv
import html
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from service.batch.output import latest


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
    for r in graded:
        by_trap[r.get("trap_id") or "(reference)"].append(r["score"])
        for c in r.get("criteria", []):
            by_criterion[f"{r.get('trap_id') or 'ref'}:{c['id']}"].append(c["score"] / c["max"])
        flags.update(r.get("red_flags") or [])
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


def write_html(records: list[dict[str, Any]], path: Path, title: str) -> None:
    s = stats(records)
    hist = [(f"{10 * i}–{10 * i + 9 if i < 9 else 100}", n) for i, n in enumerate(s["histogram"])]
    sections = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{s['graded']} graded, {s['errors']} errors, mean score {s['mean_score']}; verdicts {s['verdicts']}</p>",
        "<h2>Score distribution</h2>",
        _bars(hist, max(s["histogram"]) or 1),
        "<h2>Average score per trap</h2>",
        _bars(list(s["by_trap"].items()), 100),
        "<h2>Average credit per criterion</h2>",
        _bars(list(s["by_criterion"].items()), 1),
        "<h2>Most common red flags</h2>",
        _bars([(k, v) for k, v in s["red_flags"]], max([1, *[v for _, v in s["red_flags"]]])),
    ]
    if s["error_kinds"]:
        sections += (
            ["<h2>Errors</h2><ul>"] + [f"<li>{html.escape(k)}: {n}</li>" for k, n in s["error_kinds"]] + ["</ul>"]
        )
    path.write_text(
        "<!doctype html><meta charset='utf-8'><title>Batch grades</title>"
        "<body style='font:14px system-ui;max-width:900px;margin:auto'>" + "".join(sections),
        encoding="utf-8",
    )
