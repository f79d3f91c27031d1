/* A meson-python extension: reports the machine's pointer width. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *pointer_bits(PyObject *self, PyObject *unused) {
    return PyLong_FromLong((long)(sizeof(void *) * 8));
}

static PyMethodDef methods[] = {
    {"pointer_bits", pointer_bits, METH_NOARGS, "The width of a pointer."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_mhello", NULL, -1, methods};

PyMODINIT_FUNC PyInit__mhello(void) { return PyModule_Create(&module); }
