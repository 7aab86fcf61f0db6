"""Actor-critic network: encoder -> (optional LSTM core) -> heads; flat float32 views of weights and gradients.

Without a core, on vector observations, the actor and the critic are separate MLPs (as SB3's A2C): a shared trunk
lets the value loss disturb the policy. With an LSTM core, or an image encoder, they share the trunk: the critic
needs the same memory (a velocity the observation lacks) or the same visual features the actor does, and the
recurrent or convolutional part is most of the cost, which two copies would double. That is the A3C paper's
A3C-LSTM (and ikostrikov's pytorch-a3c, RLlib's use_lstm).

The rollout and the loss speak to every variant through three calls: `initial_state(n)`, `act(obs, state)` (one
step, for acting) and `unroll(obs, state, resets)` (a whole rollout, for the loss); `draw_noise(n, rng)` starts a
rollout's gSDE noise.

gSDE (`--gsde`, Box actions; SB3's use_sde with full_std): the exploration noise of a state is z(s) @ W, z(s) the
actor's last hidden features (detached: the noise does not train them) and W [features, d] drawn per env from
N(0, exp(log_std)^2) at the start of each rollout. So the policy is N(mean(s), z(s)^2 @ exp(2 log_std)): its
std depends on the state, and within a rollout the same state gets the same noise.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from a3c_ray.config import Config
from a3c_ray.core.distributions import DiagGaussian, Distribution, distribution_for
from a3c_ray.core.encoders import ACTIVATIONS, make_encoder, mlp
from a3c_ray.core.optim import FlatGradients, flatten_parameters
from a3c_ray.envs.spaces import observation_layout
from a3c_ray.errors import ConfigError

State = tuple[torch.Tensor, torch.Tensor] | None  # the LSTM's (h, c), [N, H] each; None without a core
GSDE_EPS = 1e-6  # added to the variance, as SB3


class ActorCritic(nn.Module):
    def __init__(self, observation_space, action_space, config: Config):
        super().__init__()
        self.observation_space, self.action_space = observation_space, action_space  # what it was built for
        self.dist: Distribution = distribution_for(action_space)
        act, ortho = ACTIVATIONS[config.activation], config.ortho_init
        encoder, features = make_encoder(observation_layout(observation_space, config.env), config)
        self.shared = config.lstm or encoder is not None
        if self.shared:
            self.encoder = encoder if encoder is not None else \
                mlp([features, *config.hidden_sizes], act, last=act, ortho=ortho)
            width = features if encoder is not None else config.hidden_sizes[-1]
            self.core = nn.LSTMCell(width, config.lstm_size) if config.lstm else None
            width = config.lstm_size if config.lstm else width
            actor, critic = list(config.actor_sizes or ()), list(config.critic_sizes or ())  # head layers
            self.actor_head = mlp([width, *actor, self.dist.param_dim], act, out_gain=0.01, ortho=ortho)
            self.critic_head = mlp([width, *critic, 1], act, out_gain=1.0, ortho=ortho)
            latent = width  # gSDE: the features the heads read
        else:
            actor = list(config.actor_sizes or config.hidden_sizes)
            self.actor = mlp([features, *actor, self.dist.param_dim], act, out_gain=0.01, ortho=ortho)
            self.critic = mlp([features, *(config.critic_sizes or config.hidden_sizes), 1], act, out_gain=1.0,
                              ortho=ortho)
            latent = actor[-1]
        self.gsde = config.gsde
        if self.gsde and not isinstance(self.dist, DiagGaussian):
            raise ConfigError(f"--gsde explores Box actions; this env's action space is {action_space}: drop --gsde")
        std_shape = (latent, self.dist.param_dim) if self.gsde else (self.dist.param_dim,)
        self.log_std = nn.Parameter(torch.full(std_shape, float(config.log_std_init))) if isinstance(
            self.dist, DiagGaussian) else None
        self.noise_weights: torch.Tensor | None = None  # gSDE's W per env, [N, features, d]; not a parameter
        self.flat = flatten_parameters(self)  # every parameter is a view into this one vector (a3c_ray.core.optim)
        self.grads = FlatGradients(self)  # and every gradient into this one
        self.grads.zero()

    @property
    def recurrent(self) -> bool:
        return self.shared and self.core is not None

    def initial_state(self, n: int) -> State:
        if not self.recurrent:
            return None
        zeros = torch.zeros(n, self.core.hidden_size)
        return zeros, zeros.clone()

    def _separate_actor(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The separate actor MLP's output and its last hidden layer (gSDE's noise is a function of that)."""
        *body, head = self.actor  # iterated, not sliced: a slice builds a new Sequential at every call (~3% of a
        latent = obs  # Pendulum worker's time)
        for layer in body:
            latent = layer(latent)
        return head(latent), latent

    def act(self, obs: torch.Tensor, state: State = None) -> tuple[torch.Tensor, State]:
        """Distribution params [N, P] for one step of N envs, and the state after it."""
        if not self.shared:
            return self._params(*self._separate_actor(obs), noise=True), None
        features, state = self._step(self.encoder(obs), state)
        return self._params(self.actor_head(features), features, noise=True), state

    def draw_noise(self, n: int, rng: np.random.Generator) -> None:
        """gSDE: new noise weights for n envs, for the rollout about to start (no-op otherwise)."""
        if self.gsde:
            std = torch.exp(self.log_std.detach())
            self.noise_weights = torch.from_numpy(rng.standard_normal((n, *std.shape)).astype(np.float32)) * std

    def unroll(self, obs: torch.Tensor, state: State, resets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor,
                                                                                    list[State]]:
        """Params [T*N, P] and values [T*N] of a rollout's obs [T, N, ...] starting from `state`, and the state after
        each step ([T], None without a core). resets[t] marks rows whose state starts fresh (a new episode): the
        state is zeroed before that step, exactly as it was while acting."""
        steps, n = obs.shape[:2]
        flat = obs.reshape(steps * n, *obs.shape[2:])
        if not self.shared:
            return self._params(*self._separate_actor(flat)), self.critic(flat).squeeze(-1), [None] * steps
        encoded = self.encoder(flat)
        if not self.recurrent:
            return self._params(self.actor_head(encoded), encoded), self.critic_head(encoded).squeeze(-1), \
                [None] * steps
        encoded = encoded.reshape(steps, n, -1)
        outputs, states = [], []
        for t in range(steps):
            out, state = self._step(encoded[t], reset_where(state, resets[t]))
            outputs.append(out)
            states.append(state)
        features = torch.cat(outputs)
        return self._params(self.actor_head(features), features), self.critic_head(features).squeeze(-1), states

    def value(self, obs: torch.Tensor, state: State = None) -> torch.Tensor:
        """Values [N] of obs [N, ...], each row with its own state (for bootstrapping)."""
        if not self.shared:
            return self.critic(obs).squeeze(-1)
        features, _ = self._step(self.encoder(obs), state)
        return self.critic_head(features).squeeze(-1)

    def _step(self, encoded: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        if self.core is None:
            return encoded, None
        h, c = self.core(encoded, state)
        return h, (h, c)

    def _params(self, out: torch.Tensor, latent: torch.Tensor, noise: bool = False) -> torch.Tensor:
        """The distribution's params: logits; or means and log stds, with gSDE per state (and, while acting, the
        rollout's noise z(s) @ W as a third block)."""
        if self.log_std is None:
            return out
        if not self.gsde:
            return torch.cat([out, self.log_std.expand_as(out)], dim=1)
        z = latent.detach()
        log_std = 0.5 * torch.log(z.pow(2) @ torch.exp(2 * self.log_std) + GSDE_EPS)
        parts = [out, log_std]
        if noise and self.noise_weights is not None and len(self.noise_weights) == len(z):
            parts.append(torch.bmm(z.unsqueeze(1), self.noise_weights).squeeze(1))
        return torch.cat(parts, dim=1)


def reset_where(state: State, resets: torch.Tensor) -> State:
    """Zero the rows of `state` where `resets` is True (a new episode starts there)."""
    if state is None or not bool(resets.any()):
        return state
    keep = (~resets).to(state[0].dtype).unsqueeze(1)
    return state[0] * keep, state[1] * keep


def select_state(state: State, rows) -> State:
    return None if state is None else (state[0][rows], state[1][rows])


def build_model(config: Config, observation_space, action_space) -> ActorCritic:
    return ActorCritic(observation_space, action_space, config)


def get_flat_weights(model: ActorCritic) -> np.ndarray:
    """A copy of all parameters as one float32 array (never a view of the live tensors)."""
    return model.flat.detach().numpy().copy()


def set_flat_weights(model: ActorCritic, flat: np.ndarray) -> None:
    """Copy `flat` into the parameters (Ray hands over read-only arrays: copied, never wrapped)."""
    model.flat.detach().numpy()[:] = flat


def get_flat_grads(model: ActorCritic) -> np.ndarray:
    """A copy of all gradients as one float32 array (a parameter the loss did not reach: zeros)."""
    return model.grads.flat.numpy().copy()
