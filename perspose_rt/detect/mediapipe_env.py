"""Quiet MediaPipe (and its native neighbours) unless the user asks for debug output.

MediaPipe 0.10.21 logs through C++ absl and TFLite straight to file descriptor 2, from its own
graph threads, some time after a graph is created (and at the first frame with a person):

    INFO: Created TensorFlow Lite XNNPACK delegate for CPU.
    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    W0000 00:00:… inference_feedback_manager.cc:114] Feedback manager requires a model …
    W0000 00:00:… landmark_projection_calculator.cc:186] Using NORM_RECT without IMAGE_DIMENSIONS …

with a display, its GPU context adds ``I0000 … gl_context_egl.cc:85] Successfully initialized
EGL …`` and ``gl_context.cc … GL version …`` (info only; their warnings and errors still pass),
and a headless Open3D/EGL render may add libwayland's
``error: XDG_RUNTIME_DIR is invalid or not set in the environment.``. None of these can be
switched off by environment variables (absl's C++ log level has none; ``GLOG_minloglevel`` and
``TF_CPP_MIN_LOG_LEVEL`` are set anyway for the parts that read them), so
:func:`quiet_mediapipe` routes fd 2 through a small filter process that drops exactly these
lines and passes everything else through unchanged, partial lines (progress bars) included.

The filter is a separate process, started in its own session, so a line written just before a
crash (an absl ``F…`` check failure followed by ``abort()``) still reaches the terminal: the
filter drains the pipe after its writer died. At exit the real stderr is put back and the filter
is waited for, so no line arrives after the shell prompt. Everything stays as it is when
debug logging is on (``perspose-rt --verbose``) or ``PERSPOSE_RT_VERBOSE=1``.

Every user of mediapipe calls :func:`quiet_mediapipe` before importing it.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import subprocess
import sys

#: the lines dropped (bytes regexes, matched at the start of a line or after a ``\r``).
NOISE_PATTERNS: tuple[bytes, ...] = (
    rb"INFO: Created TensorFlow Lite XNNPACK delegate for CPU\.",
    rb"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR",
    rb"[IW]\d{4} [\d:.]+ +\d+ inference_feedback_manager\.cc:\d+\] [^\n]*",
    rb"[IW]\d{4} [\d:.]+ +\d+ landmark_projection_calculator\.cc:\d+\] [^\n]*",
    rb"error: XDG_RUNTIME_DIR is invalid or not set in the environment\.",
    rb"I\d{4} [\d:.]+ +\d+ gl_context(?:_egl)?\.cc:\d+\] [^\n]*",
)

# The filter process (python -I -S -c): reads the pipe, drops the noise, writes the rest to its
# stdout (the real stderr). A partial line is held only while it could still become a noise
# line, and at most 0.1 s; anything else is forwarded at once.
_FILTER_SRC = r"""
import os, re, select, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
pats = [p.encode("latin-1") for p in sys.argv[1:]]
noise = re.compile(b"(?:^|(?<=\r))(?:" + b"|".join(pats) + b")\r?\n", re.M)
starts = (b"INFO: Created", b"WARNING: All log", b"W0", b"I0", b"error: XDG")
def emit(data):
    data = noise.sub(b"", data)
    while data:
        data = data[os.write(1, data):]
def maybe_noise(seg):
    return any(s.startswith(seg) or seg.startswith(s) for s in starts)
buf = b""
while True:
    ready = select.select([0], [], [], 0.1 if buf else None)[0]
    chunk = os.read(0, 65536) if ready else None
    if chunk == b"":
        emit(buf)
        break
    if chunk is None:
        emit(buf); buf = b""
        continue
    buf += chunk
    cut = buf.rfind(b"\n") + 1
    head, buf = buf[:cut], buf[cut:]
    cr = buf.rfind(b"\r") + 1
    if not maybe_noise(buf[cr:]):
        head, buf = head + buf, b""
    elif cr:
        head, buf = head + buf[:cr], buf[cr:]
    emit(head)
"""

_state: dict[str, object] = {}


def verbose_requested() -> bool:
    """Debug output asked for: ``PERSPOSE_RT_VERBOSE=1`` or debug logging (``perspose-rt --verbose``)."""
    if os.environ.get("PERSPOSE_RT_VERBOSE", "") not in ("", "0"):
        return True
    return logging.getLogger("perspose_rt").isEnabledFor(logging.DEBUG)


def quiet_mediapipe(verbose: bool | None = None) -> None:
    """Set MediaPipe's log levels and filter its native noise from stderr (once per process).

    Call before importing mediapipe. ``verbose``: keep everything (default:
    :func:`verbose_requested`).
    """
    if verbose if verbose is not None else verbose_requested():
        return
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.getLogger("absl").setLevel(logging.ERROR)
    install_stderr_filter()


def install_stderr_filter() -> bool:
    """Route fd 2 through the noise filter; False where it cannot (not POSIX, no fd 2)."""
    if "proc" in _state:
        return True
    if os.name != "posix":
        return False
    try:
        real = os.dup(2)
    except OSError:
        return False
    r, w = os.pipe()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _FILTER_SRC, *(p.decode("latin-1") for p in NOISE_PATTERNS)],
            stdin=r, stdout=real, stderr=real, close_fds=True, start_new_session=True)
    except OSError:
        os.close(r)
        os.close(w)
        os.close(real)
        return False
    os.close(r)
    for stream in (sys.stderr, sys.__stderr__):
        if stream is not None:
            stream.flush()
    os.dup2(w, 2)
    _state.update(proc=proc, real=real, pipe=os.fstat(w).st_ino)
    os.close(w)
    atexit.register(_restore)
    return True


def _restore() -> None:
    """Put the real stderr back on fd 2 (if the filter still holds it) and let the filter drain."""
    proc = _state.get("proc")
    if proc is None:
        return
    for stream in (sys.stderr, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    try:
        if os.fstat(2).st_ino == _state["pipe"]:
            os.dup2(_state["real"], 2)
    except OSError:
        pass
    try:
        proc.wait(timeout=2.0)
    except subprocess.TimeoutExpired:  # another process still holds the pipe: let it be
        pass


def is_noise(line: str) -> bool:
    """Whether the filter drops this line (without its newline); for tests and docs."""
    return any(re.fullmatch(p, line.encode()) for p in NOISE_PATTERNS)
