"""Synthetic egocentric reach clips where vision (where the object is) and text (what to do) both matter.

World frame: metres, z up, table plane z = 0. Each clip has 30 frames at 10 fps: 20 observed frames in which
both hands idle near rest (small sway, relaxed fingers, no hint of the target), then 10 frames in which the
hand on the object's side reaches for it (duration grows with distance) and shapes itself for the verb named
by the text: "pick up" closes every finger into a grasp, "tap" extends the index and curls the rest, "push"
flattens the hand. The object (one of four well-separated table slots, large and high-contrast) is visible
only in the rendered frames; the head camera yaws and drifts (egomotion). Past motion alone is ambiguous.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

OBJECTS = {"cup": (230, 30, 30), "box": (30, 200, 50), "ball": (40, 70, 240), "bottle": (245, 220, 30)}
OBJECT_COLOURS = {"cup": "red", "box": "green", "ball": "blue", "bottle": "yellow"}
VERBS = ("pick up", "tap", "push")
IDLE_CURL = 0.35
HAND_SHAPES = {"pick up": (1.0, 1.2, 1.2, 1.2, 1.2), "tap": (1.0, 0.0, 1.3, 1.3, 1.3),
               "push": (0.0, -0.15, -0.15, -0.15, -0.15)}   # final per-finger curls (thumb..pinky) of each verb
CLIP_LEN, ANCHOR = 30, 19
FOCAL, IMAGE = 140.0, 224
OBJECT_RADIUS = 0.09                                         # metres (rendered size)
SLOTS = [(x, y) for x in (0.28, 0.55) for y in (-0.24, 0.24)]  # table places (m), 4 well-separated slots
HAND_NAMES = ("right", "left")                                # hand 0 = joints 0..20, hand 1 = joints 21..41
REST = {0: (0.12, -0.16, 0.1), 1: (0.12, 0.16, 0.1)}           # idle wrist positions (right, left hand)

FINGER_BASES = {"thumb": (0.025, 0.035, -0.01), "index": (0.09, 0.025, 0.0), "middle": (0.095, 0.005, 0.0),
                "ring": (0.09, -0.015, 0.0), "pinky": (0.08, -0.033, 0.0)}
FINGER_LENGTHS = {"thumb": 0.035, "index": 0.035, "middle": 0.038, "ring": 0.035, "pinky": 0.028}


def hand_template(curls: np.ndarray, is_right: bool) -> np.ndarray:
    """(T,5) per-finger curls (thumb..pinky, 0 straight, ~1 fist) -> (T,21,3) joints in a wrist frame (m)."""
    side = -1.0 if is_right else 1.0
    joints = [np.zeros((len(curls), 3))]
    for f, (finger, (bx, by, bz)) in enumerate(FINGER_BASES.items()):
        point = np.broadcast_to(np.array([bx, -side * by, bz]), (len(curls), 3))
        pitch = np.zeros(len(curls))
        for segment in range(4):
            joints.append(point)
            pitch = pitch + curls[:, f] * (0.6 if finger != "thumb" else 0.3)
            direction = np.stack([np.cos(pitch), np.zeros_like(pitch), -np.sin(pitch)], axis=1)
            point = point + FINGER_LENGTHS[finger] * (1 - 0.15 * segment) * direction
    return np.stack(joints, axis=1)


def min_jerk(s: np.ndarray) -> np.ndarray:
    """Minimum-jerk profile 10 s^3 - 15 s^4 + 6 s^5 on s in [0, 1]."""
    s = np.clip(s, 0, 1)
    return 10 * s ** 3 - 15 * s ** 4 + 6 * s ** 5


def look_at_extrinsics(eye: np.ndarray, yaw: np.ndarray, pitch: float) -> np.ndarray:
    """(T,3) eyes, (T,) yaws -> (T,3,4) world->camera [R|t] with OpenCV axes (x right, y down, z forward)."""
    forward = np.stack([np.cos(pitch) * np.cos(yaw), np.cos(pitch) * np.sin(yaw),
                        np.full_like(yaw, -np.sin(pitch))], axis=1)
    right = np.stack([np.sin(yaw), -np.cos(yaw), np.zeros_like(yaw)], axis=1)
    down = np.cross(forward, right)
    rot = np.stack([right, down, forward], axis=1)
    return np.concatenate([rot, -(rot @ eye[..., None])], axis=2)


@dataclass
class Clip:
    """One synthetic clip: world joints (30,42,3, zeros = invalid), extrinsics (30,3,4), 4 frames, text."""

    joints_world: np.ndarray
    extrinsics: np.ndarray
    frames: np.ndarray          # (4, 224, 224, 3) uint8 at episode indices ANCHOR + [-18, -12, -6, 0]
    text: str
    target: int                 # index of the named object


def render_frame(extrinsics: np.ndarray, objects: list[tuple[str, np.ndarray]], joints: np.ndarray) -> np.ndarray:
    """Dark flat table, objects as large projected discs/rectangles and hand joints as dots (224x224 RGB)."""
    img = np.full((IMAGE, IMAGE, 3), (70, 60, 55), np.uint8)
    items = [*objects, *[("hand", p) for p in joints if np.abs(p).sum() > 0]]
    cam = [(name, extrinsics[:, :3] @ p + extrinsics[:, 3]) for name, p in items]
    for name, p in sorted(cam, key=lambda item: -item[1][2]):
        if p[2] < 0.05:
            continue
        u, v = FOCAL * p[0] / p[2] + IMAGE / 2, FOCAL * p[1] / p[2] + IMAGE / 2
        if not (-60 < u < IMAGE + 60 and -60 < v < IMAGE + 60):
            continue
        if name == "hand":
            cv2.circle(img, (int(u), int(v)), 2, (240, 200, 170), -1)
            continue
        r = max(int(FOCAL * OBJECT_RADIUS / p[2]), 3)
        if name in ("box", "bottle"):
            cv2.rectangle(img, (int(u - r), int(v - r * (1.5 if name == "bottle" else 1))),
                          (int(u + r), int(v + r)), OBJECTS[name], -1)
        else:
            cv2.circle(img, (int(u), int(v)), r, OBJECTS[name], -1)
    return img


def generate_clip(rng: np.random.Generator, num_objects: int = 1, egomotion_scale: float = 1.0) -> Clip:
    """Sample a layout, a task text, egomotion and the two-hand motion; render the 4 observed frames.

    The first object is the target; others (num_objects > 1) are distractors the text names by colour and kind.
    """
    names = list(rng.choice(list(OBJECTS), size=num_objects, replace=False))
    slots = rng.choice(len(SLOTS), size=num_objects, replace=False)
    positions = [np.array([*SLOTS[k], 0.04]) + np.array([*rng.uniform(-0.03, 0.03, 2), 0.0]) for k in slots]
    target, acting = 0, int(rng.integers(2))
    verb = VERBS[int(rng.integers(len(VERBS)))]
    text = f"{verb} the {OBJECT_COLOURS[names[target]]} {names[target]} with the {HAND_NAMES[acting]} hand"

    t = np.arange(CLIP_LEN) / 10.0
    amp = egomotion_scale * rng.uniform(0.0, 0.25)
    yaw = rng.uniform(-0.2, 0.2) + amp * np.sin(2 * np.pi * rng.uniform(0.2, 0.5) * t + rng.uniform(0, 6.3))
    drift = egomotion_scale * rng.normal(0, 0.02, 3)
    eyes = np.array([-0.15, 0.0, 0.5]) + t[:, None] / 3.0 * drift[None] + rng.normal(0, 0.01, 3)
    pitch = rng.uniform(0.6, 0.8)
    extrinsics = look_at_extrinsics(eyes, yaw, pitch)

    joints = np.zeros((CLIP_LEN, 42, 3))
    for hand in (0, 1):
        rest = np.array(REST[hand]) + rng.normal(0, 0.015, 3)
        phase, freq = rng.uniform(0, 6.3, 3), rng.uniform(0.3, 0.8, 3)
        wrist = rest + 0.008 * np.sin(2 * np.pi * freq * t[:, None] + phase)
        idle = IDLE_CURL + rng.uniform(-0.05, 0.05) + 0.02 * np.sin(2 * np.pi * 0.3 * t + phase[0])
        curl = np.repeat(idle[:, None], 5, 1)
        if hand == acting:
            wrist, curl = _reach(wrist, curl, positions[target], verb)
        joints[:, 21 * hand:21 * hand + 21] = wrist[:, None] + hand_template(curl, hand == 0)
    dropped = rng.random((CLIP_LEN, 42)) < 0.03
    joints[dropped] = 0.0
    frames = np.stack([render_frame(extrinsics[ANCHOR + k], [(n, p) for n, p in zip(names, positions)],
                                    joints[ANCHOR + k]) for k in (-18, -12, -6, 0)])
    return Clip(joints.astype(np.float32), extrinsics.astype(np.float32), frames, text, target)


def _reach(wrist: np.ndarray, curl: np.ndarray, goal: np.ndarray, verb: str) -> tuple[np.ndarray, np.ndarray]:
    """Future frames (after ANCHOR) of the acting hand: min-jerk reach whose duration (frames) grows with the
    distance, the fingers shaping for the verb over the second half of the reach, then the verb's finish."""
    wrist, curl = wrist.copy(), curl.copy()
    start = wrist[ANCHOR]
    offsets = {"pick up": (-0.1, 0.0, 0.05), "tap": (-0.09, 0.0, 0.07), "push": (-0.16, 0.0, 0.0)}
    approach = goal + np.array(offsets[verb])
    duration = float(np.clip(np.linalg.norm(approach - start) / 0.055, 5.0, 9.0))
    steps = np.arange(1, CLIP_LEN - ANCHOR)
    s = min_jerk(steps / duration)
    path = start + s[:, None] * (approach - start)
    finish = min_jerk((steps - duration) / 2.0)[:, None]
    finish_moves = {"pick up": (0.0, 0.0, 0.06), "tap": (0.0, 0.0, -0.04), "push": (0.06, 0.0, 0.0)}
    path = path + finish * np.array(finish_moves[verb])
    shaping = min_jerk((steps - 0.4 * duration) / (0.6 * duration))[:, None]
    curl[ANCHOR + 1:] = curl[ANCHOR] + shaping * (np.asarray(HAND_SHAPES[verb]) - curl[ANCHOR])
    wrist[ANCHOR + 1:] = path
    return wrist, curl


def random_task_text(rng: np.random.Generator) -> str:
    """A random task text from the synthetic vocabulary (the 'dummy language' ablation)."""
    name = list(OBJECTS)[int(rng.integers(len(OBJECTS)))]
    verb, hand = VERBS[int(rng.integers(len(VERBS)))], HAND_NAMES[int(rng.integers(2))]
    return f"{verb} the {OBJECT_COLOURS[name]} {name} with the {hand} hand"
