"""Contact pseudo-labels against a brute-force nearest-vertex computation."""

import numpy as np
import torch

from contact.evaluation import confusion_matrix, contact_scores
from contact.labels import CONTACT_THRESHOLD_M, NO_CONTACT, NUM_CLASSES, PART_NAMES, contact_pseudo_labels


def test_part_order_is_behave_dict_order() -> None:
    assert len(PART_NAMES) == 14 and NUM_CLASSES == 15 and NO_CONTACT == 14
    assert list(PART_NAMES) == sorted(PART_NAMES)  # smpl_parts_dense.pkl keys are alphabetical


def test_pseudo_labels_match_brute_force() -> None:
    rng = np.random.default_rng(0)
    verts = rng.normal(size=(500, 3)) * 0.3
    parts = rng.integers(0, 14, size=500)
    points = np.concatenate([verts[:200] + rng.normal(size=(200, 3)) * 0.02, rng.normal(size=(300, 3))])
    labels, dist = contact_pseudo_labels(points, torch.as_tensor(verts), parts)
    d = torch.cdist(torch.as_tensor(points), torch.as_tensor(verts))
    nearest = d.argmin(dim=1).numpy()
    brute = np.where(d.min(dim=1).values.numpy() < CONTACT_THRESHOLD_M, parts[nearest], NO_CONTACT)
    np.testing.assert_array_equal(labels, brute)
    np.testing.assert_allclose(dist, d.min(dim=1).values.numpy(), atol=1e-12)
    assert 0 < (labels != NO_CONTACT).sum() < len(points)


def test_scores_on_hand_made_confusion() -> None:
    gt = np.array([0, 0, 14, 14, 14, 3])
    pred = np.array([0, 14, 14, 14, 3, 3])
    scores = contact_scores(confusion_matrix(pred, gt))
    assert scores["accuracy"] == 4 / 6
    assert scores["iou/head"] == 1 / 2          # tp 1, gt 2, pred 1
    assert scores["iou/no_contact"] == 2 / 4    # tp 2, gt 3, pred 3
    assert scores["iou/left_leg"] == 1 / 2
    assert np.isnan(scores["iou/torso"])
    assert abs(scores["miou"] - 0.5) < 1e-12
    assert scores["contact_recall"] == 2 / 3
