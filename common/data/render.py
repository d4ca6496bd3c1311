"""A small vectorised CPU rasteriser (numpy): pinhole camera, z-buffer, flat shading; no GPU, no OpenGL.

Pixel coordinates have integer values at pixel centres (as `common.data.transforms`); a pixel is covered
when its centre lies inside the projected triangle. Faces with a vertex closer than `near` are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_DEFAULT_COLOR = np.array([0.75, 0.72, 0.68])
_LIGHT = np.array([0.3, -0.5, -1.0]) / np.linalg.norm([0.3, -0.5, -1.0])


def rasterize(verts: np.ndarray, faces: np.ndarray, K: np.ndarray, hw: tuple[int, int],
              near: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """Visible face per pixel: (face_index (H,W) int64, -1 if empty; depth (H,W) float32 m, 0 if empty)."""
    height, width = hw
    verts = np.asarray(verts, np.float64)
    faces = np.asarray(faces, np.int64)
    face_ids = np.full(height * width, -1, np.int64)
    depth = np.zeros(height * width, np.float32)
    z = verts[:, 2]
    zf = z[faces]
    keep = np.flatnonzero(np.minimum(np.minimum(zf[:, 0], zf[:, 1]), zf[:, 2]) > near)
    if keep.size == 0:
        return face_ids.reshape(hw), depth.reshape(hw)
    proj = verts @ np.asarray(K, np.float64).T
    uv = proj[:, :2] / np.maximum(proj[:, 2:3], near)
    tri = uv[faces[keep]]
    lo = np.ceil(np.minimum(np.minimum(tri[:, 0], tri[:, 1]), tri[:, 2])).astype(np.int64)
    hi = np.floor(np.maximum(np.maximum(tri[:, 0], tri[:, 1]), tri[:, 2])).astype(np.int64)
    lo = np.maximum(lo, 0)
    hi = np.minimum(hi, [width - 1, height - 1])
    extent = hi - lo + 1
    area = ((tri[:, 1, 0] - tri[:, 0, 0]) * (tri[:, 2, 1] - tri[:, 0, 1])
            - (tri[:, 2, 0] - tri[:, 0, 0]) * (tri[:, 1, 1] - tri[:, 0, 1]))
    good = (extent[:, 0] > 0) & (extent[:, 1] > 0) & (np.abs(area) > 1e-12)
    log_extent = np.ceil(np.log2(np.maximum(extent, 1))).astype(np.int64)
    bucket = np.where(good, log_extent[:, 0] * 64 + log_extent[:, 1], -1)
    order = np.argsort(bucket, kind="stable")
    keys, starts = np.unique(bucket[order], return_index=True)
    pix_all, z_all, face_all = [], [], []
    for key, begin, end in zip(keys, starts, [*starts[1:], len(order)]):
        if key < 0:
            continue
        bx, by = divmod(int(key), 64)
        sel = order[begin:end]
        gx, gy = np.meshgrid(np.arange(2 ** bx), np.arange(2 ** by))
        px = lo[sel, 0, None] + gx.ravel()[None]
        py = lo[sel, 1, None] + gy.ravel()[None]
        t = tri[sel]
        x0, y0 = t[:, 0, 0:1], t[:, 0, 1:2]
        e1x, e1y = t[:, 1, 0:1] - x0, t[:, 1, 1:2] - y0
        e2x, e2y = t[:, 2, 0:1] - x0, t[:, 2, 1:2] - y0
        dx, dy = px - x0, py - y0
        a = area[sel, None]
        l1 = (dx * e2y - e2x * dy) / a
        l2 = (e1x * dy - dx * e1y) / a
        l0 = 1.0 - l1 - l2
        inside = ((l0 >= -1e-9) & (l1 >= -1e-9) & (l2 >= -1e-9)
                  & (px <= hi[sel, 0, None]) & (py <= hi[sel, 1, None]))
        fz = z[faces[keep[sel]]]
        rows, cols = np.nonzero(inside)
        inv_z = (l0[rows, cols] / fz[rows, 0] + l1[rows, cols] / fz[rows, 1] + l2[rows, cols] / fz[rows, 2])
        pix_all.append(py[rows, cols] * width + px[rows, cols])
        z_all.append(1.0 / inv_z)
        face_all.append(keep[sel][rows])
    if pix_all:
        pix, zs, fid = np.concatenate(pix_all), np.concatenate(z_all), np.concatenate(face_all)
        nearest = np.full(height * width, np.inf)
        np.minimum.at(nearest, pix, zs)
        win = zs <= nearest[pix]
        face_ids[pix[win]] = fid[win]
        depth[pix[win]] = zs[win]
    return face_ids.reshape(hw), depth.reshape(hw)


def face_colors(verts: np.ndarray, faces: np.ndarray,
                colors: np.ndarray | Sequence[float] | None) -> np.ndarray:
    """(F,3) float colours in [0,1] from None, one colour (3,), per-vertex (V,3) or per-face (F,3) colours."""
    num_faces = len(faces)
    if colors is None:
        return np.tile(_DEFAULT_COLOR, (num_faces, 1))
    col = np.asarray(colors, np.float64)
    if col.max(initial=0.0) > 1.0:
        col = col / 255.0
    if col.ndim == 1:
        return np.tile(col[:3], (num_faces, 1))
    if len(col) == len(verts) and len(col) != num_faces:
        return col[np.asarray(faces)].mean(axis=1)
    return col


def shade(face_ids: np.ndarray, verts: np.ndarray, faces: np.ndarray,
          colors: np.ndarray | Sequence[float] | None = None,
          background: np.ndarray | None = None) -> np.ndarray:
    """Flat-shaded uint8 HxWx3 image from a `rasterize` face map (headlight from above the camera)."""
    mask = face_ids >= 0
    rgb = (np.zeros((*face_ids.shape, 3), np.uint8) if background is None
           else np.array(background, np.uint8, copy=True))
    if mask.any():
        v = np.asarray(verts, np.float64)[np.asarray(faces)]
        normal = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
        normal /= np.sqrt(np.einsum("ij,ij->i", normal, normal))[:, None] + 1e-12
        intensity = 0.35 + 0.65 * np.abs(normal @ _LIGHT)
        shaded = np.clip(face_colors(verts, faces, colors) * intensity[:, None] * 255.0, 0, 255)
        rgb[mask] = shaded.astype(np.uint8)[face_ids[mask]]
    return rgb


def render_mesh(verts: np.ndarray, faces: np.ndarray, K: np.ndarray, hw: tuple[int, int],
                colors: np.ndarray | Sequence[float] | None = None, background: np.ndarray | None = None,
                near: float = 0.01) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Render a camera-frame mesh (m) -> (rgb uint8 HxWx3, depth float32 HxW m (0 empty), mask bool HxW)."""
    face_ids, depth = rasterize(verts, faces, K, hw, near)
    return shade(face_ids, verts, faces, colors, background), depth, face_ids >= 0


def merge_meshes(
        meshes: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concatenate (verts, faces) meshes -> (verts, faces, face_offsets (M+1,)) for one render pass."""
    verts, faces, offsets, count = [], [], [0], 0
    for v, f in meshes:
        faces.append(np.asarray(f, np.int64) + count)
        verts.append(np.asarray(v, np.float64))
        count += len(v)
        offsets.append(offsets[-1] + len(f))
    return np.concatenate(verts), np.concatenate(faces), np.asarray(offsets)
