"""Intrinsics from photo metadata: EXIF focal lengths and the ``_<f35>_f35`` file-name tag.

EXIF tags used (Exif IFD):
* ``FocalLengthIn35mmFilm`` (41989): 35 mm-equivalent focal length → ``CameraModel.from_f35``
  (defined on the 43.27 mm frame diagonal, so portrait and landscape agree).
* ``FocalLength`` (37386) with ``FocalPlaneXResolution`` (41486) and
  ``FocalPlaneResolutionUnit`` (41488): focal length in pixels of the original capture, scaled to
  the file's width (``PixelXDimension``, 40962) when the file was resized; or ``FocalLength`` with
  a sensor width the caller knows.

Orientation: ``load_image`` returns pixels with the EXIF orientation applied, and every size used
here is the size of those pixels, so K always matches the image the user sees (the official demo
mixes raw sizes with rotated pixels).
"""

from __future__ import annotations

import logging
import math
import re
from pathlib import Path

import numpy as np

from perspose_rt.camera.model import CameraModel
from perspose_rt.errors import InputError

log = logging.getLogger(__name__)

_EXIF_IFD = 0x8769
_TAG_F35 = 41989
_TAG_FOCAL = 37386
_TAG_FP_XRES = 41486
_TAG_FP_UNIT = 41488
_TAG_PIXEL_X = 40962
_TAG_PIXEL_Y = 40963
#: FocalPlaneResolutionUnit → millimetres per unit (2 inch, 3 cm, 4 mm, 5 µm).
_UNIT_MM = {2: 25.4, 3: 10.0, 4: 1.0, 5: 0.001}
_F35_TAG = re.compile(r"_(\d+(?:\.\d+)?)_f35$", re.IGNORECASE)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".heic", ".heif", ".bmp", ".tif", ".tiff", ".webp"}

_heif_registered = False
#: The largest photo decoded (pixels): 120 MP of RGB is 360 MB, several copies of which are made
#: on the way to the detector. Larger files are refused with this limit named; one refused photo
#: never stops a folder (``perspose-rt images`` skips it and says why).
MAX_IMAGE_PIXELS = 120_000_000


def _open_image(path: Path):
    """Open with Pillow (HEIC/HEIF through pillow-heif), raising a one-line InputError."""
    global _heif_registered
    from PIL import Image, UnidentifiedImageError

    if not _heif_registered:
        import pillow_heif

        pillow_heif.register_heif_opener()
        _heif_registered = True
    if not path.is_file():
        raise InputError(f"image not found: {path}")
    too_big = (f"{path.name} is larger than {MAX_IMAGE_PIXELS / 1e6:.0f} megapixels, the most perspose-rt "
               "decodes (about {mp:.0f} MP); downscale it first (the EXIF focal length stays valid)")
    try:
        img = Image.open(path)  # reads the header only
        w, h = img.size
        if w * h > MAX_IMAGE_PIXELS:
            img.close()
            raise InputError(too_big.format(mp=w * h / 1e6))
        img.load()
    except Image.DecompressionBombError as exc:
        m = re.search(r"\((\d+) pixels\)", str(exc))
        raise InputError(too_big.format(mp=int(m.group(1)) / 1e6 if m else float("nan"))) from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise InputError(f"cannot read image {path}: {exc}") from exc
    return img


def f35_from_filename(path: str | Path) -> float | None:
    """The 35 mm-equivalent focal length in a name like ``IMG_26_f35.jpg`` (→ 26.0), else None."""
    m = _F35_TAG.search(Path(path).stem)
    return float(m.group(1)) if m else None


def _oriented(img):
    from PIL import ImageOps

    return ImageOps.exif_transpose(img)


def camera_from_exif(img, size: tuple[int, int], sensor_width_mm: float | None = None) -> CameraModel | None:
    """Intrinsics from an opened Pillow image's EXIF, for pixels of ``size`` (oriented), or None."""
    exif = img.getexif()
    ifd = exif.get_ifd(_EXIF_IFD) if exif else {}
    name = getattr(img, "filename", "") or "image"
    f35 = _positive(ifd, _TAG_F35, "FocalLengthIn35mmFilm", name)
    if f35:
        return CameraModel.from_f35(f35, size, source=f"exif:FocalLengthIn35mmFilm={f35:g}")
    focal = _positive(ifd, _TAG_FOCAL, "FocalLength", name)
    if not focal:
        return None
    raw_w = _positive(ifd, _TAG_PIXEL_X, "PixelXDimension", name)
    raw_h = _positive(ifd, _TAG_PIXEL_Y, "PixelYDimension", name)
    # The sensor's x axis is the raw (unrotated) image's width.
    w, h = size
    raw_long = max(int(raw_w), int(raw_h)) if raw_w and raw_h else None
    width_along_sensor_x = w if raw_w is None or raw_h is None or (raw_w >= raw_h) == (w >= h) else h
    xres, unit = _positive(ifd, _TAG_FP_XRES, "FocalPlaneXResolution", name), ifd.get(_TAG_FP_UNIT, 2)
    if xres and isinstance(unit, int) and unit in _UNIT_MM:
        px_per_mm = xres / _UNIT_MM[unit]
        f_px = focal * px_per_mm
        if raw_long:  # the file may have been resized since capture
            f_px *= max(w, h) / raw_long
        return CameraModel.from_focal_px(f_px, size, source=f"exif:FocalLength={focal:g}mm+FocalPlaneXResolution")
    if sensor_width_mm:
        f_px = focal * width_along_sensor_x / sensor_width_mm
        return CameraModel.from_focal_px(f_px, size, source=f"exif:FocalLength={focal:g}mm+sensor={sensor_width_mm:g}mm")
    log.info("%s: EXIF FocalLength=%g mm without a sensor size; ignoring it", getattr(img, "filename", "image"), focal)
    return None


def _positive(ifd, tag: int, label: str, name: str) -> float | None:
    """EXIF ``tag`` as a positive finite number, or None (absent, or nonsense: a string, zero, a
    negative or infinite value, which is logged and ignored so that the photo still gets intrinsics
    from the next source)."""
    value = ifd.get(tag)
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        number = float("nan")
    if not (math.isfinite(number) and number > 0):
        log.warning("%s: ignoring EXIF %s=%r (not a positive number)", name, label, value)
        return None
    return number


def read_image(path: str | Path) -> tuple[np.ndarray, object]:
    """Read an image with its EXIF orientation applied → (BGR uint8 (H, W, 3), Pillow image)."""
    path = Path(path)
    img = _open_image(path)
    oriented = _oriented(img).convert("RGB")
    bgr = np.ascontiguousarray(np.asarray(oriented)[..., ::-1])
    return bgr, img


def camera_from_image(path: str | Path, image_size: tuple[int, int] | None = None,
                      sensor_width_mm: float | None = None, *, use_default: bool = True) -> CameraModel | None:
    """Intrinsics for a photo: EXIF > ``_<f35>_f35`` file-name tag > default (with a warning).

    Args:
        path: the image file.
        image_size: ``(w, h)`` of the oriented pixels if already known (saves decoding).
        sensor_width_mm: sensor width, used with EXIF ``FocalLength`` when the file lacks the
            focal-plane resolution.
        use_default: return the default camera (with a warning) when nothing is found; with
            False, return None instead.
    """
    path = Path(path)
    img = _open_image(path)
    size = image_size or _oriented(img).size
    cam = camera_from_exif(img, size, sensor_width_mm)
    if cam is None:
        f35 = f35_from_filename(path)
        if f35 is not None:
            cam = CameraModel.from_f35(f35, size, source=f"filename:_{f35:g}_f35")
    if cam is None and use_default:
        cam = CameraModel.default(size)
    return cam
