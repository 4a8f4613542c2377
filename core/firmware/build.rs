//! Puts the memory map of the board that runs the programs where cortex-m-rt's
//! `link.x` looks for `memory.x`. `AUTODIFF_FIRMWARE_BOARD` names the board (a file in
//! `memory/`); by default it is QEMU's Cortex-M4F board (mps2-an386) for
//! `thumbv7em-none-eabihf`, and its Cortex-M3 board (mps2-an385), which runs ARMv6-M
//! code, for `thumbv6m-none-eabi`: QEMU's one Cortex-M0 board, the micro:bit, has
//! 16 KiB of RAM, which holds the seed program but not the others. Host builds need
//! no memory map.

use std::{env, fs, path::PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=memory");
    println!("cargo:rerun-if-env-changed=AUTODIFF_FIRMWARE_BOARD");
    let target = env::var("TARGET").unwrap_or_default();
    let default_board = if target.starts_with("thumbv7em") {
        "mps2-an386"
    } else if target.starts_with("thumbv6m") {
        "mps2-an385"
    } else {
        return;
    };
    let board = env::var("AUTODIFF_FIRMWARE_BOARD").unwrap_or_else(|_| default_board.into());
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let map = format!("memory/{board}.x");
    if let Err(error) = fs::copy(&map, out.join("memory.x")) {
        panic!("no memory map {map} for board {board}: {error}");
    }
    println!("cargo:rustc-link-search={}", out.display());
}
