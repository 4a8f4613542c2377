//! numpy broadcasting: the shape two operands broadcast to, and the walk over its
//! elements with each operand's matching index. Shapes only, no data.

use crate::shape::{Shape, MAX_RANK};

/// The numpy broadcast of two shapes (right-aligned; a dimension of 1 stretches), or
/// `None` when they do not broadcast.
pub(crate) fn broadcast_shape(a: &Shape, b: &Shape) -> Option<Shape> {
    let rank = a.rank().max(b.rank());
    let mut dims = [1usize; MAX_RANK];
    for (i, dim) in dims.iter_mut().enumerate().take(rank) {
        let da = dim_from_right(a, rank - 1 - i);
        let db = dim_from_right(b, rank - 1 - i);
        *dim = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Shape::new(&dims[..rank])
}

/// Dimension `k` counted from the last (0 = last), 1 past the rank.
fn dim_from_right(shape: &Shape, k: usize) -> usize {
    let rank = shape.rank();
    if k < rank {
        shape.dim(rank - 1 - k).unwrap_or(1)
    } else {
        1
    }
}

/// The element strides of `shape` seen through the broadcast shape `out`, padded to rank
/// 4 on the left: 0 along stretched dimensions.
fn broadcast_strides(shape: &Shape, out: &Shape) -> [usize; MAX_RANK] {
    let mut strides = [0; MAX_RANK];
    let mut stride = 1;
    for k in 0..MAX_RANK {
        let dim = dim_from_right(shape, k);
        let out_dim = dim_from_right(out, k);
        strides[MAX_RANK - 1 - k] = if dim == out_dim && k < shape.rank() {
            stride
        } else {
            0
        };
        if k < shape.rank() {
            stride *= dim;
        }
    }
    strides
}

/// Calls `f(out_index, a_index, b_index)` for every element of the broadcast `out`.
pub(crate) fn for_each_broadcast(
    out: &Shape,
    a: &Shape,
    b: &Shape,
    mut f: impl FnMut(usize, usize, usize),
) {
    let dims: [usize; MAX_RANK] = core::array::from_fn(|i| dim_from_right(out, MAX_RANK - 1 - i));
    // No elements: return at once, not after looping over the other (maybe huge)
    // dimensions with nothing to do.
    if dims.contains(&0) {
        return;
    }
    let (sa, sb) = (broadcast_strides(a, out), broadcast_strides(b, out));
    let mut o = 0;
    for i0 in 0..dims[0] {
        for i1 in 0..dims[1] {
            for i2 in 0..dims[2] {
                let (base_a, base_b) = (
                    i0 * sa[0] + i1 * sa[1] + i2 * sa[2],
                    i0 * sb[0] + i1 * sb[1] + i2 * sb[2],
                );
                for i3 in 0..dims[3] {
                    f(o, base_a + i3 * sa[3], base_b + i3 * sb[3]);
                    o += 1;
                }
            }
        }
    }
}
