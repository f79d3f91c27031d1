/* libfoo.so.1 as an older release shipped it: without foo_new. */
int foo_old(void) { return 1; }
