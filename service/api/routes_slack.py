"""Slack: `/interview` slash command and the Events API, verified by signature, acked at once. Answers
and disputes alike arrive as thread messages, so both pass the same signature and replay checks."""

from __future__ import annotations

import json
import re
import threading
from urllib.parse import parse_qs

from fastapi import APIRouter, BackgroundTasks, HTTPException, Request

from service.api import deps
from service.api.models import SlackAck, SlackMessage
from service.errors import InvalidInputError
from service.slack import HELP, SlackBot, verified

router = APIRouter(prefix="/slack")
_lock = threading.Lock()
_MENTION = re.compile(r"<@[A-Z0-9]+>\s*")


def _bot(request: Request) -> SlackBot:
    with _lock:
        bot = getattr(request.app.state, "slack_bot", None)
        if bot is None:
            bot = SlackBot(deps.settings(request), deps.interviewer(request), deps.grades(request))
            request.app.state.slack_bot = bot
    return bot  # type: ignore[no-any-return]


async def _verified_body(request: Request) -> bytes:
    body = await request.body()
    if not verified(deps.settings(request), body, dict(request.headers)):
        raise HTTPException(status_code=401, detail="invalid or stale Slack signature")
    return body


@router.post("/commands", response_model=SlackMessage)
async def command(request: Request, background: BackgroundTasks) -> SlackMessage:
    form = {k: v[0] for k, v in parse_qs((await _verified_body(request)).decode()).items()}
    text = form.get("text", "").strip()
    if text.lower() in ("help", "?"):
        return SlackMessage(text=HELP)
    # A signature covers timestamp and body, so a second request with the same one is a replay
    # (inside the 5-minute window the signature check allows): it must not start a second interview.
    if not _bot(request).state.first_time("command:" + request.headers.get("x-slack-signature", "")):
        return SlackMessage(text="This command was already received.")
    background.add_task(_bot(request).start, form.get("channel_id", ""), form.get("user_id", "slack"), text)
    return SlackMessage(text="Starting your interview — watch for a new thread.")


@router.post("/events", response_model=SlackAck, response_model_exclude_none=True)
async def events(request: Request, background: BackgroundTasks) -> SlackAck:
    try:
        payload = json.loads(await _verified_body(request))
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise InvalidInputError("a Slack event must be a JSON object")
    if payload.get("type") == "url_verification":
        return SlackAck(challenge=payload.get("challenge"))
    event = payload.get("event")
    if not isinstance(event, dict):
        event = {}
    bot = _bot(request)
    if event.get("bot_id") or event.get("subtype"):
        return SlackAck(ok=True)  # our own posts, edits and joins are not candidate answers
    channel, text = str(event.get("channel", "")), _MENTION.sub("", str(event.get("text", ""))).strip()
    thread_ts = event.get("thread_ts")
    # Read before the event is marked seen: a delivery the database refuses (503) records nothing,
    # so Slack's retry of it is answered, not taken for a duplicate.
    interview = bool(thread_ts) and bot.state.session(channel, str(thread_ts)) is not None
    if not bot.state.first_time(str(payload.get("event_id"))):
        return SlackAck(ok=True, duplicate=True)  # a retry of a delivery already handled
    if interview:
        background.add_task(bot.reply, channel, str(thread_ts), text, str(event.get("user", "")))
    elif event.get("type") == "app_mention":
        background.add_task(bot.start, channel, str(event.get("user", "slack")), text)
    return SlackAck(ok=True)
