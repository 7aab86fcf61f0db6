"""When a run stops, in one place: solved (--stop-return reached by the 100-episode training mean, or by a
greedy evaluation confirmed on fresh seeds), --stop-steps, or --stop-seconds; whichever comes first."""

from __future__ import annotations

from dataclasses import dataclass

from a3c_ray.config import Config


@dataclass
class StopRule:
    stop_return: float | None
    stop_steps: int | None
    stop_seconds: float | None
    by_eval: bool  # solved by a confirmed greedy evaluation, not by the training mean
    solved_at: tuple[float, int] | None = None  # (training seconds, env steps)

    @classmethod
    def of(cls, config: Config) -> StopRule:
        return cls(config.stop_return, config.stop_steps, config.stop_seconds, config.solved_by_eval)

    def reaches_return(self, value: float) -> bool:
        return self.stop_return is not None and value >= self.stop_return

    def training_mean(self, mean: float, elapsed: float, env_steps: int) -> None:
        """The 100-episode training mean, whenever the window is full; it solves the run unless evaluation does."""
        if not self.by_eval:
            self._solve(mean, elapsed, env_steps)

    def confirmed_eval(self, mean: float, elapsed: float, env_steps: int) -> None:
        """A second evaluation round on fresh seeds, of weights whose first round reached the threshold; a first
        round alone never solves the run (picking the luckiest of many rounds would)."""
        if self.by_eval:
            self._solve(mean, elapsed, env_steps)

    def _solve(self, value: float, elapsed: float, env_steps: int) -> None:
        if self.solved_at is None and self.reaches_return(value):
            self.solved_at = (elapsed, env_steps)

    def reason(self, env_steps: int, elapsed: float) -> str:
        """Why the run stops now ("solved", "stop_steps", "stop_seconds"), or "" to go on."""
        if self.solved_at is not None:
            return "solved"
        if self.stop_steps is not None and env_steps >= self.stop_steps:
            return "stop_steps"
        if self.stop_seconds is not None and elapsed >= self.stop_seconds:
            return "stop_seconds"
        return ""

    def summary(self) -> dict:
        solved = self.solved_at is not None
        return {"solved": solved, "solved_by": ("eval" if self.by_eval else "train") if solved else None,
                "time_to_solve_s": self.solved_at[0] if solved else None,
                "env_steps_to_solve": self.solved_at[1] if solved else None, "stop_return": self.stop_return}
