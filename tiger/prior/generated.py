"""The generated prior's three steps: captioner -> text-to-image -> image-to-point-cloud (local weights only).

The real components are InstructBLIP (transformers), a diffusers text-to-image pipeline (FLUX.1) and Point-E.
diffusers and point-e are optional: imported only when their loader is built. A missing weights path raises
FileNotFoundError naming the config key. They run once, offline, in `scripts/make_priors.py`
(tiger/prior/offline.py); training reads the cache. The stand-ins are named for what they are: the
oracle captioner answers the ground-truth category, the procedural renderer draws one instance of the
synthetic primitive family, depth lift back-projects that rendering.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

CAPTION_PROMPT = "What is being held by hand?"
IMAGE_PROMPT = "A {category} in a clean surface"
_HOLDING = re.compile(r"hold(?:ing|s)?\s+(?:(?:a|an|the|some)\s+)?(?P<object>[a-z0-9 \-]+)", re.IGNORECASE)


@dataclass
class GeneratedImage:
    """Text-to-image output: `rgb` (H,W,3) uint8; stand-ins also give `depth` (H,W) metres, `K` (3,3) and the
    rotation from the drawn object's frame to the camera."""

    rgb: np.ndarray
    depth: np.ndarray | None = None
    K: np.ndarray | None = None
    object_to_camera: np.ndarray | None = None


class Captioner(Protocol):
    """Answers CAPTION_PROMPT about an RGB image (H,W,3) uint8; `hint` is only used by stand-ins."""

    def __call__(self, image: np.ndarray | None, hint: str) -> str: ...


class TextToImage(Protocol):
    """Synthesises a clean object image from a text prompt."""

    def __call__(self, prompt: str) -> GeneratedImage: ...


class ImageToPoints(Protocol):
    """Lifts an object image to a point cloud (K,3) in any object-centred frame."""

    def __call__(self, image: GeneratedImage) -> np.ndarray: ...


def parse_category(caption: str, vocabulary: list[str] | None = None) -> str:
    """Category from a caption such as 'In this image, the hand is holding a mug.' (mapped onto `vocabulary`)."""
    text = caption.strip().lower()
    match = _HOLDING.search(text)
    phrase = match.group("object") if match else text
    phrase = re.split(r"\b(?:in|on|with|from|and)\b", phrase)[0].strip(" .,-")
    if not vocabulary:
        return phrase
    words = phrase.replace("-", " ").split()
    for candidate in sorted(vocabulary, key=len, reverse=True):
        name = candidate.lower().replace("_", " ")
        if name in phrase or name.rstrip("s") in words or f"{name}s" in words:
            return candidate
    import difflib

    return max(vocabulary, key=lambda c: difflib.SequenceMatcher(None, phrase, c.lower()).ratio())


def _require_path(path: str | Path | None, what: str, setting: str) -> Path:
    if path is None or not Path(path).exists():
        raise FileNotFoundError(
            f"{what} weights not found at {path!r}. Place them locally and set model.prior.{setting}, "
            "No hub downloads are made at run time; see docs/tiger.md ('Generated priors').")
    return Path(path)


class InstructBlipCaptioner:
    """InstructBLIP through transformers from a local folder (e.g. a copy of Salesforce/instructblip-flan-t5-xl);
    bf16 on CUDA. Decoding as the HF model card: beam search 5, max_length 256."""

    def __init__(self, model_dir: str | Path | None, device: str = "cpu", num_beams: int = 5) -> None:
        path = _require_path(model_dir, "InstructBLIP", "captioner_weights")
        import torch
        from transformers import InstructBlipForConditionalGeneration, InstructBlipProcessor

        self.dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
        self.processor = InstructBlipProcessor.from_pretrained(path, local_files_only=True)
        self.model = InstructBlipForConditionalGeneration.from_pretrained(
            path, dtype=self.dtype, local_files_only=True).to(device).eval()
        self.device = device
        self.num_beams = num_beams

    def __call__(self, image: np.ndarray | None, hint: str) -> str:
        from PIL import Image

        if image is None:
            raise ValueError("InstructBLIP captioning needs the input image")
        inputs = self.processor(images=Image.fromarray(image), text=CAPTION_PROMPT, return_tensors="pt").to(self.device)
        inputs["pixel_values"] = inputs["pixel_values"].to(self.dtype)
        out = self.model.generate(**inputs, do_sample=False, num_beams=self.num_beams, max_length=256, min_length=1)
        return self.processor.batch_decode(out, skip_special_tokens=True)[0].strip()


class DiffusersTextToImage:
    """A diffusers text-to-image pipeline (e.g. FLUX.1-schnell) from a local folder; diffusers is optional."""

    def __init__(self, model_dir: str | Path | None, steps: int = 4, guidance: float = 0.0,
                 size: int = 512, device: str = "cpu", seed: int = 0) -> None:
        path = _require_path(model_dir, "text-to-image (diffusers)", "text_to_image_weights")
        try:
            import diffusers
        except ImportError as err:
            raise ImportError("the diffusers text-to-image loader needs `pip install diffusers` "
                              "(optional, not a project dependency)") from err
        import torch

        dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
        self.pipe = diffusers.DiffusionPipeline.from_pretrained(path, dtype=dtype,
                                                                local_files_only=True).to(device)
        self.steps, self.guidance, self.size, self.seed, self.device = steps, guidance, size, seed, device

    def __call__(self, prompt: str) -> GeneratedImage:
        import torch

        generator = torch.Generator(self.device).manual_seed(self.seed)
        image = self.pipe(prompt, height=self.size, width=self.size, guidance_scale=self.guidance,
                          num_inference_steps=self.steps, generator=generator).images[0]
        return GeneratedImage(rgb=np.asarray(image.convert("RGB")))


POINT_E_FILES = {"base40M": "base_40m.pt", "upsample": "upsample_40m.pt"}
"""Point-E checkpoint file of each model config (point_e/models/download.py)."""
CLIP_FILE = "ViT-L-14.pt"
"""CLIP ViT-L/14 file that Point-E's image conditioning loads from its cache_dir (clip.load download_root)."""


class PointEImageToPoints:
    """Point-E image-conditioned base40M + upsampler from pre-placed checkpoints; point-e is optional.

    Both checkpoints load strictly through common.models.loading; CLIP is read from `clip_dir` (passed to
    the models' `cache_dir`, so Point-E never looks in `<cwd>/point_e_model_cache` nor downloads).
    """

    def __init__(self, weights_dir: str | Path | None, clip_dir: str | Path | None, device: str = "cpu") -> None:
        from common.models.loading import load_pretrained

        path = _require_path(weights_dir, "Point-E (base_40m.pt, upsample_40m.pt)", "image_to_points_weights")
        for name in POINT_E_FILES.values():
            _require_path(path / name, f"Point-E {name}", "image_to_points_weights")
        clip = _require_path(clip_dir, f"CLIP for Point-E ({CLIP_FILE})", "point_e_clip_dir")
        _require_path(clip / CLIP_FILE, f"CLIP {CLIP_FILE}", "point_e_clip_dir")
        try:
            import torch
            from point_e.diffusion.configs import DIFFUSION_CONFIGS, diffusion_from_config
            from point_e.diffusion.sampler import PointCloudSampler
            from point_e.models.configs import MODEL_CONFIGS, model_from_config
        except ImportError as err:
            raise ImportError("the Point-E loader needs point-e installed from its repository "
                              "(optional, not a project dependency)") from err
        dev = torch.device(device)
        models, diffusions = [], []
        for name, file in POINT_E_FILES.items():
            model = model_from_config({**MODEL_CONFIGS[name], "cache_dir": str(clip)}, dev)
            load_pretrained(model, path / file)
            models.append(model.eval())
            diffusions.append(diffusion_from_config(DIFFUSION_CONFIGS[name]))
        self.sampler = PointCloudSampler(device=dev, models=models, diffusions=diffusions,
                                         num_points=[1024, 4096 - 1024], aux_channels=["R", "G", "B"],
                                         guidance_scale=[3.0, 3.0])

    def __call__(self, image: GeneratedImage) -> np.ndarray:
        from PIL import Image

        *_, samples = self.sampler.sample_batch_progressive(
            batch_size=1, model_kwargs={"images": [Image.fromarray(image.rgb)]})
        return np.asarray(self.sampler.output_to_point_clouds(samples)[0].coords, dtype=np.float32)


class OracleCaptioner:
    """Stand-in captioner: answers with the ground-truth category text in InstructBLIP's answer format."""

    def __call__(self, image: np.ndarray | None, hint: str) -> str:
        return f"In this image, the hand is holding a {hint}."


class ProceduralRenderer:
    """Stand-in text-to-image: renders one instance of the synthetic primitive family of the prompt's category
    (the family the synthetic test objects come from, so it is close to a retrieval prototype)."""

    def __init__(self, vocabulary: list[str], size: int = 96, seed: int = 777) -> None:
        from scipy.spatial.transform import Rotation

        self.vocabulary, self.size, self.seed = vocabulary, size, seed
        upright = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])   # object +z -> image up
        self.view = Rotation.from_euler("x", -20, degrees=True).as_matrix() @ upright  # seen from slightly above

    def __call__(self, prompt: str) -> GeneratedImage:
        from common.data.render import render_mesh
        from common.data.synthetic import make_object

        category = parse_category(prompt.replace("A ", "holding a ", 1), self.vocabulary)
        if category not in self.vocabulary:
            raise ValueError(f"the procedural renderer only draws the synthetic categories {self.vocabulary}; "
                             f"got {category!r} (use model.prior.text_to_image=diffusers on real data)")
        verts, faces, _ = make_object(category, np.random.default_rng(self.seed))
        verts = np.asarray(verts, dtype=np.float64)
        extent = np.linalg.norm(verts.max(0) - verts.min(0))
        cam = verts @ self.view.T + np.array([0.0, 0.0, 2.5 * extent])
        focal = self.size * 2.0
        K = np.array([[focal, 0, self.size / 2], [0, focal, self.size / 2], [0, 0, 1]])
        rgb, depth, _ = render_mesh(cam, np.asarray(faces), K, (self.size, self.size), None)
        return GeneratedImage(rgb=np.asarray(rgb), depth=np.asarray(depth), K=K, object_to_camera=self.view)


class DepthLiftToPoints:
    """Stand-in image-to-points: back-projects the rendered depth, mirrors it about the mid-depth plane and
    rotates it back to the object's axes (a real lifter such as Point-E also outputs an upright object)."""

    def __call__(self, image: GeneratedImage) -> np.ndarray:
        if image.depth is None or image.K is None:
            raise ValueError("the depth-lifting stand-in needs a stand-in image with depth and intrinsics")
        v, u = np.nonzero(np.isfinite(image.depth) & (image.depth > 0))
        z = image.depth[v, u]
        K = image.K
        front = np.stack([(u + 0.5 - K[0, 2]) / K[0, 0] * z, (v + 0.5 - K[1, 2]) / K[1, 1] * z, z], 1)
        back = front.copy()
        back[:, 2] = z.min() + z.max() - z
        points = np.concatenate([front, back], 0)
        if image.object_to_camera is not None:
            points = points @ image.object_to_camera       # back to the object's canonical axes (z up)
        return points.astype(np.float32)
