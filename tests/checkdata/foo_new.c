/* libfoo.so.1 as the extension was linked against it: foo_new added. */
int foo_old(void) { return 1; }
int foo_new(void) { return 2; }
