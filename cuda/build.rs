//! With the `cuda` feature, compiles every `kernels/*.cu` into a fatbin (sm_90 SASS plus
//! compute_90 PTX, so newer GPUs JIT the PTX) and writes `fatbins.rs`, which embeds them
//! with `include_bytes!`. Without the feature it does nothing and needs no CUDA.
//!
//! nvcc is found, in order, from `$NVCC`, `PATH`, the private venv that
//! `cuda/install-nvcc.sh` makes (`.venv-cuda` at the repository root), and the `nvidia`
//! Python package of `python3`. The command line comes from the `cc` crate's CUDA tool
//! (so `NVCC_FLAGS`-style settings and the host compiler choice follow cc's rules), with
//! `-fatbin` in place of `-c`.

fn main() {
    println!("cargo:rerun-if-changed=kernels");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=NVCC");
    #[cfg(feature = "cuda")]
    fatbins::build();
}

#[cfg(feature = "cuda")]
mod fatbins {
    use std::env;
    use std::fs;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    /// The GPU generation the SASS is built for, and the PTX embedded beside it.
    const GENCODE: &str = "arch=compute_90,code=[sm_90,compute_90]";

    pub fn build() {
        let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
        let out = PathBuf::from(env::var("OUT_DIR").unwrap());
        let nvcc = find_nvcc(&manifest).unwrap_or_else(|| {
            panic!(
                "the `cuda` feature needs nvcc 13.0: run `cuda/install-nvcc.sh` (or `make cuda`), \
             or set NVCC to its path"
            )
        });

        let mut sources: Vec<PathBuf> = fs::read_dir(manifest.join("kernels"))
            .expect("cuda/kernels")
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "cu"))
            .collect();
        sources.sort();
        assert!(!sources.is_empty(), "no kernels in cuda/kernels");

        // cc reads nvcc's path from NVCC; the build script is single-threaded.
        env::set_var("NVCC", &nvcc);
        let tool = cc::Build::new()
            .cuda(true)
            .cudart("none")
            .debug(false)
            .opt_level(3)
            .cargo_metadata(false)
            .get_compiler();
        let mut modules = String::from(
            "/// The embedded kernel modules: (source file stem, fatbin).\n\
         pub(crate) const MODULES: &[(&str, &[u8])] = &[\n",
        );
        for source in &sources {
            let stem = source.file_stem().unwrap().to_str().unwrap();
            let fatbin = out.join(format!("{stem}.fatbin"));
            let mut cmd = tool.to_command();
            cmd.args(["-fatbin", "-gencode", GENCODE, "-Xptxas", "-Werror", "-o"])
                .arg(&fatbin)
                .arg(source);
            run(&mut cmd);
            modules.push_str(&format!(
                "    ({stem:?}, include_bytes!({:?})),\n",
                fatbin.display().to_string()
            ));
        }
        modules.push_str("];\n");
        fs::write(out.join("fatbins.rs"), modules).unwrap();
    }

    fn run(cmd: &mut Command) {
        let status = cmd
            .status()
            .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
        assert!(status.success(), "nvcc failed ({status}): {cmd:?}");
    }

    fn find_nvcc(manifest: &Path) -> Option<PathBuf> {
        if let Some(path) = env::var_os("NVCC") {
            return Some(PathBuf::from(path));
        }
        let on_path = env::var_os("PATH").and_then(|paths| {
            env::split_paths(&paths)
                .map(|dir| dir.join("nvcc"))
                .find(|p| p.is_file())
        });
        let pythons = [
            manifest.join("../.venv-cuda/bin/python"),
            PathBuf::from("python3"),
        ];
        on_path.or_else(|| pythons.iter().find_map(|python| pip_nvcc(python)))
    }

    /// nvcc inside the `nvidia` namespace package that `python` imports, if any.
    fn pip_nvcc(python: &Path) -> Option<PathBuf> {
        let script = "import os, nvidia\n\
                  for base in nvidia.__path__:\n    \
                  p = os.path.join(base, 'cu13', 'bin', 'nvcc')\n    \
                  if os.path.exists(p): print(p); break";
        let out = Command::new(python).args(["-c", script]).output().ok()?;
        let path = String::from_utf8(out.stdout).ok()?;
        let path = PathBuf::from(path.trim());
        path.is_file().then_some(path)
    }
}
