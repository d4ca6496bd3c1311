"""Deterministic stand-in MANO hand: one open surface (16-edge wrist hole), 778 vertices, 1538 faces."""

from __future__ import annotations

import numpy as np

from common.body.constants import MANO_PARENTS_16, MANO_TIP_VERTEX_IDS
from common.body.meshing import (
    band,
    nearest_free_vertex,
    orient_consistently,
    perpendicular_frame,
    ring_points,
)

NUM_VERTS, NUM_FACES, NUM_BETAS = 778, 1538, 10
WRIST = np.array([0.09, 0.005, 0.005])
"""Right-hand wrist joint (m); fingers point along -x, the back of the hand along +y, the thumb to +z."""
# finger -> (MANO joint ids (proximal, middle, distal), positions of those joints and the tip, radius)
FINGERS: dict[str, tuple[tuple[int, int, int], np.ndarray, float]] = {
    "thumb": ((13, 14, 15), np.array([(-0.03, -0.008, 0.036), (-0.058, -0.014, 0.052),
                                      (-0.082, -0.016, 0.066), (-0.102, -0.017, 0.076)]), 0.011),
    "index": ((1, 2, 3), np.array([(-0.085, 0.0, 0.024), (-0.12, 0.0, 0.026), (-0.143, 0.0, 0.027),
                                   (-0.163, 0.0, 0.028)]), 0.009),
    "middle": ((4, 5, 6), np.array([(-0.088, 0.0, 0.004), (-0.128, 0.0, 0.004), (-0.155, 0.0, 0.004),
                                    (-0.178, 0.0, 0.004)]), 0.0095),
    "ring": ((10, 11, 12), np.array([(-0.082, 0.0, -0.015), (-0.118, 0.0, -0.017), (-0.143, 0.0, -0.018),
                                     (-0.165, 0.0, -0.019)]), 0.009),
    "little": ((7, 8, 9), np.array([(-0.074, 0.0, -0.032), (-0.102, 0.0, -0.036), (-0.121, 0.0, -0.038),
                                    (-0.139, 0.0, -0.04)]), 0.008),
}
CAP_COLUMN = {"index": 1, "middle": 3, "ring": 5, "little": 7}
"""Distal-cap column (between palm longitudes j and j+1) each finger grows from."""
# ring positions along a finger as (segment 0..2, fraction, radius scale); joint rings have fraction 0
FINGER_RINGS = ((0, 0.0, 1.0), (0, 1 / 3, 1.0), (0, 2 / 3, 1.0), (1, 0.0, 0.95), (1, 0.5, 0.95),
                (2, 0.0, 0.9), (2, 0.4, 0.9), (2, 0.75, 0.8), (2, 0.92, 0.5))
PALM_AROUND, FINGER_AROUND, PALM_LENGTH = 16, 12, 0.072


class _Hand:
    """Accumulates the right-hand stand-in: vertices, faces, skinning, shape anchors."""

    def __init__(self) -> None:
        self.verts: list[np.ndarray] = []
        self.faces: list[tuple[int, int, int]] = []
        self.weights: list[np.ndarray] = []
        self.shape: list[np.ndarray] = []  # (3, NUM_BETAS) displacement per vertex
        self.rings: dict[int, list[int]] = {}

    def add(self, p: np.ndarray, weights: dict[int, float], shape: np.ndarray) -> int:
        """Append one vertex with its skinning weights and shape displacements; returns its id."""
        w = np.zeros(16)
        for j, val in weights.items():
            w[j] += val
        self.verts.append(p)
        self.weights.append(w)
        self.shape.append(shape)
        return len(self.verts) - 1


def _palm_shape(p: np.ndarray) -> np.ndarray:
    """(3, NUM_BETAS) shape displacements of a palm point p (wrist-relative coordinates)."""
    d = np.zeros((3, NUM_BETAS))
    d[:, 0] = 0.05 * p
    d[2, 2] = 0.08 * p[2]
    d[1, 3] = 0.1 * p[1]
    d[0, 4] = 0.06 * p[0]
    d[1, 9] = 0.06 * p[1]
    return d


def _build_palm(hand: _Hand, n_rings: int, thumb_row: int) -> list[list[int]]:
    """Palm tube from the wrist (open) to the knuckles, skipping the two thumb-hole quads."""
    rings = []
    for i in range(n_rings):
        s = i / (n_rings - 1)
        centre = np.array([-PALM_LENGTH * s, 0.0, 0.002 - 0.006 * s])
        pts = ring_points(centre, np.array([0.0, 0.0, 1.0]), np.array([0.0, 1.0, 0.0]),
                          0.028 + 0.015 * s, 0.016 - 0.002 * s, PALM_AROUND)
        rings.append([hand.add(p, {0: 1.0}, _palm_shape(p)) for p in pts])
    hand.rings[0] = rings[0]
    for i in range(n_rings - 1):
        for j in range(PALM_AROUND):
            if i == thumb_row and j in (15, 0):
                continue
            a, b = rings[i][j], rings[i][(j + 1) % PALM_AROUND]
            c, d = rings[i + 1][(j + 1) % PALM_AROUND], rings[i + 1][j]
            hand.faces += [(a, b, c), (a, c, d)]
    return rings


def _build_cap(hand: _Hand, last: list[int]) -> dict[int, list[int]]:
    """Close the palm's distal end with a mid-line zipper; returns finger-hole polygons by column."""
    half = PALM_AROUND // 2
    dorsal = [last[j] for j in range(half + 1)]
    palmar = [last[(PALM_AROUND - j) % PALM_AROUND] for j in range(half + 1)]
    mid = [dorsal[0]]
    for j in range(1, half):
        p = 0.5 * (hand.verts[dorsal[j]] + hand.verts[palmar[j]]) + np.array([-0.008, 0.0, 0.0])
        mid.append(hand.add(p, {0: 1.0}, _palm_shape(p)))
    mid.append(dorsal[half])
    holes = {}
    for j in range(half):
        cell = [dorsal[j], dorsal[j + 1], mid[j + 1], palmar[j + 1], palmar[j], mid[j]]
        if j in CAP_COLUMN.values():
            holes[j] = list(dict.fromkeys(cell))
            continue
        for tri in ((dorsal[j], dorsal[j + 1], mid[j + 1]), (dorsal[j], mid[j + 1], mid[j]),
                    (mid[j], mid[j + 1], palmar[j + 1]), (mid[j], palmar[j + 1], palmar[j])):
            if len(set(tri)) == 3:
                hand.faces.append(tri)
    return holes


def _finger_shape(centre: np.ndarray, radial: np.ndarray, base: np.ndarray, finger: str) -> np.ndarray:
    """(3, NUM_BETAS) shape displacements of a finger vertex (ring centre + radial offset)."""
    d = np.zeros((3, NUM_BETAS))
    d[:, 0] = 0.05 * (centre + radial)
    along = centre - base
    d[:, 1] = 0.06 * along if finger != "thumb" else 0.0
    d[2, 2] = 0.08 * base[2]
    d[:, 3] = 0.1 * radial
    d[0, 4] = 0.06 * base[0]
    d[:, 5] = 0.08 * along if finger == "thumb" else 0.0
    d[:, 6] = 0.06 * along if finger in ("index", "middle") else 0.0
    d[:, 7] = 0.06 * along if finger in ("ring", "little") else 0.0
    d[:, 8] = 0.08 * radial
    return d


def _build_finger(hand: _Hand, finger: str, hole: list[int], extra: dict[int, int]) -> int:
    """One finger tube from its palm hole to the tip pole; returns the tip vertex id."""
    joint_ids, pts, radius = FINGERS[finger]
    chain = (0, *joint_ids)
    prev_ids, prev_angles = None, None
    for r_idx, (seg, frac, scale) in enumerate(FINGER_RINGS):
        axis = pts[seg + 1] - pts[seg]
        centre = pts[seg] + frac * axis
        u, v = perpendicular_frame(axis, np.array([0.0, 0.0, 1.0]))
        n = FINGER_AROUND + extra.get(r_idx, 0)
        ring = ring_points(centre, u, v, radius * scale, radius * scale * 0.85, n)
        own = joint_ids[seg]
        weights = {own: 0.5, chain[seg]: 0.5} if frac == 0.0 else {own: 1.0}
        ids = [hand.add(p, weights, _finger_shape(centre, p - centre, pts[0], finger)) for p in ring]
        angles = 2 * np.pi * np.arange(n) / n
        if frac == 0.0:
            hand.rings[own] = ids
        if prev_ids is None:
            prev_ids, prev_angles = _hole_ring(np.array([hand.verts[k] for k in hole]), hole, axis, u)
        hand.faces += [tuple(f) for f in band(np.asarray(prev_ids), prev_angles, np.asarray(ids), angles)]
        prev_ids, prev_angles = ids, angles
    tip = hand.add(pts[3], {joint_ids[2]: 1.0}, _finger_shape(pts[3], np.zeros(3), pts[0], finger))
    hand.faces += [(tip, prev_ids[k], prev_ids[(k + 1) % len(prev_ids)]) for k in range(len(prev_ids))]
    return tip


def _hole_ring(points: np.ndarray, hole: list[int], axis: np.ndarray,
               u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hole vertex ids sorted by angle about the hole's own centroid, in the finger's rotational sense."""
    rel = points - points.mean(0)
    normal = np.linalg.svd(rel)[2][-1]
    normal = normal if normal @ axis > 0 else -normal
    hu, hv = perpendicular_frame(normal, u)
    angles = np.mod(np.arctan2(rel @ hv, rel @ hu), 2 * np.pi)
    order = np.argsort(angles)
    return np.array(hole)[order], angles[order]


def _extra_ring_vertices() -> dict[str, dict[int, int]]:
    """Per finger, extra vertices on non-joint rings so the total is exactly 778."""
    per_finger = len(FINGER_RINGS) * FINGER_AROUND + 1
    n_palm_rings = (NUM_VERTS - 7 - 5 * per_finger) // PALM_AROUND
    remainder = NUM_VERTS - 7 - 5 * per_finger - n_palm_rings * PALM_AROUND
    slots = [(f, r) for r, (_, frac, _) in enumerate(FINGER_RINGS) if frac > 0 for f in FINGERS]
    extra: dict[str, dict[int, int]] = {f: {} for f in FINGERS}
    for k in range(remainder):
        f, r = slots[k % len(slots)]
        extra[f][r] = extra[f].get(r, 0) + 1
    return extra


def build_standin_mano(is_right: bool = True) -> dict:
    """Stand-in MANO model dict (smplx keys, hands_components/hands_mean, `standin`) for one hand."""
    per_finger = len(FINGER_RINGS) * FINGER_AROUND + 1
    n_palm_rings = (NUM_VERTS - 7 - 5 * per_finger) // PALM_AROUND
    thumb_row = round(float(-FINGERS["thumb"][1][0, 0] / PALM_LENGTH * (n_palm_rings - 1))) - 1
    hand = _Hand()
    palm = _build_palm(hand, n_palm_rings, thumb_row)
    holes = _build_cap(hand, palm[-1])
    holes_by_finger = {f: holes[c] for f, c in CAP_COLUMN.items()}
    r0, r1 = palm[thumb_row], palm[thumb_row + 1]
    holes_by_finger["thumb"] = [r0[15], r0[0], r0[1], r1[1], r1[0], r1[15]]
    extra = _extra_ring_vertices()
    tips = {f: _build_finger(hand, f, holes_by_finger[f], extra[f]) for f in FINGERS}
    verts = np.array(hand.verts)
    faces = orient_consistently(np.array(hand.faces, dtype=np.int64), verts)
    if len(verts) != NUM_VERTS or len(faces) != NUM_FACES:
        raise RuntimeError(f"stand-in MANO has {len(verts)} vertices / {len(faces)} faces")
    fixed = _landmark_ids(verts, tips)
    order = np.full(NUM_VERTS, -1)
    for new, old in fixed.items():
        order[new] = old
    order[order < 0] = np.setdiff1d(np.arange(NUM_VERTS), list(fixed.values()))
    inverse = np.argsort(order)
    j_regressor = np.zeros((16, NUM_VERTS))
    for j, ring in hand.rings.items():
        j_regressor[j, inverse[ring]] = 1.0 / len(ring)
    shapedirs = np.array(hand.shape)[order]
    v_template = verts[order] + WRIST
    weights = np.array(hand.weights)[order]
    faces = inverse[faces]
    rng = np.random.default_rng(0)
    components = np.linalg.qr(rng.standard_normal((45, 45)))[0].T
    hands_mean = np.tile([0.0, 0.0, 0.15], 15)
    if not is_right:
        flip = np.array([-1.0, 1.0, 1.0])
        v_template, shapedirs = v_template * flip, shapedirs * flip[None, :, None]
        faces = faces[:, ::-1]
        mirror = np.tile([1.0, -1.0, -1.0], 15)
        hands_mean, components = hands_mean * mirror, components * mirror[None]
    kintree = np.array([[4294967295, *MANO_PARENTS_16[1:]], list(range(16))], dtype=np.uint32)
    return {
        "v_template": v_template, "shapedirs": shapedirs,
        "posedirs": np.zeros((NUM_VERTS, 3, 135), dtype=np.float32),
        "J_regressor": j_regressor, "weights": weights, "kintree_table": kintree,
        "f": faces.astype(np.uint32), "hands_components": components, "hands_mean": hands_mean,
        "standin": True, "standin_note": "Procedural stand-in for MANO; NOT the real MANO model.",
    }


def _landmark_ids(verts: np.ndarray, tips: dict[str, int]) -> dict[int, int]:
    """new id -> old id: fingertips at MANO_TIP_VERTEX_IDS, smplx's MANO tip ids next to them."""
    smplx_ids = {"thumb": 744, "index": 320, "middle": 443, "ring": 554, "little": 671}
    fixed = dict(zip(MANO_TIP_VERTEX_IDS, (tips[f] for f in ("thumb", "index", "middle", "ring", "little"))))
    taken = set(fixed.values())
    for f, new_id in smplx_ids.items():
        old = nearest_free_vertex(verts, verts[tips[f]], taken)
        taken.add(old)
        fixed[new_id] = old
    return fixed
