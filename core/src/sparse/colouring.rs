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
//! Both are greedy over a vertex ordering. Work arrays come from the caller; nothing
//! here allocates. Colours are numbered from 0.

/// The order in which greedy colouring visits the vertices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Ordering {
    /// Index order.
    Natural = 0,
    /// Decreasing degree (in the graph the colouring must respect).
    LargestFirst = 1,
    /// Repeatedly the vertex of smallest degree among those left, coloured last
    /// (Matula and Beck); usually the fewest colours.
    SmallestLast = 2,
}

impl Ordering {
    /// The ordering with number `code`, if there is one.
    pub fn from_code(code: u32) -> Option<Ordering> {
        match code {
            0 => Some(Ordering::Natural),
            1 => Some(Ordering::LargestFirst),
            2 => Some(Ordering::SmallestLast),
            _ => None,
        }
    }
}

/// Not coloured yet.
const NONE: u32 = u32::MAX;

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

/// The graph a colouring must respect, as neighbour lists (which may repeat a
/// neighbour, and may include the vertex itself: callers skip both).
pub(crate) trait Neighbours {
    fn vertices(&self) -> usize;
    fn for_each(&self, v: u32, f: impl FnMut(u32));
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

/// Words of work [`order`] needs for `vertices` vertices.
pub(crate) fn order_work_words(vertices: usize) -> usize {
    5 * vertices + 2
}

/// Fills `order` with the vertices in `ordering`'s order; `work` holds
/// [`order_work_words`] words.
pub(crate) fn order(g: &impl Neighbours, ordering: Ordering, order: &mut [u32], work: &mut [u32]) {
    let n = g.vertices();
    match ordering {
        Ordering::Natural => {
            for (v, slot) in order.iter_mut().enumerate() {
                *slot = v as u32;
            }
        }
        Ordering::LargestFirst => {
            let (degree, rest) = work.split_at_mut(n);
            let (stamp, rest) = rest.split_at_mut(n);
            let count = &mut rest[..n + 1];
            degrees(g, degree, stamp);
            // A counting sort by decreasing degree, stable in vertex index.
            count.fill(0);
            for &d in degree.iter() {
                count[d as usize] += 1;
            }
            let mut next = 0;
            for d in (0..=n).rev() {
                let c = count[d];
                count[d] = next;
                next += c;
            }
            for v in 0..n {
                let d = degree[v] as usize;
                order[count[d] as usize] = v as u32;
                count[d] += 1;
            }
        }
        Ordering::SmallestLast => smallest_last(g, order, work),
    }
}

/// Each vertex's number of distinct neighbours (itself excluded).
fn degrees(g: &impl Neighbours, degree: &mut [u32], stamp: &mut [u32]) {
    stamp.fill(0);
    for v in 0..g.vertices() as u32 {
        let mut d = 0;
        g.for_each(v, |w| {
            if w != v && stamp[w as usize] != v + 1 {
                stamp[w as usize] = v + 1;
                d += 1;
            }
        });
        degree[v as usize] = d;
    }
}

/// Smallest-last ordering with buckets of vertices by current degree (doubly linked
/// lists in arrays).
fn smallest_last(g: &impl Neighbours, order: &mut [u32], work: &mut [u32]) {
    let n = g.vertices();
    let (degree, rest) = work.split_at_mut(n);
    let (stamp, rest) = rest.split_at_mut(n);
    let (next, rest) = rest.split_at_mut(n);
    let (prev, rest) = rest.split_at_mut(n);
    let head = &mut rest[..n + 1];
    degrees(g, degree, stamp);
    stamp.fill(0);
    head.fill(NONE);
    let link = |v: u32, degree: &[u32], head: &mut [u32], next: &mut [u32], prev: &mut [u32]| {
        let d = degree[v as usize] as usize;
        next[v as usize] = head[d];
        prev[v as usize] = NONE;
        if head[d] != NONE {
            prev[head[d] as usize] = v;
        }
        head[d] = v;
    };
    let unlink = |v: u32, degree: &[u32], head: &mut [u32], next: &mut [u32], prev: &mut [u32]| {
        let (p, x) = (prev[v as usize], next[v as usize]);
        if p == NONE {
            head[degree[v as usize] as usize] = x;
        } else {
            next[p as usize] = x;
        }
        if x != NONE {
            prev[x as usize] = p;
        }
    };
    for v in 0..n as u32 {
        link(v, degree, head, next, prev);
    }
    let removed = u32::MAX;
    let mut min = 0;
    for position in (0..n).rev() {
        while head[min] == NONE {
            min += 1;
        }
        let v = head[min];
        unlink(v, degree, head, next, prev);
        degree[v as usize] = removed;
        order[position] = v;
        g.for_each(v, |w| {
            let wi = w as usize;
            if w == v || degree[wi] == removed || stamp[wi] == v + 1 {
                return;
            }
            stamp[wi] = v + 1;
            unlink(w, degree, head, next, prev);
            degree[wi] -= 1;
            link(w, degree, head, next, prev);
        });
        min = min.saturating_sub(1);
    }
}

/// The smallest colour `forbidden` does not mark for vertex `v`.
fn first_free(forbidden: &[u32], v: u32) -> u32 {
    forbidden
        .iter()
        .position(|&mark| mark != v + 1)
        .unwrap_or(forbidden.len()) as u32
}

/// Greedy distance-2 colouring of `g`'s vertices in `order` (for a [`Bipartite`] graph,
/// the partial distance-2 colouring of Jacobian columns). Writes `colour` (one per
/// vertex) and returns the number of colours. `forbidden` holds `vertices + 1` words.
pub(crate) fn greedy(
    g: &impl Neighbours,
    order: &[u32],
    colour: &mut [u32],
    forbidden: &mut [u32],
) -> u32 {
    colour.fill(NONE);
    forbidden.fill(0);
    let mut colours = 0;
    for &v in order {
        g.for_each(v, |w| {
            let c = colour[w as usize];
            if w != v && c != NONE {
                forbidden[c as usize] = v + 1;
            }
        });
        let c = first_free(forbidden, v);
        colour[v as usize] = c;
        colours = colours.max(c + 1);
    }
    colours
}

/// Greedy star colouring of the adjacency graph `g` in `order` (Gebremedhin, Manne and
/// Pothen's Algorithm 4.1). Writes `colour` and returns the number of colours.
/// `forbidden` holds `vertices + 1` words.
pub(crate) fn star(
    g: &Adjacency<'_>,
    order: &[u32],
    colour: &mut [u32],
    forbidden: &mut [u32],
) -> u32 {
    colour.fill(NONE);
    forbidden.fill(0);
    let rows = g.0;
    let mut colours = 0;
    for &v in order {
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
        let c = first_free(forbidden, v);
        colour[v as usize] = c;
        colours = colours.max(c + 1);
    }
    colours
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
