//! What `include/autodiff_inline.h` relies on, checked when the library compiles: the
//! tape pointer's first bytes (the live marker, then the record cursor), and the op
//! codes it writes. The cursor's own layout is checked in the core (`RecordCursor`).

use super::{Header, LIVE};
use autodiff_core::Op;
use core::mem::offset_of;

const _: () = {
    assert!(offset_of!(Header, magic) == 0);
    assert!(offset_of!(Header, cursor) == 8);
    // `AD_INLINE_LIVE_`.
    assert!(LIVE == 0x6164_7461_7065_2131);
    // `AD_INLINE_OP_*_`.
    assert!(Op::Add as u32 == 2);
    assert!(Op::Sub as u32 == 3);
    assert!(Op::Mul as u32 == 4);
    assert!(Op::Div as u32 == 5);
    assert!(Op::Neg as u32 == 12);
    assert!(Op::Recip as u32 == 13);
    assert!(Op::Abs as u32 == 35);
    assert!(Op::AddConst as u32 == 39);
    assert!(Op::MulConst as u32 == 40);
    assert!(Op::DivConst as u32 == 41);
    assert!(Op::ConstSub as u32 == 42);
    assert!(Op::ConstDiv as u32 == 43);
    // `AD_INLINE_OP_WIDE_FROM_CONST_`: each wide form is its inline form + 7.
    assert!(Op::AddWide as u32 == Op::AddConst as u32 + 7);
    assert!(Op::MulWide as u32 == Op::MulConst as u32 + 7);
    assert!(Op::DivWide as u32 == Op::DivConst as u32 + 7);
    assert!(Op::WideSub as u32 == Op::ConstSub as u32 + 7);
    assert!(Op::WideDiv as u32 == Op::ConstDiv as u32 + 7);
};
