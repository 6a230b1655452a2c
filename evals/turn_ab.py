"""Blind A/B of the interviewer's turns: a model's phrasing against the card's own follow-up.

Collection (needs the embedded models): for each trap and each candidate answer from the gold set, the
interview state after the opening question and that answer; the agent chooses the criterion and the
card's follow-up as it does in an interview (coverage, then the card's best question for it), and the
model phrases it through the turn checks, as a candidate would see it. Every model call is recorded
into tests/cassettes/turns_<model>.yaml, and each state into evals/turns/recorded_<model>.jsonl, so the
tests replay the same turns without a model.

Pairs go to judges blind: what the model wrote (before the turn checks: the A/B asks whether the model
phrases better, the checks only keep broken text away) against the card's follow-up, where the two
differ (evals/turns/ab_pairs.jsonl, the order of the options drawn per pair; which is the model's is in
ab_key.jsonl). The tally reads every evals/turns/judgments/ <judge>.jsonl ({"pair_id", "choice":
"A"|"B"|"tie", "reason"}): per pair, the judges' majority; per model, its win rate over the pairs
decided, with a 95% Wilson interval. The model wins only if the interval lies above one half.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evals.grading import DEFAULT_GOLD
from service.agent import questions, turncheck
from service.agent.graph import coverage
from service.catalog import Catalog
from service.config import ROOT, Settings
from service.grading.text import unwrap

DIR = ROOT / "evals" / "turns"
CASSETTES = ROOT / "tests" / "cassettes"
KINDS = ("trap", "partial", "dressed")  # the candidate's last answer: the tempting claim, half right, jargon
MODELS = {"0.5b": "qwen2.5-coder-0.5b", "1.5b": "qwen2.5-coder-1.5b"}
SEED = 30


def recorded_path(model: str) -> Path:
    return DIR / f"recorded_{model}.jsonl"


def cassette_path(model: str) -> Path:
    return CASSETTES / f"turns_{model}.yaml"


def _answers() -> dict[tuple[str, str], str]:
    out = {}
    for line in DEFAULT_GOLD.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        out[(r["trap_id"], r["kind"])] = str(r["answer"])
    return out


def states(catalog: Catalog, trap_ids: list[str], kinds: tuple[str, ...] = KINDS) -> list[dict[str, Any]]:
    """The interview states to phrase a turn for: opening question, one answer, the agent's choice of probe."""
    answers = _answers()
    out = []
    for trap_id in trap_ids:
        trap = catalog.get(trap_id)
        opening = unwrap(trap.card.question)
        for kind in kinds:
            answer = answers[(trap_id, kind)]
            levels, _, _ = coverage(trap, answer, {})
            # An answer read as covering everything would end the interview; the A/B still asks about the
            # rubric's first criterion then, so every answer gives a state.
            crit = questions.target_criterion(trap, levels, []) or questions.target_criterion(trap, {}, [])
            assert crit is not None
            _, draft = questions.card_follow_up(trap, crit, [])
            out.append(
                {
                    "state_id": f"{trap_id}/{kind}",
                    "trap_id": trap_id,
                    "opening": opening,
                    "answer": answer,
                    "criterion": crit.id,
                    "draft": draft,
                }
            )
    return out


async def phrase_state(llm: Any, settings: Settings, catalog: Catalog, state: dict[str, Any]) -> questions.Phrased:
    """The turn a candidate would see for this state (fetched whole, as REST does; the WebSocket reads the
    same sentences the same way)."""
    trap = catalog.get(state["trap_id"])
    crit = next(c for c in trap.rubric.criteria if c.id == state["criterion"])
    turns = [
        {"role": "interviewer", "content": state["opening"]},
        {"role": "candidate", "content": state["answer"]},
    ]
    return await questions.phrase(llm, settings, trap, crit, state["draft"], turns)


async def collect(
    settings: Settings,
    catalog: Catalog,
    model: str,
    trap_ids: list[str],
    tick: Callable[[], None] | None = None,
    *,
    record: bool = True,
) -> list[dict[str, Any]]:
    """Phrase every state with the model, and write the recorded turns. Recording adds to the model's
    cassette (a state recorded before is replayed, a new one asks the model); without `record` every
    state is replayed from it, to read the recorded replies again through changed turn checks."""
    from service.llm.factory import make_llm
    from service.llm.recording import cassette

    own = settings.model_copy(update={"local_model": MODELS[model], "mode": "llm"})
    rows = []
    with cassette(cassette_path(model), own, record=record, append=True) as active:
        llm = make_llm(settings=active, role="ask", log_calls=False)
        for state in states(catalog, trap_ids):
            phrased = await phrase_state(llm, active, catalog, state)
            rows.append({**state, "model": MODELS[model], "raw": phrased.raw, "shown": phrased.text,
                         "source": phrased.source, "problem": phrased.problem})  # fmt: skip
            if tick:
                tick()
    DIR.mkdir(parents=True, exist_ok=True)
    if recorded_path(model).exists():  # the states of other traps, recorded before, stay
        done = {r["state_id"] for r in rows}
        rows += [r for r in _jsonl(recorded_path(model)) if r["state_id"] not in done]
    rows.sort(key=lambda r: (catalog.ids.index(r["trap_id"]), KINDS.index(r["state_id"].split("/")[1])))
    recorded_path(model).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return rows


def write_pairs() -> dict[str, int]:
    """The blind pairs from every recorded model's turns (those that differ from the card's), and the key."""
    pairs, keys = [], []
    counts: Counter[str] = Counter()
    for model in MODELS:
        path = recorded_path(model)
        if not path.exists():
            continue
        for r in _jsonl(path):
            phrased = " ".join(r["raw"].split())
            if turncheck.words(phrased) == turncheck.words(r["draft"]):
                counts[f"{model} identical"] += 1
                continue
            counts[f"{model} pairs"] += 1
            pair_id = f"{model}:{r['state_id']}"
            model_first = random.Random(f"{SEED}:{pair_id}").random() < 0.5
            a, b = (phrased, r["draft"]) if model_first else (r["draft"], phrased)
            pairs.append({"pair_id": pair_id, "trap_id": r["trap_id"], "interview_question": r["opening"],
                          "candidate_answer": r["answer"], "A": a, "B": b})  # fmt: skip
            keys.append({"pair_id": pair_id, "model_option": "A" if model_first else "B", "model": r["model"],
                         "shown": r["source"]})  # fmt: skip
    order = random.Random(SEED)
    both = list(zip(pairs, keys, strict=True))
    order.shuffle(both)  # judges meet the models and traps mixed
    (DIR / "ab_pairs.jsonl").write_text("".join(json.dumps(p) + "\n" for p, _ in both), encoding="utf-8")
    (DIR / "ab_key.jsonl").write_text("".join(json.dumps(k) + "\n" for _, k in both), encoding="utf-8")
    return dict(counts)


def wilson(wins: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = wins / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return round(centre - half, 3), round(centre + half, 3)


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def tally(directory: Path = DIR) -> dict[str, Any]:
    """Per model: judgments, pairs decided by the judges' majority, and the win rate with its interval."""
    key_path = directory / "ab_key.jsonl"
    keys = {k["pair_id"]: k for k in _jsonl(key_path)} if key_path.exists() else {}
    votes: dict[str, list[str]] = {}
    judges = sorted((directory / "judgments").glob("*.jsonl")) if (directory / "judgments").is_dir() else []
    for path in judges:
        for j in _jsonl(path):
            key = keys.get(j["pair_id"])
            if key is None or j["choice"] not in ("A", "B", "tie"):
                continue
            votes.setdefault(j["pair_id"], []).append(
                "tie" if j["choice"] == "tie" else ("model" if j["choice"] == key["model_option"] else "card")
            )
    out: dict[str, Any] = {"judges": [p.stem for p in judges], "models": {}}
    recorded = {m: _jsonl(recorded_path(m)) for m in MODELS if recorded_path(m).exists()}
    for short, rows in recorded.items():
        name = MODELS[short]
        mine = {p: v for p, v in votes.items() if keys[p]["model"] == name}
        per_vote = Counter(x for v in mine.values() for x in v)
        pairs: Counter[str] = Counter()
        for v in mine.values():
            c = Counter(v)
            pairs["model" if c["model"] > c["card"] else "card" if c["card"] > c["model"] else "tie"] += 1
        decided = pairs["model"] + pairs["card"]
        sources = Counter(r["source"] for r in rows)
        out["models"][name] = {
            "turns": len(rows),
            "traps": len({r["trap_id"] for r in rows}),
            "turn_sources": dict(sources),  # whose words were shown: the model's, the card's, or both
            "model_wrote_card_verbatim": sum(turncheck.words(r["raw"]) == turncheck.words(r["draft"]) for r in rows),
            "shown_identical_to_card": sum(turncheck.words(r["shown"]) == turncheck.words(r["draft"]) for r in rows),
            "pairs_judged": len(mine),
            "judgments": dict(per_vote),
            "pairs": dict(pairs),
            "win_rate": round(pairs["model"] / decided, 3) if decided else None,
            "win_rate_95ci": list(wilson(pairs["model"], decided)),
            "wins": bool(decided) and wilson(pairs["model"], decided)[0] > 0.5,
        }
    return out
