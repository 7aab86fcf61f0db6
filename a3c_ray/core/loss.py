"""The A2C/A3C loss of one rollout: policy gradient with advantages, value regression, entropy bonus."""

from __future__ import annotations

import numpy as np
import torch

from a3c_ray.config import Config
from a3c_ray.core.model import ActorCritic, reset_where, select_state
from a3c_ray.core.returns import compute_gae
from a3c_ray.core.rollout import Rollout


def a3c_loss(model: ActorCritic, rollout: Rollout, config: Config) -> tuple[torch.Tensor, dict[str, float]]:
    """Loss to minimise and its parts. The model re-runs the rollout from the state it started in (one batched
    forward, or the recurrent core step by step with the same resets), then bootstraps the tail and every
    truncated episode's final obs from the state at that step."""
    steps, n = rollout.rewards.shape
    state = rollout.state if rollout.state is None else (rollout.state[0].clone(), rollout.state[1].clone())
    resets = torch.from_numpy(rollout.resets) if rollout.resets is not None else torch.zeros(steps, n, dtype=bool)
    params, values, after = model.unroll(torch.from_numpy(rollout.obs), state, resets)
    with torch.no_grad():
        last_state = reset_where(after[-1], torch.from_numpy(rollout.last_resets)) \
            if rollout.last_resets is not None else after[-1]
        tail = model.value(torch.from_numpy(rollout.last_obs), last_state).numpy()
        final_values = np.zeros((steps, n), dtype=np.float32)
        if rollout.final_obs:
            final_values[tuple(zip(*[(t, i) for t, i, _ in rollout.final_obs]))] = bootstrap_finals(model, rollout,
                                                                                                  after)
    advantages, returns = compute_gae(
        rollout.rewards, values.detach().numpy().reshape(steps, n), tail, rollout.terminated, rollout.truncated,
        final_values, config.gamma, config.gae_lambda)
    adv = torch.from_numpy(advantages.reshape(-1))
    returns_t = torch.from_numpy(returns.reshape(-1))
    actions = torch.from_numpy(rollout.actions.reshape(steps * n, *rollout.actions.shape[2:]))
    if not rollout.valid.all():  # a vector env's reset steps are not transitions: leave them out
        keep = torch.from_numpy(rollout.valid.reshape(-1))
        params, values, adv, returns_t, actions = params[keep], values[keep], adv[keep], returns_t[keep], actions[keep]
    if config.normalize_advantage and adv.numel() > 1:
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
    log_prob = model.dist.log_prob(params, actions)
    entropy = model.dist.entropy(params).mean()
    policy_loss = -(log_prob * adv).mean()
    value_loss = torch.nn.functional.mse_loss(values, returns_t)
    loss = policy_loss + config.value_coef * value_loss - config.entropy_coef * entropy
    metrics = {"policy_loss": policy_loss.item(), "value_loss": value_loss.item(), "entropy": entropy.item()}
    return loss, metrics


def bootstrap_finals(model: ActorCritic, rollout: Rollout, after: list) -> np.ndarray:
    """V(final obs) of each truncated episode, with the recurrent state right after its last step."""
    obs = torch.from_numpy(np.stack([f[2] for f in rollout.final_obs]))
    if after[0] is None:
        return model.value(obs).numpy()
    rows = [select_state(after[t], [i]) for t, i, _ in rollout.final_obs]
    state = (torch.cat([r[0] for r in rows]), torch.cat([r[1] for r in rows]))
    return model.value(obs, state).numpy()
