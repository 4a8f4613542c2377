#!/usr/bin/env python3
"""Docs that cannot drift: compiles and runs the C and C++ code blocks of Markdown files.

    tests/docs/check_blocks.py README.md ffi/README.md bindings/cpp/README.md

`make docs-test` runs it over the files in the Makefile's DOC_FILES; add a new README
there. How a block is checked is said by its fence and, optionally, by an HTML comment on
the nearest non-blank line above the fence:

    ```c   ```cpp         A complete program. It is compiled (C: -std=c99 -pedantic -Wall
                          -Wextra -Werror; C++: -std=c++17 -pedantic -Wall -Wextra -Werror),
                          with include/ and bindings/cpp/ on the include path, linked
                          against build/lib/libautodiff.so and -lm, and run: it must exit 0.
                          An untagged C or C++ block that does not compile fails the check.
    ```c compile-only     Compiled and linked, not run (it needs hardware, a launcher, or
                          input this check does not have). Say in the text why.
    ```c fragment         Deliberately not a program (a declaration, a signature, a line
                          of a larger program): not compiled. Prefer a complete program or
                          an include; say in the text where the whole program is.
    <!-- include: PATH -->  The block must equal the file PATH (from the repository root)
                          exactly, and is then checked as its fence says (a C or C++
                          include is compiled and run unless tagged). Any language.
                          For a program built for another target or with another
                          toolchain (arm-none-eabi-gcc, mpicc), include it from the file
                          its own make target builds and tag the fence `c fragment`: the
                          block is then only compared with that file.
    <!-- excerpt: PATH -->  The block's lines must appear in PATH, adjacent and in order
                          (leading and trailing blank lines aside); not compiled, since
                          it is part of a program. Any language.
    ```rust               Allowed only in files a crate runs as doctests (RUST_DOCTESTS
                          below): rustdoc compiles and runs them in `cargo test`.

Every fence needs a language: an untagged fence would be taken for Rust by rustdoc. Blocks
of other languages (sh, cmake, python, text, ...) are not run here; to check one, include
it from a file that some test runs. README.md's install steps, the `sh` block after the
`<!-- install-test -->` comment, are run word for word by tests/docs/install.sh.
"""

import os
import re
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LIB = os.path.join(ROOT, "build", "lib")
OUT = os.path.join(ROOT, "build", "docs", "blocks")
CC = os.environ.get("CC", "gcc")
CXX = os.environ.get("CXX", "g++")
INCLUDES = ["-I" + os.path.join(ROOT, "include"), "-I" + os.path.join(ROOT, "bindings", "cpp")]
LINK = ["-L" + LIB, "-lautodiff", "-Wl,-rpath," + LIB, "-lm"]
COMPILERS = {
    "c": (CC, ".c", ["-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror"]),
    "cpp": (CXX, ".cpp", ["-std=c++17", "-pedantic", "-Wall", "-Wextra", "-Werror"]),
}
LANGUAGES = {"c": "c", "cpp": "cpp", "c++": "cpp", "cxx": "cpp"}
TAGS = {"fragment", "compile-only"}
# Markdown files whose `rust` blocks a crate compiles as doctests, and the file that
# includes them.
RUST_DOCTESTS = {"README.md": "core/src/lib.rs"}
FENCE = re.compile(r"^(\s*)```(.*)$")
MARKER = re.compile(r"^<!--\s*(include|excerpt):\s*(\S+)\s*-->$")


def blocks(path):
    """Yields (line number, info words, marker or None, text) for each fenced block."""
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, info, start = len(m.group(1)), m.group(2).split(), i
        j = i + 1
        while j < len(lines) and lines[j].strip() != "```":
            j += 1
        if j == len(lines):
            raise SystemExit(f"{path}:{start + 1}: a fence that is never closed")
        before = next((lines[k].strip() for k in range(start - 1, -1, -1) if lines[k].strip()), "")
        marker = MARKER.match(before)
        text = "\n".join(line[indent:] for line in lines[start + 1 : j]) + "\n"
        yield start + 1, info, marker.groups() if marker else None, text
        i = j + 1


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def check_block(doc, line, info, marker, text):
    """Checks one block; returns an error message or None."""
    where = f"{doc}:{line}"
    if not info:
        return f"{where}: a fence with no language (rustdoc would take it for Rust)"
    lang, tags = info[0].lower(), set(info[1:])
    if marker:
        kind, path = marker
        try:
            wanted = open(os.path.join(ROOT, path), encoding="utf-8").read()
        except OSError as e:
            return f"{where}: {kind} of {path}: {e.strerror}"
        if kind == "include" and text != wanted:
            return f"{where}: the block differs from {path}, which it says it includes"
        if kind == "excerpt":
            if "\n" + text.strip("\n") + "\n" not in "\n" + wanted:
                return f"{where}: the block's lines are not a run of lines of {path}"
            print(f"== {where} ({lang}): an excerpt of {path}")
            return None
        print(f"== {where} ({lang}): the same as {path}")
        if lang not in LANGUAGES:
            return None
    elif lang == "rust":
        host = RUST_DOCTESTS.get(doc)
        needle = host and f'include_str!("{os.path.relpath(doc, os.path.dirname(host))}")'
        if not host or needle not in open(os.path.join(ROOT, host), encoding="utf-8").read():
            return f"{where}: a rust block in a file no crate runs as doctests (see RUST_DOCTESTS)"
        print(f"== {where} (rust): a doctest of {host}")
        return None
    if lang not in LANGUAGES:
        return None
    unknown = tags - TAGS
    if unknown:
        return f"{where}: unknown tag(s) {sorted(unknown)}; known: {sorted(TAGS)}"
    if "fragment" in tags:
        print(f"== {where} ({lang}): a fragment, not compiled")
        return None
    compiler, suffix, flags = COMPILERS[LANGUAGES[lang]]
    name = re.sub(r"[^A-Za-z0-9]+", "_", doc) + f"_{line}"
    source, binary = os.path.join(OUT, name + suffix), os.path.join(OUT, name)
    with open(source, "w", encoding="utf-8") as f:
        f.write(text)
    built = run([compiler, *flags, *INCLUDES, source, *LINK, "-o", binary])
    if built.returncode != 0:
        return (f"{where}: this {lang} block does not compile as a program ({source}):\n"
                f"{built.stderr}make it a complete program, include it from a file, or tag "
                f"it `{lang} fragment` (see tests/docs/check_blocks.py)")
    if "compile-only" in tags:
        print(f"== {where} ({lang}): compiled")
        return None
    try:
        ran = run([binary], timeout=120, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return f"{where}: the program did not finish in 120 s"
    sys.stdout.write(ran.stdout)
    if ran.returncode != 0:
        return f"{where}: the program exited with status {ran.returncode}:\n{ran.stderr}"
    print(f"== {where} ({lang}): compiled and ran")
    return None


def main(docs):
    os.makedirs(OUT, exist_ok=True)
    failures = []
    for doc in docs:
        for line, info, marker, text in blocks(os.path.join(ROOT, doc)):
            error = check_block(doc, line, info, marker, text)
            if error:
                failures.append(error)
    for error in failures:
        print(error, file=sys.stderr)
    if failures:
        raise SystemExit(f"docs-test: {len(failures)} block(s) failed")
    print(f"docs-test: the code blocks of {', '.join(docs)} compile and run")


if __name__ == "__main__":
    main(sys.argv[1:])
