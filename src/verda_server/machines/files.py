"""What the driver writes for a machine to read at boot (/etc/verda, read-only
inside): its keys, environment and startup script, and, for a cluster, the
key its jump host uses to reach its nodes."""

from __future__ import annotations

from pathlib import Path

from verda_server.machines.layout import Layout
from verda_server.machines.spec import Kind, Machine

CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# Instances trust what the host trusts (its egress may re-sign TLS).
CA_ENVIRONMENT = "".join(
    f"{name}={CA_BUNDLE}\n" for name in ("REQUESTS_CA_BUNDLE", "PIP_CERT", "SSL_CERT_FILE")
)
CLUSTER_KEY = "id_ed25519"


def write_config(layout: Layout, machine: Machine) -> Path:
    config = layout.config(machine.key)
    config.mkdir(parents=True, exist_ok=True)
    keys = list(machine.keys)
    if machine.kind is Kind.CLUSTER:
        private, public = cluster_key(layout, machine.owner_id)
        keys.append(public)
        if machine.holds_cluster_key:
            write_if_changed(config / CLUSTER_KEY, private, mode=0o600)
    write_if_changed(config / "authorized_keys", "".join(f"{key}\n" for key in keys))
    write_if_changed(config / "environment", CA_ENVIRONMENT)
    script = config / "startup-script"
    if machine.startup_script is None:
        script.unlink(missing_ok=True)
    else:
        write_if_changed(script, machine.startup_script)
    return config


def cluster_key(layout: Layout, cluster_id: str) -> tuple[str, str]:
    """The cluster's own key pair (OpenSSH private key, public key line), made
    once and kept until the cluster goes."""
    directory = layout.cluster(cluster_id)
    private, public = directory / CLUSTER_KEY, directory / f"{CLUSTER_KEY}.pub"
    if not (private.is_file() and public.is_file()):
        # Only a server with real instances needs it, so only it imports it.
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        key = Ed25519PrivateKey.generate()
        directory.mkdir(parents=True, exist_ok=True)
        write_if_changed(
            private,
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.OpenSSH,
                serialization.NoEncryption(),
            ).decode(),
            mode=0o600,
        )
        line = key.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        write_if_changed(public, f"{line.decode()} cluster-{cluster_id}\n")
    return private.read_text(), public.read_text().strip()


def write_if_changed(path: Path, text: str, mode: int = 0o644) -> None:
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)
        path.chmod(mode)
