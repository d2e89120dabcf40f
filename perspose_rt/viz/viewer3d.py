"""Open3D viewer: the 3D skeleton in camera space, a floor grid, the camera frustum, SMPL mesh.

Coordinates are the camera frame (OpenCV: x right, y down, z forward, metres); the view looks
from just behind and above the real camera, so the scene appears as the camera sees it, with
depth. The floor grid sits under the lowest foot (a slowly adapting estimate), the frustum shows
the real field of view from ``K``. With no display, Open3D renders offscreen through EGL
(``visible=False``), which tests and servers use (:meth:`Viewer3D.render`).

Keys in the window (as in the OpenCV window): ``q`` quit, ``r`` start/stop recording,
``s`` snapshot; :meth:`Viewer3D.poll` returns the keys pressed since the last call.
"""

from __future__ import annotations

import logging

import numpy as np

from perspose_rt.types import Person, PoseResult
from perspose_rt.viz.overlay import CENTRE, LEFT, RIGHT, SKELETONS, _side, track_color

log = logging.getLogger(__name__)

BACKGROUND = (0.08, 0.08, 0.1)
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
    """An Open3D window (or offscreen buffer) showing the 3D poses of a frame's people.

    :meth:`update_people` draws every person (up to 10 at once); with ``track_colors`` each track's
    bones take its colour (:func:`~perspose_rt.viz.overlay.track_color`, as in the 2D overlay)
    and an "ID n" label floats above the person, otherwise bones are coloured by side.
    :meth:`update` shows one pose.

    Args:
        joint_format: ``"h36m17"`` or ``"perspose25"``.
        width, height: window size.
        visible: False renders offscreen (no display needed).
        mesh_faces: ``(F, 3)`` SMPL faces; when given, ``pose.extras["vertices"]`` ``(V, 3)``
            (camera frame, metres) is drawn as a mesh (of the first person).
        track_colors: colour each person's bones by track (several people) instead of by side.
    """

    def __init__(self, joint_format: str, width: int = 960, height: int = 720, visible: bool = True,
                 mesh_faces: np.ndarray | None = None, title: str = "perspose-rt 3D",
                 track_colors: bool = False) -> None:
        import open3d as o3d

        self._o3d = o3d
        if not visible:  # no display: keep Open3D's "falling back to EGL" notices out of the output
            o3d.utility.set_verbosity_level(o3d.utility.VerbosityLevel.Error)
        self.joint_format = joint_format
        parents, names = SKELETONS[joint_format]
        self._edges = np.array([[p, c] for c, p in enumerate(parents) if p >= 0], dtype=np.int32)
        self._edge_colors = np.array([_side(names[c]) for _, c in self._edges], dtype=np.float64)[:, ::-1] / 255
        self._feet = [i for i, n in enumerate(names) if n in _FOOT_NAMES]
        self._keys: list[str] = []
        self.vis = o3d.visualization.VisualizerWithKeyCallback()
        for key in "QRS":
            self.vis.register_key_callback(ord(key), self._key_cb(key.lower()))
        if not self.vis.create_window(window_name=title, width=width, height=height, visible=visible):
            raise RuntimeError("Open3D could not create a window or an offscreen (EGL) context")
        opt = self.vis.get_render_option()
        opt.background_color = np.asarray(BACKGROUND)
        opt.line_width = 4.0
        opt.point_size = 8.0
        n = len(names)
        self.skeleton = o3d.geometry.LineSet(o3d.utility.Vector3dVector(np.zeros((n, 3))),
                                             o3d.utility.Vector2iVector(self._edges))
        self.skeleton.colors = o3d.utility.Vector3dVector(self._edge_colors)
        self.joints = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(np.zeros((n, 3))))
        self.joints.paint_uniform_color([1.0, 1.0, 1.0])
        # One point each (Open3D warns about empty geometry when computing the view's bounds).
        self.grid = o3d.geometry.LineSet(o3d.utility.Vector3dVector(np.zeros((1, 3))), o3d.utility.Vector2iVector())
        self.frustum = o3d.geometry.LineSet(o3d.utility.Vector3dVector(np.zeros((1, 3))), o3d.utility.Vector2iVector())
        self.mesh = o3d.geometry.TriangleMesh() if mesh_faces is not None else None
        self._faces = None if mesh_faces is None else np.asarray(mesh_faces, dtype=np.int32)
        for g in (self.grid, self.frustum, self.skeleton, self.joints):
            self.vis.add_geometry(g)
        self._mesh_added = False
        opt.mesh_show_back_face = True
        self._floor_y: float | None = None
        self._view_set = False
        self._K: np.ndarray | None = None
        self.track_colors = track_colors
        self._extra: list[tuple] = []  # (skeleton, joints) of the 2nd, 3rd, … person
        self._labels: list = []  # one "ID n" text mesh per shown person (track_colors only)
        self._glyphs: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def update_people(self, people: list[Person], resolution: tuple[int, int] | None = None) -> None:
        """Show every person of a frame (nobody: hide the skeletons and keep the scene)."""
        o3d = self._o3d
        poses = [q.pose for q in people if q.pose is not None and q.pose.valid]
        first = poses[0] if poses else None
        aim = not self._view_set and len(poses) > 1
        self.update(first, resolution)
        if aim:  # the first view of several people: aim between them
            roots = np.array([np.asarray(q.joints_cam, dtype=np.float64)[0] for q in poses])
            self._look_at(roots.mean(0), float(np.ptp(roots[:, 0])))
        if first is not None and self.track_colors:
            self._paint(self.skeleton, people[0].track_id)
            self.vis.update_geometry(self.skeleton)
        while len(self._extra) < len(poses) - 1:
            n = len(self._edge_colors) + 1
            sk = o3d.geometry.LineSet(o3d.utility.Vector3dVector(np.zeros((n, 3))),
                                      o3d.utility.Vector2iVector(self._edges))
            jt = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(np.zeros((n, 3))))
            for g in (sk, jt):
                self.vis.add_geometry(g, reset_bounding_box=False)
            self._extra.append((sk, jt))
        for k, (sk, jt) in enumerate(self._extra):
            if k + 1 < len(poses):
                X = np.asarray(poses[k + 1].joints_cam, dtype=np.float64)
                sk.points = o3d.utility.Vector3dVector(X)
                jt.points = o3d.utility.Vector3dVector(X)
                if self.track_colors:
                    self._paint(sk, people[k + 1].track_id)
                else:
                    sk.colors = o3d.utility.Vector3dVector(self._edge_colors)
                jt.paint_uniform_color([1.0, 1.0, 1.0])
            else:
                sk.colors = o3d.utility.Vector3dVector(np.zeros_like(self._edge_colors) + BACKGROUND)
                jt.paint_uniform_color(BACKGROUND)
            self.vis.update_geometry(sk)
            self.vis.update_geometry(jt)

        if self.track_colors:
            self._update_labels([q for q in people if q.pose is not None and q.pose.valid])

    def _glyph(self, track_id: int) -> tuple[np.ndarray, np.ndarray]:
        """Vertices (camera frame, metres, centred at the origin, 0.12 m tall) and triangles of
        the text "ID n"."""
        if track_id not in self._glyphs:
            m = self._o3d.t.geometry.TriangleMesh.create_text(f"ID {track_id}", depth=0.0).to_legacy()
            v = np.asarray(m.vertices, dtype=np.float64)
            v = (v - (v.min(0) + v.max(0)) / 2) * (0.12 / max(np.ptp(v[:, 1]), 1e-6))
            self._glyphs[track_id] = (v * [1, -1, -1], np.asarray(m.triangles))  # text y up → camera y down
        return self._glyphs[track_id]

    def _update_labels(self, people: list[Person]) -> None:
        """A label in the track's colour 0.2 m above each person's highest joint."""
        o3d = self._o3d
        for k, person in enumerate(people):
            X = np.asarray(person.pose.joints_cam, dtype=np.float64)
            top = X[np.argmin(X[:, 1])]
            v, t = self._glyph(person.track_id)
            rgb = np.asarray(track_color(person.track_id)[::-1], dtype=np.float64) / 255
            if k == len(self._labels):
                self._labels.append(o3d.geometry.TriangleMesh())
                self._labels[k].vertices = o3d.utility.Vector3dVector(v + top - [0, 0.2, 0])
                self._labels[k].triangles = o3d.utility.Vector3iVector(t)
                self.vis.add_geometry(self._labels[k], reset_bounding_box=False)
            mesh = self._labels[k]
            mesh.vertices = o3d.utility.Vector3dVector(v + top - [0, 0.2, 0])
            mesh.triangles = o3d.utility.Vector3iVector(t)
            mesh.paint_uniform_color(rgb)
            self.vis.update_geometry(mesh)
        for mesh in self._labels[len(people):]:  # nobody in these slots now: an empty label
            mesh.triangles = o3d.utility.Vector3iVector(np.zeros((0, 3), np.int32))
            self.vis.update_geometry(mesh)

    def _paint(self, lineset, track_id: int) -> None:
        rgb = np.asarray(track_color(track_id)[::-1], dtype=np.float64) / 255
        lineset.colors = self._o3d.utility.Vector3dVector(np.tile(rgb, (len(self._edge_colors), 1)))

    def _key_cb(self, key: str):
        def cb(_vis) -> bool:
            self._keys.append(key)
            return False
        return cb

    def _set_frustum(self, K: np.ndarray, resolution: tuple[int, int]) -> None:
        o3d = self._o3d
        pts, edges = frustum_lines(K, resolution)
        self.frustum.points = o3d.utility.Vector3dVector(pts)
        self.frustum.lines = o3d.utility.Vector2iVector(edges)
        self.frustum.paint_uniform_color([0.9, 0.8, 0.2])
        self.vis.update_geometry(self.frustum)

    def update(self, pose: PoseResult | None, resolution: tuple[int, int] | None = None) -> None:
        """Show a result (an invalid one hides the skeleton and keeps the scene)."""
        o3d = self._o3d
        if pose is not None and resolution is not None and (self._K is None or not np.array_equal(self._K, pose.K)):
            self._K = np.asarray(pose.K, dtype=np.float64)
            self._set_frustum(self._K, resolution)
        if pose is None or not pose.valid:
            self.skeleton.colors = o3d.utility.Vector3dVector(np.zeros_like(self._edge_colors) + BACKGROUND)
            self.joints.paint_uniform_color(BACKGROUND)
            self.vis.update_geometry(self.skeleton)
            self.vis.update_geometry(self.joints)
            return
        X = np.asarray(pose.joints_cam, dtype=np.float64)
        self.skeleton.points = o3d.utility.Vector3dVector(X)
        self.skeleton.colors = o3d.utility.Vector3dVector(self._edge_colors)
        self.joints.points = o3d.utility.Vector3dVector(X)
        self.joints.paint_uniform_color([1.0, 1.0, 1.0])
        feet_y = float(X[self._feet, 1].max()) if self._feet else float(X[:, 1].max())
        self._floor_y = feet_y if self._floor_y is None else 0.9 * self._floor_y + 0.1 * feet_y
        pts, edges = grid_lines((float(X[0, 0]), float(X[0, 2])), self._floor_y)
        self.grid.points = o3d.utility.Vector3dVector(pts)
        self.grid.lines = o3d.utility.Vector2iVector(edges)
        self.grid.paint_uniform_color([0.35, 0.35, 0.4])
        if self.mesh is not None and "vertices" in pose.extras:
            self.mesh.vertices = o3d.utility.Vector3dVector(np.asarray(pose.extras["vertices"], dtype=np.float64))
            self.mesh.triangles = o3d.utility.Vector3iVector(self._faces)
            self.mesh.compute_vertex_normals()
            self.mesh.paint_uniform_color([0.75, 0.75, 0.78])
            if not self._mesh_added:  # Open3D does not draw geometry that was empty when added
                self.vis.add_geometry(self.mesh, reset_bounding_box=False)
                self._mesh_added = True
            self.vis.update_geometry(self.mesh)
        for g in (self.grid, self.skeleton, self.joints):
            self.vis.update_geometry(g)
        if not self._view_set:
            self._look_at(X[0])

    def reset_view(self) -> None:
        """Aim the view again at the next pose shown, and forget the floor (e.g. an unrelated photo)."""
        self._view_set = False
        self._floor_y = None

    def _look_at(self, target: np.ndarray, spread_m: float = 0.0) -> None:
        ctl = self.vis.get_view_control()
        self.vis.reset_view_point(True)
        ctl.set_lookat(target * 0.8)  # between the camera and the person, nearer the person
        ctl.set_front([0.35, -0.35, -1.0])  # from behind, above and right of the real camera
        ctl.set_up([0.0, -1.0, 0.0])  # image "up" is −y in OpenCV camera coordinates
        ctl.set_zoom(min(1.5, 0.45 + 0.6 * spread_m))  # step back to see several people
        self._view_set = True

    def poll(self) -> tuple[bool, list[str]]:
        """Process window events; returns (window still open, keys pressed since last poll)."""
        alive = bool(self.vis.poll_events())
        self.vis.update_renderer()
        keys, self._keys = self._keys, []
        return alive, keys

    def render(self) -> np.ndarray:
        """The current view as an (H, W, 3) uint8 BGR image (works offscreen)."""
        self.vis.poll_events()
        self.vis.update_renderer()
        rgb = np.asarray(self.vis.capture_screen_float_buffer(do_render=True))
        return np.ascontiguousarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8)[..., ::-1])

    def close(self) -> None:
        self.vis.destroy_window()


__all__ = ["CENTRE", "LEFT", "RIGHT", "Viewer3D", "frustum_lines", "grid_lines"]
