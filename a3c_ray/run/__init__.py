"""One run: the training loop (`trainer.py`) and what it leaves behind.

- `trainer.py`: train(config): backend up, poll updates, record, stop, write every file.
- `stop_rule.py`: when a run stops; `recorder.py`: its counters, rows and summary; `results.py`: the tables
  as pandas (load_run, load_runs).
- `evaluation.py` (greedy evaluation of a checkpoint, video) and `periodic_eval.py` (evaluation in its own
  process during training, keeping the best policy).
- Files: `run_dir.py`, `checkpoint.py`, `plotting.py`, `tensorboard_log.py`, `video.py`; `progress.py` is the
  live line.
"""
