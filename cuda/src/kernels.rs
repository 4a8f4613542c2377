//! The kernels in the embedded fatbins, by name. Each exists once per element type, as
//! `<name>_f32` and `<name>_f64` (`extern "C"`, so the names are not mangled).

/// Element type of a device tensor. Kernels exist for `F32` and `F64`; `U32` holds class
/// labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    F32,
    F64,
    U32,
}

impl DType {
    pub const fn size(self) -> usize {
        match self {
            DType::F32 | DType::U32 => 4,
            DType::F64 => 8,
        }
    }

    /// The kernel-name suffix, for the floating types.
    pub(crate) const fn suffix(self) -> Option<&'static str> {
        match self {
            DType::F32 => Some("f32"),
            DType::F64 => Some("f64"),
            DType::U32 => None,
        }
    }
}

/// The element types kernels are compiled for.
pub const FLOAT_TYPES: [DType; 2] = [DType::F32, DType::F64];

macro_rules! kernels {
    ($($variant:ident => $name:literal,)*) => {
        /// A kernel, independent of element type.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Kernel { $($variant,)* }

        impl Kernel {
            pub const ALL: &'static [Kernel] = &[$(Kernel::$variant,)*];

            /// The name without the element-type suffix.
            pub const fn base_name(self) -> &'static str {
                match self { $(Kernel::$variant => $name,)* }
            }
        }
    };
}

kernels! {
    UnaryForward => "ad_unary_forward",
    UnaryBackward => "ad_unary_backward",
    Scale => "ad_scale",
    BinaryForward => "ad_binary_forward",
    BinaryBackward => "ad_binary_backward",
    BiasActForward => "ad_bias_act_forward",
    ActOutputBackward => "ad_act_output_backward",
    ReduceRows => "ad_reduce_rows",
    ReduceCols => "ad_reduce_cols",
    ReduceBackward => "ad_reduce_backward",
    SoftmaxForward => "ad_softmax_forward",
    SoftmaxBackward => "ad_softmax_backward",
    CrossEntropyForward => "ad_cross_entropy_forward",
    CrossEntropyBackward => "ad_cross_entropy_backward",
    MseForward => "ad_mse_forward",
    MseBackward => "ad_mse_backward",
    Sgd => "ad_sgd",
    SgdMulti => "ad_sgd_multi",
    Adam => "ad_adam",
    AdamMulti => "ad_adam_multi",
    Transpose => "ad_transpose",
}

impl Kernel {
    /// The symbol for element type `dtype` (`None` for `U32`, which has no kernels).
    pub fn symbol(self, dtype: DType) -> Option<String> {
        Some(format!("{}_{}", self.base_name(), dtype.suffix()?))
    }

    /// Every kernel symbol the fatbins must contain.
    pub fn all_symbols() -> impl Iterator<Item = String> {
        Kernel::ALL
            .iter()
            .flat_map(|k| FLOAT_TYPES.iter().filter_map(move |&d| k.symbol(d)))
    }

    /// Index into a per-(kernel, element type) table.
    #[cfg_attr(not(feature = "cuda"), allow(dead_code))]
    pub(crate) fn slot(self, dtype: DType) -> usize {
        self as usize * FLOAT_TYPES.len() + usize::from(dtype == DType::F64)
    }
}

/// The embedded fatbins as (source file stem, bytes); empty without the `cuda` feature.
pub fn embedded_fatbins() -> &'static [(&'static str, &'static [u8])] {
    #[cfg(feature = "cuda")]
    {
        crate::backend::MODULES
    }
    #[cfg(not(feature = "cuda"))]
    {
        &[]
    }
}
