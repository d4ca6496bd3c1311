"""Real-format loader base (layout errors, cached index, lazy decoding) and the CPU rasteriser."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from common.data import base
from common.data import schema as S
from common.data.base import LayoutError, RealFormatDataset
from common.data.render import rasterize, render_mesh
from common.data.schema import SchemaError
from common.data.synthetic.objects import lathe


class TinyPoseDataset(RealFormatDataset):
    """A toy layout: <root>/annotations/<split>.json listing images under <root>/images/."""

    docs = "docs/data.md#tiny"
    builds = 0

    def expected_files(self) -> list[str]:
        return [f"annotations/{self.split}.json", "images/*.png"]

    def build_index(self) -> list[dict[str, Any]]:
        type(self).builds += 1
        return json.loads((self.root / "annotations" / f"{self.split}.json").read_text())

    def load_sample(self, record: dict[str, Any]) -> dict[str, Any]:
        return {S.IMAGE: base.read_image(self.root / record["file"]), S.JOINTS_2D: np.array(record["uv"]),
                S.FRAME_ID: record["frame"]}


def _write_fixture(root: Path, frames: int = 3) -> None:
    (root / "images").mkdir(parents=True)
    (root / "annotations").mkdir()
    records = []
    for i in range(frames):
        cv2.imwrite(str(root / "images" / f"{i}.png"), np.full((8, 10, 3), 40 * i, np.uint8))
        records.append({"file": f"images/{i}.png", "uv": [[1.0, 2.0]] * 4, "frame": i})
    (root / "annotations" / "val.json").write_text(json.dumps(records))


def test_layout_error_lists_expected_files_first_missing_and_docs(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    cv2.imwrite(str(tmp_path / "images" / "0.png"), np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(LayoutError) as err:
        TinyPoseDataset(tmp_path, "val", cache_dir=tmp_path / "cache")
    text = str(err.value)
    assert "first missing: annotations/val.json" in text and "[ok] images/*.png" in text
    assert "[MISSING] annotations/val.json" in text and "docs/data.md#tiny" in text
    with pytest.raises(LayoutError, match="does not exist"):
        TinyPoseDataset(tmp_path / "nowhere", "val", cache_dir=tmp_path / "cache")


def test_index_is_cached_and_images_decode_lazily(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_fixture(tmp_path / "data")
    reads: list[str] = []
    real_read = base.read_image
    monkeypatch.setattr(base, "read_image", lambda p: reads.append(str(p)) or real_read(p))
    TinyPoseDataset.builds = 0
    first = TinyPoseDataset(tmp_path / "data", "val", cache_dir=tmp_path / "cache")
    second = TinyPoseDataset(tmp_path / "data", "val", cache_dir=tmp_path / "cache")
    assert TinyPoseDataset.builds == 1 and not first.index_from_cache and second.index_from_cache
    assert reads == [] and len(second) == 3
    item = second[2]
    assert len(reads) == 1 and item[S.IMAGE].shape == (3, 8, 10)
    assert item[S.IMAGE].max() == pytest.approx(80 / 255)


def test_getitem_validates_and_names_the_record(tmp_path: Path) -> None:
    _write_fixture(tmp_path / "data")
    records = json.loads((tmp_path / "data/annotations/val.json").read_text())
    records[1]["uv"] = [[1.0, 2.0, 3.0]]
    (tmp_path / "data/annotations/val.json").write_text(json.dumps(records))
    dataset = TinyPoseDataset(tmp_path / "data", "val", cache_dir=tmp_path / "cache")
    dataset[0]
    with pytest.raises(SchemaError, match=r"(?s)TinyPoseDataset\(.*\)\[1\].*joints_2d: shape \(1, 3\)"):
        dataset[1]


def test_render_sphere_matches_analytic_silhouette_and_depth() -> None:
    t = np.linspace(-np.pi / 2, np.pi / 2, 60)
    verts, faces = lathe(np.stack([np.cos(t), np.sin(t)], -1) * 0.3, 120)
    verts = verts + np.array([0.1, -0.05, 2.0])
    K = np.array([[300.0, 0, 111.5], [0, 300.0, 111.5], [0, 0, 1]])
    rgb, depth, mask = render_mesh(verts, faces, K, (224, 224), colors=(1.0, 0.0, 0.0))
    ys, xs = np.mgrid[0:224, 0:224]
    rays = np.stack([(xs - 111.5) / 300, (ys - 111.5) / 300, np.ones_like(xs, float)], -1)
    center = np.array([0.1, -0.05, 2.0])
    b = rays @ center
    disc = b ** 2 - (rays ** 2).sum(-1) * (center @ center - 0.09)
    inside = disc > 0
    assert abs(int(mask.sum()) - int(inside.sum())) < 0.02 * inside.sum()
    assert (mask ^ inside).sum() < 0.05 * inside.sum()
    exact = (b - np.sqrt(np.where(inside, disc, 0))) / (rays ** 2).sum(-1)
    core = inside & mask & (disc > 0.3 * disc.max())
    np.testing.assert_allclose(depth[core], exact[core], atol=3e-3)
    assert (rgb[mask][:, 0] > 0).all() and (rgb[mask][:, 1:] == 0).all() and (rgb[~mask] == 0).all()


def test_zbuffer_keeps_the_nearest_face_whatever_the_order() -> None:
    near = np.array([[-1.0, -1.0, 2.0], [1.0, -1.0, 2.0], [0.0, 1.0, 2.0]])
    far = near * [2.5, 2.5, 1.0] + [0.0, 0.0, 1.0]
    K = np.array([[50.0, 0, 31.5], [0, 50.0, 31.5], [0, 0, 1]])
    for order in ((0, 1), (1, 0)):
        verts = np.concatenate([near, far])
        faces = np.array([[0, 1, 2], [3, 4, 5]])[list(order)]
        face_ids, depth = rasterize(verts, faces, K, (64, 64))
        nearest_face = order.index(0)
        assert face_ids[31, 31] == nearest_face and depth[31, 31] == pytest.approx(2.0)
        assert set(np.unique(face_ids)) == {-1, 0, 1}
