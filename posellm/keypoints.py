"""Keypoint vocabularies (COCO 17, MPII 16), COCO flip pairs and our own one-sentence descriptions."""

from __future__ import annotations

COCO_KEYPOINTS: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
    "right_knee", "left_ankle", "right_ankle",
)
"""COCO person keypoints in annotation order."""

COCO_FLIP_PAIRS: tuple[tuple[int, int], ...] = (
    (1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16))
"""Index pairs of COCO keypoints swapped by a horizontal flip."""

COCO_SKELETON: tuple[tuple[int, int], ...] = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7), (6, 8),
    (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6))
"""Limbs (0-based keypoint index pairs) used for drawing."""

MPII_KEYPOINTS: tuple[str, ...] = (
    "right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle", "pelvis", "thorax",
    "neck", "head_top", "right_wrist", "right_elbow", "right_shoulder", "left_shoulder", "left_elbow",
    "left_wrist",
)
"""MPII joints in the official order (`neck` is MPII's upper neck)."""

NOVEL_KEYPOINTS: tuple[str, ...] = ("pelvis", "thorax", "neck", "head_top")
"""MPII joints that never occur in COCO training: queried zero-shot by name and description."""

DESCRIPTIONS: dict[str, str] = {
    "nose": "The nose sits in the middle of the face, below the eyes and above the mouth.",
    "left_eye": "The left eye is on the face, on the person's own left side, above the left cheek.",
    "right_eye": "The right eye is on the face, on the person's own right side, above the right cheek.",
    "left_ear": "The left ear is on the side of the head, on the person's own left, beside the left eye.",
    "right_ear": "The right ear is on the side of the head, on the person's own right, beside the right eye.",
    "left_shoulder": "The left shoulder is where the left arm joins the upper body, at the top of the torso.",
    "right_shoulder": "The right shoulder is where the right arm joins the upper body, at the top of the "
                      "torso.",
    "left_elbow": "The left elbow is the bend in the middle of the left arm, between shoulder and wrist.",
    "right_elbow": "The right elbow is the bend in the middle of the right arm, between shoulder and wrist.",
    "left_wrist": "The left wrist is the joint at the end of the left forearm, just before the hand.",
    "right_wrist": "The right wrist is the joint at the end of the right forearm, just before the hand.",
    "left_hip": "The left hip is at the lower left corner of the torso, where the left leg begins.",
    "right_hip": "The right hip is at the lower right corner of the torso, where the right leg begins.",
    "left_knee": "The left knee is the bend in the middle of the left leg, between hip and ankle.",
    "right_knee": "The right knee is the bend in the middle of the right leg, between hip and ankle.",
    "left_ankle": "The left ankle is the joint at the bottom of the left leg, just above the foot.",
    "right_ankle": "The right ankle is the joint at the bottom of the right leg, just above the foot.",
    "pelvis": "The pelvis is the centre of the hips, midway between the left hip and the right hip.",
    "thorax": "The thorax is the centre of the upper chest, midway between the two shoulders.",
    "neck": "The neck joins the head to the body, just above the chest and below the chin.",
    "head_top": "The head top is the highest point of the head, on the crown above the forehead.",
}
"""Our own location sentence for every keypoint we can query (COCO 17 + MPII-only joints)."""


def display_name(name: str) -> str:
    """Keypoint name as written in the question ('left_shoulder' -> 'left shoulder')."""
    return name.replace("_", " ")
