"""Run benchmarks: `python scripts/benchmark.py all | metrics | <paper> | gpu [paper ...] | data_scaling [paper ...]`.

Comparison benchmarks (all, metrics, a paper) time ours against a reference interleaved on the same inputs
(common/benchmarking.py), merge their rows into results/benchmarks.json and rewrite results/benchmarks.md;
the exit status is 1 when any row's outputs disagree. `--check-against FILE` also compares every speed-up
with a previous run's json (each must fall within the other's stated spread). `gpu` measures each paper's
training throughput, peak memory, MFU and data-loader rate (common/throughput.py) into
results/benchmarks_gpu.json and results/benchmarks_gpu.md. `data_scaling` measures the peak RSS of one epoch's
data pass of the real-data loaders (taihri, posellm) at N and 10N fixture frames against a preloading reference,
each point in a fresh process, into results/benchmarks_data_scaling.{json,md,png}; exit status 1 when the
10N/N ratio misses its target.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import tempfile
import time
import traceback
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch

from common.benchmarking import Comparison, DataScaling, available, load

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "results"


def _machine() -> dict[str, object]:
    """What the figures were measured on."""
    return {"python": platform.python_version(), "torch": torch.__version__, "cpu": platform.processor()
            or platform.machine(), "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime())}


def _fmt_s(seconds: float) -> str:
    return f"{seconds * 1e3:.3g} ms" if seconds < 1 else f"{seconds:.3g} s"


NOT_MEASURED = [
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


DATA_SCALING_PAPERS = ("taihri", "posellm")


def data_scaling_markdown(section: dict) -> str:
    """The data-scaling page: peak RSS above the post-import baseline at each frame count, ours and reference."""
    m = section["machine"]
    lines = ["# Data scaling: peak memory of one epoch's data pass at N and 10N frames", "",
             "Written by `python scripts/benchmark.py data_scaling` (common/benchmarking.py `data_scaling`). Each "
             "point runs three times, each in a fresh process, ours and the reference alternately, and the median is "
             "shown (our min-max in brackets: glibc's heap retention moves one process's peak by a few MiB); the "
             "loader's modules are imported, the peak-RSS mark is reset "
             "(/proc/self/clear_refs), then one epoch of the trainer's dataset is iterated through a torch DataLoader "
             "(every sample touched, num_workers=0 so all work is in the measured process); the figure is the peak "
             "RSS above the RSS after imports. **ratio** = peak at 10N / peak at N (target < 1.2x: memory does not "
             "grow with the number of frames); the preloading reference shows what holding the decoded images costs.",
             "", f"Measured {m['date_utc']} UTC on {m['cpu_count']} CPUs, torch {m['torch']}. "
             "Figure: [benchmarks_data_scaling.png](benchmarks_data_scaling.png).", "",
             "| paper | frames N / 10N | ours (MiB) N / 10N | ratio | reference (MiB) N / 10N | reference ratio | "
             "ours pass time 10N | target |", "|---|---|---|---|---|---|---|---|"]
    for r in section["rows"]:
        verdict = "met" if r["target_met"] else "**NOT met**"
        spread = " ({})".format(" / ".join(f"{lo:.1f}-{hi:.1f}" for lo, hi in r["ours_range"])) if r.get(
            "ours_range") else ""
        lines.append(f"| {r['name']} | {r['frames'][0]} / {r['frames'][-1]} | {r['ours_mib'][0]:.1f} / "
                     f"{r['ours_mib'][-1]:.1f}{spread} | **{r['ratio']:.2f}x** | {r['reference_mib'][0]:.1f} / "
                     f"{r['reference_mib'][-1]:.1f} | {r['reference_ratio']:.2f}x | {_fmt_s(r['ours_seconds'][-1])} "
                     f"| < {r['target_ratio']:g}x {verdict} |")
    lines += [""] + [f"- **{r['name']}**: ours = {_cell(r['ours'])}; reference = {_cell(r['reference'])}; "
                     f"{_cell(r['notes'])}; samples per pass {r['samples'][0]} / {r['samples'][-1]}."
                     for r in section["rows"]]
    if section.get("errors"):
        lines += ["", *[f"- **{name} failed:** `{error}`" for name, error in section["errors"].items()]]
    return "\n".join(lines) + "\n"


def data_scaling_figure(rows: list[dict], path: Path) -> None:
    """Peak RSS vs frames, ours against the preloading reference, one panel per paper."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(rows), figsize=(4.2 * len(rows), 3.4), squeeze=False)
    for ax, r in zip(axes[0], rows):
        ax.plot(r["frames"], r["ours_mib"], "o-", label=f"ours (lazy), {r['ratio']:.2f}x")
        ax.plot(r["frames"], r["reference_mib"], "s--", label=f"preloaded, {r['reference_ratio']:.2f}x")
        ax.set(title=r["name"], xlabel="fixture frames (640x480 JPEG)", ylabel="peak RSS above baseline (MiB)",
               ylim=(0, None))
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_data_scaling(papers: list[str], out_dir: Path, frames: list[int] | None) -> int:
    """Measure each paper's `benchmark.data_scaling`, write the json, md and png; 1 when a target is missed."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))          # the fixtures are written by the tests' format writers (tests/)
    rows: list[DataScaling] = []
    errors: dict[str, str] = {}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="data_scaling_") as tmp:
        for paper in papers:
            try:
                fn = importlib.import_module(f"{paper}.benchmark").data_scaling
                rows.append(fn(Path(tmp) / paper, frames) if frames else fn(Path(tmp) / paper))
            except Exception:  # one broken paper must not lose the other's figure; it fails the run below
                traceback.print_exc()
                errors[paper] = traceback.format_exc(limit=1).strip().splitlines()[-1]
    section = {"machine": _machine(), "seconds": time.perf_counter() - start,
               "rows": [r.as_dict() for r in rows], "errors": errors}
    for r in rows:
        print(f"{r.name:8s} frames {r.frames} ours {[round(v, 1) for v in r.ours_mib]} MiB ratio {r.ratio:.2f}x "
              f"reference {[round(v, 1) for v in r.reference_mib]} MiB ratio {r.reference_ratio:.2f}x "
              f"target < {r.target_ratio:g}x {'met' if r.target_met else 'NOT met'}", flush=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "benchmarks_data_scaling.json").write_text(json.dumps(section, indent=1) + "\n")
    (out_dir / "benchmarks_data_scaling.md").write_text(data_scaling_markdown(section))
    if rows:
        data_scaling_figure(section["rows"], out_dir / "benchmarks_data_scaling.png")
    return 1 if errors or not all(r.target_met for r in rows) else 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="+", help="all, gpu, data_scaling, metrics, or paper names")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder (default: results/)")
    parser.add_argument("--check-against", type=Path, default=None,
                        help="a previous benchmarks.json: fail when a speed-up leaves the other run's spread")
    parser.add_argument("--tiny", action="store_true", help="gpu: tiny sizes (the CPU smoke test)")
    parser.add_argument("--frames", type=int, nargs="+", default=None,
                        help="data_scaling: frame counts (default: each paper's N and 10N)")
    args = parser.parse_args(argv)
    if args.names[0] == "data_scaling":
        return run_data_scaling(args.names[1:] or list(DATA_SCALING_PAPERS), args.out, args.frames)
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
