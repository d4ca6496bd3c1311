"""Synthetic HOI clips (ground truth checked geometrically) and the refinement pipeline's mechanics."""

import numpy as np
import pytest
import torch

from contact.config import ContactDataConfig
from contact.labels import CONTACT_THRESHOLD_M, NO_CONTACT, PART_NAMES
from contact.synthetic import CLIP_FRAMES, HOIClipGenerator
from kinematics.hoi_refine import BodyParams, ContactRefiner, PipelineConfig, contact_regions, hoi_chamfer

TINY = ContactDataConfig(frames=3, image_size=32, num_points=96, occlusion_prob=0.0)


def _params(clip: dict, prefix: str, t: int) -> BodyParams:
    return BodyParams(torch.tensor(clip["gt_global_orient"][t:t + 1]),
                      torch.tensor(clip[f"{prefix}_body_pose"][t:t + 1]),
                      torch.tensor(clip[f"{prefix}_transl"][t:t + 1]), torch.tensor(clip["betas"][None]))


def test_clip_ground_truth_is_geometrically_consistent() -> None:
    gen = HOIClipGenerator(TINY)
    clip, again = gen.clip(3), gen.clip(3)
    np.testing.assert_array_equal(clip["images"], again["images"])            # deterministic in (seed, index)
    assert clip["images"].shape == (CLIP_FRAMES, 3, 32, 32) and clip["labels"].shape == (CLIP_FRAMES, 96)
    refiner = ContactRefiner(gen.body, gen.part_labels, PipelineConfig())
    for t in range(CLIP_FRAMES):
        verts = refiner.vertices(_params(clip, "gt", t))[0][0].numpy()
        dist = np.linalg.norm(clip["gt_object_points"][t][:, None] - verts[None], axis=-1)
        contact = clip["labels"][t] != NO_CONTACT
        assert contact.any()
        assert np.all(dist.min(axis=1)[contact] < CONTACT_THRESHOLD_M)
        assert np.all(dist.min(axis=1)[~contact] >= CONTACT_THRESHOLD_M)
        np.testing.assert_array_equal(gen.part_labels[dist.argmin(axis=1)[contact]], clip["labels"][t][contact])
        uv = clip["gt_object_points"][t] @ clip["K"][t].T
        uv = uv[:, :2] / uv[:, 2:]
        assert np.mean((uv >= -0.5) & (uv <= 31.5)) > 0.9                    # the crop shows the object
    rough_err = np.linalg.norm(clip["object_points"] - clip["gt_object_points"], axis=-1).mean()
    assert 0.001 < rough_err < 0.1


def test_refinement_moves_the_contact_part_onto_the_region_and_keeps_other_joints() -> None:
    gen = HOIClipGenerator(TINY)
    clip = gen.clip(3)
    t = 1
    labels = clip["labels"][t:t + 1]
    parts = contact_regions(labels[0], 3, 1)
    assert parts
    refiner = ContactRefiner(gen.body, gen.part_labels, PipelineConfig(ik_steps=80, max_parts_per_frame=1))
    rough = _params(clip, "rough", t)
    refined, used = refiner.refine(rough, torch.tensor(clip["gt_object_points"][t:t + 1]), labels,
                                   torch.tensor(clip["root_2d"][t:t + 1]), torch.tensor(clip["K"][t:t + 1]))
    region = clip["gt_object_points"][t][labels[0] == parts[0]]

    def part_gap(params: BodyParams) -> float:
        verts = refiner.vertices(params)[0][0].numpy()[gen.part_labels == parts[0]]
        return float(np.linalg.norm(region[:, None] - verts[None], axis=-1).min(axis=1).mean())

    assert part_gap(refined) < part_gap(rough)
    chain = refiner.chain(PART_NAMES.index(used[0][0]))
    assert chain.rotation[0] == 0                                   # paper chains start at the root
    moved = {j - 1 for j in chain.rotation if j > 0}
    pose_r, pose_f = rough.body_pose.view(23, 3), refined.body_pose.view(23, 3)
    for j in range(23):
        if j not in moved:
            assert torch.equal(pose_r[j], pose_f[j])


@pytest.mark.parametrize("chain_set", ["paper", "short"])
def test_driven_joint_is_the_joint_the_target_was_built_for_every_part(chain_set: str) -> None:
    """Regression: BEHAVE's `left_leg` part once built its target at the ankle while the solver drove the foot."""
    gen = HOIClipGenerator(TINY)
    clip, t = gen.clip(3), 1
    rough = _params(clip, "rough", t)
    points = torch.tensor(clip["gt_object_points"][t:t + 1])
    for part in range(len(PART_NAMES)):
        refiner = ContactRefiner(gen.body, gen.part_labels, PipelineConfig(ik_steps=2, max_parts_per_frame=1,
                                                                           chain_set=chain_set, joint_offset=True))
        refiner.refine(rough, points, np.full((1, points.shape[1]), part))
        assert len(refiner.driven) == 1
        _, name, built_for, driven = refiner.driven[0]
        assert name == PART_NAMES[part] and built_for == driven == refiner.chain(part).target


def test_gates_drop_implausible_parts_and_unconfident_points() -> None:
    gen = HOIClipGenerator(TINY)
    clip, t = gen.clip(3), 1
    labels, points = clip["labels"][t:t + 1].copy(), torch.tensor(clip["gt_object_points"][t:t + 1])
    part = contact_regions(labels[0], 3, 1)[0]
    refiner = ContactRefiner(gen.body, gen.part_labels, PipelineConfig(max_part_gap_m=0.2))
    rough = _params(clip, "rough", t)
    rough_verts = refiner.vertices(rough)[0][0]
    assert refiner.plan(rough_verts, points[0], labels[0]) == [part]                 # the true part is plausible
    gaps = {p: np.linalg.norm(clip["gt_object_points"][t][labels[0] == part][:, None]
                              - rough_verts.numpy()[gen.part_labels == p][None], axis=-1).min(axis=1).mean()
            for p in range(len(PART_NAMES))}                                         # brute-force region gaps
    far = max(gaps, key=gaps.get)
    assert gaps[far] > 0.2
    wrong = np.where(labels == part, far, labels)                                    # the region called a far part
    assert refiner.plan(rough_verts, points[0], wrong[0]) == []
    refined, used = refiner.refine(rough, points, wrong)
    assert used == [[]] and torch.equal(refined.body_pose, rough.body_pose.float())
    confidence = np.where(labels == part, 0.2, 0.9)                                  # the region is unsure
    unsure = ContactRefiner(gen.body, gen.part_labels, PipelineConfig(min_confidence=0.5))
    assert unsure.refine(rough, points, labels, confidence=confidence)[1] == [[]]


def test_hoi_chamfer_protocols() -> None:
    rng = np.random.default_rng(0)
    verts, faces = rng.normal(size=(60, 3)), rng.integers(0, 60, size=(100, 3))
    obj = rng.normal(size=(30, 3)) * 0.2 + [1.0, 0, 0]
    obj_faces = rng.integers(0, 30, size=(40, 3))
    same = hoi_chamfer(verts, verts, faces, obj, obj, obj_faces, samples=2000)
    shift = np.array([0.1, 0.0, 0.0])                                         # 10 cm rigid shift of everything
    moved = hoi_chamfer(verts + shift, verts, faces, obj + shift, obj, obj_faces, samples=2000)
    for part in ("human", "object"):                                          # PA undoes the joint shift ...
        assert abs(moved[f"pa_chamfer_{part}"] - same[f"pa_chamfer_{part}"]) < 1e-6
        assert abs(same[f"chamfer_{part}"] - same[f"pa_chamfer_{part}"]) < 1e-6
        assert moved[f"chamfer_{part}"] > same[f"chamfer_{part}"] + 1.0    # ... the un-aligned one does not
