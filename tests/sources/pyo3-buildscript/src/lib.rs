use std::ffi::CStr;
use std::os::raw::{c_char, c_long};

use pyo3::prelude::*;

include!(concat!(env!("OUT_DIR"), "/generated.rs"));

extern "C" {
    fn hostpart_machine() -> *const c_char;
    fn hostpart_mul(a: c_long, b: c_long) -> c_long;
}

/// The machine the build script's generator was compiled for (the build machine).
#[pyfunction]
fn generator_machine() -> &'static str {
    GENERATOR_MACHINE
}

/// The machine the C part of the extension was compiled for (the host).
#[pyfunction]
fn host_machine() -> String {
    unsafe { CStr::from_ptr(hostpart_machine()) }.to_string_lossy().into_owned()
}

#[pyfunction]
fn mul(a: i64, b: i64) -> i64 {
    unsafe { hostpart_mul(a as c_long, b as c_long) as i64 }
}

#[pymodule]
fn pyo3_buildscript(_py: Python, m: &PyModule) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(generator_machine, m)?)?;
    m.add_function(wrap_pyfunction!(host_machine, m)?)?;
    m.add_function(wrap_pyfunction!(mul, m)?)?;
    Ok(())
}
