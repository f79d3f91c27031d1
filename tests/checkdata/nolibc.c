/* No libc at all, so it links with -nostdlib and any float ABI (soft-float test). */
int demo_add(int a, int b) { return a + b; }

void *PyInit__demo(void) { return 0; }
