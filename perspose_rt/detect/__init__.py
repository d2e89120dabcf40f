"""2D person detection: MediaPipe BlazePose landmarks and their mapping to H36M-17."""

from perspose_rt.detect.blazepose import BlazePoseDetector, bundled_model_paths, landmarks_box
from perspose_rt.detect.mapping import BLAZEPOSE33_NAMES, BLAZEPOSE33_TO_H36M17, blazepose_to_h36m

__all__ = ["BLAZEPOSE33_NAMES", "BLAZEPOSE33_TO_H36M17", "BlazePoseDetector", "blazepose_to_h36m",
           "bundled_model_paths", "landmarks_box"]
