"""The one error type of the declarative side."""

from __future__ import annotations


class ConfigError(ValueError):
    """A network or trainer configuration is invalid.

    The message names what is wrong in the user's terms: the layer, the argument, the value
    and what was expected, and where the user wrote it (``file:line`` of a Python call, or
    file, entry and key of a model-zoo YAML file).  The parts are also kept as attributes so
    callers (the YAML loader, the command line) can add context without parsing the text.
    """

    def __init__(self, message: str, *, layer: str | None = None, argument: str | None = None,
                 where: str | None = None):
        self.reason = message
        self.layer = layer
        self.argument = argument
        self.where = where
        super().__init__(self._render())

    def _render(self) -> str:
        return f"{self.where}: {self.reason}" if self.where else self.reason

    def located(self, where: str) -> "ConfigError":
        """Return the same error with a location in front (keeps an existing location)."""
        if self.where:
            return self
        self.where = where
        self.args = (self._render(),)
        return self
