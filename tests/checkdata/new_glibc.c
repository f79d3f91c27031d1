/* Calls pthread_create, whose default version moved to GLIBC_2.34 when libpthread
   was merged into libc: linked against Debian 12's glibc 2.36 it needs GLIBC_2.34. */
#include <pthread.h>

static void *run(void *arg) { return arg; }

int demo_spawn(void) {
    pthread_t thread;
    return pthread_create(&thread, 0, run, 0);
}

void *PyInit__demo(void) { return 0; }
