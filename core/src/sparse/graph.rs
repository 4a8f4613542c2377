//! What colourings and orderings share: the graph as neighbour lists, and the mark of a
//! vertex not coloured yet.

/// Not coloured yet.
pub(crate) const NONE: u32 = u32::MAX;

/// The graph a colouring must respect, as neighbour lists (which may repeat a
/// neighbour, and may include the vertex itself: callers skip both).
pub(crate) trait Neighbours {
    fn vertices(&self) -> usize;
    fn for_each(&self, v: u32, f: impl FnMut(u32));
}
