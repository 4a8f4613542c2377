"""numpy views of the tape's memory never show freed or reused memory: a reset is
refused while a tensor view (or anything derived from one) lives, a close waits for the
last view, parameter views survive resets, and the arrays are read-only."""

from __future__ import annotations

import gc

import numpy as np
import pytest

import libautodiff as ad


def recorded(tape: ad.Tape) -> ad.Tensor:
    x = tape.input(np.arange(6.0).reshape(2, 3))
    (x * x).sum().backward()
    return x


def test_views_are_read_only_and_cannot_be_made_writable() -> None:
    with ad.Tape() as tape:
        x = recorded(tape)
        g = x.grad
        with pytest.raises(ValueError):
            g[0, 0] = 1.0
        with pytest.raises(ValueError):
            g.flags.writeable = True
        del g


def test_a_reset_is_refused_while_a_view_or_a_derived_array_lives() -> None:
    with ad.Tape() as tape:
        x = recorded(tape)
        g = np.asarray(x.grad)
        derived = g.T[1:]  # a view of the view: it keeps the lease too
        del g
        with pytest.raises(ad.ViewsAliveError, match="1 numpy view"):
            tape.reset()
        with pytest.raises(BufferError):  # ViewsAliveError is a BufferError
            tape.reset()
        np.testing.assert_array_equal(derived, (2 * np.arange(6.0).reshape(2, 3)).T[1:])
        del derived
        tape.reset()  # no view left
        with pytest.raises(ad.StaleHandleError):
            x.grad


def test_copies_do_not_hold_the_tape() -> None:
    with ad.Tape() as tape:
        x = recorded(tape)
        copy = np.array(x.grad)
        tape.reset()
        np.testing.assert_array_equal(copy, 2 * np.arange(6.0).reshape(2, 3))


def test_a_close_waits_for_the_last_view_which_stays_readable() -> None:
    memory = bytearray(1 << 16)
    tape = ad.Tape(memory)
    x = recorded(tape)
    value, grad = x.value, x.grad
    tape.close()
    assert tape.closed
    with pytest.raises(ad.TapeClosedError):
        x.value  # the handle is dead at once
    with pytest.raises(BufferError):
        memory.extend(b"x")  # the memory is still the tape's
    np.testing.assert_array_equal(value, np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(grad, 2 * np.arange(6.0).reshape(2, 3))
    del value
    with pytest.raises(BufferError):
        memory.extend(b"x")
    del grad  # the last view: the tape ends and gives the memory back
    memory.extend(b"x")
    assert len(memory) == (1 << 16) + 1


def test_parameter_views_survive_resets_and_follow_optimizer_steps() -> None:
    with ad.Tape() as tape:
        p = tape.parameter(np.array([1.0, 2.0]))
        tape.sgd(0.5)
        value = p.value
        for _ in range(2):
            tape.reset()  # a parameter view does not block a reset
            (p * p).sum().backward()
            tape.step()
        np.testing.assert_array_equal(value, [0.0, 0.0])  # 1 - 0.5·2 = 0, then stays
        assert value.base is not None
        grad = p.grad
    assert tape.closed
    np.testing.assert_array_equal(grad, [0.0, 0.0])  # still readable after the close
    del value, grad


def test_handles_outliving_their_tape_raise() -> None:
    tape = ad.Tape()
    x = tape.var(1.0)
    t = tape.input(np.ones(3))
    tape.close()
    for action in (lambda: x.value, lambda: x + 1.0, lambda: t.numpy(), lambda: t.grad, lambda: tape.reset(), lambda: tape.var(1.0)):
        with pytest.raises(ad.TapeClosedError):
            action()
    tape.close()  # twice: nothing


def test_parameters_outliving_their_tape_raise() -> None:
    tape = ad.Tape()
    p = tape.parameter(np.ones(2))
    del tape  # the parameter keeps it alive
    gc.collect()
    np.testing.assert_array_equal(p.numpy(), [1.0, 1.0])
    p.tape.close()
    with pytest.raises(ad.TapeClosedError):
        p.numpy()
    with pytest.raises(ad.TapeClosedError):
        p.value


def test_a_tape_over_a_numpy_buffer_keeps_it_exported() -> None:
    memory = np.zeros(1 << 14, dtype=np.uint8)
    with ad.Tape(memory) as tape:
        x = tape.var(2.0)
        (x * x).backward()
        assert x.grad == 4.0
        with pytest.raises(ValueError):
            memory.resize(10)  # numpy sees the tape's reference
    del tape
    memory.resize(10)  # given back after the close


def test_no_view_of_a_checkpointed_blocks_tensors() -> None:
    kept = []

    def block(t: ad.Tensor) -> ad.Tensor:
        inner = t * 2.0
        kept.append(inner.numpy())  # a copy is fine
        with pytest.raises(ad.ReentrantError, match="checkpointed block"):
            inner.value  # its memory goes back to the tape when the block ends
        return inner.tanh()

    with ad.Tape() as tape:
        x = tape.input(np.ones(3))
        ad.checkpoint(block, x).sum().backward()
        np.testing.assert_array_equal(kept[0], [2.0, 2.0, 2.0])
        np.testing.assert_allclose(x.grad, 2 * (1 - np.tanh(2.0) ** 2))


def test_the_last_view_may_end_in_another_thread() -> None:
    import threading

    memory = bytearray(1 << 16)
    tape = ad.Tape(memory)
    views = [recorded(tape).grad]
    tape.close()
    with pytest.raises(BufferError):
        memory.extend(b"x")
    worker = threading.Thread(target=views.clear)
    worker.start()
    worker.join()
    memory.extend(b"x")  # ended there, and the memory given back
