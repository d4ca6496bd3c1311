"""Small triangle-mesh builders for the stand-in body models: rings, capsules, bands, orientation."""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field

import numpy as np


def perpendicular_frame(axis: np.ndarray, hint: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors (u, v) perpendicular to `axis`, with u as close as possible to `hint`."""
    axis = axis / np.linalg.norm(axis)
    u = hint - axis * (hint @ axis)
    if np.linalg.norm(u) < 1e-6:
        u = np.cross(axis, [1.0, 0.0, 0.0])
        if np.linalg.norm(u) < 1e-6:
            u = np.cross(axis, [0.0, 1.0, 0.0])
    u = u / np.linalg.norm(u)
    return u, np.cross(axis, u)


def ring_points(centre: np.ndarray, u: np.ndarray, v: np.ndarray, ru: float, rv: float, n: int) -> np.ndarray:
    """(n,3) points of an ellipse at uniform angles starting on +u (their mean is exactly `centre`)."""
    theta = 2.0 * np.pi * np.arange(n) / n
    return centre + ru * np.cos(theta)[:, None] * u + rv * np.sin(theta)[:, None] * v


def band(ring_a: np.ndarray, angles_a: np.ndarray, ring_b: np.ndarray, angles_b: np.ndarray) -> np.ndarray:
    """Triangles joining two closed rings of any sizes (vertex ids sorted by angle in [0, 2pi))."""
    na, nb = len(ring_a), len(ring_b)
    ext_a = np.append(angles_a, angles_a[0] + 2 * np.pi)
    ext_b = np.append(angles_b, angles_b[0] + 2 * np.pi)
    faces, i, j = [], 0, 0
    while i < na or j < nb:
        advance_a = j >= nb or (i < na and ext_a[i + 1] <= ext_b[j + 1])
        if advance_a:
            faces.append((ring_a[i], ring_a[(i + 1) % na], ring_b[j % nb]))
            i += 1
        else:
            faces.append((ring_a[i % na], ring_b[(j + 1) % nb], ring_b[j]))
            j += 1
    return np.asarray(faces, dtype=np.int64)


def fan(pole: int, ring: np.ndarray) -> np.ndarray:
    """Triangles closing a ring with one pole vertex."""
    n = len(ring)
    return np.asarray([(pole, ring[k], ring[(k + 1) % n]) for k in range(n)], dtype=np.int64)


@dataclass
class MeshBuilder:
    """Accumulates vertices, faces and per-vertex tags (component id, axial parameter, anchors)."""

    verts: list[np.ndarray] = field(default_factory=list)
    faces: list[np.ndarray] = field(default_factory=list)
    component: list[np.ndarray] = field(default_factory=list)
    axial: list[np.ndarray] = field(default_factory=list)
    centre: list[np.ndarray] = field(default_factory=list)
    count: int = 0

    def add(self, points: np.ndarray, comp: int, s: np.ndarray | float, centres: np.ndarray) -> np.ndarray:
        """Append vertices with their component id, axial parameter s and axis point; returns their ids."""
        points = np.atleast_2d(points)
        n = len(points)
        self.verts.append(points)
        self.component.append(np.full(n, comp))
        self.axial.append(np.broadcast_to(np.asarray(s, dtype=float), (n,)).copy())
        self.centre.append(np.broadcast_to(centres, (n, 3)).copy())
        ids = np.arange(self.count, self.count + n)
        self.count += n
        return ids

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(verts, faces, component, axial, centre) as numpy arrays."""
        return (np.concatenate(self.verts), np.concatenate(self.faces), np.concatenate(self.component),
                np.concatenate(self.axial), np.concatenate(self.centre))


def capsule(mb: MeshBuilder, comp: int, a: np.ndarray, b: np.ndarray, radii_a: tuple[float, float],
            radii_b: tuple[float, float], hint: np.ndarray, n_around: int, n_mid: int = 3,
            n_cap: int = 3, extra_mid: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Closed capsule from a to b (elliptic sections); returns the vertex ids of the rings at a and at b.

    `extra_mid` adds that many vertices to the middle ring (to hit an exact vertex budget).
    """
    axis = b - a
    length = float(np.linalg.norm(axis))
    unit = axis / length
    u, v = perpendicular_frame(unit, hint)
    rings: list[tuple[np.ndarray, np.ndarray]] = []

    def add_ring(centre: np.ndarray, ru: float, rv: float, s: float, n: int) -> None:
        ids = mb.add(ring_points(centre, u, v, ru, rv, n), comp, s, centre)
        rings.append((ids, 2 * np.pi * np.arange(n) / n))

    cap_a = max(radii_a) * 0.9
    cap_b = max(radii_b) * 0.9
    pole_a = mb.add(a - unit * cap_a, comp, -cap_a / length, a)
    for k in range(1, n_cap):
        phi = 0.5 * np.pi * k / n_cap
        add_ring(a - unit * cap_a * np.cos(phi), radii_a[0] * np.sin(phi), radii_a[1] * np.sin(phi),
                 -cap_a * np.cos(phi) / length, n_around)
    add_ring(a, *radii_a, 0.0, n_around)
    ring_at_a = rings[-1][0]
    for k in range(1, n_mid + 1):
        s = k / (n_mid + 1)
        ru = (1 - s) * radii_a[0] + s * radii_b[0]
        rv = (1 - s) * radii_a[1] + s * radii_b[1]
        add_ring(a + s * axis, ru, rv, s, n_around + (extra_mid if k == (n_mid + 1) // 2 else 0))
    add_ring(b, *radii_b, 1.0, n_around)
    ring_at_b = rings[-1][0]
    for k in range(n_cap - 1, 0, -1):
        phi = 0.5 * np.pi * k / n_cap
        add_ring(b + unit * cap_b * np.cos(phi), radii_b[0] * np.sin(phi), radii_b[1] * np.sin(phi),
                 1 + cap_b * np.cos(phi) / length, n_around)
    pole_b = mb.add(b + unit * cap_b, comp, 1 + cap_b / length, b)
    mb.faces.append(fan(int(pole_a[0]), rings[0][0]))
    for (ra, aa), (rb, ab) in itertools.pairwise(rings):
        mb.faces.append(band(ra, aa, rb, ab))
    mb.faces.append(fan(int(pole_b[0]), rings[-1][0]))
    return ring_at_a, ring_at_b


def capsule_vertex_count(n_around: int, n_mid: int = 3, n_cap: int = 3, extra_mid: int = 0) -> int:
    """Number of vertices `capsule` creates with these settings."""
    return n_around * (2 * (n_cap - 1) + 2 + n_mid) + extra_mid + 2


def orient_consistently(faces: np.ndarray, verts: np.ndarray) -> np.ndarray:
    """Flip faces so each connected component is consistently oriented with outward normals."""
    faces = faces.copy()
    edge_faces: dict[tuple[int, int], list[int]] = {}
    for f_id, f in enumerate(faces):
        for k in range(3):
            e = (int(f[k]), int(f[(k + 1) % 3]))
            edge_faces.setdefault((min(e), max(e)), []).append(f_id)
    visited = np.zeros(len(faces), dtype=bool)
    for seed in range(len(faces)):
        if visited[seed]:
            continue
        visited[seed] = True
        queue, members = deque([seed]), [seed]
        while queue:
            f_id = queue.popleft()
            f = faces[f_id]
            for k in range(3):
                a, b = int(f[k]), int(f[(k + 1) % 3])
                for other in edge_faces[(min(a, b), max(a, b))]:
                    if visited[other]:
                        continue
                    g = list(faces[other])
                    same_direction = any(g[m] == a and g[(m + 1) % 3] == b for m in range(3))
                    if same_direction:
                        faces[other] = faces[other][::-1]
                    visited[other] = True
                    members.append(other)
                    queue.append(other)
        comp_faces = faces[members]
        centre = verts[np.unique(comp_faces)].mean(0)
        tri = verts[comp_faces] - centre
        volume = np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum()
        if volume < 0:
            faces[members] = faces[members][:, ::-1]
    return faces


def permutation_with_fixed_ids(n: int, fixed: dict[int, int]) -> np.ndarray:
    """order[new_id] = old_id, putting each old vertex `fixed[new_id]` at new_id and the rest in order."""
    order = np.full(n, -1, dtype=np.int64)
    for new_id, old_id in fixed.items():
        order[new_id] = old_id
    rest = np.setdiff1d(np.arange(n), np.fromiter(fixed.values(), dtype=np.int64))
    order[order < 0] = rest
    return order


def nearest_free_vertex(verts: np.ndarray, point: np.ndarray, taken: set[int],
                        candidates: np.ndarray | None = None) -> int:
    """Id of the vertex closest to `point` among candidates (default all) not yet taken."""
    ids = np.arange(len(verts)) if candidates is None else candidates
    order = ids[np.argsort(np.linalg.norm(verts[ids] - point, axis=1))]
    for vid in order:
        if int(vid) not in taken:
            return int(vid)
    raise ValueError("no free vertex left")
