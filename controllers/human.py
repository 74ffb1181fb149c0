"""Human-in-the-loop baseline (paper Sec. 5).

An alert pages an engineer, who responds after a mean of 45 minutes and applies the right
fix 88% of the time.

The engineer's knowledge of the right fix is the scenario's annotated optimal action,
read from ``info["truth"]["optimal_action"]`` (``uses_hidden_state``: the one piece of
hidden state this model uses, standing for the investigation). A wrong fix is drawn
uniformly from the other paper actions. Each incident charges the investigation time plus
``handling_minutes`` of engineer time.
"""

from __future__ import annotations

from controllers.base import Controller, check_bool, check_int, check_number
from controllers.envelope import alarm
from simulator.layout import ACTION_NAMES


class HumanController(Controller):
    """Alert, wait ``response_minutes``, then act correctly with probability ``accuracy``.

    Parameters
    ----------
    response_minutes : int
        Mean response delay (paper: 45); drawn per incident from an exponential with this
        mean when ``random_delay`` is true, else fixed.
    accuracy : float
        Probability the engineer picks the right action (paper: 0.88).
    handling_minutes : float
        Engineer minutes per incident on top of the response delay.
    """

    name = "human"
    uses_hidden_state = True

    def __init__(self, seed: int = 0, cooldown: int = 60, alpha: float = 0.05,
                 response_minutes: int = 45, accuracy: float = 0.88,
                 handling_minutes: float = 30.0, random_delay: bool = False):
        super().__init__(seed=seed, cooldown=cooldown, alpha=alpha)
        response_minutes = check_int("response_minutes", response_minutes)
        accuracy = check_number("accuracy", accuracy, finite=True)
        handling_minutes = check_number("handling_minutes", handling_minutes, finite=True)
        random_delay = check_bool("random_delay", random_delay)
        if response_minutes < 0:
            raise ValueError(f"response_minutes must be >= 0, got {response_minutes}")
        if not 0.0 <= accuracy <= 1.0:
            raise ValueError(f"accuracy must be in [0, 1], got {accuracy}")
        if handling_minutes < 0:
            raise ValueError(f"handling_minutes must be >= 0, got {handling_minutes}")
        self.response_minutes = response_minutes
        self.accuracy = accuracy
        self.handling_minutes = handling_minutes
        self.random_delay = random_delay
        self._respond_at = -1
        self._paged_at = 0

    def reset(self, seed: int) -> None:
        """Close any open incident."""
        super().reset(seed)
        self._respond_at = -1

    def act(self, observation, info) -> int:
        """Page on an alarm; act when the engineer arrives."""
        minute = int(info.get("minute", 0))
        if self._respond_at < 0:
            if not self.in_cooldown(info) and alarm(self.observe(observation, info)):
                delay = self.response_minutes
                if self.random_delay:
                    delay = int(round(self.rng.exponential(self.response_minutes)))
                self._respond_at = minute + delay
                self._paged_at = minute
            return 0
        if minute < self._respond_at:
            return 0
        self._respond_at = -1
        self._quiet_until = minute + 1 + self.cooldown
        self.engineer_minutes += (minute - self._paged_at) + self.handling_minutes
        n = int(info.get("n_actions", 4))
        right = ACTION_NAMES.index(info["truth"]["optimal_action"])
        if self.rng.random() < self.accuracy:
            return right
        others = [a for a in range(n) if a != right]
        return int(self.rng.choice(others))
