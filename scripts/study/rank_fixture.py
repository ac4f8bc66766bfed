#!/usr/bin/env python3
"""Write testdata/rank-scipy.json: random paired samples (with ties) and
scipy's Spearman rho and Kendall tau-b of each, the independent answers the
`predictors` crate's rank statistics are tested against.

    python3 -m venv /tmp/sp && /tmp/sp/bin/pip install scipy==1.15.3 numpy
    /tmp/sp/bin/python scripts/study/rank_fixture.py > testdata/rank-scipy.json
"""
import json
import sys

import numpy as np
import scipy
from scipy import stats

rng = np.random.default_rng(20261206)
cases = []
for n in [3, 5, 8, 13, 24, 40]:
    for ties in [False, True]:
        x = rng.normal(size=n)
        y = 0.5 * x + rng.normal(size=n)
        if ties:
            # Coarse rounding makes ties on both sides.
            x, y = np.round(x * 2) / 2, np.round(y * 2) / 2
        rho = stats.spearmanr(x, y).statistic
        tau = stats.kendalltau(x, y, variant="b").statistic
        cases.append({"x": x.tolist(), "y": y.tolist(), "spearman": float(rho), "kendall_tau_b": float(tau)})
json.dump({"scipy": scipy.__version__, "cases": cases}, sys.stdout, indent=None)
sys.stdout.write("\n")
