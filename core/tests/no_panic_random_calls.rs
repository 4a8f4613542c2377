//! The core does not panic on any input: seeded random sequences of public calls, with
//! valid, stale and forged handles, odd and huge shapes, bad lengths and tiny arenas, run
//! in a debug build (so integer overflow would panic too). After each sequence the tape
//! must still compute a correct gradient once reset.

mod common;

use autodiff_core::tensor::device::CpuDevice;
use autodiff_core::{
    Activation, Adam, DeviceId, Op, Optimizer, ParamId, Sgd, Tape, TensorId, VarId,
};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
    fn float(&mut self) -> f64 {
        match self.below(12) {
            0 => f64::NAN,
            1 => f64::INFINITY,
            2 => -0.0,
            3 => 1e300,
            _ => (self.next() >> 11) as f64 / (1u64 << 53) as f64 * 8.0 - 4.0,
        }
    }
    fn dim(&mut self) -> usize {
        match self.below(20) {
            0 => 0,
            1 => usize::MAX,
            2 => u32::MAX as usize,
            3 => 1 << 20,
            _ => 1 + self.below(5) as usize,
        }
    }
}

const OPS: [Op; 12] = [
    Op::Add,
    Op::Sub,
    Op::Mul,
    Op::Div,
    Op::Sin,
    Op::Exp,
    Op::Ln,
    Op::Sqrt,
    Op::Pow,
    Op::Max,
    Op::Input,
    Op::Tensor,
];

/// One random call. `vars` and `tensors` collect handles (some of them stale or forged).
fn random_call(
    tape: &mut Tape<f64>,
    rng: &mut Rng,
    vars: &mut Vec<VarId>,
    tensors: &mut Vec<TensorId>,
    params: &mut Vec<ParamId>,
) {
    let var = |rng: &mut Rng, vars: &[VarId]| match rng.below(8) {
        0 => VarId::INVALID,
        1 => VarId {
            index: rng.next() as u32,
            kind: rng.below(4) as u32,
            generation: rng.next() as u32,
            tape: rng.next() as u32,
        },
        _ if vars.is_empty() => VarId::INVALID,
        _ => vars[rng.below(vars.len() as u64) as usize],
    };
    let tensor = |rng: &mut Rng, tensors: &[TensorId]| match rng.below(8) {
        0 => TensorId::INVALID,
        1 => TensorId {
            index: rng.next() as u32,
            kind: rng.below(4) as u32,
            generation: rng.next() as u32,
            tape: rng.next() as u32,
        },
        _ if tensors.is_empty() => TensorId::INVALID,
        _ => tensors[rng.below(tensors.len() as u64) as usize],
    };
    let dims = |rng: &mut Rng| -> Vec<usize> { (0..rng.below(6)).map(|_| rng.dim()).collect() };
    // A random shape and its element count (capped: the data only has to be that long).
    let dims_and_len = |rng: &mut Rng| {
        let d = dims(rng);
        let n = d
            .iter()
            .try_fold(1usize, |a, &b| a.checked_mul(b))
            .unwrap_or(0)
            .min(64);
        (d, n)
    };
    // Mostly the attached device (number 1), sometimes the host or an unknown one.
    let device = |rng: &mut Rng| match rng.below(4) {
        0 => DeviceId::HOST,
        1 => DeviceId(rng.below(256) as u8),
        _ => DeviceId(1),
    };
    match rng.below(31) {
        0 => vars.push(tape.input_id(rng.float())),
        1 => vars.push(tape.constant_id(rng.float())),
        2 => vars.push(tape.unary_id(rng.pick(&OPS), var(rng, vars))),
        3 => vars.push(tape.binary_id(rng.pick(&OPS), var(rng, vars), var(rng, vars))),
        4 => vars.push(tape.powi_id(var(rng, vars), rng.next() as i32)),
        5 => vars.push(tape.binary_const_id(rng.pick(&OPS), var(rng, vars), rng.float())),
        6 => {
            let _ = tape.backward(var(rng, vars));
        }
        7 => {
            let seeds: Vec<f64> = (0..rng.below(4)).map(|_| rng.float()).collect();
            let _ = tape.jvp(&seeds);
        }
        8 => {
            let inputs: Vec<f64> = (0..tape.num_inputs() + rng.below(2) as usize)
                .map(|_| rng.float())
                .collect();
            let _ = tape.replay(&inputs);
        }
        9 => {
            let outs = [var(rng, vars), var(rng, vars)];
            let mut j = vec![0.0; rng.below(2 * tape.num_inputs() as u64 + 2) as usize];
            let _ = tape.jacobian_rows(&outs, &mut j);
            let _ = tape.jacobian_columns::<3>(&outs, &mut j);
        }
        10 => {
            let (d, n) = dims_and_len(rng);
            let data: Vec<f64> = (0..n + rng.below(2) as usize)
                .map(|_| rng.float())
                .collect();
            tensors.push(if rng.below(2) == 0 {
                tape.tensor_input(&d, &data)
            } else {
                tape.tensor_input_on(device(rng), &d, &data)
            });
        }
        11 => tensors.push(tape.matmul_t(
            tensor(rng, tensors),
            tensor(rng, tensors),
            rng.below(2) == 0,
            rng.below(2) == 0,
        )),
        12 => tensors.push(tape.tensor_add(tensor(rng, tensors), tensor(rng, tensors))),
        13 => tensors.push(tape.tensor_div(tensor(rng, tensors), tensor(rng, tensors))),
        14 => {
            let act = Activation::ALL[rng.below(10) as usize];
            tensors.push(tape.activation(tensor(rng, tensors), act));
        }
        15 => tensors.push(tape.sum_axis(tensor(rng, tensors), rng.below(6) as usize)),
        16 => tensors.push(tape.reshape(tensor(rng, tensors), &dims(rng))),
        17 => {
            let labels: Vec<u32> = (0..rng.below(5)).map(|_| rng.below(6) as u32).collect();
            tensors.push(tape.cross_entropy(tensor(rng, tensors), &labels));
        }
        18 => tensors.push(tape.linear(
            tensor(rng, tensors),
            tensor(rng, tensors),
            tensor(rng, tensors),
            Activation::ALL[rng.below(10) as usize],
        )),
        19 => {
            let t = tensor(rng, tensors);
            let mut out = vec![0.0; rng.below(40) as usize];
            let _ = tape.tensor_value(t, &mut out);
            let _ = tape.tensor_grad(t, &mut out);
            let _ = tape.set_tensor_value(t, &out);
            let _ = tape.seed_tensor_tangent(t, &out);
        }
        20 => {
            let (d, n) = dims_and_len(rng);
            if let Ok(p) = tape.parameter(&d, &vec![0.5; n]) {
                params.push(p);
            }
        }
        21 => {
            let optimizer = if rng.below(2) == 0 {
                Optimizer::Sgd(Sgd {
                    lr: rng.float(),
                    momentum: rng.float(),
                    weight_decay: rng.float(),
                })
            } else {
                Optimizer::Adam(Adam {
                    lr: rng.float(),
                    ..Adam::default()
                })
            };
            let _ = tape.set_optimizer(optimizer);
        }
        22 => {
            if let Some(&p) = params.get(rng.below(params.len() as u64 + 1) as usize) {
                tensors.push(tape.param(p));
                let mut out = vec![0.0; rng.below(40) as usize];
                let _ = tape.write_param(p, &out);
                let _ = tape.read_param_grad(p, &mut out);
            }
        }
        23 => {
            let _ = tape.optimizer_step();
        }
        24 => {
            let mut dot = String::new();
            let _ = tape.write_dot(&mut dot);
        }
        25 => {
            let (d, n) = dims_and_len(rng);
            let data = vec![rng.float(); n + rng.below(2) as usize];
            tensors.push(tape.tensor_input_on(device(rng), &d, &data));
        }
        26 => tensors.push(tape.to_device(tensor(rng, tensors), device(rng))),
        27 => tensors.push(tape.to_host(tensor(rng, tensors))),
        28 => {
            let _ = tape.set_default_device(device(rng));
            let n = rng.below(8) as usize;
            if let Ok(p) = tape.parameter_on(device(rng), &[n], &vec![0.25; n]) {
                params.push(p);
            }
        }
        29 if rng.below(8) == 0 => tape.release_devices(),
        _ => tape.reset(),
    }
}

#[test]
fn random_call_sequences_never_panic_and_leave_the_tape_usable() {
    let mut rng = Rng(0x5EED);
    let (mut calls, mut valid_tensors, mut checked) = (0usize, 0usize, 0usize);
    let (mut on_device, mut devices_checked) = (0usize, 0usize);
    // Under Miri, which runs them some thousand times slower, a fifteenth of the rounds
    // (and of the counts checked below).
    let rounds = if cfg!(miri) { 200 } else { 3000 };
    let at_least = |count: usize| count * rounds / 3000;
    for round in 0..rounds {
        let size = rng.pick(&[0usize, 8, 24, 100, 1000, 4096, 1 << 16]);
        // A device (the reference CPU one) with little or some memory, attached to
        // half the tapes.
        let device_capacity = rng.pick(&[0usize, 16, 256, 4096]);
        let mut device_memory = vec![0.0f64; device_capacity];
        let device = CpuDevice::new(&mut device_memory);
        let mut mem = common::memory(size);
        let Ok(mut tape) = Tape::<f64>::new(&mut mem) else {
            assert!(
                size < 48,
                "round {round}: a {size}-byte arena should hold a tape"
            );
            continue;
        };
        let mut other_mem = common::memory(4096);
        let other = Tape::<f64>::new(&mut other_mem).unwrap();
        let (mut vars, mut tensors, mut params) =
            (vec![other.input_id(1.0)], Vec::new(), Vec::new());
        if rng.below(2) == 0 {
            let _ = tape.attach_device(&device);
        }
        for _ in 0..rng.below(120) {
            let before = tensors.len();
            random_call(&mut tape, &mut rng, &mut vars, &mut tensors, &mut params);
            calls += 1;
            valid_tensors += tensors[before..].iter().filter(|t| t.is_valid()).count();
            on_device += tensors[before..]
                .iter()
                .filter(|&&t| tape.tensor_device(t).is_ok_and(|d| !d.is_host()))
                .count();
            // Errors are sticky; reset half the time so later calls get to run (the
            // handles collected so far become stale, which is worth exercising too).
            if tape.status().is_err() && rng.below(2) == 0 {
                tape.reset();
            }
        }
        tape.reset();
        // Parameters survive reset and may fill a small arena; check the others.
        if size >= 1000 && params.is_empty() {
            let (x, y) = (tape.input(3.0), tape.input(2.0));
            let f = (x + y) * (x - 2.0 * y);
            let mut g = [0.0; 2];
            tape.gradient_into(f.id(), &mut g)
                .unwrap_or_else(|e| panic!("round {round}: {e}"));
            assert_eq!(g, [4.0, -11.0], "round {round}");
            checked += 1;
            // The device still computes after whatever the sequence did to it.
            // (No parameters: the whole device memory is free after the reset.)
            if tape.num_devices() == 1 && device_capacity >= 16 && size >= 4096 {
                tape.reset();
                let x = tape.tensor_input_on(DeviceId(1), &[2], &[3.0, 4.0]);
                let loss = tape.sum(tape.square(x));
                tape.backward(loss.as_var()).unwrap_or_else(|e| {
                    panic!(
                        "round {round}: {e} (device {device_capacity}, used {})",
                        device.used()
                    )
                });
                let mut g = [0.0; 2];
                tape.tensor_grad(x, &mut g).unwrap();
                assert_eq!(g, [6.0, 8.0], "round {round}");
                devices_checked += 1;
            }
        }
    }
    // The sequences really exercised the library (and did not all fail at once).
    assert!(calls > at_least(100_000), "only {calls} calls");
    assert!(
        valid_tensors > at_least(500),
        "only {valid_tensors} tensors were ever live"
    );
    assert!(
        on_device > at_least(150),
        "only {on_device} device tensors were ever live"
    );
    assert!(
        devices_checked > at_least(40),
        "only {devices_checked} devices were checked"
    );
    assert!(
        checked > at_least(500),
        "only {checked} tapes were checked after their sequence"
    );
}
