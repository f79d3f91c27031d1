"""Run crossenv 1.x's own test suite against this project (see run.py)."""
