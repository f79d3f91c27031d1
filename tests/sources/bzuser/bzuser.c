#include <Python.h>
#include <bzlib.h>
static struct PyModuleDef m = {PyModuleDef_HEAD_INIT, "bzuser"};
PyMODINIT_FUNC PyInit_bzuser(void) { (void)BZ2_bzlibVersion; return PyModule_Create(&m); }
