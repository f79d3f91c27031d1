/* Reports the C ABI numpy's headers were configured for, and uses the C API. */
#define PY_SSIZE_T_CLEAN
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <Python.h>
#include <numpy/arrayobject.h>

static PyObject *abi(PyObject *self, PyObject *args) {
    return Py_BuildValue("{s:i,s:i,s:i,s:i}", "NPY_SIZEOF_LONG", (int)NPY_SIZEOF_LONG,
                         "NPY_SIZEOF_INTP", (int)NPY_SIZEOF_INTP, "sizeof_long", (int)sizeof(long),
                         "sizeof_intp", (int)sizeof(npy_intp));
}

/* Sum an array as C long: wrong headers give wrong strides/sizes on 32-bit hosts. */
static PyObject *sum_long(PyObject *self, PyObject *arg) {
    PyArrayObject *arr = (PyArrayObject *)PyArray_FROMANY(arg, NPY_LONG, 1, 1,
                                                          NPY_ARRAY_CARRAY_RO);
    if (arr == NULL) return NULL;
    npy_intp n = PyArray_DIM(arr, 0);
    const long *data = (const long *)PyArray_DATA(arr);
    long total = 0;
    for (npy_intp i = 0; i < n; i++) total += data[i];
    Py_DECREF(arr);
    return PyLong_FromLong(total);
}

static PyMethodDef methods[] = {
    {"abi", abi, METH_NOARGS, "sizes numpy's headers were configured with"},
    {"sum_long", sum_long, METH_O, "sum a 1-d array as C long"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "npyext", NULL, -1, methods};

PyMODINIT_FUNC PyInit_npyext(void) {
    import_array();
    return PyModule_Create(&module);
}
