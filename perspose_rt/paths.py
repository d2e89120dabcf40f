"""Where the project's files are: the repository root, the shared data folder, packaged data."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent


def shared_data_dir() -> Path:
    """The folder of research data (Human3.6M poses, videos, …), never shipped with the project.

    ``$PERSPOSE_SHARED_DATA`` wins; otherwise ``../shared/data`` beside the repository. The
    folder may not exist: callers check and explain (tests skip with a reason).
    """
    env = os.environ.get("PERSPOSE_SHARED_DATA")
    if env:
        return Path(env).expanduser().resolve()
    return (REPO_ROOT.parent / "shared" / "data").resolve()


def examples_dir() -> Path:
    """The bundled example inputs (MIT-licensed photos from the PersPose repository)."""
    return REPO_ROOT / "examples"
