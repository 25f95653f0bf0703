"""The one error start-up reports when the host can't run real instances."""


class MachineSetupError(RuntimeError):
    """The message is one line saying what is missing or failed."""
