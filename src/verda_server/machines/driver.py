"""Setting the Podman driver up at start-up: the host checked, the base image
built or loaded, and the controller made for the application."""

from __future__ import annotations

from pathlib import Path

from verda_server.catalog.service import Catalog
from verda_server.config import Machines
from verda_server.machines.controller import MachineController, Read, Work
from verda_server.machines.errors import MachineSetupError
from verda_server.machines.layout import Layout
from verda_server.machines.podman import Podman
from verda_server.machines.spec import Scale


def prepare(config: Machines) -> tuple[Layout, Path]:
    """The layout and the ready base root filesystem; MachineSetupError, with
    one line saying what is missing, when the host can't run instances."""
    from verda_server.machines import image, requirements

    assert config.root is not None
    needs_build = config.image_archive is None and not image.built(config.root)
    problem = requirements.missing(need_debootstrap=needs_build)
    if problem is not None:
        raise MachineSetupError(problem)
    base = image.ensure_base(config.root, config.image_archive)
    return Layout(config.root), base


def controller(
    config: Machines, layout: Layout, base: Path, catalog: Catalog, read: Read, work: Work
) -> MachineController:
    return MachineController(
        read=read,
        work=work,
        catalog=catalog,
        layout=layout,
        base=base,
        podman=Podman(),
        scale=Scale(config.scale),
    )
