#!/usr/bin/env bash
# `make install-test`: follows README.md's install section word for word. Runs the `sh`
# block after the `<!-- install-test ... -->` comment from the repository root, with HOME
# a fresh temporary directory (so `$HOME/.local` is a throwaway prefix) and nothing of
# the caller's PKG_CONFIG_PATH or LD_LIBRARY_PATH, then checks what was installed.
set -euo pipefail
cd "$(dirname "$0")/../.."

steps=$(awk '/^<!-- install-test/ { marked = 1; next }
             marked && /^```sh/ { inside = 1; next }
             inside && /^```/ { exit }
             inside { print }' README.md)
if [ -z "$steps" ]; then
    echo "install-test: README.md has no sh block after <!-- install-test -->"; exit 1
fi

home=$(mktemp -d)
trap 'rm -rf "$home" quickstart quickstart_cpp' EXIT
# cargo and rustup find their installs through HOME unless told otherwise.
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
unset PKG_CONFIG_PATH LD_LIBRARY_PATH
echo "install-test: running README.md's install steps with HOME=$home"
HOME="$home" bash -euxo pipefail -c "$steps"

prefix="$home/.local"
for f in lib/libautodiff.so lib/libautodiff.a include/autodiff.h include/autodiff.hpp \
    lib/pkgconfig/autodiff.pc lib/cmake/autodiff/autodiffConfig.cmake; do
    [ -e "$prefix/$f" ] || { echo "install-test: $f was not installed"; exit 1; }
done
if [ -d bindings/cpp/autodiff ]; then
    for h in bindings/cpp/autodiff/*.hpp; do
        cmp -s "$h" "$prefix/include/autodiff/${h##*/}" ||
            { echo "install-test: $h was not installed"; exit 1; }
    done
fi
echo "install-test: README.md's install steps work as written"
