/* Runs a generated function on inputs given as IEEE bit patterns and prints its
 * results the same way, so that the test compares them with the tape bit for bit.
 *
 * Built with -DGENERATED="file.c" -DREAL=double|float -DN_IN=.. -DN_OUT=.. and
 * -DHAS_JVP=0|1. Reads hex words from stdin: x[N_IN], y_bar[N_OUT], x_dot[N_IN].
 * Prints, one hex word a line: y of gen(), then y and x_bar of gen_vjp(), then y and
 * y_dot of gen_jvp() when it exists. */
#include <stdio.h>
#include <string.h>

#include GENERATED

#define IS_DOUBLE (sizeof(REAL) == 8)

static REAL read_real(void) {
    unsigned long long bits = 0;
    REAL value;
    if (scanf("%llx", &bits) != 1) return 0;
    if (IS_DOUBLE) {
        memcpy(&value, &bits, sizeof value);
    } else {
        unsigned long narrow = (unsigned long)bits;
        unsigned int word = (unsigned int)narrow;
        memcpy(&value, &word, sizeof value);
    }
    return value;
}

static void print_real(REAL value) {
    if (IS_DOUBLE) {
        unsigned long long bits;
        memcpy(&bits, &value, sizeof bits);
        printf("%llx\n", bits);
    } else {
        unsigned int word;
        memcpy(&word, &value, sizeof word);
        printf("%x\n", word);
    }
}

static void print_all(const REAL *values, int n) {
    int i;
    for (i = 0; i < n; i++) print_real(values[i]);
}

int main(void) {
    static REAL x[N_IN + 1], y_bar[N_OUT + 1], x_dot[N_IN + 1];
    static REAL y[N_OUT + 1], x_bar[N_IN + 1], y_dot[N_OUT + 1];
    int i;
    for (i = 0; i < N_IN; i++) x[i] = read_real();
    for (i = 0; i < N_OUT; i++) y_bar[i] = read_real();
    for (i = 0; i < N_IN; i++) x_dot[i] = read_real();
    gen(x, y);
    print_all(y, N_OUT);
    gen_vjp(x, y_bar, y, x_bar);
    print_all(y, N_OUT);
    print_all(x_bar, N_IN);
#if HAS_JVP
    gen_jvp(x, x_dot, y, y_dot);
    print_all(y, N_OUT);
    print_all(y_dot, N_OUT);
#else
    (void)x_dot;
    (void)y_dot;
#endif
    return 0;
}
