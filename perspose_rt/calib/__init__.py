"""Camera calibration: patterns, detection, coverage, the wizard, offline and quick profiles.

Entry points: :class:`PatternSpec` (what to print and look for), :class:`PatternDetector`,
:class:`CalibrationSession` (the wizard's logic, driven by any frame source),
:func:`calibrate` (with outlier-view rejection) and
:func:`perspose_rt.calib.output.write_calibration` (``calib/NAME.yaml`` through
:func:`perspose_rt.camera.save_profile`). ``perspose-rt calibrate`` is the command line; the
guide is ``docs/CALIBRATION.md``.
"""

from perspose_rt.calib.detect import PatternDetector, PatternView
from perspose_rt.calib.patterns import KINDS, PatternSpec
from perspose_rt.calib.solve import CalibrationResult, SolveOptions, calibrate
from perspose_rt.calib.wizard import CalibrationSession, WizardConfig, run_headless

__all__ = [
    "KINDS", "CalibrationResult", "CalibrationSession", "PatternDetector", "PatternSpec", "PatternView",
    "SolveOptions", "WizardConfig", "calibrate", "run_headless",
]
