"""Shape prior sources behind one interface (`PriorSource.points(category)`), chosen by `model.prior.source`."""

from __future__ import annotations

from tiger.config import PriorConfig, TigerDataConfig
from tiger.prior.base import PriorSource, canonicalize, category_slug, farthest_point_resample
from tiger.prior.generated import parse_category
from tiger.prior.icp import SimilarityTransform, multi_start_icp, pseudo_mapping
from tiger.prior.offline import GeneratedPriorCache, make_prior_cache
from tiger.prior.retrieval import PriorBank, RetrievalPrior
from tiger.prior.sphere import SpherePrior, fibonacci_sphere

__all__ = ["GeneratedPriorCache", "PriorBank", "PriorSource", "RetrievalPrior", "SimilarityTransform",
           "SpherePrior", "build_prior_source", "canonicalize", "category_slug", "farthest_point_resample",
           "fibonacci_sphere", "make_prior_cache", "multi_start_icp", "parse_category", "pseudo_mapping"]


def build_prior_source(cfg: PriorConfig, data: TigerDataConfig, vocabulary: list[str] | None = None) -> PriorSource:
    """The configured prior source. The generated prior is read from its offline cache (scripts/make_priors.py);
    on real data the retrieval prior needs `model.prior.bank_dir` (the synthetic bank is never substituted)."""
    if cfg.source == "sphere":
        return SpherePrior(cfg.num_points)
    if cfg.source == "retrieval":
        if data.real and cfg.bank_dir is None:
            raise FileNotFoundError(f"model.prior.source=retrieval on data.source={data.source} needs "
                                    "model.prior.bank_dir (a folder of <category>.npz prototypes, docs/tiger.md)")
        return RetrievalPrior(cfg.num_points, PriorBank(cfg.bank_dir, vocabulary))
    return GeneratedPriorCache(cfg, data)
