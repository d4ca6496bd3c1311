"""Model-facing dataset: object-centred crop, category prior, GT object points and the ICP pseudo mapping."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch.utils.data import Dataset

from common.cache import cache_key, cache_path, cached_npz
from common.data import schema as S
from common.data.transforms import apply_affine, crop_affine_matrix
from tiger.prior import PriorSource, multi_start_icp, pseudo_mapping

log = logging.getLogger(__name__)
MAPPING_VERSION = 1
IMAGE_MEAN = np.array([0.485, 0.456, 0.406], np.float32)[:, None, None]
IMAGE_STD = np.array([0.229, 0.224, 0.225], np.float32)[:, None, None]


class HandObjectSource(Protocol):
    """What TigerDataset needs from a loader (DexYCB, ObMan, synthetic)."""

    def __len__(self) -> int: ...

    def __getitem__(self, i: int) -> dict[str, Any]: ...

    def object_model(self, name: str) -> tuple[np.ndarray, np.ndarray]: ...


def surface_samples(verts: np.ndarray, faces: np.ndarray, count: int, seed: int = 0) -> np.ndarray:
    """`count` area-uniform surface points (count,3) of a mesh, seeded (same frame and units as verts)."""
    from common.metrics.pointcloud import sample_surface

    return sample_surface(verts, faces, count, seed).astype(np.float32)


def occlusion_rate(visible: np.ndarray, amodal: np.ndarray) -> float:
    """TIGeR's occlusion rate 1 - (|visible| + 1) / (|amodal| + 1) from the object's full-image masks."""
    return float(1.0 - (visible.sum() + 1.0) / (amodal.sum() + 1.0))


class TigerDataset(Dataset):
    """Crops each frame around the object and attaches prior, GT points (camera frame) and J/K mappings."""

    def __init__(self, source: HandObjectSource, prior: PriorSource, input_size: int, gt_points: int,
                 crop_scale: float, icp_starts: int = 6, icp_iterations: int = 20, memoise: bool = True,
                 cache_dir: str | Path | None = None) -> None:
        self.source, self.prior, self.memoise = source, prior, memoise
        self.cache_dir = cache_dir
        self.input_size, self.gt_points, self.crop_scale = input_size, gt_points, crop_scale
        self.icp_starts, self.icp_iterations = icp_starts, icp_iterations
        self._model_points: dict[str, np.ndarray] = {}
        self._mappings: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        self._frames: dict[int, dict[str, Any]] = {}

    def with_prior(self, prior: PriorSource) -> TigerDataset:
        """Same frames (sharing the decoded-frame and GT-point caches) with another prior source."""
        other = TigerDataset(self.source, prior, self.input_size, self.gt_points, self.crop_scale,
                             self.icp_starts, self.icp_iterations, self.memoise, self.cache_dir)
        other._model_points, other._frames = self._model_points, self._frames
        return other

    def __len__(self) -> int:
        return len(self.source)

    def model_points(self, name: str) -> np.ndarray:
        """Fixed GT surface points (gt_points,3) of an object model, object frame (m)."""
        if name not in self._model_points:
            verts, faces = self.source.object_model(name)
            self._model_points[name] = surface_samples(verts, faces, self.gt_points)
        return self._model_points[name]

    def mapping(self, name: str, category: str) -> tuple[np.ndarray, np.ndarray]:
        """(J: GT point -> prior index (M,), K: prior point -> GT index (N,)) from similarity ICP in the object
        frame; both are invariant to the sample's object pose, so they are computed once per model (and kept
        in the disk cache, keyed by both point sets and the ICP settings, when `cache_dir` is set)."""
        key = (name, category)
        if key not in self._mappings:
            gt = self.model_points(name)
            prior = self.prior.points(category)

            def build() -> dict[str, np.ndarray]:
                transform = multi_start_icp(prior, gt, self.icp_starts, self.icp_iterations)
                gt_to_prior, prior_to_gt = pseudo_mapping(gt, prior, transform)
                return {"gt_to_prior": gt_to_prior, "prior_to_gt": prior_to_gt}

            if self.cache_dir is None:
                arrays = build()
            else:
                digest = cache_key(MAPPING_VERSION, gt, prior, self.icp_starts, self.icp_iterations)
                arrays = cached_npz(cache_path(self.cache_dir, "tiger_icp_mappings", digest, ".npz"), build)
            self._mappings[key] = (arrays["gt_to_prior"], arrays["prior_to_gt"])
        return self._mappings[key]

    def frame(self, i: int) -> dict[str, Any]:
        """Decoded, object-centred crop of frame i with GT points (memoised when `memoise`)."""
        if not self.memoise:
            return self._decode(i)
        if i not in self._frames:
            self._frames[i] = self._decode(i)
        return self._frames[i]

    def __getitem__(self, i: int) -> dict[str, Any]:
        item = dict(self.frame(i))
        category_text, sample_id = item.pop("category_text"), item.pop("sample_id")
        name = item.pop("object_model")
        category = self.prior.category_for(self.source.split, sample_id, name, category_text)
        gt_to_prior, prior_to_gt = self.mapping(name, category)
        item.update(prior=torch.from_numpy(self.prior.points(category)), gt_to_prior=torch.from_numpy(gt_to_prior),
                    prior_to_gt=torch.from_numpy(prior_to_gt))
        return item

    def _decode(self, i: int) -> dict[str, Any]:
        sample = self.source[i]
        name = sample["object_model"]
        pose = np.asarray(sample[S.OBJECT_POSE], np.float64)
        points = (self.model_points(name) @ pose[:3, :3].T + pose[:3, 3]).astype(np.float32)
        centre = points.mean(0)
        K = np.asarray(sample[S.K], np.float64)
        radius = np.linalg.norm(points - centre, axis=1).max()
        uv = K @ centre
        side = self.crop_scale * 2.0 * radius * K[0, 0] / centre[2]
        size = (self.input_size, self.input_size)
        affine = crop_affine_matrix(uv[:2] / uv[2], np.array([side, side]), size)
        crop = apply_affine({S.IMAGE: sample[S.IMAGE], S.K: K, S.OBJECT_MASK: sample[S.OBJECT_MASK],
                             S.OBJECT_MASK_AMODAL: sample[S.OBJECT_MASK_AMODAL]}, affine, size)
        joints = np.asarray(sample[S.JOINTS_CAM], np.float32)
        return {
            "image": torch.from_numpy((crop[S.IMAGE] - IMAGE_MEAN) / IMAGE_STD),
            "K": torch.from_numpy(crop[S.K].astype(np.float32)),
            "object_points": torch.from_numpy(points),
            "object_centre": torch.from_numpy(centre),
            "hand_joints": torch.from_numpy(joints),
            "root_depth": torch.tensor(float(joints[0, 2])),
            "mask_amodal": torch.from_numpy(crop[S.OBJECT_MASK_AMODAL].astype(np.float32)),
            "occlusion": torch.tensor(occlusion_rate(sample[S.OBJECT_MASK], sample[S.OBJECT_MASK_AMODAL])),
            "index": torch.tensor(i),
            "object_model": name,
            "category_text": sample[S.OBJECT_CATEGORY],
            "sample_id": str(sample[S.SEQUENCE_ID]),
        }

    def gt_meshes(self, i: int) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray, str]:
        """(GT object mesh (verts cam, faces), GT hand vertices (778,3) cam, category text) of sample i."""
        sample = self.source[i]
        verts, faces = self.source.object_model(sample["object_model"])
        pose = np.asarray(sample[S.OBJECT_POSE], np.float64)
        return ((verts @ pose[:3, :3].T + pose[:3, 3], faces), np.asarray(sample[S.VERTICES_CAM]),
                sample[S.OBJECT_CATEGORY])
