"""Offline calibration from a folder of photos (``--images DIR``).

Every photo is a deliberate view: the pattern is searched in each, all photos must have one
size, and when there are more than ``max_views`` usable photos a subset that covers the image
and the tilts best is kept (:func:`~perspose_rt.calib.coverage.select_views`). Videos go through
the wizard's own logic instead (:func:`~perspose_rt.calib.wizard.run_headless`), which picks
sharp, still frames that add coverage.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from perspose_rt.calib.coverage import select_views
from perspose_rt.calib.detect import PatternDetector, PatternView
from perspose_rt.calib.patterns import PatternSpec
from perspose_rt.calib.quality import DEFAULT_MAX_EDGE_WIDTH_PX, edge_width
from perspose_rt.calib.size_hint import suggest_pattern_size
from perspose_rt.calib.solve import CalibrationResult, SolveOptions, calibrate
from perspose_rt.errors import CalibrationError, InputError

log = logging.getLogger(__name__)

#: images without the pattern on which other grid sizes are tried when none has it
_HINT_IMAGES = 3


@dataclass
class ImageViews:
    """Views found in a set of images: ``views``, ``image_size``, and the labels of ``missing``
    (no pattern) and ``blurry`` (edges wider than the limit; kept, but likely outliers) images."""

    views: list[PatternView]
    image_size: tuple[int, int]
    n_images: int
    missing: list[str] = field(default_factory=list)
    blurry: list[str] = field(default_factory=list)


def collect_views(
    spec: PatternSpec,
    images: Iterable[tuple[str, np.ndarray]],
    max_edge_px: float = DEFAULT_MAX_EDGE_WIDTH_PX,
) -> ImageViews:
    """Detect the pattern in every ``(label, image)``.

    Raises:
        InputError: no image, or images of different sizes (one camera, one resolution).
        CalibrationError: the pattern is in none of the images.
    """
    detector = PatternDetector(spec)
    size: tuple[int, int] | None = None
    first = ""
    out = ImageViews([], (0, 0), 0)
    unfound: list[np.ndarray] = []  # a few images without the pattern, to test other grid sizes on
    for label, image in images:
        this = (int(image.shape[1]), int(image.shape[0]))
        if size is None:
            size, first = this, label
        elif this != size:
            raise InputError(
                f"images have different sizes: {label} is {this[0]}x{this[1]} but {first} is "
                f"{size[0]}x{size[1]}; calibrate one camera resolution at a time"
            )
        out.n_images += 1
        view = detector.detect(image, label)
        if view is None:
            out.missing.append(label)
            if len(unfound) < _HINT_IMAGES:
                unfound.append(image)
            continue
        if edge_width(image, view.image_points) > max_edge_px:
            out.blurry.append(label)
        out.views.append(view)
    if size is None:
        raise InputError("no images to calibrate from")
    out.image_size = size
    if not out.views:
        suggestion = suggest_pattern_size(spec, unfound)
        if suggestion is not None:
            raise CalibrationError(f"the {spec.describe()} was not found in any of the {out.n_images} images, "
                                   f"but {suggestion}")
        hint = " (a chessboard is counted in inner corners, not squares)" if spec.kind == "chessboard" else ""
        raise CalibrationError(
            f"the {spec.describe()} was not found in any of the {out.n_images} images: check --pattern, "
            f"--rows and --cols{hint}"
        )
    return out


def calibrate_views(found: ImageViews, options: SolveOptions, max_views: int = 60) -> CalibrationResult:
    """Calibrate from the views of :func:`collect_views`, keeping at most ``max_views`` diverse ones."""
    views = found.views
    if len(views) > max_views:
        keep = select_views(views, max_views, found.image_size)
        log.info("using %d of %d views, chosen for coverage", len(keep), len(views))
        views = [views[i] for i in keep]
    if len(views) < options.min_views:
        raise CalibrationError(
            f"the pattern was found in only {len(views)} of {found.n_images} images (at least "
            f"{options.min_views} needed): add photos of the board at other positions and tilts"
        )
    return calibrate(views, options)
