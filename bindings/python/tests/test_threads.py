"""Threads: tapes in different threads run in parallel and agree with a single-threaded
run; a tape used from a second thread while the first is inside it raises; sweeps and
tensor kernels are the calls that release the GIL."""

from __future__ import annotations

import ctypes
import threading

import numpy as np
import pytest

import libautodiff as ad
from libautodiff import _lib


def work(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    with ad.Tape() as tape:
        w = tape.input(rng.normal(size=(16, 16)))
        x = tape.const(rng.normal(size=(8, 16)))
        loss = ((x @ w).tanh() @ w).sum()
        for _ in range(20):
            loss.backward()
        return np.array(w.grad)


def test_threads_each_with_their_own_tape_agree_with_one_thread() -> None:
    expected = [work(seed) for seed in range(8)]
    results: dict = {}
    errors: list = []

    def run(seed: int) -> None:
        try:
            results[seed] = work(seed)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(s,)) for s in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for seed in range(8):
        np.testing.assert_array_equal(results[seed], expected[seed])


def test_a_second_thread_is_refused_while_the_first_is_inside_the_tape() -> None:
    inside, done = threading.Event(), threading.Event()
    seen: list = []

    def block(x: ad.Var) -> ad.Var:
        inside.set()
        done.wait(10)
        return x * 2.0

    with ad.Tape() as tape:
        x = tape.var(1.0)
        worker = threading.Thread(target=lambda: seen.append(ad.checkpoint(block, x).value))
        worker.start()
        assert inside.wait(10)
        with pytest.raises(ad.ConcurrentUseError):
            tape.var(2.0)
        with pytest.raises(ad.ConcurrentUseError):
            tape.reset()
        done.set()
        worker.join()
        assert seen == [2.0]
        tape.var(2.0)  # free again


def test_sweeps_and_kernels_release_the_gil_and_scalar_ops_keep_it() -> None:
    def releases(fn) -> bool:
        return not fn._flags_ & ctypes._FUNCFLAG_PYTHONAPI  # type: ignore[attr-defined]

    for fn in (_lib.backward, _lib.gradient, _lib.jacobian, _lib.replay, _lib.jvp, _lib.hvp, _lib.optim_step, _lib.matmul, _lib.linear):
        assert releases(fn), fn.__name__
    for fn in (_lib.BINARY["add"], _lib.UNARY["sin"], _lib.value, _lib.input_):
        assert not releases(fn), fn.__name__


def test_recordings_of_grad_are_per_thread() -> None:
    g = ad.grad(lambda v: (v * v).sum())
    out: dict = {}

    def run(i: int) -> None:
        out[i] = [g(np.full(3, float(i + k))) for k in range(20)]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(4):
        for k, r in enumerate(out[i]):
            np.testing.assert_array_equal(r, np.full(3, 2.0 * (i + k)))
