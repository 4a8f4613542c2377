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
C_TESTS := api bad_input dual tensor threads device
C_TESTS += checkpoint device_tape soundness header_sweep
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

.PHONY: all demo test lint fmt-check clippy rust-test miri miri-all \
	ffi-lib cbindgen-tool header header-check header-compile soname-check \
	c-test c-asan c-valgrind c-tsan cpp-test rust-asan ffi-asan install package-test \
	freestanding cuda cuda-test fuzz fuzz-smoke fuzz-build fuzz-lint fuzz-regressions sparse-test

all:
	$(CARGO) build --release --workspace

# The C MLP example: a 10-layer network trained on a synthetic data set, in one fixed
# block of memory. It exits non-zero if it misses its held-out accuracy threshold.
demo: ffi-lib
	@mkdir -p $(BUILD)/c
	$(CC) $(EXAMPLE_CFLAGS) examples/mlp.c $(LINK_SHARED) -o $(BUILD)/c/mlp
	./$(BUILD)/c/mlp

test: lint rust-test miri freestanding header-check header-compile soname-check c-test c-asan \
	c-valgrind c-tsan package-test rust-asan ffi-asan cuda-test cpp-test fuzz-smoke sparse-test
	@echo "make test: all checks passed"

lint: fmt-check clippy

fmt-check:
	$(CARGO) fmt --all -- --check
	cd core/freestanding && $(CARGO) fmt -- --check
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
# training loop with parameters and optimizers (where Stacked Borrows once failed), and
# the sticky-error and handle tests. `make miri-all` runs every core test under Miri
# (most of an hour on two cores).
MIRI_FEATURES := --features libm/force-soft-floats
MIRIFLAGS_CORE ?= -Zmiri-deterministic-floats -Zmiri-strict-provenance
MIRI_SUITES := --test soundness --test training --test sticky_errors
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

# ---- the C library ----

ffi-lib:
	$(CARGO) build --profile ffi -p autodiff-ffi
	mkdir -p $(LIB)
	cp -f $(CARGO_LIB)/libautodiff.so $(LIB)/libautodiff.so.$(VERSION)
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

header: cbindgen-tool
	$(CBINDGEN) -q --config ffi/cbindgen.toml --crate autodiff-ffi --output include/autodiff.h ffi

# Fails when include/autodiff.h differs from what the sources generate.
header-check: cbindgen-tool
	@mkdir -p $(BUILD)
	$(CBINDGEN) -q --config ffi/cbindgen.toml --crate autodiff-ffi --output $(BUILD)/autodiff.h.new ffi
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
	@set -e; for t in api bad_input dual tensor device checkpoint device_tape soundness header_sweep; do \
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
	@set -e; for t in api bad_input dual tensor device quickstart linreg checkpoint device_tape soundness header_sweep; do \
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
CPP_TEST_FLAGS := -std=c++17 -Wall -Wextra -Werror -pedantic -g -Iinclude -Ibindings/cpp

cpp-test: ffi-lib
	@mkdir -p $(BUILD)/cpp
	$(CXX) $(CPP_TEST_FLAGS) tests/cpp/wrapper.cpp $(LINK_SHARED) -o $(BUILD)/cpp/wrapper
	@echo "== wrapper (c++)"; ./$(BUILD)/cpp/wrapper
	$(CXX) $(CPP_TEST_FLAGS) $(SAN_FLAGS) tests/cpp/wrapper.cpp $(LINK_SHARED) -o $(BUILD)/cpp/wrapper_asan
	@echo "== wrapper (c++, asan+ubsan)"; \
		ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ./$(BUILD)/cpp/wrapper_asan

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
ffi-asan:
	@if ! $(HAVE_NIGHTLY_ASAN); then \
		why="no nightly toolchain with the ASan runtime"; $(NIGHTLY_MISSING); exit 0; fi; \
	set -e; RUSTFLAGS="$(ASAN_RUSTFLAGS)" $(CARGO) +nightly build --profile ffi -p autodiff-ffi \
		--target x86_64-unknown-linux-gnu --target-dir target/ffi-asan; \
	mkdir -p $(FFI_ASAN_DIR)/lib; \
	cp -f target/ffi-asan/x86_64-unknown-linux-gnu/ffi/libautodiff.so $(FFI_ASAN_DIR)/lib/; \
	ln -sf libautodiff.so $(FFI_ASAN_DIR)/lib/libautodiff.so.$(ABI); \
	link="-L$(FFI_ASAN_DIR)/lib -lautodiff -Wl,-rpath,$(abspath $(FFI_ASAN_DIR)/lib) -lm"; \
	for t in api bad_input dual tensor device checkpoint device_tape soundness header_sweep; do \
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

# Vector modes, dense Hessians and sparse Jacobians/Hessians: the core suites, then the C
# test (plainly, under ASan/UBSan and under valgrind) and the C++ wrapper's test (plainly
# and under ASan/UBSan), against the shared library.
sparse-test: ffi-lib
	$(CARGO) test -p autodiff-core --test vector_modes --test sparse_derivatives
	@mkdir -p $(BUILD)/sparse
	$(CC) $(TEST_CFLAGS) tests/c/sparse.c $(LINK_SHARED) -o $(BUILD)/sparse/sparse
	@echo "== sparse (c)"; ./$(BUILD)/sparse/sparse
	@echo "== sparse (c, valgrind)"; \
		RUST_BACKTRACE=0 valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=all ./$(BUILD)/sparse/sparse
	$(CC) $(TEST_CFLAGS) $(SAN_FLAGS) tests/c/sparse.c $(LINK_SHARED) -o $(BUILD)/sparse/sparse_asan
	@echo "== sparse (c, asan+ubsan)"; \
		ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ./$(BUILD)/sparse/sparse_asan
	$(CXX) $(CPP_TEST_FLAGS) tests/cpp/sparse.cpp $(LINK_SHARED) -o $(BUILD)/sparse/sparse_cpp
	@echo "== sparse (c++)"; ./$(BUILD)/sparse/sparse_cpp
	$(CXX) $(CPP_TEST_FLAGS) $(SAN_FLAGS) tests/cpp/sparse.cpp $(LINK_SHARED) -o $(BUILD)/sparse/sparse_cpp_asan
	@echo "== sparse (c++, asan+ubsan)"; \
		ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ./$(BUILD)/sparse/sparse_cpp_asan

# ---- packaging ----

install: ffi-lib
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include \
		$(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/lib/cmake/autodiff
	install -m 755 $(LIB)/libautodiff.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libautodiff.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libautodiff.so.$(ABI)
	ln -sf libautodiff.so.$(ABI) $(DESTDIR)$(PREFIX)/lib/libautodiff.so
	install -m 644 $(LIB)/libautodiff.a $(DESTDIR)$(PREFIX)/lib/
	install -m 644 include/autodiff.h $(DESTDIR)$(PREFIX)/include/
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
FUZZ_TARGETS := c_api_sequences tape_differential checkpoint_schedule
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
	@set -e; for t in $(FUZZ_TARGETS); do \
		[ -d fuzz/regressions/$$t ] || continue; \
		for f in fuzz/regressions/$$t/*; do \
			[ -f "$$f" ] || continue; case "$$f" in *.md) continue;; esac; \
			if fuzz/target/x86_64-unknown-linux-gnu/release/$$t \
				-timeout=10 "$$f" >/dev/null 2>&1; then \
				echo "passes:   $$f"; else echo "FAILS:    $$f"; fi; \
		done; \
	done
