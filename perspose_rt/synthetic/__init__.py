"""Synthetic training images with exact labels (``perspose-rt make-synthetic``)."""
