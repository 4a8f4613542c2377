//! Elementwise kernels (placeholder).
