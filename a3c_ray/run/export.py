"""A trained policy as one file that runs without a3c_ray: TorchScript (torch.jit.load) or ONNX (onnxruntime).

The exported module takes raw observations as the env gives them (a Dict or Tuple observation as its leaves,
one input each in gymnasium's flatten order, named by their key path: obs.position, obs.0, ...) with a leading
batch axis, and returns the greedy action as env.step takes it. Inside: the observation's encoding (one-hots),
the run's normaliser, the network and the policy's mode (a Discrete start added, a Box clipped or squashed into
its bounds, its shape restored). With --lstm it also takes and returns the core's state h and c, [n, H] each
(zeros at an episode's start).
"""

from __future__ import annotations

import copy
import os
import warnings
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from a3c_ray.core.distributions import Bernoulli, Categorical, DiagGaussian, MultiCategorical
from a3c_ray.core.normalize import EPS, OBS_CLIP
from a3c_ray.envs.spaces import is_image, leaves
from a3c_ray.errors import ConfigError
from a3c_ray.run.policy import Policy

FORMATS = ("torchscript", "onnx")


def leaf_names(space: gym.Space, prefix: str = "obs") -> list[str]:
    if isinstance(space, gym.spaces.Dict):
        return [n for key, sub in space.spaces.items() for n in leaf_names(sub, f"{prefix}.{key}")]
    if isinstance(space, gym.spaces.Tuple):
        return [n for i, sub in enumerate(space.spaces) for n in leaf_names(sub, f"{prefix}.{i}")]
    return [prefix]


class LeafEncoding(nn.Module):
    """One leaf of the observation as gymnasium's spaces.flatten lays it out (one-hots for Discrete ones)."""

    def __init__(self, space: gym.Space):
        super().__init__()
        self.kind = type(space).__name__
        if isinstance(space, gym.spaces.Discrete):
            self.sizes, self.starts = [int(space.n)], [int(space.start)]
        elif isinstance(space, gym.spaces.MultiDiscrete):
            self.sizes = np.asarray(space.nvec).reshape(-1).tolist()
            self.starts = np.asarray(space.start).reshape(-1).tolist()
        else:
            self.sizes, self.starts = [], []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.sizes:
            return x.reshape(x.shape[0], -1).float()
        flat = x.reshape(x.shape[0], -1).long()
        hots = [nn.functional.one_hot(flat[:, k] - start, n) for k, (n, start) in
                enumerate(zip(self.sizes, self.starts))]
        return torch.cat(hots, dim=1).float()


class GreedyPolicy(nn.Module):
    """Raw observations in, the greedy action out (and the LSTM state, with --lstm)."""

    def __init__(self, policy: Policy):
        super().__init__()
        self.model = copy.deepcopy(policy.model).requires_grad_(False)  # outputs free of autograd, as deployed
        self.space = policy.observation_space
        self.lone_image = is_image(self.space)
        self.leaves = nn.ModuleList([] if self.lone_image else [LeafEncoding(s) for s in leaves(self.space)])
        norm = policy.normalizer
        self.normalize = bool(norm.normalize_obs)
        dim = norm.obs_rms.mean.shape
        self.register_buffer("mean", torch.as_tensor(norm.obs_rms.mean, dtype=torch.float32).reshape(dim))
        self.register_buffer("std", torch.sqrt(torch.as_tensor(norm.obs_rms.var + EPS, dtype=torch.float32)))
        mask = norm.mask if norm.mask is not None else np.ones(dim, dtype=bool)
        self.register_buffer("mask", torch.as_tensor(mask))
        self._action_setup(policy.action_space, policy.config.squash_actions)

    def _action_setup(self, space: gym.Space, squash: bool) -> None:
        dist = self.model.dist
        self.kind = type(dist).__name__
        self.action_shape = list(space.shape) if space.shape else []
        start = np.asarray(getattr(space, "start", 0)).reshape(-1).astype(np.int64)
        self.register_buffer("start", torch.as_tensor(start))
        self.bounds = list(np.cumsum([0, *dist.nvec]).tolist()) if isinstance(dist, MultiCategorical) else []
        self.squash = squash
        if isinstance(dist, DiagGaussian):
            self.register_buffer("low", torch.as_tensor(space.low.reshape(-1), dtype=torch.float32))
            self.register_buffer("high", torch.as_tensor(space.high.reshape(-1), dtype=torch.float32))
            self.dim = dist.dim
        assert isinstance(dist, (Categorical, MultiCategorical, Bernoulli, DiagGaussian))

    def encode(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        if self.lone_image:
            return inputs[0]
        x = torch.cat([leaf(x) for leaf, x in zip(self.leaves, inputs)], dim=1)
        if self.normalize:
            scaled = torch.clamp((x - self.mean) / self.std, -OBS_CLIP, OBS_CLIP)
            x = torch.where(self.mask, scaled, x)
        return x

    def action(self, params: torch.Tensor) -> torch.Tensor:
        n = params.shape[0]
        if self.kind == "Categorical":
            return params.argmax(dim=1) + self.start[0]
        if self.kind == "MultiCategorical":
            picks = [params[:, a:b].argmax(dim=1) for a, b in zip(self.bounds[:-1], self.bounds[1:])]
            return (torch.stack(picks, dim=1) + self.start).reshape([n, *self.action_shape])
        if self.kind == "Bernoulli":
            return (params > 0).to(torch.int8).reshape([n, *self.action_shape])
        mean = params[:, :self.dim]
        if self.squash:
            action = self.low + (torch.tanh(mean) + 1.0) * 0.5 * (self.high - self.low)
        else:
            action = torch.maximum(torch.minimum(mean, self.high), self.low)
        return action.reshape([n, *self.action_shape])

    def forward(self, *inputs: torch.Tensor):
        if self.model.recurrent:
            *obs, h, c = inputs
            params, (h, c) = self.model.act(self.encode(list(obs)), (h, c))
            return self.action(params), h, c
        params, _ = self.model.act(self.encode(list(inputs)))
        return self.action(params)


def example_inputs(policy: Policy, n: int = 2, seed: int = 0) -> tuple[list[np.ndarray], list[str]]:
    """n sampled raw observations, leaf by leaf (batched), and the leaves' input names."""
    space = policy.observation_space
    space.seed(seed)
    samples = [space.sample() for _ in range(n)]
    per_leaf = list(zip(*[leaf_values(s, space) for s in samples]))
    columns = [np.stack([np.asarray(v) for v in values]) for values in per_leaf]
    return columns, leaf_names(space)


def leaf_values(observation, space: gym.Space) -> list:
    if isinstance(space, gym.spaces.Dict):
        return [v for key, sub in space.spaces.items() for v in leaf_values(observation[key], sub)]
    if isinstance(space, gym.spaces.Tuple):
        return [v for o, sub in zip(observation, space.spaces) for v in leaf_values(o, sub)]
    return [observation]


def export_policy(policy: Policy, out: str | os.PathLike, fmt: str = "torchscript") -> Path:
    """Write `policy` as a TorchScript or ONNX file; return its path."""
    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    out = Path(out)
    module = GreedyPolicy(policy).eval()
    columns, names = example_inputs(policy)
    inputs = [torch.as_tensor(c) for c in columns]
    outputs = ["action"]
    if policy.recurrent:
        state = policy.model.initial_state(len(columns[0]))
        inputs += list(state)
        names += ["h", "c"]
        outputs += ["h_out", "c_out"]
    with torch.no_grad():
        if fmt == "torchscript":
            traced = torch.jit.trace(module, tuple(inputs), check_trace=False)
            torch.jit.save(traced, str(out))
        else:
            _onnx_export(module, inputs, names, outputs, out)
    return out


def _onnx_export(module: nn.Module, inputs: list[torch.Tensor], names: list[str], outputs: list[str],
                 out: Path) -> None:
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise ConfigError('--format onnx needs the onnx extra: pip install "a3c-ray[onnx]"') from None
    batch = {name: {0: "batch"} for name in [*names, *outputs]}
    with warnings.catch_warnings():  # torch >= 2.9 calls this exporter legacy; it needs no onnxscript
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(module, tuple(inputs), str(out), input_names=names, output_names=outputs,
                          dynamic_axes=batch, dynamo=False)


def sample_observations(policy: Policy, n: int, seed: int = 0) -> tuple[Any, list[np.ndarray]]:
    """n sampled raw observations: as predict() takes them (a Dict of batched leaves for a Dict space), and as
    the exported file takes them (the leaves, in order)."""
    columns, _ = example_inputs(policy, n, seed)
    leaves_left = iter(columns)

    def rebuild(space: gym.Space):
        if isinstance(space, gym.spaces.Dict):
            return {key: rebuild(sub) for key, sub in space.spaces.items()}
        if isinstance(space, gym.spaces.Tuple):
            return tuple(rebuild(sub) for sub in space.spaces)
        return next(leaves_left)

    return rebuild(policy.observation_space), columns


def run_exported(path: str | os.PathLike, fmt: str, columns: list[np.ndarray], state=None) -> list[np.ndarray]:
    """What an exported file returns (the action; h and c with an LSTM, given `state` or zeros like it) for the
    observations' leaves: how a deployment calls it, with torch.jit.load or onnxruntime alone."""
    state_in = [np.zeros_like(s) for s in state] if state is not None else []
    if fmt == "torchscript":
        out = torch.jit.load(str(path))(*[torch.as_tensor(c) for c in [*columns, *state_in]])
        return [o.numpy() for o in out] if isinstance(out, tuple) else [out.numpy()]
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path))
    return session.run(None, dict(zip([i.name for i in session.get_inputs()], [*columns, *state_in])))
