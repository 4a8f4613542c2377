//! What must hold on a machine without a GPU, with and without the `cuda` feature: every
//! entry point reports `NoDevice` instead of panicking, and (with the feature) the kernels
//! are compiled and embedded. On a machine with a GPU the no-device checks are skipped;
//! `tests/gpu/run.sh` covers that case.

use autodiff_core::{Error, Float, TensorDevice};
use autodiff_cuda::kernels::{embedded_fatbins, Kernel};
use autodiff_cuda::{device_count, CudaError, Device, COMPILED_WITH_CUDA};

/// Whether this machine has a usable GPU (only possible with the feature).
fn gpu_present() -> bool {
    Device::probe().is_ok()
}

fn assert_no_device<T: std::fmt::Debug>(what: &str, result: Result<T, CudaError>) {
    match result {
        Err(CudaError::NoDevice(why)) => {
            assert!(!why.is_empty(), "{what}: NoDevice without a reason");
            if !COMPILED_WITH_CUDA {
                assert!(why.contains("`cuda` feature"), "{what}: {why}");
            }
        }
        other => panic!("{what}: expected NoDevice, got {other:?}"),
    }
}

#[test]
fn every_entry_point_reports_no_device_without_a_gpu() {
    if gpu_present() {
        eprintln!("skipped: this machine has a GPU");
        return;
    }
    assert_no_device("probe", Device::probe());
    assert_no_device("describe(0)", Device::describe(0));
    assert_no_device("describe(7)", Device::describe(7));
    assert_no_device("device_count", device_count());
    assert_no_device("open", Device::open(0, 1 << 20));
    // Asking twice changes nothing (no half-initialised global state).
    assert_no_device("probe again", Device::probe());
}

/// A `Device` is the core's `TensorDevice` for both element types in every build (the
/// stub's impl compiles too), usable as a trait object; without a GPU a tape gets the
/// core's `NoDevice` when it opens one, so no method of the impl can be reached.
#[test]
fn a_tape_gets_no_device_when_it_opens_one() {
    fn for_tape<T: Float>(device: Device) -> Box<dyn TensorDevice<T>>
    where
        Device: TensorDevice<T>,
    {
        Box::new(device)
    }
    if gpu_present() {
        eprintln!("skipped: this machine has a GPU");
        return;
    }
    let open = || Device::open(0, 1 << 20).map_err(Error::from);
    assert_eq!(open().map(for_tape::<f32>).err(), Some(Error::NoDevice));
    assert_eq!(open().map(for_tape::<f64>).err(), Some(Error::NoDevice));
}

#[test]
fn no_device_maps_to_the_core_error() {
    let core: autodiff_core::Error = CudaError::NoDevice("x".into()).into();
    assert_eq!(core, autodiff_core::Error::NoDevice);
    let oom: autodiff_core::Error = CudaError::OutOfMemory { needed: 8, free: 4 }.into();
    assert_eq!(
        oom,
        autodiff_core::Error::OutOfMemory { needed: 8, free: 4 }
    );
    assert!(CudaError::NoDevice("no driver".into())
        .to_string()
        .starts_with("no device"));
}

#[test]
fn fatbins_are_embedded_exactly_with_the_feature() {
    let fatbins = embedded_fatbins();
    if !COMPILED_WITH_CUDA {
        assert!(fatbins.is_empty());
        return;
    }
    assert!(!fatbins.is_empty());
    let total: usize = fatbins.iter().map(|(_, bytes)| bytes.len()).sum();
    eprintln!(
        "embedded fatbins: {total} bytes in {} modules",
        fatbins.len()
    );
    for (name, bytes) in fatbins {
        assert!(!bytes.is_empty(), "{name}: empty fatbin");
        // The fatbin container's magic number (0xBA55ED50, little-endian).
        assert_eq!(
            &bytes[..4],
            &[0x50, 0xED, 0x55, 0xBA],
            "{name}: not a fatbin"
        );
    }
}

#[test]
fn fatbins_contain_every_kernel_for_both_float_types() {
    if !COMPILED_WITH_CUDA {
        return;
    }
    let fatbins = embedded_fatbins();
    for symbol in Kernel::all_symbols() {
        let found = fatbins
            .iter()
            .any(|(_, bytes)| bytes.windows(symbol.len()).any(|w| w == symbol.as_bytes()));
        assert!(found, "kernel {symbol} is not in the embedded fatbins");
    }
}

/// The kernel table and the `.cu` sources agree, checked from the sources so that a
/// machine without nvcc catches a kernel added on one side only.
#[test]
fn kernel_table_matches_the_cuda_sources() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("kernels");
    let mut defined = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "cu") {
            let text = std::fs::read_to_string(&path).unwrap();
            for line in text.lines() {
                if let Some(rest) = line.strip_prefix("KERNEL(") {
                    defined.push(rest.split(',').next().unwrap().trim().to_string());
                }
            }
        }
    }
    defined.sort();
    let mut table: Vec<String> = Kernel::ALL
        .iter()
        .map(|k| k.base_name().to_string())
        .collect();
    table.sort();
    assert_eq!(defined, table);
}
