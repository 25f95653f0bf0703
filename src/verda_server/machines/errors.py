"""The error the driver's set-up reports: the host or the image is not fit."""


class MachineSetupError(RuntimeError):
    """Podman instances cannot be run as asked; the message is one line for the operator."""
