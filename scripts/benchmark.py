"""Run benchmarks: `python scripts/benchmark.py all | metrics | <paper> | gpu [paper ...]`.

Comparison benchmarks (all, metrics, a paper) time ours against a reference interleaved on the same inputs
(common/benchmarking.py), merge their rows into results/benchmarks.json and rewrite results/benchmarks.md;
the exit status is 1 when any row's outputs disagree. `--check-against FILE` also compares every speed-up
with a previous run's json (each must fall within the other's stated spread). `gpu` measures each paper's
training throughput, peak memory, MFU and data-loader rate (common/throughput.py) into
results/benchmarks_gpu.json and results/benchmarks_gpu.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch

from common.benchmarking import Comparison, available, load

RESULTS = Path(__file__).resolve().parents[1] / "results"


def _machine() -> dict[str, object]:
    """What the figures were measured on."""
    return {"python": platform.python_version(), "torch": torch.__version__, "cpu": platform.processor()
            or platform.machine(), "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime())}


def _fmt_s(seconds: float) -> str:
    return f"{seconds * 1e3:.3g} ms" if seconds < 1 else f"{seconds:.3g} s"


NOT_MEASURED = [
    "contact pipeline frames/s: `kinematics.hoi_refine.ContactRefiner.refine` batched over frames differs from one "
    "solve per frame by up to 0.22 m (joints, 8 frames; per-problem MLP initialisation depends on the batch), so "
    "no speed-up is stated until both agree within a tolerance; batching chains into one solve is not done.",
    "synthetic data loaders through `__getitems__`: the shared generators with one body-model forward per sample "
    "were removed (no paper used them); each paper's generator writes or caches its samples before training, and "
    "`scripts/benchmark.py gpu` shows the loaders are faster than the model steps (results/benchmarks_gpu.md).",
]
"""Issue-21 rows without a measured comparison, and why (printed under the tables)."""


def _cell(text: str) -> str:
    """Text safe inside a markdown table cell."""
    return str(text).replace("|", "\\|")


def markdown(sections: dict[str, dict]) -> str:
    """The results page: one table per benchmark, speed-ups with their spread and both verdicts."""
    lines = ["# Benchmarks: ours against a reference, interleaved", "",
             "Written by `python scripts/benchmark.py all` (common/benchmarking.py). Each row runs both contenders on "
             "the same inputs: one warm-up call each (outputs compared there; `agree` fails beyond the stated "
             "tolerance), then at least 11 rounds alternating which goes first. **speed-up** = reference time / "
             "our time per round (> 1: ours faster), median [10th-90th percentile], from thread-CPU time unless the "
             "row says wall; times are medians of wall and thread-CPU seconds, one intra-op thread.", ""]
    for name, section in sections.items():
        error = f"**This benchmark failed:** `{section['error']}`" if "error" in section else ""
        lines += [f"## {name}", "", *([error, ""] if error else []),
                  f"Measured {section['machine']['date_utc']} UTC on "
                  f"{section['machine']['cpu_count']} CPUs, torch {section['machine']['torch']}"
                  + (f", {section['machine']['cuda']}" if section["machine"]["cuda"] else "") + ".", "",
                  "| row | ours | reference | speed-up [spread] | ours wall / CPU | reference wall / CPU | "
                  "outputs | target |", "|---|---|---|---|---|---|---|---|"]
        for r in section["rows"]:
            verdict = "" if r["target_met"] is None else (" met" if r["target_met"] else " NOT met")
            target = f"{r['target']}{verdict}" if r["target"] else "-"
            agree = (f"agree ({r['difference']:.2g} <= {r['tolerance']:g}, {r['difference_note']})" if r["agree"]
                     else f"**DISAGREE** ({r['difference']:.3g} > {r['tolerance']:g}, {r['difference_note']})")
            note = f" — {r['notes']}" if r["notes"] else ""
            note += " (wall clock)" if r.get("clock") == "wall" else ""
            lines.append(f"| {_cell(r['name'] + note)} | {_cell(r['ours'])} | {_cell(r['reference'])} | "
                         f"**{r['speedup']:.2f}x** "
                         f"[{r['speedup_lo']:.2f}-{r['speedup_hi']:.2f}] | {_fmt_s(r['ours_wall_s'])} / "
                         f"{_fmt_s(r['ours_cpu_s'])} | {_fmt_s(r['reference_wall_s'])} / "
                         f"{_fmt_s(r['reference_cpu_s'])} | {_cell(agree)} | {target} |")
        lines.append("")
    lines += ["## Not measured", "", *[f"- {text}" for text in NOT_MEASURED], ""]
    return "\n".join(lines)


def check_against(current: dict[str, dict], previous: dict[str, dict]) -> list[str]:
    """Rows whose speed-up falls outside the other run's spread (in either direction)."""
    problems = []
    for name, section in current.items():
        old_rows = {r["name"]: r for r in previous.get(name, {}).get("rows", [])}
        for r in section["rows"]:
            old = old_rows.get(r["name"])
            if old is None:
                continue
            inside = (old["speedup_lo"] <= r["speedup"] <= old["speedup_hi"]
                      or r["speedup_lo"] <= old["speedup"] <= r["speedup_hi"])
            if not inside:
                problems.append(f"{name} / {r['name']}: {r['speedup']:.2f}x [{r['speedup_lo']:.2f}-"
                                f"{r['speedup_hi']:.2f}] vs previous {old['speedup']:.2f}x "
                                f"[{old['speedup_lo']:.2f}-{old['speedup_hi']:.2f}]")
    return problems


def run_comparisons(names: list[str], out_dir: Path) -> dict[str, dict]:
    """Run the named comparison benchmarks, merge them into out_dir/benchmarks.json and rewrite the md."""
    path = out_dir / "benchmarks.json"
    sections = json.loads(path.read_text()) if path.is_file() else {}
    fresh = {}
    for name in names:
        start = time.perf_counter()
        try:
            rows: list[Comparison] = load(name)()
        except Exception:  # one broken benchmark must not lose the others' rows; it fails the run below
            traceback.print_exc()
            fresh[name] = {"machine": _machine(), "seconds": time.perf_counter() - start, "rows": [],
                           "error": traceback.format_exc(limit=1).strip().splitlines()[-1]}
            continue
        fresh[name] = {"machine": _machine(), "seconds": time.perf_counter() - start,
                       "rows": [r.as_dict() for r in rows]}
        for r in rows:
            print(f"{name:10s} {r.name:60s} {r.speedup:6.2f}x [{r.speedup_lo:.2f}-{r.speedup_hi:.2f}] "
                  f"{'agree' if r.agree else 'DISAGREE'} {r.target} {'' if r.target_met is None else r.target_met}",
                  flush=True)
    sections.update(fresh)
    out_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(sections, indent=1) + "\n")
    (out_dir / "benchmarks.md").write_text(markdown({k: sections[k] for k in sorted(sections)}))
    return fresh


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="+", help="all, gpu, metrics, or paper names")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder (default: results/)")
    parser.add_argument("--check-against", type=Path, default=None,
                        help="a previous benchmarks.json: fail when a speed-up leaves the other run's spread")
    parser.add_argument("--tiny", action="store_true", help="gpu: tiny sizes (the CPU smoke test)")
    args = parser.parse_args(argv)
    if args.names[0] == "gpu":
        from common.throughput import run_throughput

        return run_throughput(args.names[1:], args.out, tiny=args.tiny)
    names = available() if args.names == ["all"] else args.names
    previous = json.loads(args.check_against.read_text()) if args.check_against else None
    fresh = run_comparisons(names, args.out)
    failed = [f"{n} / {r['name']}" for n, s in fresh.items() for r in s["rows"] if not r["agree"]]
    failed += [f"{n}: {s['error']}" for n, s in fresh.items() if "error" in s]
    for row in failed:
        print(f"DISAGREE: {row}", file=sys.stderr)
    drift = check_against(fresh, previous) if previous is not None else []
    for row in drift:
        print(f"OUTSIDE SPREAD: {row}", file=sys.stderr)
    return 1 if failed or drift else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
