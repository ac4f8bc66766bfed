#!/usr/bin/env python3
"""JS0 at initialization against the SGD-AdamW gap (fig-js0-gap).

Reads two CSV files written by the Makefile:
  js0.csv  rows label,js0,ci90_lo,ci90_hi        (block-js heterogeneity)
  gap.csv  rows label,batch,optimizer,lr,loss   (nn-train `best` records)
Writes OUT.csv (label,batch,js0,lo,hi,sgd_loss,adamw_loss,gap) for gnuplot
and prints, per batch size and pooled, Spearman's rank correlation between
JS0 and the gap with a percentile bootstrap 90% interval (points resampled
with replacement, fixed seed, so the output is reproducible).

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
        for label, v, lo, hi in csv.reader(f):
            js0[label] = (float(v), float(lo), float(hi))
    best = {}
    with open(gap_path) as f:
        for label, batch, optimizer, _lr, loss in csv.reader(f):
            best[(label, int(batch), optimizer)] = float(loss)
    rows = []
    for (label, batch, optimizer), loss in sorted(best.items()):
        if optimizer != "sgd" or (label, batch, "adamw") not in best or label not in js0:
            continue
        adamw = best[(label, batch, "adamw")]
        rows.append((label, batch, *js0[label], loss, adamw, loss - adamw))
    with open(out_path, "w") as f:
        w = csv.writer(f, lineterminator="\n")
        for r in rows:
            w.writerow(r)
    rng = np.random.default_rng(SEED)
    groups = [(f"batch {b}", [r for r in rows if r[1] == b]) for b in sorted({r[1] for r in rows})]
    groups.append(("pooled", rows))
    for name, rs in groups:
        x = np.array([r[2] for r in rs])
        y = np.array([r[7] for r in rs])
        lo, hi = bootstrap_interval(x, y, rng)
        print(f"{name}: n = {len(rs)}, Spearman rho(JS0, gap) = {spearman(x, y):.3f}, "
              f"bootstrap 90% [{lo:.3f}, {hi:.3f}]")
    for r in rows:
        print(f"  {r[0]:<22} batch {r[1]:>3}  JS0 {r[2]:.4f} [{r[3]:.4f}, {r[4]:.4f}]  "
              f"SGD {r[5]:.4f}  AdamW {r[6]:.4f}  gap {r[7]:+.4f}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
