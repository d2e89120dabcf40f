"""Perspective-correct renders of articulated bodies made of shaded ellipsoids.

A body is one ellipsoid per bone of the H36M-17 skeleton (long axis along the bone, 15 % longer
than it, so that both joints lie inside) plus a head. Each pixel's ray is intersected exactly
with every ellipsoid (ray ↦ the ellipsoid's unit-sphere frame, a quadratic), so the image is the
true pinhole projection of the 3D body for any field of view, including at the image edges. The
nearest hit is Lambert-shaded (a random light, an ambient term) in its ellipsoid's colour over a
random background. Every 3D joint is inside the body, so its projection lies on the silhouette
whenever the joint is in the image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from perspose_rt.metrics.joints import H36M17_PARENTS

#: Base radius (metres) of the ellipsoid of the bone that ends at each H36M-17 joint.
_BONE_RADIUS = {1: 0.09, 2: 0.075, 3: 0.055, 4: 0.09, 5: 0.075, 6: 0.055, 7: 0.14, 8: 0.13, 9: 0.055,
                10: 0.1, 11: 0.06, 12: 0.05, 13: 0.04, 14: 0.06, 15: 0.05, 16: 0.04}
_UPPER = (7, 8, 11, 12, 14, 15)  # torso and upper arms: the "shirt" colour
_LOWER = (1, 2, 4, 5)  # thighs and shins: the "trousers" colour


@dataclass
class Body:
    """Ellipsoids: centres (E,3), rotations (E,3,3) local→camera, semi-axes (E,3), colours (E,3) BGR."""

    centres: np.ndarray
    rotations: np.ndarray
    axes: np.ndarray
    colours: np.ndarray


def _frame(v: np.ndarray) -> np.ndarray:
    """A rotation whose first column is the unit vector ``v``."""
    a = v / np.linalg.norm(v)
    t = np.array([0.0, 0, 1]) if abs(a[2]) < 0.9 else np.array([1.0, 0, 0])
    b = np.cross(a, t)
    b /= np.linalg.norm(b)
    return np.stack([a, b, np.cross(a, b)], 1)


def make_body(joints: np.ndarray, rng: np.random.Generator) -> Body:
    """Ellipsoids around the bones of H36M-17 ``joints`` (17, 3) camera metres, random build and colours."""
    build = rng.uniform(0.75, 1.3)
    shirt, trousers, skin = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3), rng.uniform(60, 230, 3)
    centres, rots, axes, cols = [], [], [], []
    for j, p in enumerate(H36M17_PARENTS):
        if p < 0:
            continue
        a, b = joints[p], joints[j]
        L = float(np.linalg.norm(b - a))
        r = _BONE_RADIUS[j] * build * rng.uniform(0.85, 1.15)
        if j == 10:  # the head: a rounder ellipsoid centred between Neck/Nose and Head
            axes.append([max(0.5 * L * 1.6, 0.09), 0.09 * build, 0.1 * build])
        else:
            axes.append([0.5 * L * 1.15 + r * 0.3, r, r])
        centres.append((a + b) / 2)
        rots.append(_frame(b - a) if L > 1e-6 else np.eye(3))
        cols.append(shirt if j in _UPPER else trousers if j in _LOWER else skin)
    return Body(np.array(centres), np.array(rots), np.array(axes, np.float64), np.array(cols))


def ray_cast(body: Body, K: np.ndarray, wh: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact ray–ellipsoid hits for every pixel centre.

    Returns:
        depth (H, W) ray parameter of the nearest hit (inf: background), index (H, W) of the hit
        ellipsoid (-1: none), normal (H, W, 3) unit surface normal in the camera frame.
    """
    W, H = wh
    v, u = np.mgrid[:H, :W].astype(np.float64)
    rays = _rays(np.stack([u, v], -1).reshape(-1, 2), K)
    best, idx = _nearest(body, rays)
    normal = np.zeros((len(rays), 3))
    m = idx >= 0
    if m.any():
        e = idx[m]
        P = rays[m] * best[m, None] - body.centres[e]
        local = np.einsum("nji,nj->ni", body.rotations[e], P) / body.axes[e] ** 2
        n = np.einsum("nij,nj->ni", body.rotations[e], local)
        normal[m] = n / np.linalg.norm(n, axis=-1, keepdims=True)
    return best.reshape(H, W), idx.reshape(H, W), normal.reshape(H, W, 3)


def hits_body(body: Body, K: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """(N,) whether the ray of each pixel position ``uv`` (N, 2) hits the body (exact, sub-pixel)."""
    return _nearest(body, _rays(np.asarray(uv, np.float64), K))[1] >= 0


def _rays(uv: np.ndarray, K: np.ndarray) -> np.ndarray:
    u, v = uv[:, 0], uv[:, 1]
    return np.stack([(u - K[0, 2] - K[0, 1] * (v - K[1, 2]) / K[1, 1]) / K[0, 0], (v - K[1, 2]) / K[1, 1],
                     np.ones_like(u)], -1)


def _nearest(body: Body, rays: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    best = np.full(len(rays), np.inf)
    idx = np.full(len(rays), -1)
    for e in range(len(body.centres)):
        Rt, s = body.rotations[e].T, body.axes[e]
        o = (Rt @ (-body.centres[e])) / s  # camera origin in the unit-sphere frame
        d = (rays @ Rt.T) / s
        a = (d * d).sum(-1)
        b = 2 * d @ o
        c = o @ o - 1.0
        disc = b * b - 4 * a * c
        hit = disc >= 0
        t = np.where(hit, (-b - np.sqrt(np.where(hit, disc, 0))) / (2 * a), np.inf)
        t = np.where(t > 0, t, np.inf)
        closer = t < best
        best, idx = np.where(closer, t, best), np.where(closer, e, idx)
    return best, idx


def background(wh: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A random smooth gradient with blobs, stripes and noise (uint8 BGR)."""
    import cv2

    W, H = wh
    v, u = np.mgrid[:H, :W] / max(W, H)
    c0, c1, c2 = rng.uniform(0, 255, (3, 3))
    img = c0 + np.outer(u.ravel(), c1 - c0).reshape(H, W, 3) * rng.uniform(0, 1) \
        + np.outer(v.ravel(), c2 - c0).reshape(H, W, 3) * rng.uniform(0, 1)
    img = np.clip(img, 0, 255).astype(np.uint8)
    for _ in range(rng.integers(2, 9)):
        col = tuple(float(x) for x in rng.uniform(0, 255, 3))
        pt = (int(rng.integers(0, W)), int(rng.integers(0, H)))
        if rng.random() < 0.5:
            cv2.circle(img, pt, int(rng.integers(3, max(4, W // 4))), col, -1)
        else:
            pt2 = (int(rng.integers(0, W)), int(rng.integers(0, H)))
            cv2.rectangle(img, pt, pt2, col, -1 if rng.random() < 0.6 else int(rng.integers(1, 4)))
    noise = rng.normal(0, rng.uniform(2, 12), img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def render(body: Body, K: np.ndarray, wh: tuple[int, int], rng: np.random.Generator):
    """(image uint8 BGR (H, W, 3), silhouette bool (H, W))."""
    _, idx, normal = ray_cast(body, K, wh)
    img = background(wh, rng).astype(np.float64)
    light = rng.normal(size=3)
    light[2] = -abs(light[2]) - 0.5  # from the camera's side
    light /= np.linalg.norm(light)
    mask = idx >= 0
    shade = 0.35 + 0.65 * np.clip(-(normal @ light), 0, 1)
    img[mask] = body.colours[idx[mask]] * shade[mask, None]
    return np.clip(img, 0, 255).astype(np.uint8), mask


def body_bbox(body: Body, K: np.ndarray, n: int = 24) -> np.ndarray:
    """The tight box (x, y, w, h) of the projected body surface (not clipped to the image),
    from ``n × n`` surface points per ellipsoid."""
    th, ph = np.meshgrid(np.linspace(0, np.pi, n), np.linspace(0, 2 * np.pi, 2 * n))
    unit = np.stack([np.sin(th) * np.cos(ph), np.sin(th) * np.sin(ph), np.cos(th)], -1).reshape(-1, 3)
    pts = np.einsum("eij,enj->eni", body.rotations, unit[None] * body.axes[:, None]) + body.centres[:, None]
    pts = pts.reshape(-1, 3)
    pts = pts[pts[:, 2] > 1e-3]
    uv = (pts @ K.T)[:, :2] / (pts @ K.T)[:, 2:]
    lo, hi = uv.min(0), uv.max(0)
    return np.array([lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1]])
