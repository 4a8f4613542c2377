# libautodiff: `make demo` runs the main job, `make test` passes the tests.
# Every target is plain shell over cargo and the C compiler; see README.md.

CARGO ?= cargo
CC ?= gcc

.PHONY: all demo test lint fmt-check clippy rust-test freestanding cuda cuda-test

all:
	$(CARGO) build --release --workspace

demo:
	$(CARGO) run --release -p autodiff-core --example seed_examples

test: lint rust-test freestanding cuda-test
	@echo "make test: all checks passed"

lint: fmt-check clippy

fmt-check:
	$(CARGO) fmt --all -- --check
	cd core/freestanding && $(CARGO) fmt -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

rust-test:
	$(CARGO) test --workspace

# The core linked with no std, no libc and no C runtime, run bare: it must be a static
# executable with no dynamic loader, no shared libraries and no undefined symbols, and
# exit with status 0 (its gradient checks passed). x86_64 Linux only.
FREESTANDING_BIN := core/freestanding/target/x86_64-unknown-linux-gnu/debug/autodiff-freestanding

freestanding:
	@if [ "$$(uname -s)-$$(uname -m)" != "Linux-x86_64" ]; then \
		echo "freestanding: skipped (x86_64 Linux only)"; exit 0; fi; \
	set -e; \
	(cd core/freestanding && $(CARGO) clippy -q -- -D warnings && $(CARGO) build -q); \
	if readelf -l $(FREESTANDING_BIN) | grep -q INTERP; then \
		echo "freestanding: the binary asks for a dynamic loader"; exit 1; fi; \
	if readelf -d $(FREESTANDING_BIN) | grep -q NEEDED; then \
		echo "freestanding: the binary needs shared libraries"; exit 1; fi; \
	if [ -n "$$(nm -u $(FREESTANDING_BIN))" ]; then \
		echo "freestanding: undefined symbols:"; nm -u $(FREESTANDING_BIN); exit 1; fi; \
	status=0; ./$(FREESTANDING_BIN) || status=$$?; \
	if [ $$status -ne 0 ]; then echo "freestanding: exit status $$status"; exit 1; fi; \
	echo "freestanding: static, no libc, gradient checks passed"

# The CUDA backend (cuda/). nvcc comes from $$NVCC, PATH, or the pinned pip toolkit that
# cuda/install-nvcc.sh installs into .venv-cuda (idempotent, about a minute the first time).
# `make cuda` builds the backend with the `cuda` feature in release, the GPU check binary
# into build/gpu/ for tests/gpu/run.sh, and libautodiff.so with the feature once the ffi
# crate has one.
GPU_DIR := build/gpu
FIND_NVCC = $${NVCC:-$$(command -v nvcc || ./cuda/install-nvcc.sh)}

cuda:
	@set -e; nvcc="$(FIND_NVCC)"; echo "cuda: nvcc is $$nvcc"; \
	NVCC="$$nvcc" $(CARGO) build --release -p autodiff-cuda --features cuda --example gpu_check; \
	mkdir -p $(GPU_DIR); cp target/release/examples/gpu_check $(GPU_DIR)/; \
	if grep -qs '^cuda *=' ffi/Cargo.toml; then \
		NVCC="$$nvcc" $(CARGO) build --release -p autodiff-ffi --features cuda; \
		cp target/release/libautodiff.so $(GPU_DIR)/; \
	else echo "cuda: ffi/ has no cuda feature yet: libautodiff.so not built with it"; fi; \
	echo "cuda: built $(GPU_DIR)/gpu_check (run tests/gpu/run.sh on a GPU machine)"

# With the feature, on this machine: the kernels compile, the fatbins hold every kernel,
# lint is clean, and every entry point reports "no device" (gpu_check exits 77) instead of
# panicking. Skipped, saying so, where nvcc cannot be had.
cuda-test:
	@nvcc="$(FIND_NVCC)"; \
	if [ -z "$$nvcc" ] || [ ! -x "$$nvcc" ]; then \
		echo "cuda-test: skipped: no nvcc (cuda/install-nvcc.sh could not install it)"; exit 0; fi; \
	set -e; export NVCC="$$nvcc"; \
	$(CARGO) clippy -p autodiff-cuda --all-targets --features cuda -- -D warnings; \
	$(CARGO) test -p autodiff-cuda --features cuda; \
	$(CARGO) build -p autodiff-cuda --features cuda --example gpu_check; \
	status=0; target/debug/examples/gpu_check || status=$$?; \
	case $$status in \
		77) echo "cuda-test: built with nvcc; no GPU here, and every entry point said so";; \
		0) echo "cuda-test: GPU present: gpu_check passed";; \
		*) echo "cuda-test: gpu_check failed (status $$status)"; exit 1;; \
	esac
