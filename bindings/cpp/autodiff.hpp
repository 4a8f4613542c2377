// autodiff.hpp: a header-only C++17 wrapper over the libautodiff C API (autodiff.h).
//
// Thin by design: every call forwards to the C functions. Tapes are RAII and move-only,
// variables and tensors are small value types (a tape pointer and a handle; a Var also
// its value, and a Var made from a number is passive: no tape), and the
// calls that return an ad_status in C throw autodiff::Error on failure here. Recording
// ops (arithmetic, sin, matmul, ...) stay sticky as in C: they never throw, a failure is
// kept as the tape's first error and shows up at the next backward/gradient/jvp/replay
// or through Tape::status(). Each throwing call has a noexcept try_* form returning the
// ad_status. The C library itself never throws or unwinds into C++.
// See bindings/cpp/README.md.
//
// The wrapper is split by concept under autodiff/; this header includes every part.
#pragma once
#ifndef AUTODIFF_HPP
#define AUTODIFF_HPP

#include "autodiff/error.hpp"
#include "autodiff/elem.hpp"
#include "autodiff/var.hpp"
#include "autodiff/math.hpp"
#include "autodiff/tensor.hpp"
#include "autodiff/tape.hpp"
#include "autodiff/scope.hpp"
#include "autodiff/bulk.hpp"
#include "autodiff/dual.hpp"
#include "autodiff/compare.hpp"
#include "autodiff/user_op.hpp"
#include "autodiff/tensor_user_op.hpp"
#include "autodiff/params.hpp"
#include "autodiff/sparse.hpp"

#endif // AUTODIFF_HPP
