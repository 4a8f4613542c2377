//! The order in which greedy colouring visits the vertices: fixed orders computed
//! before colouring (natural, largest-first, smallest-last), or the saturation order
//! (DSATUR) that is chosen while colouring. All use work arrays from the caller.

use super::graph::{Neighbours, NONE};

/// The order in which greedy colouring visits the vertices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Ordering {
    /// Index order.
    Natural = 0,
    /// Decreasing degree (in the graph the colouring must respect).
    LargestFirst = 1,
    /// Repeatedly the vertex of smallest degree among those left, coloured last
    /// (Matula and Beck).
    SmallestLast = 2,
    /// Saturation (DSATUR, Brélaz): next the uncoloured vertex whose neighbours show the
    /// most distinct colours, ties to the larger degree, then to the lower index. Often
    /// the fewest colours: it finds the optimal 5 on five-point stencils, where the
    /// fixed orders take 6 or 7.
    Saturation = 3,
}

impl Ordering {
    /// The ordering with number `code`, if there is one.
    pub fn from_code(code: u32) -> Option<Ordering> {
        match code {
            0 => Some(Ordering::Natural),
            1 => Some(Ordering::LargestFirst),
            2 => Some(Ordering::SmallestLast),
            3 => Some(Ordering::Saturation),
            _ => None,
        }
    }
}

/// Words of work [`visit`] needs for `vertices` vertices.
pub(crate) fn work_words(vertices: usize) -> usize {
    8 * vertices + 2
}

/// Colours every vertex of `g`: visits them in `ordering`'s order and sets
/// `colour[v] = colour_vertex(v, colour)`. Returns the number of colours used.
pub(crate) fn visit(
    g: &impl Neighbours,
    ordering: Ordering,
    colour: &mut [u32],
    work: &mut [u32],
    mut colour_vertex: impl FnMut(u32, &[u32]) -> u32,
) -> u32 {
    let n = g.vertices();
    colour.fill(NONE);
    let mut colours = 0;
    let (order, work) = work.split_at_mut(n);
    match ordering {
        Ordering::Natural => {
            for (v, slot) in order.iter_mut().enumerate() {
                *slot = v as u32;
            }
        }
        Ordering::LargestFirst => largest_first(g, order, work),
        Ordering::SmallestLast => smallest_last(g, order, work),
        Ordering::Saturation => {
            return saturation(g, colour, work, colour_vertex);
        }
    }
    for &v in order.iter() {
        let c = colour_vertex(v, colour);
        colour[v as usize] = c;
        colours = colours.max(c + 1);
    }
    colours
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

/// Decreasing degree, by a counting sort that keeps index order within a degree.
fn largest_first(g: &impl Neighbours, order: &mut [u32], work: &mut [u32]) {
    let n = g.vertices();
    let (degree, rest) = work.split_at_mut(n);
    let (stamp, rest) = rest.split_at_mut(n);
    let count = &mut rest[..n + 1];
    degrees(g, degree, stamp);
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
    for (v, &d) in degree.iter().enumerate() {
        order[count[d as usize] as usize] = v as u32;
        count[d as usize] += 1;
    }
}

/// Smallest-last, with buckets of vertices by current degree (doubly linked lists in
/// arrays).
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
    for v in (0..n as u32).rev() {
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

/// DSATUR over an indexed binary max-heap of the uncoloured vertices keyed by
/// (saturation, degree, lower index). Which colours a vertex has seen is kept as a
/// 64-bit mask; colours from 64 on count as new each time they are seen, which only
/// affects the order, never the colouring's validity (`colour_vertex` checks that).
fn saturation(
    g: &impl Neighbours,
    colour: &mut [u32],
    work: &mut [u32],
    mut colour_vertex: impl FnMut(u32, &[u32]) -> u32,
) -> u32 {
    let n = g.vertices();
    let (degree, rest) = work.split_at_mut(n);
    let (stamp, rest) = rest.split_at_mut(n);
    let (saturation, rest) = rest.split_at_mut(n);
    let (seen, rest) = rest.split_at_mut(2 * n);
    let (heap, rest) = rest.split_at_mut(n);
    let position = &mut rest[..n];
    degrees(g, degree, stamp);
    stamp.fill(0);
    saturation.fill(0);
    seen.fill(0);
    let mut queue = Heap {
        heap,
        position,
        len: n,
    };
    for v in 0..n {
        queue.heap[v] = v as u32;
        queue.position[v] = v as u32;
    }
    let key =
        |v: u32, saturation: &[u32]| (saturation[v as usize], degree[v as usize], u32::MAX - v);
    for i in (0..n / 2).rev() {
        queue.sift_down(i, |v| key(v, saturation));
    }
    let mut colours = 0;
    while let Some(v) = queue.pop(|v| key(v, saturation)) {
        let c = colour_vertex(v, colour);
        colour[v as usize] = c;
        colours = colours.max(c + 1);
        g.for_each(v, |w| {
            let wi = w as usize;
            if w == v || colour[wi] != NONE || stamp[wi] == v + 1 {
                return;
            }
            stamp[wi] = v + 1;
            let new = match c {
                0..=31 => seen[2 * wi] & (1 << c) == 0,
                32..=63 => seen[2 * wi + 1] & (1 << (c - 32)) == 0,
                _ => true,
            };
            if new {
                match c {
                    0..=31 => seen[2 * wi] |= 1 << c,
                    32..=63 => seen[2 * wi + 1] |= 1 << (c - 32),
                    _ => {}
                }
                saturation[wi] += 1;
                queue.sift_up(queue.position[wi] as usize, |u| key(u, saturation));
            }
        });
    }
    colours
}

/// A max-heap of vertices with each vertex's place in it, so that a vertex whose key
/// grew can be moved up.
struct Heap<'a> {
    heap: &'a mut [u32],
    position: &'a mut [u32],
    len: usize,
}

impl Heap<'_> {
    fn swap(&mut self, i: usize, j: usize) {
        self.heap.swap(i, j);
        self.position[self.heap[i] as usize] = i as u32;
        self.position[self.heap[j] as usize] = j as u32;
    }

    fn sift_up<K: PartialOrd>(&mut self, mut i: usize, key: impl Fn(u32) -> K) {
        while i > 0 {
            let parent = (i - 1) / 2;
            if key(self.heap[i]) <= key(self.heap[parent]) {
                break;
            }
            self.swap(i, parent);
            i = parent;
        }
    }

    fn sift_down<K: PartialOrd>(&mut self, mut i: usize, key: impl Fn(u32) -> K) {
        loop {
            let (left, right) = (2 * i + 1, 2 * i + 2);
            let mut largest = i;
            if left < self.len && key(self.heap[left]) > key(self.heap[largest]) {
                largest = left;
            }
            if right < self.len && key(self.heap[right]) > key(self.heap[largest]) {
                largest = right;
            }
            if largest == i {
                return;
            }
            self.swap(i, largest);
            i = largest;
        }
    }

    fn pop<K: PartialOrd>(&mut self, key: impl Fn(u32) -> K) -> Option<u32> {
        if self.len == 0 {
            return None;
        }
        let top = self.heap[0];
        self.len -= 1;
        self.swap(0, self.len);
        self.sift_down(0, key);
        Some(top)
    }
}
