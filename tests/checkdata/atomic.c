/* A one-byte compare-and-swap: riscv64 has no byte-wide CAS instruction, so gcc calls
   __atomic_compare_exchange_1, which only libatomic defines. */
static char flag;

int demo_claim(void) {
    char expected = 0;
    return __atomic_compare_exchange_n(&flag, &expected, 1, 0, __ATOMIC_SEQ_CST,
                                       __ATOMIC_SEQ_CST);
}

void *PyInit__demo(void) { return 0; }
