"""BEHAVE reading, the CHORE test protocol and `reproduce data=real` on a BEHAVE-format fixture."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import yaml

from common.body import smpl_part_labels
from common.reproduce import Options, reproduce
from contact.behave import BehaveClips, BehaveLayoutError, centred_window
from kinematics.behave import chore_test_frames, frame_time, read_packed_recon, read_root_2d, read_smpl_fit
from kinematics.behave_frames import load_test_frames
from tests.contact.behave_fixture import GAP, OCCLUDED, write_behave_fixture

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def behave(tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("behave")
    root, cache = base / "behave", base / "cache"
    rough = root / "recon_vistracker"                       # where configs/data/*/behave.yaml look by default
    truth = write_behave_fixture(root, cache, rough)
    return {"root": root, "cache": cache, "rough": rough, "truth": truth}


def _clips(behave: dict, split: str, frames: int, **kw: object) -> BehaveClips:
    return BehaveClips(behave["root"], split, frames, smpl_part_labels(), body_models=None, smplh_standin=True,
                       cache_dir=behave["cache"], image_size=32, num_points=64, **kw)


def test_chair_sequences_indexed_and_gaps_never_bridged(behave: dict) -> None:
    clips = _clips(behave, "train", 3)
    seqs = [c.seq for c in clips.clips]
    assert seqs.count("Date01_Sub06_chairwood_sit") == 2                  # fits under chair/fit01/chair_fit.pkl
    assert seqs.count("Date01_Sub01_boxsmall_hand") == 1                  # t1-t3; t5-t6 too short after the gap
    for clip in clips.clips:
        times = [frame_time(f) for f in clip.frames]
        assert np.allclose(np.diff(times), 1.0)
        assert GAP not in clip.frames or "chair" in clip.seq


def test_ground_truth_is_the_gendered_smplh_mesh(behave: dict) -> None:
    clips = _clips(behave, "train", 3)
    for index in range(len(clips)):
        clip = clips[index]
        for t, frame in enumerate(clips.clips[index].frames):
            expected = behave["truth"]["frames"][(clips.clips[index].seq, frame)]["verts_cam"]
            np.testing.assert_allclose(clip["body_verts"][t].double().numpy(), expected, atol=2e-4)
    assert clip["labels"].shape == (3, 64) and (clip["labels"] < 14).any()


def test_chore_protocol_frames_and_windows(behave: dict) -> None:
    keys = chore_test_frames(behave["root"])
    assert len(keys) == 10 and OCCLUDED not in keys
    assert all(frame != GAP for seq, frame in keys if "boxsmall" in seq)
    clips = _clips(behave, "test", 3)
    windows = clips.test_windows(keys)
    assert [w.frames[1] for w in windows] == [f for _, f in keys]         # every scored frame is a middle frame
    assert centred_window(["t0005.000", "t0006.000"], "t0006.000", 3) == ["t0005.000", "t0006.000", "t0006.000"]


def test_openpose_root_and_rough_fits(behave: dict) -> None:
    parts = smpl_part_labels()
    data = load_test_frames(behave["root"], behave["rough"], parts, body_models=None, smplh_standin=True,
                            cache_dir=behave["cache"])
    assert len(data.keys) == 10 and set(data.genders) == {"male", "female"}
    seq, frame = data.keys[0]
    root = read_root_2d(behave["root"] / "sequences" / seq / frame, 1)
    np.testing.assert_allclose(data.root_2d[0].numpy(), root)
    for key, verts in zip(data.keys, data.gt_verts):
        np.testing.assert_allclose(verts, behave["truth"]["frames"][key]["verts_cam"], atol=2e-4)
    rough = data.rough_body(**data.rough.as_dict()).vertices.detach().numpy()
    error = np.linalg.norm(rough - data.gt_verts, axis=-1).mean()
    assert 0.005 < error < 0.2                                            # perturbed, camera-frame tracker bodies


def test_missing_file_names_path_and_docs(tmp_path: Path) -> None:
    (tmp_path / "split.json").write_text(json.dumps({"train": ["Date01_Sub01_boxsmall_hand"]}))
    with pytest.raises(BehaveLayoutError, match=r"Date01_Sub01_boxsmall_hand.*docs/contact\.md"):
        _clips({"root": tmp_path, "cache": tmp_path / "cache"}, "train", 3)


def _fixture_spec(paper: str, keep: set[str], folder: Path, extra: dict[str, list[str]]) -> None:
    """configs/reproduce/<paper>.yaml reduced to the rows in `keep` (+ published), fixture sizes appended."""
    spec = yaml.safe_load((REPO / "configs" / "reproduce" / f"{paper}.yaml").read_text())
    spec.pop("hooks")
    for table in spec["tables"]:
        table["rows"] = [r for r in table["rows"] if r["id"] in keep or r["kind"] == "published"]
        table["orderings"] = [o for o in table.get("orderings", []) if {o["better"], o["worse"]} <= keep]
        for row in table["rows"]:
            if "experiment" in row:
                real = row.setdefault("real", {})
                real["overrides"] = [*real.get("overrides", []), *extra[row["id"]]]
    spec["tables"] = [t for t in spec["tables"] if any(r["kind"] != "published" for r in t["rows"])]
    (folder / f"{paper}.yaml").write_text(yaml.safe_dump(spec))


def test_reproduce_real_writes_table1_and_table2(behave: dict, monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    """`scripts/reproduce.py paper=kinematics|contact data=real` on the fixture (rows and experiment configs of
    configs/reproduce/*.yaml, fixture sizes appended; the data root comes from paths.data_root)."""
    monkeypatch.setenv("EHP_DATA_ROOT", str(behave["root"].parent))
    monkeypatch.setenv("EHP_CACHE_DIR", str(behave["cache"]))
    small = ["data.smplh_standin=true", "data.eval_samples=300", "data.max_frames=3", "trainer.max_steps=20"]
    _fixture_spec("kinematics", {"neural", "rough"}, tmp_path, {"neural": small})
    tiny = ["data.smplh_standin=true", "data.max_test_frames=3", "data.image_size=32", "data.num_points=64",
            "data.frames=3", "model.img_channels=4", "model.hourglass_stacks=1", "model.hourglass_depth=1",
            "model.point_hidden=8", "model.gru_hidden=8"]
    _fixture_spec("contact", {"crrnet", "ours", "rough", "majority"}, tmp_path, {
        "crrnet": [*tiny, "trainer.max_steps=2", "trainer.eval_every=0", "trainer.ckpt_every=0"],
        "ours": [*tiny, "pipeline.eval_samples=300", "pipeline.ik_steps=20"]})
    opts = Options(data="real", seeds=1, jobs=2, results_dir=tmp_path / "results", output_root=tmp_path / "out")
    written = reproduce(["kinematics", "contact"], opts, directory=tmp_path)
    results = {paper: json.loads(paths[1].read_text()) for paper, paths in written.items()}
    for paper, title in (("kinematics", "Table 2"), ("contact", "Table 1")):
        tables = {t["name"]: t for t in results[paper]["tables"]}
        table = next(t for name, t in tables.items() if title in name or "trust region" in name)
        measured = [r for r in table["rows"] if r.get("kind") != "published"]
        assert measured
        for row in measured:
            value = row["metrics"]["pa_chamfer_human" if paper == "contact" else "pa_chamfer_cm"]["mean"]
            assert np.isfinite(value) and value > 0
    page = written["contact"][0].read_text()
    assert "CHORE protocol" in page and "Ours, paper-faithful" in page


def test_corrupt_files_are_named_with_the_field(tmp_path: Path) -> None:
    fit_dir = tmp_path / "t0001.000" / "person" / "fit02"
    fit_dir.mkdir(parents=True)
    (fit_dir / "person_fit.pkl").write_bytes(b"\x80\x04not a pickle")
    with pytest.raises(BehaveLayoutError, match=r"person_fit\.pkl: unreadable"):
        read_smpl_fit(tmp_path / "t0001.000")
    with (fit_dir / "person_fit.pkl").open("wb") as f:
        pickle.dump({"pose": np.zeros(156), "betas": np.zeros(10)}, f)
    with pytest.raises(BehaveLayoutError, match=r"person_fit\.pkl: field\(s\) \['trans'\] missing"):
        read_smpl_fit(tmp_path / "t0001.000")
    (tmp_path / "seq_k1.pkl").write_bytes(b"garbage")
    with pytest.raises(BehaveLayoutError, match=r"seq_k1\.pkl: unreadable"):
        read_packed_recon(tmp_path, "seq")
