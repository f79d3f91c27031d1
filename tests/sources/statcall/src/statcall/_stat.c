#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <sys/stat.h>

/* stat() itself, not Python's os.stat: with glibc >= 2.33 headers this is a call of
   stat@GLIBC_2.33, older glibc's headers call __xstat (GLIBC_2.17 on aarch64) */
static PyObject *size(PyObject *self, PyObject *args) {
    const char *path;
    struct stat st;
    if (!PyArg_ParseTuple(args, "s", &path))
        return NULL;
    if (stat(path, &st) != 0)
        return PyErr_SetFromErrnoWithFilename(PyExc_OSError, path);
    return PyLong_FromLongLong((long long)st.st_size);
}

static PyMethodDef methods[] = {{"size", size, METH_VARARGS, "stat(path).st_size"},
                                {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_stat", NULL, -1, methods};
PyMODINIT_FUNC PyInit__stat(void) { return PyModule_Create(&module); }
