#include <Python.h>
#include <stdint.h>
/* what setup.py decided, and what the machine running this really is */
static PyObject *facts(PyObject *self, PyObject *unused) {
    uint16_t one = 1;
    int big = *(unsigned char *)&one == 0;
    return Py_BuildValue("((iii)(iii))", BUILT_BIG_ENDIAN, BUILT_64BIT, BUILT_POINTER,
                         big, (int)(sizeof(void *) == 8), (int)sizeof(void *));
}
static PyMethodDef M[] = {{"facts", facts, METH_NOARGS, ""}, {0}};
static struct PyModuleDef D = {PyModuleDef_HEAD_INIT, "facts", 0, -1, M};
PyMODINIT_FUNC PyInit_facts(void) { return PyModule_Create(&D); }
