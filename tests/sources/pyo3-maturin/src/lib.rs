use pyo3::prelude::*;

/// The host's pointer width and a sum, so a test can tell which machine ran it.
#[pyfunction]
fn pointer_width() -> usize {
    std::mem::size_of::<usize>() * 8
}

#[pyfunction]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

#[pymodule]
fn pyo3_hello(_py: Python, m: &PyModule) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(pointer_width, m)?)?;
    m.add_function(wrap_pyfunction!(add, m)?)?;
    Ok(())
}
