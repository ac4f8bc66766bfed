#!/usr/bin/env python3
"""Hypothesis 4 for Table 3's NaN: the authors' density grid.

The authors' spectrum code (github.com/zyushun/hessian-spectrum,
hessian_spectrum.py; it publishes no JS code) smooths each block's Ritz values with a
Gaussian of absolute sigma sqrt(1e-5) evaluated on its own grid of 50,000
points from (mean smallest Ritz value - 1) to (mean largest + 1), in float64,
then divides by the density's integral on that grid. Once the grid spacing
is several sigma, a Ritz value between two grid points contributes
exp(-(d/sigma)^2 / 2) there, which underflows to exactly 0 in float64 for
d > 38.6 sigma; a block whose every node falls so, has a zero density and
its normalization is 0/0 = NaN, and any distance involving it is NaN.

This script evaluates that grid density for each (model, block) of
`tridiag` records (Ritz values and Gauss weights by numpy's eigh, each probe
weighted 1/probes) and reports the grid spacing in sigmas, the share of the
Gauss mass the grid keeps (the density's grid integral before
normalization), and NaN where that is zero. A NaN of one block makes the
model's mean pairwise distance NaN.

With --scale B every Ritz value is multiplied by B first: the authors sum
the HVPs of their B micro-batches instead of averaging them.

  authors_grid.py [--scale B] FILE.tridiag.jsonl...
"""
import json
import math
import signal
import sys
from collections import OrderedDict

import numpy as np

SIGMA = math.sqrt(1e-5)
POINTS = 50_000


def ritz(alpha, beta):
    """Nodes and Gauss weights of one Lanczos tridiagonal."""
    t = np.diag(alpha) + np.diag(beta, 1) + np.diag(beta, -1)
    nodes, vecs = np.linalg.eigh(t)
    return nodes, vecs[0, :] ** 2


def grid_density(probes):
    """The authors' grid and the un-normalized density on it, float64."""
    lo = np.mean([n.min() for n, _ in probes]) - 1.0
    hi = np.mean([n.max() for n, _ in probes]) + 1.0
    grid = np.linspace(lo, hi, POINTS)
    density = np.zeros(POINTS)
    for nodes, weights in probes:
        for node, w in zip(nodes, weights):
            # Gaussians far from the node are evaluated and underflow, as
            # numpy does in a whole-grid expression.
            density += w / len(probes) * np.exp(-((grid - node) ** 2) / (2 * SIGMA**2)) / (SIGMA * math.sqrt(2 * math.pi))
    return grid, density


def main(paths, scale):
    blocks = OrderedDict()
    for path in paths:
        try:
            f = open(path)
        except OSError as e:
            sys.exit(f"authors_grid.py: cannot read {path}: {e.strerror}")
        with f:
            for number, line in enumerate(f, 1):
                try:
                    r = json.loads(line)
                    if r.get("type") != "tridiag":
                        continue
                    key = (r["model"], r["block"])
                    alpha, beta = scale * np.array(r["alpha"], float), scale * np.array(r["beta"], float)
                    if len(beta) != len(alpha) - 1 or len(alpha) == 0:
                        raise ValueError(f"{len(alpha)} alpha and {len(beta)} beta values")
                except (ValueError, KeyError, TypeError, AttributeError) as e:
                    sys.exit(f"authors_grid.py: {path}:{number}: not a tridiag record ({e})")
                blocks.setdefault(key, []).append(ritz(alpha, beta))
    print(f"Ritz values x{scale:g}")
    print(f"{'model':<12} {'block':<12} {'Ritz span':>12} {'spacing/sigma':>14} {'mass kept':>10}  density")
    nan_models = OrderedDict()
    for (model, block), probes in blocks.items():
        grid, density = grid_density(probes)
        step = grid[1] - grid[0]
        kept = density.sum() * step
        span = grid[-1] - grid[0] - 2.0
        state = "NaN (0/0)" if kept == 0.0 else "finite"
        nan_models.setdefault(model, []).append(kept == 0.0)
        print(f"{model:<12} {block:<12} {span:>12.5g} {step / SIGMA:>14.4g} {kept:>10.3g}  {state}")
    print()
    for model, nans in nan_models.items():
        verdict = "NaN" if any(nans) else "finite"
        print(f"{model:<12} blocks with a zero grid density: {sum(nans)} of {len(nans)}; mean pairwise distance: {verdict}")


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `| head` ends the output quietly
    args = sys.argv[1:]
    scale = 1.0
    if args[:1] == ["--scale"]:
        if len(args) < 2:
            sys.exit("--scale needs a number\n" + __doc__)
        try:
            scale = float(args[1])
        except ValueError:
            sys.exit(f"--scale: not a number: {args[1]}")
        args = args[2:]
    if not args:
        sys.exit(__doc__)
    main(args, scale)
