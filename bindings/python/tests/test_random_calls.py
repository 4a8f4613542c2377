"""Random call sequences over a few tapes: mixed-up handles, resets, closes, views kept
and dropped, raising blocks. Whatever happens must be an exception of the package (or
Python's TypeError or AttributeError for operands and methods a type does not have),
never a crash, and a view of a value keeps showing the value it was made from."""

from __future__ import annotations

from typing import Any, Callable, List

import numpy as np

import libautodiff as ad


def test_random_call_sequences_never_crash_and_views_stay_valid() -> None:
    rng = np.random.default_rng(2026)
    tapes = [ad.Tape(1 << 14), ad.Tape(bytearray(1 << 14)), ad.Tape(1 << 14, dtype="f32")]
    handles: List[Any] = []
    views: List[Any] = []
    outcomes = {"ok": 0, "raised": 0}

    def pick() -> Any:
        return handles[rng.integers(len(handles))] if handles else 1.0

    def raising_block(v: Any) -> Any:
        raise RuntimeError("a block that fails")

    actions: List[Callable[[], Any]] = [
        lambda: handles.append(tapes[rng.integers(3)].var(float(rng.normal()))),
        lambda: handles.append(tapes[rng.integers(3)].input(rng.normal(size=int(rng.integers(1, 4))))),
        lambda: handles.append(pick() + pick()),
        lambda: handles.append(pick() * pick()),
        lambda: handles.append(ad.math.sin(pick())),
        lambda: handles.append(pick().sum()),
        lambda: pick().backward(),
        lambda: tapes[rng.integers(3)].reset(),
        lambda: views.append((lambda h: (h, np.array(h.value), h.value))(pick())),
        lambda: views.pop(int(rng.integers(len(views)))) if views else None,
        lambda: ad.checkpoint(raising_block, pick()),
        lambda: handles.append(ad.checkpoint(lambda v: v * 2.0, pick())),
        lambda: tapes[rng.integers(3)].close() if rng.random() < 0.2 else None,
        lambda: tapes.__setitem__(int(rng.integers(3)), ad.Tape(1 << 14)) if rng.random() < 0.5 else None,
    ]
    for _ in range(3000):
        try:
            actions[rng.integers(len(actions))]()
            outcomes["ok"] += 1
        except (ad.AutodiffError, TypeError, AttributeError):
            outcomes["raised"] += 1
        for handle, copy, view in views:
            if handle.tape.closed or not isinstance(handle, ad.Tensor):
                continue
            # Only a sweep or replay of its own tape may change what a value view shows,
            # and none of the actions replays: values stay as recorded.
            np.testing.assert_array_equal(view, copy)
        if len(handles) > 200:
            del handles[:100]
    assert outcomes["ok"] > 500 and outcomes["raised"] > 500, outcomes
