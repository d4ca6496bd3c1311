"""Results tables: json schema, markdown rendering and the reproduce entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from common.reproduce import PaperResult, Table, write_results

REPO = Path(__file__).resolve().parents[2]


def test_results_json_and_markdown(tmp_path):
    table = Table("Table 1", {"MPJPE": "lower", "AP": "higher"})
    table.add("ours", "ours", MPJPE=12.5, AP=0.7)
    table.add("paper", "published", MPJPE=10.0)
    table.add("mean pose", "baseline", MPJPE=80.0, AP=0.1)
    fig = tmp_path / "demo" / "fig.png"
    fig.parent.mkdir()
    fig.write_bytes(b"png")
    md, js = write_results(PaperResult("demo", "synthetic (stand-in SMPL)", [table], [fig]), tmp_path)
    data = json.loads(js.read_text())
    assert data["paper"] == "demo" and data["data"].startswith("synthetic")
    assert data["tables"][0]["metrics"] == {"MPJPE": "lower", "AP": "higher"}
    assert [r["kind"] for r in data["tables"][0]["rows"]] == ["ours", "published", "baseline"]
    text = md.read_text()
    assert "| ours | ours | 12.5 | 0.7 |" in text and "| paper | published | 10 | - |" in text
    assert text.index("mean pose") < text.index("| paper |"), "published rows are listed last"
    assert "](demo/fig.png)" in text


def test_row_with_unknown_metric_is_rejected():
    table = Table("T", {"ADE": "lower"})
    with pytest.raises(KeyError, match="FDE"):
        table.add("x", "ours", FDE=1.0)


def test_reproduce_rejects_unknown_arguments():
    out = subprocess.run([sys.executable, str(REPO / "scripts" / "reproduce.py"), "data=imagenet"],
                         capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode != 0 and "data=synthetic or data=real" in out.stderr


def test_save_figure_writes_png_into_new_folder_and_closes(tmp_path):
    import matplotlib.pyplot as plt

    from common.plotting import save_figure

    fig = plt.figure()
    path = save_figure(fig, tmp_path / "paper" / "fig.png", dpi=50)
    assert path == tmp_path / "paper" / "fig.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not plt.fignum_exists(fig.number)
