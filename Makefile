# libautodiff: `make demo` runs the main job, `make test` passes the tests.
# Every target is plain shell over cargo and the C compiler; see README.md.

CARGO ?= cargo
CC ?= gcc

.PHONY: all demo test lint fmt-check clippy rust-test freestanding

all:
	$(CARGO) build --release --workspace

demo:
	$(CARGO) run --release -p autodiff-core --example seed_examples

test: lint rust-test freestanding
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
