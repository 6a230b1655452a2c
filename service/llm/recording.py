"""Recorded model responses (vcrpy): replay without any server, or record against the local one.

Replay matches requests on method, path and JSON body, so the host and port of the server that was
recorded do not matter; the model aliases and settings in the body do.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from service.config import Settings
from service.errors import InvalidInputError
from service.llm.client import _litellm, served

REPLAY_API_BASE = "http://127.0.0.1:9/v1"  # nothing listens here: a miss fails, it never reaches a model


def _body(request: Any) -> Any:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return request.body
    if isinstance(body, dict) and body.get("stream") is False:
        del body["stream"]  # the API's default: litellm's routes differ only in whether they send it
    return body


def same_body(r1: Any, r2: Any) -> None:
    """vcrpy matcher: the same JSON request, whichever litellm route sent it."""
    assert _body(r1) == _body(r2), "request bodies differ"


def vcr_config(record: bool) -> dict[str, Any]:
    return {
        "record_mode": "all" if record else "none",
        "match_on": ["method", "path", "same_body"],
        "filter_headers": ["authorization", "api-key", "x-api-key", "openai-organization"],
        "decode_compressed_response": True,
    }


def replay_settings(settings: Settings) -> Settings:
    """Settings that send the same request bodies as the embedded models, to a server that is not there."""
    return settings.model_copy(
        update={
            "model": served(settings.local_model),
            "grader_model": served(settings.local_grader_model),
            "api_base": REPLAY_API_BASE,
            "api_key": "sk-local",
            "json_mode": "schema_object",
            "retries": 0,
            "fallback_models": [],
            # With the embedded models "auto" grades semantically; naming them here must not change that.
            "grader": "semantic" if settings.grader == "auto" else settings.grader,
        }
    )


@contextmanager
def cassette(path: Path, settings: Settings, *, record: bool = False, append: bool = False) -> Iterator[Settings]:
    """Yield the settings to use inside the cassette: replay by default, record with `record=True`; with
    `append` too, what the cassette holds is replayed and only new requests reach the model."""
    try:
        import vcr
    except ImportError as exc:
        raise InvalidInputError("replaying cassettes needs vcrpy: pip install -e '.[test]'") from exc
    _litellm().disable_aiohttp_transport = True  # plain httpx transport, which vcrpy intercepts
    if not record and not path.exists():
        raise InvalidInputError(f"{path}: no such cassette; record it with `make record`")
    path.parent.mkdir(parents=True, exist_ok=True)
    if record and not append:  # vcrpy's "all" keeps what the file held: a recording starts afresh
        path.unlink(missing_ok=True)
    # Recording uses the embedded servers (models unset), whose request bodies equal the replay ones.
    own = {"model": None, "grader_model": None, "local_asks": True}
    active = settings.model_copy(update=own) if record else replay_settings(settings)
    if record:  # start them before recording, so their readiness polls stay out of the cassette
        from service.llm.local import server_for

        for name in {settings.local_model, settings.local_grader_model}:
            server_for(settings, name)
    recorder = vcr.VCR(**(vcr_config(record) | ({"record_mode": "new_episodes"} if record and append else {})))
    recorder.register_matcher("same_body", same_body)
    with recorder.use_cassette(str(path)):
        yield active
