//! Runtime tensor shapes: row-major, rank 0 to 4.
//!
//! A shape lives at the bottom layer beside [`Error`](crate::Error) because shape errors
//! carry both shapes in their message.

use core::fmt;

/// The largest rank a tensor may have.
pub const MAX_RANK: usize = 4;

/// A row-major shape of rank 0 to [`MAX_RANK`]. Rank 0 is a scalar with one element.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Shape {
    dims: [u32; MAX_RANK],
    rank: u8,
}

impl Shape {
    /// A scalar: rank 0, one element.
    pub const SCALAR: Shape = Shape {
        dims: [1; MAX_RANK],
        rank: 0,
    };

    /// A shape from its dimensions, or `None` when the rank exceeds [`MAX_RANK`] or a
    /// dimension does not fit in `u32`.
    pub fn new(dims: &[usize]) -> Option<Shape> {
        if dims.len() > MAX_RANK {
            return None;
        }
        let mut shape = Shape {
            dims: [1; MAX_RANK],
            rank: dims.len() as u8,
        };
        for (slot, &dim) in shape.dims.iter_mut().zip(dims) {
            *slot = u32::try_from(dim).ok()?;
        }
        Some(shape)
    }

    /// A vector of `n` elements.
    pub const fn vector(n: u32) -> Shape {
        Shape {
            dims: [n, 1, 1, 1],
            rank: 1,
        }
    }

    /// A `rows × cols` matrix.
    pub const fn matrix(rows: u32, cols: u32) -> Shape {
        Shape {
            dims: [rows, cols, 1, 1],
            rank: 2,
        }
    }

    pub fn rank(&self) -> usize {
        self.rank as usize
    }

    pub fn dims(&self) -> &[u32] {
        &self.dims[..self.rank as usize]
    }

    /// Dimension `axis`, or `None` past the rank.
    pub fn dim(&self, axis: usize) -> Option<usize> {
        self.dims().get(axis).map(|&d| d as usize)
    }

    /// The element count, or `None` when it overflows `usize`.
    pub fn checked_len(&self) -> Option<usize> {
        self.dims()
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d as usize))
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Shape {
    /// `[64, 100]`, and `[]` for a scalar.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, d) in self.dims().iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{d}")?;
        }
        f.write_str("]")
    }
}
