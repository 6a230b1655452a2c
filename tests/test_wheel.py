"""The wheel as a user gets it: built from this checkout (sdist, then the wheel from the sdist), installed
into a venv of its own in a temporary folder (no editable install, no PYTHONPATH), and run from there.

uv makes the venv from its cache by hard links, so a warm run installs in seconds; it is pointed at the
sources this machine's pip uses (here the local CPU build of torch). It may skip where uv is missing or
the wheel cannot be built, but never under CI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from service import __version__
from service.checks import check_content
from service.config import Settings

CHECKOUT = Path(__file__).resolve().parents[1]
UNDER_CI = os.environ.get("CI") == "true"
TRAP_ANSWER = "Weight the fraud class by 10,000 in the cross-entropy and classify at 0.5."
SKY = {"question": "Why is the sky blue?", "reference_answer": "Rayleigh scattering: air scatters blue light most."}
INSPECT_TASK = """
from inspect_ai import Task, eval
from inspect_ai.dataset import Sample
from inspect_ai.model import ModelOutput, get_model
from inspect_ai.solver import generate
from service.exports.inspect_scorer import rubric_grade

model = get_model("mockllm/model", custom_outputs=[ModelOutput.from_content("mockllm/model", {answer!r})])
task = Task(dataset=[Sample(input="Set up the fraud objective.", metadata={{"trap_id": "mlsd-35"}})],
            solver=generate(), scorer=rubric_grade())
log = eval(task, model=model, log_dir="inspect-logs", display="none")[0]
score = next(iter(log.samples[0].scores.values()))
print(json.dumps({{"status": log.status, "value": score.value, "fell_into_trap": score.metadata["fell_into_trap"]}}))
"""


def _not_here(reason: str) -> None:
    if UNDER_CI:
        pytest.fail(reason)
    pytest.skip(reason)


def _pip_sources(*, constraints: bool) -> list[str]:
    """This machine's pip sources (indexes, find-links and, for an install, constraints) as uv options, with
    pip's rule of taking the best version any of them offers: uv gets what `pip install` would."""
    flags = {"index-url": "--index-url", "extra-index-url": "--extra-index-url", "find-links": "--find-links"}
    if constraints:
        flags["constraint"] = "--constraint"
    listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True).stdout
    options: dict[tuple[str, str], None] = {}  # pip lists a setting once per place it is set: keep one
    for line in listed.splitlines():
        key, _, value = line.partition("=")
        if flag := flags.get(key.rsplit(".", 1)[-1]):
            options.update(dict.fromkeys((flag, item) for item in value.strip("'\"").split()))
    return [part for option in options for part in option] + ["--index-strategy", "unsafe-best-match"]


def _uv(uv: str, *args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """A uv command from its cache alone, and only when that lacks something, from the sources."""
    command = [uv, *map(str, args)]
    done = subprocess.run([*command, "--offline"], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    return done


@dataclass(frozen=True)
class Installed:
    wheel: Path
    bin: Path
    home: Path  # the working directory: a temporary folder outside the checkout
    env: dict[str, str]

    def call(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin / args[0]), *args[1:]]
        return subprocess.run(command, cwd=self.home, env=self.env, capture_output=True, text=True, timeout=300)

    def run(self, *args: str) -> str:
        done = self.call(*args)
        assert done.returncode == 0, f"{' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory, settings: Settings) -> Installed:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        _not_here("uv is not installed (the test extra installs it)")
    assert uv is not None
    tmp = tmp_path_factory.mktemp("wheel")
    sources = _pip_sources(constraints=False)
    built = _uv(uv, "build", "--python", sys.executable, "--out-dir", tmp / "dist", *sources, CHECKOUT, cwd=tmp)
    wheels = sorted((tmp / "dist").glob("interviewer-*.whl"))
    if built.returncode != 0 or len(wheels) != 1:
        _not_here(f"the wheel could not be built:\n{built.stderr[-3000:]}")
    venv = tmp / "venv"
    made = _uv(uv, "venv", "--quiet", "--python", sys.executable, venv, cwd=tmp)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    sources = _pip_sources(constraints=True)
    done = _uv(uv, "pip", "install", "--quiet", "--python", python, f"{wheels[0]}[inspect]", *sources, cwd=tmp)
    assert done.returncode == 0, done.stderr[-3000:]
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERVIEWER_")}
    for name in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSAFEPATH"):
        env.pop(name, None)
    env["XDG_DATA_HOME"] = str(tmp / "user-data")  # where an installed copy keeps its data by default
    env["INTERVIEWER_CACHE_DIR"] = str(settings.cache_dir)  # the machine's prepared embedder and card vectors
    home = tmp / "elsewhere"
    home.mkdir()
    return Installed(wheel=wheels[0], bin=venv / "bin", home=home, env=env)


def test_the_wheel_carries_the_content_and_the_models(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    for folder, pattern in (("seeds/traps", "*.yaml"), ("rubrics", "*.yaml"), ("prompts", "*.jinja")):
        expected = {f"service/content/{folder}/{p.name}" for p in (CHECKOUT / folder).glob(pattern)}
        assert expected and expected <= names, f"{folder} is not all in the wheel"
    shipped = {"service/content/seeds/interview-traps.txt", "service/grading/calibration.json"}
    shipped |= {f"service/grading/polarity/{p.name}" for p in (CHECKOUT / "service/grading/polarity").iterdir()}
    shipped |= {f"evals/{p.relative_to(CHECKOUT / 'evals')}" for p in (CHECKOUT / "evals/gold").iterdir()}
    assert shipped <= names
    assert not [n for n in names if "__pycache__" in n or n.startswith(("tests/", "seeds/", "rubrics/"))]


def test_the_installed_command_works_outside_the_checkout(installed: Installed, settings: Settings) -> None:
    assert installed.run("interviewer", "--version") == f"interviewer {__version__}\n"
    assert "First, once per machine" in installed.run("interviewer")
    installed.run("interviewer", "model", "prepare", "--embedder-only")
    traps = json.loads(installed.run("interviewer", "traps", "list", "--json"))
    assert sorted(t["id"] for t in traps) == sorted(p.stem for p in (CHECKOUT / "seeds" / "traps").glob("*.yaml"))
    assert len(traps) == 49
    # The installed copy checks its cards against the seed text it carries, and finds what the checkout finds.
    content = installed.run("python", "-c", "from service.config import CONTENT; print(CONTENT)").strip()
    assert Path(content) == installed.bin.parent / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / (
        "site-packages/service/content"
    )
    expected = check_content(
        CHECKOUT / "seeds" / "traps", CHECKOUT / "rubrics", CHECKOUT / "seeds" / "interview-traps.txt"
    )
    checked = installed.call("interviewer", "traps", "check")
    if expected:  # the content itself is invalid (`make test` stops on that first): the same problems, then
        found = checked.stderr.replace(content, str(CHECKOUT)).splitlines()[:-1]
        assert (checked.returncode, sorted(found)) == (1, sorted(expected))
    else:
        assert (checked.returncode, checked.stdout[:12]) == (0, "ok: 49 cards")
    installed.run("interviewer", "index")
    assert (installed.home.parent / "user-data" / "interviewer" / "chroma").is_dir()  # the user data dir
    answers = installed.home / "answers.jsonl"
    lines: Sequence[dict[str, str]] = [
        {"id": "fraud", "trap_id": "mlsd-35", "answer": TRAP_ANSWER},
        {"id": "sky", **SKY, "answer": "Blue light scatters more."},
    ]
    answers.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    installed.run("interviewer", "grade", "answers.jsonl", "-o", "grades.jsonl")
    grades = {g["id"]: g for g in map(json.loads, (installed.home / "grades.jsonl").read_text().splitlines())}
    assert sorted(grades) == ["fraud", "sky"] and not [g for g in grades.values() if "error" in g]
    assert _essence(grades["fraud"]) == _essence(_checkout_grade(settings, TRAP_ANSWER, trap_id="mlsd-35"))
    assert _essence(grades["sky"]) == _essence(_checkout_grade(settings, "Blue light scatters more.", **SKY))


def test_the_python_api_and_the_inspect_scorer_from_the_installed_package(
    installed: Installed, settings: Settings
) -> None:
    here = _checkout_grade(settings, TRAP_ANSWER, trap_id="mlsd-35")
    api = "from interviewer import grade; print(grade({!r}, trap_id='mlsd-35').model_dump_json())"
    assert _essence(json.loads(installed.run("python", "-c", api.format(TRAP_ANSWER)))) == _essence(here)
    out = installed.run("python", "-c", "import json\n" + INSPECT_TASK.format(answer=TRAP_ANSWER))
    result = json.loads(out.strip().splitlines()[-1])
    assert result == {"status": "success", "value": here["score"] / 100, "fell_into_trap": here["fell_into_trap"]}


def _checkout_grade(settings: Settings, answer: str, **against: Any) -> dict[str, Any]:
    """The same answer graded in this process, from the checkout: what the installed copy must give."""
    from interviewer import grade

    return grade(answer, settings=settings, **against).model_dump(mode="json")


def _essence(grade: dict[str, Any]) -> tuple[Any, ...]:
    """What a grade says, less where and how it was made (ids, timings, the grader's own record)."""
    criteria = [(c["id"], c["score"], c["evidence"]) for c in grade["criteria"]]
    return grade["score"], grade["verdict"], grade["fell_into_trap"], criteria, sorted(grade["red_flags"])
