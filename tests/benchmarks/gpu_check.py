"""`make gpu-check`: the deep engines on a CUDA GPU, in one run that ends in one table.

Run by gpu_check.sh (which first installs what the machine lacks); stages, in order, each in its
own process under a time limit, the whole within `--budget` seconds:

1. the machine: GPU, driver, torch and transformers versions;
2. the CUDA-only tests (`pytest -m cuda`: float32 on the GPU against the CPU, bf16, the pinned
   one-frame-late copies, `torch.compile`, peak GPU memory against shot length, the CUDA
   guided-filter upsampling);
3. `sam_throughput.py` once per model size (sam2.1 tiny/small/base-plus/large, EdgeTAM, the
   SAM 3 tracker; random weights at the real sizes) on a 1080p half-float EXR plate made on the
   machine: model-only and pipeline frames/s, their ratio (target >= 0.90), ms per stage, peak
   GPU memory, and the process's peak host memory;
4. `sam_memory.py`: peak memory (host, memory bank, GPU) of `mattetrack track` over 100 and
   2000 frames, against transformers' uncapped session;
5. on request (`--stages ...,profile`), where the pipeline spends its time: a cProfile of
   sam2.1-tiny's end-to-end run (OUT/profile_tiny.txt; from Python 3.12 it mixes every
   thread's calls) and, on CUDA, torch.profiler's kernel time per operator
   (OUT/profile_tiny.cuda.txt).

Writes OUT/gpu_check.md (the table), OUT/gpu_check.json and OUT/gpu_check.log (every stage's
output). A stage that fails or runs out of time is reported as such and the rest still run.

    python tests/benchmarks/gpu_check.py [--out DIR] [--budget S] [--quick] [--sizes a,b]
        [--stages tests,throughput,memory,profile]

--quick: a smoke test of this script that also runs on the CPU (sam2.1-tiny over 4 frames,
memory over 30 vs 120 frames); no figure from it means anything.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

SIZES = ("sam2.1-tiny", "sam2.1-small", "sam2.1-base-plus", "sam2.1-large", "edgetam",
         "sam3-tracker")
TARGET = 0.90
TESTS_CAP_S, SIZE_CAP_S, MEMORY_CAP_S = 240, 150, 240
# Kept back for the memory stage while the throughput sizes run (its full run took 159 s on one
# H200 machine and over 176 s on another), and for the profile before it.
MEMORY_RESERVE_S = 190
PROFILE_RESERVE_S = 40
STAGES = ("tests", "throughput", "memory", "profile")


class Log:
    """Everything the stages print, in one file, and a line per event on stdout."""

    def __init__(self, path: Path) -> None:
        self.file = path.open("w")
        self.started = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def say(self, text: str) -> None:
        line = f"[{self.elapsed():6.1f} s] {text}"
        print(line, flush=True)
        self.file.write(line + "\n")
        self.file.flush()

    def block(self, title: str, text: str) -> None:
        self.file.write(f"----- {title}\n{text.rstrip()}\n-----\n")
        self.file.flush()


def run_stage(log: Log, title: str, cmd: list[str], limit: float) -> tuple[str, float, float]:
    """Runs `cmd` (at most `limit` s): ("ok" | "failed (exit N)" | "timed out", seconds, peak
    RSS MiB of the process and its children). Its output goes to the log."""
    launcher = (
        "import os, signal, subprocess, sys\n"
        "p = subprocess.Popen(sys.argv[2:], start_new_session=True)\n"
        "try:\n"
        "    p.wait(timeout=float(sys.argv[1]))\n"
        "except subprocess.TimeoutExpired:\n"
        "    os.killpg(p.pid, signal.SIGKILL)\n"
        "    p.wait()\n"
        "    print('launcher: timed out', file=sys.stderr)\n"
        "import resource\n"
        "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(f'launcher: maxrss_kib {usage.ru_maxrss}', file=sys.stderr)\n"
        "sys.exit(p.returncode if p.returncode >= 0 else 128 - p.returncode)\n"
    )
    log.say(f"{title}: started (limit {limit:.0f} s)")
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-I", "-S", "-c", launcher, str(max(limit, 1.0)), *cmd],
                          capture_output=True, text=True, cwd=ROOT)
    seconds = time.monotonic() - started
    log.block(title, proc.stdout + proc.stderr)
    rss = [int(x.split()[-1]) / 1024 for x in proc.stderr.splitlines()
           if x.startswith("launcher: maxrss_kib ")]
    if "launcher: timed out" in proc.stderr:
        status = "timed out"
    elif proc.returncode != 0:
        status = f"failed (exit {proc.returncode})"
    else:
        status = "ok"
    log.say(f"{title}: {status} in {seconds:.0f} s")
    return status, seconds, (rss[-1] if rss else 0.0)


def machine(log: Log) -> dict[str, str]:
    """What ran: GPU, driver, versions."""
    import torch

    info = {"python": platform.python_version(), "torch": torch.__version__,
            "torch cuda": str(torch.version.cuda), "cpus": str(os.cpu_count())}
    try:
        import transformers

        info["transformers"] = transformers.__version__
    except ImportError:
        info["transformers"] = "missing"
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["gpu memory"] = f"{torch.cuda.get_device_properties(0).total_memory / 2**30:.0f} GiB"
        try:
            smi = subprocess.run(["nvidia-smi", "--query-gpu=driver_version",
                                  "--format=csv,noheader"], capture_output=True, text=True,
                                 timeout=20)
            info["driver"] = smi.stdout.strip() or "?"
        except (OSError, subprocess.TimeoutExpired):
            info["driver"] = "?"
    else:
        info["gpu"] = "none (CPU)"
    for key, value in info.items():
        log.say(f"machine: {key} {value}")
    return info


def cuda_tests(log: Log, limit: float) -> dict:
    """`pytest -m cuda`: passed / failed / skipped counts and the failures' names."""
    cmd = [sys.executable, "-m", "pytest", "-q", "-m", "cuda", "-p", "no:cacheprovider",
           "-rfEs", "tests/engines/sam"]
    status, seconds, _ = run_stage(log, "cuda tests", cmd, limit)
    text = log_tail(log)
    summary = next((line for line in reversed(text.splitlines())
                    if " passed" in line or " failed" in line or " skipped" in line
                    or "no tests ran" in line), "")
    failures = [line.split(" ", 1)[1].split(" - ")[0] for line in text.splitlines()
                if line.startswith(("FAILED ", "ERROR "))]
    return {"status": status, "seconds": seconds, "summary": summary.strip("= "),
            "failures": failures}


def log_tail(log: Log, chars: int = 200_000) -> str:
    """The last block written to the log."""
    log.file.flush()
    text = Path(log.file.name).read_text()[-chars:]
    return text.rsplit("----- ", 1)[-1]


def throughput(log: Log, sizes: list[str], frames: int, deadline: float, device: str) -> list:
    """sam_throughput.py per size, each in its own process (its peak host memory is its own)."""
    # The plate is made once, before the first size (its time is not a size's).
    status, _, _ = run_stage(log, "1080p plate", [sys.executable, "-c", (
        "import sys; sys.path.insert(0, 'tests/benchmarks'); import speed_memory as sm; "
        f"sm.synthetic_1080p({frames}, exr=True)")], max(deadline - log.elapsed(), 1))
    results = []
    for name in sizes:
        left = deadline - log.elapsed()
        if left < 30:
            results.append({"name": name, "status": "not run (time budget)"})
            log.say(f"throughput {name}: not run, {left:.0f} s left")
            continue
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
            out = Path(f.name)
        cmd = [sys.executable, str(HERE / "sam_throughput.py"), "--sizes", name,
               "--frames", str(frames), "--device", device, "--json", str(out)]
        status, seconds, rss = run_stage(log, f"throughput {name}", cmd, min(SIZE_CAP_S, left))
        row = {"name": name, "status": status, "seconds": seconds, "host_peak_mib": rss}
        if status == "ok":
            row.update(json.loads(out.read_text())[0])
        out.unlink(missing_ok=True)
        results.append(row)
    return results


def memory(log: Log, frames: str, unbounded: str, limit: float, device: str) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = Path(f.name)
    cmd = [sys.executable, str(HERE / "sam_memory.py"), "--frames", frames, "--unbounded",
           unbounded, "--device", device, "--json", str(out)]
    status, seconds, _ = run_stage(log, "memory", cmd, limit)
    result = {"status": status, "seconds": seconds}
    if status == "ok":
        result.update(json.loads(out.read_text()))
    out.unlink(missing_ok=True)
    return result


def profile(log: Log, path: Path, frames: int, device: str, limit: float) -> None:
    """sam_throughput.py's end-to-end run of sam2.1-tiny under cProfile (its main thread)."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = Path(f.name)
    cmd = [sys.executable, str(HERE / "sam_throughput.py"), "--sizes", "sam2.1-tiny",
           "--frames", str(frames), "--device", device, "--json", str(out), "--profile",
           str(path)]
    run_stage(log, "profile sam2.1-tiny", cmd, min(limit, SIZE_CAP_S))
    out.unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------
# The table


def _num(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def throughput_table(rows: list[dict]) -> list[str]:
    stages = ("decode_s", "colour_s", "read_wait_s", "engine_s", "write_s", "write_wait_s")
    lines = [
        "| model | params M | model fps | pipeline fps | ratio | e2e fps | ms/frame: model, "
        + ", ".join(s.removesuffix("_s") for s in stages)
        + " | isolated ms: input, upsample | peak GPU MiB | peak host MiB | |",
        "|" + " --- |" * 11,
    ]
    for r in rows:
        if "model_fps" not in r:
            lines.append(f"| {r['name']} | | | | | | | | | | {r['status']} |")
            continue
        n = max(r["frames"], 1)
        ms = ", ".join(f"{r['timings'].get(s, 0.0) / n * 1000:.1f}" for s in stages)
        verdict = "met" if r["ratio"] >= TARGET else "BELOW"
        lines.append(
            f"| {r['name']} | {r['params_m']:.1f} | {r['model_fps']:.1f} | "
            f"{r['steady_fps']:.1f} | {r['ratio']:.2f} | {r['e2e_fps']:.1f} | "
            f"{1000 / r['model_fps']:.1f}, {ms} | {r['prep_ms']:.1f}, {r['upsample_ms']:.1f} | "
            f"{_num(r.get('cuda_peak_mib'), '.0f')} | {r['host_peak_mib']:.0f} | {verdict} |")
    return lines


def memory_table(mem: dict) -> list[str]:
    if mem.get("status") != "ok":
        return [f"memory: {mem.get('status')}"]
    lines = ["| run | frames | peak host MiB | bank max MiB | bank last MiB | peak GPU MiB | "
             "frames/s |", "|" + " --- |" * 7]
    for key in ("cli", "bank", "unbounded"):
        for r in mem[key]:
            fps = r["frames"] / r["seconds"] if r["seconds"] else 0.0
            lines.append(f"| {r['label']} | {r['frames']} | {_num(r['peak_rss_mib'], '.0f')} | "
                         f"{_num(r['bank_max_mib'], '.2f')} | {_num(r['bank_last_mib'], '.2f')} "
                         f"| {_num(r['cuda_peak_mib'], '.0f')} | {fps:.1f} |")
    for key in ("cli", "bank", "unbounded"):
        runs = mem[key]
        if len(runs) >= 2:
            a, b = runs[0], runs[-1]
            ratios = [f"{name} x{b[k] / a[k]:.3f}" for name, k in (
                ("peak host", "peak_rss_mib"), ("bank max", "bank_max_mib"),
                ("peak GPU", "cuda_peak_mib")) if a.get(k) and b.get(k)]
            lines.append(f"\n{runs[0]['label']}, {b['frames']} vs {a['frames']} frames: "
                         + ", ".join(ratios))
    return lines


def report(info: dict, tests: dict, sizes: list[dict], mem: dict, frames: int,
           seconds: float, quick: bool) -> str:
    head = ", ".join(f"{k} {v}" for k, v in info.items())
    out = [f"# gpu-check{' (--quick: a smoke test, no figure means anything)' if quick else ''}",
           "", f"Machine: {head}. {seconds:.0f} s in all.", "",
           f"CUDA-only tests: {tests['status']}: {tests['summary']}"]
    out += [f"- failed: {name}" for name in tests["failures"]]
    out += ["", f"Throughput: 1920x1080 half EXR plate (scene-linear, OCIO), {frames} frames per "
            f"size, random weights; pipeline fps = `mattetrack track` steady rate after the "
            f"warm-up; ratio = pipeline / model-only (target >= {TARGET:.2f}).", ""]
    out += throughput_table(sizes)
    out += ["", "Memory: tiny sam2 checkpoint (256 px), 320x180 half EXR.", ""]
    out += memory_table(mem)
    return "\n".join(out) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "build/gpu-check")))
    parser.add_argument("--budget", type=float, default=460.0,
                        help="seconds for the whole run (default 460: inside 8 minutes)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke test that also runs on the CPU (see the docstring)")
    parser.add_argument("--sizes", help="comma-separated model sizes (default: all six)")
    parser.add_argument("--stages", default="tests,throughput,memory",
                        help=f"comma-separated, of {', '.join(STAGES)} (default: all but "
                        "profile)")
    args = parser.parse_args()
    stages = {s.strip() for s in args.stages.split(",")}
    if stages - set(STAGES):
        parser.error(f"--stages: unknown {sorted(stages - set(STAGES))}")
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    log = Log(args.out / "gpu_check.log")
    info = machine(log)
    cuda = info["gpu"] != "none (CPU)"
    if not cuda and not args.quick:
        log.say("no CUDA device: gpu-check needs one (--quick runs the script on the CPU)")
        return 2
    device = "cuda" if cuda else "cpu"
    sizes = ([s.strip() for s in args.sizes.split(",")] if args.sizes
             else ["sam2.1-tiny"] if args.quick else list(SIZES))
    frames = 4 if args.quick else 100
    mem_frames, mem_unbounded = ("30,120", "30,60") if args.quick else ("100,2000", "100,400")
    budget = args.budget

    reserve = (MEMORY_RESERVE_S if "memory" in stages else 0) + \
        (PROFILE_RESERVE_S if "profile" in stages else 0)
    not_run = {"status": "not run (--stages)", "summary": "", "failures": []}
    tests, sizes_out, mem = not_run, [], dict(not_run)

    def save() -> str:
        """The table so far (rewritten after each stage: a run cut short keeps what it did)."""
        text = report(info, tests, sizes_out, mem, frames, log.elapsed(), args.quick)
        (args.out / "gpu_check.md").write_text(text)
        (args.out / "gpu_check.json").write_text(json.dumps(
            {"machine": info, "tests": tests, "throughput": sizes_out, "memory": mem}, indent=1))
        return text

    if "tests" in stages:
        tests = cuda_tests(log, min(TESTS_CAP_S, budget - log.elapsed() - reserve - 60))
        save()
    if "throughput" in stages:
        sizes_out = throughput(log, sizes, frames, budget - reserve, device)
        save()
    # The profile before the memory check: it says where a pipeline below target loses time.
    if "profile" in stages:
        profile(log, args.out / "profile_tiny.txt", 8 if args.quick else 40, device,
                max(budget - log.elapsed() - (MEMORY_RESERVE_S if "memory" in stages else 0),
                    30))
    if "memory" in stages:
        mem = memory(log, mem_frames, mem_unbounded,
                     min(MEMORY_CAP_S, max(budget - log.elapsed(), 30)), device)
    text = save()
    print(text)
    log.say(f"done: {args.out / 'gpu_check.md'}")
    ok = all(part["status"] in ("ok", "not run (--stages)")
             for part in (tests, mem, *sizes_out))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
