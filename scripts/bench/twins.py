"""PyTorch twins of hvp-dump's `mlp` and `gpt2-small` (nanoGPT's GPT), written
for the bench: the same architecture, parameter names and loss, loading the
weights (`hvp-dump --save-weights`) and the Hessian batch (`--save-batch`)
that hvp-dump used, so that every contender takes the same Hessian.

forward(x) returns logits [N, C] (GPT: [B*T, V]) and `targets` are flattened
to match, as PyHessian and curvlinops require; the loss is the mean
cross-entropy, as hvp-dump's.
"""
import math

import torch
import torch.nn.functional as F
from safetensors.torch import load_file


class Mlp(torch.nn.Module):
    """Linear-ReLU stack, layers fc1..fc4 as hvp-dump's `mlp`."""

    def __init__(self, widths):
        super().__init__()
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            self.add_module(f"fc{i + 1}", torch.nn.Linear(a, b))
        self.n = len(widths) - 1

    def forward(self, x):
        for i in range(self.n):
            x = getattr(self, f"fc{i + 1}")(x)
            if i + 1 < self.n:
                x = F.relu(x)
        return x


class Block(torch.nn.Module):
    def __init__(self, e, heads):
        super().__init__()
        self.heads = heads
        self.ln_1 = torch.nn.LayerNorm(e)
        self.attn = torch.nn.Module()
        self.attn.c_attn = torch.nn.Linear(e, 3 * e)
        self.attn.c_proj = torch.nn.Linear(e, e)
        self.ln_2 = torch.nn.LayerNorm(e)
        self.mlp = torch.nn.Module()
        self.mlp.c_fc = torch.nn.Linear(e, 4 * e)
        self.mlp.c_proj = torch.nn.Linear(4 * e, e)

    def forward(self, x, mask):
        b, t, e = x.shape
        hd = e // self.heads
        q, k, v = self.attn.c_attn(self.ln_1(x)).split(e, dim=2)
        q, k, v = (z.view(b, t, self.heads, hd).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))
        att = att.masked_fill(mask[:t, :t], float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).contiguous().view(b, t, e)
        x = x + self.attn.c_proj(y)
        return x + self.mlp.c_proj(F.gelu(self.mlp.c_fc(self.ln_2(x))))


class Gpt(torch.nn.Module):
    """nanoGPT's GPT without dropout, head tied to transformer.wte (as hvp-dump's)."""

    def __init__(self, vocab, block_size, e, layers, heads):
        super().__init__()
        self.transformer = torch.nn.Module()
        self.transformer.wte = torch.nn.Embedding(vocab, e)
        self.transformer.wpe = torch.nn.Embedding(block_size, e)
        self.transformer.h = torch.nn.ModuleList([Block(e, heads) for _ in range(layers)])
        self.transformer.ln_f = torch.nn.LayerNorm(e)
        mask = torch.ones(block_size, block_size, dtype=torch.bool).tril().logical_not()
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, idx):
        b, t = idx.shape
        w = self.transformer.wte.weight
        # index_select as hvp-dump: embedding's double backward is far slower on CPU.
        x = w.index_select(0, idx.reshape(-1)).view(b, t, -1)
        x = x + self.transformer.wpe.weight.index_select(0, torch.arange(t, device=idx.device))
        for blk in self.transformer.h:
            x = blk(x, self.mask)
        x = self.transformer.ln_f(x)
        return (x @ w.T).reshape(b * t, -1)


HEADS = {"gpt2-small": 2, "gpt2-nano": 6}


def load(model, weights, batch, dtype=torch.float32):
    """The twin of `model` with the saved weights, and the saved batch (x, y)."""
    w = load_file(weights)
    b = load_file(batch)
    if model == "mlp":
        n = len([k for k in w if k.endswith(".weight")])
        widths = [w["fc1.weight"].shape[1]] + [w[f"fc{i}.weight"].shape[0] for i in range(1, n + 1)]
        net = Mlp(widths)
    else:
        vocab, e = w["transformer.wte.weight"].shape
        layers = len({k.split(".")[2] for k in w if k.startswith("transformer.h.")})
        net = Gpt(vocab, w["transformer.wpe.weight"].shape[0], e, layers, HEADS[model])
    net.load_state_dict(w, strict=True)
    net = net.to(dtype)
    x = b["input"]
    if x.is_floating_point():
        x = x.to(dtype)
    return net, x, b["target"].reshape(-1)
