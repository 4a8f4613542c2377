//! Sticky errors: the first failure of a recording is kept, everything after it records
//! nothing, what came before it is intact, every query reports it, and `reset` makes the
//! tape whole again. Also: which handles a tape rejects, and how.

use autodiff_core::{Error, Op, Tape, Var, VarId};
use core::mem::MaybeUninit;

const BPR: usize = Tape::<f64>::bytes_per_record();

/// Memory aligned for records, so a tape of `k · BPR` bytes holds exactly `k` records.
#[repr(C, align(16))]
struct Aligned<const N: usize>([MaybeUninit<u8>; N]);

impl<const N: usize> Aligned<N> {
    fn new() -> Self {
        Aligned([MaybeUninit::uninit(); N])
    }
}

/// A fixed recording mixing every way to record: inputs, constants, `Var` operators and
/// methods, constants on either side (two records each), and the `*_id` calls. Returns
/// each step's handle.
fn script(tape: &Tape<'_, f64>) -> Vec<VarId> {
    let mut ids = Vec::new();
    let x = tape.input(0.5);
    ids.push(x.id());
    let y = tape.input(-1.25);
    ids.push(y.id());
    let z = Var::from_id(tape, tape.input_id(2.0));
    ids.push(z.id());
    let c = tape.constant(3.0);
    ids.push(c.id());
    let a = x * y;
    ids.push(a.id());
    let b = a.sin();
    ids.push(b.id());
    let d = b + z;
    ids.push(d.id());
    let e = d * 2.0; // constant + product
    ids.push(e.id());
    let f = e.exp();
    ids.push(f.id());
    let g = 1.5 - f; // constant + difference
    ids.push(g.id());
    let h = tape.unary_id(Op::Tanh, g.id());
    ids.push(h);
    let i = tape.binary_id(Op::Atan2, h, y.id());
    ids.push(i);
    let j = tape.powi_id(i, 3);
    ids.push(j);
    let k = Var::from_id(tape, j).hypot(x);
    ids.push(k.id());
    let l = k / c;
    ids.push(l.id());
    let m = x.sin(); // only live arguments: still refused once the tape has failed
    ids.push(m.id());
    let n = l.max(m) - z.min(y);
    ids.push(n.id());
    let o = n.powf(2.0); // constant + power
    ids.push(o.id());
    ids
}

/// Records on the tape after each step, taken from a run on a tape with room to spare.
fn reference() -> (Vec<usize>, Vec<f64>) {
    let mut mem = Aligned::<8192>::new();
    let tape = Tape::<f64>::new(&mut mem.0).unwrap();
    // A step's handle is the last record it made, so its index + 1 counts the records.
    let ids = script(&tape);
    tape.status().unwrap();
    let counts = ids.iter().map(|id| id.index as usize + 1).collect();
    let values = ids.iter().map(|&id| tape.value(id).unwrap()).collect();
    (counts, values)
}

fn assert_queries_report(tape: &Tape<'_, f64>, error: Error, some_live: VarId) {
    let n = tape.num_inputs();
    assert_eq!(tape.status(), Err(error));
    assert_eq!(tape.backward(some_live), Err(error), "backward");
    assert_eq!(tape.grad(some_live), Err(error), "grad");
    assert_eq!(tape.tangent(some_live), Err(error), "tangent");
    assert_eq!(tape.jvp(&vec![1.0; n]), Err(error), "jvp");
    assert_eq!(tape.replay(&vec![1.0; n]), Err(error), "replay");
    assert_eq!(
        tape.gradient_into(some_live, &mut vec![0.0; n]),
        Err(error),
        "gradient_into"
    );
    assert_eq!(
        tape.jacobian_rows(&[some_live], &mut vec![0.0; n]),
        Err(error),
        "jacobian_rows"
    );
    assert_eq!(
        tape.jacobian_columns::<2>(&[some_live], &mut vec![0.0; n]),
        Err(error),
        "jacobian_columns"
    );
    assert!(
        tape.gradient(Var::from_id(tape, some_live)).is_err(),
        "gradient"
    );
    assert_eq!(
        tape.tensor_input(&[1], &[0.0]),
        autodiff_core::TensorId::INVALID,
        "tensor allocation"
    );
    assert_eq!(
        tape.status(),
        Err(error),
        "tensor allocation keeps the first error"
    );
}

/// After `reset`, a chain `sin(sin(…sin(x)))` that fills all `capacity` records records
/// cleanly and differentiates correctly; one more op is out of memory again.
fn fill_after_reset(tape: &mut Tape<'_, f64>, capacity: usize) {
    tape.reset();
    tape.status().unwrap();
    assert!(tape.is_empty());
    let x0 = 0.75;
    let x = tape.input(x0);
    let mut v = x;
    let (mut value, mut derivative) = (x0, 1.0);
    for _ in 1..capacity {
        derivative *= f64::cos(value);
        value = autodiff_core::Real::sin(value);
        v = v.sin();
    }
    tape.status().unwrap();
    assert_eq!(tape.len(), capacity);
    assert_eq!(v.value(), value);
    let mut g = [0.0];
    tape.gradient_into(v.id(), &mut g).unwrap();
    assert!(
        (g[0] - derivative).abs() <= 1e-15,
        "got {}, want {derivative}",
        g[0]
    );
    assert_eq!(v.sin().id(), VarId::INVALID);
    assert!(matches!(tape.status(), Err(Error::OutOfMemory { .. })));
}

#[test]
fn running_out_of_memory_at_every_record_of_a_recording() {
    let (counts, values) = reference();
    let total = *counts.last().unwrap();
    assert!(
        total > counts.len(),
        "the script should include two-record steps"
    );
    let mut mem = Aligned::<8192>::new();
    // From one record (the least a tape accepts) to all of them, with and without spare
    // bytes that are too few for another record.
    for capacity in 1..=total {
        for spare in [0, 1, BPR - 1] {
            let size = capacity * BPR + spare;
            let mut tape = Tape::<f64>::new(&mut mem.0[..size]).unwrap();
            assert_eq!(tape.capacity_bytes(), size);
            let ids = script(&tape);
            let at = format!("{capacity} records + {spare} bytes");
            if capacity == total {
                tape.status().unwrap();
                assert!(ids.iter().all(|id| id.is_valid()));
                assert_eq!(tape.len(), total);
                continue;
            }
            let oom = Error::OutOfMemory {
                needed: BPR,
                free: spare,
            };
            assert_eq!(tape.status(), Err(oom), "{at}");
            let message = oom.to_string();
            assert!(
                message.contains(&format!("needed {BPR} bytes"))
                    && message.contains(&format!("{spare} bytes free")),
                "{message}"
            );
            // Exactly the records that fit were made; the failing step and all after it
            // returned the invalid handle; earlier values are intact.
            assert_eq!(tape.len(), capacity, "{at}");
            for (step, (&id, &count)) in ids.iter().zip(&counts).enumerate() {
                if count <= capacity {
                    assert_eq!(id.index as usize, count - 1, "{at}, step {step}");
                    assert_eq!(
                        tape.value(id).unwrap().to_bits(),
                        values[step].to_bits(),
                        "{at}, step {step}"
                    );
                } else {
                    assert_eq!(id, VarId::INVALID, "{at}, step {step}");
                    assert_eq!(tape.value(id), Err(Error::ForeignHandle));
                }
            }
            // More ops, on live and on invalid handles, still record nothing.
            let live = ids[0];
            assert_eq!(tape.unary_id(Op::Exp, live), VarId::INVALID);
            assert_eq!(tape.input_id(1.0), VarId::INVALID);
            assert_eq!(tape.binary_id(Op::Add, live, live), VarId::INVALID);
            assert!(Var::from_id(&tape, live).cos().value().is_nan());
            assert_eq!(tape.len(), capacity, "{at}");
            assert_queries_report(&tape, oom, live);
            fill_after_reset(&mut tape, capacity);
        }
    }
}

#[test]
fn a_tape_needs_room_for_one_record() {
    let mut mem = Aligned::<64>::new();
    for size in 0..BPR {
        assert_eq!(
            Tape::<f64>::new(&mut mem.0[..size]).err(),
            Some(Error::OutOfMemory {
                needed: BPR,
                free: size
            })
        );
    }
    let tape = Tape::<f64>::new(&mut mem.0[..BPR]).unwrap();
    assert!(tape.input(1.0).id().is_valid());
    assert_eq!(tape.input(2.0).id(), VarId::INVALID);
}

#[test]
fn handles_from_before_a_reset_are_stale() {
    let mut mem = Aligned::<4096>::new();
    let mut tape = Tape::<f64>::new(&mut mem.0).unwrap();
    // A `Var` cannot outlive a reset (it borrows the tape); bare handles can.
    let x = tape.input(2.0);
    let (x, y) = (x.id(), (x * x).id());
    tape.reset();
    // Queries on a stale handle say so directly, and set no error.
    assert_eq!(tape.value(y), Err(Error::StaleHandle));
    assert_eq!(tape.grad(x), Err(Error::StaleHandle));
    assert_eq!(tape.backward(y), Err(Error::StaleHandle));
    assert!(Var::from_id(&tape, y).value().is_nan());
    tape.status().unwrap();
    // Even when the new generation has a record at the same index.
    let x2 = tape.input_id(5.0);
    assert_eq!(x2.index, x.index);
    assert_eq!(tape.value(x), Err(Error::StaleHandle));
    assert_eq!(tape.value(x2), Ok(5.0));
    // Recording with one is the tape's first error.
    let z = tape.binary_id(Op::Add, x2, x);
    assert_eq!(z, VarId::INVALID);
    assert_eq!(tape.status(), Err(Error::StaleHandle));
    assert_eq!(tape.len(), 1);

    // Several generations later, the first handles are still stale, not foreign.
    for _ in 0..5 {
        tape.reset();
    }
    assert_eq!(tape.value(x), Err(Error::StaleHandle));
    assert_eq!(tape.value(x2), Err(Error::StaleHandle));
    let _ = tape.unary_id(Op::Exp, x);
    assert_eq!(tape.status(), Err(Error::StaleHandle));
}

#[test]
fn handles_from_another_tape_are_foreign() {
    let mut mem1 = Aligned::<4096>::new();
    let mut mem2 = Aligned::<4096>::new();
    let t1 = Tape::<f64>::new(&mut mem1.0).unwrap();
    let t2 = Tape::<f64>::new(&mut mem2.0).unwrap();
    let a = t1.input(1.0);
    let b = t2.input(2.0);
    // Through the operators: the left operand's tape records the error.
    assert_eq!((a + b).id(), VarId::INVALID);
    assert_eq!(t1.status(), Err(Error::ForeignHandle));
    t2.status().unwrap();
    // Through bare handles.
    assert_eq!(t2.value(a.id()), Err(Error::ForeignHandle));
    assert_eq!(t2.backward(a.id()), Err(Error::ForeignHandle));
    assert_eq!(Var::from_id(&t2, a.id()).sin().id(), VarId::INVALID);
    assert_eq!(t2.status(), Err(Error::ForeignHandle));
    assert_eq!(t2.len(), 1);
}

#[test]
fn the_invalid_handle_is_rejected_everywhere() {
    let mut mem = Aligned::<4096>::new();
    let tape = Tape::<f64>::new(&mut mem.0).unwrap();
    let x = tape.input(1.0);
    assert!(!VarId::INVALID.is_valid());
    assert_eq!(tape.value(VarId::INVALID), Err(Error::ForeignHandle));
    assert_eq!(tape.grad(VarId::INVALID), Err(Error::ForeignHandle));
    assert_eq!(tape.backward(VarId::INVALID), Err(Error::ForeignHandle));
    assert_eq!(
        tape.jacobian_rows(&[VarId::INVALID], &mut [0.0]),
        Err(Error::ForeignHandle)
    );
    assert_eq!(
        tape.jacobian_columns::<1>(&[VarId::INVALID], &mut [0.0]),
        Err(Error::ForeignHandle)
    );
    tape.status().unwrap();
    assert_eq!(
        tape.binary_id(Op::Mul, x.id(), VarId::INVALID),
        VarId::INVALID
    );
    assert_eq!(tape.status(), Err(Error::ForeignHandle));
    assert_eq!(tape.len(), 1);
}

#[test]
fn forged_handles_past_the_end_are_rejected() {
    let mut mem = Aligned::<4096>::new();
    let mut tape = Tape::<f64>::new(&mut mem.0).unwrap();
    for index in [
        2,
        3,
        100,
        1 << 20,
        autodiff_core::MAX_RECORDS,
        u32::MAX - 1,
        u32::MAX,
    ] {
        // Two live records, then a handle with this generation's tag past them.
        tape.reset();
        let x = tape.input(1.0);
        let _ = x.sin();
        let forged = VarId { index, ..x.id() };
        assert!(tape.value(forged).is_err(), "value at {index}");
        assert!(tape.grad(forged).is_err(), "grad at {index}");
        assert!(tape.backward(forged).is_err(), "backward at {index}");
        assert!(tape.jacobian_rows(&[forged], &mut [0.0]).is_err());
        assert!(tape.jacobian_columns::<2>(&[forged], &mut [0.0]).is_err());
        tape.status().unwrap();
        assert_eq!(tape.unary_id(Op::Sin, forged), VarId::INVALID);
        assert_eq!(tape.binary_id(Op::Add, x.id(), forged), VarId::INVALID);
        assert!(matches!(
            tape.status(),
            Err(Error::StaleHandle | Error::ForeignHandle)
        ));
        assert_eq!(tape.len(), 2);
    }
    tape.reset();
    // Wrong generations, tapes or kinds on an in-range index: never accepted.
    let live = tape.input(3.0).id();
    for bits in [0u32, 1, 2, 0xDEAD_BEEF, u32::MAX] {
        for forged in [
            VarId {
                generation: bits,
                ..live
            },
            VarId { tape: bits, ..live },
            VarId { kind: bits, ..live },
        ] {
            if forged != live {
                assert!(matches!(
                    tape.value(forged),
                    Err(Error::StaleHandle | Error::ForeignHandle | Error::WrongHandleKind { .. })
                ));
            }
        }
    }
    tape.status().unwrap();
}

#[test]
fn buffers_of_the_wrong_length_are_invalid_arguments_and_do_not_poison_the_tape() {
    let mut mem = Aligned::<4096>::new();
    let tape = Tape::<f64>::new(&mut mem.0).unwrap();
    let (x, y) = (tape.input(3.0), tape.input(2.0));
    let f = (x + y) * (x - 2.0 * y);
    let invalid = |r: autodiff_core::Result<()>| matches!(r, Err(Error::LengthMismatch { .. }));
    for n in [0, 1, 3] {
        assert!(
            invalid(tape.gradient_into(f.id(), &mut vec![0.0; n])),
            "gradient_into {n}"
        );
        assert!(invalid(tape.jvp(&vec![1.0; n])), "jvp {n}");
        assert!(invalid(tape.replay(&vec![1.0; n])), "replay {n}");
    }
    for len in [0, 1, 3, 5] {
        assert!(invalid(
            tape.jacobian_rows(&[f.id(), x.id()], &mut vec![0.0; len])
        ));
        assert!(invalid(
            tape.jacobian_columns::<2>(&[f.id(), x.id()], &mut vec![0.0; len])
        ));
    }
    assert!(matches!(
        tape.jacobian_columns::<0>(&[f.id()], &mut [0.0; 2]),
        Err(Error::InvalidArgument(_))
    ));
    // The message gives both numbers.
    let message = tape.jvp(&[1.0]).unwrap_err().to_string();
    assert_eq!(message, "seed length 1 differs from the number of inputs 2");
    let message = tape
        .gradient_into(f.id(), &mut [0.0; 3])
        .unwrap_err()
        .to_string();
    assert_eq!(
        message,
        "gradient buffer length 3 differs from the number of inputs 2"
    );
    // None of these is sticky: the tape works on.
    tape.status().unwrap();
    let mut g = [0.0; 2];
    tape.gradient_into(f.id(), &mut g).unwrap();
    assert_eq!(g, [4.0, -11.0]);
}

#[test]
fn recording_an_op_of_the_wrong_arity_is_a_sticky_invalid_argument() {
    let mut mem = Aligned::<4096>::new();
    let mut tape = Tape::<f64>::new(&mut mem.0).unwrap();
    let x = tape.input(3.0);
    assert_eq!(tape.unary_id(Op::Add, x.id()), VarId::INVALID);
    assert!(matches!(tape.status(), Err(Error::InvalidArgument(_))));
    tape.reset();
    let x = tape.input(3.0);
    assert_eq!(
        tape.unary_id(Op::Powi, x.id()),
        VarId::INVALID,
        "powi needs its exponent"
    );
    assert!(matches!(tape.status(), Err(Error::InvalidArgument(_))));
    tape.reset();
    for op in [Op::Sin, Op::Input, Op::Const, Op::Tensor] {
        let x = tape.input_id(3.0);
        assert_eq!(tape.binary_id(op, x, x), VarId::INVALID);
        assert!(matches!(tape.status(), Err(Error::InvalidArgument(_))));
        tape.reset();
    }
    assert_eq!(tape.unary_id(Op::Input, tape.input_id(1.0)), VarId::INVALID);
    assert_eq!(tape.len(), 1);
}

#[test]
fn backward_from_a_non_finite_output_is_refused_without_poisoning_the_tape() {
    let mut mem = Aligned::<4096>::new();
    let tape = Tape::<f64>::new(&mut mem.0).unwrap();
    let x = tape.input(-1.0);
    let fine = x * x;
    let nan = x.ln();
    let inf = (x + 1.0).recip();
    assert!(matches!(tape.backward(nan.id()), Err(Error::NonFinite(_))));
    assert!(matches!(tape.backward(inf.id()), Err(Error::NonFinite(_))));
    assert!(matches!(
        tape.gradient_into(nan.id(), &mut [0.0]),
        Err(Error::NonFinite(_))
    ));
    assert!(tape.gradient(nan).is_err());
    tape.status().unwrap();
    tape.backward(fine.id()).unwrap();
    assert_eq!(x.grad(), -2.0);
}

#[test]
fn the_first_error_wins() {
    let mut mem = Aligned::<4096>::new();
    let mut other_mem = Aligned::<4096>::new();
    let other = Tape::<f64>::new(&mut other_mem.0).unwrap();
    let foreign = other.input(1.0);
    let mut tape = Tape::<f64>::new(&mut mem.0[..3 * BPR]).unwrap();
    let stale = tape.input_id(1.0);
    tape.reset();
    let x = tape.input_id(1.0);

    // Stale first; then foreign, invalid argument, out of memory: still stale.
    let _ = tape.binary_id(Op::Add, x, stale);
    assert_eq!(tape.status(), Err(Error::StaleHandle));
    let _ = tape.binary_id(Op::Add, x, foreign.id());
    let _ = tape.unary_id(Op::Add, x);
    for _ in 0..5 {
        let _ = tape.input(0.0);
    }
    assert_eq!(tape.status(), Err(Error::StaleHandle));

    // Out of memory first; then the others: still out of memory.
    tape.reset();
    for _ in 0..4 {
        let _ = tape.input(0.0);
    }
    let oom = Error::OutOfMemory {
        needed: BPR,
        free: 0,
    };
    assert_eq!(tape.status(), Err(oom));
    let _ = tape.unary_id(Op::Sin, stale);
    let _ = tape.unary_id(Op::Sin, foreign.id());
    let _ = tape.binary_id(Op::Sin, VarId::INVALID, VarId::INVALID);
    tape.fail(Error::InvalidArgument("a later error"));
    assert_eq!(tape.status(), Err(oom));

    // `fail` itself sets the error when none is pending.
    tape.reset();
    assert_eq!(tape.fail(Error::NoDevice), VarId::INVALID);
    let _ = tape.input(0.0);
    assert_eq!(tape.status(), Err(Error::NoDevice));
    assert!(tape.is_empty());
}

#[test]
fn the_tape_is_usable_after_every_kind_of_error_once_reset() {
    let mut mem = Aligned::<4096>::new();
    let mut other_mem = Aligned::<4096>::new();
    let other = Tape::<f64>::new(&mut other_mem.0).unwrap();
    let foreign = other.input(1.0).id();
    let mut tape = Tape::<f64>::new(&mut mem.0[..16 * BPR]).unwrap();
    let old = tape.input(1.0).id();
    tape.reset();
    type Provoke = fn(&Tape<'_, f64>, VarId, VarId);
    let provocations: [(&str, Provoke); 6] = [
        ("out of memory", |t, _, _| {
            for _ in 0..20 {
                let _ = t.input(1.0);
            }
        }),
        ("stale", |t, old, _| {
            let _ = t.unary_id(Op::Exp, old);
        }),
        ("foreign", |t, _, foreign| {
            let _ = t.unary_id(Op::Exp, foreign);
        }),
        ("invalid handle", |t, _, _| {
            let _ = t.unary_id(Op::Exp, VarId::INVALID);
        }),
        ("wrong arity", |t, _, _| {
            let x = t.input_id(1.0);
            let _ = t.binary_id(Op::Exp, x, x);
        }),
        ("high-end allocation", |t, _, _| {
            let _ = t.tensor_input(&[1000], &[0.0; 1000]);
        }),
    ];
    for (what, provoke) in provocations {
        provoke(&tape, old, foreign);
        assert!(tape.status().is_err(), "{what} should have failed");
        tape.reset();
        tape.status().unwrap();
        let (x, y) = (tape.input(3.0), tape.input(2.0));
        let f = (x + y) * (x - 2.0 * y);
        let mut g = [0.0; 2];
        tape.gradient_into(f.id(), &mut g).unwrap();
        assert_eq!((f.value(), g), (-5.0, [4.0, -11.0]), "after {what}");
        tape.reset();
    }
}

#[test]
fn jacobian_scratch_that_does_not_fit_fails_the_query_not_the_tape() {
    let mut mem = Aligned::<4096>::new();
    // Room for 7 records and 2 more (48 bytes): not for the 7 × 3 lanes (168 bytes)
    // of a 3-column sweep, nor the 56 bytes of a 1-column one. The constant takes a
    // record of its own.
    let mut tape = Tape::<f64>::new(&mut mem.0[..9 * BPR]).unwrap();
    let (x, y) = (tape.input(3.0), tape.input(2.0));
    let f = (x + y) * (x - tape.constant(2.1) * y);
    assert_eq!(tape.len(), 7);
    let mut jac = [0.0; 2];
    assert!(matches!(
        tape.jacobian_columns::<3>(&[f.id()], &mut jac),
        Err(Error::OutOfMemory { .. })
    ));
    assert!(matches!(
        tape.jacobian_columns::<1>(&[f.id()], &mut jac),
        Err(Error::OutOfMemory { .. })
    ));
    tape.status().unwrap();
    // The scratch was given back: the two spare records are still there.
    assert!(tape.input(0.0).id().is_valid());
    assert!(tape.input(0.0).id().is_valid());
    assert_eq!(tape.input(0.0).id(), VarId::INVALID);
    tape.reset();
    let (x, y) = (tape.input(3.0), tape.input(2.0));
    let f = (x + y) * (x - 2.0 * y);
    // Rows need no scratch at all.
    tape.jacobian_rows(&[f.id()], &mut jac).unwrap();
    assert_eq!(jac, [4.0, -11.0]);
}

#[test]
fn jacobian_rows_checks_its_outputs_and_the_tape_even_with_nothing_to_compute() {
    let mut mem = Aligned::<4096>::new();
    let tape = Tape::<f64>::new(&mut mem.0).unwrap();
    let c = tape.constant(2.0);
    let s = c.sin();
    // No inputs, so the Jacobian has no entries, but the outputs must still be live.
    assert_eq!(tape.jacobian_rows(&[s.id()], &mut []), Ok(()));
    assert_eq!(
        tape.jacobian_rows(&[VarId::INVALID], &mut []),
        Err(Error::ForeignHandle)
    );
    assert_eq!(
        tape.jacobian_columns::<2>(&[VarId::INVALID], &mut []),
        Err(Error::ForeignHandle)
    );
    // A pending error is reported even for no outputs, as by jacobian_columns.
    let _ = tape.unary_id(Op::Sin, VarId::INVALID);
    assert_eq!(tape.jacobian_rows(&[], &mut []), Err(Error::ForeignHandle));
    assert_eq!(
        tape.jacobian_columns::<2>(&[], &mut []),
        Err(Error::ForeignHandle)
    );
}
