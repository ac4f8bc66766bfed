#!/usr/bin/env python3
"""`make bench`: hvp-dump against the Python way of computing blockwise
Hessian spectra, measured in one run on the same weights, batch, threads,
steps and probes (hvp-dump --save-weights / --save-batch, loaded by the
PyTorch twins in twins.py). Each contender runs in its own process, the
runs interleaved (A B C ... A B C ...); the process is measured from outside
(wall time, peak RSS from wait4), the contender reports its start-up, work,
HVP count and Ritz values. Writes JSON lines to OUT/bench.jsonl and the
tables of docs/performance.md.

    driver.py [--quick] [--runs 3] [--out out/bench] [--doc docs/performance.md]
"""
import argparse
import datetime
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HVP_DUMP = os.path.join(ROOT, "target/release/hvp-dump")
# The bench's own virtualenv (scripts/bench/bench makes it): the peers, on
# top of .venv's torch.
PY = os.path.join(ROOT, ".venv-bench/bin/python")
CONTENDER = os.path.join(ROOT, "scripts/bench/contender.py")
PEERS = ["careful", "eigenthings", "pyhessian", "curvlinops", "authors", "careful-twice"]
# hvp-dump's own rows: the default (full reorthogonalization, a basis as
# precise as the network: f32 here), partial reorthogonalization in that
# basis, full in an f64 basis (the default before issue 20, and the reference
# the variants' densities are compared with), and the floor (no
# reorthogonalization: HVPs and the three-term recurrence only); and the
# tensor engine (vectors and basis as libtorch tensors, reorthogonalization
# as libtorch's matrix-vector products), which is not the CPU default.
OURS = ["hvp-dump", "hvp-dump-partial", "hvp-dump-f64", "hvp-dump-tensor", "hvp-dump-floor"]
OUR_FLAGS = {"hvp-dump": [], "hvp-dump-partial": ["--reorth", "partial"], "hvp-dump-f64": ["--basis", "f64"],
             "hvp-dump-tensor": ["--engine", "tensor"], "hvp-dump-floor": ["--reorth", "none"]}
# The variant every other one's densities are compared with.
REFERENCE = "hvp-dump-f64"
LABEL = {
    "hvp-dump": "hvp-dump (default: --reorth full, --basis auto: f32 here)",
    "hvp-dump-partial": "hvp-dump --reorth partial",
    "hvp-dump-f64": "hvp-dump --basis f64 (the default before issue 20)",
    "hvp-dump-tensor": "hvp-dump --engine tensor",
    "hvp-dump-floor": "hvp-dump --reorth none (the floor)",
    "careful": "careful PyTorch loop (fair: hvp-dump's rules)",
    "careful-twice": "careful PyTorch loop, always two passes (shipped before issue 20)",
    "eigenthings": "hessian-eigenthings 1.0.0a5",
    "pyhessian": "PyHessian 0.1 (torch.eig shim)",
    "curvlinops": "curvlinops 3.0.1",
    "authors": "the authors' method",
}
# What each contender does besides the HVPs (docs/performance.md prints it).
RULES = {
    "hvp-dump": "f64 vectors, the basis stored in the network's precision (f32); modified Gram-Schmidt against the "
                "whole basis, a second sweep only when the first left less than 1/sqrt(2) of the vector; beta after "
                "reorthogonalizing; stops when beta <= 1e-10 x the largest ||Hq||",
    "hvp-dump-partial": "as hvp-dump, but a sweep only at the steps where Simon's estimate of the loss of "
                        "orthogonality passes sqrt(eps of the network's dtype), and at the step after",
    "hvp-dump-f64": "as hvp-dump, with the basis stored in f64",
    "hvp-dump-tensor": "as hvp-dump, the vectors and basis as libtorch tensors: each pass two of libtorch's "
                       "matrix-vector products (MKL), the f32 basis's rows converted to f64 for them",
    "hvp-dump-floor": "the three-term recurrence alone (no basis): what the HVPs and vector updates cost",
    "careful": "hvp-dump's rules exactly (f64 vectors, second pass only when the first left less than 1/sqrt(2), "
               "beta after reorthogonalizing, the same breakdown stop), each pass two matrix products (Q^T w, "
               "w -= Q c); scipy's eigh_tridiagonal; one BLAS thread for numpy/scipy",
    "careful-twice": "as the fair loop but two passes at every step and numpy's dense eigh",
    "eigenthings": "its Lanczos in the network's dtype, one modified Gram-Schmidt pass against the whole basis "
                   "(an `.item()` per vector), stops at beta < 1e-12; forward and first backward rebuilt per product",
    "pyhessian": "f32 vectors, one Gram-Schmidt pass, beta before reorthogonalizing, norm + 1e-6",
    "curvlinops": "forward and backward rebuilt per product (jvp of jacrev); no reorthogonalization",
    "authors": "forward and first backward rebuilt per step; no reorthogonalization, beta floored at 1e-8",
}
MLP_BLOCKS = [f"fc{i}.{k}" for i in range(1, 5) for k in ("weight", "bias")]
ACCURACY_BLOCKS = ["fc4.weight", "fc4.bias", "fc3.bias", "fc2.bias", "fc1.bias"]


def measured(cmd, timeout):
    """Run cmd; (stdout, wall s, peak RSS MiB, exit status or 'timeout')."""
    start = time.time()
    with open(os.devnull, "wb") as null, subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=null) as p:
        chunks = []
        os.set_blocking(p.stdout.fileno(), False)
        while True:
            data = p.stdout.read()
            if data:
                chunks.append(data)
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.time() - start > timeout:
                p.send_signal(signal.SIGKILL)
                _, status, ru = os.wait4(p.pid, 0)
                status = "timeout"
                break
            time.sleep(0.02)
        wall = time.time() - start
        os.set_blocking(p.stdout.fileno(), True)
        rest = p.stdout.read()
        chunks.append(rest or b"")
        p.returncode = 0  # reaped above
    code = status if status == "timeout" else os.waitstatus_to_exitcode(status)
    return b"".join(chunks).decode(), wall, ru.ru_maxrss / 1024.0, code


def hvp_dump_args(w, blocks, steps, probes, threads, dtype="f32"):
    a = [HVP_DUMP, "--model", w["model"], "--checkpoint", w["weights"], "--threads", str(threads), "--dtype", dtype]
    a += w["data_args"] + ["--steps", str(steps), "--probes", str(probes)]
    for b in blocks:
        a += ["--block", b]
    return a


def ritz_of_tridiags(text):
    """Per block: Ritz extremes per probe and trace estimates, from tridiag records."""
    out = {}
    for line in text.splitlines():
        r = json.loads(line)
        if r.get("type") != "tridiag":
            continue
        a, b = np.array(r["alpha"]), np.array(r["beta"][: len(r["alpha"]) - 1])
        vals, vecs = np.linalg.eigh(np.diag(a) + np.diag(b, 1) + np.diag(b, -1))
        e = out.setdefault(r["block"], {"dim": r["dim"], "ritz_min_each": [], "ritz_max_each": [], "traces": []})
        e["ritz_min_each"].append(float(vals.min()))
        e["ritz_max_each"].append(float(vals.max()))
        e["traces"].append(float(r["dim"] * np.dot(vecs[0] ** 2, vals)))
    return out


def run_contender(name, w, blocks, steps, probes, threads, dtype, timeout, keep=None):
    if name in OURS:
        text, wall, rss, code = measured(hvp_dump_args(w, blocks, steps, probes, threads, dtype) + OUR_FLAGS[name],
                                         timeout)
        if keep and code == 0:
            with open(keep, "w") as f:
                f.write(text)
        rec = {"blocks": ritz_of_tridiags(text) if code == 0 else {}}
        hvps = sum(min(steps, d) * probes for d in w["dims"](blocks))
        rec.update(startup_s=w["startup_s"], work_s=wall - w["startup_s"], hvps=hvps)
    else:
        cmd = [PY, CONTENDER, name, "--model", w["model"], "--weights", w["weights"], "--batch", w["batch64" if dtype == "f64" else "batch"]]
        cmd += ["--blocks", ",".join(blocks), "--steps", str(steps), "--probes", str(probes)]
        cmd += ["--threads", str(threads), "--dtype", dtype, "--t0", repr(time.time())]
        text, wall, rss, code = measured(cmd, timeout)
        rec = json.loads(text.strip().splitlines()[-1]) if code == 0 else {}
    rec.update(type="bench_run", contender=name, wall_s=wall, peak_rss_mib=rss, exit=code, load1=os.getloadavg()[0])
    return rec


def prepare(model, data_args, out, threads):
    """Weights and batch from hvp-dump; its start-up time (model, data, libtorch)."""
    w = {
        "model": model,
        "data_args": data_args,
        "weights": os.path.join(out, f"{model}.weights.safetensors"),
        "batch": os.path.join(out, f"{model}.batch.safetensors"),
    }
    base = [HVP_DUMP, "--model", model, "--threads", str(threads)] + data_args
    subprocess.run(base + ["--save-weights", w["weights"], "--save-batch", w["batch"], "--list-blocks"], check=True,
                   stdout=subprocess.DEVNULL)
    # The f64 network reads its batch standardized in f64: save that one too, for f64 twins.
    w["batch64"] = os.path.join(out, f"{model}.batch-f64.safetensors")
    subprocess.run(base + ["--dtype", "f64", "--save-batch", w["batch64"], "--list-blocks"], check=True,
                   stdout=subprocess.DEVNULL)
    listing = subprocess.run(base + ["--list-blocks"], check=True, capture_output=True, text=True).stdout
    dims = {l.split("\t")[0]: int(l.split("\t")[2]) for l in listing.splitlines()}
    w["all_blocks"] = list(dims)
    w["dims"] = lambda bs: [dims[b] for b in bs]
    # Start-up: the same process up to its first HVP (libtorch, data, model, weights).
    starts = [measured(base + ["--checkpoint", w["weights"], "--list-blocks"], 120)[1] for _ in range(3)]
    w["startup_s"] = statistics.median(starts)
    return w


def dense_reference(w, blocks, threads):
    """Exact f64 eigenvalues of each block's Hessian (hvp-dump --exact --dtype f64, numpy eigvalsh)."""
    text = subprocess.run(hvp_dump_args(w, blocks, 1, 1, threads, "f64") + ["--exact"], check=True,
                          capture_output=True, text=True).stdout
    rows = {}
    for line in text.splitlines():
        r = json.loads(line)
        if r.get("type") == "hessian":
            rows.setdefault(r["block"], {})[r["row"]] = r["values"]
    out = {}
    for b, rs in rows.items():
        h = np.array([rs[i] for i in range(len(rs))])
        ev = np.linalg.eigvalsh(0.5 * (h + h.T))
        out[b] = {"min": float(ev[0]), "max": float(ev[-1]), "trace": float(np.trace(h)), "scale": float(abs(ev).max())}
    return out


def density_distances(kept, workloads, out):
    """JS distance of each hvp-dump variant's density to REFERENCE's, block by block.

    Each block's runs become one model whose blocks are the variants, so
    `block-js` compares the variants of a block and nothing else. Two widths:
    slq-density's default (absolute sigma sqrt(1e-5)) and one that resolves
    the spectrum (1% of the 10th-largest Ritz value).
    """
    rows = {}
    for wname, _, _, _ in workloads:
        if (wname, REFERENCE) not in kept:
            continue
        by_block = {}
        for c in OURS:
            path = kept.get((wname, c))
            if not path:
                continue
            for line in open(path):
                r = json.loads(line)
                if r.get("type") == "tridiag":
                    r["model"], r["block"] = r["block"], c
                    by_block.setdefault(r["model"], []).append(json.dumps(r))
        for width, flags in (("default", []), ("relative 0.01", ["--sigma-mode", "relative", "--sigma-rel", "0.01"])):
            for block, lines in by_block.items():
                # A block with fewer than 10 positive Ritz values has no relative width: skipped.
                dens = subprocess.run([os.path.join(ROOT, "target/release/slq-density")] + flags,
                                      input="\n".join(lines), capture_output=True, text=True)
                if dens.returncode != 0:
                    continue
                dist = subprocess.run([os.path.join(ROOT, "target/release/block-js")], input=dens.stdout, check=True,
                                      capture_output=True, text=True).stdout
                for line in dist.splitlines():
                    r = json.loads(line)
                    if r.get("type") == "distance" and REFERENCE in (r["a"], r["b"]):
                        other = r["b"] if r["a"] == REFERENCE else r["a"]
                        e = rows.setdefault((wname, other, width), {"worst": 0.0, "block": None})
                        if r["value"] >= e["worst"]:
                            e.update(worst=r["value"], block=r["model"])
    for (wname, c, width), e in rows.items():
        out({"type": "bench_js", "workload": wname, "contender": c, "width": width, "worst_js": e["worst"],
             "block": e["block"]})
    return rows


def med(rs, key):
    v = [r[key] for r in rs if r.get("exit") == 0 and key in r]
    return statistics.median(v) if v else float("nan")


def summarize(runs):
    ok = [r for r in runs if r.get("exit") == 0]
    s = {k: med(runs, k) for k in ("wall_s", "startup_s", "work_s", "peak_rss_mib", "hvps", "hvp_only_s", "grad_s")}
    s["runs"], s["failed"] = len(ok), [str(r.get("exit")) for r in runs if r.get("exit") != 0]
    s["load1"] = [round(r["load1"], 2) for r in runs]
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="1 run, 20 steps, 1 probe")
    ap.add_argument("--runs", type=int, default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--out", default=os.path.join(ROOT, "out/bench"))
    ap.add_argument("--doc", default=os.path.join(ROOT, "docs/performance.md"))
    ap.add_argument("--criterion", default=None, help="JSON lines of the Criterion medians")
    args = ap.parse_args()
    runs = args.runs or (1 if args.quick else 3)
    steps, probes = (20, 1) if args.quick else (100, 2)
    if args.quick:
        # fc4.weight (640 parameters) takes 640 steps per contender: the biases only.
        global ACCURACY_BLOCKS
        ACCURACY_BLOCKS = ACCURACY_BLOCKS[1:]
    os.makedirs(args.out, exist_ok=True)
    log = open(os.path.join(args.out, "bench.jsonl"), "w")

    def emit(r):
        log.write(json.dumps(r) + "\n")
        log.flush()

    def say(msg):
        print(f"bench: {msg}", file=sys.stderr, flush=True)

    commit = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"], capture_output=True,
                            text=True).stdout.strip()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    machine = {"type": "bench_machine", "commit": commit, "cpu": cpu, "cores": os.cpu_count(),
               "mem_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
               "threads": args.threads, "steps": steps, "probes": probes, "runs": runs, "quick": args.quick,
               "date": datetime.datetime.now().isoformat(timespec="minutes"), "python": platform.python_version(),
               "load_before": os.getloadavg()}
    emit(machine)

    say("saving weights and batches with hvp-dump")
    mlp = prepare("mlp", ["--batch-size", "1024"], args.out, args.threads)
    gpt = prepare("gpt2-small", [], args.out, args.threads)
    workloads = [
        ("mlp fc1.weight", mlp, ["fc1.weight"], OURS + PEERS),
        ("mlp all 8 blocks", mlp, MLP_BLOCKS, OURS + PEERS),
        ("gpt2-small all blocks", gpt, gpt["all_blocks"], OURS + PEERS),
    ]
    results = {}
    kept = {}
    for r in range(runs):
        for wname, w, blocks, contenders in workloads:
            for c in contenders:
                say(f"run {r + 1}/{runs}: {wname}: {c}")
                keep = None
                if r == 0 and c in OURS:
                    keep = os.path.join(args.out, f"{wname.replace(' ', '-')}.{c}.tridiag.jsonl")
                    kept[(wname, c)] = keep
                rec = run_contender(c, w, blocks, steps, probes, args.threads, "f32", args.timeout, keep)
                rec.update(workload=wname, run=r + 1)
                emit(rec)
                results.setdefault((wname, c), []).append(rec)

    say("accuracy: dense f64 eigendecomposition of the small MLP blocks")
    ref = dense_reference(mlp, ACCURACY_BLOCKS, args.threads)
    emit({"type": "bench_reference", "blocks": ref})
    accuracy = {}
    for dtype in ("f64", "f32"):
        for c in ["hvp-dump", "hvp-dump-partial"] + [p for p in PEERS if p != "careful-twice"]:
            say(f"accuracy {dtype}: {c}")
            # Steps = the largest block's size: the Krylov space is the whole
            # block, so the extremes are exact up to rounding and the error
            # measures precision, not how far 100 steps have converged.
            full = max(mlp["dims"](ACCURACY_BLOCKS))
            rec = run_contender(c, mlp, ACCURACY_BLOCKS, full, probes, args.threads, dtype, args.timeout)
            errs = {}
            for b, e in rec.get("blocks", {}).items():
                rf = ref[b]
                ext = max(max(abs(x - rf["min"]) for x in e["ritz_min_each"]),
                          max(abs(x - rf["max"]) for x in e["ritz_max_each"])) / rf["scale"]
                t = np.array(e["traces"])
                spread = t.std(ddof=1) if len(t) > 1 else float("nan")
                errs[b] = {"extreme_rel_err": ext, "trace_mean": float(t.mean()), "trace_sd": float(spread),
                           "trace_exact": rf["trace"]}
            accuracy[(dtype, c)] = errs
            emit({"type": "bench_accuracy", "dtype": dtype, "contender": c, "exit": rec.get("exit"), "blocks": errs})

    say("HVP time / gradient time, hvp-dump's own (nets example hvp_cost)")
    costs = {}
    for w in (mlp, gpt):
        out = subprocess.run([os.path.join(ROOT, "target/release/examples/hvp_cost"), w["model"], w["weights"],
                              w["batch"], "20", str(args.threads)], check=True, capture_output=True, text=True).stdout
        costs[w["model"]] = json.loads(out)
        emit(costs[w["model"]])

    say(f"JS distances of the hvp-dump variants' densities to {REFERENCE}'s (slq-density | block-js)")
    js = density_distances(kept, workloads, emit)

    crit = []
    if args.criterion and os.path.exists(args.criterion):
        crit = [json.loads(l) for l in open(args.criterion) if l.strip()]
    summary = {k: summarize(v) for k, v in results.items()}
    for (wname, c), s in summary.items():
        emit({"type": "bench_summary", "workload": wname, "contender": c, **s})
    machine["load_after"] = os.getloadavg()
    write_doc(args.doc, machine, workloads, summary, ref, accuracy, costs, crit, js)
    say(f"wrote {args.doc} and {os.path.join(args.out, 'bench.jsonl')}")


def fmt(x, d=2):
    return "n/a" if x != x else f"{x:.{d}f}"


def write_doc(path, m, workloads, summary, ref, accuracy, costs, crit, js):
    L = []
    add = L.append
    add("# Performance: hvp-dump against the peers, measured by `make bench`\n")
    add("<!-- Written by scripts/bench/driver.py (`make bench`); edit scripts/bench/performance-history.md"
        " or the driver, not this file. -->\n")
    kind = "a QUICK run (`scripts/bench/bench --quick`: 1 run, 20 Lanczos steps, 1 probe; a smoke test, not " \
        "figures to quote)" if m["quick"] else \
        f"a full run (`make bench`: medians of {m['runs']} interleaved runs, {m['steps']} Lanczos steps, {m['probes']} probes)"
    add(f"This is {kind}, commit `{m['commit']}`, {m['date']}, on {m['cpu']} ({m['cores']} cores, "
        f"{m['mem_gib']} GiB), {m['threads']} threads for every contender, f32 networks. Load average "
        f"before {m['load_before'][0]:.2f}, after {m['load_after'][0]:.2f} (after each run in out/bench/bench.jsonl): "
        "figures are only comparable within one run; read the ratios.\n")
    add("Every contender takes the Hessian of the same weights on the same batch (`hvp-dump --save-weights "
        "--save-batch`, loaded by the PyTorch twins of scripts/bench/twins.py), each in its own process, the "
        "contenders interleaved within each run. *whole* is the process's wall time from outside; *start-up* is "
        "the part before the first HVP (hvp-dump: the same command with `--list-blocks`; Python: interpreter, "
        "imports of torch and of the contender's package, loading, one double backward with `grad_outputs` on a "
        "toy (torch imports sympy there) and a warm-up gradient); *work* = whole - start-up; *ms/HVP* = work / "
        "HVPs (Lanczos included); *HVP/grad* = time inside the HVP calls per HVP / one gradient over all "
        "parameters (Python contenders; hvp-dump's below); *work / floor* = work / the work of hvp-dump "
        "`--reorth none` (HVPs and the three-term recurrence, nothing else); peak RSS from wait4.\n")
    add("What each contender does besides the HVPs:\n")
    add("| contender | rules |")
    add("|---|---|")
    for c in OURS + PEERS:
        add(f"| {LABEL[c]} | {RULES[c]} |")
    for wname, w, blocks, contenders in workloads:
        ours = summary.get((wname, "hvp-dump"), {})
        base, base_work = ours.get("wall_s", float("nan")), ours.get("work_s", float("nan"))
        floor = summary.get((wname, "hvp-dump-floor"), {}).get("work_s", float("nan"))
        add(f"\n## {wname} ({len(blocks)} blocks, {m['steps']} steps x {m['probes']} probes)\n")
        add("| contender | whole s | start-up s | work s | HVPs | ms/HVP | HVP/grad | peak RSS MiB | "
            "whole / hvp-dump's | work / hvp-dump's | work / floor |")
        add("|---|---|---|---|---|---|---|---|---|---|---|")
        for c in contenders:
            s = summary.get((wname, c))
            if not s:
                continue
            if s["runs"] == 0:
                add(f"| {LABEL[c]} | failed ({', '.join(s['failed'])}) | | | | | | | | | |")
                continue
            hg = s["hvp_only_s"] / s["hvps"] / s["grad_s"] if c not in OURS else float("nan")
            add(f"| {LABEL[c]} | {fmt(s['wall_s'])} | {fmt(s['startup_s'])} | {fmt(s['work_s'])} | {int(s['hvps'])} | "
                f"{fmt(1000 * s['work_s'] / s['hvps'])} | {fmt(hg)} | {fmt(s['peak_rss_mib'], 0)} | "
                f"{fmt(s['wall_s'] / base)} | {fmt(s['work_s'] / base_work)} | {fmt(s['work_s'] / floor)} |")
        loads = sorted(l for c in contenders for l in summary.get((wname, c), {}).get("load1", []))
        if loads:
            add(f"\nLoad average after each run of this workload: {loads[0]:.2f} to {loads[-1]:.2f}.")
    add("\n## HVP time / gradient time, hvp-dump\n")
    add("`cargo run --release -p nets --example hvp_cost -- MODEL WEIGHTS BATCH 20 2` on the saved weights and "
        "batch: one gradient over every parameter against one block HVP with the graph kept (f64 vector in and "
        "out, as Lanczos calls it), median of 20, mean over every parameter tensor.\n")
    add("| model | gradient ms | HVP ms (mean over blocks) | HVP / gradient |")
    add("|---|---|---|---|")
    for name, c in costs.items():
        add(f"| {name} | {fmt(1000 * c['grad_s'], 3)} | {fmt(1000 * c['hvp_s'], 3)} | {fmt(c['hvp_over_grad'])} |")
    add("\n## Accuracy: extreme Ritz values against a dense f64 eigendecomposition\n")
    add("MLP blocks small enough for `hvp-dump --exact --dtype f64` (numpy `eigvalsh` of the dense block "
        "Hessian), as many Lanczos steps as the largest block has parameters (capped at each block's size: the "
        "Krylov space is the whole block, so the error is precision, not convergence), the same weights and batch. Error: worst over "
        "probes of |Ritz extreme - eigenvalue extreme| / max |eigenvalue|; trace: the mean SLQ estimate "
        "against the exact trace, in standard deviations over probes.\n")
    add("| dtype | contender | " + " | ".join(ACCURACY_BLOCKS) + " |")
    add("|---|---|" + "---|" * len(ACCURACY_BLOCKS))
    for (dtype, c), errs in accuracy.items():
        cells = []
        for b in ACCURACY_BLOCKS:
            e = errs.get(b)
            if not e:
                cells.append("failed")
                continue
            z = abs(e["trace_mean"] - e["trace_exact"]) / e["trace_sd"] if e["trace_sd"] > 0 else float("nan")
            cells.append(f"{e['extreme_rel_err']:.1e} (trace {fmt(z, 1)} sd)")
        add(f"| {dtype} | {LABEL[c]} | " + " | ".join(cells) + " |")
    add("\nBlock sizes and exact extremes: " + ", ".join(
        f"{b} [{r['min']:.6g}, {r['max']:.6g}]" for b, r in ref.items()) + ".\n")
    if js:
        add(f"\n## Densities of hvp-dump's variants against {LABEL[REFERENCE]}\n")
        add("The first run's tridiagonals of each hvp-dump row, `slq-density` at two widths (its default, an "
            "absolute sigma of sqrt(1e-5); and 1% of the 10th-largest Ritz value, which resolves the spectrum; "
            "blocks without 10 positive Ritz values have no such width and are left out of that column), then "
            "`block-js` between the variants of each block: the largest JS distance over the blocks (and which "
            "block).\n")
        add("| workload | variant | JS, default width | JS, relative 0.01 |")
        add("|---|---|---|---|")
        for wname, _, _, _ in workloads:
            for c in (c for c in OURS if c != REFERENCE):
                cells = []
                for width in ("default", "relative 0.01"):
                    e = js.get((wname, c, width))
                    cells.append(f"{e['worst']:.1e} ({e['block']})" if e else "n/a")
                add(f"| {wname} | {LABEL[c]} | {cells[0]} | {cells[1]} |")
    add("\n## Targets of issue 20, checked on this run\n")
    add(targets(summary, accuracy, js))
    if crit:
        add("\n## Criterion: the libtorch-free core\n")
        add("`cargo bench -p spectra --bench core -- --quick` (Criterion's quick mode; median):\n")
        add("| benchmark | median ms |")
        add("|---|---|")
        for c in crit:
            add(f"| {c['name']} | {fmt(c['median_ns'] / 1e6, 3)} |")
    hist = os.path.join(ROOT, "scripts/bench/performance-history.md")
    if os.path.exists(hist):
        add("\n" + open(hist).read())
    with open(path, "w") as f:
        f.write("\n".join(L).rstrip() + "\n")


def targets(summary, accuracy, js):
    nan = float("nan")
    mlp, gpt = "mlp all 8 blocks", "gpt2-small all blocks"

    def get(c, w, key):
        return summary.get((w, c), {}).get(key, nan)

    def ratio(a, b, w, key):
        return get(a, w, key) / get(b, w, key)

    rows = []
    for w in (mlp, gpt):
        rows.append((f"{w}: fair careful loop / hvp-dump, whole >= 1.5", ratio("careful", "hvp-dump", w, "wall_s"),
                     lambda v: v >= 1.5))
        rows.append((f"{w}: fair careful loop / hvp-dump, work >= 1.25", ratio("careful", "hvp-dump", w, "work_s"),
                     lambda v: v >= 1.25))
    for w in ("mlp fc1.weight", mlp, gpt):
        rows.append((f"{w}: hessian-eigenthings / hvp-dump, whole > 1", ratio("eigenthings", "hvp-dump", w, "wall_s"),
                     lambda v: v > 1.0))
    rows.append((f"{mlp}: hvp-dump work / floor's work <= 1.25", ratio("hvp-dump", "hvp-dump-floor", mlp, "work_s"),
                 lambda v: v <= 1.25))
    for dtype, tol in (("f64", 1e-10), ("f32", 1e-6)):
        errs = accuracy.get((dtype, "hvp-dump"), {})
        worst = max((e["extreme_rel_err"] for e in errs.values()), default=nan)
        rows.append((f"extremes in {dtype}, hvp-dump, relative error <= {tol:g}", worst, lambda v, t=tol: v <= t))
    errs = accuracy.get(("f32", "eigenthings"), {})
    worst_he = max((e["extreme_rel_err"] for e in errs.values()), default=nan)
    worst_ours = max((e["extreme_rel_err"] for e in accuracy.get(("f32", "hvp-dump"), {}).values()), default=nan)
    rows.append(("extremes in f32: hessian-eigenthings' worst error / hvp-dump's >= 1", worst_he / worst_ours,
                 lambda v: v >= 1.0))
    for c in ("hvp-dump", "hvp-dump-partial"):
        for w in (mlp, gpt):
            e = js.get((w, c, "default"))
            rows.append((f"{w}: JS of {LABEL[c]}'s densities to --basis f64's (default width) <= 1e-6",
                         e["worst"] if e else nan, lambda v: v <= 1e-6))
    out = ["| target | measured | met |", "|---|---|---|"]
    for name, v, ok in rows:
        out.append(f"| {name} | {v:.3g} | {'yes' if v == v and ok(v) else '**no**'} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
