#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <sys/utsname.h>
#ifdef CIBWDEMO_NEW_SYMBOL
#include <unistd.h>
#endif

static PyObject *add(PyObject *self, PyObject *args) {
    long a, b;
    if (!PyArg_ParseTuple(args, "ll", &a, &b))
        return NULL;
    return PyLong_FromLong(a + b);
}

static PyObject *machine(PyObject *self, PyObject *unused) {
    struct utsname name;
#ifdef CIBWDEMO_NEW_SYMBOL
    closefrom(1000000);  /* GLIBC_2.34: beyond manylinux_2_28 */
#endif
    if (uname(&name) != 0)
        return PyErr_SetFromErrno(PyExc_OSError);
    return PyUnicode_FromString(name.machine);
}

static PyMethodDef methods[] = {
    {"add", add, METH_VARARGS, "a + b, in C"},
    {"machine", machine, METH_NOARGS, "uname().machine seen from C"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_cmod", NULL, -1, methods};

PyMODINIT_FUNC PyInit__cmod(void) { return PyModule_Create(&module); }
