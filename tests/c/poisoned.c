/* Run by `make ffi-asan`, against libautodiff.so built with AddressSanitizer and the
 * arena's free memory poisoned: a host that reads its tape memory where the tape holds
 * nothing is reported.
 *
 *   poisoned          reads only live memory, and the whole buffer after ad_tape_done():
 *                     exits 0
 *   poisoned reset    reads the bytes of records dropped by ad_tape_reset(): ASan aborts
 *   poisoned gap      reads the free gap between the records and the high end: ASan aborts
 */
#include <stdio.h>
#include <string.h>

#include "autodiff.h"

static unsigned char mem[1 << 14];

/* Reads the `n` bytes at `p` in a way the compiler keeps. */
static unsigned read_bytes(const unsigned char *p, size_t n) {
    volatile unsigned sum = 0;
    for (size_t i = 0; i < n; i++) sum += p[i];
    return sum;
}

int main(int argc, char **argv) {
    const char *fault = argc > 1 ? argv[1] : "";
    ad_tape *t;
    if (ad_tape_init(mem, sizeof mem, AD_F64, &t) != AD_OK) return 2;
    ad_var x = ad_input(t, 1.5);
    if (strcmp(fault, "gap") == 0) {
        /* One record after the header; the middle of the buffer is free. */
        read_bytes(mem + sizeof mem / 2, 64);
        return 0;
    }
    /* 400 records of 24 bytes (9600 bytes) from the end of the tape's header, which is
       far smaller than 4 KiB: byte 4096 is among them. */
    for (int i = 0; i < 199; i++) x = ad_mul(t, x, ad_input(t, 1.0));
    double g;
    if (ad_backward(t, x) != AD_OK || ad_grad(t, x, &g) != AD_OK) return 3;
    read_bytes(mem + 4096, 64);
    if (ad_tape_reset(t) != AD_OK) return 4;
    if (strcmp(fault, "reset") == 0) {
        read_bytes(mem + 4096, 64);
        return 0;
    }
    if (ad_tape_done(t) != AD_OK) return 5;
    /* The buffer is the caller's again, all of it. */
    read_bytes(mem, sizeof mem);
    memset(mem, 0, sizeof mem);
    puts("poisoned: live reads and reads after ad_tape_done() pass");
    return 0;
}
