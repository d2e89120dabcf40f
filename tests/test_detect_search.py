"""The extended person search: exact view geometry, stage order, back-off, rejection of bodies
that are not there, and (with MediaPipe) finding a shrunken real person the plain search misses."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perspose_rt.detect.search import (
    ExtendedSearch,
    SearchConfig,
    View,
    apply_affine,
    around_box_view,
    body_seen,
    crop_view,
    rotation_view,
    suppress_duplicates,
    tile_views,
    to_original,
)
from perspose_rt.paths import examples_dir
from perspose_rt.types import Detection

W, H = 64, 48


def _marked_image() -> tuple[np.ndarray, np.ndarray]:
    """A black image with 33 marked pixels (value k+1 in channel 0 at landmark k's position)."""
    rng = np.random.default_rng(3)
    flat = rng.choice(W * H, 33, replace=False)
    pts = np.stack([flat % W, flat // W], axis=1).astype(np.float64)
    img = np.zeros((H, W, 3), np.uint8)
    img[pts[:, 1].astype(int), pts[:, 0].astype(int), 0] = np.arange(1, 34)
    return img, pts


def _read_marks(view_img: np.ndarray) -> Detection:
    kp = np.zeros((33, 2))
    for k in range(33):
        y, x = np.argwhere(view_img[:, :, 0] == k + 1)[0]
        kp[k] = (x, y)
    return Detection(bbox_xyxy=np.r_[kp.min(0), kp.max(0)], score=0.9, keypoints=kp,
                     keypoint_conf=np.full(33, 0.9), keypoint_format="blazepose33")


@pytest.mark.parametrize("deg", [90, 180, 270])
def test_rotation_view_maps_detections_back_exactly(deg):
    img, pts = _marked_image()
    view = rotation_view(W, H, deg)
    rendered = view.render(img)
    assert rendered.shape[:2] == (view.size[1], view.size[0])
    back = to_original(_read_marks(rendered), view, W, H)
    np.testing.assert_array_equal(back.keypoints, pts)
    np.testing.assert_allclose(apply_affine(view.M, pts), _read_marks(rendered).keypoints)


@settings(max_examples=50, deadline=None)
@given(x0=st.floats(-50, 500), y0=st.floats(-50, 500), w=st.floats(4, 400), h=st.floats(4, 400),
       px=st.floats(-100, 600), py=st.floats(-100, 600), out=st.integers(32, 512))
def test_crop_view_inverse_is_exact(x0, y0, w, h, px, py, out):
    view = crop_view((x0, y0, x0 + w, y0 + h), out, "c")
    p = np.array([[px, py]])
    np.testing.assert_allclose(apply_affine(view.inverse(), apply_affine(view.M, p)), p, atol=1e-7)
    # the box's centre lands on the view's centre, and its longer side spans the view
    c = apply_affine(view.M, np.array([[x0 + w / 2, y0 + h / 2]]))
    np.testing.assert_allclose(c, [[(out - 1) / 2, (out - 1) / 2]], atol=1e-7)
    assert view.M[0, 0] == pytest.approx(out / max(w, h))


def test_crop_view_renders_the_pixels_the_map_names():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (H, W, 3), dtype=np.uint8)
    view = crop_view((9.5, 7.5, 41.5, 39.5), 32, "c")  # scale 1, shift (−10, −8): an exact copy
    np.testing.assert_array_equal(view.M, [[1, 0, -10], [0, 1, -8]])
    rendered = view.render(img)
    np.testing.assert_array_equal(rendered, img[8:40, 10:42])


@pytest.mark.parametrize("grid", [1, 2, 3, 4])
@pytest.mark.parametrize("size", [(1280, 720), (640, 480), (480, 640)])
def test_tiles_cover_the_frame(grid, size):
    w, h = size
    views = tile_views(w, h, grid, 0.3, 256)
    covered = np.zeros((h, w), bool)
    for v in views:
        # the view's continuous extent (pixel edges at −0.5 and 255.5) in original pixels
        x0, y0 = apply_affine(v.inverse(), np.array([[-0.5, -0.5]]))[0] - 1e-9
        x1, y1 = apply_affine(v.inverse(), np.array([[255.5, 255.5]]))[0] + 1e-9
        covered[max(0, int(np.ceil(y0))):int(y1) + 1, max(0, int(np.ceil(x0))):int(x1) + 1] = True
    assert covered.all()
    assert all(v.name == f"tiles{grid}x{grid}" for v in views)


def _person_at(kp_view: np.ndarray, conf: float = 0.9) -> Detection:
    return Detection(bbox_xyxy=np.r_[kp_view.min(0), kp_view.max(0)], score=conf, keypoints=kp_view,
                     keypoint_conf=np.full(33, conf), keypoint_format="blazepose33")


def test_search_stops_at_the_first_stage_that_finds_and_maps_back():
    img, pts = _marked_image()
    calls: list[tuple[int, int]] = []

    def detect(view_img):  # "finds" the marked person only when the frame is turned a quarter
        calls.append(view_img.shape[:2])
        if view_img.shape[:2] == (W, H):
            return [_read_marks(view_img)]
        return []

    search = ExtendedSearch(detect, SearchConfig(tiles=(), min_body_px=1, confirm=False))
    result = search(img)
    assert result.found_by == "rot90" and result.runs == 1 and len(calls) == 1
    np.testing.assert_array_equal(result.detections[0].keypoints, pts)


def test_around_last_box_comes_first_and_candidates_are_confirmed():
    kp = np.random.default_rng(1).uniform(20, 40, (33, 2))

    def detect(view_img):  # the "person" is always at the same original pixels
        return [_person_at(apply_affine(current[0].M, kp))]

    search = ExtendedSearch(detect, SearchConfig(min_body_px=1))
    current: list[View] = []
    orig_stages = search.stages

    def stages(w, h, last_box):
        groups = orig_stages(w, h, last_box)
        return [[_Recorder(v, current) for v in g] for g in groups]

    search.stages = stages  # record which view is rendered
    result = search(np.zeros((H, W, 3), np.uint8), last_box=np.array([18.0, 18.0, 42.0, 42.0]))
    assert result.found_by == "around-last"
    assert result.runs == 2  # one look around the last box, one confirming look
    np.testing.assert_allclose(result.detections[0].keypoints, kp, atol=1e-9)


class _Recorder:
    """A view that remembers it was rendered (so the fake detector knows which view it sees)."""

    def __init__(self, view: View, sink: list) -> None:
        self.view, self.sink, self.name, self.M, self.size = view, sink, view.name, view.M, view.size

    def render(self, image):
        self.sink[:] = [self.view]
        return self.view.render(image)

    def inverse(self):
        return self.view.inverse()


def test_a_candidate_that_a_second_look_does_not_confirm_is_dropped():
    rng = np.random.default_rng(2)
    looks = iter(range(100))

    def detect(view_img):  # a different "body" at every look: an invention, not a person
        next(looks)
        return [_person_at(rng.uniform(0, 300, (33, 2)))]

    result = ExtendedSearch(detect, SearchConfig(tiles=(2,), rotations=(), min_body_px=1, backoff=0))(
        np.zeros((480, 640, 3), np.uint8))
    assert result.detections == [] and result.found_by == ""


def test_backoff_searches_an_empty_room_only_every_few_frames():
    n = []
    search = ExtendedSearch(lambda im: n.append(1) or [], SearchConfig(backoff=3, backoff_every=4))
    img = np.zeros((H, W, 3), np.uint8)
    runs = [search(img).runs for _ in range(3 + 12)]
    per_search = runs[0]
    assert per_search > 0 and runs[:3] == [per_search] * 3
    assert [r > 0 for r in runs[3:]] == [False, False, False, True] * 3
    search.reset()
    assert search(img).runs == per_search


def test_body_seen_rejects_a_head_and_a_tiny_body():
    view = View("v", np.array([[1.0, 0, 0], [0, 1.0, 0]]), (400, 400))
    kp = np.tile([[200.0, 200.0]], (33, 1))
    conf = np.zeros(33)
    conf[:11] = 0.99  # face landmarks only
    head = Detection(np.array([190.0, 190, 210, 210]), 0.3, kp, conf, "blazepose33")
    assert not body_seen(head, view)
    body_kp = np.random.default_rng(0).uniform(100, 300, (33, 2))
    assert body_seen(Detection(np.zeros(4), 0.9, body_kp, np.full(33, 0.9), "blazepose33"), view)
    tiny = 200 + (body_kp - 200) * 0.2  # spans ~40 px
    assert not body_seen(Detection(np.zeros(4), 0.9, tiny, np.full(33, 0.9), "blazepose33"), view)


def test_duplicates_of_one_person_from_overlapping_tiles_are_merged():
    whole = Detection(np.array([100.0, 100, 200, 400]), 0.9)
    part = Detection(np.array([100.0, 250, 200, 400]), 0.8)  # a neighbouring tile saw the legs
    other = Detection(np.array([300.0, 100, 400, 400]), 0.7)
    kept = suppress_duplicates([part, other, whole])
    assert [d.score for d in kept] == [0.9, 0.7]


def test_around_box_view_zooms_on_the_box():
    v = around_box_view((100, 100, 150, 200), scale=2.0, out_size=400)
    assert v.M[0, 0] == pytest.approx(2.0)  # 200 px region → 400 px view


def test_real_small_person_is_found_by_tiles_where_the_plain_search_fails():
    cv2 = pytest.importorskip("cv2")
    from perspose_rt.detect import BlazePoseDetector

    photo = examples_dir() / "photos" / "IMG-without-exif-3_37_f35.jpg"
    img = cv2.imread(str(photo))
    s = 960 / max(img.shape[:2])
    img = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    with BlazePoseDetector(static_image_mode=True) as det:
        detect = det.detect  # a Detector: image → list[Detection]

        ref = detect(img)
        assert len(ref) == 1
        scale = 0.25  # the body becomes ~80 px tall in a 960-px frame
        small = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        canvas = np.full_like(img, 90)
        oy, ox = img.shape[0] - small.shape[0], img.shape[1] - small.shape[1]
        canvas[oy:, ox:] = small
        assert detect(canvas) == []
        result = ExtendedSearch(detect)(canvas)
    assert result.found_by.startswith("tiles") and len(result.detections) == 1
    expected = ref[0].keypoints * scale + [ox, oy]
    body = list(range(11, 29))
    err = np.median(np.linalg.norm(result.detections[0].keypoints[body] - expected[body], axis=1))
    size = np.ptp(expected[body], axis=0).max()
    assert err < 0.05 * size, (err, size)


def test_a_budgeted_search_goes_on_where_it_stopped_at_the_next_call():
    img, pts = _marked_image()
    seen: list[tuple[int, int]] = []

    def detect(view_img):  # the person is found only in the frame turned a quarter
        seen.append(view_img.shape[:2])
        return [_read_marks(view_img)] if view_img.shape[:2] == (W, H) else []

    config = SearchConfig(tiles=(2,), rotations=(180, 90), min_body_px=1, confirm=False, max_runs=2)
    search = ExtendedSearch(detect, config)
    # views in order: 4 tiles, rot180, rot90 → two calls of 2 runs find nobody, the third finds
    assert [search(img).runs for _ in range(2)] == [2, 2] and search._failures == 0
    result = search(img)
    assert result.found_by == "rot90" and result.runs == 2 and len(seen) == 6
    np.testing.assert_array_equal(result.detections[0].keypoints, pts)
    assert search(img).runs == 2 and len(seen) == 8  # found: the next search starts from the first view
    empty = ExtendedSearch(lambda im: [], config)
    assert [empty(img).runs for _ in range(3)] == [2, 2, 2] and empty._failures == 1  # one whole pass
