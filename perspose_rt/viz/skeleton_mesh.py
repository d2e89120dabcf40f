"""Skeletons as triangle meshes (pure numpy): bones as tubes, joints as spheres, one colour set per person.

:func:`people_mesh` turns any number of people (a list of ``(J, 3)`` joint arrays, metres, with
their track ids) into one mesh ``(vertices, normals, triangles, colours)`` that a renderer draws
in a single call. Left bones and joints are blue, right ones red, the centre line green, as in the
2D overlay; from the second track on, each person gets its own hue (lighter on the left, darker on
the right) so people stay distinguishable. Joints that were not seen (``visible`` False) are
drawn grey and smaller, and bones to them thin.
"""

from __future__ import annotations

import colorsys
from collections.abc import Sequence

import numpy as np

from perspose_rt.viz.overlay import CENTRE, LEFT, RIGHT, SKELETONS, _side, track_color

BONE_RADIUS = 0.022
JOINT_RADIUS = 0.035
_SEGMENTS = 12
_UNSEEN = (0.45, 0.45, 0.48)


def _unit_tube(n: int = _SEGMENTS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Open cylinder of radius 1 along +z from 0 to 1: vertices (2n, 3), normals, triangles."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ring = np.stack([np.cos(t), np.sin(t)], -1)
    v = np.concatenate([np.c_[ring, np.zeros(n)], np.c_[ring, np.ones(n)]])
    nrm = np.concatenate([np.c_[ring, np.zeros(n)]] * 2)
    i = np.arange(n)
    j = (i + 1) % n
    tri = np.concatenate([np.stack([i, j, n + i], -1), np.stack([j, n + j, n + i], -1)])
    return v, nrm, tri.astype(np.int32)


def _unit_sphere(lat: int = 7, lon: int = _SEGMENTS) -> tuple[np.ndarray, np.ndarray]:
    """UV sphere of radius 1: vertices (= normals) and triangles."""
    th = np.linspace(0, np.pi, lat + 1)[1:-1]
    ph = np.linspace(0, 2 * np.pi, lon, endpoint=False)
    T, P = np.meshgrid(th, ph, indexing="ij")
    body = np.stack([np.sin(T) * np.cos(P), np.sin(T) * np.sin(P), np.cos(T)], -1).reshape(-1, 3)
    v = np.concatenate([[[0, 0, 1]], body, [[0, 0, -1]]])
    tri = []
    for k in range(lon):  # caps
        k1 = (k + 1) % lon
        tri.append([0, 1 + k, 1 + k1])
        base = 1 + (lat - 2) * lon
        tri.append([len(v) - 1, base + k1, base + k])
    for r in range(lat - 2):  # bands
        for k in range(lon):
            a, b = 1 + r * lon + k, 1 + r * lon + (k + 1) % lon
            c, d = a + lon, b + lon
            tri += [[a, c, b], [b, c, d]]
    return v, np.asarray(tri, dtype=np.int32)


_TUBE_V, _TUBE_N, _TUBE_T = _unit_tube()
_SPHERE_V, _SPHERE_T = _unit_sphere()


def palette(track_id: int | None) -> dict[str, np.ndarray]:
    """RGB colours in [0, 1] of the ``left``, ``right`` and ``centre`` of a person.

    ``None``: the overlay's side colours (one person). A track id: the hue of that track's colour
    in the 2D overlay (:func:`~perspose_rt.viz.overlay.track_color`), light on the left side and
    deep on the right, so a track looks the same in both views and its sides stay apart.
    """
    if track_id is None:
        return {k: np.asarray(c[::-1], dtype=np.float64) / 255 for k, c in
                (("left", LEFT), ("right", RIGHT), ("centre", CENTRE))}
    rgb = np.asarray(track_color(track_id)[::-1], dtype=np.float64) / 255
    hue, sat, _ = colorsys.rgb_to_hsv(*rgb)
    if sat < 0.15:  # a grey track colour: keep it grey, vary the brightness only
        return {"left": np.full(3, 0.9), "right": np.full(3, 0.5), "centre": np.full(3, 0.7)}
    return {"left": np.array(colorsys.hsv_to_rgb(hue, 0.45, 1.0)),
            "right": np.array(colorsys.hsv_to_rgb(hue, 0.95, 0.7)),
            "centre": np.array(colorsys.hsv_to_rgb(hue, 0.7, 0.9))}


def _sides(names: Sequence[str]) -> list[str]:
    return [{LEFT: "left", RIGHT: "right"}.get(_side(n), "centre") for n in names]


def _bone_frames(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per bone: unit axis u, two unit normals e1, e2 perpendicular to it, and the length."""
    d = b - a
    length = np.linalg.norm(d, axis=-1)
    u = d / np.maximum(length, 1e-9)[:, None]
    helper = np.where(np.abs(u[:, :1]) < 0.9, [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]])
    e1 = np.cross(u, helper)
    e1 /= np.linalg.norm(e1, axis=-1, keepdims=True)
    e2 = np.cross(u, e1)
    return u, e1, e2, length


def skeleton_mesh(joints: np.ndarray, joint_format: str, track_id: int | None = None,
                  visible: np.ndarray | None = None, scale: float = 1.0
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One person's tubes and spheres.

    Args:
        joints: ``(J, 3)`` metres (any frame; the mesh is in the same frame).
        joint_format: a key of :data:`perspose_rt.viz.overlay.SKELETONS`.
        track_id: colour set (:func:`palette`).
        visible: ``(J,)`` bool; unseen joints are grey and smaller. Default: all seen.
        scale: multiplies the radii (e.g. for a person far away in a render).

    Returns:
        vertices ``(V, 3)``, normals ``(V, 3)``, triangles ``(T, 3)`` int32, colours ``(V, 3)`` in [0, 1].
    """
    parents, names = SKELETONS[joint_format]
    X = np.asarray(joints, dtype=np.float64)
    J = len(names)
    if X.shape != (J, 3):
        raise ValueError(f"{joint_format} joints must be ({J}, 3), got {X.shape}")
    seen = np.ones(J, bool) if visible is None else np.asarray(visible, bool)
    pal = palette(track_id)
    side = _sides(names)
    jcol = np.array([pal[s] if seen[j] else _UNSEEN for j, s in enumerate(side)])
    edges = np.array([[p, c] for c, p in enumerate(parents) if p >= 0], dtype=np.int64)
    # bones: child's side colour; thin where either end was not seen
    u, e1, e2, length = _bone_frames(X[edges[:, 0]], X[edges[:, 1]])
    r = scale * BONE_RADIUS * np.where(seen[edges].all(1), 1.0, 0.5)
    tv, tn = _TUBE_V, _TUBE_N
    bv = (X[edges[:, 0], None] + r[:, None, None] * (tv[None, :, :1] * e1[:, None] + tv[None, :, 1:2] * e2[:, None])
          + (tv[None, :, 2:3] * length[:, None, None]) * u[:, None])
    bn = tn[None, :, :1] * e1[:, None] + tn[None, :, 1:2] * e2[:, None]
    bt = _TUBE_T[None] + (np.arange(len(edges)) * len(tv))[:, None, None]
    bc = np.repeat(jcol[edges[:, 1]][:, None], len(tv), 1)
    # joints
    jr = scale * JOINT_RADIUS * np.where(seen, 1.0, 0.6)
    sv = X[:, None] + jr[:, None, None] * _SPHERE_V[None]
    sn = np.broadcast_to(_SPHERE_V[None], sv.shape)
    st = _SPHERE_T[None] + (len(edges) * len(tv) + np.arange(J) * len(_SPHERE_V))[:, None, None]
    sc = np.repeat(jcol[:, None], len(_SPHERE_V), 1)
    return (np.concatenate([bv.reshape(-1, 3), sv.reshape(-1, 3)]),
            np.concatenate([bn.reshape(-1, 3), sn.reshape(-1, 3)]),
            np.concatenate([bt.reshape(-1, 3), st.reshape(-1, 3)]).astype(np.int32),
            np.concatenate([bc.reshape(-1, 3), sc.reshape(-1, 3)]))


def people_mesh(people: Sequence[np.ndarray], joint_format: str, track_ids: Sequence[int] | None = None,
                visible: Sequence[np.ndarray | None] | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Several people (``(J, 3)`` each) as one mesh; ``track_ids`` pick the colours (default: the
    side colours for everybody, see :func:`palette`)."""
    ids = list(track_ids) if track_ids is not None else [None] * len(people)
    vis = list(visible) if visible is not None else [None] * len(people)
    parts = [skeleton_mesh(X, joint_format, i, v) for X, i, v in zip(people, ids, vis, strict=True)]
    if not parts:
        return np.zeros((0, 3)), np.zeros((0, 3)), np.zeros((0, 3), np.int32), np.zeros((0, 3))
    offsets = np.cumsum([0] + [len(p[0]) for p in parts[:-1]])
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
            np.concatenate([p[2] + o for p, o in zip(parts, offsets, strict=True)]).astype(np.int32),
            np.concatenate([p[3] for p in parts]))
