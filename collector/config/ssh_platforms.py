"""How configuration backup talks to network OSes that page their output on an interactive shell.

The default (`exec`) sends the command on an SSH exec channel, as `ssh host 'show running-config'` does:
IOS, NX-OS, Junos, FortiOS do not page there. Huawei VRP, H3C Comware and Ruijie RGOS are driven from
their CLI prompt instead (what their own documentation and every operator does): log in to a shell,
turn the pager off for this session only, print the configuration, leave. A pager left on would stop
the output at its "More" prompt, so the pager command is part of the platform, not a setting.

Data, not code: the session logic (collector/inputs/ssh/client.py) reads these fields only.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Platform:
    name: str
    pager_off: str    # turns paging off for this session only (nothing is saved on the device)
    config: str       # prints the running configuration
    leave: str        # ends the CLI session
    prompt: str       # regular expression of the CLI prompt as the last line of what arrived
    more: str         # regular expression of the pager's prompt, were paging still on


PLATFORMS: dict[str, Platform] = {
    # VRP: user view prompt <HOSTNAME>; `screen-length 0 temporary` lasts for this session only.
    "vrp": Platform("vrp", "screen-length 0 temporary", "display current-configuration", "quit",
                    r"<[^<>\r\n]{1,64}>", r"-+\s*More\s*-+"),
    # Comware 5/7: user view prompt <HOSTNAME>; `screen-length disable` lasts for this session only.
    "comware": Platform("comware", "screen-length disable", "display current-configuration", "quit",
                        r"<[^<>\r\n]{1,64}>", r"-+\s*More\s*-+"),
    # RGOS: privileged prompt HOSTNAME# (or HOSTNAME> before enable); `terminal length 0` for this session.
    "ruijie": Platform("ruijie", "terminal length 0", "show running-config", "exit",
                       r"[^\s<>#]{1,64}[>#]", r"--\s*More\s*--"),
}
EXEC = "exec"
DEFAULT_CONFIG_COMMAND = "show running-config"
