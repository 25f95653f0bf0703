"""What a real machine (machines/) reports about its instance, applied by the
same state table as everything else: the machine answering ends provisioning
(the timed transition, which the clock does not drive for real machines), and
a machine that stopped on its own is a broken one (`error`)."""

from __future__ import annotations

from verda_server.instances import forced
from verda_server.instances.models import Instance
from verda_server.instances.service import status_of
from verda_server.instances.states import FORCED_FROM, TIMED, Status


def answered(instance: Instance) -> bool:
    """Provisioning is over; False when the instance was not provisioning."""
    status = status_of(instance)
    if status not in TIMED or instance.deleted_at is not None:
        return False
    instance.status = TIMED[status].value
    instance.due_at = None
    return True


def died(instance: Instance) -> bool:
    """Its machine stopped without being asked to; False when the status says
    the machine is not meant to run (nothing broke)."""
    if instance.deleted_at is not None or status_of(instance) not in FORCED_FROM[Status.ERROR]:
        return False
    return forced.force(instance, Status.ERROR)
