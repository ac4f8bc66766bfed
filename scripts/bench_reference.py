"""Python reference implementations for `make bench`, written the way the
common Python tools do it (PyHessian's density_generate; a JS distance on a
shared uniform grid), so that speed and accuracy can be compared with the
Rust tools on the same input in the same run.

    python scripts/bench_reference.py density  TRIDIAG.jsonl  # times SLQ densities
    python scripts/bench_reference.py js       TRIDIAG.jsonl  # times grid JS0, prints it
"""
import json
import sys
import time

import numpy as np


def load(path):
    blocks = {}
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if r.get("type") == "tridiag":
                blocks.setdefault(r["block"], []).append((r["alpha"], r["beta"]))
    return blocks


def gauss_rule(alpha, beta):
    t = np.diag(alpha) + np.diag(beta, 1) + np.diag(beta, -1)
    vals, vecs = np.linalg.eigh(t)
    return vals, vecs[0, :] ** 2


def pyhessian_density(rules, num_bins=10000, sigma_sq=1e-5, overhead=0.01):
    """PyHessian 0.1's density_generate, vectorized over the grid."""
    eigs = [r[0] for r in rules]
    lmax = np.mean([e.max() for e in eigs]) + overhead
    lmin = np.mean([e.min() for e in eigs]) - overhead
    grid = np.linspace(lmin, lmax, num_bins)
    sigma = sigma_sq * max(1, lmax - lmin)
    dens = np.zeros(num_bins)
    for vals, w in rules:
        g = np.exp(-((grid[:, None] - vals[None, :]) ** 2) / (2.0 * sigma)) / np.sqrt(2 * np.pi * sigma)
        dens += g @ w
    dens /= len(rules)
    dens /= dens.sum() * (grid[1] - grid[0])
    return grid, dens, sigma


def js_on_grid(ra, rb, num_bins=10000, sigma=1e-5 ** 0.5):
    """JS distance (nats) of two smoothed spectra on one uniform grid over both."""
    na = np.concatenate([r[0] for r in ra]); wa = np.concatenate([r[1] for r in ra]) / len(ra)
    nb = np.concatenate([r[0] for r in rb]); wb = np.concatenate([r[1] for r in rb]) / len(rb)
    lo = min(na.min(), nb.min()) - 5 * sigma
    hi = max(na.max(), nb.max()) + 5 * sigma
    x = np.linspace(lo, hi, num_bins)
    def pdf(n, w):
        return (np.exp(-((x[:, None] - n[None, :]) ** 2) / (2 * sigma * sigma)) @ w) / (sigma * np.sqrt(2 * np.pi))
    p, q = pdf(na, wa), pdf(nb, wb)
    m = 0.5 * (p + q)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = 0.5 * (np.where(p > 0, p * np.log(p / m), 0) + np.where(q > 0, q * np.log(q / m), 0))
    d = np.trapezoid(np.nan_to_num(f), x)
    return float(np.sqrt(max(d, 0.0)))


def main():
    mode, path = sys.argv[1], sys.argv[2]
    blocks = load(path)
    t0 = time.perf_counter()
    rules = {b: [gauss_rule(np.array(a), np.array(bb)) for a, bb in tr] for b, tr in blocks.items()}
    if mode == "density":
        for b, r in rules.items():
            pyhessian_density(r)
        print(f"{time.perf_counter() - t0:.4f}")
    elif mode == "js":
        names = list(rules)
        vals = [js_on_grid(rules[a], rules[b]) for i, a in enumerate(names) for b in names[i + 1:]]
        print(f"{time.perf_counter() - t0:.4f} {np.mean(vals):.6f}")
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
