/* An extension that calls into libfoo.so.1 (shipped in the wheel, or the host's). */
extern int foo_new(void);

int demo_foo(void) { return foo_new(); }

void *PyInit__demo(void) { return 0; }
