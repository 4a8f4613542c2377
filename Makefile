# libautodiff: `make demo` runs the main job, `make test` passes the tests.
# Every target is plain shell over cargo and the C compiler; see README.md.

CARGO ?= cargo
CC ?= gcc

.PHONY: all demo test lint fmt-check clippy rust-test

all:
	$(CARGO) build --release --workspace

demo:
	$(CARGO) run --release -p autodiff-core --example seed_examples

test: lint rust-test
	@echo "make test: all checks passed"

lint: fmt-check clippy

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

rust-test:
	$(CARGO) test --workspace
