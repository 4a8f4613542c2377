"""The exception hierarchy: one class per C status, each carrying the tape's message.

Every failure the C library reports (an ``ad_status``) is raised as a subclass of
:class:`AutodiffError` whose ``status`` is the C code and whose message is the one
``ad_tape_error`` gives (``"shape mismatch in matmul: [2, 3] and [4, 5]"``). Where a
built-in exception means the same thing, the class derives from it too, so
``except ValueError`` catches a shape mismatch. The package adds a few of its own:
:class:`TapeClosedError`, :class:`ViewsAliveError`, :class:`ConcurrentUseError` and
:class:`CallbackError`.
"""

from __future__ import annotations

from typing import Dict, Optional, Type


class AutodiffError(Exception):
    """A failure of libautodiff. ``status`` is the C ``ad_status`` code (0 when the
    failure is the Python layer's own), ``status_name`` its name."""

    status: int = 0
    status_name: str = ""

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status
            self.status_name = STATUS_NAMES.get(status, f"status {status}")


class NullArgumentError(AutodiffError):
    """A required pointer was NULL (a bug in this package if it ever reaches you)."""


class InvalidTapeError(AutodiffError):
    """The tape is not live: never started, or already ended."""


class TapeClosedError(InvalidTapeError):
    """The tape was closed: its handles, views aside, can no longer be used."""


class InternalError(AutodiffError):
    """The library caught an internal panic; reset the tape. Please report it."""


class OutOfMemoryError(AutodiffError, MemoryError):
    """The tape's memory is too small for what was asked; the message says how much."""


class TooManyVariablesError(OutOfMemoryError):
    """The tape reached the largest number of variables it can index."""


class StaleHandleError(AutodiffError):
    """A variable or tensor from before the tape's last reset, or from inside a
    checkpointed block that has ended."""


class ForeignHandleError(AutodiffError, ValueError):
    """A handle of another tape."""


class InvalidArgumentError(AutodiffError, ValueError):
    """An argument the call does not accept (a length, a label, an activation)."""


class ShapeError(AutodiffError, ValueError):
    """Two shapes an op cannot combine; the message names both."""


class SizeOverflowError(AutodiffError, OverflowError):
    """A size that overflows the address space."""


class ModifiedInPlaceError(AutodiffError):
    """A tensor or parameter was written after an op that needed its old value."""


class DtypeError(AutodiffError, TypeError):
    """The call needs a tape of another dtype."""


class NonFiniteError(AutodiffError, ArithmeticError):
    """A value a derivative needs is NaN or infinite."""


class DeviceError(AutodiffError):
    """A compute device is missing, failed, or cannot do what was asked."""


class MisalignedError(AutodiffError):
    """A buffer not aligned for its element type."""


class BufferTooSmallError(AutodiffError):
    """An output buffer too small for the result."""


class WrongHandleKindError(AutodiffError, TypeError):
    """A handle of one kind (a tensor) where another (a variable) was expected."""


class ReentrantError(AutodiffError):
    """A callback running on the tape called something it may not on that tape."""


class ViewsAliveError(AutodiffError, BufferError):
    """A reset refused because numpy views of the tape's tensors are still alive (the
    reset would reuse the memory they show). Drop them, or copy with ``np.array``."""


class ConcurrentUseError(AutodiffError, RuntimeError):
    """A tape used from two threads at once; a tape belongs to one thread at a time."""


class CallbackError(AutodiffError):
    """A Python callback (a checkpointed block) raised: the tape failed with it. The
    original exception is ``__cause__``."""


STATUS_NAMES: Dict[int, str] = {
    0: "AD_OK",
    1: "AD_ERR_NULL",
    2: "AD_ERR_INVALID_TAPE",
    3: "AD_ERR_PANIC",
    4: "AD_ERR_OUT_OF_MEMORY",
    5: "AD_ERR_TOO_MANY_VARIABLES",
    6: "AD_ERR_STALE_HANDLE",
    7: "AD_ERR_FOREIGN_HANDLE",
    8: "AD_ERR_INVALID_ARGUMENT",
    9: "AD_ERR_SHAPE_MISMATCH",
    10: "AD_ERR_SIZE_OVERFLOW",
    11: "AD_ERR_MODIFIED_IN_PLACE",
    12: "AD_ERR_DTYPE_MISMATCH",
    13: "AD_ERR_NON_FINITE",
    14: "AD_ERR_NO_DEVICE",
    15: "AD_ERR_BACKEND",
    16: "AD_ERR_MISALIGNED",
    17: "AD_ERR_OTHER",
    18: "AD_ERR_BUFFER_TOO_SMALL",
    19: "AD_ERR_DEVICE_MISMATCH",
    20: "AD_ERR_UNKNOWN_DEVICE",
    21: "AD_ERR_UNSUPPORTED_ON_DEVICE",
    22: "AD_ERR_WRONG_HANDLE_KIND",
    23: "AD_ERR_REENTRANT",
}

STATUS_CLASSES: Dict[int, Type[AutodiffError]] = {
    1: NullArgumentError,
    2: InvalidTapeError,
    3: InternalError,
    4: OutOfMemoryError,
    5: TooManyVariablesError,
    6: StaleHandleError,
    7: ForeignHandleError,
    8: InvalidArgumentError,
    9: ShapeError,
    10: SizeOverflowError,
    11: ModifiedInPlaceError,
    12: DtypeError,
    13: NonFiniteError,
    14: DeviceError,
    15: DeviceError,
    16: MisalignedError,
    17: AutodiffError,
    18: BufferTooSmallError,
    19: DeviceError,
    20: DeviceError,
    21: DeviceError,
    22: WrongHandleKindError,
    23: ReentrantError,
}


def error_for(status: int, message: str) -> AutodiffError:
    """The exception for C status ``status`` with ``message`` (a status this package
    does not know yet, from a newer library, is a plain :class:`AutodiffError`)."""
    cls = STATUS_CLASSES.get(status, AutodiffError)
    return cls(f"{message} [{STATUS_NAMES.get(status, status)}]", status)
