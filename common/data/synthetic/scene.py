"""Scene helpers for the generators: cameras, projection, ground plane, normals, contact placement.

World frame: y up, ground at y = 0 (metres). Cameras are OpenCV (x right, y down, z forward);
`T_world_cam` maps camera-frame points to the world.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

WORLD_UP = np.array([0.0, 1.0, 0.0])


def look_at(eye: np.ndarray, target: np.ndarray, roll: float = 0.0) -> np.ndarray:
    """(4,4) T_world_cam of a camera at `eye` looking at `target`, world +y up, rolled by `roll` rad."""
    z = np.asarray(target, float) - np.asarray(eye, float)
    z /= np.linalg.norm(z)
    x = np.cross(z, WORLD_UP)
    if np.linalg.norm(x) < 1e-6:
        x = np.array([1.0, 0.0, 0.0])
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    c, s = np.cos(roll), np.sin(roll)
    x, y = c * x + s * y, -s * x + c * y
    T = np.eye(4)
    T[:3, :3] = np.stack([x, y, z], axis=1)
    T[:3, 3] = eye
    return T


def intrinsics(focal: float, hw: tuple[int, int],
               principal_offset: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """(3,3) pinhole K with square pixels, principal point at the image centre plus `principal_offset` px."""
    h, w = hw
    return np.array([[focal, 0.0, (w - 1) / 2 + principal_offset[0]],
                     [0.0, focal, (h - 1) / 2 + principal_offset[1]], [0.0, 0.0, 1.0]])


def world_to_cam(points: np.ndarray, T_world_cam: np.ndarray) -> np.ndarray:
    """World points (...,3) -> camera frame (...,3)."""
    R, t = T_world_cam[:3, :3], T_world_cam[:3, 3]
    return (np.asarray(points) - t) @ R


def project_points(points_cam: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Camera-frame points (...,3) -> pixels (...,2); points behind the camera get NaN."""
    proj = np.asarray(points_cam, np.float64) @ np.asarray(K, np.float64).T
    z = proj[..., 2:3]
    return np.where(z > 1e-6, proj[..., :2] / np.where(z > 1e-6, z, 1.0), np.nan)


def visible_in_image(uv: np.ndarray, points_cam: np.ndarray, hw: tuple[int, int],
                     near: float = 0.01) -> np.ndarray:
    """(...,) bool: in front of the camera and inside the image (pixel centres, half-pixel border)."""
    h, w = hw
    with np.errstate(invalid="ignore"):
        return ((points_cam[..., 2] > near) & (uv[..., 0] >= -0.5) & (uv[..., 0] <= w - 0.5)
                & (uv[..., 1] >= -0.5) & (uv[..., 1] <= h - 0.5))


def box_from_points(uv: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """(4,) float32 x0,y0,x1,y1 box of the finite pixel points, clipped to the image."""
    h, w = hw
    pts = uv[np.isfinite(uv).all(axis=-1)]
    if len(pts) == 0:
        return np.zeros(4, np.float32)
    lo = np.clip(pts.min(axis=0), -0.5, [w - 0.5, h - 0.5])
    hi = np.clip(pts.max(axis=0), -0.5, [w - 0.5, h - 0.5])
    return np.concatenate([lo, hi]).astype(np.float32)


def ground_mesh(center: np.ndarray, half_size: float = 6.0,
                tile: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Checkerboard ground plane at y=0 around `center` -> (verts, faces, face colours (F,3))."""
    n = round(2 * half_size / tile)
    xs = np.arange(n + 1) * tile - half_size + np.round(center[0])
    zs = np.arange(n + 1) * tile - half_size + np.round(center[2])
    gx, gz = np.meshgrid(xs, zs, indexing="ij")
    verts = np.stack([gx, np.zeros_like(gx), gz], -1).reshape(-1, 3)
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    a = (i * (n + 1) + j).ravel()
    b, c, d = a + 1, a + n + 1, a + n + 2
    faces = np.concatenate([np.stack([a, b, d], -1), np.stack([a, d, c], -1)])
    dark = ((i + j) % 2).ravel().astype(bool)
    col = np.where(dark[:, None], [0.45, 0.45, 0.47], [0.62, 0.62, 0.6])
    return verts, faces, np.concatenate([col, col])


def vertex_normal(verts: np.ndarray, faces: np.ndarray, vertex: int) -> np.ndarray:
    """(3,) unit area-weighted normal of one vertex (outward for counter-clockwise faces)."""
    tri = verts[faces[(faces == vertex).any(axis=1)]]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]).sum(axis=0)
    return normal / (np.linalg.norm(normal) + 1e-12)


def min_jerk(s: np.ndarray) -> np.ndarray:
    """Minimum-jerk profile 10s^3 - 15s^4 + 6s^5 on s clipped to [0, 1] (zero velocity at both ends)."""
    s = np.clip(s, 0.0, 1.0)
    return s ** 3 * (10 - 15 * s + 6 * s ** 2)


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """Uniform random (3,3) rotation matrix (from a normalised Gaussian quaternion)."""
    q = rng.normal(size=4)
    w, x, y, z = q / np.linalg.norm(q)
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                     [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                     [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])


def place_touching(points: np.ndarray, rotation: np.ndarray, anchor: np.ndarray, normal: np.ndarray,
                   gap: float) -> np.ndarray:
    """Translation putting rotated object points beyond `anchor` along `normal`, the nearest `gap` m away."""
    rotated = np.asarray(points) @ rotation.T
    support = rotated[np.argmin(rotated @ normal)]
    return anchor + gap * normal - support


def contact_labels(object_points: np.ndarray, body_verts: np.ndarray, threshold: float,
                   vertex_parts: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest-vertex contact: (contact (N,) bool, part (N,) int64 or -1, distance (N,) m)."""
    dist, idx = cKDTree(body_verts).query(object_points)
    contact = dist < threshold
    part = np.full(len(object_points), -1, np.int64)
    if vertex_parts is not None:
        part[contact] = vertex_parts[idx[contact]]
    return contact, part, dist
