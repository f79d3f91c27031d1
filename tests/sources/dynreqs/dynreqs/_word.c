#include <Python.h>

/* the host's pointer size in bits, computed where the module runs */
static PyObject *bits(PyObject *self, PyObject *args) {
    return PyLong_FromLong((long)(sizeof(void *) * 8));
}

static PyMethodDef methods[] = {{"bits", bits, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_word", NULL, -1, methods};

PyMODINIT_FUNC PyInit__word(void) { return PyModule_Create(&module); }
