"""Shared by the eval runners: JSON Lines reading with errors that name the line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from service.errors import InvalidInputError


def read_jsonl(path: Path, required: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    """Each record of a JSON Lines file; a malformed line stops the eval with its line number."""
    if not path.exists():
        raise InvalidInputError(f"{path}: no such file")
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidInputError(f"{path}:{n}: not JSON ({exc.msg})") from exc
            missing = [k for k in required if k not in rec]
            if missing:
                raise InvalidInputError(f"{path}:{n}: missing field(s) {', '.join(missing)}")
            yield rec
