"""Checkpointed blocks written in Python: gradients bitwise those of the unmarked
recording, and a block that raises (while recording, or when a sweep records it again)
fails the tape with a CallbackError whose cause is the block's exception; nothing
unwinds through C, and a reset makes the tape usable again."""

from __future__ import annotations

import numpy as np
import pytest

import libautodiff as ad
from libautodiff import math as am


def block(x: ad.Var, y: ad.Var) -> ad.Var:
    for _ in range(5):
        x, y = am.sin(x * y) + y, am.exp(-x) * y
    return x + y


def test_a_checkpointed_block_gives_the_unmarked_gradient_bitwise(rng: np.random.Generator) -> None:
    x0 = rng.uniform(0.1, 1.0, size=2)
    with ad.Tape() as tape:
        plain = tape.gradient(block(*tape.vars(x0)) * 2.0)
    calls = []

    def counted(x: ad.Var, y: ad.Var) -> ad.Var:
        calls.append(1)
        return block(x, y)

    with ad.Tape() as tape:
        x, y = tape.vars(x0)
        out = ad.checkpoint(counted, x, y)
        small = len(tape)
        marked = tape.gradient(out * 2.0)
    assert len(calls) == 2, "recorded, then recorded again by the backward sweep"
    np.testing.assert_array_equal(marked, plain)
    assert small < 10


def test_blocks_with_several_outputs_and_tensors(rng: np.random.Generator) -> None:
    a0 = rng.normal(size=(3, 3))
    with ad.Tape() as tape:
        a = tape.input(a0)
        p, q = tape.checkpoint(lambda t: ((t @ t).tanh(), t * 2.0), a, outputs=2)
        ((p * q).sum()).backward()
        checkpointed = np.array(a.grad)
    with ad.Tape() as tape:
        a = tape.input(a0)
        ((a @ a).tanh() * (a * 2.0)).sum().backward()
        np.testing.assert_array_equal(checkpointed, a.grad)


def test_a_block_that_raises_fails_the_tape_with_its_exception() -> None:
    def bad(x: ad.Var) -> ad.Var:
        raise ValueError("the block's own failure")

    with ad.Tape() as tape:
        x = tape.var(1.0)
        with pytest.raises(ad.CallbackError, match="ValueError: the block's own failure") as info:
            ad.checkpoint(bad, x)
        assert isinstance(info.value.__cause__, ValueError)
        assert tape.status is not None, "the tape keeps the error"
        with pytest.raises(ad.AutodiffError):
            x * x
        tape.reset()
        y = tape.var(3.0)
        (y * y).backward()
        assert y.grad == 6.0


def test_a_block_that_raises_when_backward_records_it_again() -> None:
    calls = []

    def flaky(x: ad.Var) -> ad.Var:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # not even this unwinds through C
        return am.sin(x)

    with ad.Tape() as tape:
        x = tape.var(0.5)
        y = ad.checkpoint(flaky, x)
        with pytest.raises(ad.CallbackError) as info:
            (y * 2.0).backward()
        assert isinstance(info.value.__cause__, KeyboardInterrupt)
        tape.reset()


def test_a_block_returning_the_wrong_thing() -> None:
    with ad.Tape() as tape:
        x = tape.var(1.0)
        with pytest.raises(ad.CallbackError, match="TypeError"):
            ad.checkpoint(lambda v: 1.0, x)
        tape.reset()
        x = tape.var(1.0)
        with pytest.raises(ad.CallbackError, match="2 result"):
            ad.checkpoint(lambda v: v * v, x, outputs=2)


def test_a_block_may_not_reset_its_tape() -> None:
    with ad.Tape() as tape:
        x = tape.var(1.0)
        with pytest.raises(ad.CallbackError) as info:
            ad.checkpoint(lambda v: tape.reset() or v, x)
        assert isinstance(info.value.__cause__, ad.ReentrantError)


def test_variables_kept_from_a_block_are_stale() -> None:
    kept = []

    def keeper(x: ad.Var) -> ad.Var:
        inner = x * 3.0
        kept.append(inner)
        return inner + 1.0

    with ad.Tape() as tape:
        x = tape.var(1.0)
        ad.checkpoint(keeper, x)
        with pytest.raises(ad.StaleHandleError):
            kept[0].value


def test_a_block_may_not_close_its_tape() -> None:
    with ad.Tape() as tape:
        x = tape.var(1.0)
        with pytest.raises(ad.CallbackError) as info:
            ad.checkpoint(lambda v: tape.close() or v, x)
        assert isinstance(info.value.__cause__, ad.ReentrantError)
        assert not tape.closed


def test_a_dropped_tape_with_segments_is_collected() -> None:
    import gc
    import sys
    import weakref

    segments = sys.modules["libautodiff.checkpoint"]  # the module, not the function

    tape = ad.Tape()
    ad.checkpoint(lambda v: v * 2.0, tape.var(1.0))
    assert tape._blocks and all(k in segments._BLOCKS for k in tape._blocks)
    keys, alive = list(tape._blocks), weakref.ref(tape)
    del tape
    gc.collect()
    assert alive() is None
    assert not any(k in segments._BLOCKS for k in keys)
