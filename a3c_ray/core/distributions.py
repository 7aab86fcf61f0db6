"""Action distributions behind one small interface, picked from the action space.

Sampling happens in numpy on the rollout's hot path (torch.distributions costs ~150 us a call here);
log_prob and entropy are torch, for the loss.
"""

from __future__ import annotations

import math

import numpy as np
import torch

LOG_2PI = math.log(2 * math.pi)


class Categorical:
    """For Discrete(n): the head's output is n logits."""

    def __init__(self, n: int):
        self.n = n
        self.param_dim = n

    def sample(self, params: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        logits = params - params.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        cdf = np.cumsum(probs, axis=1)
        u = rng.random((len(params), 1)) * cdf[:, -1:]
        return np.minimum((cdf < u).sum(axis=1), self.n - 1)

    def mode(self, params: np.ndarray) -> np.ndarray:
        return params.argmax(axis=1)

    def log_prob(self, params: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        log_p = torch.log_softmax(params, dim=1)
        return log_p.gather(1, actions.long().view(-1, 1)).squeeze(1)

    def entropy(self, params: torch.Tensor) -> torch.Tensor:
        log_p = torch.log_softmax(params, dim=1)
        return -(log_p.exp() * log_p).sum(dim=1)


class DiagGaussian:
    """For Box(d): the head's output is d means; log std is a parameter of the model (per state with gSDE).

    `params` holds the means and the log stds side by side ([B, 2d]) so every call takes one array. With gSDE
    (a3c_ray.core.model) a third block of d columns carries the exploration noise drawn for this rollout, which a
    sample then adds instead of fresh noise.
    """

    def __init__(self, dim: int):
        self.dim = dim
        self.param_dim = dim

    def split(self, params):
        return params[:, : self.dim], params[:, self.dim : 2 * self.dim]

    def sample(self, params: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        mean, log_std = self.split(params)
        if params.shape[1] == 3 * self.dim:
            return (mean + params[:, 2 * self.dim :]).astype(np.float32)
        return (mean + np.exp(log_std) * rng.standard_normal(mean.shape)).astype(np.float32)

    def mode(self, params: np.ndarray) -> np.ndarray:
        return self.split(params)[0]

    def log_prob(self, params: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        mean, log_std = self.split(params)
        z = (actions - mean) * torch.exp(-log_std)
        return (-0.5 * z.pow(2) - log_std - 0.5 * LOG_2PI).sum(dim=1)

    def entropy(self, params: torch.Tensor) -> torch.Tensor:
        _, log_std = self.split(params)
        return (0.5 + 0.5 * LOG_2PI + log_std).sum(dim=1)


class MultiCategorical:
    """For MultiDiscrete(nvec): independent categoricals, one per component, logits side by side; log-probs and
    entropies summed (SB3's MultiCategoricalDistribution)."""

    def __init__(self, nvec: list[int]):
        self.nvec = [int(n) for n in nvec]
        self.param_dim = sum(self.nvec)
        self.parts = [Categorical(n) for n in self.nvec]
        self.bounds = np.cumsum([0, *self.nvec])

    def _split(self, params):
        return [params[:, a:b] for a, b in zip(self.bounds[:-1], self.bounds[1:])]

    def sample(self, params: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return np.stack([d.sample(p, rng) for d, p in zip(self.parts, self._split(params))], axis=1)

    def mode(self, params: np.ndarray) -> np.ndarray:
        return np.stack([p.argmax(axis=1) for p in self._split(params)], axis=1)

    def log_prob(self, params: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return sum(d.log_prob(p, actions[:, k]) for k, (d, p) in enumerate(zip(self.parts, self._split(params))))

    def entropy(self, params: torch.Tensor) -> torch.Tensor:
        return sum(d.entropy(p) for d, p in zip(self.parts, self._split(params)))


class Bernoulli:
    """For MultiBinary(n): n independent bits, one logit each."""

    def __init__(self, n: int):
        self.n = self.param_dim = n

    def sample(self, params: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return (rng.random(params.shape) * (1.0 + np.exp(-params)) < 1.0).astype(np.int8)  # u < sigmoid(logit)

    def mode(self, params: np.ndarray) -> np.ndarray:
        return (params > 0).astype(np.int8)

    def log_prob(self, params: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        bits = actions.to(params.dtype)
        return -torch.nn.functional.binary_cross_entropy_with_logits(params, bits, reduction="none").sum(dim=1)

    def entropy(self, params: torch.Tensor) -> torch.Tensor:
        p = torch.sigmoid(params)
        return torch.nn.functional.binary_cross_entropy_with_logits(params, p, reduction="none").sum(dim=1)


Distribution = Categorical | MultiCategorical | Bernoulli | DiagGaussian


def distribution_for(action_space) -> Distribution:
    """The distribution of an action space (checked by a3c_ray.envs.spaces.ActionCodec): a Box of any shape is a
    diagonal Gaussian over its flattened entries."""
    import gymnasium as gym

    if isinstance(action_space, gym.spaces.Discrete):
        return Categorical(int(action_space.n))
    if isinstance(action_space, gym.spaces.MultiDiscrete):
        return MultiCategorical(np.asarray(action_space.nvec).reshape(-1).tolist())
    if isinstance(action_space, gym.spaces.MultiBinary):
        return Bernoulli(int(np.prod(action_space.shape)))
    return DiagGaussian(int(np.prod(action_space.shape)))
