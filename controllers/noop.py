"""The do-nothing baseline."""

from controllers.base import Controller


class NoOpController(Controller):
    """Always plays ``no_op``: the cost of not acting."""

    name = "noop"

    def act(self, observation, info) -> int:
        """Return ``no_op``."""
        return 0
