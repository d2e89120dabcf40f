"""Checks made before any work starts: numeric ranges (argparse types), devices, input and output paths.

The argparse types raise ``argparse.ArgumentTypeError``, which the parser reports as one line
naming the argument (``argument --max-frames: must be an integer ≥ 1, got '-3'``). The path checks
raise :class:`~perspose_rt.errors.InputError` / :class:`~perspose_rt.errors.OutputError`.

Output rules (:func:`check_output_file`, :func:`check_output_dir`):

* the parent folder exists or can be created, and a file can be created in it;
* a file output is not an existing directory (and a folder output not an existing file);
* an output is never one of the run's inputs (``video in.mp4 --overlay in.mp4`` would replace
  the video).

Cheap to import: the CLI's parser uses it.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from perspose_rt import checks
from perspose_rt.errors import InputError, OutputError

PathLike = str | os.PathLike[str]


# ---------------------------------------------------------------------------- numbers (argparse types)
def int_at_least(low: int) -> Callable[[str], int]:
    """An argparse type: an integer ``≥ low``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer ≥ {low}, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be an integer ≥ {low}, got {text!r}")
        return value

    parse.__name__ = f"integer ≥ {low}"
    return parse


positive_int = int_at_least(1)
nonnegative_int = int_at_least(0)


def float_in(low: float | None = None, high: float | None = None, *, low_open: bool = False,
             high_open: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite float in ``[low, high]`` (``(`` / ``)`` with ``*_open``)."""
    lo = "" if low is None else f"{'>' if low_open else '≥'} {low:g}"
    hi = "" if high is None else f"{'<' if high_open else '≤'} {high:g}"
    want = "a finite number" + (f" {lo}" if lo else "") + (" and" if lo and hi else "") + (f" {hi}" if hi else "")

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {want}, got {text!r}") from None
        bad = (not math.isfinite(value)
               or (low is not None and (value <= low if low_open else value < low))
               or (high is not None and (value >= high if high_open else value > high)))
        if bad:
            raise argparse.ArgumentTypeError(f"must be {want}, got {text!r}")
        return value

    parse.__name__ = want
    return parse


positive_float = float_in(0.0, low_open=True)
nonnegative_float = float_in(0.0)
probability = float_in(0.0, 1.0)
finite_float = float_in()

_DEVICE = re.compile(r"^(cpu|cuda(:\d+)?)$")


def device(text: str) -> str:
    """An argparse type: ``cpu``, ``cuda`` or ``cuda:N`` (whether it exists is checked where it is used)."""
    value = text.strip().lower()
    if not _DEVICE.match(value):
        raise argparse.ArgumentTypeError(f"must be cpu, cuda or cuda:N, got {text!r}")
    return value


def check_device(name: str) -> None:
    """Raise a one-line :class:`InputError` when the CUDA device ``name`` is not available (needs torch)."""
    if not name.startswith("cuda"):
        return
    import torch

    if not torch.cuda.is_available():
        raise InputError(f"--device {name}: no CUDA GPU is visible to PyTorch (use --device cpu)")
    index = int(name.partition(":")[2] or 0)
    if index >= torch.cuda.device_count():
        raise InputError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s) are visible")


# ---------------------------------------------------------------------------- input paths
require_file = checks.require_file


# ---------------------------------------------------------------------------- output paths
def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def _check_not_input(path: Path, inputs: Iterable[PathLike | None], what: str) -> None:
    for inp in inputs:
        if inp is not None and _same_file(path, Path(inp)):
            raise OutputError(f"{what} {path} is also an input or another output of this run: choose another name")


def _check_creatable_in(folder: Path, what: str, path: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"cannot write {what} {path}: {folder} is a file, not a folder") from None
    except OSError as exc:
        raise OutputError(f"cannot write {what} {path}: cannot create {folder}: {exc.strerror or exc}") from None
    if not folder.is_dir():
        raise OutputError(f"cannot write {what} {path}: {folder} is not a folder")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".perspose-write-test-"):
            pass
    except OSError as exc:
        raise OutputError(f"cannot write {what} {path}: {exc.strerror or exc}") from None


def check_output_file(path: PathLike, what: str = "output", inputs: Iterable[PathLike | None] = ()) -> Path:
    """Fail early (one line) when the file ``path`` could not be written; see the module doc."""
    p = Path(path)
    if p.is_dir():
        raise OutputError(f"{what} {p} is an existing directory: give a file name")
    if p.exists() and not p.is_file():
        raise OutputError(f"{what} {p} is not a regular file")
    _check_not_input(p, inputs, what)
    _check_creatable_in(p.parent, what, p)  # outputs are replaced by a rename: the folder decides
    return p


def check_output_dir(path: PathLike, what: str = "output folder", inputs: Iterable[PathLike | None] = ()) -> Path:
    """Fail early (one line) when the folder ``path`` cannot be created or written into."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise OutputError(f"{what} {p} is an existing file, not a folder")
    _check_not_input(p, inputs, what)
    _check_creatable_in(p, what, p)
    return p
