// Data-parallel training from C++: parameter groups (one contiguous gradient buffer to
// reduce across processes between Tape::backward and Tape::step), bulk reads and writes
// of values and gradients, backward with a notification per finished group, and the
// optimizer's saved state for checkpoints. Included by autodiff.hpp; including it
// directly works too.
#ifndef AUTODIFF_PARAMS_HPP
#define AUTODIFF_PARAMS_HPP

#include "../autodiff.hpp"

#include <exception>

namespace autodiff {

namespace detail {
template <class T> struct group_elem;
template <> struct group_elem<float> {
    static ad_status grads(ad_tape *t, ad_param_group g, float **d, size_t *n) {
        return ad_param_group_grads_f32(t, g, d, n);
    }
    static ad_status read_grads(const ad_tape *t, ad_param_group g, float *o, size_t n) {
        return ad_param_group_read_grads_f32(t, g, o, n);
    }
    static ad_status write_grads(ad_tape *t, ad_param_group g, const float *d, size_t n) {
        return ad_param_group_write_grads_f32(t, g, d, n);
    }
    static ad_status read_values(const ad_tape *t, ad_param_group g, float *o, size_t n) {
        return ad_param_group_read_values_f32(t, g, o, n);
    }
    static ad_status write_values(ad_tape *t, ad_param_group g, const float *d, size_t n) {
        return ad_param_group_write_values_f32(t, g, d, n);
    }
};
template <> struct group_elem<double> {
    static ad_status grads(ad_tape *t, ad_param_group g, double **d, size_t *n) {
        return ad_param_group_grads_f64(t, g, d, n);
    }
    static ad_status read_grads(const ad_tape *t, ad_param_group g, double *o, size_t n) {
        return ad_param_group_read_grads_f64(t, g, o, n);
    }
    static ad_status write_grads(ad_tape *t, ad_param_group g, const double *d, size_t n) {
        return ad_param_group_write_grads_f64(t, g, d, n);
    }
    static ad_status read_values(const ad_tape *t, ad_param_group g, double *o, size_t n) {
        return ad_param_group_read_values_f64(t, g, o, n);
    }
    static ad_status write_values(ad_tape *t, ad_param_group g, const double *d, size_t n) {
        return ad_param_group_write_values_f64(t, g, d, n);
    }
};
} // namespace detail

// Parameters whose gradients share one contiguous buffer, on a tape of T (float on
// AD_F32, double on AD_F64). Like Param, it stays valid across Tape::reset().
template <class T> class ParamGroup {
public:
    ParamGroup(ad_tape *tape, ad_param_group g) noexcept : tape_(tape), g_(g) {}
    ad_param_group raw() const noexcept { return g_; }

    // Elements of the gradient buffer (and of the values, laid end to end).
    size_t size() const {
        size_t n = 0;
        detail::check(ad_param_group_len(tape_, g_, &n), tape_, "ad_param_group_len");
        return n;
    }
    // The gradient buffer, up to date after Tape::backward: reduce it in place (for
    // example MPI_Allreduce(MPI_IN_PLACE, ...)), and Tape::step() uses what it holds.
    // The address is the same for the tape's life; size() elements.
    T *grad_data() {
        T *data = nullptr;
        size_t n = 0;
        detail::check(detail::group_elem<T>::grads(tape_, g_, &data, &n), tape_,
                      "ad_param_group_grads");
        return data;
    }
    // Copies for hosts that keep their own buffers.
    std::vector<T> grads() const {
        std::vector<T> out(size());
        detail::check(detail::group_elem<T>::read_grads(tape_, g_, out.data(), out.size()), tape_,
                      "ad_param_group_read_grads");
        return out;
    }
    void write_grads(const std::vector<T> &data) {
        detail::check(detail::group_elem<T>::write_grads(tape_, g_, data.data(), data.size()),
                      tape_, "ad_param_group_write_grads");
    }
    std::vector<T> values() const {
        std::vector<T> out(size());
        detail::check(detail::group_elem<T>::read_values(tape_, g_, out.data(), out.size()),
                      tape_, "ad_param_group_read_values");
        return out;
    }
    // Overwrites the parameters' values (rank 0's, broadcast; or a checkpoint's).
    void write_values(const std::vector<T> &data) {
        detail::check(detail::group_elem<T>::write_values(tape_, g_, data.data(), data.size()),
                      tape_, "ad_param_group_write_values");
    }

private:
    ad_tape *tape_;
    ad_param_group g_;
};

// A group of `params`, in that order (make groups before recording).
template <class T> ParamGroup<T> group(Tape &tape, const std::vector<Param> &params) {
    std::vector<ad_param> raw;
    raw.reserve(params.size());
    for (const Param &p : params) raw.push_back(p.raw());
    ad_param_group g{0, 0, 0};
    detail::check(ad_param_group_new(tape.get(), raw.data(), raw.size(), &g), tape.get(),
                  "ad_param_group_new");
    return ParamGroup<T>(tape.get(), g);
}

// A group of every parameter of the tape, in creation order.
template <class T> ParamGroup<T> group_all(Tape &tape) {
    ad_param_group g{0, 0, 0};
    detail::check(ad_param_group_all(tape.get(), &g), tape.get(), "ad_param_group_all");
    return ParamGroup<T>(tape.get(), g);
}

// The optimizer's whole state (Adam's moments and step count included), to checkpoint.
inline std::vector<unsigned char> save_optimizer_state(const Tape &tape) {
    size_t n = 0;
    detail::check(ad_optim_state_bytes(tape.get(), &n), tape.get(), "ad_optim_state_bytes");
    std::vector<unsigned char> out(n);
    detail::check(ad_optim_state_save(tape.get(), out.data(), out.size(), &n), tape.get(),
                  "ad_optim_state_save");
    return out;
}

// Restores what save_optimizer_state wrote (throws Error with AD_ERR_STATE_MISMATCH when
// it does not fit this tape).
inline void load_optimizer_state(Tape &tape, const std::vector<unsigned char> &state) {
    detail::check(ad_optim_state_load(tape.get(), state.data(), state.size()), tape.get(),
                  "ad_optim_state_load");
}

// Backward from `output`, calling `ready(ad_param_group)` for each group as soon as its
// gradient is complete (the last layers first). An exception `ready` throws stops
// nothing inside the sweep; the first one is rethrown when the backward returns.
template <class F> void backward_notify(Tape &tape, const Var &output, F &&ready) {
    struct Context {
        F *ready;
        std::exception_ptr error;
    } context{&ready, nullptr};
    auto trampoline = [](ad_tape *, ad_param_group g, void *user_data) {
        Context *c = static_cast<Context *>(user_data);
        if (c->error) return;
        try {
            (*c->ready)(g);
        } catch (...) {
            c->error = std::current_exception();
        }
    };
    ad_status s = ad_backward_notify(tape.get(), output.raw(), trampoline, &context);
    if (context.error) std::rethrow_exception(context.error);
    detail::check(s, tape.get(), "ad_backward_notify");
}

} // namespace autodiff

#endif // AUTODIFF_PARAMS_HPP
