"""Prior sources: N points in the canonical frame, category parsing, missing weights; ICP."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from tiger.config import PriorConfig, TigerDataConfig
from tiger.prior import (
    PriorBank,
    build_prior_source,
    canonicalize,
    multi_start_icp,
    parse_category,
    pseudo_mapping,
)
from tiger.prior.icp import SimilarityTransform

VOCAB = ["box", "cylinder", "can", "bottle", "sphere", "mug"]
SYNTHETIC = TigerDataConfig()


def _assert_canonical(points: np.ndarray, n: int) -> None:
    assert points.shape == (n, 3) and points.dtype == np.float32
    centre = (points.min(0) + points.max(0)) / 2
    assert np.abs(centre).max() < 0.05          # bbox centre at the origin (resampling moves it slightly)
    assert np.linalg.norm(points, axis=1).max() <= 1.0 + 1e-5
    assert np.linalg.norm(points, axis=1).max() > 0.9


@pytest.mark.parametrize("source", ["sphere", "retrieval"])
def test_each_source_returns_n_canonical_points(source: str) -> None:
    prior = build_prior_source(PriorConfig(source=source, num_points=128), SYNTHETIC, VOCAB)
    assert prior.category_for("train", "id", "model", "mug") == "mug"
    _assert_canonical(prior.points("mug"), 128)


def test_sphere_prior_lies_on_the_unit_sphere() -> None:
    points = build_prior_source(PriorConfig(source="sphere", num_points=64), SYNTHETIC, VOCAB).points("anything")
    np.testing.assert_allclose(np.linalg.norm(points, axis=1), 1.0, atol=1e-3)


def test_real_data_retrieval_needs_a_bank(tmp_path: Path) -> None:
    real = TigerDataConfig(source="dexycb", root=str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"model\.prior\.bank_dir"):
        build_prior_source(PriorConfig(source="retrieval"), real)
    bank = tmp_path / "bank"
    bank.mkdir()
    np.savez(bank / "mug.npz", points=np.random.default_rng(0).normal(size=(300, 3)))
    prior = build_prior_source(PriorConfig(source="retrieval", num_points=64, bank_dir=str(bank)), real)
    _assert_canonical(prior.points("025 mug"), 64)


def test_retrieval_matches_category_text() -> None:
    bank = PriorBank(categories=VOCAB)
    assert bank.nearest_category("002_master chef can") == "can"
    assert bank.nearest_category("Mugs") == "mug"
    assert bank.nearest_category("bottel") == "bottle"


def test_caption_parsing() -> None:
    assert parse_category("In this image, the hand is holding a red mug.", VOCAB) == "mug"
    assert parse_category("the hand is holding a bottle of water", VOCAB) == "bottle"
    assert parse_category("In this image, the hand is holding a power drill.") == "power drill"


def test_generated_components_without_weights_fail_naming_the_key() -> None:
    from tiger.prior.offline import build_components

    with pytest.raises(FileNotFoundError, match="captioner_weights"):
        build_components(PriorConfig(source="generated", captioner_weights="/nonexistent/instructblip"), VOCAB, "cpu")
    with pytest.raises(FileNotFoundError, match="image_to_points_weights"):
        build_components(PriorConfig(source="generated", captioner="oracle", text_to_image="procedural"), VOCAB, "cpu")


def test_canonicalize_is_translation_and_scale_invariant() -> None:
    pts = np.random.default_rng(0).normal(size=(200, 3))
    np.testing.assert_allclose(canonicalize(pts), canonicalize(3.0 * pts + 7.0), atol=1e-5)


def test_icp_recovers_known_similarity_transform() -> None:
    rng = np.random.default_rng(1)
    src = rng.normal(size=(300, 3)) * np.array([0.08, 0.04, 0.02])    # anisotropic: no symmetry ambiguity
    rot = Rotation.from_euler("xyz", [25, -15, 30], degrees=True).as_matrix()
    truth = SimilarityTransform(1.3, rot, np.array([0.1, -0.05, 0.5]))
    dst = truth.apply(src)
    est = multi_start_icp(src, dst, num_starts=4, iterations=50)
    np.testing.assert_allclose(est.rotation, rot, atol=1e-4)
    np.testing.assert_allclose(est.translation, truth.translation, atol=1e-5)
    assert est.scale == pytest.approx(1.3, abs=1e-5)
    gt_to_prior, prior_to_gt = pseudo_mapping(dst, src, est)
    np.testing.assert_array_equal(gt_to_prior, np.arange(300))
    np.testing.assert_array_equal(prior_to_gt, np.arange(300))
