#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <sstream>
#include <vector>

#include "boom.h"

namespace nb = nanobind;

static int boom(int code) {
    if (code < 0) throw std::out_of_range("negative code");
    throw Boom("boom " + std::to_string(code), code);
}

// std::stringstream inline in the module and std::stringbuf's default constructor
// (GLIBCXX_3.4.26, from crossenv's static archive), as in scipy's HiGHS
static int word_lengths(const std::string &text) {
    std::stringstream ss;
    ss << text;
    std::stringbuf head;
    head.sputn(text.data(), static_cast<std::streamsize>(std::min<size_t>(text.size(), 3)));
    std::istringstream in(ss.str() + " " + head.str());
    std::string word;
    int n = 0;
    while (in >> word) n += static_cast<int>(word.size());
    return n;
}

NB_MODULE(_thrower, m) {
    m.def("boom", &boom, "throws Boom (a C++ exception) or std::out_of_range");
    m.def("boom_fn", [] { return nb::capsule(reinterpret_cast<void *>(&boom), BOOM_CAPSULE); });
    m.def("shared_count", &shared_count);
    m.def("word_lengths", &word_lengths);
    m.def("words", [](const std::vector<std::string> &w) {
        std::string all;
        for (const auto &s : w) all += s + ";";
        return all;
    });
}
