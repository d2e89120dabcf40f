"""The command line's error boundary: every failure becomes one line on stderr and an exit status.

=====================================  ===========================================================
what stopped the command               what the user sees
=====================================  ===========================================================
bad argument (argparse)                one line naming the argument, exit 2
:class:`~perspose_rt.errors.UserError`  one line, its ``exit_code`` (2 for bad input)
``OSError`` (no such file, is a        one line naming the file and the reason, exit 2 (a full
directory, permission, full disk …)    disk says so and names the file)
Ctrl-C / SIGTERM / SIGHUP              the command saves what it has; exit 130 / 143 / 129
stdout closed (``… | head``)           one line, exit 141 (128 + SIGPIPE), no traceback
anything else: a bug                   one line asking for ``--debug``; exit 1. With ``--debug``
                                       (or ``PERSPOSE_DEBUG=1``) the traceback is shown
=====================================  ===========================================================

SIGTERM and SIGHUP raise :class:`~perspose_rt.errors.Interrupted` (a ``KeyboardInterrupt``) in the
main thread, so every command that keeps its results on Ctrl-C keeps them on these signals too.
The handler fires once: a second SIGTERM while the results are being saved does not cut the save
short (SIGKILL still stops the process).

This module is imported by ``perspose-rt --help``: it imports nothing heavy.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence

from perspose_rt.errors import Interrupted, UsageError, UserError, interrupt_exit_code, stop_reason

PROG = "perspose-rt"
#: Exit status when stdout is closed under us (what a shell reports for a process killed by SIGPIPE).
EXIT_BROKEN_PIPE = 128 + 13
#: Exit status of an internal error (a bug) without ``--debug``.
EXIT_BUG = 1


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are a :class:`UsageError` (one line, exit 2), not a usage
    dump and ``SystemExit``: the boundary prints them like every other error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def one_line(text: str) -> str:
    """``text`` on one line (messages from libraries sometimes span several)."""
    return "; ".join(part.strip() for part in str(text).strip().splitlines() if part.strip())


def describe_os_error(exc: OSError) -> str:
    """``OSError`` → what happened to which file, in words."""
    name = exc.filename if exc.filename is not None else None
    where = f" {name}" if name is not None else ""
    if exc.filename2 is not None:
        where += f" -> {exc.filename2}"
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return f"no space left on the device{' writing' + where if where else ''} (free some space and run again)"
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"{reason}:{where}" if where else reason


def _os_error_cause(exc: BaseException) -> OSError | None:
    """The ``OSError`` a wrapper exception (a pipeline stage's failure) was raised from, if any."""
    seen = 0
    cur: BaseException | None = exc.__cause__
    while cur is not None and seen < 10:
        if isinstance(cur, OSError):
            return cur
        cur, seen = cur.__cause__, seen + 1
    return None


def silence_stdout() -> None:
    """Point stdout at /dev/null after a broken pipe, so that the interpreter's final flush does
    not print a second error."""
    with contextlib.suppress(Exception):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _say(message: str) -> None:
    with contextlib.suppress(Exception):
        print(f"{PROG}: {one_line(message)}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def signals_as_interrupts(names: Sequence[str] = ("SIGTERM", "SIGHUP")) -> Iterator[None]:
    """While inside, the signals ``names`` raise :class:`Interrupted` in the main thread (once)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired: list[int] = []

    def handler(signum: int, frame: object) -> None:
        if fired:  # already stopping: let the results be saved
            return
        fired.append(signum)
        raise Interrupted(signum, signal.Signals(signum).name)

    previous = {}
    for name in names:
        sig = getattr(signal, name, None)
        if sig is not None:
            previous[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def debug_requested(argv: Sequence[str] | None) -> bool:
    """``--debug`` before the command, or ``PERSPOSE_DEBUG=1``: show a bug's traceback."""
    given = sys.argv[1:] if argv is None else list(argv)
    return os.environ.get("PERSPOSE_DEBUG", "") not in ("", "0") or "--debug" in given


def run_command(run: Callable[[], int | None], *, debug: bool = False) -> int:
    """Run one command behind the boundary (see the module doc) and return its exit status."""
    try:
        with signals_as_interrupts():
            return int(run() or 0)
    except UserError as exc:
        _say(f"error: {exc}")
        return exc.exit_code
    except KeyboardInterrupt as exc:
        reason = stop_reason(exc)
        _say("interrupted" if reason == "SIGINT" else f"stopped by {reason}")
        return interrupt_exit_code(exc)
    except BrokenPipeError:
        silence_stdout()
        _say("stdout was closed (broken pipe); stopped")
        return EXIT_BROKEN_PIPE
    except OSError as exc:
        if debug:
            raise
        _say(f"error: {describe_os_error(exc)}")
        return 2
    except Exception as exc:
        if debug:
            raise
        cause = _os_error_cause(exc)
        if cause is not None:
            _say(f"error: {describe_os_error(cause)}")
            return 2
        _say(f"internal error: {type(exc).__name__}: {exc} (this is a bug: rerun with --debug for the "
             "traceback and report it)")
        return EXIT_BUG


def main(build_parser: Callable[[], argparse.ArgumentParser], argv: Sequence[str] | None,
         setup: Callable[[argparse.Namespace], None] | None = None) -> int:
    """Parse ``argv`` with ``build_parser()`` and run the chosen command behind the boundary.

    ``setup(args)`` runs after parsing (logging); a parser without a command prints its help (exit 2).
    """
    debug = debug_requested(argv)
    args: argparse.Namespace | None = None

    def parse() -> None:
        nonlocal args
        parser = build_parser()
        args = parser.parse_args(argv)
        if setup is not None:
            setup(args)
        if not getattr(args, "_run", None):
            parser.print_help()
            raise UsageError("choose a command")

    status = run_command(parse, debug=debug)
    if args is None or status != 0:
        return status
    # OpenCV's own log lines ("can't open camera by index", …) repeat the one-line error a command
    # prints; -v keeps them (and an explicit OPENCV_LOG_LEVEL always wins).
    if not getattr(args, "verbose", False) and "OPENCV_LOG_LEVEL" not in os.environ:
        os.environ["OPENCV_LOG_LEVEL"] = "FATAL"
        cv2 = sys.modules.get("cv2")  # already loaded: it read the variable at import
        if cv2 is not None:
            with contextlib.suppress(Exception):
                cv2.setLogLevel(1)  # 1 = FATAL (0 silent, 2 error, 3 warning, …)
    debug = debug or bool(getattr(args, "debug", False))
    return run_command(lambda: args._run(args), debug=debug)
