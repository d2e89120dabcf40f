"""Checks on the files a user names, made before they are opened (cheap to import: no numpy).

:func:`require_file` refuses a missing path, a directory, and anything that is not a regular
file *without opening it*: opening a FIFO given as a weights file would block forever.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from perspose_rt.errors import InputError


def require_file(path: str | os.PathLike[str], what: str = "file") -> Path:
    """``path`` as a :class:`Path` when it is a regular file we can read; else a one-line InputError.

    A FIFO, a device or a directory is refused *without opening it* (opening a FIFO blocks).
    """
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise InputError(f"{what} not found: {p}") from None
    except OSError as exc:
        raise InputError(f"cannot read {what} {p}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{what} {p} is a directory, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{what} {p} is not a regular file (a pipe, socket or device)")
    if not os.access(p, os.R_OK):
        raise InputError(f"cannot read {what} {p}: permission denied")
    return p
