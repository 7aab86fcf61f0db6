"""The A2C/A3C loss of one rollout: policy gradient with advantages, value regression, entropy bonus."""

from __future__ import annotations

import numpy as np
import torch

from a3c_ray.config import Config
from a3c_ray.model import ActorCritic
from a3c_ray.returns import compute_gae
from a3c_ray.rollout import Rollout


def a3c_loss(model: ActorCritic, rollout: Rollout, config: Config) -> tuple[torch.Tensor, dict[str, float]]:
    """Loss to minimise and its parts. One critic forward covers the rollout, its tail and truncated finals."""
    steps, n = rollout.rewards.shape
    obs = torch.from_numpy(rollout.obs.reshape(steps * n, -1))
    extra = [rollout.last_obs] + [f[2][None] for f in rollout.final_obs]
    critic_in = torch.cat([obs, torch.from_numpy(np.concatenate(extra))])
    all_values = model.value(critic_in)
    values = all_values[: steps * n]
    with torch.no_grad():
        tail = all_values[steps * n:].numpy()
    final_values = np.zeros((steps, n), dtype=np.float32)
    for k, (t, i, _) in enumerate(rollout.final_obs):
        final_values[t, i] = tail[n + k]
    advantages, returns = compute_gae(
        rollout.rewards, values.detach().numpy().reshape(steps, n), tail[:n], rollout.terminated,
        rollout.truncated, final_values, config.gamma, config.gae_lambda)
    adv = torch.from_numpy(advantages.reshape(-1))
    returns_t = torch.from_numpy(returns.reshape(-1))
    actions = torch.from_numpy(rollout.actions.reshape(steps * n, *rollout.actions.shape[2:]))
    if not rollout.valid.all():  # a vector env's reset steps are not transitions: leave them out
        keep = torch.from_numpy(rollout.valid.reshape(-1))
        obs, values, adv, returns_t, actions = obs[keep], values[keep], adv[keep], returns_t[keep], actions[keep]
    if config.normalize_advantage and adv.numel() > 1:
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
    params = model.policy_params(obs)
    log_prob = model.dist.log_prob(params, actions)
    entropy = model.dist.entropy(params).mean()
    policy_loss = -(log_prob * adv).mean()
    value_loss = torch.nn.functional.mse_loss(values, returns_t)
    loss = policy_loss + config.value_coef * value_loss - config.entropy_coef * entropy
    metrics = {"policy_loss": policy_loss.item(), "value_loss": value_loss.item(), "entropy": entropy.item()}
    return loss, metrics
