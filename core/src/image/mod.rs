//! Tape images: a recorded tape as bytes that another tape, in another arena and
//! possibly on another machine, loads and differentiates. The layout is in `format`;
//! [`Tape::image_len`](crate::Tape::image_len), [`Tape::write_image`](crate::Tape::write_image)
//! and [`Tape::load_image`](crate::Tape::load_image) are the calls.

mod format;
mod read;
mod tensor_load;
mod tensors;
mod write;

pub use format::{image_info, ImageInfo, FLAG_PARAMETERS, HEADER_LEN, MAGIC, VERSION};
pub use write::ImageOptions;
