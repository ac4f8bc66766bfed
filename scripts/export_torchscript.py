"""Export a PyTorch module to TorchScript for `hvp-dump --torchscript`.

    scripts/export-torchscript mypkg.models:make_net --input 8,3,32,32 --out net.pt
    scripts/export-torchscript torchvision.models:resnet18 \\
        --kwargs '{"weights": null, "num_classes": 10}' --input 4,3,32,32 \\
        --target 4:int:10 --save-batch batch.safetensors --out resnet18.pt

FACTORY is `package.module:callable`; the callable (with --kwargs as keyword
arguments) returns an `nn.Module`. The current directory is importable.
The module is traced (torch.jit.trace) on random example inputs, or compiled
with --script (torch.jit.script, which keeps `self.training` branches so that
`hvp-dump --bn batch` can switch BatchNorm to batch statistics). It is put in
eval mode first (--train: train mode, for a traced module whose BatchNorm
should use batch statistics; dropout must then be off).

Inputs are given as comma-separated shapes, `SHAPE` (float, standard normal)
or `SHAPE:int:HIGH` (int64, uniform in [0, HIGH)), one --input per argument
of `forward`, drawn from --seed. --save-batch writes them (tensors `input`,
or `input.0`, `input.1`, ... for several) with a --target tensor (`target`)
as safetensors: the Hessian batch for `hvp-dump --inputs`. --state-dict
writes the module's state_dict (parameters and buffers) as safetensors, the
format of `hvp-dump --checkpoint` for our zoo's models of the same names.
"""

import argparse
import importlib
import json
import os
import sys


def parse_spec(text):
    """`4,3,32,32` or `4,16:int:64` -> (shape, high or None)."""
    parts = text.split(":")
    try:
        shape = [int(d) for d in parts[0].split(",")]
    except ValueError:
        raise SystemExit(f"export-torchscript: bad shape `{parts[0]}` (expected e.g. 4,3,32,32)")
    if any(d < 1 for d in shape):
        raise SystemExit(f"export-torchscript: dimensions must be positive, got `{parts[0]}`")
    if len(parts) == 1:
        return shape, None
    if len(parts) == 3 and parts[1] == "int" and parts[2].isdigit() and int(parts[2]) > 0:
        return shape, int(parts[2])
    raise SystemExit(f"export-torchscript: bad tensor spec `{text}` (expected SHAPE or SHAPE:int:HIGH)")


def draw(torch, spec, gen, dtype):
    shape, high = spec
    if high is None:
        return torch.randn(shape, generator=gen, dtype=dtype)
    return torch.randint(0, high, shape, generator=gen, dtype=torch.int64)


def load_factory(name):
    if ":" not in name:
        raise SystemExit(f"export-torchscript: FACTORY must be package.module:callable, got `{name}`")
    mod_name, attr = name.split(":", 1)
    sys.path.insert(0, os.getcwd())
    try:
        mod = importlib.import_module(mod_name)
    except ImportError as e:
        raise SystemExit(f"export-torchscript: cannot import `{mod_name}`: {e}")
    factory = getattr(mod, attr, None)
    if not callable(factory):
        raise SystemExit(f"export-torchscript: `{mod_name}` has no callable `{attr}`")
    return factory


def main():
    ap = argparse.ArgumentParser(
        prog="export-torchscript",
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("factory", metavar="FACTORY", help="package.module:callable returning an nn.Module")
    ap.add_argument("--out", required=True, help="the TorchScript file to write (.pt)")
    ap.add_argument("--kwargs", default="{}", help="keyword arguments of the factory, as JSON")
    ap.add_argument("--input", action="append", default=[], help="example input SHAPE[:int:HIGH]; one per forward argument")
    ap.add_argument("--target", help="target SHAPE[:int:HIGH] for --save-batch (class indices: :int:CLASSES)")
    ap.add_argument("--save-batch", metavar="FILE", help="write the inputs and --target as safetensors")
    ap.add_argument("--state-dict", metavar="FILE", help="write the module's state_dict as safetensors")
    ap.add_argument("--forward-takes-target", action="store_true",
                    help="forward(inputs..., target) returns the loss (hvp-dump --loss module): trace with --target as its last argument")
    ap.add_argument("--script", action="store_true", help="torch.jit.script instead of torch.jit.trace")
    ap.add_argument("--train", action="store_true", help="trace in train mode (default: eval mode)")
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float32", help="module and float inputs")
    ap.add_argument("--seed", type=int, default=0, help="seed of the weights (set before the factory runs) and of the inputs")
    a = ap.parse_args()

    import torch

    try:
        kwargs = json.loads(a.kwargs)
    except json.JSONDecodeError as e:
        raise SystemExit(f"export-torchscript: --kwargs is not JSON: {e}")
    specs = [parse_spec(s) for s in a.input]
    if not specs and not a.script:
        raise SystemExit("export-torchscript: tracing needs at least one --input (or use --script)")
    if a.save_batch and (not specs or not a.target):
        raise SystemExit("export-torchscript: --save-batch needs --input and --target")
    if a.forward_takes_target and not a.target:
        raise SystemExit("export-torchscript: --forward-takes-target needs --target")
    dtype = getattr(torch, a.dtype)

    torch.manual_seed(a.seed)
    module = load_factory(a.factory)(**kwargs)
    if not isinstance(module, torch.nn.Module):
        raise SystemExit(f"export-torchscript: the factory returned a {type(module).__name__}, not an nn.Module")
    module = module.to(dtype)
    module.train(a.train)

    gen = torch.Generator().manual_seed(a.seed)
    inputs = [draw(torch, s, gen, dtype) for s in specs]
    target = draw(torch, parse_spec(a.target), gen, dtype) if a.target else None
    if a.script:
        ts = torch.jit.script(module)
    else:
        args = inputs + [target] if a.forward_takes_target else inputs
        ts = torch.jit.trace(module, tuple(args), check_trace=False, strict=False)
    ts.save(a.out)

    if a.save_batch:
        from safetensors.torch import save_file

        names = ["input"] if len(inputs) == 1 else [f"input.{i}" for i in range(len(inputs))]
        tensors = {n: t.contiguous() for n, t in zip(names, inputs)}
        tensors["target"] = target.contiguous()
        save_file(tensors, a.save_batch)
    if a.state_dict:
        from safetensors.torch import save_file

        # Clones: safetensors refuses tensors that share memory (tied weights).
        save_file({k: v.detach().clone().contiguous() for k, v in module.state_dict().items()}, a.state_dict)

    params = [(n, p) for n, p in ts.named_parameters() if p.requires_grad]
    count = sum(p.numel() for _, p in params)
    print(f"export-torchscript: wrote {a.out}: {len(params)} parameter tensors, {count} parameters", file=sys.stderr)


if __name__ == "__main__":
    main()
