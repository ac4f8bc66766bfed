#!/usr/bin/env python3
"""JS0 at initialization against the SGD-AdamW gap (fig-js0-gap).

Reads two CSV files written by the Makefile:
  js0.csv  rows label,js0,lo,hi,js0k,lok,hik      (block-js heterogeneity:
           absolute smoothing width, then eigenvalues / 10th largest)
  gap.csv  rows label,batch,optimizer,lr,loss   (nn-train `best` records)
Writes OUT.csv (label,batch,js0,lo,hi,sgd_loss,adamw_loss,gap,js0k,lok,hik)
for gnuplot and prints, for each JS0, per batch size and pooled, Spearman's
rank correlation between JS0 and the gap with a percentile bootstrap 90%
interval (points resampled with replacement, fixed seed, so the output is
reproducible). Labels whose SGD (or AdamW) grid diverged at every rate have
no gap; they are listed, not dropped silently.

  js0_gap.py js0.csv gap.csv OUT.csv
"""
import csv
import sys

import numpy as np

BOOTSTRAP = 2000
SEED = 1


def ranks(x):
    """Ranks from 1, ties given their average rank."""
    order = np.argsort(x, kind="stable")
    r = np.empty(len(x))
    r[order] = np.arange(1, len(x) + 1)
    for v in np.unique(x):
        tied = x == v
        r[tied] = r[tied].mean()
    return r


def spearman(x, y):
    rx, ry = ranks(x), ranks(y)
    if rx.std() == 0 or ry.std() == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def bootstrap_interval(x, y, rng):
    n = len(x)
    values = []
    for _ in range(BOOTSTRAP):
        i = rng.integers(0, n, n)
        v = spearman(x[i], y[i])
        if not np.isnan(v):
            values.append(v)
    return np.percentile(values, [5, 95]) if values else (float("nan"),) * 2


def main(js0_path, gap_path, out_path):
    js0 = {}
    with open(js0_path) as f:
        for label, *values in csv.reader(f):
            js0[label] = tuple(float(v) for v in values)
    best = {}
    with open(gap_path) as f:
        for label, batch, optimizer, _lr, loss in csv.reader(f):
            best[(label, int(batch), optimizer)] = float(loss)
    rows = []
    missing = []
    for label, batch in sorted({(k[0], k[1]) for k in best}):
        sgd, adamw = best.get((label, batch, "sgd")), best.get((label, batch, "adamw"))
        if sgd is None or adamw is None or label not in js0:
            missing.append(f"  {label} batch {batch}: no gap (SGD best {sgd}, AdamW best {adamw}; "
                           "None = every rate diverged)")
            continue
        v = js0[label]
        rows.append((label, batch, *v[:3], sgd, adamw, sgd - adamw, *v[3:6]))
    with open(out_path, "w") as f:
        w = csv.writer(f, lineterminator="\n")
        for r in rows:
            w.writerow(r)
    rng = np.random.default_rng(SEED)
    groups = [(f"batch {b}", [r for r in rows if r[1] == b]) for b in sorted({r[1] for r in rows})]
    groups.append(("pooled", rows))
    for column, what in ((2, "JS0 (absolute width)"), (8, "JS0 (/ 10th eigenvalue)")):
        for name, rs in groups:
            x = np.array([r[column] for r in rs])
            y = np.array([r[7] for r in rs])
            lo, hi = bootstrap_interval(x, y, rng)
            print(f"{what}, {name}: n = {len(rs)}, Spearman rho(JS0, gap) = {spearman(x, y):.3f}, "
                  f"bootstrap 90% [{lo:.3f}, {hi:.3f}]")
    for r in rows:
        print(f"  {r[0]:<16} batch {r[1]:>2}  JS0 {r[2]:.3g} [{r[3]:.3g}, {r[4]:.3g}]  "
              f"JS0/kth {r[8]:.3g} [{r[9]:.3g}, {r[10]:.3g}]  "
              f"SGD {r[5]:.4f}  AdamW {r[6]:.4f}  gap {r[7]:+.4f}")
    for m in missing:
        print(m)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
