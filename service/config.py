"""The one typed place for settings; no other module reads os.environ."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.grading.models import Mode

ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    """Every knob of the service, read from INTERVIEWER_* variables (and .env)."""

    model_config = SettingsConfigDict(env_prefix="INTERVIEWER_", env_file=".env", extra="ignore")

    # Content and storage.
    seeds_dir: Path = ROOT / "seeds" / "traps"
    rubrics_dir: Path = ROOT / "rubrics"
    prompts_dir: Path = ROOT / "prompts"
    data_dir: Path = Field(
        default=ROOT / ".data",
        description="Holds the index, databases, caches and the local model file.",
    )
    cache_dir: Path = Field(
        default_factory=lambda: Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "interviewer",
        description="Machine-wide: what is derived from installed packages (the exported embedder).",
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
    max_follow_ups: int = 3
    checkpoint_url: str | None = Field(
        default=None,
        description="postgresql://… keeps interview state in Postgres (the `postgres` extra); unset = SQLite.",
    )
    model: str | None = Field(
        default=None, description="litellm model string for interviewer turns; unset = embedded local model."
    )
    grader_model: str | None = Field(
        default=None, description="litellm model string for grading; unset = embedded local grader model."
    )
    api_base: str | None = None
    api_key: str | None = Field(
        default=None, description="Only for servers that need one; providers read their own variables."
    )
    json_mode: Literal["auto", "schema_object", "json_schema", "json_object"] = Field(
        default="auto",
        description="How a schema is sent: schema_object for llama.cpp servers, json_schema for OpenAI-style.",
    )
    fallback_models: list[str] = Field(default_factory=list)
    timeout: float = 300.0  # the local 1.5B reads ~20 tokens/s: a cold 1,500-token prompt takes over a minute
    retries: int = 2
    temperature: float = 0.0
    seed: int | None = 7
    max_tokens: int = 768
    concurrency: int = 4

    # Embedded local model (llama-cpp-python server).
    local_model: Literal["qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"] = "qwen2.5-coder-0.5b"
    local_grader_model: Literal["qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"] = "qwen2.5-coder-1.5b"
    local_context: int = 4096
    local_threads: int = 1
    local_start_timeout: float = 180.0
    local_port: int = Field(
        default=8090,
        description="Loopback port of the first embedded model server; the next model listens on the next one.",
    )
    local_watch_seconds: float = Field(
        default=5.0, gt=0, description="How often a started model server is checked, and restarted if it died."
    )

    # HTTP service.
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(
        default_factory=lambda: min(os.cpu_count() or 1, 4),
        ge=1,
        description="Service processes (default: one per core, at most 4), each reading these same settings.",
    )
    api_token: str | None = None
    cors_origins: list[str] = Field(default_factory=list)
    max_answer_chars: int = 20_000

    # Slack (the usual Slack variable names work too).
    slack_signing_secret: str | None = Field(
        default=None,
        validation_alias=AliasChoices("INTERVIEWER_SLACK_SIGNING_SECRET", "SLACK_SIGNING_SECRET"),
    )
    slack_api_url: str = "https://slack.com/api/"  # tests point WebClient at a stand-in server
    slack_bot_token: str | None = Field(
        default=None, validation_alias=AliasChoices("INTERVIEWER_SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN")
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
