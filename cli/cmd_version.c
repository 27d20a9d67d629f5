/* cmd_version.c: `smol version`: version, build flags and run-time CPU features. */
#include "cli.h"
#include <string.h>

static int run(int argc, char **argv) {
    if (argc > 1) return cli_usage_error(argv[0], "unexpected argument '%s'", argv[1]);
    printf("smol %s\n", smol_version());
    printf("build: %s\n", smol_build_flags());
    printf("cpu: %s\n", smol_cpu_features());
    printf("physical cores: %d\n", smol_physical_cores());
    return 0;
}

const smol_cmd cmd_version = {
    "version", "print the version, build flags and CPU features",
    "usage: smol version\n"
    "\n"
    "Prints the version, the compiler flags libsmol was built with, and the CPU\n"
    "features detected at run time (SMOL_CPU=scalar|avx2 caps them).\n"
    "\n"
    "example:\n"
    "  smol version\n",
    run,
};
