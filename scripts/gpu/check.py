"""The device check: what the first GPU session needs to know, in one call
of at most 8 minutes on one H100, from the bundle alone (docs/gpu.md).

1. env:    the GPU libtorch sees, from Python and from hvp-dump itself.
2. agree:  CPU against CUDA on gpt2-small and resnet18-narrow blocks, in
           f32 and f64: extreme Ritz values of every (block, probe) within
           1e-5 relative in f32 and 1e-10 in f64 (relative to the block's
           largest |Ritz value|), CPU/Rust engine as the reference,
           CUDA/tensor engine (and CUDA/Rust) as the candidates.
3. gpt2:   GPT-2 124M (the zoo's `gpt2`, random init) on a streamed batch of
           Shakespeare BPE: HVP time over gradient time, one block's m = 100
           spectrum, the projected time for all blocks x 10 probes (this
           batch, and the paper's 60 x 8 sequences), peak GPU memory.
4. peers:  the same workload through a careful PyTorch loop and the authors'
           method on the device's own torch.

Every result is a JSON line on stdout (and in --out). Without a GPU it says
so plainly, replaces CUDA by the tensor engine on the CPU and GPT-2 124M by
gpt2-small, and still runs every step at a small size (a dry run).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
RUN = os.path.join(HERE, "run")
T0 = time.time()
OUT_LINES = []
# The project's GPT-2 blocks (Makefile GPT_BLOCKS): the projection counts them.
GPT_BLOCKS = ["--split-qkv", "--block", "wte", "--block", "wpe", "--block", "h.*.attn.w?",
              "--block", "h.*.attn.c_proj.weight", "--block", "h.*.mlp.*.weight"]


def emit(record, out):
    record = {"type": "gpu_check", "t_s": round(time.time() - T0, 1), **record}
    line = json.dumps(record)
    print(line, flush=True)
    if out:
        with open(out, "a") as f:
            f.write(line + "\n")


def note(msg):
    print(f"check: {msg}", file=sys.stderr, flush=True)


class GpuMemory:
    """Peak GPU memory used by one process tree, polled from nvidia-smi."""

    def __init__(self):
        self.peak_mib = None
        self.stop = threading.Event()
        self.smi = shutil.which("nvidia-smi")

    def watch(self):
        while not self.stop.is_set():
            try:
                q = subprocess.run([self.smi, "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
                                   capture_output=True, text=True, timeout=5).stdout.split()
                used = max(float(x) for x in q) if q else None
                if used is not None:
                    self.peak_mib = max(self.peak_mib or 0.0, used)
            except Exception:
                return
            self.stop.wait(0.25)

    def __enter__(self):
        if self.smi:
            self.thread = threading.Thread(target=self.watch, daemon=True)
            self.thread.start()
        return self

    def __exit__(self, *a):
        self.stop.set()
        if self.smi:
            self.thread.join()


def hvp_dump(args, timeout=600):
    """(stdout, wall seconds, peak GPU MiB or None); raises on failure."""
    t = time.perf_counter()
    with GpuMemory() as mem:
        p = subprocess.run([RUN, "hvp-dump"] + args, capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        raise RuntimeError(f"hvp-dump {' '.join(args)} failed ({p.returncode}): {p.stderr.strip()[-2000:]}")
    return p.stdout, wall, mem.peak_mib


def tridiags(text):
    return [r for r in (json.loads(l) for l in text.splitlines()) if r.get("type") == "tridiag"]


def ritz(rec):
    a, b = np.array(rec["alpha"]), np.array(rec["beta"])
    return np.linalg.eigvalsh(np.diag(a) + np.diag(b, 1) + np.diag(b, -1))


def extremes_gap(ref, cand):
    """Largest difference of the extreme Ritz values over the records,
    relative to each block's largest |Ritz value|."""
    worst = 0.0
    for a, b in zip(ref, cand):
        assert (a["block"], a["probe"]) == (b["block"], b["probe"])
        ra, rb = ritz(a), ritz(b)
        scale = max(abs(ra[0]), abs(ra[-1]))
        worst = max(worst, abs(ra[0] - rb[0]) / scale, abs(ra[-1] - rb[-1]) / scale)
    return worst


def env_step(cuda, torch_info, out):
    rec = {"step": "env", "gpu": torch_info.get("gpu"), "torch": torch_info.get("torch"),
           "cuda_runtime": torch_info.get("cuda"), "dry_run": not cuda}
    with open(os.path.join(HERE, "VERSION")) as f:
        rec["bundle"] = f.read().strip().splitlines()[0]
    # hvp-dump's own view: does its libtorch reach the GPU?
    tiny = ["--model", "tiny-transformer", "--data", "synthetic", "--steps", "2", "--probes", "1"]
    try:
        text, _, _ = hvp_dump(tiny + ["--device", "auto"])
        run = json.loads(text.splitlines()[0])
        rec["hvp_dump_device"] = run.get("device")
        rec["hvp_dump_engine"] = tridiags(text)[0].get("engine")
    except Exception as e:
        rec["hvp_dump_error"] = str(e)
    emit(rec, out)
    return rec


def agree_step(cuda, quick, out):
    """CPU/Rust against CUDA (tensor and Rust engines), or without a GPU,
    against the tensor engine on the CPU."""
    models = [
        ("gpt2-small", ["--data", "shakespeare-char", "--split-qkv", "--block", "wte", "--block", "h.0.attn.wq",
                        "--block", "h.1.mlp.c_fc.weight"]),
        ("resnet18-narrow", ["--data", "synthetic", "--batch-size", "16", "--block", "layer1.0.conv1",
                             "--block", "layer4.1.conv2", "--block", "fc.weight"]),
    ]
    steps = "15" if quick else "30"
    candidates = [("cuda", "tensor"), ("cuda", "rust")] if cuda else [("cpu", "tensor")]
    ok = True
    for model, flags in models:
        for dtype, tol in [("f32", 1e-5), ("f64", 1e-10)]:
            base = ["--model", model, "--dtype", dtype, "--probes", "2", "--steps", steps] + flags
            ref_text, ref_s, _ = hvp_dump(base + ["--device", "cpu", "--engine", "rust"])
            ref = tridiags(ref_text)
            for device, engine in candidates:
                args = base + ["--device", device, "--engine", engine]
                text, s, peak = hvp_dump(args)
                cand = tridiags(text)
                gap = extremes_gap(ref, cand)
                # Run to run: the same records, value for value (JSON floats
                # read back exactly)? On CUDA, atomic adds in backward passes
                # may say no; reported, not part of the pass.
                again, _, _ = hvp_dump(args)
                repeat_identical = tridiags(again) == cand
                passed = gap <= tol and all(c["engine"] == engine for c in cand)
                ok &= passed
                emit({"step": "agree", "model": model, "dtype": dtype, "reference": "cpu/rust",
                      "candidate": f"{device}/{engine}", "records": len(cand), "steps": int(steps),
                      "max_rel_diff": gap, "tolerance": tol, "pass": passed, "repeat_identical": repeat_identical,
                      "reference_s": round(ref_s, 2), "candidate_s": round(s, 2), "peak_gpu_mib": peak}, out)
    return ok


def gpt2_step(cuda, quick, work, out, budget_s):
    """The GPT-2 workload: differences of whole runs give per-product times
    (start-up, model building and data cancel)."""
    if cuda:
        model, micro, batches, block, steps = "gpt2", 8, 2, "transformer.h.0.mlp.c_fc.weight", 100
    else:
        model, micro, batches, block, steps = "gpt2-small", 4, 2, "transformer.h.0.mlp.c_fc.weight", 100 if not quick else 20
    device = "cuda" if cuda else "cpu"
    # The tensor engine (auto's choice on CUDA) on the CPU too: a dry run exercises it.
    base = ["--engine", "tensor", "--model", model, "--data", "shakespeare-bpe" if cuda else "shakespeare-char", "--device", device,
            "--dtype", "f32", "--micro-batch", str(micro), "--batches", str(batches), "--block", block,
            "--probes", "1", "--memory", "16"]
    weights, batch = os.path.join(work, "weights.safetensors"), os.path.join(work, "batch.safetensors")
    _, one_s, _ = hvp_dump(base + ["--steps", "1", "--save-weights", weights, "--save-batch", batch])
    _, one_again_s, _ = hvp_dump(base + ["--steps", "1"])
    one_s = min(one_s, one_again_s)
    _, grad_s_total, _ = hvp_dump(base + ["--steps", "1", "--gradients", "--gradient-parts", str(batches)])
    text, m_s, peak = hvp_dump(base + ["--steps", str(steps)])
    rec = tridiags(text)[0]
    r = ritz(rec)
    per_product = (m_s - one_s) / (len(rec["alpha"]) - 1)
    gradient = max(grad_s_total - one_s, 1e-9)
    listed, _, _ = hvp_dump(["--model", model, "--list-blocks", "--device", "cpu", "--data",
                             "shakespeare-bpe" if cuda else "shakespeare-char", "--batch-size", "1"] + GPT_BLOCKS)
    blocks = len([l for l in listed.splitlines() if l.strip()])
    projected = blocks * 10 * 100 * per_product
    emit({"step": "gpt2", "model": model, "device": device, "engine": rec.get("engine"), "block": block,
          "dim": rec["dim"], "micro_batch": micro, "batches": batches, "steps": len(rec["alpha"]),
          "basis": rec.get("basis"), "run_1_step_s": round(one_s, 2), "run_s": round(m_s, 2),
          "hvp_s": per_product, "gradient_with_graph_s": gradient, "hvp_over_gradient": per_product / gradient,
          "ritz_min": float(r[0]), "ritz_max": float(r[-1]), "blocks": blocks,
          "projected_all_blocks_10_probes_s": projected,
          "projected_paper_batch_s": projected * 60 / batches if cuda else None,
          "peak_gpu_mib": peak,
          "note": "hvp_s = (run_s - run_1_step_s) / (steps - 1): products and device Lanczos work; "
                  "gradient_with_graph_s from --gradients (create_graph) minus the 1-step run"}, out)
    # The same workload on the device's own torch.
    for method, m in [("careful", steps), ("authors", 10 if cuda else 5)]:
        # A dry run runs every step whatever the time (its times mean nothing).
        if cuda and time.time() - T0 > budget_s:
            emit({"step": "peers", "method": method, "skipped": f"over the {budget_s} s budget"}, out)
            continue
        cmd = [sys.executable, os.path.join(HERE, "py", "peers.py"), method, "--model", model, "--weights", weights,
               "--batch", batch, "--block", block, "--micro-batch", str(micro), "--steps", str(m),
               "--device", device]
        t = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        wall = time.perf_counter() - t
        if p.returncode != 0:
            emit({"step": "peers", "method": method, "error": p.stderr.strip()[-2000:]}, out)
            continue
        res = json.loads(p.stdout.strip().splitlines()[-1])
        emit({"step": "peers", **res, "process_s": round(wall, 2),
              "hvp_dump_hvp_s": per_product, "speedup_of_hvp_dump_per_step": res["hvp_s"] / per_product
              if method == "careful" else None}, out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="also append the JSON lines to this file")
    ap.add_argument("--budget-s", type=float, default=450, help="skip the PyTorch peers past this (seconds)")
    ap.add_argument("--dry-run", action="store_true", help="run as without a GPU even when there is one")
    ap.add_argument("--quick", action="store_true", help="fewer steps (for a test of the check itself)")
    args = ap.parse_args()
    out = args.out
    if out is None and os.environ.get("OUT"):
        out = os.path.join(os.environ["OUT"], "gpu-check.jsonl")
    info = {}
    try:
        import torch

        info = {"torch": torch.__version__, "cuda": torch.version.cuda}
        if torch.cuda.is_available() and not args.dry_run:
            info["gpu"] = torch.cuda.get_device_name(0)
    except Exception as e:
        info = {"torch": None, "error": str(e)}
    cuda = info.get("gpu") is not None
    if not cuda:
        note("NO GPU FOUND: this is a dry run. CUDA steps are replaced by the tensor engine on the CPU and "
             "GPT-2 124M by gpt2-small; no number below is a GPU number.")
    env = env_step(cuda, info, out)
    if cuda and not str(env.get("hvp_dump_device", "")).startswith("cuda"):
        note(f"Python sees a GPU but hvp-dump ran on {env.get('hvp_dump_device')}: {env.get('hvp_dump_error', '')}")
    ok = agree_step(cuda, args.quick, out)
    work = tempfile.mkdtemp(prefix="hb-gpu-check-")
    try:
        gpt2_step(cuda, args.quick, work, out, args.budget_s)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    emit({"step": "done", "gpu": info.get("gpu"), "dry_run": not cuda, "agree_pass": ok,
          "seconds": round(time.time() - T0, 1)}, out)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
