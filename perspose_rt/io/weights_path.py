"""One rule for every weights argument: a file, a folder, or the stem its files were written under.

``perspose-rt import-checkpoint ckpt.pth weights/w48`` and ``train-lifter --out …`` write
``NAME.json`` + ``NAME.safetensors``; the same ``weights/w48`` then works wherever weights are taken
(``--weights``, ``--lifter-weights``, ``build-engine``, ``eval-lifter``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from perspose_rt.errors import WeightsError

#: what a stem may stand for, in order of preference: our config + tensors, then an ONNX graph.
WEIGHTS_SUFFIXES = (".json", ".safetensors", ".onnx")


def resolve_weights_path(path: str | os.PathLike[str], suffixes: Sequence[str] = WEIGHTS_SUFFIXES,
                         what: str = "weights") -> Path:
    """``path`` if it exists (file or engine folder), else the first ``path + suffix`` that does.

    The suffix is appended to the whole name (``w48.v2`` → ``w48.v2.json``), so dotted stems work.

    Raises:
        WeightsError: nothing exists under that name; the message lists what was tried.
    """
    p = Path(path)
    if p.exists():
        return p
    tried = [p.with_name(p.name + s) for s in suffixes if not p.name.endswith(s)]
    for candidate in tried:
        if candidate.is_file():
            return candidate
    also = f" (nor {', '.join(c.name for c in tried)})" if tried else ""
    raise WeightsError(f"{what} not found: {p}{also}")
