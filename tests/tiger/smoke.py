"""Fixtures for tests/test_experiments_smoke.py: real-format data and tiny real-layout checkpoints per experiment.

DexYCB experiments read a tiny synthetic set written in the released DexYCB layout; ObMan experiments read a
hand-written ObMan-layout fixture with gSDF split lists. The paper model's encoders shrink (same classes) and
load tiny files in the published layouts (torchvision ResNet, HRNet, PointNet++ `model_state_dict`). The
paper's generated prior needs Point-E, which cannot be installed here (not on PyPI), so the smoke runs use the
retrieval prior with a fixture bank; the generated path is covered by tests/tiger/test_prior_stage.py.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import cv2
import numpy as np
import torch

SHRUNK_PAPER_MODEL = [
    "model.input_size=64", "model.hrnet_width=4", "model.hrnet_stem=8", "model.hrnet_stage1_blocks=1",
    "model.hrnet_modules=[1,1,1]", "model.hrnet_blocks=[1,1,1]", "model.pose_widths=[4,8,8,8]",
    "model.pose_layers=[1,1,1,1]", "model.heatmap_size=16", "model.depth_bins=8", "model.deconv_width=8",
    "model.attention_hidden=16", "model.decoder_widths=[16,16]", "model.prior.num_points=64",
    "model.sa1_points=16", "model.sa2_points=4", "model.sa1_samples=8", "model.sa2_samples=8"]
CATEGORIES = ("box", "cylinder", "can", "bottle", "sphere", "mug")


def _pretrained(tmp: Path) -> list[str]:
    """Tiny HRNet / PointNet++ / ResNet files in the published key layouts at the shrunk widths."""
    from tests.tiger.test_backbones import pointnet2_cls_ssg_checkpoint, torchvision_resnet50_state
    from tiger.model.hrnet import HRNet

    tmp.mkdir(parents=True, exist_ok=True)
    hrnet = HRNet(4, 8, 1, (1, 1, 1), (1, 1, 1)).state_dict()
    torch.save({**hrnet, "classifier.weight": torch.zeros(3, 2048)}, tmp / "hrnet.pth")
    torch.save(pointnet2_cls_ssg_checkpoint(), tmp / "pointnet2.pth")
    torch.save(torchvision_resnet50_state([4, 8, 8, 8], [1, 1, 1, 1]), tmp / "resnet50.pth")
    return [f"model.hrnet_init.path={tmp / 'hrnet.pth'}", f"model.pointnet_init.path={tmp / 'pointnet2.pth'}",
            f"model.hand_init.path={tmp / 'resnet50.pth'}", f"model.object_pose_init.path={tmp / 'resnet50.pth'}"]


def _bank(tmp: Path, categories: tuple[str, ...]) -> str:
    from tiger.prior.sphere import fibonacci_sphere

    tmp.mkdir(parents=True, exist_ok=True)
    for k, category in enumerate(categories):
        np.savez(tmp / f"{category}.npz", points=fibonacci_sphere(200) * np.array([1.0, 1.0, 0.5 + 0.2 * k]))
    return f"model.prior.bank_dir={tmp}"


def _dexycb(tmp: Path) -> Path:
    from tiger.data.synthetic import SceneSpec, ensure_synthetic_dexycb

    spec = SceneSpec(num_subjects=3, sequences_per_subject=5, cameras=1, frames_per_sequence=1, image_hw=[72, 96],
                     focal=120.0, seed=5)
    return ensure_synthetic_dexycb(tmp, spec)


def write_obman(root: Path, shapenet: Path) -> tuple[Path, Path]:
    """Two frames per split in ObMan's layout (Blender camera frame) and gSDF-format split lists."""
    from common.body import load_mano, mano_joints21

    mano = load_mano()
    with torch.no_grad():
        out = mano(global_orient=torch.tensor([[0.3, 0.2, 0.1]]), transl=torch.tensor([[0.0, 0.0, 0.0]]))
    verts, joints = out.vertices[0].numpy(), mano_joints21(out, mano)[0].numpy()
    cube = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], np.float64) * 0.1
    faces = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1], [2, 3, 7], [2, 7, 6],
                      [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    mesh = shapenet / "03797390" / "fixture" / "models" / "model_normalized.obj"
    mesh.parent.mkdir(parents=True, exist_ok=True)
    mesh.write_text("".join(f"v {x} {y} {z}\n" for x, y, z in cube) + "".join(f"f {a + 1} {b + 1} {c + 1}\n"
                                                                               for a, b, c in faces))
    blender = np.diag([1.0, -1.0, -1.0])                  # OpenCV <-> Blender camera (an involution)
    ids = {}
    for split in ("train", "test"):
        for sub in ("rgb", "segm", "meta"):
            (root / split / sub).mkdir(parents=True, exist_ok=True)
        ids[split] = []
        for k in range(2):
            sample_id = f"{k + 3:08d}"
            shift = np.array([0.02 * k, 0.0, 0.55])       # OpenCV frame: in front of the camera
            hand_cv = verts - joints[0] + shift + np.array([0.0, 0.06, 0.0])
            affine = np.eye(4)
            affine[:3, :3] *= 0.35
            affine[:3, 3] = shift @ blender.T
            meta = {"coords_3d": (joints - joints[0] + shift + np.array([0.0, 0.06, 0.0])) @ blender.T,
                    "verts_3d": hand_cv @ blender.T, "class_id": "03797390", "sample_id": "fixture",
                    "affine_transform": affine, "side": "right"}
            with open(root / split / "meta" / f"{sample_id}.pkl", "wb") as f:
                pickle.dump(meta, f)
            segm = np.zeros((256, 256, 3), np.uint8)
            segm[100:150, 100:150] = 100
            cv2.imwrite(str(root / split / "segm" / f"{sample_id}.png"), segm)
            cv2.imwrite(str(root / split / "rgb" / f"{sample_id}.jpg"),
                        np.random.default_rng(k).integers(0, 255, (256, 256, 3), dtype=np.uint8))
            ids[split].append(sample_id)
    (root / "train_87k.json").write_text(json.dumps(ids["train"]))
    (root / "test_6k.json").write_text(json.dumps(ids["test"]))
    return root / "train_87k.json", root / "test_6k.json"


def smoke_overrides(experiment: str, tmp: Path) -> list[str]:
    """Overrides that run `experiment` at debug size on fixtures written under `tmp`."""
    from common.body import load_mano, standin_dir

    if experiment == "tiger/synthetic":
        return [f"data.root={_dexycb(tmp / 'dexycb')}"]
    load_mano()                                           # the stand-in files exist before they are named
    common = [*SHRUNK_PAPER_MODEL, *_pretrained(tmp / "weights"), f"paths.body_models={standin_dir()}",
              "data.allow_standin_mano=true", "data.eval_num_samples=200", "model.prior.source=retrieval",
              "trainer.global_batch_size=null"]
    if experiment.startswith("tiger/dexycb"):
        extra = []
        if experiment == "tiger/dexycb_prior_quality":
            from tests.tiger.test_backbones import dgcnn_reference_state

            torch.save(dgcnn_reference_state(), tmp / "weights" / "dgcnn.t7")
            extra = [f"model.dgcnn_init.path={tmp / 'weights' / 'dgcnn.t7'}"]
        return [*common, *extra, f"data.root={_dexycb(tmp / 'dexycb')}", _bank(tmp / "bank", CATEGORIES)]
    if experiment == "tiger/obman_paper":
        train_ids, test_ids = write_obman(tmp / "obman", tmp / "shapenet")
        return [*common, f"data.root={tmp / 'obman'}", f"data.shapenet_root={tmp / 'shapenet'}",
                f"data.train_ids={train_ids}", f"data.eval_ids={test_ids}", _bank(tmp / "bank", ("mug",))]
    return []
