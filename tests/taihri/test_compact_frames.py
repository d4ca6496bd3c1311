"""Column-wise frame records, lazy training and evaluation rows, the lean image warp, the final-model folder."""

from pathlib import Path

import cv2
import numpy as np
import pytest

import taihri.columns as columns
from common.data.base import read_image
from common.data.transforms import apply_affine
from taihri.api import FINAL, checkpoint_folder
from taihri.columns import Records
from taihri.config import TaihriDataConfig
from taihri.data import PromptRows, eval_rows, make_row, train_rows
from taihri.frames import Frames, image_dataset, model_input_affine, to_pil, warp_image_file
from taihri.prompts import eval_prompt, sample_prompt


def _records(count: int, rng: np.random.Generator) -> list[dict]:
    """Records of every value type the loaders store (arrays, nested lists, tuples, scalars, strings, None)."""
    return [{"K": rng.normal(size=(3, 3)).astype(np.float32), "joints": rng.normal(size=(24, 3)).tolist(),
             "hw": (480 + i % 2, 640), "frame": 100 + 7 * i, "scale": float(rng.random()), "valid": bool(i % 2),
             "image": f"egocentric_color/rec_{i % 3}/PV/{i:05d}_frame_{i:05d}.jpg", "sequence": f"rec_{i % 3}",
             "parts": None if i % 4 else ["left_arm", "upper_body"]} for i in range(count)]


def _assert_same(got: dict, want: dict) -> None:
    assert list(got) == list(want)
    for key, value in want.items():
        if isinstance(value, np.ndarray):
            assert got[key].dtype == value.dtype
            np.testing.assert_array_equal(got[key], value)
        else:
            assert type(got[key]) is type(value) and got[key] == value, key


def test_records_give_back_every_value_with_its_type(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(columns, "CHUNK", 7)                 # several chunks joined
    rng = np.random.default_rng(0)
    records = _records(30, rng)
    records[20]["joints"] = records[20]["joints"][:22]       # ragged in one chunk only: kept as a list
    table = columns.Records.from_dicts(iter(records))
    assert len(table) == 30
    for got, want in zip(table, records):
        _assert_same(got, want)
    _assert_same(table[-1], records[-1])
    assert table.column("K").shape == (30, 3, 3) and isinstance(table.columns["image"].values, columns.StringColumn)
    head = table.take([3, 1])
    _assert_same(head[0], records[3])
    _assert_same(head[1], records[1])
    table[0]["K"][0, 0] = 1e9                                 # a read record is a copy
    assert table[0]["K"][0, 0] != 1e9
    with pytest.raises(IndexError):
        table[30]
    with pytest.raises(ValueError, match="keys"):
        columns.Records.from_dicts([{"a": 1}, {"b": 1}])


def test_warp_image_file_equals_the_float_chw_path(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    path = tmp_path / "frame.jpg"
    cv2.imwrite(str(path), rng.integers(0, 255, (120, 160, 3), dtype=np.uint8))
    K = np.array([[140.0, 0, 81.3], [0, 140.0, 58.9], [0, 0, 1]])
    for crop in (None, 64):
        affine, out_hw = model_input_affine(K, (120, 160), 100.0, crop)
        reference = to_pil(apply_affine({"image": read_image(path)}, affine, out_hw)["image"])
        lean = warp_image_file(path, affine, out_hw)
        assert lean.size == reference.size and lean.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(lean), np.asarray(reference))
    with pytest.raises(FileNotFoundError):
        warp_image_file(tmp_path / "missing.jpg", affine, out_hw)


def _frames(count: int) -> Frames:
    rng = np.random.default_rng(2)
    samples = []
    for _ in range(count):
        joints = rng.uniform([-0.4, -0.4, 1.0], [0.4, 0.4, 2.0], (22, 3)).astype(np.float32)
        K = np.array([[80.0, 0, 47.5], [0, 80.0, 47.5], [0, 0, 1]], np.float32)
        uv = (joints[:, :2] / joints[:, 2:] * 80 + 47.5).astype(np.float32)
        samples.append({"image": rng.random((3, 96, 96)).astype(np.float32), "K": K, "joints_cam": joints,
                        "joints_2d": uv, "joint_valid": np.ones(22, bool)})
    return Frames.in_memory(samples)


def test_lazy_train_rows_equal_the_rows_drawn_one_by_one() -> None:
    frames, cfg = _frames(12), TaihriDataConfig(command_prob=0.5, prompts_per_sample=3, intrinsics_in_prompt=True)
    rows = train_rows(frames, cfg, seed=5, style="official", system_prompt="You are a helpful assistant")
    rng, expected = np.random.default_rng(5), []
    for frame in range(len(frames)):
        for _ in range(cfg.prompts_per_sample):
            part, text = sample_prompt(rng, cfg.command_prob)
            expected.append(make_row(frames.annotations[frame], frame, part, text, cfg, "official",
                                     "You are a helpful assistant"))
    assert len(rows) == len(expected) == 36
    assert [rows[i] for i in range(len(rows))] == expected and rows[2:5] == expected[2:5]
    dataset = image_dataset(rows, ("prompt", "completion", "uv"), lambda row: frames.image(row["frame"]))
    item = dataset[7]
    assert sorted(item) == ["completion", "image", "prompt", "uv"] and dataset.column_names == ["row_id"]
    assert item["prompt"] == expected[7]["prompt"] and item["uv"] == expected[7]["uv"]
    np.testing.assert_array_equal(np.asarray(item["image"]), np.asarray(frames.image(expected[7]["frame"])))


def test_lazy_eval_rows_equal_one_row_per_scored_part_and_shard_lazily() -> None:
    frames = _frames(5)
    cfg = TaihriDataConfig(eval_parts=["left_arm", "right_arm", "upper_body", "lower_body"])
    rows = eval_rows(frames, cfg, "official", None)
    expected = [{**make_row(frames.annotations[f], f, part, eval_prompt(part), cfg, "official"), "index": f}
                for f in range(len(frames)) for part in cfg.eval_parts]
    assert len(rows) == 20 and list(rows) == expected and rows.parts() == [r["part"] for r in expected]
    shard = rows.take([1, 3, 17])
    assert isinstance(shard, PromptRows) and list(shard) == [expected[1], expected[3], expected[17]]
    scored = Frames(Records.from_dicts({**a, "parts": None if i else ["right_arm"]}
                                       for i, a in enumerate(frames.annotations)), frames.sample)
    assert [(r["index"], r["part"]) for r in eval_rows(scored, cfg)][:5] == [
        (0, "right_arm"), (1, "left_arm"), (1, "right_arm"), (1, "upper_body"), (1, "lower_body")]


def test_checkpoint_folder_names_the_final_location(tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / FINAL).mkdir(parents=True)
    (run / FINAL / "config.json").write_text("{}")
    assert checkpoint_folder(run / FINAL) == run / FINAL
    with pytest.raises(FileNotFoundError, match=f"ckpt={run / 'checkpoints' / 'final'}"):
        checkpoint_folder(run / "final")
    with pytest.raises(FileNotFoundError, match="looks like a run dir"):
        checkpoint_folder(run)
