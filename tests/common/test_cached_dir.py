"""`common.cache.cached_dir`: parallel runs sharing a cache never see a partial folder and all get the same set."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest

from common.cache import cached_dir

FILES = 20


def slow_writer(folder: Path) -> None:
    """Twenty files, one every 10 ms: long enough for a second process to look at a half-written set."""
    for i in range(FILES):
        (folder / f"part_{i:02d}.txt").write_text(str(i))
        time.sleep(0.01)


def build_and_list(root: str, queue: multiprocessing.Queue) -> None:
    """Child: ask for the set, then report the files it found there."""
    out = cached_dir(root, slow_writer, "spec.json", '{"v": 1}')
    queue.put(sorted(p.name for p in Path(out).iterdir()))


def test_concurrent_writers_each_get_the_whole_set(tmp_path: Path) -> None:
    root = tmp_path / "cache" / "set"
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=build_and_list, args=(str(root), queue)) for _ in range(3)]
    for p in procs:
        p.start()
    listings = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    expected = sorted([f"part_{i:02d}.txt" for i in range(FILES)] + ["spec.json"])
    assert listings == [expected] * 3
    assert sorted(p.name for p in root.parent.iterdir()) == ["set"]          # no temporary folder left behind


def test_reuses_a_finished_set_and_replaces_an_older_one(tmp_path: Path) -> None:
    root = tmp_path / "set"
    calls: list[Path] = []

    def write(folder: Path) -> None:
        calls.append(folder)
        (folder / "data.txt").write_text(f"call {len(calls)}")

    cached_dir(root, write, "spec.json", "v1")
    cached_dir(root, write, "spec.json", "v1")
    assert len(calls) == 1 and (root / "data.txt").read_text() == "call 1"
    cached_dir(root, write, "spec.json", "v2")
    assert len(calls) == 2 and (root / "data.txt").read_text() == "call 2"
    assert (root / "spec.json").read_text() == "v2"


def test_refuses_a_foreign_non_empty_folder(tmp_path: Path) -> None:
    root = tmp_path / "mine"
    root.mkdir()
    (root / "thesis.tex").write_text("do not delete")
    with pytest.raises(FileExistsError, match=r"holds no spec\.json"):
        cached_dir(root, lambda folder: None, "spec.json", "v1")
    assert (root / "thesis.tex").read_text() == "do not delete"
