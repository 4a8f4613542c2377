"""Read-only numpy views of a tape's memory, and the leases that keep them safe.

A view is a numpy array over a buffer inside the tape's memory (no copy). Each view
holds a *lease* on its tape, through the numpy base chain (array -> read-only
memoryview -> ctypes array -> lease), so the lease lives exactly as long as the view
and every array derived from it. While a lease is alive:

- the tape's memory stays allocated (the lease holds the tape, which holds it);
- for a view of a tensor's buffer, ``Tape.reset`` is refused with
  :class:`~libautodiff.errors.ViewsAliveError` (a reset would reuse the memory the view
  shows; a parameter's buffers survive resets, so their views do not block one);
- ``Tape.close`` is deferred: the tape refuses all use at once, and ends when the last
  lease goes.

So no view ever shows freed or reused memory. The arrays are read-only (numpy refuses
to make them writable): writes go through ``Tensor.set_value`` / ``Parameter.assign``,
which the tape checks for in-place updates. The contents are live: a later backward
rewrites a gradient, an optimizer step a parameter.
"""

from __future__ import annotations

import ctypes
from typing import TYPE_CHECKING, Tuple

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from .tape import Tape

#: Lease kinds: a view of a tensor's buffer (blocks reset and close) or of a
#: parameter's (blocks close only).
TENSOR, PARAM = "tensor", "param"


class _Lease:
    """Counts one exported view on its tape for as long as it lives."""

    __slots__ = ("_tape", "_kind")

    def __init__(self, tape: "Tape", kind: str) -> None:
        self._tape = tape
        self._kind = kind
        tape._acquire_view(kind)

    def __del__(self) -> None:
        tape = getattr(self, "_tape", None)
        if tape is not None:
            try:
                tape._release_view(self._kind)
            except (AttributeError, TypeError):  # at interpreter exit, modules are torn down
                pass


def arena_view(tape: "Tape", address: int, count: int, shape: Tuple[int, ...], kind: str) -> np.ndarray:
    """A read-only array of ``count`` elements of the tape's dtype at ``address``,
    shaped ``shape``, leasing ``tape`` for as long as it (or anything viewing it)
    lives."""
    ctype = ctypes.c_float if tape._np_dtype == np.float32 else ctypes.c_double
    cells = (ctype * count).from_address(address)
    setattr(cells, "_lease", _Lease(tape, kind))  # the lease lives as long as the cells
    raw = memoryview(cells).cast("B").toreadonly()
    return np.frombuffer(raw, dtype=tape._np_dtype, count=count).reshape(shape)
