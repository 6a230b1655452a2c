"""Interviews in Slack threads: the request checks, the thread → session map, and the replies. A
finished interview's thread takes `dispute N <reason>`, filed as every interface files a dispute.

slack_sdk errors are mapped here and nowhere else; a failure to post is logged, never raised
into the request that Slack is waiting on.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from service.agent.report import Report
from service.agent.session import Interviewer
from service.config import Settings
from service.db import Store
from service.disputes import Decision, decisions, parse_command
from service.errors import InterviewerError
from service.grades import StoredGrades, session_target

log = logging.getLogger(__name__)
HELP = (
    "Practise a senior ML / LLM interview in a thread: `/interview` (a trap picked for you), "
    "`/interview quiz me on GPU memory` (by topic) or `/interview llm-46` (by id). Reply in the thread; "
    "say `hint` for a hint (costs points) or `finish` for your graded report."
)
APOLOGY = "Sorry — the interviewer could not answer just now ({why}). Your message is saved; send it again to retry."
HOW_TO_DISPUTE = (
    "reply `dispute N <reason>` in this thread, N as the report numbers the decision; where a decision quotes "
    'nothing from your answer, add the sentence that shows it in "quotes"'
)
FINISHED = (
    f"This interview is finished. To dispute a decision of its report, {HOW_TO_DISPUTE}. `/interview` starts a new one."
)


class SlackState(Store):
    """thread_ts → session id, and the event ids already handled (Slack retries deliveries, maybe to
    another replica: with Postgres every replica sees the same ids)."""

    def first_time(self, event_id: str) -> bool:
        return (
            self._execute("INSERT INTO slack_events VALUES (?, ?) ON CONFLICT DO NOTHING", (event_id, time.time())) == 1
        )

    def bind(self, channel: str, thread_ts: str, session_id: str) -> None:
        self._execute(
            "INSERT INTO slack_threads VALUES (?, ?, ?)"
            " ON CONFLICT (channel, thread_ts) DO UPDATE SET session_id = excluded.session_id",
            (channel, thread_ts, session_id),
        )

    def failed(self, channel: str, error: str) -> None:
        self._execute(
            "INSERT INTO slack_failed_posts (ts, channel, error) VALUES (?, ?, ?)", (time.time(), channel, error)
        )

    def failures(self) -> tuple[int, str | None]:
        """How many posts failed after their retries, and the latest one's error."""
        rows = self._rows("SELECT COUNT(*) AS n, MAX(id) AS last FROM slack_failed_posts")
        if not rows or not rows[0]["n"]:
            return 0, None
        last = self._rows("SELECT error FROM slack_failed_posts WHERE id = ?", (rows[0]["last"],))
        return int(rows[0]["n"]), str(last[0]["error"])

    def session(self, channel: str, thread_ts: str) -> str | None:
        rows = self._rows("SELECT session_id FROM slack_threads WHERE channel=? AND thread_ts=?", (channel, thread_ts))
        return str(rows[0]["session_id"]) if rows else None


def escape(text: str) -> str:
    """Text from a candidate, a card or a model, made inert for Slack: its markup reads <…> as links
    and mentions, so "<!channel>" in an answer would otherwise ping everyone when the report quotes it."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def verified(settings: Settings, body: bytes, headers: dict[str, str]) -> bool:
    """Slack's v0 HMAC over the raw body, within its five-minute window; unsigned means no."""
    if not settings.slack_signing_secret:
        return False
    return SignatureVerifier(settings.slack_signing_secret).is_valid_request(body, headers)


class SlackBot:
    def __init__(self, settings: Settings, interviewer: Interviewer, grades: StoredGrades) -> None:
        # Posts run after the ack, so nobody would see a lost one: retry dropped connections, 429s
        # (after Slack's Retry-After) and 5xx a few times before giving up and logging it.
        retries = [
            AsyncConnectionErrorRetryHandler(max_retry_count=3),
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            AsyncServerErrorRetryHandler(max_retry_count=3),
        ]
        self.client = AsyncWebClient(
            token=settings.slack_bot_token, base_url=settings.slack_api_url, retry_handlers=retries
        )
        self.state = SlackState(settings)
        self.interviewer = interviewer
        self.grades = grades

    async def _post(
        self, channel: str, text: str, thread_ts: str | None = None, blocks: list[Any] | None = None
    ) -> str | None:
        try:
            resp = await self.client.chat_postMessage(channel=channel, text=text, thread_ts=thread_ts, blocks=blocks)
            return str(resp["ts"])
        except SlackApiError as exc:
            error = f"chat.postMessage: {exc.response.get('error') or exc.response.status_code}"
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:  # still unreachable after the retries
            error = f"chat.postMessage: {type(exc).__name__}: {exc}"
        log.error("%s (channel %s); recorded, shown in /readyz", error, channel)
        self.state.failed(channel, error)
        return None

    async def start(self, channel: str, user: str, text: str) -> None:
        """A new interview, its scenario posted as a new message whose thread carries the interview."""
        arg = text.strip()
        trap_id = arg if arg and arg in self.interviewer.catalog else None
        try:
            reply = await self.interviewer.start(trap_id=trap_id, topic=None if trap_id or not arg else arg, user=user)
        except InterviewerError as exc:
            await self._post(channel, APOLOGY.format(why=escape(exc.message)))
            return
        text = f"*Interview {reply.trap_id}* (reply in this thread)\n\n{escape(reply.message)}"
        if reply.alternatives:
            others = ", ".join(f"`{a['trap_id']}` {escape(a['title'])}" for a in reply.alternatives)
            text += f"\n\n_Also close to your topic: {others}. `/interview ID` practises one instead._"
        ts = await self._post(channel, text)
        if ts:
            self.state.bind(channel, ts, reply.session_id)

    async def reply(self, channel: str, thread_ts: str, text: str, user: str = "") -> None:
        try:
            session_id = self.state.session(channel, thread_ts)
            if session_id is None:
                return  # a thread that is not an interview
            st = await self.interviewer.state(session_id)
            if st.get("status") == "finished":
                if user and st.get("user") not in (user, None):  # a grade is disputed by whoever it grades
                    await self._post(
                        channel, f"Only <@{st['user']}>, who took this interview, can dispute it.", thread_ts
                    )
                    return
                await self._dispute(channel, thread_ts, session_id, text)
                return
            reply = await self.interviewer.reply(session_id, text)
        except InterviewerError as exc:
            await self._post(channel, APOLOGY.format(why=escape(exc.message)), thread_ts)
            return
        text = "\n".join([escape(reply.message), *(f"_Note: {escape(n)}_" for n in reply.notices)])
        rep = reply.report
        if reply.status == "finished" and rep:
            words = self.interviewer.catalog.criterion_words(rep.trap_id)
            numbered = decisions(rep.grade, self.interviewer.catalog.get(rep.trap_id).rubric) if rep.grade else []
            await self._post(channel, text, thread_ts, report_blocks(rep, words, numbered))
        else:
            await self._post(channel, text, thread_ts)

    async def _dispute(self, channel: str, thread_ts: str, session_id: str, text: str) -> None:
        """A message in a finished interview's thread: `dispute N <reason>` disputes decision N of its report
        (the grade stays as it is until a reviewer settles it); anything else is told how."""
        try:
            body = parse_command(text)
            if body is None:
                await self._post(channel, FINISHED, thread_ts)
                return
            filed = await self.grades.file(session_target(session_id), body)
        except InterviewerError as exc:
            await self._post(channel, f"Not disputed: {escape(exc.message)}.", thread_ts)
            return
        said = (
            f"Decision {filed.number} disputed: score {filed.score}, or {filed.score_if} if it stands."
            " A reviewer will settle it."
        )
        await self._post(channel, said, thread_ts)


def _clip(quote: str, limit: int = 300) -> str:
    """A quote on one line, cut at a word, so a long one does not push the report past Slack's limits."""
    flat = " ".join(quote.split())
    return flat if len(flat) <= limit else flat[:limit].rsplit(" ", 1)[0] + " …"


def report_blocks(
    rep: Report, words: dict[str, str] | None = None, numbered: list[Decision] | None = None
) -> list[dict[str, Any]]:
    """The final report in Block Kit: verdict, per-criterion scores with evidence, the trap, and the
    grade's decisions numbered as a dispute names them. Criteria in their own words when `words` has
    them (Catalog.criterion_words), else by id."""
    words = words or {}
    lines = [
        f"{'●' * c.score}{'○' * (c.max - c.score)} *{escape(_clip(words.get(c.id, c.id), 150))}*"
        + (f" — _“{escape(_clip(c.evidence))}”_" if c.evidence else "")
        for c in (rep.grade.criteria if rep.grade else [])
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"{rep.trap_id}: {rep.score}/100 — {rep.verdict}"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines) or "No answer to grade."}},
    ]
    for flag in rep.red_flags:
        said = f"\nYou said: _“{escape(_clip(flag.evidence))}”_" if flag.evidence else ""
        text = f":warning: *Fell into the trap:* {escape(flag.statement)}{said}"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    for change in rep.grade.amendments if rep.grade else []:
        text = f":memo: *Changed after a dispute:* {escape(_clip(change))}"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    trap = escape(rep.trap_explained)[:2900]  # a section holds 3,000 characters
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*The trap:* {trap}"}})
    if numbered:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _decision_lines(numbered)}})
    return blocks


def _decision_lines(numbered: list[Decision], limit: int = 2900) -> str:
    """The decisions one a line, as many as a section holds (3,000 characters): the number, what was
    decided about and what was decided."""
    text, more = f"*To dispute a decision*, {HOW_TO_DISPUTE}:", "\n…"
    for d in numbered:
        line = f"\n`{d.number}` {escape(_clip(d.statement, 90))} — _{d.decided}_"
        if len(text) + len(line) + len(more) > limit:
            return text + more
        text += line
    return text
