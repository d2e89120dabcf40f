"""Training: the shared resumable loop (:mod:`~perspose_rt.train.loop`), the image network's
trainer (``perspose-rt train``, also ``python -m perspose_rt.train`` for ``torchrun``), its losses
and its evaluation (``perspose-rt eval-net``).

Submodules are imported on use; importing this package imports neither torch nor OpenCV.
"""
