"""The algorithm: what the 200-line original held, and nothing about transport, files or processes.

Read it in this order (about 1,000 lines):

1. `model.py`, with `encoders.py` and `distributions.py`: the actor-critic network (the original's `Net`):
   encoder (MLP or CNN, from the observation space) -> optional LSTM core -> policy and value heads; the action
   distribution (Categorical or diagonal Gaussian) picked from the action space.
2. `normalize.py`: running observation and return statistics (what the workers see, merged by the learner).
3. `rollout.py`: n steps of a group of envs with the local model (the loop body of the original's `Worker.run`).
4. `returns.py` and `loss.py`: n-step returns / GAE, with truncations bootstrapped, and the A3C loss.
5. `messages.py`: what crosses processes: `Weights` down, `Gradients` up, as plain numpy arrays, copied.
6. `worker.py`: the worker verb, `compute_gradients(weights)`: the first half of the original's `push_and_pull`
   (local loss and backward), without its gradient hand-off by aliasing.
7. `gradient_batch.py`: several gradients combined for one step, and the staleness rule (--max-policy-lag).
8. `optim.py` and `learner.py`: the learner verb, `apply_gradients`: the second half of `push_and_pull` (the
   global step), on a flat parameter vector with an optimizer whose whole state (step counter included) can live
   in shared memory: the original's `SharedAdam`, with RMSprop beside it.

The backends (a3c_ray.backends) import this package; nothing here imports them. This file imports nothing: a node
aggregator unpickles a GradientBatch without torch.
"""
