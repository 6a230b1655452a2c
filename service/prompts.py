"""Prompt templates live in prompts/ as Jinja2 files; each is versioned by its content hash."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from service.errors import ContentError


@lru_cache(maxsize=4)
def _env(prompts_dir: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(prompts_dir),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def render(prompts_dir: Path, name: str, **values: Any) -> str:
    try:
        return _env(prompts_dir).get_template(name).render(**values).strip()
    except jinja2.TemplateError as exc:
        raise ContentError(prompts_dir / name, "(template)", str(exc)) from exc


def prompt_hash(prompts_dir: Path, *names: str) -> str:
    """Hash of the templates a result depends on; it goes into every grade and cache key."""
    h = hashlib.sha256()
    for name in names:
        h.update((prompts_dir / name).read_bytes())
    return h.hexdigest()[:12]
