"""Benchmarks: ``perspose-rt bench …``. Shared helpers for timing and the report file."""
