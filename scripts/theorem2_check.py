#!/usr/bin/env python3
"""Theorem 2 of Zhang et al. (Adam with beta1 = 0, beta2 = 1): counterexample and corrected bound.

Setting (h = 0, w* = 0): L(w) = 1/2 w^T H w, H = diag(H_1..H_L), D = diag|g0|, g0 = H w0,
Adam(beta1=0, beta2=1, eps=0) is  w_{t+1} = w_t - eta D^{-1} H w_t.
Assumption 1 constants (tightest): c1_l = min_{i in l} |g0_i| / lam_max(H_l), c2_l = max ... / lam_max(H_l).
Paper:      eta = min_l c1_l (Appendix E.3; the main text's min_l 1/C_l1 is a typo),
            E_{t+1} <= max_l (1 - 1/(r kappa_l)) E_t,  r = max_l (c2_l/c1_l)^2.        [FALSE]
Corrected (same eta, m := min_k c1_k):
  tight   rho2 = max_l (1 - m/(c2_l kappa_l))^2
  linear  rho1 = max_l (1 - m/(c2_l kappa_l))
  R-form  rhoR = max_l (1 - 1/(R kappa_l)),   R = (max_l c2_l / min_l c1_l)^2
  exact <= rho2 <= rho1 <= rhoR.
Proof: with y = D^{1/2} w, S_l = D_l^{-1/2} H_l D_l^{-1/2}: y_{t+1} = (I - eta S) y_t and E_t = 1/2 y^T S y, so
per block E_{l,t+1} <= max_{x in spec(eta S_l)} (1-x)^2 E_{l,t}. By Rayleigh quotients
spec(S_l) in [lam_min/max D_l, lam_max/min D_l] = [1/(c2_l kappa_l), 1/c1_l], hence
spec(eta S_l) in [m/(c2_l kappa_l), m/c1_l] subset (0, 1] and (1-x)^2 <= (1 - m/(c2_l kappa_l))^2. Sum over l.

Run: python3 scripts/theorem2_check.py [--trials 1000] [--seeds 1 2] [--random 1000] [--dps 50]
Needs only mpmath (and fractions from the standard library).
"""
import argparse
import math
import random
import struct
import sys
from fractions import Fraction as F

import mpmath
from mpmath import mp, mpf

# --------------------------------------------------------------------------- bounds


def bounds(c1, c2, kappa):
    """Paper's rate and the corrected ones, from per-block constants (any numeric type)."""
    L = len(c1)
    r = max((c2[l] / c1[l]) ** 2 for l in range(L))
    m = min(c1)
    R = (max(c2) / m) ** 2
    paper = max(1 - 1 / (r * kappa[l]) for l in range(L))
    a = [m / (c2[l] * kappa[l]) for l in range(L)]
    rho1 = max(1 - x for x in a)
    rho2 = max((1 - x) ** 2 for x in a)
    rhoR = max(1 - 1 / (R * kappa[l]) for l in range(L))
    return dict(eta=m, r=r, R=R, paper=paper, rho2=rho2, rho1=rho1, rhoR=rhoR)


# --------------------------------------------------------------------------- exact part


def matvec(Hb, x):
    return [sum(Hb[i][j] * x[j] for j in range(len(x))) for i in range(len(x))]


def exact_run(blocks, w0, eta, steps):
    """Adam(beta1=0, beta2=1) in exact rationals; returns the loss gaps E_0..E_steps."""
    offs = [0]
    for Hb, _, _ in blocks:
        offs.append(offs[-1] + len(Hb))

    def grad(w):
        g = []
        for l, (Hb, _, _) in enumerate(blocks):
            g += matvec(Hb, w[offs[l]:offs[l + 1]])
        return g

    g0 = grad(w0)
    D = [abs(x) for x in g0]
    w, E = list(w0), []
    for _ in range(steps + 1):
        g = grad(w)
        E.append(F(1, 2) * sum(a * b for a, b in zip(w, g)))
        w = [wi - eta * gi / di for wi, gi, di in zip(w, g, D)]
    return E, g0, offs


def exact_example(title, blocks, w0, steps, show):
    """blocks: list of (H_l rational matrix, lam_min, lam_max)."""
    # constants
    E0, g0, offs = exact_run(blocks, w0, F(1), 0)
    c1, c2, kap = [], [], []
    for l, (Hb, lmin, lmax) in enumerate(blocks):
        gl = [abs(x) for x in g0[offs[l]:offs[l + 1]]]
        c1.append(min(gl) / lmax)
        c2.append(max(gl) / lmax)
        kap.append(lmax / lmin)
    b = bounds(c1, c2, kap)
    E, _, _ = exact_run(blocks, w0, b["eta"], steps)
    ratios = [E[t + 1] / E[t] for t in range(steps)]
    print(f"== {title}")
    print(f"   H blocks = {[ [[str(x) for x in row] for row in Hb] for Hb, _, _ in blocks]}")
    print(f"   w0 = {[str(x) for x in w0]}, g0 = {[str(x) for x in g0]}")
    print(f"   c1_l = {[str(x) for x in c1]}, c2_l = {[str(x) for x in c2]}, kappa_l = {[str(x) for x in kap]}")
    print(f"   r = {b['r']}, eta = min_l c1_l = {b['eta']}")
    print(f"   paper bound max_l(1-1/(r kappa_l)) = {b['paper']}")
    for t in show:
        q = str(ratios[t]) if len(str(ratios[t])) < 40 else "(long fraction)"
        print(f"   E_{t+1}/E_{t} = {q} = {float(ratios[t]):.6f}   (> paper bound: {ratios[t] > b['paper']})")
    worst = max(ratios)
    print(f"   worst step ratio over {steps} steps = {float(worst):.6f}; limit = {float(b['rho2']):.6f}")
    print(f"   corrected: rho2 = {b['rho2']} ({float(b['rho2']):.6f}), rho1 = {b['rho1']} ({float(b['rho1']):.6f}),"
          f" R = {b['R']}, rhoR = {b['rhoR']} ({float(b['rhoR']):.6f})")
    ok = all(x <= b["rho2"] for x in ratios) and b["rho2"] <= b["rho1"] <= b["rhoR"]
    viol = sum(x > b["paper"] for x in ratios)
    print(f"   paper bound violated at {viol}/{steps} steps; corrected bounds hold at every step: {ok}")
    return viol > 0 and ok


def any_eta_1x1():
    """Two 1x1 blocks H = I_2, w0 = (1, 2): r = 1, kappa_l = 1, so the paper claims E_1 = 0.
    After one step w1_i = w0_i - eta sign(w0_i): E_1 = 0 needs eta = 1 and eta = 2 at once."""
    best = None
    for k in range(1, 4001):
        eta = F(k, 1000)
        w1 = [1 - eta, 2 - eta]
        e1 = F(1, 2) * (w1[0] ** 2 + w1[1] ** 2)
        if best is None or e1 < best[0]:
            best = (e1, eta)
    # exact minimiser over all eta: (1-eta)^2 + (2-eta)^2 minimal at eta = 3/2, E_1 = 1/4, E_0 = 5/2
    print(f"   any eta: min_eta E_1/E_0 = (1/4)/(5/2) = 1/10 at eta = 3/2 (grid check: {float(best[0] / F(5, 2)):.4f}"
          f" at eta = {best[1]}) > 0 = paper bound -> no step size rescues the statement")


# --------------------------------------------------------------------------- Rust RNG replica (lanczos::SplitMix)

M64 = (1 << 64) - 1


class SplitMix:
    def __init__(self, seed):
        self.s = seed & M64

    def next_u64(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & M64
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        return z ^ (z >> 31)

    def uniform(self):
        return (self.next_u64() >> 11) * (1.0 / (1 << 53))

    def normal(self):
        u1 = 1.0 - self.uniform()
        u2 = self.uniform()
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def derive_seed(base, labels):
    h = 0xCBF29CE484222325
    for lab in labels:
        for byte in list(lab) + [0xFF]:
            h ^= byte
            h = (h * 0x100000001B3) & M64
    return SplitMix(base ^ h).next_u64()


def haar_mp(d, rng):
    """Same Gaussian stream as quadratic::haar_orthogonal; Gram-Schmidt (twice) done in mpmath."""
    g = [[mpf(rng.normal()) for _ in range(d)] for _ in range(d)]  # g[j] = column j
    cols = []
    for col in g:
        col = list(col)
        for _ in range(2):
            for prev in cols:
                c = mpmath.fsum(a * b for a, b in zip(prev, col))
                col = [x - c * p for x, p in zip(col, prev)]
        n = mpmath.sqrt(mpmath.fsum(x * x for x in col))
        cols.append([x / n for x in col])
    return cols


def case3_draw(seed, i, eig):
    s = derive_seed(seed, [b"trial", struct.pack("<Q", i)])
    rot = SplitMix(derive_seed(s, [b"rotation"]))
    blocks = []
    for lam in eig:
        q = haar_mp(len(lam), rot)
        d = len(lam)
        H = mp.matrix(d, d)
        for a in range(d):
            for b in range(d):
                H[a, b] = mpmath.fsum(q[k][a] * mpf(lam[k]) * q[k][b] for k in range(d))
        blocks.append((H, mpf(min(lam)), mpf(max(lam))))
    r0 = SplitMix(derive_seed(s, [b"w0"]))
    w0 = [mpf(r0.normal()) for _ in range(sum(len(x) for x in eig))]
    return blocks, w0


# --------------------------------------------------------------------------- high-precision analysis of one draw


def analyse(blocks, w0, steps, eta_rule="min_c1"):
    """Constants, bounds, exact worst factor max (1-x)^2 and the closed-form trajectory's worst step ratio."""
    off = 0
    c1, c2, kap, parts = [], [], [], []
    for H, lmin, lmax in blocks:
        d = H.rows
        w = mp.matrix([w0[off + i] for i in range(d)])
        g = H * w
        D = [abs(g[i]) for i in range(d)]
        if min(D) == 0:
            return None
        c1.append(min(D) / lmax)
        c2.append(max(D) / lmax)
        kap.append(lmax / lmin)
        parts.append((H, w, D))
        off += d
    b = bounds(c1, c2, kap)
    eta = b["eta"] if eta_rule == "min_c1" else min(1 / x for x in c1)
    xs, terms = [], []  # per eigen-direction: (x, weight) with E_t = sum weight (1-x)^(2t)
    for H, w, D in parts:
        d = H.rows
        S = mp.matrix(d, d)
        for a in range(d):
            for c in range(d):
                S[a, c] = H[a, c] / mpmath.sqrt(D[a] * D[c])
        ev, V = mp.eigsy(S)
        y = mp.matrix([mpmath.sqrt(D[a]) * w[a] for a in range(d)])
        for j in range(d):
            coef = mpmath.fsum(V[a, j] * y[a] for a in range(d))
            x = eta * ev[j]
            xs.append(x)
            terms.append((x, ev[j] * coef ** 2 / 2))
    exact = max((1 - x) ** 2 for x in xs)
    worst = mpf(0)
    Eprev = mpmath.fsum(wt for _, wt in terms)
    for t in range(1, steps + 1):
        Et = mpmath.fsum(wt * (1 - x) ** (2 * t) for x, wt in terms)
        if Eprev > 0:
            worst = max(worst, Et / Eprev)
        Eprev = Et
    return dict(b, eta_used=eta, exact=exact, traj=worst, xs=xs, xmax=max(xs), c1=c1, c2=c2, kappa=kap, parts=parts)


def direct_check(res, eta, steps):
    """Iterate w <- w - eta D^{-1} H w directly (no eigendecomposition) and return the worst step ratio."""
    ws = [w.copy() for _, w, _ in res["parts"]]
    E = lambda: mpmath.fsum((w.T * H * w)[0] for (H, _, _), w in zip(res["parts"], ws)) / 2
    worst, Ep = mpf(0), E()
    for _ in range(steps):
        for k, (H, _, D) in enumerate(res["parts"]):
            g = H * ws[k]
            ws[k] = mp.matrix([ws[k][i] - eta * g[i] / D[i] for i in range(H.rows)])
        En = E()
        worst = max(worst, En / Ep)
        Ep = En
    return worst


def margin(rate, bound):
    """(1 - rate)/(1 - bound): >= 1 iff the bound holds; the closer to 1 the tighter."""
    return (1 - rate) / (1 - bound)


def monte_carlo(seed, trials, steps, eig):
    viol, rows = [], []
    for i in range(trials):
        blocks, w0 = case3_draw(seed, i, eig)
        res = analyse(blocks, w0, steps)
        if res is None:
            continue
        rows.append(res)
        if res["exact"] > res["paper"] or res["traj"] > res["paper"]:
            viol.append((i, res))
    return rows, viol


def summarize(label, rows):
    """Violations counted beyond a relative slack of 10^-(dps-10): rho2 is attained exactly (1x1 blocks)."""
    n = len(rows)
    tol = mpf(10) ** (10 - mp.dps)
    out = {}
    for key in ("paper", "rho2", "rho1", "rhoR"):
        v_exact = sum(r["exact"] > r[key] * (1 + tol) for r in rows)
        v_traj = sum(r["traj"] > r[key] * (1 + tol) for r in rows)
        worst = min(margin(r["exact"], r[key]) for r in rows)
        out[key] = (v_exact, v_traj, worst)
        print(f"   {label}: {key:5s}: exact factor above bound in {v_exact}/{n} draws, trajectory step above bound in"
              f" {v_traj}/{n}; worst margin (1-exact)/(1-bound) = {mpmath.nstr(worst, 8)}")
    return out


def random_general(count, steps, rng):
    """Random block-diagonal quadratics: L in {2,3}, d_l in {1,2,3}, eigenvalues log-uniform over up to 4 decades,
    Haar rotations, w0 Gaussian with a block scale log-uniform in [1e-3, 1e3] (so the c1_l differ a lot)."""
    rows = []
    for _ in range(count):
        L = rng.choice([2, 3])
        blocks, w0 = [], []
        for _ in range(L):
            d = rng.choice([1, 2, 3])
            base = 10 ** rng.uniform(-2, 2)
            lam = sorted(base * 10 ** rng.uniform(0, 2) for _ in range(d))
            sm = SplitMix(rng.getrandbits(64))
            q = haar_mp(d, sm)
            H = mp.matrix(d, d)
            for a in range(d):
                for c in range(d):
                    H[a, c] = mpmath.fsum(q[k][a] * mpf(lam[k]) * q[k][c] for k in range(d))
            blocks.append((H, mpf(lam[0]), mpf(lam[-1])))
            scale = 10 ** rng.uniform(-3, 3)
            w0 += [mpf(scale * rng.gauss(0, 1)) for _ in range(d)]
        res = analyse(blocks, w0, steps)
        if res is not None:
            rows.append(res)
    return rows


# --------------------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=1000, help="Case 3 draws per seed (theory-check's --trials)")
    ap.add_argument("--seeds", type=int, nargs="*", default=[1, 2], help="theory-check --seed values to replicate")
    ap.add_argument("--steps", type=int, default=300, help="Adam steps per draw (theory-check's --mc-iters)")
    ap.add_argument("--random", type=int, default=1000, help="random general block quadratics")
    ap.add_argument("--kappa", type=float, default=2000.0, help="Case 3 condition number")
    ap.add_argument("--dps", type=int, default=50, help="mpmath decimal digits")
    a = ap.parse_args()
    mp.dps = a.dps
    failures = []

    print("### 1. Exact counterexamples (fractions.Fraction), eta = min_l c1_l")
    one = F(1)
    ok1 = exact_example("theorem2-counterexample: two 1x1 blocks, H = diag(1, 1), w0 = (1, 2)",
                        [([[one]], one, one), ([[one]], one, one)], [F(1), F(2)], 40, [0, 1, 2])
    any_eta_1x1()
    H2 = [[F(2), F(1)], [F(1), F(2)]]  # eigenvalues 1, 3
    ok2 = exact_example("two identical 2x2 blocks H_l = [[2,1],[1,2]], w0 = (1,0 | 10,0) (block 2 = 10 x block 1)",
                        [(H2, F(1), F(3)), (H2, F(1), F(3))], [F(1), F(0), F(10), F(0)], 200, [0, 1, 199])
    if not (ok1 and ok2):
        failures.append("exact counterexamples")

    print("\n### 2. Literal main-text reading eta = min_l 1/C_l1 on the same 1x1 blocks (exact)")
    for w0 in ([F(1), F(2)], [F(1, 10), F(1, 5)]):
        eta = min(1 / abs(x) for x in w0)
        fac = [(1 - eta / abs(x)) ** 2 for x in w0]  # 1x1 block: x = eta/|w0_l|
        print(f"   w0 = {[str(x) for x in w0]}: eta = {eta}, per-block factors (1-eta/|w0_l|)^2 = {[str(x) for x in fac]}"
              f" -> {'diverges' if max(fac) > 1 else 'converges, paper bound 0 still violated'}")
    print("   units: C_l1 = |g|/lambda has the units of w and D^{-1}g is dimensionless, so eta must have the units of w:"
          " eta = min C_l1 is consistent, min 1/C_l1 is not (rescaling w0 -> s w0 must rescale eta -> s eta).")

    eig = [[1.0, 2.0, 3.0], [99.0, 100.0, 101.0], [a.kappa - 2, a.kappa - 1, a.kappa]]
    print(f"\n### 3. Case 3 (eigenvalues {eig}), Haar blocks and Gaussian w0 replicated from theory-check's RNG,"
          f" {a.dps} digits, {a.steps} steps (closed form via eigendecomposition)")
    allrows = []
    for seed in a.seeds:
        rows, viol = monte_carlo(seed, a.trials, a.steps, eig)
        allrows += rows
        fr = sum(r["r"] <= 100 for r in rows) / len(rows)
        fR = sum(r["R"] <= 100 for r in rows) / len(rows)
        print(f"-- seed {seed}: {len(rows)} draws (fraction with r <= 100: {fr:.3f} [theory-check mc-r],"
              f" with R <= 100: {fR:.3f}); paper bound broken in {len(viol)} draw(s)")
        for i, r in viol:
            ns = lambda x: mpmath.nstr(x, 10)
            direct = direct_check(r, r["eta"], a.steps)
            print(f"   draw {i}: c1 = {[ns(x) for x in r['c1']]}, c2 = {[ns(x) for x in r['c2']]}")
            print(f"            r = {ns(r['r'])}, R = {ns(r['R'])}, eta = {ns(r['eta'])}")
            print(f"            paper bound = {ns(r['paper'])}; exact worst factor = {ns(r['exact'])};"
                  f" worst trajectory step = {ns(r['traj'])} (direct iteration: {ns(direct)})")
            print(f"            corrected: rho2 = {ns(r['rho2'])}, rho1 = {ns(r['rho1'])}, rhoR = {ns(r['rhoR'])}")
            for l in range(len(r["c1"])):
                ns4 = lambda x: mpmath.nstr(x, 6)
                a_l = r["eta"] / (r["c2"][l] * r["kappa"][l])
                print(f"            block b{l + 1}: kappa_l = {ns4(r['kappa'][l])}, eta/c1_l = {ns4(r['eta'] / r['c1'][l])},"
                      f" paper 1-1/(r kappa_l) = {ns4(1 - 1 / (r['r'] * r['kappa'][l]))},"
                      f" corrected (1-eta/(c2_l kappa_l))^2 = {ns4((1 - a_l) ** 2)}")
            # same draw with one common lower constant per block (the case the paper's proof covers)
            per_block_ok = all(
                (1 - r["c1"][l] / (r["c2"][l] * r["kappa"][l])) ** 2 <= 1 - 1 / (r["r"] * r["kappa"][l])
                for l in range(len(r["c1"])))
            print(f"            with a per-block step eta_l = c1_l the paper's rate would hold in every block: {per_block_ok}")
    res = summarize(f"Case 3, {len(allrows)} draws", allrows)
    if any(res[k][0] or res[k][1] for k in ("rho2", "rho1", "rhoR")):
        failures.append("corrected bound on Case 3")
    ratio = [max(r["c1"]) / min(r["c1"]) for r in allrows]
    print(f"   spread max_l c1_l / min_l c1_l: median {mpmath.nstr(sorted(ratio)[len(ratio) // 2], 4)},"
          f" max {mpmath.nstr(max(ratio), 4)}")

    print("\n### 4. Case 3 under the literal reading eta = min_l 1/C_l1")
    n = len(allrows)
    div = viol = 0
    for r in allrows:
        scale = min(1 / x for x in r["c1"]) / r["eta"]  # x scales linearly with eta
        fac = max((1 - x * scale) ** 2 for x in r["xs"])
        div += fac > 1
        viol += fac > r["paper"]
    print(f"   {div}/{n} draws diverge (max (1 - eta x)^2 > 1) and {viol}/{n} break the paper's rate under eta = min 1/C_l1;")
    print("   it is not scale-invariant either (w0 -> s w0 gives C -> s C, but the step moves as 1/s).")

    print(f"\n### 5. {a.random} random general block quadratics (L in 2..3, d_l in 1..3, c1_l spread over decades)")
    rows = random_general(a.random, a.steps, random.Random(12345))
    res = summarize(f"random, {len(rows)} draws", rows)
    if any(res[k][0] or res[k][1] for k in ("rho2", "rho1", "rhoR")):
        failures.append("corrected bound on random draws")

    print("\nVERDICT:", "as stated, Theorem 2 is false (counterexamples above); the corrected bounds held everywhere"
          if not failures else f"FAILED: {failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
