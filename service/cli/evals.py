"""`interviewer eval ...`: each eval prints a table, or one JSON object with --json."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from service.cli.common import console, emit_json, mode_option
from service.config import Settings, get_settings
from service.runtime import Runtime

app = typer.Typer(help="Measure retrieval, grading and the interviewer.", no_args_is_help=True)


@app.command("retrieval")
def retrieval(
    queries: Path | None = typer.Option(None, help="JSON Lines of {query, trap_id}; default evals/retrieval."),
    as_json: bool = typer.Option(False, "--json"),
    show_misses: bool = typer.Option(False, "--misses", help="List the queries ranked wrong."),
) -> None:
    """Top-1, top-3 and MRR of the retrieval queries, per method (hybrid is what the product uses)."""
    from evals import retrieval as ev

    result = ev.run(Runtime.build().index, queries or ev.DEFAULT_QUERIES)
    if as_json:
        emit_json(result)
        return
    table = Table("method", "top-1", "top-3", "MRR", title=f"retrieval: {result['queries']} queries")
    for method, m in result["methods"].items():
        table.add_row(method, f"{m['top1']:.3f}", f"{m['top3']:.3f}", f"{m['mrr']:.3f}")
    console.print(table)
    if show_misses:
        for miss in result["misses"]:
            console.print(f"- {miss['expected']} <- {miss['query']!r}: got {miss['got']}")


def _progress(total: int, label: str) -> tuple[Any, Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn, TimeRemainingColumn

    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task(label, total=total)
    return bar, lambda: bar.advance(task)


def _ids(sample: Path | None) -> set[str] | None:
    if sample is None:
        return None
    return {line.strip() for line in sample.read_text().splitlines() if line.strip() and not line.startswith("#")}


@app.command("grading")
def grading(
    mode: str = typer.Option(
        "semantic", help="semantic or llm (llm replays --cassette, or calls the model).", callback=mode_option
    ),
    gold: Path | None = typer.Option(None, help="JSON Lines of {trap_id, answer, band, fell_into_trap}."),
    sample: Path | None = typer.Option(None, help="File of trap ids (one a line) to restrict the gold set to."),
    cassette: Path | None = typer.Option(None, help="Replay recorded model responses from this cassette."),
    record: bool = typer.Option(False, help="With --cassette: record it afresh from the local models."),
    retest: bool = typer.Option(True, help="Grade twice without the cache and report agreement."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Spearman, band accuracy, trap precision/recall, injection robustness and test-retest on the gold set.

    In semantic mode the similarity rule (the grader before the reader) is measured beside the checklist,
    on every answer and on the held-out traps.
    """
    from evals import grading as ev
    from service.grading.factory import make_grader

    settings = get_settings()
    ids = _ids(sample)
    deciders = ("checklist", "similarity") if mode == "semantic" else ("checklist",)
    results: dict[str, Any] = {}
    with _maybe_cassette(cassette, settings, record) as active:
        cat = Runtime.build(active).catalog
        rows = ev.load_gold(gold or ev.DEFAULT_GOLD, cat, ids)
        bar, tick = _progress(len(rows) * (2 if retest else 1) * len(deciders), f"grading ({mode})")
        with bar:
            for decider in deciders:

                def grader(decider: str = decider) -> Any:
                    return make_grader(settings=active, mode=mode, use_cache=False, decider=decider)  # type: ignore[arg-type]

                results[decider] = ev.run(
                    grader(), grader() if retest else None, cat, gold or ev.DEFAULT_GOLD, ids, tick
                )
    result = results["checklist"] | ({"similarity": results["similarity"]} if "similarity" in results else {})
    if as_json:
        emit_json(result)
        return
    columns = {"checklist (default): all": result, "held-out": result["held_out"]}
    for name in ("similarity",):
        if name in result:
            columns |= {f"{name}: all": result[name], f"{name}: held-out": result[name]["held_out"]}
    table = Table("figure", *columns, title=f"grading: {result['answers']} gold answers, {mode} ({result['model']})")
    keys = ["spearman", "band_accuracy", "band_accuracy_partial", "trap_precision", "trap_recall"]
    for key in [*keys, "injection_robustness", "test_retest"]:
        table.add_row(key, *(str(c.get(key, "")) for c in columns.values()))
    for kind in result["mean_score_by_kind"]:
        table.add_row(f"mean score: {kind}", *(str(c["mean_score_by_kind"].get(kind, "")) for c in columns.values()))
    table.add_row("errors", *(str(len(c.get("errors", []))) for c in columns.values()))
    console.print(table)


@app.command("polarity")
def polarity(
    data: Path | None = typer.Option(None, help="Folder of writer folders; default evals/reader."),
    disputes: Path | None = typer.Option(None, help="Settled disputes (`interviewer disputes export`): own cell."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The reader per cell: seen or unseen writer × seen or unseen trap (unseen × unseen is the one that counts)."""
    from evals import polarity as ev
    from evals.polarity_data import DEFAULT_DIR

    result = ev.run(Runtime.build(get_settings()).catalog, data or DEFAULT_DIR, disputes=disputes)
    if as_json:
        emit_json(result)
        return
    console.print(
        f"polarity: {result['pairs']} pairs ({result['explicit_pairs']} labelled explicitly) from "
        f"{result['passages']} passages by {len(result['writers'])} writers; {result['cells']['train']} train"
    )
    for problem in result["problems"][:10]:
        console.print(f"[yellow]{problem}[/yellow]")
    relabelled = Table(
        "writer", "pairs re-labelled", "disagreement", "where either took a stand", title="a second labeller, 5%"
    )
    for writer, r in result["relabel"].items():
        relabelled.add_row(writer, str(r["pairs"]), str(r["disagreement"]), str(r["labelled_disagreement"]))
    console.print(relabelled)
    keys = ["accuracy", "labelled_accuracy", "macro_f1", "rejections_read_as_assertions", "terse_credited"]
    keys += ["flag_precision", "flag_recall"]
    for name, cells in result["methods"].items():
        table = Table("cell", "pairs", *(k.replace("_", " ") for k in keys), title=name)
        for cell, m in cells.items():
            table.add_row(cell, str(m["n"]), *(str(m[k]) for k in keys))
        console.print(table)


@app.command("calibrate")
def calibrate(
    gold: Path | None = typer.Option(None, help="Gold answers to fit the trap-path thresholds on."),
    semeval_dir: Path | None = typer.Option(None, "--semeval", help="SemEval-2013 train dir (reference path)."),
    write: bool = typer.Option(True, help="Write service/grading/calibration.json."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Fit the semantic thresholds on half the data and report the other half."""
    from evals import calibrate as cal
    from evals import semeval

    items = semeval.load(semeval_dir or semeval.DEFAULT_DIR)
    catalog = Runtime.build().catalog
    result = cal.fit(catalog, gold or cal.DEFAULT_GOLD)
    result.update(cal.fit_reference(items))
    if write:
        cal.write(result)
    if as_json:
        emit_json(result)
        return
    console.print_json(data=result)


@app.command("semeval")
def semeval_cmd(
    mode: str = typer.Option(
        "semantic", help="semantic (all answers) or llm (a recorded sample).", callback=mode_option
    ),
    data: Path | None = typer.Option(None, help="SemEval-2013 train dir; default ../shared/datasets."),
    sample: int = typer.Option(0, help="Grade a balanced sample of this many held-out answers (0 = all)."),
    held_out_only: bool = typer.Option(False, "--held-out", help="Only the held-out fold (1)."),
    cassette: Path | None = typer.Option(None, help="Replay recorded model responses from this cassette."),
    record: bool = typer.Option(False, help="With --cassette: record it afresh from the local models."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """2-way macro-F1 and accuracy through the reference-answer path (fit fold and held-out fold)."""
    from evals import semeval
    from service.grading.factory import make_grader

    items = semeval.load(data or semeval.DEFAULT_DIR)
    if held_out_only:
        items = [it for it in items if it.fold == 1]
    if sample:
        items = semeval.sample(items, sample)
    settings = get_settings()
    with _maybe_cassette(cassette, settings, record) as active:
        grader = make_grader(settings=active, mode=mode_option(mode), use_cache=False)
        bar, tick = _progress(len(items), f"semeval ({mode})")
        with bar:
            preds = asyncio.run(_grade_semeval(items, grader, active, tick))
    result: dict[str, Any] = {"mode": mode, "model": grader.info.model}
    for fold, name in ((0, "fit_fold0"), (1, "heldout_fold1")):
        sel = [(it, p) for it, p in zip(items, preds, strict=True) if it.fold == fold]
        if sel:
            result[name] = semeval.f1_report([it.correct for it, _ in sel], [p for _, p in sel])
    if as_json:
        emit_json(result)
        return
    table = Table("fold", "answers", "macro-F1", "accuracy", "weighted F1", title=f"SemEval-2013 2-way, {mode}")
    for name in ("fit_fold0", "heldout_fold1"):
        if name in result:
            r = result[name]
            table.add_row(name, str(r["answers"]), str(r["macro_f1"]), str(r["accuracy"]), str(r["weighted_f1"]))
    console.print(table)


async def _grade_semeval(items: list[Any], grader: Any, settings: Any, tick: Any) -> list[bool]:
    from service.grading.reference import reference_subject

    subjects: dict[tuple[str, str], Any] = {}
    preds = []
    for it in items:  # sequential on purpose: the local model serves one request at a time anyway
        key = (it.question, it.reference)
        if key not in subjects:
            subjects[key] = await reference_subject(it.question, it.reference, llm=grader.llm, settings=settings)
        grade = await grader.agrade(subjects[key], it.answer)
        preds.append(grade.score >= subjects[key].rubric.pass_mark)
        tick()
    return preds


@contextmanager
def _maybe_cassette(path: Path | None, settings: Settings, record: bool) -> Iterator[Settings]:
    if path is None:
        yield settings
        return
    from service.llm.recording import cassette

    with cassette(path, settings, record=record) as active:
        yield active


@app.command("interviewer")
def interviewer_cmd(
    mode: str = typer.Option(
        "semantic", help="semantic, or llm (replays --cassette, or calls the model).", callback=mode_option
    ),
    traps: str | None = typer.Option(None, help="Comma-separated trap ids (default: six across the series)."),
    cassette: Path | None = typer.Option(None, help="Replay recorded model responses from this cassette."),
    record: bool = typer.Option(False, help="With --cassette: record it afresh from the local models."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Scripted candidates (strong, trap, rambling, silent, gibberish, confused, hedge, injection) play whole
    interviews; every asked turn is checked as the candidate reads it."""
    import tempfile

    from evals import interviewer as ev
    from service.agent.session import Interviewer

    ids = [t.strip() for t in traps.split(",")] if traps else ev.DEFAULT_TRAPS
    settings = get_settings()
    with tempfile.TemporaryDirectory() as tmp, _maybe_cassette(cassette, settings, record) as active:
        active = active.model_copy(update={"mode": mode, "data_dir": Path(tmp)})
        bar, tick = _progress(len(ids) * len(ev.scripts(ids[0])), f"interviews ({mode})")

        async def interviews() -> dict[str, Any]:
            async with Interviewer.open(Runtime.build(active)) as iv:
                return await ev.run(iv, iv.catalog, ids, tick)

        with bar:
            result = asyncio.run(interviews())
    if as_json:
        emit_json(result)
        return
    table = Table("figure", "value", title=f"interviewer: {result['interviews']} scripted interviews, {result['mode']}")
    for key in (
        "ended",
        "no_reveal",
        "follow_ups_on_uncovered",
        "turns_asking",
        "prompt_echo",
        "near_duplicates",
        "fragments",
        "words_per_turn_mean",
        "words_per_turn_max",
        "turn_sources",
        "hedges_asked",
        "hedges_settled",
        "clarifications_repeating",
        "hints_pointing",
        "on_trap",
        "model_fallbacks",
    ):
        table.add_row(key, str(result[key]))
    for cand, mean in result["mean_score_by_candidate"].items():
        table.add_row(f"mean score: {cand}", str(mean))
    console.print(table)


@app.command("turns")
def turns_cmd(
    collect: bool = typer.Option(
        False, help="Phrase every state with the embedded models again (records the cassettes), then write the pairs."
    ),
    replay: bool = typer.Option(
        False, help="Read the recorded replies again through the turn checks (no model), then write the pairs."
    ),
    models: str = typer.Option("0.5b,1.5b", help="Which embedded models to collect: 0.5b, 1.5b."),
    traps: str | None = typer.Option(None, help="Comma-separated trap ids to collect (default: every trap)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Blind A/B of the interviewer's turns, model against card: collect (--collect), then tally the judges."""
    from evals import turn_ab as ev

    if collect or replay:
        settings = get_settings()
        catalog = Runtime.build(settings).catalog
        ids = [t.strip() for t in traps.split(",")] if traps else [t.id for t in catalog if ":" not in t.id]
        for model in [m.strip() for m in models.split(",")]:
            bar, tick = _progress(len(ids) * len(ev.KINDS), f"turns ({model})")
            with bar:
                asyncio.run(ev.collect(settings, catalog, model, ids, tick, record=collect))
        console.print(f"pairs: {ev.write_pairs()}; judging instructions: {ev.DIR / 'JUDGING.md'}")
    result = ev.tally()
    if as_json:
        emit_json(result)
        return
    table = Table("model", "turns", "traps", "shown", "pairs judged", "pairs won/lost/tied", "win rate (95% CI)")
    for name, m in result["models"].items():
        p = m["pairs"]
        ci = m["win_rate_95ci"]
        rate = f"{m['win_rate']} ({ci[0]}–{ci[1]})" if m["win_rate"] is not None else "no judgments"
        table.add_row(
            name,
            str(m["turns"]),
            str(m["traps"]),
            ", ".join(f"{k} {v}" for k, v in sorted(m["turn_sources"].items())),
            str(m["pairs_judged"]),
            f"{p.get('model', 0)}/{p.get('card', 0)}/{p.get('tie', 0)}",
            rate,
        )
    console.print(table)
    console.print(f"judges: {', '.join(result['judges']) or 'none yet'}")
