#!/usr/bin/env python3
"""Writes table.rs: 2^(j/128) for j = 0..127, each as the nearest f64 and the f64 nearest
what that leaves over, from 60-digit decimal arithmetic.

Usage: python3 core/src/exp_f64/make_table.py > core/src/exp_f64/table.rs
"""
import struct
from decimal import Decimal, getcontext

getcontext().prec = 60
N = 128


def bits(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


print("//! 2^(j/128), j = 0..127: `[nearest f64, nearest f64 to the rest]`, as bits.")
print("//! Written by `make_table.py` (60-digit decimal arithmetic); checked by the tests")
print("//! of `exp_f64`.")
print()
print("pub(super) static POWERS: [[u64; 2]; 128] = [")
for j in range(N):
    exact = Decimal(2) ** (Decimal(j) / Decimal(N))
    high = float(exact)
    low = float(exact - Decimal(high))
    print(f"    [{bits(high):#018x}, {bits(low):#018x}],")
print("];")
