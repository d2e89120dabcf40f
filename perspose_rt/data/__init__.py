"""Training and evaluation data shared by the trainers (lifter and image network).

* :mod:`~perspose_rt.data.h36m`: Human3.6M poses, cameras with distortion, SH detections.
* :mod:`~perspose_rt.data.virtual_camera`: random virtual cameras that see a pose (axis
  rotations, FOV, placement anywhere in the frame, depth).
* :mod:`~perspose_rt.data.official`: the official PersPose annotation layouts (joblib, §6).
* :mod:`~perspose_rt.data.portable`: our pickle-free ``INDEX.npz`` format.
* :mod:`~perspose_rt.data.mix`: the §5.2 data mix.
* :mod:`~perspose_rt.data.sample`: one training crop with PR, augmentation and labels.

Submodules are imported on use (torch and OpenCV stay out of a plain ``import perspose_rt.data``).
"""
