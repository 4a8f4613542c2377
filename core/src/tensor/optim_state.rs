//! Saving and restoring the optimizer's state (SGD's velocities, Adam's two moments and
//! its step count), so that a training job can checkpoint and resume: with the
//! parameters' values restored too, the resumed run continues bit for bit as the
//! uninterrupted one would have.
//!
//! The saved form is bytes in the machine's own byte order:
//!
//! | bytes | what |
//! |---|---|
//! | 8 | the magic `adoptim1` |
//! | 4 | `0x0a0b0c0d`, to recognise another byte order |
//! | 4 | the element size (4 for `f32`, 8 for `f64`) |
//! | 4 | the optimizer: 1 SGD, 2 Adam |
//! | 4 | state buffers per parameter (0, 1 or 2) |
//! | 8 | the number of parameters, `n` |
//! | 8 | the steps taken |
//! | 8·n | each parameter's element count |
//! | | each parameter's state buffers, one after another, as raw elements |
//!
//! Restoring checks all of it against the tape before changing anything. Only host
//! parameters' state can be saved.

use super::float::Float;
use super::optimizer::{Optimizer, OptimizerState};
use super::param_slot::ParamSlot;
use crate::error::{Error, Result};
use crate::tape::Tape;
use core::mem::size_of;

const MAGIC: [u8; 8] = *b"adoptim1";
const BYTE_ORDER: u32 = 0x0a0b_0c0d;
const HEADER_BYTES: usize = 40;

/// The fixed part of a saved state.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Header {
    element_size: u32,
    optimizer: u32,
    buffers: u32,
    params: u64,
    steps: u64,
}

impl Header {
    fn write(&self, out: &mut [u8]) {
        out[..8].copy_from_slice(&MAGIC);
        out[8..12].copy_from_slice(&BYTE_ORDER.to_ne_bytes());
        out[12..16].copy_from_slice(&self.element_size.to_ne_bytes());
        out[16..20].copy_from_slice(&self.optimizer.to_ne_bytes());
        out[20..24].copy_from_slice(&self.buffers.to_ne_bytes());
        out[24..32].copy_from_slice(&self.params.to_ne_bytes());
        out[32..40].copy_from_slice(&self.steps.to_ne_bytes());
    }

    fn read(data: &[u8]) -> Result<Header> {
        let mismatch = Error::StateMismatch;
        if data.len() < HEADER_BYTES || data[..8] != MAGIC {
            return Err(mismatch("not a saved optimizer state"));
        }
        if u32_at(data, 8) != BYTE_ORDER {
            return Err(mismatch("saved on a machine of the other byte order"));
        }
        Ok(Header {
            element_size: u32_at(data, 12),
            optimizer: u32_at(data, 16),
            buffers: u32_at(data, 20),
            params: u64_at(data, 24),
            steps: u64_at(data, 32),
        })
    }
}

fn u32_at(data: &[u8], at: usize) -> u32 {
    let mut b = [0; 4];
    b.copy_from_slice(&data[at..at + 4]);
    u32::from_ne_bytes(b)
}

fn u64_at(data: &[u8], at: usize) -> u64 {
    let mut b = [0; 8];
    b.copy_from_slice(&data[at..at + 8]);
    u64::from_ne_bytes(b)
}

fn optimizer_code(optimizer: &Optimizer) -> u32 {
    match optimizer {
        Optimizer::Sgd(_) => 1,
        Optimizer::Adam(_) => 2,
    }
}

/// The bytes of one state buffer of `slot`.
///
/// # Safety
/// `buffer` must be one of `slot`'s state buffers (`len` elements), with no `&mut` to it
/// alive while the returned slice is.
unsafe fn buffer_bytes<'a, T>(slot: &ParamSlot<T>, buffer: *mut T) -> &'a [u8] {
    // SAFETY: the caller's contract; floats have no padding.
    unsafe { core::slice::from_raw_parts(buffer.cast::<u8>(), slot.len * size_of::<T>()) }
}

impl<'m, T: Float> Tape<'m, T> {
    /// The bytes [`save_optimizer_state`](Tape::save_optimizer_state) writes.
    pub fn optimizer_state_bytes(&self) -> Result<usize> {
        let (state, count) = self.saved_optimizer()?;
        let mut bytes = HEADER_BYTES.checked_add(count.checked_mul(8).ok_or(Error::SizeOverflow)?);
        for index in 0..count as u32 {
            let slot = self.param_slot(self.param_id(index))?;
            let data = (slot.len * size_of::<T>()).checked_mul(state.optimizer.buffers());
            bytes = bytes.zip(data).and_then(|(a, b)| a.checked_add(b));
        }
        bytes.ok_or(Error::SizeOverflow)
    }

    /// Writes the optimizer's whole state (its kind, step count, and every parameter's
    /// state buffers) to the start of `out`, and returns how many bytes that took.
    pub fn save_optimizer_state(&self, out: &mut [u8]) -> Result<usize> {
        let needed = self.optimizer_state_bytes()?;
        if out.len() < needed {
            return Err(Error::LengthMismatch {
                what: "buffer length",
                got: out.len(),
                against: "the saved state's byte count (at least)",
                expected: needed,
            });
        }
        let (state, count) = self.saved_optimizer()?;
        let header = Header {
            element_size: size_of::<T>() as u32,
            optimizer: optimizer_code(&state.optimizer),
            buffers: state.optimizer.buffers() as u32,
            params: count as u64,
            steps: state.steps,
        };
        header.write(out);
        let mut at = HEADER_BYTES;
        for index in 0..count as u32 {
            let len = self.param_slot(self.param_id(index))?.len as u64;
            out[at..at + 8].copy_from_slice(&len.to_ne_bytes());
            at += 8;
        }
        for index in 0..count as u32 {
            let slot = self.param_slot(self.param_id(index))?;
            for &buffer in &slot.state[..state.optimizer.buffers()] {
                // SAFETY: a state buffer of the slot, only read here.
                let bytes = unsafe { buffer_bytes(&slot, buffer) };
                out[at..at + bytes.len()].copy_from_slice(bytes);
                at += bytes.len();
            }
        }
        Ok(at)
    }

    /// Restores an optimizer state that [`save_optimizer_state`](Tape::save_optimizer_state)
    /// wrote, from a tape with the same optimizer and parameters of the same sizes, in the
    /// same order. `data` must be exactly the saved bytes. Nothing changes unless all of
    /// it matches ([`Error::StateMismatch`] says what does not).
    pub fn load_optimizer_state(&self, data: &[u8]) -> Result<()> {
        self.refuse_in_callback("load_optimizer_state")?;
        let needed = self.optimizer_state_bytes()?;
        let (state, count) = self.saved_optimizer()?;
        let header = Header::read(data)?;
        let mismatch = Error::StateMismatch;
        if header.element_size != size_of::<T>() as u32 {
            return Err(mismatch("saved from a tape of another element type"));
        }
        if header.optimizer != optimizer_code(&state.optimizer)
            || header.buffers != state.optimizer.buffers() as u32
        {
            return Err(mismatch(
                "saved from another optimizer (or SGD with and without momentum)",
            ));
        }
        if header.params != count as u64 {
            return Err(mismatch(
                "saved from a tape with another number of parameters",
            ));
        }
        if data.len() != needed {
            return Err(Error::LengthMismatch {
                what: "data length",
                got: data.len(),
                against: "the saved state's byte count",
                expected: needed,
            });
        }
        for index in 0..count as u32 {
            let len = self.param_slot(self.param_id(index))?.len as u64;
            if u64_at(data, HEADER_BYTES + 8 * index as usize) != len {
                return Err(mismatch(
                    "saved from a tape whose parameters have other sizes",
                ));
            }
        }
        let mut at = HEADER_BYTES + 8 * count;
        for index in 0..count as u32 {
            let slot = self.param_slot(self.param_id(index))?;
            for &buffer in &slot.state[..state.optimizer.buffers()] {
                let bytes = slot.len * size_of::<T>();
                // SAFETY: the state buffer holds `len` elements, `bytes` bytes; no slice of
                // it is alive; any bit pattern is a valid float.
                unsafe {
                    core::ptr::copy_nonoverlapping(data[at..].as_ptr(), buffer.cast::<u8>(), bytes)
                };
                at += bytes;
            }
        }
        self.update_tensor_state(|s| {
            if let Some(optimizer) = s.optimizer.as_mut() {
                optimizer.steps = header.steps;
            }
        })
    }

    /// The optimizer's state and the parameter count, when there is an optimizer and all
    /// parameters live on the host.
    fn saved_optimizer(&self) -> Result<(OptimizerState, usize)> {
        let state = self
            .tensor_state()
            .ok_or(Error::InvalidArgument("no optimizer is set"))?;
        let optimizer = state
            .optimizer
            .ok_or(Error::InvalidArgument("no optimizer is set"))?;
        for index in 0..state.count {
            if !self.param_slot(self.param_id(index))?.device.id.is_host() {
                return Err(Error::UnsupportedOnDevice(
                    "saving or restoring the optimizer state of device parameters",
                ));
            }
        }
        Ok((optimizer, state.count as usize))
    }
}
