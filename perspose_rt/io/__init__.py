"""Reading and writing files: atomic writes, result files."""

from perspose_rt.io.atomic import atomic_path, atomic_write_bytes, atomic_write_text

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text"]
