"""Shape prior sources behind one interface (`PriorSource.points(category)`), chosen by `model.prior.source`."""

from __future__ import annotations

from tiger.config import PriorConfig
from tiger.prior.base import PriorSource, canonicalize, category_slug, farthest_point_resample
from tiger.prior.generated import (
    DepthLiftToPoints,
    DiffusersTextToImage,
    GeneratedPrior,
    HintCaptioner,
    InstructBlipCaptioner,
    PointEImageToPoints,
    PrototypeRenderer,
    parse_category,
)
from tiger.prior.icp import SimilarityTransform, multi_start_icp, pseudo_mapping
from tiger.prior.retrieval import PriorBank, RetrievalPrior
from tiger.prior.sphere import SpherePrior, fibonacci_sphere

__all__ = ["GeneratedPrior", "PriorBank", "PriorSource", "RetrievalPrior", "SimilarityTransform", "SpherePrior",
           "build_prior_source", "canonicalize", "category_slug", "farthest_point_resample", "fibonacci_sphere",
           "multi_start_icp", "parse_category", "pseudo_mapping"]


def build_prior_source(cfg: PriorConfig, vocabulary: list[str] | None = None,
                       device: str = "cpu") -> PriorSource:
    """The configured prior source; real generative components need local weights (else FileNotFoundError)."""
    if cfg.source == "sphere":
        return SpherePrior(cfg.num_points, cfg.cache_dir)
    if cfg.source == "retrieval":
        bank = PriorBank(cfg.bank_dir, vocabulary)
        return RetrievalPrior(cfg.num_points, cfg.cache_dir, bank)
    captioner = (HintCaptioner() if cfg.captioner == "standin"
                 else InstructBlipCaptioner(cfg.captioner_weights, device))
    text_to_image = (PrototypeRenderer(vocabulary or []) if cfg.text_to_image == "standin"
                     else DiffusersTextToImage(cfg.text_to_image_weights, cfg.text_to_image_steps, device=device))
    image_to_points = (DepthLiftToPoints() if cfg.image_to_points == "standin"
                       else PointEImageToPoints(cfg.image_to_points_weights, device))
    tag = "_".join([cfg.captioner, cfg.text_to_image, cfg.image_to_points])
    return GeneratedPrior(cfg.num_points, captioner, text_to_image, image_to_points, vocabulary,
                          cfg.cache_dir, tag)
