"""A fake network device behind a real OpenSSH server (tests/peers/sshd.py).

Every authorized key is restricted (`restrict,command=...`), so whatever a client asks for,
sshd runs the device script, which reads the requested command from SSH_ORIGINAL_COMMAND
and answers like a small IOS box:

- `show running-config`: an IOS preamble with volatile lines (a fresh "Last configuration
  change" time, a new `ntp clock-period` each time), then `device/running-config`, which
  tests edit to make a change;
- `show version`; `show environment` (from `device/environment`: "Temperature: 42 C");
- `show slow`: answers after 3 seconds (for timeouts);
- anything else, or an interactive shell: "% Invalid input detected", exit status 1.

`persona=` "vrp", "comware" or "ruijie" poses as a Huawei VRP, H3C Comware or Ruijie RGOS device
instead: an interactive CLI (sshd gives it a pty, which echoes what is typed, as a device does) with
its banner, its prompt (`<fake-vrp>`, `<fake-h3c>`, `fake-rg#`), its own pager-off command, its config
command printing `device/running-config` (VRP adds a fresh "!Last configuration was updated at" line)
and its error text for anything else. Until the pager-off command was typed, the configuration stops
after 10 lines at the platform's More prompt and waits for a key, as the real ones do.

Each command received is appended to `device/commands.log`.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.peers.sshd import Sshd, available

__all__ = ["SshDevice", "available", "fingerprint_of"]

SCRIPT = r'''
import os, random, sys, time
state = sys.argv[1]
cmd = " ".join(os.environ.get("SSH_ORIGINAL_COMMAND", "").split())
with open(os.path.join(state, "commands.log"), "a") as log:
    log.write(cmd + "\n")
def read(name):
    with open(os.path.join(state, name)) as f:
        return f.read()
PERSONAS = {
    "vrp": ("<fake-vrp>", "screen-length 0 temporary", "display current-configuration", "quit", "  ---- More ----",
            "Error: Unrecognized command found at '^' position.",
            "Info: The max number of VTY users is 5, the number of current VTY users on line is 1.",
            "Info: The configuration takes effect on the current user terminal interface only."),
    "comware": ("<fake-h3c>", "screen-length disable", "display current-configuration", "quit", "---- More ----",
                "% Unrecognized command found at '^' position.",
                "* Copyright (c) 2004-2026 New H3C Technologies Co., Ltd. All rights reserved.*", ""),
    "ruijie": ("fake-rg#", "terminal length 0", "show running-config", "exit", " --More-- ", "% Unknown command.",
               "", ""),
}
persona = sys.argv[2] if len(sys.argv) > 2 else ""
if persona and not cmd:
    prompt, pager_off, show, leave, more, error, banner, pager_said = PERSONAS[persona]
    paged = True
    def say(text):
        sys.stdout.write(text)
        sys.stdout.flush()
    say((banner + "\n" if banner else "") + "\n" + prompt)
    while True:
        line = sys.stdin.readline()
        if not line:
            break
        typed = " ".join(line.split())
        with open(os.path.join(state, "commands.log"), "a") as log:
            log.write(typed + "\n")
        if typed == leave:
            break
        if typed == pager_off:
            paged = False
            out = pager_said + "\n" if pager_said else ""
        elif typed == show:
            body = read("running-config")
            if persona == "vrp":
                body = ("!Software Version V200R021C00SPC100\n!Last configuration was updated at %s+08:00\n"
                        % time.strftime("%Y-%m-%d %H:%M:%S")) + body
            lines = body.splitlines(True)
            if paged and len(lines) > 10:
                say("".join(lines[:10]) + more)
                sys.stdin.read(1)  # waits for a key, as the device does
                break
            out = body
        elif typed:
            out = error + "\n"
        else:
            out = ""
        say(out + "\n" + prompt)
    sys.exit(0)
if cmd in ("show running-config", "show run"):
    body = read("running-config")
    sys.stdout.write("Building configuration...\n\nCurrent configuration : %d bytes\n!\n" % len(body))
    sys.stdout.write("! Last configuration change at %s by admin\n" % time.strftime("%H:%M:%S UTC %a %b %d %Y"))
    sys.stdout.write("ntp clock-period %d\n" % random.randint(17179000, 17179999))
    sys.stdout.write(body)
    sys.stdout.write("end\n")
elif cmd == "show version":
    sys.stdout.write("Cisco IOS Software, C2960X Software (C2960X-UNIVERSALK9-M), Version 15.2(7)E9, RELEASE\n"
                     "fake-sw uptime is 4 weeks, 2 days, 3 hours, 1 minute\n")
elif cmd == "show environment":
    sys.stdout.write(read("environment"))
elif cmd == "show slow":
    sys.stdout.flush()
    time.sleep(3)
    sys.stdout.write("done\n")
else:
    sys.stdout.write("% Invalid input detected at '^' marker.\n" if cmd else "% interactive sessions not supported\n")
    sys.exit(1)
'''

RUNNING = """\
hostname fake-sw
!
enable secret 5 $1$mERr$hx5rVt7rPNoS4wqbXKX7m0
username admin privilege 15 secret 5 $1$abcd$0123456789abcdefghij
!
interface GigabitEthernet0/1
 description uplink
 switchport mode trunk
!
snmp-server community Xy7-secret-community RO
!
line vty 0 4
 transport input ssh
"""


def fingerprint_of(pub: Path) -> str:
    """The SHA256 fingerprint of a public key file, as ssh-keygen prints it."""
    out = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", str(pub)], check=True, capture_output=True,
                         text=True).stdout
    return out.split()[1]


class SshDevice(Sshd):
    """`with SshDevice(folder) as dev:`: sshd on 127.0.0.1:dev.port serving the fake device shell.

    `port=` reuses a port (a restart with a new host key on the same address).
    """

    def __init__(self, folder: Path, port: int | None = None, persona: str = "",
                 running: str = RUNNING) -> None:
        """persona: "" (the IOS-like exec device), "vrp", "comware" or "ruijie" (an interactive CLI);
        running: its configuration."""
        super().__init__(folder)
        self.persona, self.running = persona, running
        if port is not None:
            self.port = port
        self.state = self.dir / "device"
        self.running_config = self.state / "running-config"
        self.environment = self.state / "environment"
        self.commands = self.state / "commands.log"
        self.script = self.dir / "device.py"

    def __enter__(self) -> SshDevice:
        self.state.mkdir(parents=True, exist_ok=True)
        self.script.write_text(SCRIPT)
        self.running_config.write_text(self.running)
        self.environment.write_text("Temperature: 42 C\nFan 1: OK\nPower supply 1: OK\n")
        self.commands.write_text("")
        super().__enter__()
        # sshd reads authorized_keys at every login: restrict the key before anyone logs in.
        pub = self.client_key.with_suffix(".pub").read_text().strip()
        (self.dir / "authorized_keys").write_text("")
        self.authorize(pub)
        return self

    def authorize(self, public_key: str) -> None:
        """Let another key in, restricted to the device shell like the first."""
        # `pty` after `restrict`: an interactive CLI gets a terminal (exec requests ask for none)
        forced = (f'restrict,pty,command="{sys.executable} -I {self.script} {self.state} {self.persona}" '
                  f'{public_key.strip()}\n')
        with open(self.dir / "authorized_keys", "a") as f:
            f.write(forced)

    @property
    def host_fingerprint(self) -> str:
        return fingerprint_of(self.host_key.with_suffix(".pub"))

    def received(self) -> list[str]:
        return [line for line in self.commands.read_text().splitlines() if line]
