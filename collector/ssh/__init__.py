"""SSH for devices without an agent: command checks and configuration backup (docs/ssh.md).

Importing this package does not import paramiko; collector.ssh.client (and the hub) do.
"""
from __future__ import annotations

from collector.ssh.credentials import SshCredential, SshCredentialSpec, resolve
from collector.ssh.settings import SshConfig
from collector.ssh.types import CommandResult, HostKeyMismatch, UnknownHostKey

__all__ = ["CommandResult", "HostKeyMismatch", "SshConfig", "SshCredential", "SshCredentialSpec", "UnknownHostKey",
           "resolve"]
