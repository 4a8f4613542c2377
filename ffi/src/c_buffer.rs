//! A `fmt::Write` into a C caller's character buffer, for the calls that return text
//! (`ad_tape_dot()`, `ad_tape_generate_c()`): it keeps a NUL-terminated prefix and counts
//! every byte offered, so a too-small buffer still learns the length it needs.

use crate::error::{Failure, Result};

/// A `fmt::Write` into a C buffer of `cap` bytes that keeps a NUL-terminated prefix and
/// counts every byte offered.
pub(crate) struct CBuffer<'b> {
    pub(crate) buf: &'b mut [u8],
    pub(crate) len: usize,
}

impl CBuffer<'_> {
    /// Ends the text with its NUL and writes its length (without the NUL) to
    /// `*len_out`; fails with `AD_ERR_BUFFER_TOO_SMALL` when the text and its NUL did
    /// not fit (the buffer then holds a NUL-terminated prefix, if it has room for one).
    pub(crate) fn finish(self, len_out: &mut usize) -> Result<()> {
        let len = self.len;
        *len_out = len;
        if let Some(last) = self.buf.len().checked_sub(1) {
            self.buf[len.min(last)] = 0;
        }
        if len >= self.buf.len() {
            return Err(Failure::BufferTooSmall {
                what: "buf",
                needed: len + 1,
                cap: self.buf.len(),
            });
        }
        Ok(())
    }
}

impl core::fmt::Write for CBuffer<'_> {
    fn write_str(&mut self, text: &str) -> core::fmt::Result {
        let room = self.buf.len().saturating_sub(1).saturating_sub(self.len);
        let take = text.len().min(room);
        let start = self.len.min(self.buf.len());
        self.buf[start..start + take].copy_from_slice(&text.as_bytes()[..take]);
        self.len += text.len();
        Ok(())
    }
}
