"""Operating-system plumbing, apart from the RL: atomic file writes, spawned processes that find their way back
(`spawn.py`), terminal signals during a run (`interrupts.py`) and the CLI's supervising parent (`supervise.py`).
"""
