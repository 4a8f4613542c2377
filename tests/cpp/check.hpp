// The C++ tests' harness, as tests/c/check.h is the C tests': each CHECK counts one pass
// or one failure (printed with its file and line), and check_summary() prints "N passed,
// M failed" and gives the exit code.
#ifndef AUTODIFF_TEST_CHECK_HPP
#define AUTODIFF_TEST_CHECK_HPP

#include <cstdio>

static int passed, failed;

static void check_record(bool ok, const char *file, int line, const char *what) {
    if (ok) {
        passed++;
    } else {
        failed++;
        std::fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
    }
}

#define CHECK(cond) check_record((cond), __FILE__, __LINE__, #cond)

static int check_summary() {
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}

#endif
