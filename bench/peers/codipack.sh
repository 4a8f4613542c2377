#!/usr/bin/env bash
# Build and run the CoDiPack peer benchmark (codipack_bench.cpp).
# CoDiPack is header-only and not in Debian: CODIPACK=<CoDiPack>/include (for example a
# clone of its v3.1.1 tag) says where it is. Skips (exit 0) when CODIPACK is unset.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ -z "${CODIPACK:-}" ]; then
    echo "CoDiPack not given (CODIPACK=<CoDiPack>/include): skipped"
    exit 0
fi
if [ ! -f "$CODIPACK/codi.hpp" ]; then
    echo "codipack: no codi.hpp in CODIPACK=$CODIPACK" >&2
    exit 1
fi
build="${BUILD_DIR:-$here/build}"
mkdir -p "$build"
# -O3: CoDiPack's expression templates need the inlining (its Rosenbrock gradient is about
# 1.35x slower at -O2 here); the peer gets its best build, as ours does (release).
g++ -O3 -std=c++17 -isystem "$CODIPACK" -o "$build/codipack_bench" "$here/codipack_bench.cpp"
version="$(sed -n 's/^#define CODI_VERSION "\(.*\)"/\1/p' "$CODIPACK/codi.hpp")"
echo "# codipack version ${version:-unknown} (g++ $(g++ -dumpfullversion))"
if command -v taskset >/dev/null 2>&1 && [ -n "${PIN_CPU:-}" ]; then
    exec taskset -c "$PIN_CPU" "$build/codipack_bench"
fi
exec "$build/codipack_bench"
