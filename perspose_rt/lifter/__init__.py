"""The embedded default estimator's 3D stage: 2D keypoints + K → camera-space 3D (PE + PR on rays).

See ``docs/LIFTER.md``. Public API: :class:`Lifter` (``load_default``, ``predict``, ``stream``).
"""

from perspose_rt.lifter.api import Lifter, LifterStream
from perspose_rt.lifter.config import LifterConfig
from perspose_rt.lifter.encoding import VARIANTS, decode, encode, targets

__all__ = ["VARIANTS", "Lifter", "LifterConfig", "LifterStream", "decode", "encode", "targets"]
