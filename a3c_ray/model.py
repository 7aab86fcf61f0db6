"""Actor-critic network, and flat float32 views of its weights and gradients for transport."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from a3c_ray.config import Config
from a3c_ray.distributions import Categorical, DiagGaussian, distribution_for

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}


def _mlp(sizes: list[int], activation: type[nn.Module], out_gain: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        linear = nn.Linear(n_in, n_out)
        last = i == len(sizes) - 2
        nn.init.orthogonal_(linear.weight, gain=out_gain if last else np.sqrt(2))
        nn.init.zeros_(linear.bias)
        layers.append(linear)
        if not last:
            layers.append(activation())
    return nn.Sequential(*layers)


class ActorCritic(nn.Module):
    """Separate actor and critic MLPs (as SB3's A2C): a shared trunk lets the value loss disturb the policy."""

    def __init__(self, obs_dim: int, action_space, hidden_sizes=(64, 64), activation: str = "tanh",
                 log_std_init: float = 0.0):
        super().__init__()
        self.dist: Categorical | DiagGaussian = distribution_for(action_space)
        act = ACTIVATIONS[activation]
        hidden = list(hidden_sizes)
        self.actor = _mlp([obs_dim, *hidden, self.dist.param_dim], act, out_gain=0.01)
        self.critic = _mlp([obs_dim, *hidden, 1], act, out_gain=1.0)
        self.log_std = nn.Parameter(torch.full((self.dist.param_dim,), float(log_std_init))) if isinstance(
            self.dist, DiagGaussian) else None

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Distribution params [B, P] and state values [B]."""
        return self.policy_params(obs), self.critic(obs).squeeze(-1)

    def policy_params(self, obs: torch.Tensor) -> torch.Tensor:
        out = self.actor(obs)
        if self.log_std is not None:
            out = torch.cat([out, self.log_std.expand_as(out)], dim=1)
        return out

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        return self.critic(obs).squeeze(-1)


def build_model(config: Config, observation_space, action_space) -> ActorCritic:
    return ActorCritic(int(observation_space.shape[0]), action_space, config.hidden_sizes, config.activation,
                       config.log_std_init)


def get_flat_weights(model: nn.Module) -> np.ndarray:
    """A copy of all parameters as one float32 array (never a view of the live tensors)."""
    return torch.nn.utils.parameters_to_vector(model.parameters()).detach().numpy().copy()


def set_flat_weights(model: nn.Module, flat: np.ndarray) -> None:
    torch.nn.utils.vector_to_parameters(torch.tensor(flat, dtype=torch.float32), model.parameters())


def get_flat_grads(model: nn.Module) -> np.ndarray:
    """A copy of all gradients as one float32 array; missing grads count as zeros."""
    parts = [p.grad.reshape(-1) if p.grad is not None else torch.zeros(p.numel()) for p in model.parameters()]
    return torch.cat(parts).detach().numpy().copy()


def set_flat_grads(model: nn.Module, flat: np.ndarray) -> None:
    """Write `flat` into freshly allocated .grad tensors: copied, never aliased with the sender's."""
    offset = 0
    source = torch.tensor(flat, dtype=torch.float32)  # a copy: Ray hands over read-only zero-copy arrays
    for p in model.parameters():
        n = p.numel()
        p.grad = source[offset:offset + n].view_as(p)
        offset += n
