// std::string with the C++11 ABI needs GLIBCXX_3.4.21, newer than manylinux2014's 3.4.19.
#include <string>

extern "C" int demo_len(const char *s) { return static_cast<int>(std::string(s).size()); }

extern "C" void *PyInit__demo(void) { return nullptr; }
