"""The README stays true and short, and the settings table (docs/deploy.md) is the one the Settings fields generate."""

from __future__ import annotations

from service.cli.settings import END, INTERNAL, START, table
from service.config import ROOT, Settings

README = ROOT / "README.md"
SETTINGS_TABLE = ROOT / "docs" / "deploy.md"


def test_every_setting_a_user_may_set_says_what_it_does() -> None:
    missing = [n for n, f in Settings.model_fields.items() if n not in INTERNAL and not f.description]
    assert missing == []


def test_the_docs_show_the_generated_settings_table() -> None:
    text = SETTINGS_TABLE.read_text(encoding="utf-8")
    block = text.split(START, 1)[1].split(END, 1)[0].strip()
    assert block == table(), "run `interviewer settings --write docs/deploy.md`"


def test_the_readme_is_at_most_150_lines() -> None:
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 150
