"""Adam and RMSprop over a model's parameters held as one flat vector.

Every model keeps its parameters as views into one contiguous buffer (`flatten_parameters`), so weights travel
as one copy and an optimizer step is a handful of vector operations on that buffer, whatever the layers. It also
keeps torch.optim out of every process: constructing a torch optimizer imports torch._dynamo, ~1.5-2 s here, paid
by the driver and by each mp worker at start-up. The update rules are torch's (Adam: bias-corrected, eps outside
the square root; RMSprop: uncentred, no momentum); a test checks them step for step against torch.optim.
"""

from __future__ import annotations

import math

import torch
from torch import nn

KINDS = ("adam", "rmsprop")
ADAM_BETAS = (0.9, 0.999)
RMSPROP_ALPHA = 0.99  # the A3C paper's and SB3 A2C's


def flatten_parameters(model: nn.Module) -> torch.Tensor:
    """Move the parameters into one contiguous float32 buffer and make each of them a view into it."""
    params = list(model.parameters())
    flat = torch.cat([p.detach().reshape(-1).float() for p in params])
    for p, view in zip(params, views_into(flat, params)):
        p.data = view
    return flat


def views_into(flat: torch.Tensor, params: list[torch.Tensor]) -> list[torch.Tensor]:
    """One view of `flat` per parameter, shaped like it, in order and back to back."""
    views, offset = [], 0
    for p in params:
        views.append(flat[offset:offset + p.numel()].view_as(p))
        offset += p.numel()
    return views


class FlatGradients:
    """One contiguous float32 buffer that holds every parameter's gradient, each `.grad` a view into it.

    Backward accumulates into an existing `.grad` in place, so after `zero()` and a backward pass the whole
    gradient is this one vector: clipping is one norm and one multiply, and sending it one copy, instead of a pass
    over the parameters for each (~0.1 ms of a Pendulum task's ~3 ms). A parameter the loss does not reach keeps a
    zero gradient, as a missing `.grad` counted before.
    """

    def __init__(self, model: nn.Module):
        """The views share the buffer's storage in this process (and after share_memory or a deepcopy, which keep
        storages shared); a model pickled on its own would not, as `model.flat` would not: build the model where it
        trains."""
        self.params = list(model.parameters())
        self.flat = torch.zeros(sum(p.numel() for p in self.params))
        self.views = views_into(self.flat, self.params)

    def zero(self) -> torch.Tensor:
        """Zero the buffer and (re)attach each view as its parameter's `.grad`: a `zero_grad()` elsewhere, which
        sets them to None, cannot leave a gradient outside the buffer."""
        self.flat.zero_()
        for p, view in zip(self.params, self.views):
            if p.grad is not view:
                p.grad = view
        return self.flat

    def clip_norm(self, max_norm: float) -> float:
        """The gradient's L2 norm before clipping; scaled to `max_norm` when above it (torch's clip_grad_norm_
        rule, over all parameters as one vector). `max_norm` <= 0: no clipping."""
        norm = float(torch.linalg.vector_norm(self.flat))
        if max_norm > 0:
            scale = max_norm / (norm + 1e-6)
            if not scale >= 1.0:  # a NaN norm makes every entry NaN, as torch's rule does
                self.flat.mul_(scale)
        return norm


class FlatOptimizer:
    """The global optimizer: `step(params, grad)` updates the flat parameter vector in place."""

    def __init__(self, kind: str, size: int, lr: float, eps: float = 1e-5):
        if kind not in KINDS:
            raise ValueError(f"optimizer must be one of {KINDS}, got {kind!r}")
        self.kind, self.lr, self.eps = kind, lr, eps
        names = ("exp_avg", "exp_avg_sq") if kind == "adam" else ("square_avg",)
        self.state = {"step": torch.zeros((), dtype=torch.float64), **{n: torch.zeros(size) for n in names}}

    def share_memory(self) -> "FlatOptimizer":
        """State in shared memory, for the mp backend's workers to step together (under its lock)."""
        for tensor in self.state.values():
            tensor.share_memory_()
        return self

    @torch.no_grad()
    def step(self, params: torch.Tensor, grad: torch.Tensor, lr_scale: float = 1.0) -> None:
        """One update of `params` in place; `lr_scale` scales this step's learning rate only (--lr-per-update)."""
        s, lr = self.state, self.lr * lr_scale
        s["step"] += 1
        if self.kind == "rmsprop":
            s["square_avg"].mul_(RMSPROP_ALPHA).addcmul_(grad, grad, value=1 - RMSPROP_ALPHA)
            params.addcdiv_(grad, s["square_avg"].sqrt().add_(self.eps), value=-lr)
            return
        beta1, beta2 = ADAM_BETAS
        step = float(s["step"])
        s["exp_avg"].lerp_(grad, 1 - beta1)
        s["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        denom = (s["exp_avg_sq"].sqrt() / math.sqrt(1 - beta2 ** step)).add_(self.eps)
        params.addcdiv_(s["exp_avg"], denom, value=-lr / (1 - beta1 ** step))

    def state_dict(self) -> dict:
        return {"kind": self.kind, "lr": self.lr, **{k: v.clone() for k, v in self.state.items()}}

    def load_state_dict(self, saved: dict) -> None:
        """Our own layout, or torch.optim's (checkpoints of a3c_ray before 0.2: per-parameter state, in order)."""
        if "state" in saved:  # torch.optim's state_dict
            per_param = [saved["state"][i] for i in sorted(saved["state"])]
            saved = {"kind": self.kind, "step": torch.as_tensor(per_param[0]["step"], dtype=torch.float64),
                     **{k: torch.cat([p[k].reshape(-1) for p in per_param]) for k in self.state if k != "step"}}
        if saved.get("kind") != self.kind or any(saved[k].shape != v.shape for k, v in self.state.items()):
            raise ValueError("optimizer state of another kind or size")
        for key, value in self.state.items():
            value.copy_(saved[key])
