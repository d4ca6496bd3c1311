"""Neural IK batching: a problem's result does not depend on the problems solved with it (chains, chunks, keys).

Tolerance JOINT_TOL = 1e-5 m: the solver runs in float32, where one ulp of a joint ~3 m from the camera is
2.4e-7 m; batched and one-problem solves differ only in the order of floating-point sums (batched matmuls,
padded contact points and rotation slots, vectorised vs scalar tails), observed <= 4e-7 m after 80 Adam steps.
Any coupling (shared initialisation stream, loss scaling, stopping) shows at the centimetre level instead.
"""

from __future__ import annotations

import pytest
import torch

from common.body import load_smpl
from kinematics.neural_ik import BatchedMLP, NeuralIKConfig, init_generator, solve_neural_ik, solve_neural_ik_batch
from kinematics.objective import IKProblem
from kinematics.refine import _chunks, solve_problems
from kinematics.synthetic import make_interactions

JOINT_TOL = 1e-5


@pytest.fixture(scope="module")
def problems() -> list[IKProblem]:
    torch.set_num_threads(1)
    smpl = load_smpl()
    out = []
    for i, (limb, chain_set) in enumerate((("left_arm", "paper"), ("right_leg", "paper"), ("right_arm", "short"))):
        p = make_interactions(smpl, 2, limb, seed=20 + i, chain_set=chain_set).problem
        p.keys = torch.tensor([7 * i + 3, 7 * i + 5])
        out.append(p)
    return out


@pytest.mark.parametrize("early_stop", [False, True])
def test_batched_solve_equals_each_problem_alone(problems: list[IKProblem], early_stop: bool) -> None:
    cfg = NeuralIKConfig(max_steps=80) if early_stop else NeuralIKConfig(max_steps=40, stop_ratio=0.0, patience=41)
    together = solve_neural_ik_batch(problems, cfg, "cpu")
    steps = []
    for p, batched in zip(problems, together):
        for b in range(p.batch):
            alone = solve_neural_ik(p.subset(slice(b, b + 1)), cfg, "cpu")
            assert int(alone.steps[0]) == int(batched.steps[b])
            assert float((alone.joints[0] - batched.joints[b]).abs().max()) < JOINT_TOL
            assert float((alone.transl[0] - batched.transl[b]).abs().max()) < JOINT_TOL
            assert abs(float(alone.loss[0]) - float(batched.loss[b])) <= 1e-4 * float(alone.initial_loss[0])
            steps.append(int(alone.steps[0]))
    if early_stop:
        assert len(set(steps)) > 1                                # problems stop on their own, not together


def test_initialisation_is_drawn_per_problem_key() -> None:
    keys, n_rot = [9, 2, 4], [3, 8, 1]
    mixed = BatchedMLP(keys, n_rot, 8, 75, 32, 2, 5, torch.device("cpu"), torch.float32)
    alone = BatchedMLP([2], [8], 8, 75, 32, 2, 5, torch.device("cpu"), torch.float32)
    for w_mixed, w_alone in zip(mixed.parameters(), alone.parameters()):
        assert torch.equal(w_mixed[1], w_alone[0])
    for w in mixed.weights[:-1]:                              # every key draws its own weights
        assert not torch.equal(w[0], w[1]) and not torch.equal(w[1], w[2])
    padded = mixed.biases[-1][0, : 5 * 8].view(8, 5)
    assert torch.all(padded[3:] == 0) and torch.all(padded[:3, 2:] != 0)  # padded joints output nothing
    gen = init_generator(5, 0)                                # key 0 draws the seed's own stream, as before keys
    first = BatchedMLP([0], [3], 3, 75, 32, 2, 5, torch.device("cpu"), torch.float32)
    torch.testing.assert_close(first.biases[-1][0, :15].view(3, 5)[:, 2:], torch.randn(3, 3, generator=gen),
                               rtol=0, atol=0)


def test_chunks_cover_every_row_once_in_order() -> None:
    chunks = _chunks([3, 1, 4], 3)
    assert chunks == [[(0, slice(0, 3))], [(1, slice(0, 1)), (2, slice(0, 2))], [(2, slice(2, 4))]]
    assert _chunks([3, 1, 4], 0) == [[(0, slice(0, 3)), (1, slice(0, 1)), (2, slice(0, 4))]]


def test_chunked_solves_equal_one_solve(problems: list[IKProblem]) -> None:
    cfg = NeuralIKConfig(max_steps=30)
    whole = solve_problems(problems, cfg, "neural", batch_size=0)
    chunked = solve_problems(problems, cfg, "neural", batch_size=4)
    for a, b in zip(whole, chunked):
        assert torch.equal(a.steps, b.steps)
        assert float((a.joints - b.joints).abs().max()) < JOINT_TOL
        assert a.extras["phi"].shape == b.extras["phi"].shape
