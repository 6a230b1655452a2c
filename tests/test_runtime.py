"""Process-wide set-up that long-running entry points rely on."""

from __future__ import annotations

import gc

from service import runtime


def test_settle_freezes_the_loaded_heap_out_of_the_collector() -> None:
    gc.unfreeze()
    try:
        runtime.settle()
        # Everything alive now is skipped by later collections, the embedder included.
        assert gc.get_freeze_count() > 100_000
    finally:
        gc.unfreeze()


def test_warm_cards_leaves_a_first_turn_only_the_answer_to_embed(  # type: ignore[no-untyped-def]
    settings, index, monkeypatch
) -> None:
    """Without it, a process's first answer on a trap embeds ~100 card texts (~1 s here) first."""
    from collections import OrderedDict

    from service import embeddings
    from service.agent import questions
    from service.agent.session import Interviewer
    from service.grading import semantic

    for name, empty in ((embeddings, "_memo"), (semantic, "_targets"), (questions, "_fits"), (questions, "_answers")):
        monkeypatch.setattr(name, empty, OrderedDict() if empty == "_memo" else {})
    runtime.warm_cards(settings)  # embeds the cards, or loads what an earlier process saved
    encoded: list[str] = []
    real = embeddings.OnnxEncoder.encode
    monkeypatch.setattr(
        embeddings.OnnxEncoder, "encode", lambda self, texts: encoded.extend(texts) or real(self, texts)
    )
    iv = Interviewer(settings.model_copy(update={"mode": "semantic"}))
    reply = iv.start(trap_id="adl-7")
    iv.reply(reply.session_id, "Sigmoid units saturate at the top layer. Xavier scaling keeps the variance steady.")
    assert encoded == ["Sigmoid units saturate at the top layer.", "Xavier scaling keeps the variance steady."]
