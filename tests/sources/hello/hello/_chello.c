#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *greet(PyObject *self, PyObject *args) {
    return PyUnicode_FromFormat("hello from C, sizeof(long)=%d", (int)sizeof(long));
}

static PyMethodDef methods[] = {{"greet", greet, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_chello", NULL, -1, methods};

PyMODINIT_FUNC PyInit__chello(void) { return PyModule_Create(&module); }
