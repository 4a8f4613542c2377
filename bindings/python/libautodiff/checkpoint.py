"""Checkpointed segments whose block is a Python callable.

``ad_checkpoint`` calls the block once while recording and again whenever a sweep
reaches the segment. One C trampoline serves every block: its ``user_data`` is a key
into ``_BLOCKS``, which holds the tape and the callable for as long as the tape may
sweep the segment (until the tape's next reset or its end).

A block that raises never unwinds through C: the trampoline catches every exception
(``BaseException``, so ``KeyboardInterrupt`` too), keeps it on the tape, and returns a
failure status; the C call then fails the tape, and the Python call that started it
raises :class:`~libautodiff.CallbackError` with the block's exception as its cause.

User-defined ops (C callbacks for an op's forward and backward rules) will take the
same route when the C API offers them: a trampoline, a key in ``user_data``, the
exception kept on the tape.
"""

from __future__ import annotations

import itertools
import weakref
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Sequence, Tuple

from . import _lib
from .errors import InvalidArgumentError
from .tensor import Tensor
from .var import Var

if TYPE_CHECKING:  # pragma: no cover
    from .tape import Tape

# The tape by weak reference: a tape dropped without a close must still be collectable
# (its __del__ forgets its blocks). While a C call runs a block, its caller holds the tape.
_BLOCKS: Dict[int, Tuple["weakref.ref[Tape]", Callable[..., Any], bool]] = {}
_KEYS = itertools.count(1)


def _as_sequence(result: Any, n_out: int) -> Sequence[Any]:
    if n_out == 1 and not isinstance(result, (tuple, list)):
        return (result,)
    if not isinstance(result, (tuple, list)) or len(result) != n_out:
        raise TypeError(f"the block must return {n_out} result(s), got {result!r}")
    return result


def _run_block(tape: "Tape", key: int, inputs: Any, n_in: int, outputs: Any, n_out: int) -> int:
    _, block, tensors = _BLOCKS[key]
    # While the block runs, its tensors live in memory the tape takes back when the
    # block ends: no view of them may be made (see Tensor._view).
    tape._callback_depth += 1
    try:
        return _record_block(tape, block, tensors, inputs, n_in, outputs, n_out)
    finally:
        tape._callback_depth -= 1


def _record_block(tape: "Tape", block: Callable[..., Any], tensors: bool, inputs: Any, n_in: int, outputs: Any, n_out: int) -> int:
    args: List[Any]
    if tensors:
        args = [Tensor._wrap(tape, _lib.Handle.from_buffer_copy(inputs[i])) for i in range(n_in)]
    else:
        args = [tape._wrap(_lib.Handle.from_buffer_copy(inputs[i])) for i in range(n_in)]
    results = _as_sequence(block(*args), n_out)
    kind = Tensor if tensors else Var
    for i, r in enumerate(results):
        if not isinstance(r, kind) or r._tape is not tape:
            raise TypeError(f"block result {i} is {r!r}, not a {kind.__name__} of the block's tape")
        outputs[i] = r._h
    return _lib.AD_OK


@_lib.SEGMENT_FN
def _trampoline(tape_ptr: int, inputs: Any, n_in: int, outputs: Any, n_out: int, user_data: int) -> int:
    entry = _BLOCKS.get(user_data or 0)
    tape = entry[0]() if entry is not None else None
    if tape is None:  # pragma: no cover - the tape forgot the block: cannot happen
        return _lib.AD_ERR_INVALID_ARGUMENT
    try:
        return _run_block(tape, user_data, inputs, n_in, outputs, n_out)
    except BaseException as error:  # noqa: B902 - nothing may unwind into C
        if tape._callback_error is None:
            tape._callback_error = error
        return _lib.AD_ERR_INVALID_ARGUMENT


def forget(keys: List[int]) -> None:
    """Drops the blocks of a tape that was reset or ended."""
    for key in keys:
        _BLOCKS.pop(key, None)


def run_segment(tape: "Tape", block: Callable[..., Any], inputs: Sequence[Any], n_out: int) -> Any:
    if n_out < 1:
        raise InvalidArgumentError("a checkpointed block has at least one output")
    tensors = bool(inputs) and isinstance(inputs[0], Tensor)
    kind = Tensor if tensors else Var
    for x in inputs:
        if not isinstance(x, kind):
            raise TypeError(f"checkpoint inputs are all Vars or all Tensors, got {type(x).__name__}")
    handles_in = (_lib.Handle * max(len(inputs), 1))(*(x._h for x in inputs))
    handles_out = (_lib.Handle * n_out)()
    key = next(_KEYS)
    fn = _lib.checkpoint_tensors if tensors else _lib.checkpoint
    with tape._calling() as ptr:
        _BLOCKS[key] = (weakref.ref(tape), block, tensors)
        tape._blocks.append(key)
        status = fn(ptr, _trampoline, key, handles_in, len(inputs), handles_out, n_out)
        tape._check(status)
    wrap = (lambda h: Tensor._wrap(tape, h)) if tensors else tape._wrap
    results = [wrap(_lib.Handle.from_buffer_copy(handles_out[i])) for i in range(n_out)]
    return results[0] if n_out == 1 else tuple(results)


def checkpoint(block: Callable[..., Any], *inputs: Any, outputs: int = 1) -> Any:
    """Records ``block(*inputs)`` as a checkpointed segment and returns its results
    (one, or a tuple of ``outputs``). Only the results are kept; every backward (and
    jvp, replay, Jacobian) that reaches the segment calls ``block`` again, so it must
    record the same ops from the same values each time, and must not keep the
    variables it gets. ``inputs`` are all :class:`~libautodiff.Var` or all
    :class:`~libautodiff.Tensor` of one tape. An exception in ``block`` fails the tape
    and is raised as :class:`~libautodiff.CallbackError` from the call that ran it."""
    if not inputs:
        raise InvalidArgumentError("checkpoint needs at least one input, to know its tape")
    return run_segment(inputs[0]._tape, block, inputs, outputs)


