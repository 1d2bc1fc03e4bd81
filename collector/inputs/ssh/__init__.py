"""SSH for devices without an agent: command checks and configuration backup (docs/ssh.md).

Importing this package does not import paramiko; opsmon.collector.inputs.ssh.client (and the hub) do.
"""
from __future__ import annotations

from opsmon.collector.config.ssh import SshConfig
from opsmon.collector.config.ssh_credentials import SshCredential, SshCredentialSpec, resolve
from opsmon.collector.inputs.ssh.types import CommandResult, HostKeyMismatch, UnknownHostKey

__all__ = ["CommandResult", "HostKeyMismatch", "SshConfig", "SshCredential", "SshCredentialSpec", "UnknownHostKey",
           "resolve"]
