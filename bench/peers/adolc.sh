#!/usr/bin/env bash
# Build and run the ADOL-C peer benchmark (adolc_bench.cpp).
# Skips (exit 0) when ADOL-C's headers are absent; install with
#   apt-get install libadolc-dev
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ ! -d /usr/include/adolc ]; then
    echo "ADOL-C not installed: skipped"
    exit 0
fi
build="${BUILD_DIR:-$here/build}"
mkdir -p "$build"
if pkg-config --exists adolc 2>/dev/null; then
    flags="$(pkg-config --cflags --libs adolc)"
    version="$(pkg-config --modversion adolc)"
else
    flags="-ladolc"
    version="$(dpkg-query -W -f='${Version}' libadolc-dev 2>/dev/null || echo unknown)"
fi
# Debian's adolc.pc asks for -lboost_system, which libadolc-dev does not
# pull in; fall back to plain -ladolc when that link fails.
# shellcheck disable=SC2086
if ! g++ -O2 -std=c++17 -o "$build/adolc_bench" "$here/adolc_bench.cpp" $flags 2>"$build/link.log"; then
    if [ "$flags" = "-ladolc" ]; then cat "$build/link.log" >&2; exit 1; fi
    g++ -O2 -std=c++17 -o "$build/adolc_bench" "$here/adolc_bench.cpp" -ladolc
fi
echo "# adolc version $version (g++ $(g++ -dumpfullversion))"
# Tapes that overflow the in-memory buffers go to files in the cwd.
cd "$build"
if command -v taskset >/dev/null 2>&1 && [ -n "${PIN_CPU:-}" ]; then
    exec taskset -c "$PIN_CPU" ./adolc_bench
fi
exec ./adolc_bench
