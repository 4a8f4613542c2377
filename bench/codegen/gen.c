/* Records Rosenbrock and the chain (workloads.h) through the C API and writes the C that
 * ad_tape_generate_c() makes from each tape into the directory argv[1]:
 * rosenbrock_gen.c and chain_gen.c, which bench.c includes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workloads.h"

static unsigned char mem[1 << 20];

static int generate(ad_var (*record)(ad_tape *, const double *), const char *name,
                    const char *dir) {
    double x[N];
    char path[4096];
    size_t len = 0;
    ad_tape *t;
    point(x);
    if (ad_tape_init(mem, sizeof mem, AD_F64, &t) != AD_OK) return 1;
    ad_var f = record(t, x);
    ad_status st = ad_tape_generate_c(t, &f, 1, name, AD_CODEGEN_VJP, NULL, 0, &len);
    char *code = st == AD_ERR_BUFFER_TOO_SMALL ? malloc(len + 1) : NULL;
    if (!code || ad_tape_generate_c(t, &f, 1, name, AD_CODEGEN_VJP, code, len + 1, &len) != AD_OK) {
        fprintf(stderr, "gen: %s: %s\n", name, ad_tape_error(t));
        return 1;
    }
    snprintf(path, sizeof path, "%s/%s.c", dir, name);
    FILE *out = fopen(path, "w");
    if (!out || fwrite(code, 1, len, out) != len || fclose(out) != 0) return 1;
    free(code);
    return ad_tape_done(t) != AD_OK;
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    return generate(rosenbrock_taped, "rosenbrock_gen", argv[1]) ||
           generate(chain_taped, "chain_gen", argv[1]);
}
