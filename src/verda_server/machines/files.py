"""What the driver writes for a machine to read at boot (/etc/verda, read-only
inside): its keys, environment and startup script, and, for a cluster, the
key its jump host uses to reach its nodes."""

from __future__ import annotations

import os
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
    """A new file made with its mode and put in place whole: a private key is
    never readable by others, and a machine booting meanwhile reads the old
    file or the new one, never half of one."""
    if path.is_file() and path.read_text() == text:
        return
    partial = path.with_name(f".{path.name}.new")
    partial.unlink(missing_ok=True)
    handle = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    os.fchmod(handle, mode)  # the umask may have taken bits the file needs
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(partial, path)
