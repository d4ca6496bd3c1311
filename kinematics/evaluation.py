"""Scores of IK results against the synthetic ground truth (reach cm, MPJPE/PA-MPJPE mm, Chamfer cm)."""

from __future__ import annotations

import numpy as np
import torch

from common.geometry import apply_similarity, similarity_procrustes
from common.metrics import M_TO_CM, M_TO_MM, chamfer_distance, mpjpe, pa_mpjpe, root_aligned_mpjpe
from kinematics.body_adapter import smpl_params_from_pose
from kinematics.objective import IKResult
from kinematics.synthetic import Interactions


@torch.no_grad()
def smpl_vertices(model: torch.nn.Module, pose: torch.Tensor, betas: torch.Tensor, transl: torch.Tensor,
                  chunk: int = 64) -> np.ndarray:
    """(B,6890,3) float64 mesh vertices (metres) of SMPL pose (B,24,3), betas, transl."""
    out = []
    for s in range(0, pose.shape[0], chunk):
        part = pose[s:s + chunk].float()
        params = smpl_params_from_pose(part, {"global_orient": part[:, 0], "betas": betas[s:s + chunk].float()},
                                       transl[s:s + chunk].float())
        out.append(model(**params).vertices.double().cpu().numpy())
    return np.concatenate(out)


def score(result: IKResult, inter: Interactions, model: torch.nn.Module, gt_joints: torch.Tensor,
          gt_vertices: np.ndarray) -> dict[str, float]:
    """Mean metrics over the problems; `nonchain_change_rad` is the largest rotation change off the chain."""
    pred = result.joints.double().cpu().numpy()
    gt = gt_joints.double().cpu().numpy()
    verts = smpl_vertices(model, result.pose.cpu(), inter.betas, result.transl.cpu())
    chamfer = [chamfer_distance(v, g, squared=False) for v, g in zip(verts, gt_vertices)]
    s, R, t = similarity_procrustes(torch.from_numpy(verts), torch.from_numpy(gt_vertices))
    aligned = apply_similarity(torch.from_numpy(verts), s, R, t).numpy()
    pa_chamfer = [chamfer_distance(v, g, squared=False) for v, g in zip(aligned, gt_vertices)]
    off_chain = [j for j in range(pred.shape[1]) if j not in inter.problem.chain.rotation]
    change = (result.pose.cpu()[:, off_chain] - inter.rough_pose[:, off_chain]).abs().max()
    return {
        "mpjpe_mm": root_aligned_mpjpe(pred, gt) * M_TO_MM,
        "pa_mpjpe_mm": pa_mpjpe(pred, gt) * M_TO_MM,
        "reach_cm": float(result.reach.double().mean()) * M_TO_CM,
        "chamfer_cm": float(np.mean(chamfer)) * M_TO_CM,
        "pa_chamfer_cm": float(np.mean(pa_chamfer)) * M_TO_CM,
        "g_mpjpe_mm": mpjpe(pred, gt) * M_TO_MM,
        "nonchain_change_rad": float(change),
        "steps": float(result.steps.double().mean()),
        "converged": float(result.converged.double().mean()),
    }
