/* The machine this file is compiled for, from the compiler's own macros. */
#if defined(__x86_64__)
#define MACHINE "x86_64"
#elif defined(__aarch64__)
#define MACHINE "aarch64"
#elif defined(__arm__)
#define MACHINE "arm"
#elif defined(__i386__)
#define MACHINE "i386"
#else
#define MACHINE "other"
#endif
