"""The one place that turns Settings into an LLM for a role; keyword-only so call sites read clearly."""

from __future__ import annotations

from service.config import Settings
from service.llm.calllog import CallLog
from service.llm.client import LLM, Endpoint, JsonMode, Role, _litellm, served

_logs: dict[str, CallLog] = {}


def _json_mode(settings: Settings, model: str, local: bool) -> JsonMode:
    if settings.json_mode != "auto":
        return settings.json_mode
    if local:
        return "schema_object"
    if _litellm().supports_response_schema(model=model):
        return "json_schema"
    return "json_object"


def endpoints_for(settings: Settings, role: Role) -> list[Endpoint]:
    """Primary model for the role, then the configured fallbacks; unset models mean the local server."""
    model = settings.grader_model or settings.model if role == "grade" else settings.model
    if model:
        primary = Endpoint(model, settings.api_base, settings.api_key, _json_mode(settings, model, local=False))
    else:
        from service.llm.local import server_for

        name = settings.local_grader_model if role == "grade" else settings.local_model
        primary = Endpoint(served(name), server_for(settings, name), "sk-local", "schema_object")
    fallbacks = [Endpoint(m, None, None, _json_mode(settings, m, local=False)) for m in settings.fallback_models]
    return [primary, *fallbacks]


def make_llm(*, settings: Settings, role: Role, log_calls: bool = True) -> LLM:
    call_log = None
    if log_calls:
        key = settings.database_url or str(settings.db_path)
        call_log = _logs.get(key) or _logs.setdefault(key, CallLog(settings))
    return LLM(settings, endpoints_for(settings, role), role, call_log)
