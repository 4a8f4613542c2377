//! What a chain gradient reports.

/// What a chain gradient computed and cost.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ad_chain_report {
    /// The loss at the final state.
    pub loss: f64,
    /// The number of steps `n`.
    pub steps: usize,
    /// Steps run forward for their value only (recorded and read, then dropped): the
    /// recomputation. With `n` known in advance it is the proven minimum for `n` steps
    /// and `snapshots` stored states (Griewank & Walther's binomial schedule).
    pub advances: usize,
    /// Steps recorded and run backward: `n`.
    pub recorded: usize,
    /// The most bytes of `mem` in use at once, counted from its start: the buffers and
    /// snapshots, the tape's header, and the tape's largest recording.
    pub peak_bytes: usize,
}
