"""`grad(f)(x)` and `jacobian(f)(x)`: record once per shape, then replay.

The first call with an input of a given shape records ``f`` on a fresh tape (inputs
``x`` as an object array of :class:`~libautodiff.Var`, so ``x[0] * x[1]``,
``np.sum(x ** 2)``, ``np.sin(x)`` all record; or, with ``tensor=True``, as one
:class:`~libautodiff.Tensor`, for functions written with tensor ops). Later calls with that shape replay the
recording at the new point (``ad_replay``) and sweep it again, with no Python in the
loop. Like any replay, this follows the ops recorded the first time: a function whose
control flow depends on the values (``if x[0] > 0``) must be called with
``retape=True``, which records every call afresh.

Recordings are cached per thread (a tape belongs to one thread), by input shape. A tape
that runs out of memory while recording is made again with twice the memory, and a
recording made again (``retape``) starts from the size that held the last one.
"""

from __future__ import annotations

import functools
import threading
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np

from .errors import OutOfMemoryError
from .tape import Tape
from .tensor import Tensor
from .var import Var

_FIRST_MEMORY = 1 << 20
_MAX_MEMORY = 1 << 34


class _Recording:
    """A tape holding ``f`` recorded at one input shape, and its outputs."""

    def __init__(self, f: Callable[..., Any], x: np.ndarray, dtype: str, tensor: bool, memory: int) -> None:
        self.input: Optional[Tensor] = None
        xs: Any
        while True:
            tape = Tape(memory, dtype)
            try:
                if tensor:
                    xs = self.input = tape.input(x)
                else:
                    xs = np.empty(x.shape, dtype=object)
                    flat = xs.reshape(-1)
                    for i, v in enumerate(x.reshape(-1)):
                        flat[i] = tape.var(float(v))
                out = f(xs)
                if isinstance(out, Tensor):
                    out = out.as_var()
                break
            except OutOfMemoryError:
                tape.close()
                if memory >= _MAX_MEMORY:
                    raise
                memory *= 2
        self.tape = tape
        self.memory = memory
        self.scalar = isinstance(out, Var)
        outs = np.asarray(out, dtype=object)
        self.out_shape = outs.shape
        self.outputs = list(outs.reshape(-1))
        for o in self.outputs:
            if not isinstance(o, Var) or o.tape is not tape:
                raise TypeError(f"f must return Vars computed from its input, got {o!r}")


    def replay(self, x: np.ndarray) -> None:
        """The recording at the point ``x``."""
        if self.input is None:
            self.tape.replay(x.reshape(-1))
        else:
            self.input.set_value(x)
            self.tape.replay([])

    def gradient(self, x: np.ndarray) -> np.ndarray:
        """d(output)/dx, of x's shape, at the point last recorded or replayed."""
        if self.input is None:
            return self.tape.gradient(self.outputs[0]).reshape(x.shape)
        self.tape.backward(self.outputs[0])
        return np.array(self.input.grad, dtype=np.float64)


def _cached(
    f: Callable[..., Any], retape: bool, dtype: str, tensor: bool = False
) -> Callable[[np.ndarray], Tuple[_Recording, bool]]:
    local = threading.local()

    def recording(x: np.ndarray) -> Tuple[_Recording, bool]:
        cache: Optional[Dict[Tuple[int, ...], _Recording]] = getattr(local, "cache", None)
        if cache is None:
            cache = local.cache = {}
        entry = cache.get(x.shape)
        if entry is None or retape:
            memory = _FIRST_MEMORY
            if entry is not None:
                entry.tape.close()
                memory = entry.memory
            entry = cache[x.shape] = _Recording(f, x, dtype, tensor, memory)
            return entry, True
        return entry, False

    return recording


def value_and_grad(
    f: Callable[..., Any], *, retape: bool = False, dtype: str = "f64", tensor: bool = False
) -> Callable[[Any], Tuple[float, np.ndarray]]:
    """``value_and_grad(f)(x)`` is ``(f(x), ∇f(x))`` for ``f`` from an array to a
    scalar :class:`~libautodiff.Var` (with ``tensor=True``: from a
    :class:`~libautodiff.Tensor` to a rank-0 one); the gradient has ``x``'s shape."""
    recording = _cached(f, retape, dtype, tensor)

    @functools.wraps(f)
    def run(x: Any) -> Tuple[float, np.ndarray]:
        x = np.asarray(x, dtype=np.float64)
        rec, fresh = recording(x)
        if not rec.scalar:
            raise TypeError("grad needs f to return one Var; use jacobian for several outputs")
        if not fresh:
            rec.replay(x)
        g = rec.gradient(x)
        return rec.outputs[0].value, g

    return run


def grad(
    f: Callable[..., Any], *, retape: bool = False, dtype: str = "f64", tensor: bool = False
) -> Callable[[Any], np.ndarray]:
    """``grad(f)(x)`` is ``∇f(x)``, of ``x``'s shape, for ``f`` from an array to a
    scalar :class:`~libautodiff.Var`, or with ``tensor=True`` from a
    :class:`~libautodiff.Tensor` to a rank-0 one (see the module's notes on replay)."""
    both = value_and_grad(f, retape=retape, dtype=dtype, tensor=tensor)

    @functools.wraps(f)
    def run(x: Any) -> np.ndarray:
        return both(x)[1]

    return run


def jacobian(f: Callable[..., Any], *, mode: str = "auto", retape: bool = False, dtype: str = "f64") -> Callable[[Any], np.ndarray]:
    """``jacobian(f)(x)`` has shape ``f(x).shape + x.shape``: ``J[i..., j...] =
    ∂f(x)[i...]/∂x[j...]``. ``mode`` as :meth:`Tape.jacobian`."""
    recording = _cached(f, retape, dtype)

    @functools.wraps(f)
    def run(x: Any) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        rec, fresh = recording(x)
        if not fresh:
            rec.replay(x)
        j = rec.tape.jacobian(rec.outputs, mode=mode)
        return j.reshape(rec.out_shape + x.shape)

    return run
