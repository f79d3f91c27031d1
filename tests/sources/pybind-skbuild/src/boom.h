// One exception type, compiled into both modules: thrown in _thrower, caught in _catcher.
#pragma once
#include <memory>
#include <stdexcept>
#include <string>

struct Boom : std::runtime_error {
    Boom(const std::string &what, int code) : std::runtime_error(what), code(code) {}
    int code;
};

// _thrower hands _catcher this function in a capsule: a plain C++ call across modules
typedef int (*boom_fn)(int);
#define BOOM_CAPSULE "skpair._thrower.boom_fn"

// shared_ptr's reference count: gcc 12's headers read __libc_single_threaded (glibc 2.32)
inline long shared_count(int n) {
    auto first = std::make_shared<std::string>(static_cast<std::size_t>(n), 'x');
    std::shared_ptr<std::string> second = first;
    return first.use_count() + static_cast<long>(second->size());
}
