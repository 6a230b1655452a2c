"""Process-wide set-up that long-running entry points rely on."""

from __future__ import annotations

from service.runtime import Runtime


async def test_warm_cards_leaves_a_first_turn_only_the_answer_to_embed(  # type: ignore[no-untyped-def]
    settings, catalog, index, monkeypatch
) -> None:
    """Without it, a process's first answer on a trap embeds ~100 card texts (~1 s here) first."""
    from collections import OrderedDict

    from service import embeddings
    from service.agent import questions
    from service.agent.session import Interviewer
    from service.grading import semantic

    for name, empty in ((embeddings, "_memo"), (semantic, "_targets"), (questions, "_fits"), (questions, "_answers")):
        monkeypatch.setattr(name, empty, OrderedDict() if empty == "_memo" else {})
    rt = Runtime(settings, catalog)
    rt.warm_cards()  # embeds the cards, or loads what an earlier process saved
    encoded: list[str] = []
    real = embeddings.OnnxEncoder.encode
    monkeypatch.setattr(
        embeddings.OnnxEncoder, "encode", lambda self, texts: encoded.extend(texts) or real(self, texts)
    )
    async with Interviewer.open(rt) as iv:
        reply = await iv.start(trap_id="adl-7")
        answer = "Sigmoid units saturate at the top layer. Xavier scaling keeps the variance steady."
        await iv.reply(reply.session_id, answer)
    assert encoded == ["Sigmoid units saturate at the top layer.", "Xavier scaling keeps the variance steady."]
