"""The paper's refinement stage (Fig. 2): rough human + contact regions on the object -> neural IK per part.

For every frame, each predicted contact part (largest regions first, at most `max_parts_per_frame`) activates
the paper's kinematic chain of that part (`kinematics.chains.part_chain`) and the neural IK drives the part's
target joint onto the region (mean distance to the region's points, eq. 14, with the 2D root term), stopping
at L_IK < 0.01 xi. That is the paper-faithful default. Heuristics of ours, each off by default and a named
ablation: `max_part_gap_m` (plausibility gate: skip parts whose rough surface is far from the region),
`min_confidence` (drop low-probability points), `joint_offset` (shift the region by the rough joint-to-surface
offset), `accept_only_improving` (keep a solve only when it lowers L_IK and the joint-to-region distance),
`chain_set="short"` (3-joint limb chains). Round r refines the r-th part of every frame (round r + 1 starts from
round r's bodies): all problems of a round, every frame and chain, are one neural-IK solve (or chunks of
`ik_batch`), each problem keyed by its frame index so its result does not depend on the chunking.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from common.metrics import behave_chamfer
from contact.labels import NO_CONTACT, PART_NAMES
from kinematics.body_adapter import SMPLH_AS_SMPL24, is_smplh
from kinematics.chains import KinematicChain, part_chain
from kinematics.neural_ik import NeuralIKConfig
from kinematics.refine import ContactRequest, solve_contacts
from kinematics.trust_region import TrustRegionConfig


@dataclass
class PipelineConfig:
    """Region selection, target construction and IK settings of the refinement stage (defaults: the paper)."""

    min_region_points: int = 3           # a part is 'in contact' with at least this many (confident) object points
    max_parts_per_frame: int = 2
    chain_set: str = "paper"             # paper: chains from the root (Fig. 3); short: 3-joint limb ablation
    gamma_deg: float = 30.0
    ik_steps: int = 200
    ik_lr: float = 3e-3
    use_2d: bool = True
    solver: str = "neural"               # neural (paper) | trust_region (baseline)
    use_tanh: bool = True
    trunk_gamma_deg: float | None = None  # research option (kinematics.neural_ik.TRUNK_JOINTS)
    seed: int = 0                        # MLP initialisation
    min_confidence: float = 0.0          # ablation: points count only with class probability >= this (0 = off)
    max_part_gap_m: float = float("inf")  # ablation gate: refine a part only if the mean distance (m) from its
                                         # region to the part's rough surface is below this (inf = off)
    joint_offset: bool = False           # ablation: shift the region by the rough (joint - part surface) offset
    accept_only_improving: bool = False  # ablation: keep a solve only if it lowers L_IK and the reach
    eval_samples: int = 10_000           # CHORE protocol: surface samples per mesh
    ik_batch: int = 0                    # neural IK problems per solve: 0 = every frame and chain of a round in one
                                         # solve; 1 = one per solve (the per-frame reference); equal up to rounding


@dataclass
class BodyParams:
    """Batched SMPL / SMPL-H parameters in the camera frame: global_orient (B,3), body_pose (B,69) SMPL or (B,63)
    SMPL-H, transl (B,3), betas (B,10); hands (B,90) SMPL-H left+right hand axis-angles (None for SMPL)."""

    global_orient: Tensor
    body_pose: Tensor
    transl: Tensor
    betas: Tensor
    hands: Tensor | None = None

    def as_dict(self) -> dict[str, Tensor]:
        """smplx keyword arguments."""
        out = {"global_orient": self.global_orient, "body_pose": self.body_pose, "transl": self.transl,
               "betas": self.betas}
        if self.hands is not None:
            out.update(left_hand_pose=self.hands[:, :45], right_hand_pose=self.hands[:, 45:])
        return out


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
        """(B,6890,3) vertices and (B,24,3) joints (24-joint view for SMPL-H) of the body, float64, camera frame."""
        out = self.body(**{k: v.float() for k, v in params.as_dict().items()})
        joints = out.joints[:, list(SMPLH_AS_SMPL24)] if is_smplh(self.body) else out.joints[:, :24]
        return out.vertices.double(), joints.double()

    def chain(self, part: int) -> KinematicChain:
        """The chain a contact on `part` drives (its target joint is the joint the target set is built for)."""
        return part_chain(PART_NAMES[part], self.cfg.chain_set)

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

    def _request(self, chain: KinematicChain, items: list[tuple[int, int]], current: BodyParams,
                 object_points: Tensor, labels: np.ndarray, verts: Tensor, joints: Tensor, root_2d: Tensor | None,
                 K: Tensor | None) -> ContactRequest:
        """The IK problems of (frame, part) items on one chain: padded regions (mask), keyed by frame index."""
        frames = torch.tensor([b for b, _ in items])
        targets = [self._targets(part, object_points[b][torch.as_tensor(labels[b] == part)].double(), verts[b],
                                 joints[b], chain.target) for b, part in items]
        padded = torch.zeros(len(items), max(len(t) for t in targets), 3, dtype=torch.float64)
        mask = torch.zeros(padded.shape[:2], dtype=torch.bool)
        for i, t in enumerate(targets):
            padded[i, : len(t)], mask[i, : len(t)] = t, True
        params = {k: v[frames] for k, v in current.as_dict().items() if "hand" not in k}
        return ContactRequest(params, chain, padded, mask, None if root_2d is None else root_2d[frames],
                              None if K is None else K[frames], frames)

    def _apply(self, current: BodyParams, chain: KinematicChain, items: list[tuple[int, int]],
               request: ContactRequest, out: dict, joints: Tensor) -> None:
        """Write one chain's solved parameters into `current` (all frames, or only improving ones) and log them."""
        frames, padded, mask = request.keys, request.target_points, request.target_mask
        before = ((joints[frames, chain.target, None] - padded).norm(dim=-1) * mask).sum(1) / mask.sum(1)
        better = (out["mean_distance"].cpu() < before) & (out["loss"].cpu() < out["initial_loss"].cpu())
        accept = frames[better] if self.cfg.accept_only_improving else frames
        keep = torch.isin(frames, accept)
        current.global_orient[accept] = out["params"]["global_orient"][keep].float()
        current.body_pose[accept] = out["params"]["body_pose"][keep].float()
        current.transl[accept] = out["params"]["transl"][keep].float()
        self.driven.extend((int(b), PART_NAMES[part], chain.target, out["chain"].target) for b, part in items)

    def refine(self, rough: BodyParams, object_points: Tensor, labels: np.ndarray, root_2d: Tensor | None = None,
               K: Tensor | None = None, confidence: np.ndarray | None = None) -> tuple[BodyParams, list[list[str]]]:
        """Refined parameters and the parts used per frame; object_points (B,N,3), labels (B,N) class ids,
        confidence (B,N) the predicted class probabilities (None for given labels: all points count).
        `self.driven` then lists (frame, part, joint the target set was built for, joint the solver drove)."""
        self.driven: list[tuple[int, str, int, int]] = []
        current = BodyParams(*(x.float().clone() for x in (rough.global_orient, rough.body_pose, rough.transl,
                                                            rough.betas)),
                             hands=None if rough.hands is None else rough.hands.float())
        labels = confident_labels(labels, confidence, self.cfg.min_confidence)
        rough_verts = self.vertices(current)[0]
        plans = [self.plan(rough_verts[b], object_points[b], labels[b]) for b in range(len(labels))]
        ik_cfg = (NeuralIKConfig(gamma_deg=self.cfg.gamma_deg, max_steps=self.cfg.ik_steps, use_2d=self.cfg.use_2d,
                                 lr=self.cfg.ik_lr, use_tanh=self.cfg.use_tanh, seed=self.cfg.seed,
                                 trunk_gamma_deg=self.cfg.trunk_gamma_deg)
                  if self.cfg.solver == "neural" else
                  TrustRegionConfig(gamma_deg=self.cfg.gamma_deg, use_2d=self.cfg.use_2d,
                                    trunk_gamma_deg=self.cfg.trunk_gamma_deg))
        use_2d = root_2d is not None and K is not None
        for round_index in range(self.cfg.max_parts_per_frame):
            todo = [(b, plan[round_index]) for b, plan in enumerate(plans) if len(plan) > round_index]
            if not todo:
                break
            verts, joints = self.vertices(current)
            by_chain: dict[str, list[tuple[int, int]]] = {}
            for b, part in todo:
                by_chain.setdefault(self.chain(part).name, []).append((b, part))
            groups = [(self.chain(items[0][1]), items) for items in by_chain.values()]
            requests = [self._request(chain, items, current, object_points, labels, verts, joints,
                                      root_2d if use_2d else None, K if use_2d else None) for chain, items in groups]
            outputs = solve_contacts(requests, self.body, cfg=ik_cfg, solver=self.cfg.solver,
                                     batch_size=self.cfg.ik_batch, return_vertices=False)
            for (chain, items), request, out in zip(groups, requests, outputs):
                self._apply(current, chain, items, request, out, joints)
        return current, [[PART_NAMES[p] for p in plan] for plan in plans]


def hoi_chamfer(pred_h: np.ndarray, gt_h: np.ndarray, faces: np.ndarray, pred_o: np.ndarray, gt_o: np.ndarray,
                obj_faces: np.ndarray, samples: int = 10_000, seed: int = 0) -> dict[str, float]:
    """Chamfer (cm) of one frame, human and object: PA (CHORE combined-Procrustes protocol) and un-aligned."""
    meshes = ((pred_h, faces), (gt_h, faces), (pred_o, obj_faces), (gt_o, obj_faces))
    aligned = behave_chamfer(*meshes, align=True, num_samples=samples, seed=seed)
    raw = behave_chamfer(*meshes, align=False, num_samples=samples, seed=seed)
    return {"chamfer_human": raw["chamfer_human"], "pa_chamfer_human": aligned["chamfer_human"],
            "chamfer_object": raw["chamfer_object"], "pa_chamfer_object": aligned["chamfer_object"]}
