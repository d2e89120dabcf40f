"""Open3D viewer: people in camera space (bones as tubes, joints as spheres, left blue / right red,
one hue per track), a floor under their feet, the camera frustum, the SMPL mesh.

Coordinates are the camera frame (OpenCV: x right, y down, z forward, metres); the view looks
from behind, above and right of the real camera, so the scene appears roughly as the camera sees
it, with depth. The floor sits under the lowest foot (a slowly adapting estimate), the frustum
shows the real field of view from ``K``. The same class renders ``images``' 3D PNGs and the live
snapshots, with a HUD drawn on the render (:meth:`Viewer3D.render`). With no display, Open3D renders offscreen through EGL
(``visible=False``), which tests and servers use (:meth:`Viewer3D.render`).

Keys in the window (as in the OpenCV window): ``q`` quit, ``r`` start/stop recording,
``s`` snapshot; :meth:`Viewer3D.poll` returns the keys pressed since the last call.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from perspose_rt.types import SEEN_CONF, Person, PoseResult
from perspose_rt.viz.overlay import CENTRE, LEFT, RIGHT, SKELETONS
from perspose_rt.viz.skeleton_mesh import JOINT_RADIUS, palette, people_mesh

log = logging.getLogger(__name__)

BACKGROUND = (0.08, 0.08, 0.1)
FLOOR = (0.2, 0.21, 0.24)
GRID = (0.36, 0.37, 0.42)
#: from the look-at point towards the eye: right of, above and behind the real camera
VIEW_FRONT = (0.6, -0.45, -1.0)
#: 2D confidence from which a joint counts as seen (unseen ones are drawn grey)
MIN_SEEN_CONF = SEEN_CONF
_FOOT_NAMES = {"RFoot", "LFoot", "left_ankle", "right_ankle", "left_foot", "right_foot"}


def frustum_lines(K: np.ndarray, resolution: tuple[int, int], depth: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Points (5, 3) and edges (8, 2) of the camera pyramid up to ``depth`` metres."""
    w, h = resolution
    corners = np.array([[-0.5, -0.5, 1], [w - 0.5, -0.5, 1], [w - 0.5, h - 0.5, 1], [-0.5, h - 0.5, 1]])
    rays = corners @ np.linalg.inv(K).T
    pts = np.vstack([np.zeros(3), rays / rays[:, 2:3] * depth])
    edges = np.array([[0, 1], [0, 2], [0, 3], [0, 4], [1, 2], [2, 3], [3, 4], [4, 1]])
    return pts, edges


def grid_lines(center_xz: tuple[float, float], y: float, half: float = 3.0, step: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """A square grid on the plane ``y`` (camera frame), centred under ``center_xz``."""
    cx, cz = center_xz
    ticks = np.arange(-half, half + 1e-9, step)
    pts, edges = [], []
    for t in ticks:
        pts += [[cx + t, y, cz - half], [cx + t, y, cz + half], [cx - half, y, cz + t], [cx + half, y, cz + t]]
        k = len(pts)
        edges += [[k - 4, k - 3], [k - 2, k - 1]]
    return np.asarray(pts, dtype=np.float64), np.asarray(edges, dtype=np.int32)


class Viewer3D:
    """An Open3D window (or offscreen buffer) showing people in 3D: tubes, spheres, floor, camera.

    Args:
        joint_format: ``"h36m17"`` or ``"perspose25"``.
        width, height: window size.
        visible: False renders offscreen (no display needed).
        mesh_faces: ``(F, 3)`` SMPL faces; when given, ``pose.extras["vertices"]`` ``(V, 3)``
            (camera frame, metres) is drawn as a mesh.
        left, top: window position on the screen (``live`` puts it beside the 2D overlay).
        track_colors: :meth:`show_people` colours each person by track (several people; the
            same hue as the track in the 2D overlay) instead of by body side.

    The view looks at the people from behind, above and right of the real camera, framed to their
    size; it follows them smoothly (the look-at point moves towards the people's centre by
    :attr:`follow` of the way each update, so detection noise does not shake the view) and keeps
    whatever orbit and zoom the mouse gave it. :meth:`reset_view` frames again.
    """

    #: share of the way the view's centre moves towards the people per update (0..1)
    follow = 0.15

    def __init__(self, joint_format: str, width: int = 960, height: int = 720, visible: bool = True,
                 mesh_faces: np.ndarray | None = None, title: str = "perspose-rt 3D",
                 left: int = 50, top: int = 50, track_colors: bool = False) -> None:
        from perspose_rt.detect.mediapipe_env import quiet_mediapipe

        quiet_mediapipe()  # EGL's libwayland prints "XDG_RUNTIME_DIR is invalid" on headless machines
        import open3d as o3d

        self._o3d = o3d
        if not visible:  # no display: keep Open3D's "falling back to EGL" notices out of the output
            o3d.utility.set_verbosity_level(o3d.utility.VerbosityLevel.Error)
        self.joint_format = joint_format
        _parents, names = SKELETONS[joint_format]
        self._feet = [i for i, n in enumerate(names) if n in _FOOT_NAMES]
        self._keys: list[str] = []
        self.vis = o3d.visualization.VisualizerWithKeyCallback()
        for key in "QRS":
            self.vis.register_key_callback(ord(key), self._key_cb(key.lower()))
        if not self.vis.create_window(window_name=title, width=width, height=height, left=left, top=top,
                                      visible=visible):
            raise RuntimeError("Open3D could not create a window or an offscreen (EGL) context")
        opt = self.vis.get_render_option()
        opt.background_color = np.asarray(BACKGROUND)
        opt.line_width = 2.0
        opt.mesh_show_back_face = True
        opt.light_on = True
        V = o3d.utility.Vector3dVector
        # The legacy renderer sizes its view and clipping planes from the bounding box of what was
        # added with reset_bounding_box=True: a fixed 1 m box, added and removed again (the box
        # stays), so the zoom set in _frame() is in metres whatever the scene holds.
        anchor = o3d.geometry.PointCloud(V(np.array([[-0.5, -0.5, 2.5], [0.5, 0.5, 3.5]])))
        self.vis.add_geometry(anchor, reset_bounding_box=True)
        self.vis.remove_geometry(anchor, reset_bounding_box=False)
        # Geometry that is empty when added is never drawn: each starts as one degenerate triangle.
        self.floor = _placeholder_mesh(o3d)
        self.grid = o3d.geometry.LineSet(V(np.zeros((2, 3))), o3d.utility.Vector2iVector(np.array([[0, 1]])))
        self.frustum = o3d.geometry.LineSet(V(np.zeros((2, 3))), o3d.utility.Vector2iVector(np.array([[0, 1]])))
        self.people = _placeholder_mesh(o3d)
        self.labels = _placeholder_mesh(o3d)  # "ID n" above each tracked person (track_colors)
        self._glyphs: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.mesh = _placeholder_mesh(o3d) if mesh_faces is not None else None
        self._faces = None if mesh_faces is None else np.asarray(mesh_faces, dtype=np.int32)
        for g in (self.floor, self.grid, self.frustum, self.people, self.labels) + ((self.mesh,) if self.mesh else ()):
            self.vis.add_geometry(g, reset_bounding_box=False)
        self._floor_y: float | None = None
        self._target: np.ndarray | None = None
        self._view_set = False
        self._K: np.ndarray | None = None
        self.hud: list[str] = []
        self.track_colors = bool(track_colors)

    def _key_cb(self, key: str):
        def cb(_vis) -> bool:
            self._keys.append(key)
            return False
        return cb

    def _set_frustum(self, K: np.ndarray, resolution: tuple[int, int]) -> None:
        o3d = self._o3d
        pts, edges = frustum_lines(K, resolution, depth=0.35)
        self.frustum.points = o3d.utility.Vector3dVector(pts)
        self.frustum.lines = o3d.utility.Vector2iVector(edges)
        self.frustum.paint_uniform_color([0.95, 0.8, 0.25])
        self.vis.update_geometry(self.frustum)

    def update(self, pose: PoseResult | None, resolution: tuple[int, int] | None = None) -> None:
        """Show one result (an invalid one hides the skeleton and keeps the scene)."""
        if pose is not None and resolution is not None:
            self.set_camera(pose.K, resolution)
        if pose is None or not pose.valid:
            self.update_people([])
            return
        seen = None if pose.confidence is None else np.asarray(pose.confidence) >= MIN_SEEN_CONF
        self.update_people([pose.joints_cam], None, [seen])
        if self.mesh is not None and "vertices" in pose.extras:
            o3d = self._o3d
            self.mesh.vertices = o3d.utility.Vector3dVector(np.asarray(pose.extras["vertices"], dtype=np.float64))
            self.mesh.triangles = o3d.utility.Vector3iVector(self._faces)
            self.mesh.compute_vertex_normals()
            self.mesh.paint_uniform_color([0.75, 0.75, 0.78])
            self.vis.update_geometry(self.mesh)

    def set_camera(self, K: np.ndarray, resolution: tuple[int, int]) -> None:
        """Draw the real camera's frustum (from ``K`` and the image size)."""
        K = np.asarray(K, dtype=np.float64)
        if self._K is None or not np.array_equal(self._K, K):
            self._K = K
            self._set_frustum(K, resolution)

    def show_people(self, people: Sequence[Person], resolution: tuple[int, int] | None = None) -> None:
        """Show a frame's :class:`~perspose_rt.types.Person` list (nobody: hide the skeletons,
        keep the scene); the mesh is drawn for the first person when the viewer has faces."""
        people = [q for q in people if q.pose is not None and q.pose.valid]
        if self.track_colors and not people:
            self._set_labels([], [])
        if len(people) <= 1 and not self.track_colors:
            self.update(people[0].pose if people else None, resolution)
            return
        if resolution is not None:
            self.set_camera(people[0].pose.K, resolution)
        seen = [None if q.pose.confidence is None else np.asarray(q.pose.confidence) >= MIN_SEEN_CONF
                for q in people]
        ids = [q.track_id for q in people] if self.track_colors else None
        joints = [np.asarray(q.pose.joints_cam, dtype=np.float64) for q in people]
        self.update_people(joints, ids, seen)
        if ids is not None:
            self._set_labels(joints, ids)

    def _glyph(self, track_id: int) -> tuple[np.ndarray, np.ndarray]:
        """Vertices (camera frame, metres, centred, 0.12 m tall) and triangles of "ID n"."""
        if track_id not in self._glyphs:
            m = self._o3d.t.geometry.TriangleMesh.create_text(f"ID {track_id}", depth=0.0).to_legacy()
            v = np.asarray(m.vertices, dtype=np.float64)
            v = (v - (v.min(0) + v.max(0)) / 2) * (0.12 / max(float(np.ptp(v[:, 1])), 1e-6))
            self._glyphs[track_id] = (v * [1, -1, -1], np.asarray(m.triangles, dtype=np.int32))  # y up → down
        return self._glyphs[track_id]

    def _set_labels(self, joints: Sequence[np.ndarray], track_ids: Sequence[int]) -> None:
        """Each person's "ID n", in the track's colour, 0.2 m above their highest joint."""
        parts = []
        for X, tid in zip(joints, track_ids, strict=True):
            v, t = self._glyph(int(tid))
            top = X[np.argmin(X[:, 1])]
            parts.append((v + top - [0.0, 0.2, 0.0], t, palette(int(tid))["centre"]))
        if not parts:
            _set_mesh(self._o3d, self.labels, *_placeholder_arrays())
        else:
            offsets = np.cumsum([0] + [len(v) for v, _, _ in parts[:-1]])
            v = np.concatenate([p[0] for p in parts])
            t = np.concatenate([p[1] + o for p, o in zip(parts, offsets, strict=True)])
            c = np.concatenate([np.tile(p[2], (len(p[0]), 1)) for p in parts])
            _set_mesh(self._o3d, self.labels, v, np.tile([0.0, 0.0, -1.0], (len(v), 1)), t, c)
        self.vis.update_geometry(self.labels)

    def update_people(self, people: Sequence[np.ndarray], track_ids: Sequence[int] | None = None,
                      visible: Sequence[np.ndarray | None] | None = None) -> None:
        """Show any number of people: ``(J, 3)`` camera-frame joints each, coloured by track id
        (``None``: by body side), unseen joints (``visible`` False) grey."""
        o3d = self._o3d
        people = [np.asarray(X, dtype=np.float64) for X in people]
        if not people:
            _set_mesh(o3d, self.people, *_placeholder_arrays())
            self.vis.update_geometry(self.people)
            return
        v, n, t, c = people_mesh(people, self.joint_format, track_ids, visible)
        _set_mesh(o3d, self.people, v, n, t, c)
        allj = np.concatenate(people)
        centre = np.mean([0.5 * (X.min(0) + X.max(0)) for X in people], axis=0)
        feet = [float(X[self._feet, 1].max()) if self._feet else float(X[:, 1].max()) for X in people]
        feet_y = max(feet) + JOINT_RADIUS
        self._floor_y = feet_y if self._floor_y is None else 0.9 * self._floor_y + 0.1 * feet_y
        self._update_floor(centre)
        for g in (self.people, self.floor, self.grid):
            self.vis.update_geometry(g)
        if not self._view_set or self._target is None or np.linalg.norm(centre - self._target) > 1.5:
            self._frame(centre, allj)
        else:
            self._target = self._target + self.follow * (centre - self._target)
            self.vis.get_view_control().set_lookat(self._target)

    def _update_floor(self, centre: np.ndarray) -> None:
        o3d = self._o3d
        half = 2.5
        cx, cz, y = float(centre[0]), float(centre[2]), self._floor_y
        quad = np.array([[cx - half, y, cz - half], [cx + half, y, cz - half], [cx + half, y, cz + half],
                         [cx - half, y, cz + half]])
        _set_mesh(o3d, self.floor, quad, np.tile([0.0, -1.0, 0.0], (4, 1)), np.array([[0, 1, 2], [0, 2, 3]]),
                  np.tile(FLOOR, (4, 1)))
        pts, edges = grid_lines((cx, cz), y - 0.002, half=half, step=0.5)
        self.grid.points = o3d.utility.Vector3dVector(pts)
        self.grid.lines = o3d.utility.Vector2iVector(edges)
        self.grid.paint_uniform_color(GRID)

    def _frame(self, centre: np.ndarray, joints: np.ndarray) -> None:
        """Aim at the people, from behind, above and right of the real camera, sized to fit them."""
        ctl = self.vis.get_view_control()
        extent = float(np.max(np.ptp(joints, axis=0))) if len(joints) > 1 else 1.7
        self._target = np.asarray(centre, dtype=np.float64).copy()
        ctl.set_lookat(self._target)
        ctl.set_front(VIEW_FRONT)
        ctl.set_up([0.0, -1.0, 0.0])  # image "up" is -y in OpenCV camera coordinates
        ctl.set_zoom(float(np.clip(0.9 * max(extent, 1.2), 0.6, 5.0)))  # half the view's height, metres
        self._view_set = True

    def reset_view(self) -> None:
        """Frame the next people shown again, and forget the floor (e.g. an unrelated photo)."""
        self._view_set = False
        self._floor_y = None

    def camera_parameters(self) -> tuple[np.ndarray, np.ndarray]:
        """The view's ``(K (3, 3), world→view extrinsic (4, 4))`` as Open3D reports them."""
        params = self.vis.get_view_control().convert_to_pinhole_camera_parameters()
        return np.asarray(params.intrinsic.intrinsic_matrix), np.asarray(params.extrinsic)

    def set_view(self, K_view: np.ndarray, extrinsic: np.ndarray) -> None:
        """Look through a pinhole camera: ``K_view`` for the window's size (principal point at its
        centre, fx = fy), ``extrinsic`` world→view (4, 4). ``np.eye(4)`` is the real camera's
        viewpoint. A joint X then lands at ``K_view @ (extrinsic @ [X, 1])[:3]``."""
        ctl = self.vis.get_view_control()
        params = ctl.convert_to_pinhole_camera_parameters()
        w, h = params.intrinsic.width, params.intrinsic.height
        K_view = np.asarray(K_view, dtype=np.float64)
        params.intrinsic.set_intrinsics(w, h, K_view[0, 0], K_view[1, 1], K_view[0, 2], K_view[1, 2])
        params.extrinsic = np.asarray(extrinsic, dtype=np.float64)
        if not ctl.convert_from_pinhole_camera_parameters(params, allow_arbitrary=True):
            raise ValueError("Open3D refused the view: the principal point must be the window's centre")
        self._view_set = True

    def poll(self) -> tuple[bool, list[str]]:
        """Process window events; returns (window still open, keys pressed since last poll)."""
        alive = bool(self.vis.poll_events())
        self.vis.update_renderer()
        keys, self._keys = self._keys, []
        return alive, keys

    def render(self, hud: Sequence[str] | None = None) -> np.ndarray:
        """The current view as an (H, W, 3) uint8 BGR image (works offscreen), with ``hud`` lines
        (default :attr:`hud`) drawn in its top-left corner."""
        from perspose_rt.viz.overlay import draw_hud

        self.vis.poll_events()
        self.vis.update_renderer()
        rgb = np.asarray(self.vis.capture_screen_float_buffer(do_render=True))
        img = np.ascontiguousarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8)[..., ::-1])
        lines = self.hud if hud is None else list(hud)
        return draw_hud(img, lines) if lines else img

    def close(self) -> None:
        self.vis.destroy_window()


def _placeholder_arrays():
    return np.zeros((3, 3)), np.tile([0.0, 0.0, 1.0], (3, 1)), np.array([[0, 1, 2]], np.int32), np.zeros((3, 3))


def _placeholder_mesh(o3d):
    mesh = o3d.geometry.TriangleMesh()
    _set_mesh(o3d, mesh, *_placeholder_arrays())
    return mesh


def _set_mesh(o3d, mesh, vertices, normals, triangles, colors) -> None:
    mesh.vertices = o3d.utility.Vector3dVector(np.asarray(vertices, dtype=np.float64))
    mesh.vertex_normals = o3d.utility.Vector3dVector(np.asarray(normals, dtype=np.float64))
    mesh.triangles = o3d.utility.Vector3iVector(np.asarray(triangles, dtype=np.int32))
    mesh.vertex_colors = o3d.utility.Vector3dVector(np.asarray(colors, dtype=np.float64))


__all__ = ["CENTRE", "LEFT", "RIGHT", "Viewer3D", "frustum_lines", "grid_lines"]
