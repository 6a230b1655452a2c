"""The interview graph: choose → open → wait (interrupt) → assess → respond | report.

State lives in a LangGraph checkpointer keyed by session id, so an interview survives a restart
of the service and continues where it stopped. Each node is a module-level coroutine that reads
what it needs from the run's context (Deps, and whether anyone listens to the words as they come).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import interrupt

from service.agent import flags, questions
from service.agent.moves import classify
from service.agent.report import CheckedFlag, Hint, Report, graded
from service.agent.store import SessionStore
from service.catalog import Catalog, Trap
from service.config import Settings
from service.embeddings import offload
from service.errors import ModelError
from service.grading import checklist, semantic
from service.grading.grader import Grader
from service.grading.scoring import HINT_PENALTY
from service.grading.subject import Subject
from service.grading.text import sentences, unwrap
from service.index import TrapIndex
from service.llm.client import LLM

log = logging.getLogger(__name__)
# A single turn is "a different question" below this relevance. Measured on the first sentences of
# the gold answers (ad hoc): off-topic median 0.26, expert 5th percentile 0.24, trap 5th percentile
# 0.19; below 0.25 fall 17 of the 49 off-topic first sentences, and 3 expert and 4 trap ones.
# So it catches a third of the detours, and rarely accuses a real answer.
OFF_TOPIC_TURN = 0.25
ALTERNATIVES = 2  # traps offered beside the one a topic chose
Action = Literal["follow_up", "clarify", "hint", "dont_know", "off_topic", "check", "report"]


class Turn(TypedDict, total=False):
    role: Literal["interviewer", "candidate"]
    content: str
    kind: str
    target: str  # the criterion a follow-up probes
    target_level: int  # its coverage when the follow-up was asked (0-2), for the interviewer eval
    source: str  # whose words a phrased turn shows: the model's, or the card's in its place (questions.Phrased)
    problem: str  # why the model's text was not shown, when it was not


class State(TypedDict, total=False):
    session_id: str
    user: str
    trap_id: str
    topic: str | None
    alternatives: list[dict[str, str]]  # for a topic: the next closest traps, so the candidate can switch
    turns: list[Turn]
    message_ids: list[str]  # the latest answered messages' ids, so a retried one runs no second turn
    levels: dict[str, int]
    asked: list[str]
    unclear: dict[str, str]  # trap flags read weakly (flag id -> the passage), asked about once each
    checks: list[dict[str, str]]  # {flag, passage, question, reply, outcome}: each unclear flag asked about
    used_follow_ups: list[int]
    hints: list[dict[str, Any]]
    follow_ups: int
    action: Action
    target: str | None
    notices: list[str]
    report: dict[str, Any] | None
    status: Literal["active", "finished"]


@dataclass
class Deps:
    settings: Settings
    catalog: Catalog
    index: TrapIndex | None
    grader: Grader
    llm: LLM | None
    store: SessionStore
    fallback: Grader  # semantic: what grades when the grading model fails
    max_follow_ups: int = 3
    background: set[asyncio.Task[None]] = field(default_factory=set)  # cache primers in flight

    def prime(self, messages: list[dict[str, str]]) -> None:
        """While the candidate reads and types, the embedded model reads what the next prompt starts with
        (its server's prompt cache is this service's own; a provider caches long prompts by itself)."""
        if self.llm is None or self.settings.model:
            return
        task = asyncio.create_task(self.llm.aprime(messages))
        self.background.add(task)
        task.add_done_callback(self.background.discard)


@dataclass(frozen=True)
class Context:
    """One run's context: what the nodes work with, and whether anyone hears the words as they come.

    Nodes write {"type": "delta"|"interviewer", "text"} events to the run's stream. Nobody listening
    (REST, Slack) means the model's reply is fetched whole, not streamed.
    """

    deps: Deps
    listening: bool = False


Run = Runtime[Context]


def _say(runtime: Run, text: str) -> None:
    runtime.stream_writer({"type": "interviewer", "text": text})


def _trap(runtime: Run, state: State) -> Trap:
    return runtime.context.deps.catalog.get(state["trap_id"])


def candidate_text(state: State) -> str:
    # Paragraph breaks between turns: a sentence never runs from one message into the next.
    turns = state.get("turns", [])
    return "\n\n".join(t["content"] for t in turns if t["role"] == "candidate" and t["kind"] == "answer")


async def choose(state: State, runtime: Run) -> State:
    deps = runtime.context.deps
    if state.get("trap_id"):
        return {"trap_id": deps.catalog.get(state["trap_id"]).id}
    if state.get("topic") and deps.index is not None:
        # Topics are often near-ties ("KV cache memory for long context": three cards within 1% of
        # each other's fused score), so the next ones are offered rather than silently passed over.
        hits = await offload(deps.index.search, str(state["topic"]), 1 + ALTERNATIVES)
        others = [{"trap_id": h.trap_id, "title": h.title} for h in hits[1:]]
        return {"trap_id": hits[0].trap_id, "alternatives": others}
    return {"trap_id": await asyncio.to_thread(next_best, deps, state.get("user", "anonymous"))}


async def open_(state: State, runtime: Run) -> State:
    trap = _trap(runtime, state)
    user = state.get("user", "anonymous")
    deps = runtime.context.deps
    await asyncio.to_thread(deps.store.started, state["session_id"], user, trap.id, trap.card.series, trap.card.tags)
    opening = unwrap(trap.card.question)
    _say(runtime, opening)
    deps.prime(questions.conversation(deps.settings, trap, [{"role": "interviewer", "content": opening}]))
    return {
        "turns": [{"role": "interviewer", "content": opening, "kind": "question"}],
        "levels": {},
        "asked": [],
        "used_follow_ups": [],
        "hints": [],
        "follow_ups": 0,
        "unclear": {},
        "checks": [],
        "notices": [],
        "status": "active",
        "report": None,
    }


MESSAGE_IDS_KEPT = 50


async def wait(state: State) -> State:
    resumed = interrupt({"awaiting": "candidate"})  # {"text", "id"} from Interviewer.stream_reply
    message = str(resumed["text"])
    kind = classify(message)  # answer, hint, clarify, dont_know or finish
    ids = state.get("message_ids", [])
    if resumed.get("id") is not None:
        ids = [*ids, str(resumed["id"])][-MESSAGE_IDS_KEPT:]
    return {"turns": [*state["turns"], {"role": "candidate", "content": message, "kind": kind}], "message_ids": ids}


def coverage(trap: Trap, answer: str, levels: dict[str, int]) -> tuple[dict[str, int], float, dict[str, str]]:
    """Criterion levels after this answer (they only go up), how relevant the answer is to the trap, and the
    trap flags it may have meant (read weakly, with the passage)."""
    subject = Subject.from_trap(trap)
    th = semantic.thresholds_for(subject)
    ev = semantic.analyse(subject, answer, th)
    decided = checklist.checklist_decision(subject, ev, th)  # as the report's grader decides
    raised = {c.id: max(levels.get(c.id, 0), lv) for c, lv in zip(trap.rubric.criteria, decided.levels, strict=True)}
    return raised, ev.relevance, dict(decided.unclear)


async def assess(state: State, runtime: Run) -> State:
    """Coverage so far: each answer is analysed once, when it arrives, and levels only go up.

    (The report grades the whole transcript again; this only steers the follow-ups.) A trap flag read
    weakly is asked about next, before anything else but a request to finish; the reply to that question
    settles it.
    """
    deps = runtime.context.deps
    trap = _trap(runtime, state)
    last = state["turns"][-1]
    move = last["kind"]
    levels = dict(state.get("levels", {}))
    unclear = dict(state.get("unclear", {}))
    checks = [dict(c) for c in state.get("checks", [])]
    relevance = 1.0
    asked_before = state["turns"][-2] if len(state["turns"]) > 1 else None
    if asked_before and asked_before.get("kind") == "check" and move == "answer" and checks:
        check = checks[-1]
        check["reply"] = last["content"]
        check["outcome"] = await offload(flags.settle_reply, trap, check["flag"], last["content"])
    if move == "answer" and last["content"].strip():
        levels, relevance, weak = await offload(coverage, trap, last["content"], levels)
        unclear.update({f: p for f, p in weak.items() if f not in unclear})
    out: State = {"levels": levels, "unclear": unclear, "checks": checks}
    if asked_before and asked_before.get("kind") == "check" and move == "clarify" and checks:
        return {**out, "action": "check", "target": checks[-1]["flag"]}  # the claim again, plainly
    checked = {c["flag"] for c in checks}
    pending = next((f.id for f in trap.rubric.red_flags if f.id in unclear and f.id not in checked), None)
    if move == "answer" and pending is not None and relevance >= OFF_TOPIC_TURN:
        return {**out, "action": "check", "target": pending}
    target = questions.target_criterion(trap, levels, state.get("asked", []))
    messages = sum(t["role"] == "candidate" for t in state["turns"])
    done = (
        move == "finish"
        or target is None
        or state.get("follow_ups", 0) >= deps.max_follow_ups
        or messages > 2 * deps.max_follow_ups + 1 + len(checks)
    )  # hints, clarifications and detours end too
    if done:
        return {**out, "action": "report", "target": None}
    if len(last["content"].split()) >= 5 and relevance < OFF_TOPIC_TURN:
        return {**out, "action": "off_topic", "target": None}
    action: Action = {"hint": "hint", "clarify": "clarify", "dont_know": "dont_know"}.get(move, "follow_up")  # type: ignore[assignment]
    assert target is not None  # None means every criterion is covered, which reports above
    return {**out, "action": action, "target": target.id}


async def respond(state: State, runtime: Run) -> State:
    deps = runtime.context.deps
    trap = _trap(runtime, state)
    action = state["action"]

    def delta(piece: str) -> None:
        runtime.stream_writer({"type": "delta", "text": piece})

    emit = delta if runtime.context.listening else None
    notices: list[str] = []  # this turn's: a model that failed once may answer the next turn
    used = list(state.get("used_follow_ups", []))
    hints = list(state.get("hints", []))
    follow_ups = state.get("follow_ups", 0)
    transcript = [{"role": t["role"], "content": t["content"]} for t in state["turns"]]
    last_question = next(
        t["content"]
        for t in reversed(state["turns"])
        if t["role"] == "interviewer" and t["kind"] not in ("off_topic", "hint")
    )
    if action == "off_topic":
        text = f"That seems to answer a different question. Let's come back to this one: {last_question}"
        _say(runtime, text)
        return {"turns": [*state["turns"], {"role": "interviewer", "content": text, "kind": action}], "notices": []}
    if action == "check":  # a trap claim read weakly, put to the candidate from the rubric: no model needed
        flag = str(state["target"])
        checks = list(state.get("checks", []))
        again = bool(checks) and checks[-1]["flag"] == flag and "outcome" not in checks[-1]
        text = flags.question(deps.settings, trap, flag, again=again)
        _say(runtime, text)  # whole, as every turn without a model comes
        if not again:
            checks.append({"flag": flag, "passage": state.get("unclear", {}).get(flag, ""), "question": text})
        return {
            "turns": [*state["turns"], {"role": "interviewer", "content": text, "kind": action, "target": flag}],
            "checks": checks,
            "notices": [],
        }
    crit = next(c for c in trap.rubric.criteria if c.id == state["target"])
    phrased: questions.Phrased | None = None
    if action == "hint":  # a pointer toward the idea, written with the rubric; never the answer itself
        assert crit.hint is not None  # Catalog.load requires one for every trap criterion
        text = f"A hint (it costs {HINT_PENALTY} points in the report): {crit.hint}"
        hints.append({"criterion": crit.id, "text": text, "penalty": HINT_PENALTY})
    elif action == "clarify":  # the question again, more concretely; else a narrower card question
        idx, narrower = await offload(questions.card_follow_up, trap, crit, used)
        fallback = f"More concretely: {narrower}"
        phrased = await questions.phrase(
            deps.llm, deps.settings, trap, crit, last_question, transcript, "clarify", emit, fallback
        )
        text = phrased.text
        if phrased.source != "model" and idx is not None:
            used.append(idx)
    else:
        idx, draft = await offload(questions.card_follow_up, trap, crit, used)
        if idx is not None:
            used.append(idx)
        # A question that sets its own scene ("Say you keep... That discards... How would you...?") needs
        # no opening of ours: a turn holds at most two sentences before its question.
        plain = len(sentences(draft)) == 1
        prefix = "That's fine, let's look at it from another angle. " if action == "dont_know" and plain else ""
        if prefix and emit:
            emit(prefix)
        phrased = await questions.phrase(
            deps.llm, deps.settings, trap, crit, draft, transcript, emit=emit, preface_taken=bool(prefix)
        )
        text = prefix + phrased.text
        follow_ups += 1
    if phrased is not None and phrased.notice:
        notices.append(phrased.notice)
    _say(runtime, text)
    turn: Turn = {
        "role": "interviewer",
        "content": text,
        "kind": action,
        "target": crit.id,
        "target_level": state.get("levels", {}).get(crit.id, 0),
    }
    if phrased is not None:
        turn["source"] = phrased.source
        if phrased.problem:
            turn["problem"] = phrased.problem
    return {
        "turns": [*state["turns"], turn],
        "asked": [*state.get("asked", []), crit.id],
        "used_follow_ups": used,
        "hints": hints,
        "follow_ups": follow_ups,
        "notices": notices,
    }


async def report(state: State, runtime: Run) -> State:
    deps = runtime.context.deps
    s = deps.settings
    trap = _trap(runtime, state)
    text = candidate_text(state)
    notices: list[str] = []
    subject = Subject.from_trap(trap)
    if text.strip():
        try:
            grade = await deps.grader.agrade(subject, text[-s.max_answer_chars :])
        except ModelError as exc:
            notices.append(f"The grading model failed ({exc.message}); this report was graded semantically.")
            grade = await deps.fallback.agrade(subject, text[-s.max_answer_chars :])
    else:
        grade = None
    checks = state.get("checks", [])
    if grade is not None and checks:  # the candidate's answers to the check questions settle those flags
        grade = flags.apply(grade, trap.rubric, checks)
    hints = [Hint.model_validate(h) for h in state.get("hints", [])]
    rep = Report(
        trap_id=trap.id,
        title=trap.card.title,
        hints=hints,
        checked_flags=[CheckedFlag.model_validate(c) for c in checks if "outcome" in c],
        # Cards are hard-wrapped YAML; every interface wraps text itself.
        model_answer=unwrap(trap.card.correct_answer),
        trap_explained=unwrap(trap.card.trap),
        notices=notices,
        **graded(trap, grade, len(hints)),
    )
    await asyncio.to_thread(deps.store.finished, state["session_id"], rep.score, rep.verdict)
    closing = f"Thanks, that's the end of the interview. Score {rep.score}/100 ({rep.verdict})."
    _say(runtime, closing)
    return {
        "report": rep.model_dump(),  # the checkpoint holds plain data; Reply reads it back as a Report
        "status": "finished",
        "notices": notices,
        "turns": [*state["turns"], {"role": "interviewer", "content": closing, "kind": "report"}],
    }


def _after_assess(state: State) -> str:
    return "report" if state["action"] == "report" else "respond"


def build(checkpointer: Any) -> Any:
    g = StateGraph(State, context_schema=Context)
    for name, fn in (
        ("choose", choose),
        ("open", open_),
        ("wait", wait),
        ("assess", assess),
        ("respond", respond),
        ("report", report),
    ):
        g.add_node(name, fn)  # type: ignore[call-overload]
    g.add_edge(START, "choose")
    g.add_edge("choose", "open")
    g.add_edge("open", "wait")
    g.add_edge("wait", "assess")
    g.add_conditional_edges("assess", _after_assess, ["report", "respond"])
    g.add_edge("respond", "wait")
    g.add_edge("report", END)
    return g.compile(checkpointer=checkpointer)


def next_best(deps: Deps, user: str) -> str:
    """For a returning user: an unseen trap in their weakest topic first, else their weakest trap."""
    progress = deps.store.progress(user)
    seen = set(progress["seen"])
    unseen = [t for t in deps.catalog if t.id not in seen]
    weak = sorted(progress["by_topic"].items(), key=lambda kv: kv[1]["mean_score"])
    for topic, _ in weak:
        for t in unseen:
            if topic in (t.card.series, *t.card.tags):
                return t.id
    if unseen:
        return unseen[0].id
    scores = {h["trap_id"]: h["score"] or 0 for h in progress["history"]}
    return min(scores, key=lambda k: scores[k])
