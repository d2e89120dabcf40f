"""Atomic file output: write to a temporary file beside the target, then rename.

A reader never sees a half-written file, and an interrupted write leaves the old file (or
nothing) in place. ``os.replace`` is atomic on POSIX and Windows when both paths are on the same
file system, which is why the temporary file is created in the target's own directory.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path to write; on success it is renamed onto ``target``.

    Args:
        target: the final file path. Its directory is created if missing.
        suffix: suffix of the temporary file (default: the target's own suffix, so that
            libraries that pick a format from the extension, such as ``np.savez``, behave).

    On an exception inside the block the temporary file is removed and ``target`` is untouched;
    an ``OSError`` without a file name, or naming the temporary file, is re-raised naming
    ``target`` (same errno and type: "No space left on device: out.npz").
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=target.suffix if suffix is None else suffix, dir=target.parent
    )
    # mkstemp makes the file private (0600); give the result the mode an ordinary open() would,
    # after the block: some writers (safetensors) delete the path and create their own file.
    umask = os.umask(0)
    os.umask(umask)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.chmod(tmp, 0o666 & ~umask)
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        if exc.filename is not None and Path(exc.filename) != tmp:
            raise
        # name the file the user asked for, not our temporary one (a full disk, a quota, …)
        raise OSError(exc.errno, exc.strerror or str(exc), str(target)) from exc
    except BaseException:  # Ctrl-C, SIGTERM (perspose_rt.cli.boundary), any failure: no partial file
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def atomic_write_bytes(target: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(target: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``target`` atomically."""
    atomic_write_bytes(target, text.encode(encoding))
