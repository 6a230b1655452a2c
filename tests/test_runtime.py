"""Process-wide set-up that long-running entry points rely on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from service.config import Settings

# A fresh process, so nothing is embedded yet but what warm_cards loads or embeds: its own Runtime,
# warmed as the app's lifespan warms it, then one interview's first answer.
FIRST_TURN = """
import asyncio, json
from service import embeddings
from service.agent.session import Interviewer
from service.runtime import Runtime

rt = Runtime.build()
rt.warm_cards()
encoded = []
real = embeddings.OnnxEncoder.encode
embeddings.OnnxEncoder.encode = lambda self, texts: encoded.extend(texts) or real(self, texts)

async def interview():
    async with Interviewer.open(rt) as iv:
        reply = await iv.start(trap_id="adl-7")
        answer = "Sigmoid units saturate at the top layer. Xavier scaling keeps the variance steady."
        await iv.reply(reply.session_id, answer)

asyncio.run(interview())
print(json.dumps(encoded))
"""


def test_warm_cards_leaves_a_first_turn_only_the_answer_to_embed(tmp_path: Path, settings: Settings, index) -> None:  # type: ignore[no-untyped-def]
    """Without it, a process's first answer on a trap embeds ~100 card texts (~1 s here) first."""
    (tmp_path / "chroma").symlink_to(settings.index_dir, target_is_directory=True)
    env = {**os.environ, "INTERVIEWER_DATA_DIR": str(tmp_path), "INTERVIEWER_MODE": "semantic"}
    out = subprocess.run([sys.executable, "-c", FIRST_TURN], env=env, capture_output=True, text=True, check=True)
    encoded = json.loads(out.stdout.strip().splitlines()[-1])
    assert encoded == ["Sigmoid units saturate at the top layer.", "Xavier scaling keeps the variance steady."]
