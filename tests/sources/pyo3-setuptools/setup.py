from setuptools import setup
from setuptools_rust import Binding, RustExtension

setup(rust_extensions=[RustExtension("pyo3_hello", binding=Binding.PyO3)], zip_safe=False)
