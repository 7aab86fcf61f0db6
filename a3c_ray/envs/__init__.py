"""Env creation and groups of envs stepped together.

- `make.py`: make_env, gymnasium.make with clear errors (unknown id, missing extra, unsupported spaces).
- `suites.py`: the pixel suites of optional extras (MinAtar, Atari) and 'module:Env-v0' ids; no torch.
- `groups.py`: make_env_group, the workers' front door: the fastest group that gives the same env, one of
  `loop_group.py` (a plain loop), `native_vector.py` (gymnasium's numpy vector envs, ale-py's) and
  `pendulum_vector.py` (our batched Pendulum); each returns a `step.StepResult`.
- `actions.py`: a policy's sample as the env takes it (Box actions clipped or squashed on the way in).
- `registration.py` and `memory_envs.py`: the envs this package registers (CartPoleNoVel).

This file imports nothing: `import a3c_ray` must not pull in gymnasium.
"""
