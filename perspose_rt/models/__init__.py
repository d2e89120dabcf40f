"""The PersPose image network: HRNet + Perspective Encoding, weights, official import, ONNX export."""

from perspose_rt.models.config import BACKBONES, FORMAT_VERSION, HRNetSpec, NetConfig
from perspose_rt.models.output import OUTPUT_NAMES, PersPoseOutput
from perspose_rt.models.perspose import PersPoseNet

__all__ = [
    "BACKBONES", "FORMAT_VERSION", "OUTPUT_NAMES", "HRNetSpec", "NetConfig", "PersPoseNet",
    "PersPoseOutput", "load_official_state_dict",
]


def load_official_state_dict(state_dict, flip_test: bool = False) -> PersPoseNet:
    """A ready (eval-mode) W48 :class:`PersPoseNet` from an official state_dict; see
    :func:`perspose_rt.models.official.load_official_state_dict`."""
    from perspose_rt.models.official import load_official_state_dict as _load

    return _load(state_dict, flip_test=flip_test)
