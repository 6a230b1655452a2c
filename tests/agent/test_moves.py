"""The candidate's move decides the interviewer's next step."""

from __future__ import annotations

import pytest

from service.agent.moves import classify


@pytest.mark.parametrize(
    ("message", "move"),
    [
        ("finish", "finish"),
        ("/done", "finish"),
        ("Let's wrap up here.", "finish"),
        ("I think I've covered it; let's finish.", "finish"),
        ("I don't know.", "dont_know"),
        ("No idea, honestly", "dont_know"),
        ("Can I get a hint?", "hint"),
        ("What do you mean by flood the network?", "clarify"),
        ("ZeRO-1 moves 2 psi per GPU, the same as DDP, so I would not worry about bandwidth.", "answer"),
        (
            "I don't know the exact figure, but the all-reduce is a reduce-scatter plus an all-gather, so the "
            "volume per GPU stays at about twice the parameter bytes whatever the number of ranks.",
            "answer",
        ),
    ],
)
def test_classify(message: str, move: str) -> None:
    assert classify(message) == move
