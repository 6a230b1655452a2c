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
