//! Tensor user ops from C: `ad_tensor_user_op_f32()` / `_f64()` put C functions with
//! their own derivatives on a tape, over tensors. The core's `TensorUserOp` calls back
//! through `CTensorOp`, which lends the tape to the callback (so one that reaches the
//! tape through its user data cannot reset or end it) and turns a non-zero return into
//! `AD_ERR_CALLBACK_FAILED`. The callbacks receive the core's argument descriptors as
//! they are: `ad_user_tensor_f32`/`_f64` has their layout (asserted below).

use super::{ad_tensor, TensorElem};
use crate::error::{ad_status, Failure};
use crate::ptr;
use crate::tape::{ad_tape, call};
use crate::user_op::run_lent;
use autodiff_core::{
    Error, Shape, TensorArgs, TensorArgsMut, TensorUserOp, TensorUserOpPoint, UserTensor, MAX_RANK,
};
use core::ffi::{c_int, c_void};
use core::mem::{align_of, offset_of, size_of};

/// The C types of one dtype's tensor user ops, and how `CTensorOp` calls them.
macro_rules! tensor_user_op_types {
    ($elem:ty, $tensor:ident, $forward:ident, $vjp:ident, $jvp:ident, $def:ident) => {
        /// One tensor argument of a tensor user op's callback: `len` elements of the
        /// tape's type (`float` for the `_f32` form, `double` for `_f64`) at `data`, row-major,
        /// of shape `dims[0..rank)` (the other entries of `dims` are 1). Valid only during
        /// the call. The callback writes the `data` of the tensors it is given to write
        /// (outputs in `forward`, input gradients in `vjp`, output tangents in `jvp`: they
        /// arrive zeroed) and only reads the others.
        #[repr(C)]
        #[derive(Clone, Copy)]
        pub struct $tensor {
            /// The elements, row-major (never NULL, though a tensor may have 0 elements).
            pub data: *mut $elem,
            /// The number of elements: the product of the dimensions.
            pub len: usize,
            /// The number of dimensions, 0 to 4.
            pub rank: usize,
            /// The dimensions; those at and past `rank` are 1.
            pub dims: [usize; 4],
        }

        const _: () = {
            assert!(size_of::<$tensor>() == size_of::<UserTensor<$elem>>());
            assert!(align_of::<$tensor>() == align_of::<UserTensor<$elem>>());
            assert!(offset_of!($tensor, data) == offset_of!(UserTensor<$elem>, data));
            assert!(offset_of!($tensor, len) == offset_of!(UserTensor<$elem>, len));
            assert!(offset_of!($tensor, rank) == offset_of!(UserTensor<$elem>, rank));
            assert!(offset_of!($tensor, dims) == offset_of!(UserTensor<$elem>, dims));
        };

        /// Computes a tensor user op's outputs: writes `outputs[j].data` for every
        /// `j < n_out` from `inputs[0..n_in)`, and whatever the derivatives need into
        /// `state[0..state_len)` (zeroed when the op is recorded, kept between calls). Runs
        /// when the op is recorded and again at every `ad_replay()`. Returns 0 on success;
        /// any other value fails the call, and the tape keeps `AD_ERR_CALLBACK_FAILED` (its
        /// message quotes the value). An array whose length is 0 may be NULL.
        pub type $forward = Option<
            unsafe extern "C" fn(
                user_data: *mut c_void,
                inputs: *const $tensor,
                n_in: usize,
                outputs: *const $tensor,
                n_out: usize,
                state: *mut $elem,
                state_len: usize,
            ) -> c_int,
        >;

        /// A tensor user op's reverse-mode derivative: at the point (`inputs`, the
        /// `outputs` forward computed, its `state`), writes each input's gradient
        /// `sum over j of output_grads[j] * d outputs[j] / d inputs[k]` into
        /// `input_grads[k].data` (zeroed on entry; `n_in` of them, shaped as the inputs;
        /// `output_grads` has `n_out`, shaped as the outputs). Returns 0 on success, as the
        /// forward callback.
        pub type $vjp = Option<
            unsafe extern "C" fn(
                user_data: *mut c_void,
                inputs: *const $tensor,
                n_in: usize,
                outputs: *const $tensor,
                n_out: usize,
                state: *const $elem,
                state_len: usize,
                output_grads: *const $tensor,
                input_grads: *const $tensor,
            ) -> c_int,
        >;

        /// A tensor user op's forward-mode derivative: at the point, writes each output's
        /// tangent `sum over k of d outputs[j] / d inputs[k] * input_tangents[k]` into
        /// `output_tangents[j].data` (zeroed on entry). Returns 0 on success, as the
        /// forward callback.
        pub type $jvp = Option<
            unsafe extern "C" fn(
                user_data: *mut c_void,
                inputs: *const $tensor,
                n_in: usize,
                outputs: *const $tensor,
                n_out: usize,
                state: *const $elem,
                state_len: usize,
                input_tangents: *const $tensor,
                output_tangents: *const $tensor,
            ) -> c_int,
        >;

        /// What a tensor user op records: the callbacks, their user data and the saved
        /// state's length in elements. `forward` and `vjp` are required; `jvp` may be
        /// NULL, and then `ad_jvp()` over the op fails with `AD_ERR_NO_JVP`. The library
        /// copies the struct: it need not outlive the call, but `user_data` and what it
        /// points at must stay valid as long as the tape may run the callbacks (until
        /// `ad_tape_reset()` or the tape's end). The callbacks must not reset or end the
        /// tape (refused: the tape fails with `AD_ERR_REENTRANT`), start a sweep on it
        /// (refused likewise), record on it (the op fails with `AD_ERR_REENTRANT`), or
        /// leave by `longjmp` or a C++ exception.
        #[repr(C)]
        #[derive(Clone, Copy)]
        pub struct $def {
            /// Computes the outputs from the inputs, and may fill the saved state (required).
            pub forward: $forward,
            /// The vector-Jacobian product: input gradients from output gradients (required).
            pub vjp: $vjp,
            /// The Jacobian-vector product, for forward mode; NULL leaves forward mode over
            /// the op to fail with `AD_ERR_NO_JVP`.
            pub jvp: $jvp,
            /// Passed to every callback as is; it must outlive every sweep and replay of
            /// the op.
            pub user_data: *mut c_void,
            /// Elements of saved state the callbacks share (0 for none).
            pub state_len: usize,
        }

        impl CallbackDef for $def {
            type Elem = $elem;

            fn has_required(&self) -> crate::error::Result<()> {
                self.forward.ok_or(Failure::Null("def->forward"))?;
                self.vjp.ok_or(Failure::Null("def->vjp"))?;
                Ok(())
            }

            fn state_len(&self) -> usize {
                self.state_len
            }

            unsafe fn forward(
                &self,
                inputs: &[UserTensor<$elem>],
                outputs: &[UserTensor<$elem>],
                state: &mut [$elem],
            ) -> c_int {
                let Some(forward) = self.forward else {
                    return -1;
                };
                // SAFETY: a C function of this signature (the definition's contract);
                // the descriptors have the C struct's layout and are valid for the call.
                unsafe {
                    forward(
                        self.user_data,
                        ptr_of(inputs).cast(),
                        inputs.len(),
                        ptr_of(outputs).cast(),
                        outputs.len(),
                        mut_ptr_of(state),
                        state.len(),
                    )
                }
            }

            unsafe fn derivative(
                &self,
                which: Derivative,
                at: &Point<'_, $elem>,
                seeds: &[UserTensor<$elem>],
                results: &[UserTensor<$elem>],
            ) -> Option<c_int> {
                let callback = match which {
                    Derivative::Vjp => self.vjp?,
                    Derivative::Jvp => self.jvp?,
                };
                // SAFETY: as in `forward`.
                Some(unsafe {
                    callback(
                        self.user_data,
                        ptr_of(at.inputs).cast(),
                        at.inputs.len(),
                        ptr_of(at.outputs).cast(),
                        at.outputs.len(),
                        ptr_of(at.state),
                        at.state.len(),
                        ptr_of(seeds).cast(),
                        ptr_of(results).cast(),
                    )
                })
            }
        }
    };
}

/// `values` for C: NULL when empty.
fn ptr_of<T>(values: &[T]) -> *const T {
    if values.is_empty() {
        core::ptr::null()
    } else {
        values.as_ptr()
    }
}

fn mut_ptr_of<T>(values: &mut [T]) -> *mut T {
    if values.is_empty() {
        core::ptr::null_mut()
    } else {
        values.as_mut_ptr()
    }
}

/// Which derivative callback to run.
#[derive(Clone, Copy)]
enum Derivative {
    Vjp,
    Jvp,
}

/// A derivative callback's point, as descriptors.
struct Point<'a, T> {
    inputs: &'a [UserTensor<T>],
    outputs: &'a [UserTensor<T>],
    state: &'a [T],
}

/// A dtype's `ad_tensor_user_op_def`: what `CTensorOp` needs of it.
trait CallbackDef: Copy + Send + 'static {
    type Elem: TensorElem;

    /// `AD_ERR_NULL` unless `forward` and `vjp` are set.
    fn has_required(&self) -> crate::error::Result<()>;

    fn state_len(&self) -> usize;

    /// Runs `forward`.
    ///
    /// # Safety
    /// The descriptors must describe live buffers, as the callback's contract says.
    unsafe fn forward(
        &self,
        inputs: &[UserTensor<Self::Elem>],
        outputs: &[UserTensor<Self::Elem>],
        state: &mut [Self::Elem],
    ) -> c_int;

    /// Runs `vjp` or `jvp`; `None` when that callback is NULL.
    ///
    /// # Safety
    /// As for `forward`.
    unsafe fn derivative(
        &self,
        which: Derivative,
        at: &Point<'_, Self::Elem>,
        seeds: &[UserTensor<Self::Elem>],
        results: &[UserTensor<Self::Elem>],
    ) -> Option<c_int>;
}

// SAFETY (for both `Send`s): the C API's thread model: a tape, with everything it holds,
// is used by one thread at a time, and a host that moves a tape to another thread moves
// the use of its ops' user data with it. The callbacks are plain addresses.
unsafe impl Send for ad_tensor_user_op_def_f32 {}
unsafe impl Send for ad_tensor_user_op_def_f64 {}

tensor_user_op_types!(
    f32,
    ad_user_tensor_f32,
    ad_tensor_user_forward_fn_f32,
    ad_tensor_user_vjp_fn_f32,
    ad_tensor_user_jvp_fn_f32,
    ad_tensor_user_op_def_f32
);
tensor_user_op_types!(
    f64,
    ad_user_tensor_f64,
    ad_tensor_user_forward_fn_f64,
    ad_tensor_user_vjp_fn_f64,
    ad_tensor_user_jvp_fn_f64,
    ad_tensor_user_op_def_f64
);

/// The op the core keeps in the tape's arena: the C definition and the tape to lend
/// while a callback runs.
#[derive(Clone, Copy)]
struct CTensorOp<D> {
    def: D,
    tape: *mut ad_tape,
}

// SAFETY: as for the definitions; the tape pointer is a plain address.
unsafe impl<D: CallbackDef> Send for CTensorOp<D> {}

impl<D: CallbackDef> TensorUserOp<D::Elem> for CTensorOp<D> {
    fn forward(
        &self,
        inputs: TensorArgs<'_, D::Elem>,
        mut outputs: TensorArgsMut<'_, D::Elem>,
        state: &mut [D::Elem],
    ) -> autodiff_core::Result<()> {
        // SAFETY: the core's descriptors for this call.
        run_lent(self.tape, || unsafe {
            self.def
                .forward(inputs.descriptors(), outputs.descriptors(), state)
        })
    }

    fn vjp(
        &self,
        at: TensorUserOpPoint<'_, D::Elem>,
        output_grads: TensorArgs<'_, D::Elem>,
        input_grads: TensorArgsMut<'_, D::Elem>,
    ) -> autodiff_core::Result<()> {
        self.derivative(Derivative::Vjp, at, output_grads, input_grads)
    }

    fn jvp(
        &self,
        at: TensorUserOpPoint<'_, D::Elem>,
        input_tangents: TensorArgs<'_, D::Elem>,
        output_tangents: TensorArgsMut<'_, D::Elem>,
    ) -> autodiff_core::Result<()> {
        self.derivative(Derivative::Jvp, at, input_tangents, output_tangents)
    }
}

impl<D: CallbackDef> CTensorOp<D> {
    fn derivative(
        &self,
        which: Derivative,
        at: TensorUserOpPoint<'_, D::Elem>,
        seeds: TensorArgs<'_, D::Elem>,
        mut results: TensorArgsMut<'_, D::Elem>,
    ) -> autodiff_core::Result<()> {
        let point = Point {
            inputs: at.inputs.descriptors(),
            outputs: at.outputs.descriptors(),
            state: at.state,
        };
        let mut missing = false;
        // SAFETY: the core's descriptors for this call.
        let result = run_lent(self.tape, || unsafe {
            match self
                .def
                .derivative(which, &point, seeds.descriptors(), results.descriptors())
            {
                Some(code) => code,
                None => {
                    missing = true;
                    0
                }
            }
        });
        if missing {
            return Err(Error::NoJvp);
        }
        result
    }
}

/// The outputs' shapes from C arrays: output `j` has `ranks[j]` dimensions, listed in
/// `dims` after those of the outputs before it. The core asks for them in order, so the
/// start of the last one asked is kept: each is found in constant time.
struct OutputShapes<'a> {
    dims: &'a [usize],
    ranks: &'a [usize],
    /// The last output asked for, and where its dimensions start in `dims`.
    last: core::cell::Cell<(usize, usize)>,
}

impl OutputShapes<'_> {
    fn get(&self, j: usize) -> autodiff_core::Result<Shape> {
        let (last, last_start) = self.last.get();
        let start = match j.checked_sub(last) {
            Some(0) => last_start,
            Some(1) => last_start + self.ranks[last],
            _ => self.ranks[..j].iter().sum(),
        };
        self.last.set((j, start));
        self.dims
            .get(start..start + self.ranks[j])
            .and_then(Shape::new)
            .ok_or(Error::InvalidArgument(
                "user op: an output rank above 4, or a dimension above 2^32 - 1",
            ))
    }
}

/// `ad_tensor_user_op_f32()` and `_f64()`.
///
/// # Safety
/// The caller's contract for the pointers.
#[allow(clippy::too_many_arguments)]
unsafe fn tensor_user_op<D: CallbackDef>(
    tape: *mut ad_tape,
    def: *const D,
    inputs: *const ad_tensor,
    n_in: usize,
    output_dims: *const usize,
    output_ranks: *const usize,
    outputs: *mut ad_tensor,
    n_out: usize,
) -> ad_status {
    // SAFETY: the caller's contract.
    unsafe {
        call(tape, |header| {
            let result = (|| {
                let inputs = ptr::slice(inputs, n_in, "inputs")?;
                let outputs = ptr::slice_mut(outputs, n_out, "outputs")?;
                ptr::disjoint(inputs, outputs, "user op: inputs and outputs overlap")?;
                outputs.fill(super::INVALID);
                let ranks = ptr::slice(output_ranks, n_out, "output_ranks")?;
                if ranks.iter().any(|&rank| rank > MAX_RANK) {
                    return Err(Error::InvalidArgument("user op: an output rank above 4").into());
                }
                // Each rank is at most 4: the sum cannot overflow before `n_out` does.
                let total = ranks.iter().try_fold(0usize, |sum, &r| sum.checked_add(r));
                let total = total.ok_or(Error::SizeOverflow)?;
                let dims = ptr::slice(output_dims, total, "output_dims")?;
                let shapes = OutputShapes {
                    dims,
                    ranks,
                    last: core::cell::Cell::new((0, 0)),
                };
                let def = ptr::slice(def, 1, "def")?[0];
                def.has_required()?;
                let op = CTensorOp { def, tape };
                let t = D::Elem::typed(&header.tape)?;
                t.tensor_user_op_shaped(
                    op,
                    ptr::as_core(inputs),
                    |j| shapes.get(j),
                    ptr::as_core_mut(outputs),
                    def.state_len(),
                )?;
                Ok(())
            })();
            if let Err(failure) = result {
                header.fail_op(failure);
            }
            result
        })
    }
}

float_entry_points! {
    /// Records a tensor user op on an `AD_F32` tape: `def->forward` computes `n_out`
    /// output tensors from the `n_in` tensors `inputs` (the op runs it now, and again at
    /// every `ad_replay()`), `def->vjp` gives backward sweeps its derivative, and
    /// `def->jvp`, if not NULL, gives forward sweeps theirs. Output `j` has
    /// `output_ranks[j]` dimensions (0 to 4), listed in `output_dims` after those of the
    /// outputs before it (`output_dims` holds the sum of the ranks). Writes one new tensor
    /// per output into `outputs`. `def->state_len` elements of saved state are kept for
    /// the callbacks in the tape's memory, with each output's data and gradient, and the
    /// backward sweep stages the inputs' gradients in scratch the op reserves. The op
    /// works inside checkpoint blocks (`ad_checkpoint_tensors()`); inputs on a device are
    /// refused.
    fn ad_tensor_user_op_f32;
    /// `ad_tensor_user_op_f32()` for an `AD_F64` tape.
    fn ad_tensor_user_op_f64;
    ///
    /// Every failure on a live tape is sticky, as for any op that records: the tape keeps
    /// the error, nothing is recorded, and when `outputs` could be written it holds
    /// invalid tensors. A callback that fails later (in a sweep or replay) fails that
    /// call, and the tape keeps its error, except a missing `jvp` (`AD_ERR_NO_JVP`),
    /// which fails only `ad_jvp()`. NaN outputs are values like any other.
    ///
    /// Statuses: `AD_ERR_NULL` (`tape`, `def`, `def->forward`, `def->vjp`, or an array
    /// whose count is not 0), `AD_ERR_MISALIGNED` (`def` or an array),
    /// `AD_ERR_INVALID_TAPE`, `AD_ERR_SIZE_OVERFLOW` (a count, an output's element count
    /// or the op's bytes), `AD_ERR_INVALID_ARGUMENT` (`n_out` is 0; an output rank above
    /// 4 or a dimension above `UINT32_MAX`; `inputs` and `outputs` overlap; more inputs,
    /// outputs or state than a tape holds), `AD_ERR_STALE_HANDLE`,
    /// `AD_ERR_FOREIGN_HANDLE` or `AD_ERR_WRONG_HANDLE_KIND` (an input),
    /// `AD_ERR_UNSUPPORTED_ON_DEVICE` (an input on a device), `AD_ERR_DTYPE_MISMATCH` (a
    /// tape of another dtype), `AD_ERR_OUT_OF_MEMORY`, `AD_ERR_TOO_MANY_VARIABLES`,
    /// `AD_ERR_CALLBACK_FAILED` (`def->forward` returned non-zero), `AD_ERR_REENTRANT`
    /// (called from inside a callback running on this tape, or `def->forward` recorded
    /// on it or started a sweep on it), and the tape's sticky error.
    (
        tape: *mut ad_tape,
        [def: *const (ad_tensor_user_op_def_f32 | ad_tensor_user_op_def_f64)],
        inputs: *const ad_tensor,
        n_in: usize,
        output_dims: *const usize,
        output_ranks: *const usize,
        outputs: *mut ad_tensor,
        n_out: usize,
    ) -> ad_status {
        // SAFETY: the caller's contract.
        unsafe {
            tensor_user_op(tape, def, inputs, n_in, output_dims, output_ranks, outputs, n_out)
        }
    }
}
