// autodiff/elem.hpp: the C calls of each tensor element type, found by type
// (detail::elem<float>, detail::elem<double>).
// Part of the C++ wrapper; include "autodiff.hpp" for all of it (bindings/cpp/README.md).
#pragma once
#ifndef AUTODIFF_ELEM_HPP
#define AUTODIFF_ELEM_HPP

#include "autodiff.h"

namespace autodiff {

namespace detail {
// The C entry points of element type T (float on AD_F32 tapes, double on AD_F64), so
// that templated members name one call for both. The C functions come in _f32/_f64
// pairs with the same parameters, so one macro writes both specializations.
template <class T> struct elem;
#define AUTODIFF_HPP_ELEM(T, suffix)                                                      \
    template <> struct elem<T> {                                                          \
        static constexpr auto input = &ad_tensor_input_##suffix;                          \
        static constexpr auto constant = &ad_tensor_const_##suffix;                       \
        static constexpr auto value = &ad_tensor_value_##suffix;                          \
        static constexpr auto grad = &ad_tensor_grad_##suffix;                            \
        static constexpr auto tangent = &ad_tensor_tangent_##suffix;                      \
        static constexpr auto set_value = &ad_tensor_set_value_##suffix;                  \
        static constexpr auto seed_tangent = &ad_tensor_seed_tangent_##suffix;            \
        static constexpr auto param_new = &ad_param_new_##suffix;                         \
        static constexpr auto param_read = &ad_param_read_##suffix;                       \
        static constexpr auto param_grad = &ad_param_grad_##suffix;                       \
        static constexpr auto param_write = &ad_param_write_##suffix;                     \
        static constexpr auto user_op = &ad_tensor_user_op_##suffix;                      \
        using user_tensor = ad_user_tensor_##suffix;                                      \
        using user_op_def = ad_tensor_user_op_def_##suffix;                               \
    };
AUTODIFF_HPP_ELEM(float, f32)
AUTODIFF_HPP_ELEM(double, f64)
#undef AUTODIFF_HPP_ELEM
} // namespace detail

} // namespace autodiff

#endif // AUTODIFF_ELEM_HPP
