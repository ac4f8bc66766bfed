"""The device check's PyTorch side (scripts/gpu/check.py): the same
workload as hvp-dump's, on the weights and batch hvp-dump saved, through a
careful PyTorch loop and through the authors' method, on the device's own
torch. Prints one JSON line.

    peers.py careful|authors --model gpt2 --weights W --batch B --block NAME
             --micro-batch M --steps 100 [--dtype f32] [--device cuda] [--seed 1]

careful: per HVP, each micro-batch's first-order graph is built and its
         double backward taken with respect to the block only (the batch is
         streamed, as hvp-dump --batches does), weighted by examples / total;
         f64 Lanczos vectors and basis on the device, full
         reorthogonalization as two matrix products, twice.
authors: the authors' loop: per step, a fresh backward(create_graph=True)
         over all parameters for each micro-batch, then the block's second
         backward; no reorthogonalization, beta floored at 1e-8.
"""
import argparse
import json
import time

import numpy as np
import torch
import torch.nn.functional as F

import twins

# hvp-dump's zoo model `gpt2` is nanoGPT's GPT-2 124M (12 heads).
twins.HEADS.setdefault("gpt2", 12)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def micro_batches(x, y, micro, seq):
    """(x_k, y_k, weight_k): consecutive micro-batches of `micro` examples."""
    n = x.shape[0]
    out = []
    for k in range(0, n, micro):
        xk = x[k : k + micro]
        rows = xk.shape[0] * seq
        out.append((xk, y[k * seq : k * seq + rows], xk.shape[0] / n))
    return out


def gradient_seconds(net, batches, device, reps=3):
    """Median time of the full batch's plain gradient over every parameter."""
    params = list(net.parameters())
    times = []
    for _ in range(reps + 1):
        sync(device)
        t = time.perf_counter()
        for xk, yk, w in batches:
            torch.autograd.grad(F.cross_entropy(net(xk), yk) * w, params)
        sync(device)
        times.append(time.perf_counter() - t)
    return float(np.median(times[1:]))


def careful(net, batches, p, steps, device, gen):
    n = p.numel()
    m = min(steps, n)
    hvp_s = [0.0]

    def hvp(v):
        sync(device)
        t = time.perf_counter()
        out = torch.zeros(n, dtype=torch.float64, device=device)
        vp = v.to(p.dtype).reshape(p.shape)
        for xk, yk, w in batches:
            (g,) = torch.autograd.grad(F.cross_entropy(net(xk), yk), [p], create_graph=True)
            (hv,) = torch.autograd.grad(g, [p], vp)
            out += w * hv.reshape(-1).to(torch.float64)
        sync(device)
        hvp_s[0] += time.perf_counter() - t
        return out

    q = torch.randn(n, dtype=torch.float64, generator=gen).to(device)
    q /= q.norm()
    basis = torch.empty(m, n, dtype=torch.float64, device=device)
    alpha, beta = [], []
    largest = 0.0
    for j in range(m):
        basis[j] = q
        w = hvp(q)
        largest = max(largest, w.norm().item())
        a = torch.dot(q, w)
        w -= a * q
        if j > 0:
            w -= beta[-1] * basis[j - 1]
        alpha.append(a.item())
        used = basis[: j + 1]
        for _ in range(2):
            w -= used.T @ (used @ w)
        if j + 1 == m:
            break
        b = w.norm().item()
        if b <= 1e-10 * largest:
            break
        beta.append(b)
        q = w / b
    return alpha, beta, len(alpha), hvp_s[0]


def authors(net, batches, p, steps, device, gen):
    params = list(net.parameters())
    index = next(i for i, t in enumerate(params) if t is p)
    m = min(steps, p.numel())
    v = torch.randn(p.shape, generator=gen, dtype=torch.float64).to(p.dtype).to(device)
    v /= v.norm()
    prev, b_prev, alpha, beta = None, 0.0, [], []
    hvp_s = 0.0
    for j in range(m):
        sync(device)
        t = time.perf_counter()
        w = torch.zeros_like(p)
        for xk, yk, wk in batches:
            grads = torch.autograd.grad(F.cross_entropy(net(xk), yk), params, create_graph=True)
            w += wk * torch.autograd.grad(grads[index], p, v)[0]
        sync(device)
        hvp_s += time.perf_counter() - t
        if prev is not None:
            w = w - b_prev * prev
        a = torch.sum(w * v).item()
        alpha.append(a)
        w = w - a * v
        if j + 1 < m:
            b = max(w.norm().item(), 1e-8)
            beta.append(b)
            prev, v, b_prev = v, w / b, b
    return alpha, beta, m, hvp_s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("method", choices=["careful", "authors"])
    ap.add_argument("--model", required=True)
    ap.add_argument("--weights", required=True)
    ap.add_argument("--batch", required=True)
    ap.add_argument("--block", required=True)
    ap.add_argument("--micro-batch", type=int, required=True)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--dtype", choices=["f32", "f64"], default="f32")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    dtype = torch.float64 if args.dtype == "f64" else torch.float32
    net, x, y = twins.load(args.model, args.weights, args.batch, dtype)
    net = net.to(device)
    x, y = x.to(device), y.to(device)
    seq = x.shape[1] if x.dim() == 2 and not x.is_floating_point() else 1
    batches = micro_batches(x, y, args.micro_batch, seq)
    p = dict(net.named_parameters())[args.block]
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    grad_s = gradient_seconds(net, batches, device)
    gen = torch.Generator().manual_seed(args.seed)
    sync(device)
    start = time.perf_counter()
    run = careful if args.method == "careful" else authors
    alpha, beta, steps, hvp_s = run(net, batches, p, args.steps, device, gen)
    sync(device)
    work = time.perf_counter() - start
    t = np.diag(alpha) + np.diag(beta, 1) + np.diag(beta, -1)
    ritz = np.linalg.eigvalsh(t)
    out = {
        "method": args.method,
        "device": str(device),
        "torch": torch.__version__,
        "block": args.block,
        "dim": p.numel(),
        "micro_batches": len(batches),
        "steps": steps,
        "gradient_s": grad_s,
        "hvp_s": hvp_s / steps,
        "hvp_over_gradient": (hvp_s / steps) / grad_s,
        "lanczos_s": work,
        "ritz_min": float(ritz[0]),
        "ritz_max": float(ritz[-1]),
        "peak_gpu_mib": torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else None,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
