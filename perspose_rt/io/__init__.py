"""Reading and writing files: atomic writes, result files (``docs/RESULT_FORMAT.md``)."""

from perspose_rt.io.atomic import atomic_path, atomic_write_bytes, atomic_write_text
from perspose_rt.io.results import Result, ResultWriter, load_result

__all__ = ["Result", "ResultWriter", "atomic_path", "atomic_write_bytes", "atomic_write_text", "load_result"]
