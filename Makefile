# libautodiff: `make demo` runs the main job, `make test` passes the tests.
# Every target is plain shell over cargo and the C compiler; see README.md and
# ffi/README.md.

CARGO ?= cargo
CC ?= gcc
CXX ?= g++
PREFIX ?= /usr/local

# The C library: built with the `ffi` cargo profile (release, but panics unwind so the
# boundary can catch them), then staged in build/lib the way `make install` lays it out.
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
MAJOR := $(word 1,$(subst ., ,$(VERSION)))
MINOR := $(word 2,$(subst ., ,$(VERSION)))
ABI := $(shell sed -n 's/^\#define AD_ABI_VERSION \([0-9]*\)/\1/p' include/autodiff.h)
BUILD := build
LIB := $(BUILD)/lib
CARGO_LIB := target/ffi
STATIC_LIBS := -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
empty :=
space := $(empty) $(empty)
CMAKE_STATIC_LIBS := $(subst $(space),;,$(strip $(subst -l,,$(STATIC_LIBS))))

# cbindgen is pinned: a different version may format the header differently.
CBINDGEN_VERSION := 0.29.4
CBINDGEN ?= cbindgen

TEST_CFLAGS := -std=c99 -Wall -Wextra -Werror -pedantic -g -Iinclude -Itests/c
EXAMPLE_CFLAGS := -std=c99 -O2 -Wall -Wextra -Werror -pedantic -Iinclude
# The examples that train; each checks its own result through its exit status.
EXAMPLES := linreg mlp
# Under valgrind the MLP runs a few steps only (a full run takes minutes there).
MLP_VALGRIND_ARGS := 1 6
LINK_SHARED := -L$(LIB) -lautodiff -Wl,-rpath,$(abspath $(LIB)) -lm
C_TESTS := api bad_input dual tensor tensor_training tensor_errors threads device
C_TESTS += checkpoint checkpoint_chain device_tape soundness header_sweep param_group sparse
C_TESTS += inline_recording tape_growth
# Recorded comparisons and user-defined ops, and the examples built on them.
CHECKED_C_TESTS := compare user_op tensor_user_op
CHECKED_EXAMPLES := branch linear_solve fixed_point softmax_op
C_TESTS += $(CHECKED_C_TESTS)
EXAMPLES += $(CHECKED_EXAMPLES)
# Under ASan and valgrind: all but the threaded test, which TSan runs (c-tsan).
SANITIZED_C_TESTS := $(filter-out threads,$(C_TESTS))
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

.PHONY: all demo test lint layers fmt-check clippy rust-test miri miri-all miri-control \
	ffi-lib cbindgen-tool header header-check header-compile soname-check \
	c-test c-asan c-valgrind c-tsan cpp-test rust-asan ffi-asan install package-test \
	install-test docs docs-test \
	freestanding firmware cuda cuda-test fuzz fuzz-smoke fuzz-build fuzz-lint fuzz-regressions \
	bench-growth \
	python-venv python-test python-asan python-extras-venv python-examples python-bench \
	codegen-test codegen-bench mpi-test mpi-bench bench-c-abi miri-tensor-user-op \
	gradbench-build gradbench-test bench-gradbench

all:
	$(CARGO) build --release --workspace

# The C MLP example: a 10-layer network trained on a synthetic data set, in one fixed
# block of memory. It exits non-zero if it misses its held-out accuracy threshold.
demo: ffi-lib
	@mkdir -p $(BUILD)/c
	$(CC) $(EXAMPLE_CFLAGS) examples/mlp.c $(LINK_SHARED) -o $(BUILD)/c/mlp
	./$(BUILD)/c/mlp

test: lint rust-test miri freestanding header-check header-compile soname-check c-test c-asan \
	c-valgrind c-tsan package-test rust-asan ffi-asan cuda-test cpp-test fuzz-smoke fuzz-regressions \
	install-test docs-test docs firmware python-test python-asan codegen-test mpi-test \
	miri-tensor-user-op gradbench-test
	@echo "make test: all checks passed"

lint: fmt-check clippy layers

# The modules of core/src and ffi/src import each other in one direction only (the
# layers core/src/lib.rs describes); the check names the imports that close a circle.
layers:
	python3 tests/layers/check_modules.py core/src ffi/src

fmt-check:
	$(CARGO) fmt --all -- --check
	cd core/freestanding && $(CARGO) fmt -- --check
	cd core/firmware && $(CARGO) fmt -- --check
	cd fuzz && $(CARGO) fmt -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

rust-test:
	$(CARGO) test --workspace

# The nightly checks (miri, rust-asan, ffi-asan) skip, saying so, where nightly or its
# component is missing, unless AUTODIFF_REQUIRE_NIGHTLY=1 (.ci/run sets it, after
# installing them): then a missing tool fails the check.
NIGHTLY_MISSING = if [ "$${AUTODIFF_REQUIRE_NIGHTLY:-0}" = 1 ]; then \
		echo "$@: FAILED: $$why (AUTODIFF_REQUIRE_NIGHTLY=1)"; exit 1; fi; \
	echo "$@: SKIPPED: $$why"

# The core under Miri, with its default aliasing model, Stacked Borrows: the project's
# requirement (every `&mut` is checked to be the only live path to its bytes, which is
# what the arena's memory model rests on). Heavy tests run at a smaller size under
# `cfg(miri)`, and the CPU feature detection picks the portable kernels there.
#  - libm/force-soft-floats: libm's x86 `sqrt` is inline assembly, which Miri cannot
#    run; the software one is correctly rounded too, so the results are the same bits.
#  - -Zmiri-deterministic-floats: Miri otherwise adds random ulps to float operations
#    whose precision Rust leaves open, and many tests compare two paths bit for bit.
#  - -Zmiri-strict-provenance: the core never makes a pointer from an integer.
# `make miri` (part of `make test`, a few minutes) runs the arena's and the tape's unit
# tests and the suites that exercise the memory model: the soundness regressions, a
# training loop with parameters and optimizers (where Stacked Borrows once failed), the
# sticky-error and handle tests, and the record cursor that C writes through. `make
# miri-all` runs every core test under Miri (most of an hour on two cores).
MIRI_FEATURES := --features libm/force-soft-floats
MIRIFLAGS_CORE ?= -Zmiri-deterministic-floats -Zmiri-strict-provenance
MIRI_SUITES := --test soundness --test training --test sticky_errors --test record_cursor \
	--test record_growth
MIRI_UNIT_FILTERS := arena:: tape::
MIRI_RUN = MIRIFLAGS="$(MIRIFLAGS_CORE) $$MIRIFLAGS" $(CARGO) +nightly miri test -p autodiff-core $(MIRI_FEATURES)
HAVE_MIRI = $(CARGO) +nightly miri --version >/dev/null 2>&1
MIRI_MISSING = why="no nightly toolchain with miri (rustup component add --toolchain nightly miri rust-src)"

miri:
	@if ! $(HAVE_MIRI); then $(MIRI_MISSING); $(NIGHTLY_MISSING); exit 0; fi; \
	set -e; $(CARGO) +nightly miri setup -q; \
	echo "== miri (Stacked Borrows): the arena's and the tape's unit tests"; \
	$(MIRI_RUN) --lib -- $(MIRI_UNIT_FILTERS); \
	echo "== miri (Stacked Borrows): $(MIRI_SUITES)"; \
	$(MIRI_RUN) $(MIRI_SUITES); \
	echo "miri: passed under Stacked Borrows"

# Recorded comparisons and user-defined ops (core/tests/{compare,user_op}.rs) under Miri:
# their nodes live in the arena and are reached through raw pointers. Not part of
# `make test` (several minutes on two cores).
miri-control:
	@if ! $(HAVE_MIRI); then $(MIRI_MISSING); $(NIGHTLY_MISSING); exit 0; fi; \
	set -e; $(CARGO) +nightly miri setup -q; $(MIRI_RUN) --test compare --test user_op; \
	echo "miri-control: comparisons and user ops passed under Stacked Borrows"

# Tensor user ops under Miri: their call nodes, descriptor tables and staged seeds live
# in the arena and are reached through raw pointers (core/tests/tensor_user_op*.rs), and
# the C API hands the descriptors to C callbacks as they are (ffi/tests/tensor_user_op.rs).
miri-tensor-user-op:
	@if ! $(HAVE_MIRI); then $(MIRI_MISSING); $(NIGHTLY_MISSING); exit 0; fi; \
	set -e; $(CARGO) +nightly miri setup -q; $(MIRI_RUN) --test tensor_user_op --test tensor_user_op_errors; \
	MIRIFLAGS="$(MIRIFLAGS_CORE) $$MIRIFLAGS" $(CARGO) +nightly miri test -p autodiff-ffi \
		--test tensor_user_op; \
	echo "miri-tensor-user-op: tensor user ops passed under Stacked Borrows"

miri-all:
	@if ! $(HAVE_MIRI); then $(MIRI_MISSING); $(NIGHTLY_MISSING); exit 0; fi; \
	set -e; $(CARGO) +nightly miri setup -q; $(MIRI_RUN); \
	echo "miri-all: every core test passed under Stacked Borrows"

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

# The core on a Cortex-M under QEMU (core/firmware/, see its README): the seed
# gradients, a 2-16-16-1 MLP and a checkpointed ODE adjoint, built for
# thumbv7em-none-eabihf (Cortex-M4F) and thumbv6m-none-eabi (Cortex-M0: no FPU, no atomic
# read-modify-write), run with semihosting, and each transcript compared with the same
# program run on the host: bit for bit, or within the tolerance a line states. The
# footprint table lands in build/firmware/footprint.txt. First, the core's test built
# without its `tensor-jvp` feature, as the firmware builds it, and without
# `transcendental`, as the smallest scalar program builds it. Needs qemu-system-arm,
# arm-none-eabi-size and both rustup targets (.ci/run installs them).
firmware:
	$(CARGO) test -p autodiff-core --no-default-features --features transcendental --test without_tensor_jvp
	$(CARGO) test -p autodiff-core --no-default-features --features tensor-jvp --test without_transcendental
	OUT=$(abspath $(BUILD)/firmware) core/firmware/check.sh

# ---- the C library ----

# The shared library is copied to a new file and renamed over the old one: a program
# still running against the old one keeps its copy (writing into it in place would
# change the code under that program).
ffi-lib:
	$(CARGO) build --profile ffi -p autodiff-ffi
	mkdir -p $(LIB)
	cp -f $(CARGO_LIB)/libautodiff.so $(LIB)/.libautodiff.so.new
	mv -f $(LIB)/.libautodiff.so.new $(LIB)/libautodiff.so.$(VERSION)
	ln -sf libautodiff.so.$(VERSION) $(LIB)/libautodiff.so.$(ABI)
	ln -sf libautodiff.so.$(ABI) $(LIB)/libautodiff.so
	cp -f $(CARGO_LIB)/libautodiff.a $(LIB)/libautodiff.a

cbindgen-tool:
	@if ! $(CBINDGEN) --version 2>/dev/null | grep -qx "cbindgen $(CBINDGEN_VERSION)"; then \
		echo "installing cbindgen $(CBINDGEN_VERSION)"; \
		$(CARGO) install cbindgen --version $(CBINDGEN_VERSION) --locked; \
	fi
	@$(CBINDGEN) --version | grep -qx "cbindgen $(CBINDGEN_VERSION)" || \
		{ echo "need cbindgen $(CBINDGEN_VERSION) first on PATH"; exit 1; }

# cbindgen reads the macro-expanded crate (see ffi/cbindgen.toml): `-Zunpretty=expanded`
# is a nightly flag, which RUSTC_BOOTSTRAP=1 lets the stable compiler take for this one
# `cargo rustc` run; the expansion is cached in its own target directory.
GENERATE_HEADER = RUSTC_BOOTSTRAP=1 CARGO_EXPAND_TARGET_DIR=$(abspath target/cbindgen-expand) \
	$(CBINDGEN) -q --config ffi/cbindgen.toml --crate autodiff-ffi ffi --output

header: cbindgen-tool
	$(GENERATE_HEADER) include/autodiff.h

# Fails when include/autodiff.h differs from what the sources generate.
header-check: cbindgen-tool
	@mkdir -p $(BUILD)
	$(GENERATE_HEADER) $(BUILD)/autodiff.h.new
	@diff -u include/autodiff.h $(BUILD)/autodiff.h.new || \
		{ echo "include/autodiff.h is stale: run 'make header' and commit it"; exit 1; }
	@echo "header-check: include/autodiff.h is up to date"

header-compile:
	@mkdir -p $(BUILD)
	$(CC) -std=c99 -Wall -Wextra -Werror -pedantic -Iinclude -c tests/c/header_twice.c -o $(BUILD)/header_c99.o
	$(CC) -std=c11 -Wall -Wextra -Werror -pedantic -Iinclude -c tests/c/header_twice.c -o $(BUILD)/header_c11.o
	$(CXX) -std=c++17 -Wall -Wextra -Werror -pedantic -Iinclude -c tests/c/header_cpp.cpp -o $(BUILD)/header_cpp.o
	@echo "header-compile: C99, C11 and C++17 clean"

soname-check: ffi-lib
	readelf -d $(LIB)/libautodiff.so.$(VERSION) | grep -q 'SONAME.*\[libautodiff\.so\.$(ABI)\]' || \
		{ echo "libautodiff.so lacks soname libautodiff.so.$(ABI)"; exit 1; }
	@echo "soname-check: libautodiff.so.$(ABI)"

# Plain runs, against the shared library; `api` once more against the static one; the
# version macros against Cargo.toml; the README quickstart.
c-test: ffi-lib
	@mkdir -p $(BUILD)/c
	@set -e; for t in $(C_TESTS); do \
		$(CC) $(TEST_CFLAGS) -pthread tests/c/$$t.c $(LINK_SHARED) -o $(BUILD)/c/$$t; \
		echo "== $$t"; ./$(BUILD)/c/$$t; \
	done
	$(CC) $(TEST_CFLAGS) tests/c/api.c $(LIB)/libautodiff.a $(STATIC_LIBS) -o $(BUILD)/c/api_static
	@echo "== api (static)"; ./$(BUILD)/c/api_static
	$(CC) $(TEST_CFLAGS) -DEXPECTED_VERSION='"$(VERSION)"' tests/c/version.c $(LINK_SHARED) -o $(BUILD)/c/version
	@echo "== version"; ./$(BUILD)/c/version
	$(CC) -std=c99 -Wall -Wextra -Werror -pedantic -Iinclude examples/quickstart.c $(LINK_SHARED) -o $(BUILD)/c/quickstart
	@echo "== quickstart"; ./$(BUILD)/c/quickstart
	@set -e; for e in $(EXAMPLES); do \
		$(CC) $(EXAMPLE_CFLAGS) -g examples/$$e.c $(LINK_SHARED) -o $(BUILD)/c/$$e; \
		echo "== $$e"; ./$(BUILD)/c/$$e; \
	done
	$(CC) $(EXAMPLE_CFLAGS) examples/ode_adjoint.c $(LINK_SHARED) -o $(BUILD)/c/ode_adjoint
	@echo "== ode_adjoint"; ./$(BUILD)/c/ode_adjoint
	@echo "== mlp 1 15 cpu-device (the device path, on the reference CPU device)"; \
		./$(BUILD)/c/mlp 1 15 cpu-device

# AddressSanitizer and UBSan on the C side, linking the normal release library.
c-asan: ffi-lib
	@mkdir -p $(BUILD)/asan
	@set -e; for t in $(SANITIZED_C_TESTS); do \
		$(CC) $(TEST_CFLAGS) $(SAN_FLAGS) tests/c/$$t.c $(LINK_SHARED) -o $(BUILD)/asan/$$t; \
		echo "== $$t (asan+ubsan)"; \
		ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ./$(BUILD)/asan/$$t; \
	done
	@set -e; for e in $(EXAMPLES); do \
		$(CC) $(EXAMPLE_CFLAGS) -g $(SAN_FLAGS) examples/$$e.c $(LINK_SHARED) -o $(BUILD)/asan/$$e; \
		echo "== $$e (asan+ubsan)"; \
		ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ./$(BUILD)/asan/$$e; \
	done

# RUST_BACKTRACE=0: with backtraces on, the deliberate panic in bad_input makes std fill
# a global symbolisation cache that valgrind reports as still reachable.
c-valgrind: c-test
	@set -e; for t in $(SANITIZED_C_TESTS) quickstart linreg $(CHECKED_EXAMPLES); do \
		echo "== $$t (valgrind)"; \
		RUST_BACKTRACE=0 valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=all ./$(BUILD)/c/$$t; \
	done
	@echo "== mlp $(MLP_VALGRIND_ARGS) (valgrind)"; \
		RUST_BACKTRACE=0 valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=all ./$(BUILD)/c/mlp $(MLP_VALGRIND_ARGS)
	@echo "== mlp 1 2 cpu-device (valgrind)"; \
		RUST_BACKTRACE=0 valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=all ./$(BUILD)/c/mlp 1 2 cpu-device

c-tsan: ffi-lib
	@mkdir -p $(BUILD)/tsan
	$(CC) $(TEST_CFLAGS) -fsanitize=thread -pthread tests/c/threads.c $(LINK_SHARED) -o $(BUILD)/tsan/threads
	@echo "== threads (tsan)"; TSAN_OPTIONS=halt_on_error=1 ./$(BUILD)/tsan/threads

# The header-only C++ wrapper (bindings/cpp) against the shared library: plainly, then
# under AddressSanitizer and UBSan.
# More C++ tests, each run the same two ways.
CPP_TESTS := control user_op tensor_user_op params sparse
# Templates written for double compiled with Var (tests/cpp/generic_primal.hpp); also
# built as C++20 below, for the std::span forms.
CPP_TESTS += generic
CPP_TEST_FLAGS := -std=c++17 -Wall -Wextra -Werror -pedantic -g -Iinclude -Ibindings/cpp

cpp-test: ffi-lib
	@mkdir -p $(BUILD)/cpp
	@set -e; for part in bindings/cpp/autodiff/*.hpp; do \
		echo "#include \"$$part\"" | $(CXX) $(CPP_TEST_FLAGS) -I. -x c++ -fsyntax-only -; \
	done; echo "== each part of bindings/cpp/autodiff compiles on its own"
	$(CXX) $(CPP_TEST_FLAGS) tests/cpp/wrapper.cpp $(LINK_SHARED) -o $(BUILD)/cpp/wrapper
	@echo "== wrapper (c++)"; ./$(BUILD)/cpp/wrapper
	$(CXX) $(CPP_TEST_FLAGS) $(SAN_FLAGS) tests/cpp/wrapper.cpp $(LINK_SHARED) -o $(BUILD)/cpp/wrapper_asan
	@echo "== wrapper (c++, asan+ubsan)"; \
		ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ./$(BUILD)/cpp/wrapper_asan
	@set -e; for t in $(CPP_TESTS); do \
		$(CXX) $(CPP_TEST_FLAGS) tests/cpp/$$t.cpp $(LINK_SHARED) -o $(BUILD)/cpp/$$t; \
		echo "== $$t (c++)"; ./$(BUILD)/cpp/$$t; \
		$(CXX) $(CPP_TEST_FLAGS) $(SAN_FLAGS) tests/cpp/$$t.cpp $(LINK_SHARED) -o $(BUILD)/cpp/$${t}_asan; \
		echo "== $$t (c++, asan+ubsan)"; \
		ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ./$(BUILD)/cpp/$${t}_asan; \
	done
	$(CXX) $(subst c++17,c++20,$(CPP_TEST_FLAGS)) $(SAN_FLAGS) tests/cpp/generic.cpp $(LINK_SHARED) -o $(BUILD)/cpp/generic_cxx20_asan
	@echo "== generic (c++20, asan+ubsan)"; \
		ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ./$(BUILD)/cpp/generic_cxx20_asan

# The Rust tests under AddressSanitizer, with the arena's free memory poisoned
# (`--cfg autodiff_asan`, see core/src/arena.rs), when a nightly toolchain with its
# runtime is here. core/tests/asan_poison.rs checks that a read of freed arena memory is
# reported.
ASAN_RUSTFLAGS := --cfg autodiff_asan -Zsanitizer=address
HAVE_NIGHTLY_ASAN = rustc +nightly --version >/dev/null 2>&1 && \
	ls "$$(rustc +nightly --print sysroot)/lib/rustlib/x86_64-unknown-linux-gnu/lib/" 2>/dev/null | grep -q asan

rust-asan:
	@if ! $(HAVE_NIGHTLY_ASAN); then \
		why="no nightly toolchain with the ASan runtime"; $(NIGHTLY_MISSING); exit 0; fi; \
	set -e; RUSTFLAGS="$(ASAN_RUSTFLAGS)" ASAN_OPTIONS=detect_leaks=1 \
		$(CARGO) +nightly test --workspace --lib --tests \
		--target x86_64-unknown-linux-gnu --target-dir target/asan; \
	echo "rust-asan: the Rust tests passed under AddressSanitizer, free arena memory poisoned"

# libautodiff.so itself built with AddressSanitizer and the arena's free memory poisoned
# (nightly, profile `ffi`, its own target dir), and the C tests and examples of c-asan
# run against it, built with ASan and UBSan; the executables bring the ASan runtime
# (gcc's libasan), which the library's instrumentation calls into.
FFI_ASAN_DIR := $(BUILD)/ffi-asan
FFI_ASAN_BUILD = RUSTFLAGS="$(ASAN_RUSTFLAGS)" $(CARGO) +nightly build --profile ffi -p autodiff-ffi \
	--target x86_64-unknown-linux-gnu --target-dir target/ffi-asan
FFI_ASAN_LIB := target/ffi-asan/x86_64-unknown-linux-gnu/ffi/libautodiff.so
ffi-asan:
	@if ! $(HAVE_NIGHTLY_ASAN); then \
		why="no nightly toolchain with the ASan runtime"; $(NIGHTLY_MISSING); exit 0; fi; \
	set -e; $(FFI_ASAN_BUILD); \
	mkdir -p $(FFI_ASAN_DIR)/lib; \
	cp -f $(FFI_ASAN_LIB) $(FFI_ASAN_DIR)/lib/; \
	ln -sf libautodiff.so $(FFI_ASAN_DIR)/lib/libautodiff.so.$(ABI); \
	link="-L$(FFI_ASAN_DIR)/lib -lautodiff -Wl,-rpath,$(abspath $(FFI_ASAN_DIR)/lib) -lm"; \
	for t in $(SANITIZED_C_TESTS); do \
		$(CC) $(TEST_CFLAGS) $(SAN_FLAGS) tests/c/$$t.c $$link -o $(FFI_ASAN_DIR)/$$t; \
		echo "== $$t (libautodiff with asan, free arena memory poisoned)"; \
		ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ./$(FFI_ASAN_DIR)/$$t; \
	done; \
	for e in $(EXAMPLES); do \
		$(CC) $(EXAMPLE_CFLAGS) -g $(SAN_FLAGS) examples/$$e.c $$link -o $(FFI_ASAN_DIR)/$$e; \
		echo "== $$e (libautodiff with asan, free arena memory poisoned)"; \
		ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ./$(FFI_ASAN_DIR)/$$e; \
	done; \
	$(CC) $(TEST_CFLAGS) $(SAN_FLAGS) tests/c/poisoned.c $$link -o $(FFI_ASAN_DIR)/poisoned; \
	echo "== poisoned (live reads pass)"; ./$(FFI_ASAN_DIR)/poisoned; \
	for fault in reset gap; do \
		echo "== poisoned $$fault (a read of free arena memory must be reported)"; \
		if ./$(FFI_ASAN_DIR)/poisoned $$fault 2>$(FFI_ASAN_DIR)/poisoned.$$fault.log || \
			! grep -q 'AddressSanitizer: use-after-poison' $(FFI_ASAN_DIR)/poisoned.$$fault.log; then \
			cat $(FFI_ASAN_DIR)/poisoned.$$fault.log; \
			echo "ffi-asan: the read of free arena memory ($$fault) was not reported"; exit 1; fi; \
	done; \
	echo "ffi-asan: the C tests passed against libautodiff.so built with ASan and poisoning," \
		"and reads of free arena memory were reported"

# ---- tape images and C generated from tapes ----

# The C API (tests/c/image.c: save, inspect, load, corruption, generation) plainly and
# under ASan+UBSan, and the C it generates compiled freestanding for the host and for a
# Cortex-M4. The Rust tests run in rust-test: core/tests/image.rs (round trips, every bit
# flip and truncation, forged images), core/tests/image_tensors.rs (an MLP's loss with
# tensor records and parameters), core/tests/codegen_c.rs (generated C compiled for both
# targets and run against the tape) and core/tests/codegen_rolling.rs (loops rolled, and
# not rolled, bit for bit); `make codegen-test CODEGEN_RUST=1` runs them here too.
CODEGEN_DIR := $(BUILD)/codegen
STRICT_C99 := -std=c99 -O2 -Wall -Wextra -Werror -pedantic
ARM_CFLAGS := -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16

codegen-test: ffi-lib
	@command -v arm-none-eabi-gcc >/dev/null || { \
		echo "codegen-test: arm-none-eabi-gcc is missing (bash .ci/run installs gcc-arm-none-eabi)"; exit 1; }
	@if [ "$(CODEGEN_RUST)" = 1 ]; then $(CARGO) test -p autodiff-core --test image \
		--test image_tensors --test codegen_c --test codegen_rolling; fi
	@mkdir -p $(CODEGEN_DIR)
	$(CC) $(TEST_CFLAGS) tests/c/image.c $(LINK_SHARED) -o $(CODEGEN_DIR)/image
	@echo "== image"; ./$(CODEGEN_DIR)/image $(CODEGEN_DIR)/rosenbrock.c
	$(CC) $(STRICT_C99) -ffreestanding -c $(CODEGEN_DIR)/rosenbrock.c -o $(CODEGEN_DIR)/rosenbrock.o
	arm-none-eabi-gcc $(STRICT_C99) $(ARM_CFLAGS) -c $(CODEGEN_DIR)/rosenbrock.c \
		-o $(CODEGEN_DIR)/rosenbrock.arm.o
	$(CC) $(TEST_CFLAGS) $(SAN_FLAGS) tests/c/image.c $(LINK_SHARED) -o $(CODEGEN_DIR)/image_asan
	@echo "== image (asan+ubsan)"; ASAN_OPTIONS=detect_leaks=1 \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ./$(CODEGEN_DIR)/image_asan
	@echo "codegen-test: images round-trip and refuse corruption; generated C matches the tape"

# Recording through the C ABI against the Rust API, on the Rust scalar report's
# Rosenbrock (n = 1000, the same records), in one run on one core: the library's calls,
# the inline path of include/autodiff_inline.h, and `bench_report`. Not part of `test`.
bench-c-abi: ffi-lib
	@mkdir -p $(BUILD)/c_abi
	$(CC) $(EXAMPLE_CFLAGS) bench/c_abi/record_cost.c $(LINK_SHARED) -o $(BUILD)/c_abi/record_cost
	$(CARGO) build -q --release -p autodiff-core --example bench_report
	@pin=$$(command -v taskset >/dev/null && taskset -c 1 true 2>/dev/null && echo "taskset -c 1"); \
		echo "# $${pin:-not pinned}; medians, µs per call"; \
		$$pin ./$(BUILD)/c_abi/record_cost 2000; \
		$$pin ./target/release/examples/bench_report --samples 2000 | grep '^autodiff rosenbrock'

# What growth costs (core/examples/bench_growth.rs): the scalar workloads on a tape given
# its memory up front and on one growing from 4 KiB, in one run on one core. Not part of
# `test`.
bench-growth:
	$(CARGO) build -q --release -p autodiff-core --example bench_growth
	@pin=$$(command -v taskset >/dev/null && taskset -c 1 true 2>/dev/null && echo "taskset -c 1"); \
		echo "# $${pin:-not pinned}"; $$pin ./target/release/examples/bench_growth --samples 1000

# The generated gradient against the plain function, a hand-written gradient and replay
# on the tape (bench/codegen/), Rosenbrock and the chain at n = 1000, in one run, pinned
# to one core where taskset can: the figures in BENCHMARKS.md. Not part of `make test`
# (it times; the generated files compile in seconds since they are rolled into loops).
# GEN_CFLAGS: the generated files' flags (-O2, or -Os to compare: see BENCHMARKS.md).
CODEGEN_BENCH_DIR := $(BUILD)/codegen-bench
GEN_CFLAGS ?= -O2

codegen-bench: ffi-lib
	@mkdir -p $(CODEGEN_BENCH_DIR)
	$(CC) $(STRICT_C99) -Iinclude bench/codegen/gen.c $(LINK_SHARED) -o $(CODEGEN_BENCH_DIR)/gen
	./$(CODEGEN_BENCH_DIR)/gen $(CODEGEN_BENCH_DIR)
	$(CC) -std=c99 $(GEN_CFLAGS) -c $(CODEGEN_BENCH_DIR)/rosenbrock_gen.c -o $(CODEGEN_BENCH_DIR)/rosenbrock_gen.o
	$(CC) -std=c99 $(GEN_CFLAGS) -c $(CODEGEN_BENCH_DIR)/chain_gen.c -o $(CODEGEN_BENCH_DIR)/chain_gen.o
	$(CC) $(STRICT_C99) -Iinclude bench/codegen/bench.c $(CODEGEN_BENCH_DIR)/rosenbrock_gen.o \
		$(CODEGEN_BENCH_DIR)/chain_gen.o $(LINK_SHARED) -o $(CODEGEN_BENCH_DIR)/bench
	@pin=""; if command -v taskset >/dev/null && taskset -c 1 true 2>/dev/null; then pin="taskset -c 1"; fi; \
		echo "generated files compiled with $(GEN_CFLAGS); $${pin:-not pinned}"; $$pin ./$(CODEGEN_BENCH_DIR)/bench

# ---- GradBench-style workloads through the C++ wrapper, beside ADOL-C ----

# bench/gradbench/ (see BENCHMARKS.md): lse, llsq, det, gmm, ode, lstm, kmeans, ba and ht, each a
# template instantiated with double, autodiff::Var and ADOL-C's adouble. `make
# gradbench-test` (part of `make test`, well under a minute) checks every derivative at
# tiny sizes; `make bench-gradbench` times the published sizes (tens of minutes, a few GB
# of memory), pinned to one core where taskset can, and prints the table for
# BENCHMARKS.md. ADOL-C (Debian's libadolc-dev) is used where its headers are: without
# them its columns stay empty, saying so, unless AUTODIFF_REQUIRE_ADOLC=1 (.ci/run sets
# it, after installing them). CoDiPack (header-only, not in Debian) joins with
# CODIPACK=<CoDiPack>/include, for example a clone of its v3.1.1 tag.
GRADBENCH_DIR := $(BUILD)/gradbench
GRADBENCH_FLAGS := -std=c++17 -O2 -Wall -Wextra -Werror -Iinclude -Ibindings/cpp
CODIPACK ?=

gradbench-build: ffi-lib
	@mkdir -p $(GRADBENCH_DIR)
	@if [ -f /usr/include/adolc/adolc.h ]; then adolc="-DGRADBENCH_ADOLC -ladolc"; \
	elif [ "$${AUTODIFF_REQUIRE_ADOLC:-0}" = 1 ]; then \
		echo "gradbench: FAILED: no ADOL-C headers (AUTODIFF_REQUIRE_ADOLC=1)"; exit 1; \
	else adolc=""; echo "gradbench: no ADOL-C headers (apt-get install libadolc-dev): ours only"; fi; \
	if [ -n "$(CODIPACK)" ]; then \
		[ -f "$(CODIPACK)/codi.hpp" ] || { echo "gradbench: FAILED: no codi.hpp in CODIPACK=$(CODIPACK)"; exit 1; }; \
		codipack="-DGRADBENCH_CODIPACK -isystem $(CODIPACK)"; fi; \
	echo "$(CXX) $(GRADBENCH_FLAGS) bench/gradbench/main.cpp $$adolc $$codipack"; \
	$(CXX) $(GRADBENCH_FLAGS) bench/gradbench/main.cpp $(LINK_SHARED) $$adolc $$codipack -o $(GRADBENCH_DIR)/gradbench

gradbench-test: gradbench-build
	cd $(GRADBENCH_DIR) && ./gradbench --tiny

# ADOL-C runs with its default buffers (larger ones in an .adolcrc cost every small
# tape their allocation: det ell=5 took 10^4 times its primal); tapes beyond them go to
# files in $(GRADBENCH_DIR).
bench-gradbench: gradbench-build
	@pin=""; if command -v taskset >/dev/null && taskset -c 1 true 2>/dev/null; then pin="taskset -c 1"; fi; \
		echo "gradbench: $${pin:-not pinned}; $$(nproc) cores: $$(lscpu | sed -n 's/^Model name:[[:space:]]*//p')"; \
		cd $(GRADBENCH_DIR) && $$pin ./gradbench $(GRADBENCH_ARGS)

# ---- MPI: data-parallel training and ensemble gradients across processes ----

# Open MPI is optional: neither the core nor the library needs it. `make mpi-test` builds
# examples/mpi_mlp.c and examples/mpi_sensitivity.c with mpicc and runs tests/mpi/run.sh
# (1, 2 and 4 ranks on this machine, oversubscribed). Skipped, saying so, without mpicc
# and mpirun, unless AUTODIFF_REQUIRE_MPI=1 (.ci/run sets it, after installing them).
MPI_BUILD := $(BUILD)/mpi
MPICC ?= mpicc

mpi-test: ffi-lib
	@if ! command -v $(MPICC) >/dev/null 2>&1 || ! command -v mpirun >/dev/null 2>&1; then \
		if [ "$${AUTODIFF_REQUIRE_MPI:-0}" = 1 ]; then \
			echo "mpi-test: FAILED: no mpicc/mpirun (AUTODIFF_REQUIRE_MPI=1)"; exit 1; fi; \
		echo "mpi-test: SKIPPED: no mpicc/mpirun (apt-get install libopenmpi-dev openmpi-bin)"; \
		exit 0; fi; \
	set -e; mkdir -p $(MPI_BUILD); \
	for e in mpi_mlp mpi_sensitivity; do \
		$(MPICC) $(EXAMPLE_CFLAGS) examples/$$e.c $(LINK_SHARED) -o $(MPI_BUILD)/$$e; \
	done; \
	tests/mpi/run.sh $(MPI_BUILD)

# Weak and strong scaling of the MLP step on 1, 2 and 4 ranks, against PyTorch DDP (Gloo)
# when bench/mpi/ddp_torch.py finds torch: see bench/mpi/run.sh and BENCHMARKS.md.
mpi-bench: ffi-lib
	@mkdir -p $(MPI_BUILD)
	$(MPICC) $(EXAMPLE_CFLAGS) examples/mpi_mlp.c $(LINK_SHARED) -o $(MPI_BUILD)/mpi_mlp
	bench/mpi/run.sh $(MPI_BUILD)

# ---- packaging ----

# The library, the C header, the C++ wrapper (with its headers under
# bindings/cpp/autodiff/ where it has that directory), pkg-config and CMake files.
install: ffi-lib
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include \
		$(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/lib/cmake/autodiff
	install -m 755 $(LIB)/libautodiff.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libautodiff.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libautodiff.so.$(ABI)
	ln -sf libautodiff.so.$(ABI) $(DESTDIR)$(PREFIX)/lib/libautodiff.so
	install -m 644 $(LIB)/libautodiff.a $(DESTDIR)$(PREFIX)/lib/
	install -m 644 include/autodiff.h include/autodiff_inline.h bindings/cpp/autodiff.hpp \
		$(DESTDIR)$(PREFIX)/include/
	if [ -d bindings/cpp/autodiff ]; then \
		install -d $(DESTDIR)$(PREFIX)/include/autodiff && \
		install -m 644 bindings/cpp/autodiff/*.hpp $(DESTDIR)$(PREFIX)/include/autodiff/; fi
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' -e 's|@STATIC_LIBS@|$(STATIC_LIBS)|' \
		ffi/pkg/autodiff.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/autodiff.pc
	sed -e 's|@VERSION@|$(VERSION)|' -e 's|@ABI@|$(ABI)|' \
		-e 's|@STATIC_LIBS@|$(CMAKE_STATIC_LIBS)|' \
		ffi/pkg/autodiffConfig.cmake.in > $(DESTDIR)$(PREFIX)/lib/cmake/autodiff/autodiffConfig.cmake
	sed -e 's|@VERSION@|$(VERSION)|' -e 's|@MAJOR@|$(MAJOR)|' -e 's|@MINOR@|$(MINOR)|' \
		ffi/pkg/autodiffConfigVersion.cmake.in > $(DESTDIR)$(PREFIX)/lib/cmake/autodiff/autodiffConfigVersion.cmake

# Installs into a temporary prefix and builds the quickstart from it through pkg-config
# and through CMake's find_package, then runs each.
package-test:
	@rm -rf $(BUILD)/package && mkdir -p $(BUILD)/package
	$(MAKE) --no-print-directory install PREFIX=$(abspath $(BUILD)/package/prefix)
	@prefix=$(abspath $(BUILD)/package/prefix); set -e; \
	test -L $$prefix/lib/libautodiff.so && test -L $$prefix/lib/libautodiff.so.$(ABI); \
	test -f $$prefix/lib/libautodiff.so.$(VERSION) && test -f $$prefix/lib/libautodiff.a; \
	echo "== quickstart via pkg-config"; \
	PKG_CONFIG_PATH=$$prefix/lib/pkgconfig; export PKG_CONFIG_PATH; \
	test "$$(pkg-config --modversion autodiff)" = "$(VERSION)"; \
	$(CC) -std=c99 -Wall -Wextra -Werror examples/quickstart.c \
		$$(pkg-config --cflags --libs autodiff) -Wl,-rpath,$$prefix/lib -o $(BUILD)/package/quickstart_pc; \
	./$(BUILD)/package/quickstart_pc; \
	echo "== quickstart via cmake find_package"; \
	cmake -S tests/package -B $(BUILD)/package/cmake -DCMAKE_PREFIX_PATH=$$prefix >/dev/null; \
	cmake --build $(BUILD)/package/cmake >/dev/null; \
	./$(BUILD)/package/cmake/quickstart_shared; \
	./$(BUILD)/package/cmake/quickstart_static
	@echo "package-test: pkg-config and CMake builds ran"

# README.md's install steps, followed word for word into a temporary HOME.
install-test:
	tests/docs/install.sh

# ---- documentation ----

# The code blocks of these files compile and run (tests/docs/check_blocks.py says how a
# block that is not a program is marked); add a README here when it gains C or C++. The
# Rust blocks of README.md are doctests of autodiff-core (core/src/lib.rs includes it).
DOC_FILES := README.md ffi/README.md bindings/cpp/README.md

docs-test: ffi-lib
	CC=$(CC) CXX=$(CXX) python3 tests/docs/check_blocks.py $(DOC_FILES)
	$(CARGO) test -q -p autodiff-core --doc ReadmeExamples

# rustdoc for the crates (into target/doc) and the C API from the header's comments
# (into build/docs/c-api/html), both with warnings as errors.
docs:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --workspace
	@rm -rf $(BUILD)/docs/c-api && mkdir -p $(BUILD)/docs/c-api
	doxygen ffi/Doxyfile
	@echo "docs: target/doc/autodiff_core/index.html, $(BUILD)/docs/c-api/html/autodiff_8h.html"

# ---- the CUDA backend ----

# The CUDA backend (cuda/). nvcc comes from $$NVCC, PATH, or the pinned pip toolkit that
# cuda/install-nvcc.sh installs into .venv-cuda (idempotent, about a minute the first time).
# `make cuda` builds, into build/gpu/ for tests/gpu/run.sh: the GPU check binary (release),
# libautodiff.so with the feature (profile `ffi`, so panics unwind to the C boundary; its
# own target dir, so the plain library is not rebuilt), and the MLP demo linked to it.
GPU_DIR := build/gpu
FIND_NVCC = $${NVCC:-$$(command -v nvcc || ./cuda/install-nvcc.sh)}

cuda:
	@set -e; nvcc="$(FIND_NVCC)"; echo "cuda: nvcc is $$nvcc"; \
	NVCC="$$nvcc" $(CARGO) build --release -p autodiff-cuda --features cuda --example gpu_check; \
	mkdir -p $(GPU_DIR); cp target/release/examples/gpu_check $(GPU_DIR)/; \
	if grep -qs '^cuda *=' ffi/Cargo.toml; then \
		NVCC="$$nvcc" $(CARGO) build --profile ffi --target-dir target/cuda -p autodiff-ffi --features cuda; \
		cp target/cuda/ffi/libautodiff.so $(GPU_DIR)/; \
		ln -sf libautodiff.so $(GPU_DIR)/libautodiff.so.$(ABI); \
		$(CC) $(EXAMPLE_CFLAGS) examples/mlp.c -L$(GPU_DIR) -lautodiff -lm \
			-Wl,-rpath,'$$ORIGIN' -o $(GPU_DIR)/mlp; \
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

# ---- coverage-guided fuzzing ----

# cargo-fuzz targets (fuzz/, its own crate): libFuzzer with AddressSanitizer, on nightly.
# `make fuzz SECONDS=N` runs each target N seconds; `make fuzz-smoke` runs each briefly
# (part of `make test`). New inputs go to fuzz/work/<target> (fuzz/smoke/<target> for
# the smoke run; neither is committed), the seeds are fuzz/corpus/<target>, and a crash
# lands in fuzz/artifacts/<target>. See fuzz/README.md. Skipped, saying so, without
# nightly and cargo-fuzz (.ci/run installs both).
FUZZ_TARGETS := c_api_sequences tape_differential checkpoint_schedule image_loader control_flow \
	tensor_user_op
SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 20
# Where libFuzzer keeps the inputs it adds (under fuzz/); the smoke run starts from the
# seeds alone, in a directory of its own.
FUZZ_WORK ?= work
FUZZ_CARGO := cd fuzz && $(CARGO) +nightly fuzz
HAVE_FUZZ = (rustc +nightly --version >/dev/null 2>&1 && $(CARGO) fuzz --version >/dev/null 2>&1)
# -timeout: an input running this long is a hang; -rss_limit_mb: a runaway allocation.
FUZZ_RUN_FLAGS = -timeout=30 -rss_limit_mb=3072 -print_final_stats=1

fuzz-build:
	@if ! $(HAVE_FUZZ); then \
		echo "fuzz: SKIPPED (needs nightly Rust and cargo-fuzz: bash .ci/run installs them)"; exit 0; fi; \
	$(FUZZ_CARGO) build

fuzz: fuzz-build
	@if ! $(HAVE_FUZZ); then exit 0; fi; set -e; \
	for t in $(FUZZ_TARGETS); do \
		mkdir -p fuzz/$(FUZZ_WORK)/$$t; log=fuzz/$(FUZZ_WORK)/$$t.log; \
		echo "== fuzz $$t for $(SECONDS) s"; \
		status=0; ($(FUZZ_CARGO) run $$t $(FUZZ_WORK)/$$t corpus/$$t -- \
			-max_total_time=$(SECONDS) $(FUZZ_RUN_FLAGS)) >$$log 2>&1 || status=$$?; \
		grep -E '^#[0-9]+[[:space:]]+DONE|stat::average_exec_per_sec' $$log || true; \
		if [ $$status -ne 0 ]; then tail -n 60 $$log; \
			echo "fuzz: $$t failed (status $$status; see fuzz/artifacts/$$t and $$log)"; exit 1; fi; \
	done

fuzz-smoke:
	@rm -rf fuzz/smoke
	@$(MAKE) --no-print-directory fuzz SECONDS=$(FUZZ_SMOKE_SECONDS) FUZZ_WORK=smoke

# Clippy on the fuzz crate (nightly: it is built with nightly).
fuzz-lint:
	cd fuzz && $(CARGO) +nightly clippy --all-targets -- -D warnings

# Replays the reproducers of the bugs the targets found (fuzz/regressions/): each passes
# now that its bug is fixed.
fuzz-regressions: fuzz-build
	@if ! $(HAVE_FUZZ); then exit 0; fi; failed=0; for t in $(FUZZ_TARGETS); do \
		[ -d fuzz/regressions/$$t ] || continue; \
		for f in fuzz/regressions/$$t/*; do \
			[ -f "$$f" ] || continue; case "$$f" in *.md) continue;; esac; \
			if fuzz/target/x86_64-unknown-linux-gnu/release/$$t \
				-timeout=10 "$$f" >/dev/null 2>&1; then \
				echo "passes:   $$f"; else echo "FAILS:    $$f"; failed=1; fi; \
		done; \
	done; \
	if [ $$failed -ne 0 ]; then echo "fuzz-regressions: a reproducer fails again"; exit 1; fi

# ---- the Python package ----

# bindings/python (see its README): `pip install ./bindings/python` into a venv under
# build/ that holds numpy and pytest only, then the pytest suite against the installed
# package. The examples and the benchmark need matplotlib and PyTorch too (the benchmark
# also cffi, to time that binding beside ctypes): they have a venv of their own
# (PyTorch's Linux wheel pulls several GB of CUDA libraries).
PYTHON ?= python3
PY_VENV := $(BUILD)/python-venv
PY_EXTRAS_VENV := $(BUILD)/python-extras-venv
PY_OUT := $(BUILD)/python

python-venv:
	@$(PY_VENV)/bin/python -c 'import numpy, pytest' >/dev/null 2>&1 || { \
		$(PYTHON) -m venv $(PY_VENV) && $(PY_VENV)/bin/python -m pip install -q numpy pytest; }

PY_INSTALL = $(PY_VENV)/bin/python -m pip install -q --force-reinstall --no-deps ./bindings/python

python-test: ffi-lib python-venv
	$(PY_INSTALL)
	$(PY_VENV)/bin/python -m pytest -q -p no:cacheprovider bindings/python/tests

# The suite against libautodiff built with ASan and the arena's free memory poisoned (as
# ffi-asan builds it), the ASan runtime preloaded into Python, less the tests of the
# packaged library itself and of C programs linked to it; then asan_bypass.py, which
# reads a buffer's raw address after a reset, as no view can, and must be reported.
# Nightly, like ffi-asan (whose build it shares: a few seconds more in `make test`).
python-asan: ffi-lib python-venv
	@if ! $(HAVE_NIGHTLY_ASAN); then \
		why="no nightly toolchain with the ASan runtime"; $(NIGHTLY_MISSING); exit 0; fi; \
	set -e; $(FFI_ASAN_BUILD); $(PY_INSTALL); \
	run="env LD_PRELOAD=$$($(CC) -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=0 \
		LIBAUTODIFF_PATH=$(abspath $(FFI_ASAN_LIB)) $(PY_VENV)/bin/python"; \
	$$run -m pytest -q -p no:cacheprovider bindings/python/tests -k 'not package and not c_reference'; \
	if $$run bindings/python/tests/asan_bypass.py >$(BUILD)/python-asan-bypass.log 2>&1 || \
		! grep -q 'AddressSanitizer: use-after-poison' $(BUILD)/python-asan-bypass.log; then \
		cat $(BUILD)/python-asan-bypass.log; \
		echo "python-asan: a read of a reset tape's memory was not reported"; exit 1; fi; \
	echo "python-asan: the suite ran clean on poisoned arena memory; a raw read after a reset was reported"

python-extras-venv:
	@$(PY_EXTRAS_VENV)/bin/python -c 'import numpy, matplotlib, torch, cffi, setuptools' >/dev/null 2>&1 || { \
		$(PYTHON) -m venv $(PY_EXTRAS_VENV) && \
		$(PY_EXTRAS_VENV)/bin/python -m pip install -q numpy matplotlib torch==2.15.0 cffi setuptools; }
	$(PY_EXTRAS_VENV)/bin/python -m pip install -q --force-reinstall --no-deps ./bindings/python

# The worked examples, the MLP of `make demo` from Python, its loss curve as a PNG
# (build/python/loss.png) and the comparison with torch.autograd.
python-examples: ffi-lib python-extras-venv
	@mkdir -p $(PY_OUT)
	$(PY_EXTRAS_VENV)/bin/python examples/python/worked_examples.py
	$(PY_EXTRAS_VENV)/bin/python examples/python/mlp.py
	$(PY_EXTRAS_VENV)/bin/python examples/python/loss_curve.py $(PY_OUT)/loss.png
	$(PY_EXTRAS_VENV)/bin/python examples/python/torch_comparison.py

# Python-side overhead per scalar and per tensor op, and the MLP step from Python
# against the same step in C (bench/python/mlp_step.c) and in PyTorch, in one run.
python-bench: ffi-lib python-extras-venv
	@mkdir -p $(PY_OUT)
	$(CC) $(EXAMPLE_CFLAGS) bench/python/mlp_step.c $(LINK_SHARED) -o $(PY_OUT)/mlp_step
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY_EXTRAS_VENV)/bin/python bench/python/bench.py --c-step $(PY_OUT)/mlp_step
