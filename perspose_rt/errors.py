"""Errors that reach the user as one actionable line.

Every command catches :class:`UserError` at the top level (``perspose_rt.cli``), prints
``perspose-rt: error: <message>`` and exits with :attr:`UserError.exit_code`. Raise it for bad
input the user can fix (missing file, unreadable calibration, wrong checkpoint, …); let
programming errors propagate as ordinary exceptions with a traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input or environment, reported as one line.

    Args:
        message: what went wrong and what to do about it, in one sentence.
        exit_code: process exit status (2 for bad input, as argparse does).
    """

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class InputError(UserError):
    """A file or stream given by the user is missing, unreadable or malformed."""


class CalibrationError(UserError):
    """Camera intrinsics are missing, inconsistent or cannot be used for this stream."""


class WeightsError(UserError):
    """A weights file or checkpoint does not exist or does not match the network."""


class OutputError(UserError):
    """An output file or folder cannot be written (a directory, read-only, full disk, an input, …)."""


class UsageError(UserError):
    """A command-line argument is missing, malformed or out of range (what argparse reports)."""


class Interrupted(KeyboardInterrupt):
    """A stop asked for by a signal (SIGTERM, SIGHUP), handled exactly like Ctrl-C.

    It derives from :class:`KeyboardInterrupt` so that every place that keeps the results of an
    interrupted run keeps them for these signals too. ``exit_code`` is ``128 + signum`` (143 for
    SIGTERM, 129 for SIGHUP), what a shell reports for a process killed by that signal.
    """

    def __init__(self, signum: int, name: str) -> None:
        super().__init__(name)
        self.signum = int(signum)
        self.signal_name = name
        self.exit_code = 128 + int(signum)


def interrupt_exit_code(exc: BaseException) -> int:
    """The exit status of a run stopped by ``exc``: 128 + the signal (130 for a plain Ctrl-C)."""
    return int(getattr(exc, "exit_code", 130)) if isinstance(exc, KeyboardInterrupt) else 130


def stop_reason(exc: BaseException | None) -> str:
    """How a run ended, for the result's metadata: ``"end"``, ``"SIGINT"``, ``"SIGTERM"``,
    ``"SIGHUP"``, ``"broken pipe"`` or ``"error"``."""
    if exc is None:
        return "end"
    if isinstance(exc, Interrupted):
        return exc.signal_name
    if isinstance(exc, KeyboardInterrupt):
        return "SIGINT"
    if isinstance(exc, BrokenPipeError):
        return "broken pipe"
    return "error"
