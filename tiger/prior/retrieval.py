"""Retrieval prior: the nearest prototype shape of a prior bank, looked up by category text."""

from __future__ import annotations

import difflib
from pathlib import Path

import numpy as np

from tiger.prior.base import PriorSource, category_slug

PROTOTYPE_SEED = 12345
"""Seed of the synthetic prototypes: a fixed instance per category, different from the scene instances."""


def synthetic_prototype(category: str, seed: int = PROTOTYPE_SEED) -> np.ndarray:
    """Surface points (K,3) of one fixed instance of a synthetic primitive category (metres, object frame)."""
    from common.data.synthetic import make_object

    _, _, surface = make_object(category, np.random.default_rng(seed))
    return np.asarray(surface, dtype=np.float32)


class PriorBank:
    """Prototype point clouds keyed by category text, from `<bank_dir>/<category>.npz` files or synthetic."""

    def __init__(self, bank_dir: str | Path | None = None, categories: list[str] | None = None) -> None:
        self.bank_dir = Path(bank_dir) if bank_dir else None
        if self.bank_dir is not None:
            if not self.bank_dir.is_dir():
                raise FileNotFoundError(f"prior bank folder {self.bank_dir} does not exist; it must hold one "
                                        "<category>.npz (key 'points', (K,3)) per category (docs/tiger.md)")
            self.categories = sorted(p.stem for p in self.bank_dir.glob("*.npz"))
        else:
            from common.data.synthetic import OBJECT_CATEGORIES

            self.categories = list(categories or OBJECT_CATEGORIES)
        if not self.categories:
            raise FileNotFoundError(f"prior bank {self.bank_dir} has no <category>.npz prototypes")

    def nearest_category(self, text: str) -> str:
        """Bank category closest to `text`: exact, then a bank name contained in the text, then string similarity."""
        slug = category_slug(text)
        slugs = {category_slug(c): c for c in self.categories}
        if slug in slugs:
            return slugs[slug]
        words = set(slug.split("_"))
        contained = [c for s, c in slugs.items() if s in words or s.rstrip("s") in words or s in slug]
        if contained:
            return max(contained, key=len)
        scores = {c: difflib.SequenceMatcher(None, slug, s).ratio() for s, c in slugs.items()}
        return max(scores, key=scores.get)

    def prototype(self, text: str) -> np.ndarray:
        """Prototype points (K,3) of the nearest category."""
        category = self.nearest_category(text)
        if self.bank_dir is not None:
            return np.load(self.bank_dir / f"{category}.npz")["points"].astype(np.float32)
        return synthetic_prototype(category)


class RetrievalPrior(PriorSource):
    """Prior from the prototype bank: the category text picks the nearest prototype."""

    name = "retrieval"

    def __init__(self, num_points: int, bank: PriorBank) -> None:
        super().__init__(num_points)
        self.bank = bank

    def _make(self, category: str) -> np.ndarray:
        return self.bank.prototype(category)
