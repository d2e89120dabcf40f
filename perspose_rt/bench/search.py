"""``perspose-rt bench search``: detection rate and cost of the extended person search.

Inputs: the bundled example photos and every ``--every``-th frame of the shared figure-skating
video, scaled to a 960-pixel long side. The reference for each image is BlazePose's own plain
detection on it (images where it finds nobody are left out). Each image is then made harder:

* ``shrunk s``: scaled by ``s`` and pasted into a flat grey canvas of the original size, once at
  the top-left and once at the bottom-right corner (a small, far-away person);
* ``rot d``: turned ``d`` degrees clockwise (a person lying or upside down).

A detection is *correct* when the median distance of its 18 body landmarks (shoulders to feet)
to the reference's, carried through the same transform, is under 10 % of the body's size; a
person found elsewhere counts as *wrong*. The peer in the same run is the plain detector
(BlazePose, ``static_image_mode``) on the same images; the extended search runs only where the
plain search found nobody, and its cost is the extra time on those images.
"""

from __future__ import annotations

import argparse

HELP = "detection rate and cost of the extended person search on shrunken and rotated real images"

_SCALES = (0.5, 0.35, 0.25, 0.15)
_ROTATIONS = (90, 180, 270)
_BODY = list(range(11, 29))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--every", type=int, default=20,
                        help="use every N-th frame of the shared video (default: %(default)s)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/BENCHMARKS.md alone")


def _inputs(every: int):
    import cv2
    import numpy as np

    from perspose_rt.camera.exif import IMAGE_SUFFIXES, read_image
    from perspose_rt.paths import examples_dir, shared_data_dir

    out = []
    for p in sorted((examples_dir() / "photos").iterdir()):
        if p.suffix.lower() in IMAGE_SUFFIXES:
            out.append((p.name, np.asarray(read_image(p)[0])))
    video = shared_data_dir() / "videos" / "figure_skating_720p25.mp4"
    if video.is_file():
        cap = cv2.VideoCapture(str(video))
        i = 0
        while True:
            ok, img = cap.read()
            if not ok:
                break
            if i % every == 0:
                out.append((f"{video.name}#{i}", img))
            i += 1
        cap.release()
    else:
        print(f"video frames skipped: {video} not found")
    resized = []
    for name, img in out:
        s = 960 / max(img.shape[:2])
        resized.append((name, cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)))
    return resized


def _variants(img):
    """(group, image, M) with M the 2×3 map from the image's pixels to the variant's."""
    import cv2
    import numpy as np

    from perspose_rt.detect.search import rotation_view

    h, w = img.shape[:2]
    for s in _SCALES:
        small = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        sh, sw = small.shape[:2]
        for ox, oy in ((0, 0), (w - sw, h - sh)):
            canvas = np.full_like(img, 90)
            canvas[oy:oy + sh, ox:ox + sw] = small
            # pixel centres: x' = s·(x + 0.5) − 0.5 + ox (cv2.resize keeps pixel areas aligned)
            M = np.array([[s, 0, 0.5 * s - 0.5 + ox], [0, s, 0.5 * s - 0.5 + oy]])
            yield f"shrunk {s}", canvas, M
    for d in _ROTATIONS:
        v = rotation_view(w, h, d)
        yield f"rot {d}", v.render(img), v.M


def run(args: argparse.Namespace) -> int:
    import time
    from collections import defaultdict

    import numpy as np

    from perspose_rt.bench.report import Stats, markdown_table, write_section
    from perspose_rt.detect import BlazePoseDetector
    from perspose_rt.detect.search import ExtendedSearch, SearchConfig, apply_affine
    from perspose_rt.errors import InputError

    if args.every < 1:
        raise InputError(f"--every must be at least 1, got {args.every}")
    images = _inputs(args.every)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    plain_ms: list[float] = []
    extra_ms: dict[str, list[float]] = defaultdict(list)
    runs: list[int] = []
    with BlazePoseDetector(static_image_mode=True) as det:
        detect = det.detect  # image → list[Detection]

        search = ExtendedSearch(detect, SearchConfig(backoff=0))  # unrelated images: no back-off
        for name, img in images:
            ref = detect(img)
            if not ref:
                print(f"{name}: no plain detection on the original, left out")
                continue
            ref_kp = np.asarray(ref[0].keypoints)
            for group, var, M in _variants(img):
                expect = apply_affine(M, ref_kp)[_BODY]
                size = float(np.ptp(expect, axis=0).max())
                c = counts[group]
                c["n"] += 1
                t = time.perf_counter()
                found = detect(var)
                plain_ms.append((time.perf_counter() - t) * 1e3)
                stage = "plain"
                if not found:
                    t = time.perf_counter()
                    res = search(var)
                    extra_ms[group].append((time.perf_counter() - t) * 1e3)
                    runs.append(res.runs)
                    found, stage = res.detections, "extended"
                ok = any(np.median(np.linalg.norm(np.asarray(d.keypoints)[_BODY] - expect, axis=1)) < 0.1 * size
                         for d in found)
                if ok:
                    c[f"{stage} correct"] += 1
                elif found:
                    c[f"{stage} wrong"] += 1
    rows = []
    for group, c in counts.items():
        n = c["n"]
        plain, ext = c["plain correct"], c["plain correct"] + c["extended correct"]
        cost = Stats.of(extra_ms[group]) if extra_ms[group] else None
        rows.append([group, n, f"{plain} ({100 * plain / n:.0f} %)", f"{ext} ({100 * ext / n:.0f} %)",
                     c["plain wrong"], c["extended wrong"],
                     f"{cost.p50:.0f} / {cost.p95:.0f}" if cost else "–"])
    pst = Stats.of(plain_ms)
    table = markdown_table(["variant", "images", "plain search: correct", "plain + extended: correct",
                            "plain: wrong person", "extended: wrong person",
                            "extended search, extra ms p50 / p95"], rows)
    notes = (f"\nPlain BlazePose (static image mode) per image: p50 {pst.p50:.1f} ms, p95 {pst.p95:.1f} ms "
             f"({pst.n} calls). The extended search ran on the {len(runs)} images where the plain search "
             f"found nobody, with {int(np.median(runs)) if runs else 0} detector runs at the median "
             f"(max {max(runs) if runs else 0}). Images: {len(images)} (bundled photos and every "
             f"{args.every}th frame of the shared video), 960-pixel long side.\n")
    print(table + notes)
    if not args.no_write:
        path = write_section("search", "Extended person search (small, far, turned people)", table + notes)
        print(f"updated {path}")
    return 0
