// autodiff/tape.hpp: tapes (RAII over ad_tape) and compute devices.
// Part of the C++ wrapper; include "autodiff.hpp" for all of it (bindings/cpp/README.md).
#pragma once
#ifndef AUTODIFF_TAPE_HPP
#define AUTODIFF_TAPE_HPP

#include <cstdlib>
#include <new>
#include <utility>
#include <vector>
#include "elem.hpp"
#include "error.hpp"
#include "tensor.hpp"
#include "var.hpp"

namespace autodiff {

// ---- tapes ----

namespace detail {
// The growth callbacks of Tape::growing(): the system allocator, the wanted size first.
inline void *malloc_grow(void *, size_t min_bytes, size_t wanted_bytes, size_t *got_bytes) {
    void *block = std::malloc(wanted_bytes);
    size_t bytes = wanted_bytes;
    if (!block) {
        block = std::malloc(min_bytes);
        bytes = min_bytes;
    }
    if (block) *got_bytes = bytes;
    return block;
}
inline void malloc_release(void *, void *block, size_t) { std::free(block); }
} // namespace detail

struct HvpResult {
    std::vector<double> grad;
    std::vector<double> hv;
};

// An ad_tape, ended (ad_tape_done) or freed (ad_tape_free) by the destructor. Move-only;
// moving keeps the C tape where it is, so Vars and Tensors stay valid across a move.
// A compute device tensors can live on (ad_device): a GPU, or the reference CPU device
// over caller memory. Declare it before the tapes that attach it: it cannot be closed
// while a live tape holds it (the destructor then leaves it open rather than fail).
class Device {
public:
    // GPU `ordinal` with a device arena of `arena_bytes`; throws Error (AD_ERR_NO_DEVICE
    // without a GPU or the `cuda` build).
    static Device cuda(size_t ordinal, size_t arena_bytes) {
        Device d;
        detail::check(ad_device_open_cuda(ordinal, arena_bytes, &d.d_), nullptr,
                      "ad_device_open_cuda");
        return d;
    }
    // The reference CPU device over `len` bytes at `mem` (aligned for `dtype`).
    static Device cpu(void *mem, size_t len, ad_dtype dtype) {
        Device d;
        detail::check(ad_device_open_cpu(mem, len, dtype, &d.d_), nullptr, "ad_device_open_cpu");
        return d;
    }
    Device(const Device &) = delete;
    Device &operator=(const Device &) = delete;
    Device(Device &&o) noexcept : d_(o.d_) { o.d_ = nullptr; }
    ~Device() {
        if (d_) (void)ad_device_close(d_);
    }
    ad_device *get() const noexcept { return d_; }

private:
    Device() noexcept : d_(nullptr) {}
    ad_device *d_;
};

class Tape {
public:
    // A tape in caller memory (ad_tape_init); throws Error when the C call fails.
    Tape(void *mem, size_t len, ad_dtype dtype = AD_F64) : Tape(mem, len, dtype, std::nothrow) {
        detail::check(init_, nullptr, "ad_tape_init");
    }
    // The same without throwing: check status() (the init failure) or valid().
    Tape(void *mem, size_t len, ad_dtype dtype, const std::nothrow_t &) noexcept
        : t_(nullptr), heap_(false), init_(AD_OK) {
        init_ = ad_tape_init(mem, len, dtype, &t_);
        if (init_ != AD_OK) t_ = nullptr;
    }
    // A tape owning `bytes` of heap (ad_tape_new); throws Error when the C call fails.
    static Tape heap(size_t bytes, ad_dtype dtype = AD_F64) {
        Tape t = heap(bytes, dtype, std::nothrow);
        detail::check(t.init_, nullptr, "ad_tape_new");
        return t;
    }
    static Tape heap(size_t bytes, ad_dtype dtype, const std::nothrow_t &) noexcept {
        Tape t;
        t.heap_ = true;
        t.init_ = ad_tape_new(bytes, dtype, &t.t_);
        if (t.init_ != AD_OK) t.t_ = nullptr;
        return t;
    }
    // A heap tape of `bytes` whose records grow with malloc once they fill it
    // (ad_tape_set_growth): for code that cannot size its recording up front. Tensors,
    // parameters and scratch stay within `bytes`. Throws Error when a C call fails.
    static Tape growing(size_t bytes, ad_dtype dtype = AD_F64) {
        Tape t = heap(bytes, dtype);
        detail::check(ad_tape_set_growth(t.t_, detail::malloc_grow, detail::malloc_release, nullptr),
                      t.t_, "ad_tape_set_growth");
        return t;
    }
    // Bytes of memory that hold `records` variables (ad_tape_bytes_for).
    static size_t bytes_for(size_t records, ad_dtype dtype = AD_F64) {
        size_t out = 0;
        detail::check(ad_tape_bytes_for(records, dtype, &out), nullptr, "ad_tape_bytes_for");
        return out;
    }

    Tape(const Tape &) = delete;
    Tape &operator=(const Tape &) = delete;
    Tape(Tape &&o) noexcept : t_(o.t_), heap_(o.heap_), init_(o.init_) { o.t_ = nullptr; }
    Tape &operator=(Tape &&o) noexcept {
        if (this != &o) {
            release();
            t_ = o.t_;
            heap_ = o.heap_;
            init_ = o.init_;
            o.t_ = nullptr;
        }
        return *this;
    }
    ~Tape() { release(); }

    ad_tape *get() const noexcept { return t_; }
    bool valid() const noexcept { return t_ != nullptr; }
    explicit operator bool() const noexcept { return valid(); }

    // The sticky error (AD_OK while every op succeeded); a failed construction's status
    // when there is no tape.
    ad_status status() const noexcept {
        if (!t_ && init_ != AD_OK) return init_;
        return ad_tape_status(t_);
    }
    // The tape's message (ad_tape_error), copied.
    std::string error() const {
        if (!t_ && init_ != AD_OK) return ad_status_str(init_);
        return ad_tape_error(t_);
    }
    // Clears every variable and the error, keeping the memory and the parameters.
    void reset() { detail::check(try_reset(), t_, "ad_tape_reset"); }
    ad_status try_reset() noexcept { return ad_tape_reset(t_); }

    size_t len() const {
        size_t n = 0;
        detail::check(ad_tape_len(t_, &n), t_, "ad_tape_len");
        return n;
    }
    size_t num_inputs() const {
        size_t n = 0;
        detail::check(ad_tape_num_inputs(t_, &n), t_, "ad_tape_num_inputs");
        return n;
    }
    size_t bytes_used() const {
        size_t n = 0;
        detail::check(ad_tape_bytes_used(t_, &n), t_, "ad_tape_bytes_used");
        return n;
    }

    // Recording (sticky, never throws).
    Var input(double value) noexcept { return Var::with_value(t_, ad_input(t_, value), value); }
    Var constant(double value) noexcept { return Var::with_value(t_, ad_const(t_, value), value); }
    template <class T>
    Tensor input(const std::vector<size_t> &dims, const std::vector<T> &data) noexcept {
        return Tensor(t_, detail::elem<T>::input(t_, dims.data(), dims.size(), data.data(),
                                                 data.size()));
    }
    template <class T>
    Tensor constant(const std::vector<size_t> &dims, const std::vector<T> &data) noexcept {
        return Tensor(t_, detail::elem<T>::constant(t_, dims.data(), dims.size(), data.data(),
                                                    data.size()));
    }

    // Derivatives: each throws Error on failure; try_* return the status instead. The
    // pointer-and-length forms (and the std::span ones under C++20) write into the
    // caller's buffers and allocate nothing; the std::vector forms are conveniences.
    ad_status try_backward(const Var &output) noexcept { return ad_backward(t_, output.raw()); }
    void backward(const Var &output) { detail::check(try_backward(output), t_, "ad_backward"); }
    void backward(const Tensor &loss) { backward(loss.as_var()); }

    // d output / d input_k for every input, in recording order, into out[0..n) (n must be
    // num_inputs()). A passive output depends on no input: its gradient is zero.
    ad_status try_gradient(const Var &output, double *out, size_t n) noexcept {
        if (output.is_passive()) return zero_gradient(out, n);
        return ad_gradient(t_, output.raw(), out, n);
    }
    void gradient(const Var &output, double *out, size_t n) {
        if (output.is_passive() && n != num_inputs())
            throw Error(AD_ERR_INVALID_ARGUMENT, "ad_gradient", "n is not the number of inputs");
        detail::check(try_gradient(output, out, n), t_, "ad_gradient");
    }
    ad_status try_gradient(const Var &output, std::vector<double> &out) noexcept {
        size_t n = 0;
        ad_status s = ad_tape_num_inputs(t_, &n);
        if (s != AD_OK) return s;
        if (out.size() != n) {
            try {
                out.resize(n);
            } catch (...) {
                return AD_ERR_OUT_OF_MEMORY;
            }
        }
        return try_gradient(output, out.data(), n);
    }
    std::vector<double> gradient(const Var &output) {
        std::vector<double> out;
        detail::check(try_gradient(output, out), t_, "ad_gradient");
        return out;
    }

    // Forward mode: seeds[k] is the tangent of input k; read Var::tangent() after.
    ad_status try_jvp(const double *seeds, size_t n) noexcept { return ad_jvp(t_, seeds, n); }
    void jvp(const double *seeds, size_t n) { detail::check(try_jvp(seeds, n), t_, "ad_jvp"); }
    ad_status try_jvp(const std::vector<double> &seeds) noexcept {
        return try_jvp(seeds.data(), seeds.size());
    }
    void jvp(const std::vector<double> &seeds) { jvp(seeds.data(), seeds.size()); }

    // Re-evaluates the recording at new inputs; read Var::value() after (Var::primal()
    // keeps the recorded value).
    ad_status try_replay(const double *inputs, size_t n) noexcept {
        return ad_replay(t_, inputs, n);
    }
    void replay(const double *inputs, size_t n) {
        detail::check(try_replay(inputs, n), t_, "ad_replay");
    }
    ad_status try_replay(const std::vector<double> &inputs) noexcept {
        return try_replay(inputs.data(), inputs.size());
    }
    void replay(const std::vector<double> &inputs) { replay(inputs.data(), inputs.size()); }

    // The m × n Jacobian of outputs, row-major into out[0..len) (len must be m × n);
    // reverse (by rows) or forward (by columns). The ad_var form is one C call. The Var
    // form passes the handles in blocks of detail::jacobian_block (a stack array, no
    // allocation): the same sweeps in reverse mode, but in forward mode n sweeps per
    // block, so for many outputs forward, pass raw handles. A passive output's row is
    // zero. On failure rows before the failing block may already be written.
    ad_status try_jacobian(const ad_var *outputs, size_t m, double *out, size_t len,
                           bool forward = false) noexcept {
        return forward ? ad_jacobian_fwd(t_, outputs, m, out, len)
                       : ad_jacobian(t_, outputs, m, out, len);
    }
    ad_status try_jacobian(const Var *outputs, size_t m, double *out, size_t len,
                           bool forward = false) noexcept;
    void jacobian(const ad_var *outputs, size_t m, double *out, size_t len, bool forward = false) {
        detail::check(try_jacobian(outputs, m, out, len, forward), t_,
                      forward ? "ad_jacobian_fwd" : "ad_jacobian");
    }
    void jacobian(const Var *outputs, size_t m, double *out, size_t len, bool forward = false) {
        size_t n = num_inputs();
        if ((n != 0 && m > len / n) || len != m * n)
            throw Error(AD_ERR_INVALID_ARGUMENT, forward ? "ad_jacobian_fwd" : "ad_jacobian",
                        "len is not outputs × inputs");
        detail::check(try_jacobian(outputs, m, out, len, forward), t_,
                      forward ? "ad_jacobian_fwd" : "ad_jacobian");
    }
    std::vector<double> jacobian(const std::vector<Var> &outputs, bool forward = false) {
        std::vector<double> out(outputs.size() * num_inputs());
        jacobian(outputs.data(), outputs.size(), out.data(), out.size(), forward);
        return out;
    }

    // Gradient and Hessian-vector product at x along v (AD_F64_DUAL tapes), into
    // grad[0..n) and hv[0..n).
    ad_status try_hvp(const Var &output, const double *x, const double *v, double *grad,
                      double *hv, size_t n) noexcept {
        return ad_hvp(t_, output.raw(), x, v, grad, hv, n);
    }
    void hvp(const Var &output, const double *x, const double *v, double *grad, double *hv,
             size_t n) {
        detail::check(try_hvp(output, x, v, grad, hv, n), t_, "ad_hvp");
    }
    HvpResult hvp(const Var &output, const std::vector<double> &x, const std::vector<double> &v) {
        HvpResult r{std::vector<double>(x.size()), std::vector<double>(x.size())};
        if (v.size() != x.size())
            throw Error(AD_ERR_INVALID_ARGUMENT, "ad_hvp", "x and v differ in length");
        hvp(output, x.data(), v.data(), r.grad.data(), r.hv.data(), x.size());
        return r;
    }

#ifdef AUTODIFF_HPP_SPAN
    void gradient(const Var &output, std::span<double> out) {
        gradient(output, out.data(), out.size());
    }
    void jvp(std::span<const double> seeds) { jvp(seeds.data(), seeds.size()); }
    void replay(std::span<const double> inputs) { replay(inputs.data(), inputs.size()); }
    void jacobian(std::span<const Var> outputs, std::span<double> out, bool forward = false) {
        jacobian(outputs.data(), outputs.size(), out.data(), out.size(), forward);
    }
    void hvp(const Var &output, std::span<const double> x, std::span<const double> v,
             std::span<double> grad, std::span<double> hv) {
        if (v.size() != x.size() || grad.size() != x.size() || hv.size() != x.size())
            throw Error(AD_ERR_INVALID_ARGUMENT, "ad_hvp", "x, v, grad and hv differ in length");
        hvp(output, x.data(), v.data(), grad.data(), hv.data(), x.size());
    }
#endif

    // The recorded graph in Graphviz DOT.
    std::string dot() const {
        size_t len = 0;
        ad_status s = ad_tape_dot(t_, nullptr, 0, &len);
        if (s != AD_OK && s != AD_ERR_BUFFER_TOO_SMALL) detail::check(s, t_, "ad_tape_dot");
        std::vector<char> buf(len + 1);
        detail::check(ad_tape_dot(t_, buf.data(), buf.size(), &len), t_, "ad_tape_dot");
        return std::string(buf.data(), len);
    }

    // Parameters and optimizers (create parameters right after construction or reset).
    template <class T> Param param(const std::vector<size_t> &dims, const std::vector<T> &init) {
        ad_param p{0, 0, 0};
        detail::check(detail::elem<T>::param_new(t_, dims.data(), dims.size(), init.data(),
                                                 init.size(), &p),
                      t_, "ad_param_new");
        return Param(t_, p, dims);
    }
    size_t param_count() const {
        size_t n = 0;
        detail::check(ad_param_count(t_, &n), t_, "ad_param_count");
        return n;
    }
    void sgd(double lr, double momentum = 0.0, double weight_decay = 0.0) {
        detail::check(ad_optim_sgd(t_, lr, momentum, weight_decay), t_, "ad_optim_sgd");
    }
    void adam(double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
              double weight_decay = 0.0, bool decoupled = false) {
        detail::check(ad_optim_adam(t_, lr, beta1, beta2, eps, weight_decay, decoupled ? 1 : 0),
                      t_, "ad_optim_adam");
    }
    void step() { detail::check(ad_optim_step(t_), t_, "ad_optim_step"); }

    // Devices: attach one (right after construction or a reset) and get its number on
    // this tape; make it where new inputs, constants and parameters go (0: the host).
    int attach(const Device &device) {
        int id = -1;
        detail::check(ad_tape_attach_device(t_, device.get(), &id), t_, "ad_tape_attach_device");
        return id;
    }
    void use_device(int id) { detail::check(ad_tape_set_device(t_, id), t_, "ad_tape_set_device"); }

private:
    Tape() noexcept : t_(nullptr), heap_(false), init_(AD_OK) {}
    // The gradient of a passive output: zero, once n is checked as ad_gradient checks it.
    ad_status zero_gradient(double *out, size_t n) noexcept {
        size_t inputs = 0;
        ad_status s = ad_tape_num_inputs(t_, &inputs);
        if (s != AD_OK) return s;
        if (n != inputs) return AD_ERR_INVALID_ARGUMENT;
        if (n != 0 && out == nullptr) return AD_ERR_NULL;
        for (size_t k = 0; k < n; k++) out[k] = 0.0;
        return AD_OK;
    }
    void release() noexcept {
        if (!t_) return;
        if (heap_)
            ad_tape_free(t_);
        else
            (void)ad_tape_done(t_);
        t_ = nullptr;
    }

    ad_tape *t_;
    bool heap_;
    ad_status init_;
};

namespace detail {
// How many handles the Var form of Tape::jacobian passes per C call.
constexpr size_t jacobian_block = 32;
} // namespace detail

inline ad_status Tape::try_jacobian(const Var *outputs, size_t m, double *out, size_t len,
                                    bool forward) noexcept {
    size_t n = 0;
    ad_status s = ad_tape_num_inputs(t_, &n);
    if (s != AD_OK) return s;
    if (m != 0 && (outputs == nullptr || out == nullptr)) return AD_ERR_NULL;
    if (n != 0 && m > len / n) return AD_ERR_INVALID_ARGUMENT;
    if (len != m * n) return AD_ERR_INVALID_ARGUMENT;
    ad_var block[detail::jacobian_block];
    size_t row = 0;
    while (row < m) {
        if (outputs[row].is_passive()) {
            for (size_t k = 0; k < n; k++) out[row * n + k] = 0.0;
            row++;
            continue;
        }
        size_t count = 0;
        while (row + count < m && count < detail::jacobian_block && !outputs[row + count].is_passive()) {
            block[count] = outputs[row + count].raw();
            count++;
        }
        s = try_jacobian(block, count, out + row * n, count * n, forward);
        if (s != AD_OK) return s;
        row += count;
    }
    return AD_OK;
}

} // namespace autodiff

#endif // AUTODIFF_TAPE_HPP
