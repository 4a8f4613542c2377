"""`Tape`: a recording in memory the caller owns or the tape owns, and its sweeps."""

from __future__ import annotations

import ctypes
import threading
from numbers import Real
from typing import Any, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _lib
from .errors import (
    AutodiffError,
    CallbackError,
    ConcurrentUseError,
    InvalidArgumentError,
    ReentrantError,
    TapeClosedError,
    ViewsAliveError,
    error_for,
)
from .checkpoint import forget, run_segment
from .param import Parameter
from .tensor import Tensor, as_c_array
from .views import PARAM, TENSOR
from .var import Var

#: The dtypes a tape computes in, by name.
DTYPES = {"f64": _lib.AD_F64, "f32": _lib.AD_F32, "f64_dual": _lib.AD_F64_DUAL}

DEFAULT_MEMORY = 1 << 20

Buffer = Union[bytearray, memoryview, np.ndarray]
#: Values for the scalar inputs: a sequence of numbers or a numpy array.
Values = Union[Sequence[float], np.ndarray]


def _dtype_name(dtype: Any) -> str:
    if isinstance(dtype, str) and dtype in DTYPES:
        return dtype
    try:
        as_numpy = np.dtype(dtype)
    except TypeError:
        as_numpy = None
    if as_numpy == np.float64:
        return "f64"
    if as_numpy == np.float32:
        return "f32"
    raise InvalidArgumentError(f"unknown dtype {dtype!r}: use 'f64', 'f32', 'f64_dual' or a numpy float type")


class _Call:
    """The context manager of :meth:`Tape._calling`."""

    __slots__ = ("_tape",)

    def __init__(self, tape: "Tape") -> None:
        self._tape = tape

    def __enter__(self) -> ctypes.c_void_p:
        return self._tape._enter()

    def __exit__(self, *exc: object) -> None:
        self._tape._lock.release()


class Tape:
    """A recording of scalar and tensor ops in one block of memory.

    ``Tape(memory=1 << 20, dtype="f64")`` owns ``memory`` bytes; ``Tape(buffer)`` lives
    in a writable, C-contiguous buffer the caller owns (a ``bytearray``, a numpy array,
    a ``memoryview``), which stays exported (a ``bytearray`` cannot be resized) until
    the tape ends; the caller must not write to it meanwhile. ``dtype`` is ``"f64"``,
    ``"f32"`` (``np.float32``) or ``"f64_dual"`` (for :meth:`hvp`; no tensors).

    Use it as a context manager, or call :meth:`close`. A tape belongs to one thread
    at a time: a call while another thread is inside one raises
    :class:`~libautodiff.ConcurrentUseError`. Sweeps, tensor kernels and optimizer steps
    release the GIL, so tapes in different threads run in parallel.

    Every failure raises a subclass of :class:`~libautodiff.AutodiffError` at the call
    that failed. The tape keeps that error (later ops fail too) until :meth:`reset`.
    """

    def __init__(self, memory: Union[int, Buffer] = DEFAULT_MEMORY, dtype: Any = "f64") -> None:
        self._ptr: Optional[ctypes.c_void_p] = None
        self._pending_end: Optional[ctypes.c_void_p] = None
        self._lock = threading.RLock()
        self._views = {TENSOR: 0, PARAM: 0}
        self._views_lock = threading.RLock()  # leases end in whichever thread drops them
        self._callback_depth = 0
        self._generation = 0
        self._blocks: List[int] = []
        self._callback_error: Optional[BaseException] = None
        self.dtype = _dtype_name(dtype)
        self._np_dtype = np.dtype(np.float32 if self.dtype == "f32" else np.float64)
        self._dt = "f32" if self.dtype == "f32" else "f64"
        if isinstance(memory, (int, np.integer)) and not isinstance(memory, bool):
            if memory <= 0:
                raise InvalidArgumentError(f"a tape needs a positive number of bytes, not {memory}")
            self._owner: Any = bytearray(int(memory))
            view = memoryview(self._owner)
        else:
            self._owner = memory
            try:
                view = memoryview(memory)  # type: ignore[arg-type]
            except TypeError:
                raise TypeError(f"a tape's memory is a byte count or a writable buffer, not {type(memory).__name__}") from None
            if view.readonly:
                raise InvalidArgumentError("a tape needs writable memory; this buffer is read-only")
            if not view.c_contiguous:
                raise InvalidArgumentError("a tape needs C-contiguous memory")
            view = view.cast("B")
        self._cells: Optional[ctypes.Array[ctypes.c_char]] = (ctypes.c_char * view.nbytes).from_buffer(view)
        out = ctypes.c_void_p()
        status = _lib.tape_init(self._cells, view.nbytes, DTYPES[self.dtype], ctypes.byref(out))
        if status != _lib.AD_OK:
            self._cells = None
            raise error_for(status, _lib.status_str(status).decode())
        self._ptr = out

    # ---- lifecycle ----

    def __enter__(self) -> "Tape":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called (the memory may still be held by views)."""
        return self._ptr is None

    def close(self) -> None:
        """Ends the tape: every variable, tensor and parameter of it raises
        :class:`~libautodiff.TapeClosedError` from now on. While numpy views of its
        memory are alive the memory stays as it is and the end waits for the last view
        to go. Closing twice does nothing."""
        ptr = self._enter_or_none()
        if ptr is None:
            return
        try:
            if self._callback_depth:
                raise ReentrantError("a tape cannot be closed from a callback it is running")
            with self._views_lock:  # a view may end in another thread meanwhile
                if self._views[TENSOR] or self._views[PARAM]:
                    self._ptr, self._pending_end = None, ptr
                    return
            status = _lib.tape_done(ptr)
            if status != _lib.AD_OK:  # refused inside a callback: the tape stays live
                raise self._error(status)
            self._ptr = None
            self._free_memory()
        finally:
            self._lock.release()

    def reset(self) -> None:
        """Clears the recording (parameters and the optimizer stay): variables and
        tensors from before are stale. Refused with
        :class:`~libautodiff.ViewsAliveError` while numpy views of tensors are alive."""
        with self._calling() as ptr:
            alive = self._views[TENSOR]
            if alive:
                raise ViewsAliveError(
                    f"reset refused: {alive} numpy view(s) of this tape's tensors are alive and "
                    "would show reused memory; drop them (del), or take copies with np.array(...)"
                )
            status = _lib.tape_reset(ptr)
            if status != _lib.AD_OK:
                raise self._error(status)
            self._generation += 1
            self._forget_blocks()

    def __del__(self) -> None:
        ptr = getattr(self, "_ptr", None) or getattr(self, "_pending_end", None)
        try:
            if ptr is not None:
                _lib.tape_done(ptr)
            if getattr(self, "_blocks", None):
                forget(self._blocks)
        except (AttributeError, TypeError):  # at interpreter exit, modules are torn down
            pass

    def _free_memory(self) -> None:
        self._forget_blocks()
        self._cells = None
        self._owner = None

    def _acquire_view(self, kind: str) -> None:
        with self._views_lock:
            self._views[kind] += 1

    def _release_view(self, kind: str) -> None:
        with self._views_lock:
            views = self._views
            views[kind] -= 1
            if self._pending_end is None or views[TENSOR] or views[PARAM]:
                return
            ptr, self._pending_end = self._pending_end, None
        _lib.tape_done(ptr)
        self._free_memory()

    # ---- entering a call: one thread at a time, a live tape ----

    def _enter(self) -> ctypes.c_void_p:
        """Takes the tape for a call (release ``_lock`` after) and returns its pointer."""
        if not self._lock.acquire(False):
            raise ConcurrentUseError("this tape is in use by another thread; a tape belongs to one thread at a time")
        ptr = self._ptr
        if ptr is None:
            self._lock.release()
            raise TapeClosedError("the tape is closed")
        return ptr

    def _calling(self) -> "_Call":
        """``with tape._calling() as ptr:`` around a call into the library. The hot paths
        (scalar ops, tensor ops) spell out the same ``_enter``/release pair instead,
        which costs less than a context manager."""
        return _Call(self)

    def _enter_or_none(self) -> Optional[ctypes.c_void_p]:
        if not self._lock.acquire(False):
            raise ConcurrentUseError("this tape is in use by another thread; a tape belongs to one thread at a time")
        if self._ptr is None:
            self._lock.release()
        return self._ptr

    # ---- errors ----

    def _error(self, status: int) -> AutodiffError:
        """The exception for a failed call on this tape, with the tape's message; a
        Python callback's exception, when one caused it, as its cause."""
        ptr = self._ptr
        message = _lib.tape_error(ptr).decode() if ptr is not None else _lib.status_str(status).decode()
        pending, self._callback_error = self._callback_error, None
        if pending is not None:
            error = CallbackError(
                f"a Python callback raised {type(pending).__name__}: {pending}; the tape failed with: {message}",
                status,
            )
            error.__cause__ = pending
            return error
        return error_for(status, message)

    def _sticky(self) -> AutodiffError:
        """The exception for the op that just returned the invalid handle."""
        ptr = self._ptr
        status = _lib.tape_status(ptr) if ptr is not None else _lib.AD_OK
        return self._error(status if status != _lib.AD_OK else _lib.AD_ERR_INVALID_ARGUMENT)

    def _check(self, status: int) -> None:
        if status != _lib.AD_OK:
            raise self._error(status)

    @property
    def status(self) -> Optional[AutodiffError]:
        """The tape's sticky error as an exception (not raised), or None."""
        with self._calling() as ptr:
            status = _lib.tape_status(ptr)
            return None if status == _lib.AD_OK else error_for(status, _lib.tape_error(ptr).decode())

    # ---- scalar recording (the hot path: kept flat) ----

    def _wrap(self, h: _lib.Handle) -> Var:
        if h.index == _lib.INVALID_INDEX:
            raise self._sticky()
        var = Var.__new__(Var)
        var._tape = self
        var._h = h
        return var

    def _handle_of(self, x: Any, ptr: ctypes.c_void_p) -> Any:
        """``x``'s handle: a variable's own, or a constant recorded for a number;
        None when ``x`` is neither."""
        if type(x) is Var:
            return x._h
        if type(x) is float or type(x) is int or isinstance(x, Real):
            return _lib.const(ptr, float(x))
        return None

    def _binary(self, fn: Any, a: _lib.Handle, other: Any) -> Any:
        ptr = self._enter()
        try:
            b = other._h if type(other) is Var else self._handle_of(other, ptr)
            if b is None:
                return NotImplemented
            h = fn(ptr, a, b)
        finally:
            self._lock.release()
        return self._wrap(h)

    def _binary_reflected(self, fn: Any, other: Any, b: _lib.Handle) -> Any:
        ptr = self._enter()
        try:
            a = self._handle_of(other, ptr)
            if a is None:
                return NotImplemented
            h = fn(ptr, a, b)
        finally:
            self._lock.release()
        return self._wrap(h)

    def _unary(self, fn: Any, a: _lib.Handle) -> Var:
        ptr = self._enter()
        try:
            h = fn(ptr, a)
        finally:
            self._lock.release()
        return self._wrap(h)

    def _unary_arg(self, fn: Any, a: _lib.Handle, arg: Any) -> Var:
        ptr = self._enter()
        try:
            h = fn(ptr, a, arg)
        finally:
            self._lock.release()
        return self._wrap(h)

    def _read_scalar(self, fn: Any, h: _lib.Handle) -> float:
        with self._calling() as ptr:
            out = ctypes.c_double()
            status = fn(ptr, h, ctypes.byref(out))
            if status != _lib.AD_OK:
                raise self._error(status)
            return out.value

    def var(self, value: float) -> Var:
        """A new independent variable (an input: gradients are taken with respect to
        it, in recording order)."""
        ptr = self._enter()
        try:
            h = _lib.input_(ptr, float(value))
        finally:
            self._lock.release()
        return self._wrap(h)

    def vars(self, values: Iterable[float]) -> List[Var]:
        """One input per value, in order."""
        return [self.var(v) for v in values]

    def const(self, value: Any) -> Any:
        """A constant: a :class:`Var` for a number, a :class:`~libautodiff.Tensor` for
        an array (no gradient flows into either)."""
        if type(value) is float or isinstance(value, (Real, np.generic)):
            with self._calling() as ptr:
                h = _lib.const(ptr, float(value))
            return self._wrap(h)
        return self._tensor_leaf("const", value)

    def input(self, value: Any) -> Any:
        """An input: a :class:`Var` for a number, a :class:`~libautodiff.Tensor` for
        anything array-like (copied once into the tape's memory, row-major)."""
        if type(value) is float or isinstance(value, (Real, np.generic)):
            return self.var(float(value))
        return self._tensor_leaf("input", value)

    def tensor(self, data: Any) -> "Any":
        """An input tensor from array-like ``data`` (see :meth:`input`)."""
        return self._tensor_leaf("input", data)

    def _tensor_leaf(self, kind: str, data: Any) -> Any:
        array = as_c_array(data, self._np_dtype)
        dims = _lib.dims(array.shape)
        with self._calling() as ptr:
            h = _lib.TENSOR_LEAF[(kind, self._dt)](ptr, dims, array.ndim, _lib.address(array), array.size)
        return Tensor._wrap(self, h)

    # ---- sweeps (the GIL is released inside) ----

    def _output_handle(self, output: Any) -> _lib.Handle:
        if type(output) is Var:
            return output._h
        if type(output) is Tensor:
            return output._scalar_handle()
        raise TypeError(f"expected a Var or a rank-0 Tensor, got {type(output).__name__}")

    def backward(self, output: Any) -> None:
        """Runs backward from ``output`` (a :class:`Var` or a rank-0
        :class:`~libautodiff.Tensor`): afterwards ``v.grad`` is d(output)/dv for every
        variable, tensor and parameter ``v`` of the recording."""
        h = self._output_handle(output)
        with self._calling() as ptr:
            self._check(_lib.backward(ptr, h))

    @property
    def num_inputs(self) -> int:
        """The number of scalar inputs recorded (the length :meth:`gradient`,
        :meth:`jvp` and :meth:`replay` work with)."""
        return self._count(_lib.tape_num_inputs)

    def __len__(self) -> int:
        """The number of variables recorded (inputs, constants, op results)."""
        return self._count(_lib.tape_len)

    @property
    def bytes_used(self) -> int:
        """Bytes of the tape's memory in use."""
        return self._count(_lib.tape_bytes_used)

    def _count(self, fn: Any) -> int:
        with self._calling() as ptr:
            out = ctypes.c_size_t()
            self._check(fn(ptr, ctypes.byref(out)))
            return out.value

    def _doubles(self, values: Any, n: int, what: str) -> np.ndarray:
        array = np.ascontiguousarray(values, dtype=np.float64).reshape(-1)
        if array.size != n:
            raise InvalidArgumentError(f"{what}: {array.size} values for {n} inputs")
        return array

    def gradient(self, output: Any) -> np.ndarray:
        """Runs backward from ``output`` and returns d(output)/d(input k) for every
        scalar input, in recording order."""
        h = self._output_handle(output)
        with self._calling() as ptr:
            n = ctypes.c_size_t()
            self._check(_lib.tape_num_inputs(ptr, ctypes.byref(n)))
            out = np.empty(n.value, dtype=np.float64)
            self._check(_lib.gradient(ptr, h, out.ctypes.data, n.value))
            return out

    def jvp(self, seeds: Values) -> None:
        """Forward mode over the recording: ``seeds[k]`` is input k's tangent; then
        ``v.tangent`` is each variable's directional derivative."""
        with self._calling() as ptr:
            n = ctypes.c_size_t()
            self._check(_lib.tape_num_inputs(ptr, ctypes.byref(n)))
            array = self._doubles(seeds, n.value, "jvp seeds")
            self._check(_lib.jvp(ptr, array.ctypes.data, array.size))

    def replay(self, inputs: Values) -> None:
        """Re-evaluates the recording at new scalar input values, without recording
        again (control flow that depended on values is not re-taken)."""
        with self._calling() as ptr:
            n = ctypes.c_size_t()
            self._check(_lib.tape_num_inputs(ptr, ctypes.byref(n)))
            array = self._doubles(inputs, n.value, "replay inputs")
            self._check(_lib.replay(ptr, array.ctypes.data, array.size))

    def jacobian(self, outputs: Sequence[Var], mode: str = "auto") -> np.ndarray:
        """The ``len(outputs) × num_inputs`` Jacobian of ``outputs``. ``mode`` is
        ``"reverse"`` (a sweep per output), ``"forward"`` (four inputs per sweep; tapes
        without tensors) or ``"auto"`` (whichever needs fewer sweeps)."""
        handles = (_lib.Handle * max(len(outputs), 1))(*(self._output_handle(o) for o in outputs))
        m = len(outputs)
        with self._calling() as ptr:
            n = ctypes.c_size_t()
            self._check(_lib.tape_num_inputs(ptr, ctypes.byref(n)))
            if mode == "auto":
                mode = "forward" if (n.value + 3) // 4 < m else "reverse"
            fn = {"reverse": _lib.jacobian, "forward": _lib.jacobian_fwd}.get(mode)
            if fn is None:
                raise InvalidArgumentError(f"unknown Jacobian mode {mode!r}: 'reverse', 'forward' or 'auto'")
            out = np.empty((m, n.value), dtype=np.float64)
            self._check(fn(ptr, handles, m, out.ctypes.data, out.size))
            return out

    def hvp(self, output: Var, x: Values, v: Values) -> Tuple[np.ndarray, np.ndarray]:
        """On a ``"f64_dual"`` tape that recorded ``output = f(inputs)``: the gradient
        of ``f`` at ``x`` and the Hessian-vector product ``H(x)·v``."""
        h = self._output_handle(output)
        with self._calling() as ptr:
            n = ctypes.c_size_t()
            self._check(_lib.tape_num_inputs(ptr, ctypes.byref(n)))
            xs = self._doubles(x, n.value, "hvp point")
            vs = self._doubles(v, n.value, "hvp direction")
            g = np.empty(n.value)
            hv = np.empty(n.value)
            self._check(_lib.hvp(ptr, h, xs.ctypes.data, vs.ctypes.data, g.ctypes.data, hv.ctypes.data, n.value))
            return g, hv

    def dot(self) -> str:
        """The recorded graph in Graphviz DOT."""
        with self._calling() as ptr:
            n = ctypes.c_size_t()
            _lib.tape_dot(ptr, None, 0, ctypes.byref(n))
            buf = ctypes.create_string_buffer(n.value + 1)
            self._check(_lib.tape_dot(ptr, buf, n.value + 1, ctypes.byref(n)))
            return buf.value.decode()

    # ---- parameters and optimizers ----

    def parameter(self, init: Any) -> "Any":
        """A parameter initialised from array-like ``init``: it persists across
        :meth:`reset`. Create parameters right after the tape starts (or a reset),
        before recording, then set the optimizer (:meth:`sgd` or :meth:`adam`)."""
        return Parameter._new(self, init)

    def sgd(self, lr: float, momentum: float = 0.0, weight_decay: float = 0.0) -> None:
        """Sets SGD (with momentum and weight decay) as the tape's optimizer, once,
        after the parameters."""
        with self._calling() as ptr:
            self._check(_lib.optim_sgd(ptr, lr, momentum, weight_decay))

    def adam(
        self,
        lr: float = 1e-3,
        betas: Tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled: bool = False,
    ) -> None:
        """Sets Adam (AdamW with ``decoupled=True``) as the tape's optimizer."""
        with self._calling() as ptr:
            self._check(_lib.optim_adam(ptr, lr, betas[0], betas[1], eps, weight_decay, int(decoupled)))

    def step(self) -> None:
        """One optimizer step from the gradients of the last backward sweep."""
        with self._calling() as ptr:
            self._check(_lib.optim_step(ptr))

    # ---- checkpointing ----

    def checkpoint(self, block: Any, *inputs: Any, outputs: int = 1) -> Any:
        """Records ``block(*inputs)`` as a checkpointed segment: only its ``outputs``
        results are kept, and backward records the block again (see
        :func:`libautodiff.checkpoint`)."""
        return run_segment(self, block, inputs, outputs)

    def _forget_blocks(self) -> None:
        if self._blocks:
            forget(self._blocks)
            self._blocks = []

    def __repr__(self) -> str:
        state = "closed" if self._ptr is None else f"{self.dtype}"
        return f"<libautodiff.Tape {state}>"
