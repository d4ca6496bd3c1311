"""Primitive objects of named categories with within-category shape variation and surface point samples.

Canonical object frame: metres, origin at the centre of the bounding box, +z along the object's up axis
(the axis of revolution for round objects; a mug's handle points along +x).
"""

from __future__ import annotations

import numpy as np

from common.geometry.meshes import sample_surface

OBJECT_CATEGORIES: tuple[str, ...] = ("box", "cylinder", "can", "bottle", "sphere", "mug")
"""Names accepted by `make_object`."""

COLOR_NAMES: dict[str, tuple[float, float, float]] = {
    "red": (0.85, 0.15, 0.12), "green": (0.15, 0.7, 0.2), "blue": (0.15, 0.3, 0.85),
    "yellow": (0.95, 0.85, 0.15), "orange": (0.95, 0.5, 0.1), "purple": (0.55, 0.2, 0.7),
    "white": (0.92, 0.92, 0.9),
}
"""Colour words used in task texts and their RGB values in [0,1]."""


def lathe(profile: np.ndarray, segments: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Revolve a (P,2) profile of (radius, z) points about the z axis -> closed-ish mesh (verts, faces)."""
    angles = np.linspace(0.0, 2 * np.pi, segments, endpoint=False)
    r, z = profile[:, 0:1], profile[:, 1:2]
    zz = np.broadcast_to(z, (len(profile), segments))
    verts = np.stack([r * np.cos(angles), r * np.sin(angles), zz], axis=-1).reshape(-1, 3)
    rows = np.arange(len(profile) - 1)[:, None] * segments
    cols = np.arange(segments)[None]
    a, b = rows + cols, rows + (cols + 1) % segments
    c, d = a + segments, b + segments
    faces = np.concatenate([np.stack([a, b, d], -1).reshape(-1, 3), np.stack([a, d, c], -1).reshape(-1, 3)])
    return verts, faces


def _box(size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Axis-aligned box mesh with side lengths `size` (3,), 8 vertices and 12 outward-facing triangles."""
    corners = np.array([[x, y, z] for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (-0.5, 0.5)]) * size
    faces = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                      [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    return corners, faces


def _torus_arc(major: float, minor: float, start: float, stop: float, n: int = 16,
               m: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Tube of radius `minor` along a circle of radius `major` in the xz plane, angles start..stop (rad)."""
    u = np.linspace(start, stop, n)
    v = np.linspace(0.0, 2 * np.pi, m, endpoint=False)
    uu, vv = np.meshgrid(u, v, indexing="ij")
    ring = major + minor * np.cos(vv)
    verts = np.stack([ring * np.cos(uu), minor * np.sin(vv), ring * np.sin(uu)], -1).reshape(-1, 3)
    rows = np.arange(n - 1)[:, None] * m
    cols = np.arange(m)[None]
    a, b = rows + cols, rows + (cols + 1) % m
    faces = np.concatenate([np.stack([a, b, b + m], -1).reshape(-1, 3), np.stack([a, b + m, a + m], -1)
                            .reshape(-1, 3)])
    return verts, faces


def _profile(category: str, rng: np.random.Generator) -> np.ndarray:
    """(radius, z) profile of a round category with sampled dimensions (m), bottom to top."""
    if category == "sphere":
        radius = rng.uniform(0.03, 0.11)
        t = np.linspace(-np.pi / 2, np.pi / 2, 17)
        return np.stack([radius * np.cos(t), radius * np.sin(t)], -1)
    if category == "cylinder":
        radius, height = rng.uniform(0.025, 0.08), rng.uniform(0.06, 0.25)
        return np.array([[0, 0], [radius, 0], [radius, height], [0, height]])
    if category == "can":
        radius, height = rng.uniform(0.028, 0.036), rng.uniform(0.095, 0.135)
        rim = 0.12 * radius
        return np.array([[0, 0], [radius - rim, 0], [radius, rim], [radius, height - 1.5 * rim],
                         [radius - rim, height], [0, height]])
    if category == "bottle":
        radius, body = rng.uniform(0.028, 0.045), rng.uniform(0.1, 0.18)
        neck_r = radius * rng.uniform(0.3, 0.45)
        top, neck = body + rng.uniform(0.03, 0.06), rng.uniform(0.03, 0.06)
        shoulder = [0.5 * (radius + neck_r), 0.4 * body + 0.6 * top]
        return np.array([[0, 0], [radius, 0], [radius, body], shoulder, [neck_r, top], [neck_r, top + neck],
                         [0, top + neck]])
    if category == "mug":
        radius, height = rng.uniform(0.035, 0.05), rng.uniform(0.08, 0.11)
        wall, base = rng.uniform(0.004, 0.007), 0.008
        return np.array([[0, 0], [radius, 0], [radius, height], [radius - wall, height],
                         [radius - wall, base], [0, base]])
    raise KeyError(f"unknown object category {category!r}; choose one of {OBJECT_CATEGORIES}")


def make_object(category: str, rng: np.random.Generator,
                num_points: int = 2048) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random instance of `category` -> (verts (V,3) float32 m, faces (F,3) int64, surface_points (N,3))."""
    if category == "box":
        size = np.array([rng.uniform(0.05, 0.25), rng.uniform(0.05, 0.2), rng.uniform(0.04, 0.2)])
        verts, faces = _box(size)
    else:
        profile = _profile(category, rng)
        verts, faces = lathe(profile, 32)
        if category == "mug":
            height, radius = profile[2, 1], profile[1, 0]
            major = 0.3 * height
            hv, hf = _torus_arc(major, 0.007, -np.pi / 2, np.pi / 2)
            hv = hv + np.array([radius - 0.004, 0.0, 0.5 * height])
            faces = np.concatenate([faces, hf + len(verts)])
            verts = np.concatenate([verts, hv])
    lo, hi = verts.min(axis=0), verts.max(axis=0)
    verts = verts - 0.5 * (lo + hi)
    points = sample_surface(verts, faces, num_points, rng).astype(np.float32)
    return verts.astype(np.float32), faces.astype(np.int64), points
