"""Generated prior: captioner -> text-to-image -> image-to-point-cloud, each a pluggable local-weights loader.

The real components are InstructBLIP (transformers), a diffusers text-to-image pipeline (e.g. FLUX.1) and
Point-E. diffusers and point-e are optional: they are imported only when their loader is built, so the
package never depends on them. Weights are read from local paths only; a missing path raises
FileNotFoundError unless the stand-in of that step is configured.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from tiger.prior.base import PriorSource

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
            f"or use the stand-in (model.prior.{setting.split('_weights')[0]}=standin). No hub downloads are "
            "made at run time; see docs/tiger.md ('Generated priors').")
    return Path(path)


class InstructBlipCaptioner:
    """InstructBLIP through transformers from a local folder (e.g. a copy of Salesforce/instructblip-flan-t5-xl)."""

    def __init__(self, model_dir: str | Path | None, device: str = "cpu", num_beams: int = 5) -> None:
        path = _require_path(model_dir, "InstructBLIP", "captioner_weights")
        from transformers import InstructBlipForConditionalGeneration, InstructBlipProcessor

        self.processor = InstructBlipProcessor.from_pretrained(path, local_files_only=True)
        self.model = InstructBlipForConditionalGeneration.from_pretrained(path, local_files_only=True).to(device)
        self.device = device
        self.num_beams = num_beams

    def __call__(self, image: np.ndarray | None, hint: str) -> str:
        from PIL import Image

        if image is None:
            raise ValueError("InstructBLIP captioning needs the input image")
        inputs = self.processor(images=Image.fromarray(image), text=CAPTION_PROMPT, return_tensors="pt")
        out = self.model.generate(**inputs.to(self.device), do_sample=False, num_beams=self.num_beams,
                                  max_length=256, min_length=1)
        return self.processor.batch_decode(out, skip_special_tokens=True)[0]


class DiffusersTextToImage:
    """A diffusers text-to-image pipeline (e.g. FLUX.1-schnell) from a local folder; diffusers is optional."""

    def __init__(self, model_dir: str | Path | None, steps: int = 4, guidance: float = 0.0,
                 size: int = 512, device: str = "cpu") -> None:
        path = _require_path(model_dir, "text-to-image (diffusers)", "text_to_image_weights")
        try:
            import diffusers
        except ImportError as err:
            raise ImportError("the diffusers text-to-image loader needs `pip install diffusers` "
                              "(optional, not a project dependency)") from err
        import torch

        dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
        self.pipe = diffusers.DiffusionPipeline.from_pretrained(path, torch_dtype=dtype,
                                                                local_files_only=True).to(device)
        self.steps, self.guidance, self.size = steps, guidance, size

    def __call__(self, prompt: str) -> GeneratedImage:
        image = self.pipe(prompt, height=self.size, width=self.size, guidance_scale=self.guidance,
                          num_inference_steps=self.steps).images[0]
        return GeneratedImage(rgb=np.asarray(image.convert("RGB")))


class PointEImageToPoints:
    """Point-E image-conditioned base40M + upsampler from pre-placed checkpoints; point-e is optional."""

    def __init__(self, cache_dir: str | Path | None, device: str = "cpu") -> None:
        path = _require_path(cache_dir, "Point-E (base_40m.pt, upsample_40m.pt)", "image_to_points_weights")
        for name in ("base_40m.pt", "upsample_40m.pt"):
            _require_path(path / name, f"Point-E {name}", "image_to_points_weights")
        try:
            import torch
            from point_e.diffusion.configs import DIFFUSION_CONFIGS, diffusion_from_config
            from point_e.diffusion.sampler import PointCloudSampler
            from point_e.models.configs import MODEL_CONFIGS, model_from_config
            from point_e.models.download import load_checkpoint
        except ImportError as err:
            raise ImportError("the Point-E loader needs point-e installed from its repository "
                              "(optional, not a project dependency)") from err
        dev = torch.device(device)
        models, diffusions = [], []
        for name in ("base40M", "upsample"):
            model = model_from_config(MODEL_CONFIGS[name], dev)
            model.load_state_dict(load_checkpoint(name, dev, cache_dir=str(path)))
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


class HintCaptioner:
    """Stand-in captioner: answers with the given category text in InstructBLIP's answer format."""

    def __call__(self, image: np.ndarray | None, hint: str) -> str:
        return f"In this image, the hand is holding a {hint}."


class PrototypeRenderer:
    """Stand-in text-to-image: renders one synthetic instance of the prompt's category on a clean background."""

    def __init__(self, vocabulary: list[str], size: int = 96, seed: int = 777) -> None:
        from scipy.spatial.transform import Rotation

        self.vocabulary, self.size, self.seed = vocabulary, size, seed
        upright = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])   # object +z -> image up
        self.view = Rotation.from_euler("x", -20, degrees=True).as_matrix() @ upright  # seen from slightly above

    def __call__(self, prompt: str) -> GeneratedImage:
        from common.data.render import render_mesh
        from common.data.synthetic import make_object

        category = parse_category(prompt.replace("A ", "holding a ", 1), self.vocabulary)
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


class GeneratedPrior(PriorSource):
    """Captioner -> category -> text-to-image -> image-to-points; one prior per category."""

    name = "generated"

    def __init__(self, num_points: int, captioner: Captioner, text_to_image: TextToImage,
                 image_to_points: ImageToPoints, vocabulary: list[str] | None = None,
                 cache_dir: str | Path | None = None, tag: str = "local") -> None:
        super().__init__(num_points, cache_dir)
        self.name = f"generated_{tag}"
        self.needs_image = not isinstance(captioner, HintCaptioner)
        self.captioner, self.text_to_image, self.image_to_points = captioner, text_to_image, image_to_points
        self.vocabulary = vocabulary

    def category_of(self, image: np.ndarray | None, category_text: str) -> str:
        """Category parsed from the captioner's answer to CAPTION_PROMPT."""
        return parse_category(self.captioner(image, category_text), self.vocabulary)

    def _make(self, category: str) -> np.ndarray:
        return self.image_to_points(self.text_to_image(IMAGE_PROMPT.format(category=category)))
