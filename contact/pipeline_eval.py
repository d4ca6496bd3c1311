"""Table 1 of the paper: a trained CRRNet's contacts drive the kinematics refinement; Chamfer of the result.

`pipeline:` config node (ContactPipelineConfig) = the refinement settings (kinematics.hoi_refine.PipelineConfig,
whose defaults are the paper-faithful pipeline) plus which contacts drive it (`predicted` by the model, or the
`gt` pseudo-labels: an oracle) and how many held-out synthetic clips are scored. Synthetic: the middle frame of
the first `clips` held-out clips, the rough fit = perturbed GT. BEHAVE: every CHORE-protocol test frame, its
centred T-window of gap-free frames, the rough fit = VisTracker/CHORE outputs. Metrics: human and object
Chamfer (cm), un-aligned and PA (CHORE: one similarity Procrustes on human+object vertices), and rough/*.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from torch.utils.data import DataLoader, Dataset

from common.body import load_smpl, smpl_part_labels
from contact.behave import BehaveClips
from contact.config import ContactDataConfig
from contact.task import ClipDataset
from kinematics.behave_frames import chore_scores, load_test_frames, refine_frames, rough_vertices
from kinematics.hoi_refine import BodyParams, ContactRefiner, PipelineConfig, hoi_chamfer


@dataclass
class ContactPipelineConfig(PipelineConfig):
    """PipelineConfig (paper-faithful defaults) + the contact source and the synthetic clip count."""

    contacts: str = "predicted"          # predicted (the model's arg-max) | gt (pseudo-labels of the GT fits: oracle)
    clips: int = 24                      # synthetic: held-out clips scored (middle frame)

    def refinement(self) -> PipelineConfig:
        """The kinematics refinement settings alone."""
        return PipelineConfig(**{f.name: getattr(self, f.name) for f in fields(PipelineConfig)})


def pipeline_config(node: DictConfig | dict | None) -> ContactPipelineConfig:
    """Validate the `pipeline:` node (unknown keys or wrong types fail)."""
    out = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(ContactPipelineConfig), node or {}))
    if out.contacts not in ("predicted", "gt"):
        raise ValueError(f"pipeline.contacts={out.contacts!r}: choose 'predicted' or 'gt'")
    return out


@torch.no_grad()
def middle_predictions(model: torch.nn.Module, dataset: Dataset) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per clip, the predicted labels (N,) of its middle frame and their softmax probabilities (N,)."""
    labels, confidence = [], []
    device = next(model.parameters()).device
    for batch in DataLoader(dataset, batch_size=8):
        logits = model(batch["images"].to(device), batch["object_points"].to(device), batch["K"].to(device))
        prob, label = logits[:, logits.shape[1] // 2].softmax(dim=-1).max(dim=-1)
        labels += list(label.cpu().numpy())
        confidence += list(prob.cpu().numpy())
    return labels, confidence


def _mid(clips: list[dict], key: str) -> torch.Tensor:
    return torch.tensor(np.stack([c[key][len(c["labels"]) // 2] for c in clips]))


def _params(clips: list[dict], prefix: str) -> BodyParams:
    return BodyParams(_mid(clips, "gt_global_orient"), _mid(clips, f"{prefix}_body_pose"),
                      _mid(clips, f"{prefix}_transl"), torch.tensor(np.stack([c["betas"] for c in clips])))


def synthetic_pipeline(model: torch.nn.Module, held_out: list[dict], frames: int, cfg: ContactPipelineConfig,
                       body_models: str | None) -> dict[str, float]:
    """Pipeline metrics on the middle frames of the first `cfg.clips` held-out synthetic clips."""
    clips = held_out[: cfg.clips]
    body, parts = load_smpl(body_models), smpl_part_labels(body_models)
    if cfg.contacts == "gt":
        labels, confidence = [c["labels"][len(c["labels"]) // 2] for c in clips], None
    else:
        labels, confidence = middle_predictions(model, ClipDataset(clips, frames))
    refiner = ContactRefiner(body, parts, cfg.refinement())
    rough = _params(clips, "rough")
    refined, _ = refiner.refine(rough, _mid(clips, "object_points"), np.stack(labels), _mid(clips, "root_2d"),
                                _mid(clips, "K"), None if confidence is None else np.stack(confidence))
    faces = np.asarray(body.faces, dtype=np.int64)
    gt_verts = refiner.vertices(_params(clips, "gt"))[0].numpy()
    out: dict[str, float] = {}
    for prefix, params in (("", refined), ("rough/", rough)):
        verts = refiner.vertices(params)[0].numpy()
        rows = []
        for i, c in enumerate(clips):
            m = len(c["labels"]) // 2
            obj = c["object_verts"]
            rows.append(hoi_chamfer(verts[i], gt_verts[i], faces, obj @ c["rough_object_rot"][m].T
                                    + c["rough_object_trans"][m], obj @ c["gt_object_rot"][m].T
                                    + c["gt_object_trans"][m], c["object_faces"], samples=cfg.eval_samples, seed=i))
        out.update({f"{prefix}{k}": float(np.mean([r[k] for r in rows])) for k in rows[0]})
        out[f"{prefix}frames"] = float(len(rows))
    return out


def behave_pipeline(model: torch.nn.Module, root: Path, dcfg: ContactDataConfig, cfg: ContactPipelineConfig,
                    body_models: str | None, cache_dir: Path) -> dict[str, float]:
    """Pipeline metrics on every CHORE-protocol test frame of BEHAVE (tracker outputs in data.rough_dir)."""
    if dcfg.rough_dir is None:
        raise ValueError("data.rough_dir is not set: the BEHAVE pipeline refines VisTracker/CHORE outputs "
                         "(<rough_dir>/<seq>_k1.pkl); see docs/contact.md#behave")
    parts = smpl_part_labels(body_models)
    data = load_test_frames(root, Path(dcfg.rough_dir), parts, body_models=body_models,
                            smplh_standin=dcfg.smplh_standin, cache_dir=cache_dir, kid=dcfg.kid,
                            num_points=dcfg.num_points, max_frames=dcfg.max_test_frames, seed=dcfg.seed)
    if cfg.contacts == "gt":
        labels, confidence = [o.labels for o in data.objects], None
    else:
        windows = BehaveClips(root, "test", dcfg.frames, parts, body_models=body_models,
                              smplh_standin=dcfg.smplh_standin, cache_dir=cache_dir, image_size=dcfg.image_size,
                              num_points=dcfg.num_points, kid=dcfg.kid, rough_dir=dcfg.rough_dir, seed=dcfg.seed,
                              windows=[])
        windows.clips = windows.test_windows(data.keys)
        labels, confidence = middle_predictions(model, windows)
    refined = refine_frames(data, labels, cfg.refinement(), parts, confidence)
    out = chore_scores(data, refined, cfg.eval_samples)
    out.update({f"rough/{k}": v for k, v in chore_scores(data, rough_vertices(data), cfg.eval_samples).items()})
    return out
