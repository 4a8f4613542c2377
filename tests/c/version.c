/* The version macros match Cargo.toml (passed in as EXPECTED_VERSION by the Makefile)
 * and the library loaded at run time, part by part. */
#include <stdio.h>
#include <string.h>

#include "check.h"

#ifndef EXPECTED_VERSION
#error "build with -DEXPECTED_VERSION=\"<version in Cargo.toml>\""
#endif

int main(void) {
    char macros[64];
    unsigned major = 999, minor = 999, patch = 999;
    snprintf(macros, sizeof macros, "%u.%u.%u", (unsigned)AD_VERSION_MAJOR,
             (unsigned)AD_VERSION_MINOR, (unsigned)AD_VERSION_PATCH);
    CHECK(strcmp(macros, EXPECTED_VERSION) == 0);
    CHECK(strcmp(ad_version(), EXPECTED_VERSION) == 0);
    CHECK(sscanf(EXPECTED_VERSION, "%u.%u.%u", &major, &minor, &patch) == 3);
    CHECK(major == AD_VERSION_MAJOR);
    CHECK(minor == AD_VERSION_MINOR);
    CHECK(patch == AD_VERSION_PATCH);
    CHECK(ad_abi_version() == AD_ABI_VERSION);
    if (strcmp(macros, EXPECTED_VERSION) != 0)
        fprintf(stderr, "header says %s, Cargo.toml says %s\n", macros, EXPECTED_VERSION);
    return check_summary();
}
