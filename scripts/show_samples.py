"""Draw a PNG grid of the synthetic samples a paper actually trains on, from that paper's own generator.

    python scripts/show_samples.py taihri|posellm|contact|eggflow|tiger|all [--out-dir docs/images] [--num 6]

Skeletons are drawn with bones and one colour per joint (the same colour for a joint in every tile); each
figure's title names the paper, the generator and the stand-in body model that made it. kinematics has no
images (its problems are joint sets), so it has no figure.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import cv2
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from common.body import MANO_PARENTS_21, SMPL_PARENTS

log = logging.getLogger("show_samples")
Tile = tuple[np.ndarray, str]
"""An annotated RGB uint8 image and its caption."""


def _joint_colours(count: int) -> np.ndarray:
    """(count,3) uint8 RGB, one hue per joint index."""
    return (plt.get_cmap("hsv")(np.linspace(0, 0.9, count))[:, :3] * 255).astype(np.uint8)


def draw_skeleton(rgb: np.ndarray, uv: np.ndarray, valid: np.ndarray, bones: list[tuple[int, int]],
                  scale: float = 1.0) -> np.ndarray:
    """RGB image upscaled by `scale` with white-edged bones between valid joints and per-joint coloured dots."""
    img = cv2.resize(np.ascontiguousarray(rgb), None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    pts = np.round(np.asarray(uv, np.float64) * scale + (scale - 1) / 2).astype(int)
    colours = _joint_colours(len(pts))
    for a, b in bones:
        if valid[a] and valid[b]:
            cv2.line(img, tuple(pts[a]), tuple(pts[b]), (255, 255, 255), 3, cv2.LINE_AA)
            cv2.line(img, tuple(pts[a]), tuple(pts[b]), tuple(int(c) for c in colours[b]), 1, cv2.LINE_AA)
    for j in np.flatnonzero(valid):
        cv2.circle(img, tuple(pts[j]), 3, tuple(int(c) for c in colours[j]), -1, cv2.LINE_AA)
    return img


def _tree_bones(parents: tuple[int, ...] | list[int]) -> list[tuple[int, int]]:
    return [(p, j) for j, p in enumerate(parents) if p >= 0]


def taihri_tiles(num: int, seed: int) -> tuple[list[Tile], str]:
    """taihri.data.EgoBodyScenes: egocentric close-range renders, 22 SMPL body joints (parts may leave)."""
    from taihri.config import TaihriDataConfig
    from taihri.data import EgoBodyScenes

    scenes, rng = EgoBodyScenes(TaihriDataConfig()), np.random.default_rng(seed)
    tiles = []
    for _ in range(num):
        s = scenes.sample(rng)
        rgb = (s["image"].transpose(1, 2, 0) * 255).astype(np.uint8)
        valid = np.asarray(s["joint_valid"], bool)
        tiles.append((draw_skeleton(rgb, s["joints_2d"], valid, _tree_bones(SMPL_PARENTS[:22]), 3.0),
                      f"{int(valid.sum())}/22 joints in view"))
    return tiles, "taihri: EgoBodyScenes (stand-in SMPL), 22 body joints"


def posellm_tiles(num: int, seed: int) -> tuple[list[Tile], str]:
    """posellm.synthetic.PersonRenderer: one person per image with the 17 COCO keypoints (v=1 occluded)."""
    from posellm.keypoints import COCO_KEYPOINTS, COCO_SKELETON
    from posellm.synthetic import PersonRenderer

    render, rng = PersonRenderer(128), np.random.default_rng(seed)
    tiles = []
    for _ in range(num):
        person = render(rng)
        kp = np.array([person["keypoints"][n] for n in COCO_KEYPOINTS], np.float64)
        tiles.append((draw_skeleton(person["image"], kp[:, :2], kp[:, 2] > 0, list(COCO_SKELETON), 2.0),
                      f"{int((kp[:, 2] == 2).sum())} visible, {int((kp[:, 2] == 1).sum())} occluded"))
    return tiles, "posellm: PersonRenderer (stand-in SMPL), 17 COCO keypoints"


def contact_tiles(num: int, seed: int) -> tuple[list[Tile], str]:
    """contact.synthetic.HOIClipGenerator: middle frame with object points coloured by contact part."""
    from contact.config import ContactDataConfig
    from contact.synthetic import HOIClipGenerator

    gen = HOIClipGenerator(ContactDataConfig())
    tiles = []
    for i in range(seed, seed + num):
        clip = gen.clip(i)
        mid = len(clip["images"]) // 2
        rgb = clip["images"][mid].transpose(1, 2, 0)
        uvw = clip["gt_object_points"][mid] @ clip["K"][mid].T
        uv = uvw[:, :2] / uvw[:, 2:]
        labels = clip["labels"][mid]
        scale = 4.0
        img = cv2.resize(np.ascontiguousarray(rgb), None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
        colours = _joint_colours(15)
        for (u, v), lab in zip(np.round(uv * scale).astype(int), labels):
            colour = (90, 90, 90) if lab == 14 else tuple(int(c) for c in colours[lab])
            cv2.circle(img, (u, v), 2, colour, -1, cv2.LINE_AA)
        tiles.append((img, f"{int((labels != 14).sum())}/{len(labels)} points in contact"))
    return tiles, "contact: HOIClipGenerator (stand-in SMPL), object points by contact part (grey: none)"


def eggflow_tiles(num: int, seed: int) -> tuple[list[Tile], str]:
    """eggflow.synthetic.generate_clip: the 4 observed egocentric frames of one clip and its task text."""
    from eggflow.synthetic import generate_clip

    clip = generate_clip(np.random.default_rng(seed))
    tiles = [(np.ascontiguousarray(f), f"frame {k + 1}/4: {clip.text}") for k, f in enumerate(clip.frames[:num])]
    return tiles, "eggflow: generate_clip, observed frames (hand joints drawn by the generator)"


def tiger_tiles(num: int, seed: int) -> tuple[list[Tile], str]:
    """tiger.data.synthetic: DexYCB-layout hand-object frames written to a temporary folder, MANO 21 joints."""
    from tiger.data.synthetic import SceneSpec, ensure_synthetic_dexycb

    tiles = []
    with tempfile.TemporaryDirectory() as tmp:
        root = ensure_synthetic_dexycb(tmp, SceneSpec(num_subjects=1, sequences_per_subject=num, cameras=1,
                                                      frames_per_sequence=1, seed=seed))
        for color in sorted(Path(root).rglob("color_*.jpg"))[:num]:
            labels = np.load(color.parent / color.name.replace("color_", "labels_").replace(".jpg", ".npz"))
            rgb = cv2.imread(str(color))[:, :, ::-1]
            amodal = labels["seg_amodal"].astype(bool)
            rgb = np.where(amodal[..., None], (0.7 * rgb + 0.3 * np.array([255, 0, 255])).astype(np.uint8), rgb)
            tiles.append((draw_skeleton(rgb, labels["joint_2d"][0], np.ones(21, bool),
                                        _tree_bones(MANO_PARENTS_21), 2.0), color.parent.parent.name))
    return tiles, "tiger: synthetic DexYCB-layout scenes (stand-in MANO), amodal object tinted"


PAPERS: dict[str, Callable[[int, int], tuple[list[Tile], str]]] = {
    "taihri": taihri_tiles, "posellm": posellm_tiles, "contact": contact_tiles, "eggflow": eggflow_tiles,
    "tiger": tiger_tiles}


def save_grid(tiles: list[Tile], title: str, path: Path, cols: int = 3) -> None:
    """Tiles in a grid with captions and a title stating data and body model."""
    rows = (len(tiles) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.4 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, (img, caption) in zip(axes.ravel(), tiles):
        ax.imshow(img)
        ax.set_title(caption[:48], fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paper", choices=[*PAPERS, "all"])
    parser.add_argument("--out-dir", type=Path, default=Path("docs/images"))
    parser.add_argument("--num", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for paper in PAPERS if args.paper == "all" else [args.paper]:
        tiles, title = PAPERS[paper](4 if paper == "eggflow" else args.num, args.seed)
        path = args.out_dir / f"samples_{paper}.png"
        save_grid(tiles, title, path, cols=4 if paper == "eggflow" else 3)
        log.info("wrote %s", path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
