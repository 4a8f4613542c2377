#!/usr/bin/env python3
"""Writes table.rs for ln_f64: for each of the 128 intervals the reduced argument z falls
in, a reciprocal 1/c of at most 24 significant bits near the interval's middle, and
ln(c) = -ln(1/c) as a multiple of 2^-42 plus the nearest f64 to the rest; and ln 2 split
the same way, from 60-digit decimal arithmetic. With both high parts multiples of 2^-42,
k * ln2_high + ln(c)_high is exact for every |k| < 2^11.

Usage: python3 core/src/ln_f64/make_table.py > core/src/ln_f64/table.rs
"""
import math
import struct
from decimal import Decimal, getcontext

getcontext().prec = 60
TABLE_BITS = 7
# The bits of the smallest reduced argument z, 0.708984375 (mod.rs: OFFSET). Its low 45
# bits are zero and 1.0 lies in the middle of interval 74, so that interval's c is 1.
OFFSET = 0x3FE6_B000_0000_0000
STEP = 1 << (52 - TABLE_BITS)
ONE = 0x3FF0_0000_0000_0000


def bits(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def from_bits(b):
    return struct.unpack("<d", struct.pack("<Q", b))[0]


def round_to_bits(x, significant):
    """x rounded to `significant` bits of significand."""
    mantissa, exponent = math.frexp(x)
    return math.ldexp(round(mantissa * 2**significant), exponent - significant)


def split(exact):
    """exact as a multiple of 2^-42 (nearest) and the nearest f64 to the rest."""
    high = float(round(exact * 2**42)) / 2**42
    return high, float(exact - Decimal(high))


print("//! The tables of `ln_f64`, as bits. Written by `make_table.py` (60-digit decimal")
print("//! arithmetic); checked by the tests of `ln_f64`.")
print()
ln2 = Decimal(2).ln()
ln2_high, ln2_low = split(ln2)
print("/// ln 2 as a multiple of 2^-42, and the nearest f64 to the rest.")
print(f"pub(super) const LN2_HIGH: u64 = {bits(ln2_high):#018x};")
print(f"pub(super) const LN2_LOW: u64 = {bits(ln2_low):#018x};")
print()
print("/// Interval j: `[1/c, ln(c) to a multiple of 2^-42, nearest f64 to the rest]`.")
print("pub(super) static LOGS: [[u64; 3]; 128] = [")
for j in range(1 << TABLE_BITS):
    low, high = OFFSET + j * STEP, OFFSET + (j + 1) * STEP
    if low <= ONE < high:
        inverse = 1.0
    else:
        middle = (Decimal(from_bits(low)) + Decimal(from_bits(high))) / 2
        inverse = round_to_bits(float(1 / middle), 24)
    log_high, log_low = split(-Decimal(inverse).ln())
    print(f"    [{bits(inverse):#018x}, {bits(log_high):#018x}, {bits(log_low):#018x}],")
print("];")
