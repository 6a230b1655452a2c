"""The one typed place for settings; no other module reads os.environ."""

from __future__ import annotations

import os
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from service.grading.models import Decider, Mode

ROOT = Path(__file__).resolve().parents[1]
# A source checkout (the repository, or an editable install of it): the content is its top-level folders.
IN_CHECKOUT = (ROOT / "pyproject.toml").is_file() and (ROOT / "seeds" / "traps").is_dir()


def _content() -> Path:
    """Where seeds/, rubrics/ and prompts/ are: the copy an installed wheel carries inside the package
    (pyproject.toml puts it there), else the checkout's top level, the one place they are edited."""
    packaged = files("service") / "content"
    return packaged if isinstance(packaged, Path) and packaged.is_dir() else ROOT


def _user_data_dir() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "interviewer"


CONTENT = _content()


class Settings(BaseSettings):
    """Every knob of the service, read from INTERVIEWER_* variables (and .env)."""

    model_config = SettingsConfigDict(env_prefix="INTERVIEWER_", env_file=".env", extra="ignore", populate_by_name=True)

    # Content and storage.
    seeds_dir: Path = CONTENT / "seeds" / "traps"
    rubrics_dir: Path = CONTENT / "rubrics"
    prompts_dir: Path = CONTENT / "prompts"
    data_dir: Path = Field(
        default_factory=lambda: ROOT / ".data" if IN_CHECKOUT else _user_data_dir(),
        description="Holds the index, databases, caches and the local model file.",
        json_schema_extra={
            "shown": "./.data in a checkout, else $XDG_DATA_HOME/interviewer or ~/.local/share/interviewer"
        },
    )
    cache_dir: Path = Field(
        default_factory=lambda: Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "interviewer",
        description="Machine-wide: what is derived from installed packages (the exported embedder).",
        json_schema_extra={"shown": "$XDG_CACHE_HOME/interviewer, else ~/.cache/interviewer"},
    )

    # Retrieval.
    chroma_url: str | None = Field(
        default=None, description="Use a Chroma server (http://host:port) instead of the embedded store."
    )
    collection: str = "traps"

    # Modes and models.
    mode: Mode = Field(
        default="llm", description="llm: the interviewer phrases turns with a model; semantic: no model at all."
    )
    grader: Literal["auto"] | Mode = Field(
        default="auto",
        description="auto: the LLM judge when a provider model is configured, semantic for the embedded model.",
    )
    decider: Decider = Field(
        default="checklist",
        description="Semantic grading's decision stage: checklist (the reader decides every rubric point and "
        "flag claim; measured best on the gold set, see docs/grading.md) or similarity (cosine sets the levels).",
    )
    max_follow_ups: int = Field(default=3, description="Follow-up questions before the report.")
    database_url: str | None = Field(
        default=None,
        description="postgresql://… shares interview state, turn locks, progress, Slack state, batch jobs, the "
        "grade cache and the call log among replicas (the `postgres` extra); unset = SQLite in the data dir. "
        "Also read as INTERVIEWER_CHECKPOINT_URL.",
        validation_alias=AliasChoices("INTERVIEWER_DATABASE_URL", "INTERVIEWER_CHECKPOINT_URL"),
    )
    batch_lease_seconds: float = Field(
        default=30.0,
        description="Seconds a replica holds a batch job without renewing (it renews every third of that); "
        "a job whose lease runs out, its replica dead, is taken over by another.",
        gt=0,
    )
    banks: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="Your question banks: folders of traps/ and rubrics/ (see docs/sample-bank), separated by ':'. "
        "Their ids are <bank>:<id>.",
        json_schema_extra={"shown": "none"},
    )

    @field_validator("banks", mode="before")
    @classmethod
    def _bank_list(cls, value: Any) -> Any:
        """INTERVIEWER_BANKS=/srv/banks/sql:/srv/banks/ops, like PATH."""
        if isinstance(value, str):
            return [part for part in value.split(os.pathsep) if part.strip()]
        return value

    model: str | None = Field(
        default=None, description="litellm model string for interviewer turns; unset = embedded local model."
    )
    grader_model: str | None = Field(
        default=None, description="litellm model string for grading; unset = embedded local grader model."
    )
    api_base: str | None = Field(default=None, description="An OpenAI-compatible server's URL (vLLM, llama.cpp, ...).")
    api_key: str | None = Field(
        default=None, description="Only for servers that need one; providers read their own variables."
    )
    json_mode: Literal["auto", "schema_object", "json_schema", "json_object"] = Field(
        default="auto",
        description="How a schema is sent: schema_object for llama.cpp servers, json_schema for OpenAI-style.",
    )
    fallback_models: list[str] = Field(
        default_factory=list, description="JSON list of litellm model strings tried in order when the primary fails."
    )
    # The local 1.5B reads ~20 tokens/s: a cold 1,500-token prompt takes over a minute.
    timeout: float = Field(default=300.0, description="Seconds per model call.")
    retries: int = Field(default=2, description="Retries of a call on timeouts, 429 and 5xx (litellm's Router).")
    temperature: float = Field(default=0.0, description="Sampling temperature of every model call.")
    seed: int | None = Field(default=7, description="Sampling seed, where the provider supports one.")
    max_tokens: int = Field(default=768, description="Longest model reply, in tokens.")
    concurrency: int = Field(default=4, description="Model calls in flight per process.")

    # Embedded local model (llama-cpp-python server).
    local_model: Literal["qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"] = Field(
        default="qwen2.5-coder-0.5b", description="The embedded model that asks (interviewer turns)."
    )
    local_asks: bool = Field(
        default=False,
        description="Let the embedded model phrase interviewer turns. Off: the cards' own questions are asked "
        "until a model measures better in the blind A/B (`interviewer eval turns`); a configured model "
        "(INTERVIEWER_MODEL) phrases them.",
    )
    local_grader_model: Literal["qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"] = Field(
        default="qwen2.5-coder-1.5b", description="The embedded model an LLM judge uses (INTERVIEWER_GRADER=llm)."
    )
    local_context: int = Field(default=4096, description="Context window of the embedded models, in tokens.")
    local_threads: int = Field(default=1, description="Threads per embedded model server (two collapse on 2 cores).")
    local_start_timeout: float = Field(default=180.0, description="Seconds to wait for an embedded server to start.")
    local_port: int = Field(
        default=8090,
        description="Loopback port of the first embedded model server; the next model listens on the next one.",
    )
    local_watch_seconds: float = Field(
        default=5.0, gt=0, description="How often a started model server is checked, and restarted if it died."
    )

    # HTTP service.
    host: str = Field(default="127.0.0.1", description="Address `interviewer serve` listens on.")
    port: int = Field(default=8000, description="Port `interviewer serve` listens on.")
    workers: int = Field(
        default_factory=lambda: min(os.cpu_count() or 1, 4),
        ge=1,
        description="Service processes, each reading these same settings.",
        json_schema_extra={"shown": "one per core, at most 4"},
    )
    api_token: str | None = Field(default=None, description="Bearer token for every route but /healthz.")
    reviewer_token: str | None = Field(
        default=None, description="Bearer token of the reviewers who settle disputes over the API (unset: CLI only)."
    )
    cors_origins: list[str] = Field(default_factory=list, description="JSON list of browser origins allowed.")
    max_answer_chars: int = Field(default=20_000, description="Longer answers are refused with a message.")

    # Slack (the usual Slack variable names work too).
    slack_signing_secret: str | None = Field(
        default=None,
        description="Slack app's signing secret (also read as SLACK_SIGNING_SECRET).",
        validation_alias=AliasChoices("INTERVIEWER_SLACK_SIGNING_SECRET", "SLACK_SIGNING_SECRET"),
    )
    slack_api_url: str = "https://slack.com/api/"  # tests point WebClient at a stand-in server
    slack_bot_token: str | None = Field(
        default=None,
        description="Slack bot token for chat.postMessage (also read as SLACK_BOT_TOKEN).",
        validation_alias=AliasChoices("INTERVIEWER_SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN"),
    )

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "interviewer.sqlite3"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests build their own Settings instead."""
    return Settings()


def offline_environment() -> None:
    """Pin the process to offline, single-threaded behaviour before heavy libraries import."""
    for name, value in (
        ("HF_HUB_OFFLINE", "1"),
        ("LITELLM_LOCAL_MODEL_COST_MAP", "True"),
        ("TOKENIZERS_PARALLELISM", "false"),
        ("OMP_NUM_THREADS", "1"),
        ("ANONYMIZED_TELEMETRY", "False"),
    ):
        os.environ.setdefault(name, value)
    tokenizers = _litellm_tokenizers()
    if tokenizers is not None:  # tiktoken's encodings as litellm ships them, not downloaded (Inspect counts tokens)
        os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(tokenizers))


def _litellm_tokenizers() -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec("litellm")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "litellm_core_utils" / "tokenizers"
    return folder if folder.is_dir() else None
