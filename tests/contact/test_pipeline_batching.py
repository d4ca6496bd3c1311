"""The refinement's IK stage: every frame and chain of a round in one solve, equal to one solve per frame.

Tolerance JOINT_TOL = 1e-5 m (float32 ulp at ~3 m is 2.4e-7 m): the batched and per-frame paths differ only in
the order of floating-point sums; 30 IK steps (below the 50-step plateau patience) keep the discrete stopping
rule from amplifying those rounding differences.
"""

import numpy as np
import torch

import kinematics.refine
from contact.config import ContactDataConfig
from contact.labels import NO_CONTACT, PART_NAMES
from contact.synthetic import HOIClipGenerator
from kinematics.hoi_refine import BodyParams, ContactRefiner, PipelineConfig

JOINT_TOL = 1e-5
TINY = ContactDataConfig(frames=3, image_size=32, num_points=96, occlusion_prob=0.0)


def test_one_solve_per_round_equals_one_solve_per_frame(monkeypatch) -> None:
    torch.set_num_threads(1)
    gen = HOIClipGenerator(TINY)
    clips, t = [gen.clip(i) for i in range(4)], 1
    labels = np.stack([c["labels"][t] for c in clips])
    free = np.flatnonzero(labels[0] == NO_CONTACT)[:5]
    labels[0, free] = 0 if labels[0].max() != 0 else 5                   # frame 0 gets a second region: 2 rounds

    def stack(key: str) -> torch.Tensor:
        return torch.tensor(np.stack([c[key][t] for c in clips]))

    rough = BodyParams(stack("gt_global_orient"), stack("rough_body_pose"), stack("rough_transl"),
                       torch.tensor(np.stack([c["betas"] for c in clips])))
    solves: list[int] = []
    solve = kinematics.refine.solve_neural_ik_batch
    monkeypatch.setattr(kinematics.refine, "solve_neural_ik_batch",
                        lambda problems, cfg: solves.append(sum(p.batch for p in problems)) or solve(problems, cfg))
    joints, used = {}, {}
    for ik_batch in (0, 1):
        refiner = ContactRefiner(gen.body, gen.part_labels, PipelineConfig(ik_steps=30, ik_batch=ik_batch))
        refined, used[ik_batch] = refiner.refine(rough, stack("gt_object_points"), labels, stack("root_2d"),
                                                 stack("K"))
        joints[ik_batch] = refiner.vertices(refined)[1]
    problems = sum(len(u) for u in used[0])
    chains = {refiner.chain(PART_NAMES.index(parts[0])).name for parts in used[0]}
    assert used[0] == used[1] and len(used[0][0]) == 2 and len(chains) > 1
    assert solves == [problems - 1, 1] + [1] * problems                # batched: one solve per round; then per frame
    assert float((joints[0] - joints[1]).abs().max()) < JOINT_TOL
    assert float((joints[0] - refiner.vertices(rough)[1]).abs().max()) > 0.01   # the refinement moved the bodies
