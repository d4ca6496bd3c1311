"""The generated prior as an offline stage: caption every image (or object), generate one prior per category,
write a versioned cache; training and evaluation only read it (`GeneratedPriorCache`).

Cache folder: `<model.prior.cache_dir>/tiger_generated_priors/v<VERSION>_<key>/` with `manifest.json`
(captions, categories, files), `points/<category>.npz` and the generated images `images/<category>.png`.
The key hashes every setting that determines the content: the three components and their weights, the
sampling settings, the number of points, the caption granularity and the dataset (source, root, splits).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from common.cache import cache_key, cache_path
from tiger.config import PriorConfig, TigerDataConfig
from tiger.prior.base import PriorSource, canonicalize, category_slug, farthest_point_resample
from tiger.prior.generated import (
    IMAGE_PROMPT,
    Captioner,
    DepthLiftToPoints,
    DiffusersTextToImage,
    ImageToPoints,
    InstructBlipCaptioner,
    OracleCaptioner,
    PointEImageToPoints,
    ProceduralRenderer,
    TextToImage,
    parse_category,
)

log = logging.getLogger(__name__)
CACHE_VERSION = 1
MANIFEST = "manifest.json"


def pipeline_settings(prior: PriorConfig, data: TigerDataConfig) -> dict[str, Any]:
    """Every setting that determines the cache content (hashed into the folder name)."""
    return {"captioner": prior.captioner, "captioner_weights": prior.captioner_weights,
            "text_to_image": prior.text_to_image, "text_to_image_weights": prior.text_to_image_weights,
            "steps": prior.text_to_image_steps, "guidance": prior.text_to_image_guidance,
            "size": prior.text_to_image_size, "image_to_points": prior.image_to_points,
            "image_to_points_weights": prior.image_to_points_weights, "clip": prior.point_e_clip_dir,
            "num_points": prior.num_points, "caption_per": prior.caption_per, "data_source": data.source,
            "data_root": str(Path(data.root).resolve()) if data.root else None,
            "splits": [data.train_split, data.eval_split], "max_samples": data.max_samples,
            "num_frames": [data.num_train, data.num_test], "ids": [data.train_ids, data.eval_ids],
            "synthetic": [data.seed, data.image_hw] if data.source == "synthetic" else None}


def cache_folder(prior: PriorConfig, data: TigerDataConfig) -> Path:
    """Versioned cache folder of this prior pipeline on this dataset."""
    if prior.cache_dir is None:
        raise ValueError("model.prior.cache_dir is not set (the task fills it from paths.cache_dir)")
    key = cache_key(CACHE_VERSION, pipeline_settings(prior, data))
    return cache_path(prior.cache_dir, "tiger_generated_priors", f"v{CACHE_VERSION}_{key}", "")


def build_components(prior: PriorConfig, vocabulary: list[str] | None,
                     device: str) -> tuple[Captioner, TextToImage, ImageToPoints]:
    """The configured captioner, text-to-image and image-to-points (real ones need local weights)."""
    captioner = (OracleCaptioner() if prior.captioner == "oracle"
                 else InstructBlipCaptioner(prior.captioner_weights, device))
    text_to_image = (ProceduralRenderer(vocabulary or []) if prior.text_to_image == "procedural"
                     else DiffusersTextToImage(prior.text_to_image_weights, prior.text_to_image_steps,
                                               prior.text_to_image_guidance, prior.text_to_image_size, device))
    image_to_points = (DepthLiftToPoints() if prior.image_to_points == "depth_lift"
                       else PointEImageToPoints(prior.image_to_points_weights, prior.point_e_clip_dir, device))
    return captioner, text_to_image, image_to_points


def caption_key(prior: PriorConfig, split: str, sample_id: str, object_model: str) -> str:
    """Key of a caption in the manifest: one per image (`<split>/<id>`) or per object model (`model/<name>`)."""
    return f"{split}/{sample_id}" if prior.caption_per == "image" else f"model/{object_model}"


def _publish(staging: Path, final: Path) -> None:
    """Rename the staged folder onto `final`; if a concurrent writer published the same key first, keep its
    folder (same settings, same content) and drop ours, so a reader never sees a half-replaced cache."""
    try:
        os.replace(staging, final)
    except OSError:
        if not (final / MANIFEST).is_file():
            raise
        shutil.rmtree(staging, ignore_errors=True)


def make_prior_cache(prior: PriorConfig, data: TigerDataConfig, sources: list[Any],
                     vocabulary: list[str] | None, device: str = "cpu",
                     components: tuple[Captioner, TextToImage, ImageToPoints] | None = None) -> Path:
    """Caption the frames of `sources` (loaders with `describe(i)` and `split`), generate one prior per
    category and write the cache folder atomically; returns it. Runs in the calling process only."""
    from PIL import Image

    from common.data.base import read_image

    captioner, text_to_image, image_to_points = components or build_components(prior, vocabulary, device)
    captions: dict[str, str] = {}
    categories: dict[str, str] = {}
    for source in sources:
        for i in range(len(source)):
            info = source.describe(i)
            key = caption_key(prior, source.split, info["sample_id"], info["object_model"])
            if key in captions:
                continue
            image = None
            if not isinstance(captioner, OracleCaptioner):
                image = (np.clip(read_image(info["image_path"]), 0, 1).transpose(1, 2, 0) * 255).astype(np.uint8)
            captions[key] = captioner(image, info["category"])
            categories[key] = parse_category(captions[key], vocabulary)
    final = cache_folder(prior, data)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging_", dir=final.parent))
    (staging / "points").mkdir()
    (staging / "images").mkdir()
    files = {}
    for category in sorted(set(categories.values())):
        generated = text_to_image(IMAGE_PROMPT.format(category=category))
        points = farthest_point_resample(canonicalize(image_to_points(generated)), prior.num_points)
        slug = category_slug(category)
        np.savez_compressed(staging / "points" / f"{slug}.npz", points=points, category=category)
        Image.fromarray(generated.rgb).save(staging / "images" / f"{slug}.png")
        files[category] = f"points/{slug}.npz"
        log.info("generated prior for %r", category)
    manifest = {"version": CACHE_VERSION, "settings": pipeline_settings(prior, data), "captions": captions,
                "categories": categories, "points": files}
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    _publish(staging, final)
    log.info("wrote the generated prior cache %s (%d captions, %d categories)", final, len(captions), len(files))
    return final


class GeneratedPriorCache(PriorSource):
    """Reads the offline generated-prior cache; never runs a captioner or generator."""

    name = "generated"

    def __init__(self, prior: PriorConfig, data: TigerDataConfig) -> None:
        super().__init__(prior.num_points)
        self.prior_cfg = prior
        self.folder = cache_folder(prior, data)
        path = self.folder / MANIFEST
        if not path.is_file():
            raise FileNotFoundError(
                f"generated prior cache {self.folder} not found: run `python scripts/make_priors.py` with the "
                "same experiment / model.prior / data overrides first (docs/tiger.md#generated-priors)")
        manifest = json.loads(path.read_text())
        if manifest.get("version") != CACHE_VERSION:
            raise ValueError(f"{path} has cache version {manifest.get('version')}, this code reads "
                             f"{CACHE_VERSION}: re-run scripts/make_priors.py")
        self.categories: dict[str, str] = manifest["categories"]
        self.files: dict[str, str] = manifest["points"]

    def category_for(self, split: str, sample_id: str, object_model: str, category_text: str) -> str:
        """Category parsed from the cached caption of this image (or object model)."""
        key = caption_key(self.prior_cfg, split, sample_id, object_model)
        if key not in self.categories:
            raise KeyError(f"no cached caption for {key!r} in {self.folder}: the cache was made for other frames; "
                           "re-run scripts/make_priors.py with the same data settings")
        return self.categories[key]

    def _make(self, category: str) -> np.ndarray:
        if category not in self.files:
            raise KeyError(f"no cached prior for category {category!r} in {self.folder}")
        return np.load(self.folder / self.files[category])["points"].astype(np.float32)

    def points(self, category: str) -> np.ndarray:
        """The cached prior (already canonical and resampled to num_points)."""
        if category not in self._memory:
            self._memory[category] = self._make(category)
        return self._memory[category]
