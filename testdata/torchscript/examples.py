"""Modules for the TorchScript tests (scripts/export-torchscript FACTORY).

`make-fixtures` in this directory exports the small ones committed here;
the ResNet18 of the torchvision cross-check (45 MB) is exported by the test.
"""

import torch
from torch import nn


def gpt2_tiny():
    """HuggingFace transformers' GPT-2 from a small config (random init,
    nothing downloaded): 2 layers, 2 heads, 16 wide, vocabulary 64, context
    16; eager attention (the fused kernel has no double backward on CPU),
    no dropout, tuple outputs (logits first) and no cache, so it traces."""
    from transformers import GPT2Config, GPT2LMHeadModel

    cfg = GPT2Config(
        vocab_size=64, n_positions=16, n_embd=16, n_layer=2, n_head=2,
        attn_pdrop=0.0, embd_pdrop=0.0, resid_pdrop=0.0, bos_token_id=0, eos_token_id=0,
        torchscript=True, use_cache=False, attn_implementation="eager",
    )
    return GPT2LMHeadModel(cfg)


class TinyMlp(nn.Module):
    """10 -> 6 -> 3, tanh: a smooth loss whose Hessian is dense."""

    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(10, 6)
        self.out = nn.Linear(6, 3)

    def forward(self, x):
        return self.out(torch.tanh(self.hidden(x)))


def tiny_mlp():
    return TinyMlp()


class TwoInputs(nn.Module):
    """forward(x, scale): two arguments, as a model with a mask would take."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 3)

    def forward(self, x, scale):
        return torch.tanh(self.lin(x)) * scale


def two_inputs():
    return TwoInputs()


class WithLoss(nn.Module):
    """forward(x, target) -> the scalar loss: `--loss module`."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 2)

    def forward(self, x, target):
        return ((torch.tanh(self.lin(x)) - target) ** 2).mean()


def with_loss():
    return WithLoss()


def frozen_mlp():
    """No parameter requires grad."""
    m = TinyMlp()
    for p in m.parameters():
        p.requires_grad_(False)
    return m


class Cdist(nn.Module):
    """torch.cdist's backward has no derivative (no double backward)."""

    def __init__(self):
        super().__init__()
        self.centers = nn.Parameter(torch.randn(3, 10))

    def forward(self, x):
        return -torch.cdist(x, self.centers)


def cdist():
    return Cdist()


class TinyLm(nn.Module):
    """Tokens [N, T] -> logits [N, T, 8]: an 8-token language model for any
    batch and sequence length (an embedding and a linear readout)."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(8, 4)
        self.out = nn.Linear(4, 8)

    def forward(self, x):
        return self.out(torch.tanh(self.embed(x)))


def tiny_lm():
    return TinyLm()
