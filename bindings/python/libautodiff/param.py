"""Parameters: tensors that persist across resets, and the optimizers that update them."""

from __future__ import annotations

import ctypes
from typing import TYPE_CHECKING, Any, Optional, Tuple

import numpy as np

from . import _lib
from .tensor import Tensor, as_c_array
from .views import PARAM, arena_view

if TYPE_CHECKING:  # pragma: no cover
    from .tape import Tape


class Parameter:
    """A trainable tensor of a tape (:meth:`Tape.parameter`): its value, its gradient
    and the optimizer's state live at the top of the tape's memory and survive
    :meth:`Tape.reset`.

    In a recording, use it where a :class:`~libautodiff.Tensor` goes (``x @ w``,
    :func:`~libautodiff.linear`): the first use after each reset records it
    (:meth:`use`). ``p.value`` and ``p.grad`` are read-only views of the tape's memory
    that stay valid across resets (they keep the tape's memory alive, and only delay
    its close); :meth:`numpy` copies, :meth:`assign` writes.
    """

    __slots__ = ("_tape", "_h", "shape", "_use")

    _tape: "Tape"
    _h: _lib.ParamHandle
    #: The parameter's dimensions.
    shape: Tuple[int, ...]
    _use: Optional[Tuple[int, Tensor]]

    # numpy defers arithmetic with an array to this class's reflected operators, which
    # record the array as a constant (instead of making an object array).
    __array_ufunc__ = None

    def __init__(self) -> None:  # pragma: no cover - made by Tape.parameter
        raise TypeError("create parameters with Tape.parameter(init)")

    @classmethod
    def _new(cls, tape: "Tape", init: Any) -> "Parameter":
        array = as_c_array(init, tape._np_dtype)
        dims = (ctypes.c_size_t * max(array.ndim, 1))(*array.shape)
        out = _lib.ParamHandle()
        with tape._calling() as ptr:
            status = _lib.PARAM_NEW[tape._dt](ptr, dims, array.ndim, array.ctypes.data, array.size, ctypes.byref(out))
            tape._check(status)
        p = cls.__new__(cls)
        p._tape = tape
        p._h = out
        p.shape = tuple(array.shape)
        p._use = None
        return p

    @property
    def tape(self) -> "Tape":
        return self._tape

    def use(self) -> Tensor:
        """The parameter in the current recording (recorded once per reset)."""
        tape = self._tape
        cached = self._use
        if cached is not None and cached[0] == tape._generation:
            return cached[1]
        ptr = tape._enter()
        try:
            h = _lib.param_use(ptr, self._h)
        finally:
            tape._lock.release()
        tensor = Tensor._wrap(tape, h)
        self._use = (tape._generation, tensor)
        return tensor

    def _view(self, which: int) -> np.ndarray:
        tape = self._tape
        with tape._calling() as ptr:
            address = ctypes.c_void_p()
            count = ctypes.c_size_t()
            tape._check(_lib.param_buffer(ptr, self._h, which, ctypes.byref(address), ctypes.byref(count)))
            return arena_view(tape, address.value or 0, count.value, self.shape, PARAM)

    @property
    def value(self) -> np.ndarray:
        """The value: a read-only view that optimizer steps update in place."""
        return self._view(_lib.AD_BUFFER_VALUE)

    @property
    def grad(self) -> np.ndarray:
        """The gradient from the last backward: a read-only view."""
        return self._view(_lib.AD_BUFFER_GRAD)

    def numpy(self) -> np.ndarray:
        """A copy of the value."""
        tape = self._tape
        out = np.empty(self.shape, dtype=tape._np_dtype)
        with tape._calling() as ptr:
            tape._check(_lib.PARAM_DATA[("read", tape._dt)](ptr, self._h, out.ctypes.data, out.size))
        return out

    def assign(self, data: Any) -> None:
        """Overwrites the value (recordings that read the old value then refuse
        backward with :class:`~libautodiff.ModifiedInPlaceError`)."""
        tape = self._tape
        array = as_c_array(data, tape._np_dtype)
        with tape._calling() as ptr:
            tape._check(_lib.PARAM_DATA[("write", tape._dt)](ptr, self._h, array.ctypes.data, array.size))

    # A parameter in arithmetic stands for its use in the current recording.
    def __matmul__(self, other: Any) -> Tensor:
        return self.use() @ other

    def __rmatmul__(self, other: Any) -> Tensor:
        return other @ self.use()

    def __add__(self, other: Any) -> Tensor:
        return self.use() + other

    def __radd__(self, other: Any) -> Tensor:
        return other + self.use()

    def __mul__(self, other: Any) -> Tensor:
        return self.use() * other

    def __rmul__(self, other: Any) -> Tensor:
        return other * self.use()

    def __sub__(self, other: Any) -> Tensor:
        return self.use() - other

    def __rsub__(self, other: Any) -> Tensor:
        return other - self.use()

    def __repr__(self) -> str:
        return f"Parameter(shape={self.shape})"


class SGD:
    """SGD with momentum and weight decay on every parameter of ``tape``; set once,
    after the parameters. :meth:`step` updates them from the last backward."""

    def __init__(self, tape: "Tape", lr: float, momentum: float = 0.0, weight_decay: float = 0.0) -> None:
        self.tape = tape
        tape.sgd(lr, momentum, weight_decay)

    def step(self) -> None:
        self.tape.step()


class Adam:
    """Adam (AdamW with ``decoupled=True``) on every parameter of ``tape``."""

    def __init__(
        self,
        tape: "Tape",
        lr: float = 1e-3,
        betas: Tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled: bool = False,
    ) -> None:
        self.tape = tape
        tape.adam(lr, betas, eps, weight_decay, decoupled)

    def step(self) -> None:
        self.tape.step()
