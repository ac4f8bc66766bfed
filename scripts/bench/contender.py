#!/usr/bin/env python3
"""One contender of `make bench` on one workload, in its own process: the
Python way of computing blockwise Lanczos tridiagonals, on the weights and
batch hvp-dump saved. Prints one JSON line (timings, Ritz extremes, trace
estimates); scripts/bench/driver.py runs it and measures the process.

    contender.py NAME --model mlp --weights W --batch B --blocks fc1.weight,fc1.bias
                 [--steps 100] [--probes 2] [--threads 2] [--dtype f32|f64] [--t0 EPOCH]

NAME: careful   the fair baseline: hvp-dump's rules in PyTorch. Graph built
                once per block, f64 Lanczos vectors, reorthogonalization as
                two matrix products (Q^T w, then w -= Q c), a second pass
                only when the first removed most of w (hvp-dump's test),
                beta after reorthogonalizing, the same breakdown stop, the
                tridiagonal solved by scipy's eigh_tridiagonal
      careful-twice  the loop shipped before issue 20: the same, but
                always two passes and numpy's dense eigh
      pyhessian PyHessian 0.1 `hessian(...).density()` per block (other
                parameters frozen), its removed torch.eig replaced by a shim
      curvlinops curvlinops 3.0.1 HessianLinearOperator restricted to the
                block, its papyan2020traces fast_lanczos (no reorthogonalization)
      authors   the authors' loop: per step a fresh backward(create_graph=True)
                over all parameters, then one second backward per block; no
                reorthogonalization, beta floored at 1e-8
      eigenthings  hessian-eigenthings 1.0 `spectral_density` on a
                `HessianOperator` restricted to the block by `param_filter`
                (forward and first backward rebuilt for every product; its
                Lanczos in the network's dtype, full reorthogonalization)

Every contender's one-time costs are start-up, not work: the imports of its
package, and a first double backward with `grad_outputs` (torch imports
sympy there, 0.3-0.5 s). numpy's and scipy's BLAS get one thread: a
tridiagonal of 100 rows needs no more, and idle OpenBLAS threads spin and
take the cores from torch's.
"""
import argparse
import json
import os
import time

T_IMPORT = time.time()

# Before numpy and scipy load OpenBLAS, which reads it once.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import scipy.linalg  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import twins  # noqa: E402


class Clock:
    """Seconds spent in Hessian-vector products, and their count."""

    def __init__(self):
        self.s = 0.0
        self.n = 0

    def timed(self, f):
        def g(*a, **k):
            t = time.perf_counter()
            r = f(*a, **k)
            self.s += time.perf_counter() - t
            self.n += 1
            return r

        return g


def rule(alpha, beta):
    """Gauss rule of a tridiagonal: nodes and weights (numpy's dense eigh)."""
    t = np.diag(alpha) + np.diag(beta, 1) + np.diag(beta, -1)
    vals, vecs = np.linalg.eigh(t)
    return vals, vecs[0, :] ** 2


def tridiagonal_rule(alpha, beta):
    """Gauss rule of a tridiagonal from LAPACK's tridiagonal solver (O(m^2))."""
    if len(alpha) == 1:
        return np.array(alpha, dtype=np.float64), np.ones(1)
    vals, vecs = scipy.linalg.eigh_tridiagonal(np.array(alpha), np.array(beta))
    return vals, vecs[0, :] ** 2


# hvp-dump's rules (crates/lanczos): a second Gram-Schmidt pass when the first
# left less than 1/sqrt(2) of w (Kahan-Parlett), and a breakdown when beta
# falls to 1e-10 of the largest ||H q|| seen.
SECOND_PASS_BELOW = 2**-0.5
BREAKDOWN_TOL = 1e-10


def careful_lanczos(net, x, y, blocks, steps, probes, clock, gen, always_twice=False):
    """Lanczos with the graph kept, f64 vectors, reorthogonalization as matrix products."""
    out = {}
    for name, p in blocks:
        loss = F.cross_entropy(net(x), y)
        (g,) = torch.autograd.grad(loss, [p], create_graph=True)

        @clock.timed
        def hvp(v, g=g, p=p):
            (hv,) = torch.autograd.grad(g, [p], v.to(p.dtype).reshape(p.shape), retain_graph=True)
            return hv.reshape(-1).to(torch.float64)

        m = min(steps, p.numel())
        rules = []
        for _ in range(probes):
            q = torch.randn(p.numel(), dtype=torch.float64, generator=gen)
            q /= q.norm()
            basis = torch.empty(m, p.numel(), dtype=torch.float64)
            alpha, beta = [], []
            largest = 0.0  # the largest ||H q|| so far: the scale of a breakdown
            for j in range(m):
                basis[j] = q
                w = hvp(q)
                largest = max(largest, w.norm().item())
                a = torch.dot(q, w)
                w -= a * q
                if j > 0:
                    w -= beta[-1] * basis[j - 1]
                alpha.append(a.item())
                if j + 1 == m:
                    break  # the last w is never normalized
                used = basis[: j + 1]
                if always_twice:
                    for _ in range(2):
                        w -= used.T @ (used @ w)
                    b = w.norm().item()
                else:
                    before = w.norm().item()
                    w -= used.T @ (used @ w)
                    b = w.norm().item()
                    if b < SECOND_PASS_BELOW * before:
                        w -= used.T @ (used @ w)
                        b = w.norm().item()
                # Krylov space exhausted: beyond it w is rounding noise.
                if b <= BREAKDOWN_TOL * largest or b == 0.0:
                    break
                beta.append(b)
                q = w / b
            rules.append(rule(alpha, beta) if always_twice else tridiagonal_rule(alpha, beta))
        out[name] = rules
    return out


def careful(net, x, y, blocks, steps, probes, clock, gen):
    return careful_lanczos(net, x, y, blocks, steps, probes, clock, gen)


def careful_twice(net, x, y, blocks, steps, probes, clock, gen):
    return careful_lanczos(net, x, y, blocks, steps, probes, clock, gen, always_twice=True)


def pyhessian_run(net, x, y, blocks, steps, probes, clock, gen):
    import sys

    from pyhessian import hessian  # imported at start-up (IMPORTS)

    # `pyhessian.hessian` is the class; its module holds the HVP function.
    ph_module = sys.modules["pyhessian.hessian"]

    # SHIM: torch.eig (PyHessian's last step) was removed from torch 2.x; T is
    # symmetric, so eigh gives what torch.eig gave, in its (real, imag) layout.
    def eig_shim(t, eigenvectors=True):
        vals, vecs = torch.linalg.eigh(t)
        return torch.stack([vals, torch.zeros_like(vals)], 1), vecs

    torch.eig = eig_shim
    ph_module.hessian_vector_product = clock.timed(ph_module.hessian_vector_product)
    out = {}
    params = dict(net.named_parameters())
    for name, p in blocks:
        for q in params.values():
            q.requires_grad_(q is p)
        h = hessian(net, torch.nn.CrossEntropyLoss(), data=(x, y), cuda=False)
        eigs, weights = h.density(iter=min(steps, p.numel()), n_v=probes)
        out[name] = [(np.array(e, dtype=np.float64), np.array(w, dtype=np.float64)) for e, w in zip(eigs, weights)]
    for q in params.values():
        q.requires_grad_(True)
    return out


def curvlinops_run(net, x, y, blocks, steps, probes, clock, gen):
    from curvlinops import HessianLinearOperator  # imported at start-up (IMPORTS)
    from curvlinops.papyan2020traces.spectrum import fast_lanczos

    class Timed:
        def __init__(self, op):
            self.op, self.shape, self.device, self.dtype = op, op.shape, op.device, op.dtype

        def __matmul__(self, v):
            return clock.timed(self.op.__matmul__)(v)

    out = {}
    for name, p in blocks:
        # check_deterministic off: it would add 2 gradients and 2 HVPs per block.
        op = HessianLinearOperator(net, torch.nn.CrossEntropyLoss(), [p], [(x, y)], check_deterministic=False)
        rules = []
        for _ in range(probes):
            evals, evecs = fast_lanczos(Timed(op), min(steps, p.numel()))
            rules.append((evals.double().numpy(), (evecs[0, :] ** 2).double().numpy()))
        out[name] = rules
    return out


def authors_run(net, x, y, blocks, steps, probes, clock, gen):
    params = [p for _, p in net.named_parameters()]
    index = {id(p): i for i, p in enumerate(params)}
    dt = params[0].dtype
    rules = {name: [] for name, _ in blocks}
    hvp = clock.timed(lambda g, p, v: torch.autograd.grad(g, p, v, retain_graph=True)[0])
    for _ in range(probes):
        st = {}
        for name, p in blocks:
            v = torch.randn(p.shape, generator=gen, dtype=torch.float64).to(dt)
            st[name] = dict(v=v / v.norm(), prev=None, beta=0.0, a=[], b=[], m=min(steps, p.numel()))
        for j in range(max(s["m"] for s in st.values())):
            loss = F.cross_entropy(net(x), y)
            grads = torch.autograd.grad(loss, params, create_graph=True)
            for name, p in blocks:
                s = st[name]
                if j >= s["m"]:
                    continue
                w = hvp(grads[index[id(p)]], p, s["v"])
                if s["prev"] is not None:
                    w = w - s["beta"] * s["prev"]
                a = torch.sum(w * s["v"]).item()
                s["a"].append(a)
                w = w - a * s["v"]
                if j + 1 < s["m"]:
                    b = max(w.norm().item(), 1e-8)
                    s["b"].append(b)
                    s["prev"], s["v"], s["beta"] = s["v"], w / b, b
        for name, _ in blocks:
            rules[name].append(rule(st[name]["a"], st[name]["b"]))
    return rules


def eigenthings_run(net, x, y, blocks, steps, probes, clock, gen):
    import hessian_eigenthings as he  # imported at start-up (IMPORTS)

    out = {}
    for name, p in blocks:
        op = he.HessianOperator(net, [(x, y)], he.supervised_loss(F.cross_entropy), param_filter=he.match_names(name))
        op.matvec = clock.timed(op.matvec)
        # It refuses more steps than the block has parameters.
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=gen))
        r = he.spectral_density(op, num_runs=probes, lanczos_steps=min(steps, p.numel()), seed=seed)
        rules = []
        for k in range(probes):
            keep = ~torch.isnan(r.raw_eigenvalues[k])
            rules.append((r.raw_eigenvalues[k][keep].double().numpy(), r.raw_weights[k][keep].double().numpy()))
        out[name] = rules
    return out


RUNS = {
    "careful": careful,
    "careful-twice": careful_twice,
    "pyhessian": pyhessian_run,
    "curvlinops": curvlinops_run,
    "authors": authors_run,
    "eigenthings": eigenthings_run,
}
# Each contender's package, imported at start-up.
IMPORTS = {
    "pyhessian": ["pyhessian"],
    "curvlinops": ["curvlinops", "curvlinops.papyan2020traces.spectrum"],
    "eigenthings": ["hessian_eigenthings"],
}


def first_double_backward():
    """One double backward with grad_outputs on a toy: torch's one-time imports (sympy)."""
    z = torch.ones(3, requires_grad=True)
    (g,) = torch.autograd.grad((z**3).sum(), [z], create_graph=True)
    torch.autograd.grad(g, [z], torch.ones(3))


def gradient_seconds(net, x, y, reps=5):
    """Median time of one gradient over every parameter (forward + backward)."""
    params = list(net.parameters())
    ts = []
    for _ in range(reps + 1):
        t = time.perf_counter()
        torch.autograd.grad(F.cross_entropy(net(x), y), params)
        ts.append(time.perf_counter() - t)
    return float(np.median(ts[1:]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("name", choices=sorted(RUNS))
    ap.add_argument("--model", required=True)
    ap.add_argument("--weights", required=True)
    ap.add_argument("--batch", required=True)
    ap.add_argument("--blocks", required=True)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--probes", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dtype", choices=["f32", "f64"], default="f32")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--t0", type=float, default=T_IMPORT)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    import importlib

    for module in IMPORTS.get(args.name, []):
        importlib.import_module(module)
    first_double_backward()
    dtype = torch.float64 if args.dtype == "f64" else torch.float32
    net, x, y = twins.load(args.model, args.weights, args.batch, dtype)
    params = dict(net.named_parameters())
    blocks = [(b, params[b]) for b in args.blocks.split(",")]
    # The first autograd.grad of a process imports sympy (0.3-0.4 s): start-up, not work.
    grad_s = gradient_seconds(net, x, y)
    ready = time.time()
    clock = Clock()
    gen = torch.Generator().manual_seed(args.seed)
    start = time.perf_counter()
    rules = RUNS[args.name](net, x, y, blocks, args.steps, args.probes, clock, gen)
    work = time.perf_counter() - start
    out = {
        "type": "contender_run",
        "contender": args.name,
        "startup_s": ready - args.t0,
        "work_s": work,
        "hvps": clock.n,
        "hvp_only_s": clock.s,
        "grad_s": grad_s,
        "blocks": {},
    }
    for name, p in blocks:
        nodes = [r[0] for r in rules[name]]
        weights = [r[1] for r in rules[name]]
        out["blocks"][name] = {
            "dim": p.numel(),
            "ritz_min": float(np.mean([n.min() for n in nodes])),
            "ritz_max": float(np.mean([n.max() for n in nodes])),
            "ritz_min_each": [float(n.min()) for n in nodes],
            "ritz_max_each": [float(n.max()) for n in nodes],
            "traces": [float(p.numel() * np.dot(n, w)) for n, w in zip(nodes, weights)],
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
