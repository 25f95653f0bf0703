"""The official Python SDK's `verda.containers` deployment methods and
`verda.job_deployments` against the server: every method, what it sends and
how it reads the answers."""

from __future__ import annotations

from typing import Any

import pytest
from verda.containers._containers import (
    ComputeResource,
    Container,
    ContainerDeploymentStatus,
    ContainerRegistryCredentials,
    ContainerRegistrySettings,
    Deployment,
    EntrypointOverridesSettings,
    EnvVar,
    EnvVarType,
    GeneralStorageMount,
    HealthcheckSettings,
    MemoryMount,
    QueueLoadScalingTrigger,
    ScalingOptions,
    ScalingPolicy,
    ScalingTriggers,
    SecretMount,
    UtilizationScalingTrigger,
)
from verda.exceptions import APIException
from verda.job_deployments import JobDeployment, JobDeploymentStatus, JobScalingOptions

from tests.support import serverless as sl
from tests.support.live import LiveServer

pytestmark = pytest.mark.usefixtures("gives_back")

READY = 3


def scaling(min_replicas: int = 1, max_replicas: int = 2) -> ScalingOptions:
    return ScalingOptions(
        min_replica_count=min_replicas,
        max_replica_count=max_replicas,
        scale_down_policy=ScalingPolicy(delay_seconds=300),
        scale_up_policy=ScalingPolicy(delay_seconds=0),
        queue_message_ttl_seconds=300,
        concurrent_requests_per_replica=1,
        scaling_triggers=ScalingTriggers(
            queue_load=QueueLoadScalingTrigger(threshold=1),
            cpu_utilization=UtilizationScalingTrigger(enabled=True, threshold=80),
            gpu_utilization=UtilizationScalingTrigger(enabled=False),
        ),
    )


def deployment(name: str = "sdk-web", **fields: Any) -> Deployment:
    container = Container(
        image=sl.IMAGE,
        exposed_port=8080,
        healthcheck=HealthcheckSettings(enabled=True, port=8081, path="/health"),
        entrypoint_overrides=EntrypointOverridesSettings(enabled=True, cmd=["serve"]),
        env=[EnvVar(name="MODE", value_or_reference_to_secret="fast", type=EnvVarType.PLAIN)],
        volume_mounts=[GeneralStorageMount(mount_path="/data"), MemoryMount(size_in_mb=256)],
    )
    return Deployment(
        name=name,
        containers=[container],
        compute=ComputeResource(name="H100", size=1),
        **fields,
    )


def test_deployment_methods(sdk: Any, live: LiveServer, project: Any) -> None:
    service = sdk.containers
    made = service.create_deployment(deployment(scaling=scaling()))
    assert made.name == "sdk-web" and made.endpoint_base_url.endswith("/serverless/sdk-web")
    (container,) = made.containers
    assert container.name == "random-logger-0"
    assert container.image == {"image": sl.IMAGE, "last_updated_at": made.created_at}
    assert container.healthcheck == HealthcheckSettings(enabled=True, port=8081, path="/health")
    assert [type(m).__name__ for m in container.volume_mounts] == [
        "GeneralStorageMount",
        "MemoryMount",
    ]
    assert made.scaling == scaling()
    assert [d.name for d in service.get_deployments()] == ["sdk-web"]
    assert service.get_deployment_by_name("sdk-web").containers == made.containers
    assert service.get_deployment_status("sdk-web") is ContainerDeploymentStatus.INITIALIZING
    live.clock.advance(READY)
    assert service.get_deployment_status("sdk-web") is ContainerDeploymentStatus.HEALTHY
    (replica,) = service.get_deployment_replicas("sdk-web")
    assert replica.status == "running" and replica.id.startswith("sdk-web-")

    # Python's update flow: read, change, send the whole deployment back.
    current = service.get_deployment_by_name("sdk-web")
    current.containers[0].exposed_port = 9090
    updated = service.update_deployment("sdk-web", current)
    assert updated.containers[0].exposed_port == 9090
    assert service.get_deployment_status("sdk-web") is ContainerDeploymentStatus.VERSION_UPDATING

    assert service.get_deployment_scaling_options("sdk-web") == scaling()
    wider = scaling(min_replicas=2, max_replicas=4)
    assert service.update_deployment_scaling_options("sdk-web", wider) == wider
    assert len(service.get_deployment_replicas("sdk-web")) == 2

    service.restart_deployment("sdk-web")
    service.purge_deployment_queue("sdk-web")
    service.pause_deployment("sdk-web")
    assert service.get_deployment_status("sdk-web") is ContainerDeploymentStatus.PAUSED
    assert service.get_deployment_replicas("sdk-web") == []
    service.resume_deployment("sdk-web")
    assert service.get_deployment_status("sdk-web") is ContainerDeploymentStatus.INITIALIZING

    env = service.get_deployment_environment_variables("sdk-web")
    assert env == {"random-logger-0": [EnvVar("MODE", "fast", EnvVarType.PLAIN)]}
    sl.add_secret(live, project.project_id, "api-key")
    secret = EnvVar(name="KEY", value_or_reference_to_secret="api-key", type=EnvVarType.SECRET)
    added = service.add_deployment_environment_variables("sdk-web", "random-logger-0", [secret])
    assert added["random-logger-0"][-1] == secret
    slow = EnvVar(name="MODE", value_or_reference_to_secret="slow", type=EnvVarType.PLAIN)
    updated_env = service.update_deployment_environment_variables(
        "sdk-web", "random-logger-0", [slow]
    )
    assert updated_env == {"random-logger-0": [slow, secret]}
    left = service.delete_deployment_environment_variables("sdk-web", "random-logger-0", ["MODE"])
    assert left == {"random-logger-0": [secret]}

    service.delete_deployment("sdk-web")
    assert service.get_deployments() == []
    with pytest.raises(APIException) as raised:
        service.get_deployment_by_name("sdk-web")
    assert raised.value.code == "not_found"


def test_python_defaults_null_scaling_and_mounts(sdk: Any, live: LiveServer, project: Any) -> None:
    sl.add_file_secret(live, project.project_id, "certs")
    sl.add_credentials(live, project.project_id, "hub")
    private = ContainerRegistrySettings(
        is_private=True, credentials=ContainerRegistryCredentials(name="hub")
    )
    body = deployment("sdk-defaults", container_registry_settings=private)
    body.containers[0].volume_mounts.append(
        SecretMount(mount_path="/certs", secret_name="certs", file_names=["a.txt"])
    )
    made = sdk.containers.create_deployment(body)
    assert made.scaling.min_replica_count == 0 and made.scaling.max_replica_count == 3
    assert made.scaling.scaling_triggers.queue_load.threshold == 3
    assert made.containers[0].volume_mounts[-1].secret_name == "certs"
    assert sdk.containers.get_deployment_replicas("sdk-defaults") == []
    assert made.container_registry_settings == private


def test_job_methods(sdk: Any, live: LiveServer) -> None:
    service = sdk.job_deployments
    container = Container(
        image=sl.IMAGE,
        exposed_port=8080,
        entrypoint_overrides=EntrypointOverridesSettings(
            enabled=True, entrypoint=["python3", "main.py"], cmd=["--port", "8080"]
        ),
        volume_mounts=[GeneralStorageMount(mount_path="/data")],
    )
    job = JobDeployment(
        name="sdk-job",
        containers=[container],
        compute=ComputeResource(name="H100", size=1),
        scaling=JobScalingOptions(
            max_replica_count=1, queue_message_ttl_seconds=300, deadline_seconds=3600
        ),
    )
    made = service.create(job)
    assert made.name == "sdk-job" and made.scaling == job.scaling
    assert made.containers[0].name == "random-logger-0"
    (summary,) = service.get()
    assert summary.name == "sdk-job" and summary.compute.name == "H100"
    assert service.get_by_name("sdk-job").endpoint_base_url.endswith("/serverless/sdk-job")
    assert service.get_status("sdk-job") is JobDeploymentStatus.RUNNING
    assert service.get_scaling_options("sdk-job") == job.scaling
    made.scaling = JobScalingOptions(
        max_replica_count=2, queue_message_ttl_seconds=600, deadline_seconds=60
    )
    assert service.update("sdk-job", made).scaling == made.scaling
    service.pause("sdk-job")
    assert service.get_status("sdk-job") is JobDeploymentStatus.PAUSED
    service.resume("sdk-job")
    service.purge_queue("sdk-job")
    assert service.get_status("sdk-job") is JobDeploymentStatus.RUNNING
    service.delete("sdk-job", timeout=0.0)
    assert service.get_status("sdk-job") is JobDeploymentStatus.TERMINATING
    live.clock.advance(READY)
    assert service.get() == []
    service.create(job)
    service.delete("sdk-job", timeout=120000.0)  # sent as "120000.0"
    with pytest.raises(APIException):
        service.get_by_name("sdk-job")
