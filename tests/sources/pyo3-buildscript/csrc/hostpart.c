/* C code for the HOST, linked into the extension (cc::Build with cargo's TARGET). */
#include "machine.h"

const char *hostpart_machine(void) { return MACHINE; }
long hostpart_mul(long a, long b) { return a * b; }
