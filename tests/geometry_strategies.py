"""Hypothesis strategies shared by the geometry tests: cameras and boxes anywhere in the image."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st


@st.composite
def cameras(draw, min_fov: float = 20.0, max_fov: float = 150.0):
    """(K, (w, h)) with a horizontal FOV in [min_fov, max_fov] degrees, off-centre principal
    point, unequal focal lengths and a little skew."""
    w = draw(st.integers(320, 1920))
    h = draw(st.integers(240, 1440))
    fov = draw(st.floats(min_fov, max_fov))
    fx = w / 2 / math.tan(math.radians(fov) / 2)
    fy = fx * draw(st.floats(0.9, 1.1))
    cx = w / 2 + draw(st.floats(-0.1, 0.1)) * w
    cy = h / 2 + draw(st.floats(-0.1, 0.1)) * h
    skew = draw(st.floats(-0.01, 0.01)) * fx
    K = np.array([[fx, skew, cx], [0, fy, cy], [0, 0, 1.0]])
    return K, (w, h)


@st.composite
def boxes(draw, size):
    """A person-like box anywhere in the image, corners included (it may stick out a little)."""
    w, h = size
    bw = draw(st.floats(0.05, 0.5)) * w
    bh = draw(st.floats(0.05, 0.9)) * h
    x0 = draw(st.floats(-0.05, 1.0)) * (w - bw)
    y0 = draw(st.floats(-0.05, 1.0)) * (h - bh)
    return np.array([x0, y0, x0 + bw, y0 + bh])
