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
    }
}

macro_rules! tensor_extension_for {
    ($t:ty) => {
        impl sealed::Sealed for $t {
            fn tensor_extension() -> &'static Extension<$t> {
                static EXTENSION: Extension<$t> = Extension {
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
        }
    };
}

tensor_extension_for!(f32);
tensor_extension_for!(f64);
