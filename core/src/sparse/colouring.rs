//! Graph colourings for compressed derivatives, on patterns in compressed-row form.
//!
//! - Jacobians: a *partial distance-2* colouring of the columns (or rows) in the
//!   bipartite graph of rows and columns: two columns that share a row differ in colour,
//!   so each compressed column holds at most one entry of every row (Curtis, Powell and
//!   Reid).
//! - Hessians: a *star* colouring of the adjacency graph (a distance-1 colouring where
//!   every path on four vertices uses at least three colours), which the symmetric
//!   recovery needs: each off-diagonal entry is then alone in its row's or in its
//!   column's compressed group (Gebremedhin, Manne and Pothen, 2005, Algorithm 4.1).
//!
//! Both are greedy, visiting the vertices in an [`Ordering`]. Work arrays come from the
//! caller; nothing here allocates. Colours are numbered from 0.

pub(crate) use super::graph::{Neighbours, NONE};
use super::ordering::visit;
pub use super::ordering::Ordering;

/// A pattern in compressed-row form: row `r`'s entries are
/// `indices[starts[r]..starts[r + 1]]`.
#[derive(Clone, Copy)]
pub(crate) struct Rows<'a> {
    pub(crate) starts: &'a [u32],
    pub(crate) indices: &'a [u32],
}

impl<'a> Rows<'a> {
    pub(crate) fn count(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }

    pub(crate) fn row(&self, r: u32) -> &'a [u32] {
        &self.indices[self.starts[r as usize] as usize..self.starts[r as usize + 1] as usize]
    }
}

/// Vertices `v` and `w` are neighbours when some net holds both: columns sharing a row
/// (vertices are columns, `of_vertex` the columns' rows, `of_net` the rows' columns).
pub(crate) struct Bipartite<'a> {
    pub(crate) of_vertex: Rows<'a>,
    pub(crate) of_net: Rows<'a>,
}

impl Neighbours for Bipartite<'_> {
    fn vertices(&self) -> usize {
        self.of_vertex.count()
    }

    fn for_each(&self, v: u32, mut f: impl FnMut(u32)) {
        for &net in self.of_vertex.row(v) {
            for &w in self.of_net.row(net) {
                f(w);
            }
        }
    }
}

/// The adjacency graph of a symmetric pattern (the diagonal is ignored).
pub(crate) struct Adjacency<'a>(pub(crate) Rows<'a>);

impl Neighbours for Adjacency<'_> {
    fn vertices(&self) -> usize {
        self.0.count()
    }

    fn for_each(&self, v: u32, mut f: impl FnMut(u32)) {
        for &w in self.0.row(v) {
            f(w);
        }
    }
}

/// The smallest colour `forbidden` does not mark for vertex `v`.
fn first_free(forbidden: &[u32], v: u32) -> u32 {
    forbidden
        .iter()
        .position(|&mark| mark != v + 1)
        .unwrap_or(forbidden.len()) as u32
}

/// Words of work [`greedy`] and [`star`] need for `vertices` vertices.
pub(crate) fn work_words(vertices: usize) -> usize {
    super::ordering::work_words(vertices) + vertices + 1
}

/// Greedy distance-2 colouring of `g`'s vertices in `ordering`'s order (for a
/// [`Bipartite`] graph, the partial distance-2 colouring of Jacobian columns). Writes
/// `colour` (one per vertex) and returns the number of colours. `work` holds
/// [`work_words`] words.
pub(crate) fn greedy(
    g: &impl Neighbours,
    ordering: Ordering,
    colour: &mut [u32],
    work: &mut [u32],
) -> u32 {
    let (forbidden, work) = work.split_at_mut(g.vertices() + 1);
    forbidden.fill(0);
    visit(g, ordering, colour, work, |v, colour| {
        g.for_each(v, |w| {
            let c = colour[w as usize];
            if w != v && c != NONE {
                forbidden[c as usize] = v + 1;
            }
        });
        first_free(forbidden, v)
    })
}

/// Greedy star colouring of the adjacency graph `g` in `ordering`'s order
/// (Gebremedhin, Manne and Pothen's Algorithm 4.1). Writes `colour` and returns the
/// number of colours. `work` holds [`work_words`] words.
pub(crate) fn star(
    g: &Adjacency<'_>,
    ordering: Ordering,
    colour: &mut [u32],
    work: &mut [u32],
) -> u32 {
    let (forbidden, work) = work.split_at_mut(g.vertices() + 1);
    forbidden.fill(0);
    let rows = g.0;
    visit(g, ordering, colour, work, |v, colour| {
        let stamp = v + 1;
        for &w in rows.row(v) {
            if w == v {
                continue;
            }
            let cw = colour[w as usize];
            if cw != NONE {
                forbidden[cw as usize] = stamp;
            }
            for &x in rows.row(w) {
                let cx = colour[x as usize];
                if x == v || x == w || cx == NONE {
                    continue;
                }
                if cw == NONE {
                    // v and x would both touch w: a path through w with two colours
                    // once w is coloured, unless they differ.
                    forbidden[cx as usize] = stamp;
                } else if rows
                    .row(x)
                    .iter()
                    .any(|&y| y != x && y != w && colour[y as usize] == cw)
                {
                    // v = cx would make the path v–w–x–y two-coloured.
                    forbidden[cx as usize] = stamp;
                }
            }
        }
        first_free(forbidden, v)
    })
}

/// Writes the transpose of `rows` (over `columns` columns) into `starts`
/// (`columns + 1` words) and `indices` (as many as `rows` has entries).
pub(crate) fn transpose(rows: Rows<'_>, columns: usize, starts: &mut [u32], indices: &mut [u32]) {
    starts.fill(0);
    for &c in rows.indices {
        starts[c as usize + 1] += 1;
    }
    for c in 0..columns {
        starts[c + 1] += starts[c];
    }
    for r in 0..rows.count() as u32 {
        for &c in rows.row(r) {
            let at = &mut starts[c as usize];
            indices[*at as usize] = r;
            *at += 1;
        }
    }
    // Each start now holds the next column's start: shift back.
    for c in (1..=columns).rev() {
        starts[c] = starts[c - 1];
    }
    starts[0] = 0;
}
