//! The element types tensors support: `f32` and `f64`.

use crate::real::Real;
use crate::tape::Extension;

/// A float a tensor can hold. Sealed: `f32` and `f64`.
pub trait Float: Real + crate::kernels::gemm::GemmScalar + sealed::Sealed {}

impl Float for f32 {}
impl Float for f64 {}

pub(crate) mod sealed {
    use super::Extension;

    pub trait Sealed: Sized + crate::real::Real {
        /// The tensor layer's sweep functions for this element type.
        fn tensor_extension() -> &'static Extension<Self>;
        /// The sweep functions of checkpointed segments' records, and of their scalar
        /// output records.
        fn segment_extensions() -> &'static [Extension<Self>; 2];
        /// Short name for messages and graph exports.
        const NAME: &'static str;
        /// `y[i, j] = tanh(y[i, j] + bias[j])` over rows of `bias.len()` elements.
        fn bias_tanh_in_place(y: &mut [Self], bias: &[Self]) {
            for row in y.chunks_exact_mut(bias.len().max(1)) {
                for (y, &b) in row.iter_mut().zip(bias) {
                    *y = (*y + b).tanh();
                }
            }
        }
    }
}

macro_rules! tensor_extension_for {
    ($t:ty $(, $extra:item)*) => {
        impl sealed::Sealed for $t {
            fn tensor_extension() -> &'static Extension<$t> {
                static EXTENSION: Extension<$t> = Extension {
                    kind: crate::tape::ExtensionKind::Tensor,
                    backward: super::sweep::backward::<$t>,
                    tangent: super::sweep::tangent::<$t>,
                    replay: super::sweep::replay::<$t>,
                    clear: super::sweep::clear::<$t>,
                    check: super::sweep::check::<$t>,
                };
                &EXTENSION
            }
            fn segment_extensions() -> &'static [Extension<$t>; 2] {
                static EXTENSIONS: [Extension<$t>; 2] =
                    crate::checkpoint::segment::extensions::<$t>();
                &EXTENSIONS
            }
            const NAME: &'static str = stringify!($t);
            $($extra)*
        }
    };
}

tensor_extension_for!(
    f32,
    // The same values as the default, vectorised.
    fn bias_tanh_in_place(y: &mut [f32], bias: &[f32]) {
        crate::kernels::elementwise::bias_tanh_in_place_f32(y, bias);
    }
);
tensor_extension_for!(f64);
