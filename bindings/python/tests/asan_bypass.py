"""For `make python-asan`: what the views' guard prevents, done without it. The address
of a tensor's buffer is taken straight from the C API, the tape is reset, and the bytes
are read: a library built with the arena's free memory poisoned must report it (the
suite itself, run the same way, must not)."""

import ctypes

import numpy as np

import libautodiff as ad
from libautodiff import _lib

tape = ad.Tape(1 << 16)
x = tape.input(np.arange(6.0))
address, count = ctypes.c_void_p(), ctypes.c_size_t()
assert _lib.tensor_buffer(tape._ptr, x._h, _lib.AD_BUFFER_VALUE, ctypes.byref(address), ctypes.byref(count)) == 0
tape.reset()  # a raw address has no lease: nothing refuses this
print(ctypes.string_at(address.value, 8))
