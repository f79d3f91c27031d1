#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

void fl_solve2(double *a, double *b, int *info, char *text);

/* solve(a11, a12, a21, a22, b1, b2) -> (x1, x2, text) */
static PyObject *solve(PyObject *self, PyObject *args) {
    double a[4], b[2];
    int info = -1;
    char text[33];
    /* Fortran's column-major order: a(1,1), a(2,1), a(1,2), a(2,2) */
    if (!PyArg_ParseTuple(args, "dddddd", &a[0], &a[2], &a[1], &a[3], &b[0], &b[1]))
        return NULL;
    fl_solve2(a, b, &info, text);
    text[32] = '\0';
    for (int i = 31; i >= 0 && text[i] == ' '; i--)
        text[i] = '\0';
    if (info != 0)
        return PyErr_Format(PyExc_ValueError, "dgesv failed: %s", text);
    return Py_BuildValue("dds", b[0], b[1], text);
}

static PyMethodDef methods[] = {
    {"solve", solve, METH_VARARGS, "Solve a 2x2 linear system with LAPACK (Fortran)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "fortlapack", NULL, -1, methods};

PyMODINIT_FUNC PyInit_fortlapack(void) { return PyModule_Create(&module); }
