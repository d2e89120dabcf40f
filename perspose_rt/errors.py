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
