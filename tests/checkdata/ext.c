/* A tiny extension module: only libc symbols every glibc >= 2.2 has, no Python headers
   (PyInit_ returning NULL is enough for the checker, which never imports it). */
#include <string.h>

int demo_len(const char *s) { return (int)strlen(s); }

void *PyInit__demo(void) { return 0; }
