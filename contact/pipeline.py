"""The paper's pipeline (Fig. 2): rough human + object -> contact regions -> neural IK per part -> Chamfer.

For every frame, each predicted contact part with enough confident object points, whose region is plausible
for the rough body (the part's rough surface lies near the region), activates the kinematic chain of that
part (`kinematics.chains.PART_TO_CHAIN`) and the neural IK drives the chain's target joint onto the region
(mean distance to the region's points, eq. 14, with the 2D root term). Parts are handled in rounds (largest
region first), problems of one round and chain solved as one batch. A solve is kept only when it lowers both
L_IK and the mean joint-to-region distance (otherwise that frame keeps its pose).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from common.metrics import behave_chamfer
from contact.labels import NO_CONTACT, PART_NAMES
from kinematics.chains import PART_TO_CHAIN
from kinematics.neural_ik import NeuralIKConfig
from kinematics.refine import solve_contact


@dataclass
class PipelineConfig:
    """Region selection, target construction and IK settings of the refinement stage."""

    min_region_points: int = 3           # a part is 'in contact' with at least this many (confident) object points
    min_confidence: float = 0.0          # predicted points count only with softmax probability >= this (0 = off)
    max_part_gap_m: float = 0.20         # plausibility gate: mean distance (m) from the region's points to the
                                         # nearest rough-body vertex of the part; farther parts are not refined
                                         # (0.20 ~ 97th percentile for true regions on the synthetic training clips)
    max_parts_per_frame: int = 2
    joint_offset: bool = True            # shift the region by the rough (joint - nearest part surface) offset
    gamma_deg: float = 30.0
    ik_steps: int = 200
    use_2d: bool = True
    eval_samples: int = 10_000           # CHORE protocol: surface samples per mesh


@dataclass
class BodyParams:
    """Batched SMPL parameters in the camera frame: global_orient (B,3), body_pose (B,69), transl (B,3),
    betas (B,10)."""

    global_orient: Tensor
    body_pose: Tensor
    transl: Tensor
    betas: Tensor

    def as_dict(self) -> dict[str, Tensor]:
        """smplx keyword arguments."""
        return {"global_orient": self.global_orient, "body_pose": self.body_pose, "transl": self.transl,
                "betas": self.betas}


def contact_regions(labels: np.ndarray, min_points: int, max_parts: int) -> list[int]:
    """Part ids (largest region first) with at least `min_points` points among the (N,) labels."""
    counts = np.bincount(np.asarray(labels).reshape(-1), minlength=NO_CONTACT + 1)[:NO_CONTACT]
    parts = [int(p) for p in np.argsort(-counts, kind="stable") if counts[p] >= min_points]
    return parts[:max_parts]


def confident_labels(labels: np.ndarray, confidence: np.ndarray | None, threshold: float) -> np.ndarray:
    """Labels with the points whose class probability is below `threshold` set to 'no contact'."""
    if confidence is None:
        return np.asarray(labels)
    return np.where(np.asarray(confidence) >= threshold, labels, NO_CONTACT)


def part_gap(points: Tensor, part_verts: Tensor) -> float:
    """Mean distance (m) from each region point (N,3) to its nearest part vertex (V,3)."""
    return float(torch.cdist(points, part_verts).min(dim=1).values.mean())


class ContactRefiner:
    """Drives a rough SMPL body onto predicted contact regions with the kinematics package's neural IK."""

    def __init__(self, body_model: torch.nn.Module, part_labels: np.ndarray, cfg: PipelineConfig) -> None:
        self.body, self.cfg = body_model, cfg
        self.part_labels = torch.as_tensor(np.asarray(part_labels))

    @torch.no_grad()
    def vertices(self, params: BodyParams) -> tuple[Tensor, Tensor]:
        """(B,6890,3) vertices and (B,24,3) joints of the body, float64, camera frame (m)."""
        out = self.body(**{k: v.float() for k, v in params.as_dict().items()})
        return out.vertices.double(), out.joints[:, :24].double()

    def _targets(self, part: int, points: Tensor, verts: Tensor, joints: Tensor, target_joint: int) -> Tensor:
        """Target set for the chain's target joint: the region, shifted by the rough joint-surface offset."""
        if not self.cfg.joint_offset:
            return points
        part_verts = verts[self.part_labels == part]
        nearest = part_verts[torch.cdist(points, part_verts).argmin(dim=1)]
        return points + (joints[target_joint] - nearest.mean(dim=0))

    def plan(self, rough_verts: Tensor, object_points: Tensor, labels: np.ndarray) -> list[int]:
        """Parts of one frame to refine: enough points, and the part's rough surface near the region."""
        parts = contact_regions(labels, self.cfg.min_region_points, NO_CONTACT)
        plausible = [p for p in parts if part_gap(object_points[torch.as_tensor(labels == p)].double(),
                                                  rough_verts[self.part_labels == p]) <= self.cfg.max_part_gap_m]
        return plausible[: self.cfg.max_parts_per_frame]

    def refine(self, rough: BodyParams, object_points: Tensor, labels: np.ndarray, root_2d: Tensor | None = None,
               K: Tensor | None = None, confidence: np.ndarray | None = None) -> tuple[BodyParams, list[list[str]]]:
        """Refined parameters and the parts used per frame; object_points (B,N,3), labels (B,N) class ids,
        confidence (B,N) the predicted class probabilities (None for given labels: all points count)."""
        current = BodyParams(*(x.float().clone() for x in (rough.global_orient, rough.body_pose, rough.transl,
                                                            rough.betas)))
        labels = confident_labels(labels, confidence, self.cfg.min_confidence)
        rough_verts = self.vertices(current)[0]
        plans = [self.plan(rough_verts[b], object_points[b], labels[b]) for b in range(len(labels))]
        ik_cfg = NeuralIKConfig(gamma_deg=self.cfg.gamma_deg, max_steps=self.cfg.ik_steps, use_2d=self.cfg.use_2d)
        use_2d = root_2d is not None and K is not None
        for round_index in range(self.cfg.max_parts_per_frame):
            todo = [(b, plan[round_index]) for b, plan in enumerate(plans) if len(plan) > round_index]
            if not todo:
                break
            verts, joints = self.vertices(current)
            by_chain: dict[str, list[tuple[int, int]]] = {}
            for b, part in todo:
                by_chain.setdefault(PART_TO_CHAIN[PART_NAMES[part]].name, []).append((b, part))
            for items in by_chain.values():
                part_name = PART_NAMES[items[0][1]]
                target_joint = PART_TO_CHAIN[part_name].target
                frames = torch.tensor([b for b, _ in items])
                targets = [self._targets(part, object_points[b][torch.as_tensor(labels[b] == part)].double(),
                                         verts[b], joints[b], target_joint) for b, part in items]
                padded = torch.zeros(len(items), max(len(t) for t in targets), 3, dtype=torch.float64)
                mask = torch.zeros(padded.shape[:2], dtype=torch.bool)
                for i, t in enumerate(targets):
                    padded[i, : len(t)], mask[i, : len(t)] = t, True
                params = {k: v[frames] for k, v in current.as_dict().items()}
                out = solve_contact(params, part_name, padded, self.body, target_mask=mask,
                                    root_2d=root_2d[frames] if use_2d else None, K=K[frames] if use_2d else None,
                                    cfg=ik_cfg, return_vertices=False)
                before = ((joints[frames, target_joint, None] - padded).norm(dim=-1) * mask).sum(1) / mask.sum(1)
                accept = frames[(out["mean_distance"].cpu() < before) & (out["loss"].cpu() < out["initial_loss"].cpu())]
                keep = torch.isin(frames, accept)
                current.global_orient[accept] = out["params"]["global_orient"][keep].float()
                current.body_pose[accept] = out["params"]["body_pose"][keep].float()
                current.transl[accept] = out["params"]["transl"][keep].float()
        return current, [[PART_NAMES[p] for p in plan] for plan in plans]


def hoi_chamfer(pred_h: np.ndarray, gt_h: np.ndarray, faces: np.ndarray, pred_o: np.ndarray, gt_o: np.ndarray,
                obj_faces: np.ndarray, samples: int = 10_000, seed: int = 0) -> dict[str, float]:
    """Chamfer (cm) of one frame, human and object: PA (CHORE combined-Procrustes protocol) and un-aligned."""
    meshes = ((pred_h, faces), (gt_h, faces), (pred_o, obj_faces), (gt_o, obj_faces))
    aligned = behave_chamfer(*meshes, align=True, num_samples=samples, seed=seed)
    raw = behave_chamfer(*meshes, align=False, num_samples=samples, seed=seed)
    return {"chamfer_human": raw["chamfer_human"], "pa_chamfer_human": aligned["chamfer_human"],
            "chamfer_object": raw["chamfer_object"], "pa_chamfer_object": aligned["chamfer_object"]}
