//! The tables that make `f32` and `f64` tensor element types: the tensor layer's and
//! the checkpointed segments' sweep functions, as statics per type (records are
//! recognised by the address of their table). Apart from `float.rs` so that the trait
//! does not depend on the sweeps that are generic over it.

use super::float::sealed;
use crate::tape::{Extension, ExtensionKind};

macro_rules! tensor_extension_for {
    ($t:ty $(, $extra:item)*) => {
        impl sealed::Sealed for $t {
            fn tensor_extension() -> &'static Extension<$t> {
                static EXTENSION: Extension<$t> = Extension {
                    kind: ExtensionKind::Tensor,
                    backward: super::dispatch::backward::<$t>,
                    #[cfg(feature = "tensor-jvp")]
                    tangent: super::dispatch::tangent::<$t>,
                    #[cfg(not(feature = "tensor-jvp"))]
                    tangent: super::dispatch::tangent_not_built::<$t>,
                    replay: super::dispatch::replay::<$t>,
                    clear: super::dispatch::clear::<$t>,
                    check: super::dispatch::check::<$t>,
                    relocated: super::dispatch::relocated::<$t>,
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
