/* A code generator the build script compiles for the BUILD machine and runs:
   it prints Rust source naming the machine it was compiled for. Compiled with
   the host's cross compiler, it could not run here and the build would fail. */
#include <stdio.h>
#include "machine.h"

int main(void) {
    printf("pub const GENERATOR_MACHINE: &str = \"%s\";\n", MACHINE);
    return 0;
}
