#!/usr/bin/python3 -I
"""/usr/bin/opsmon-agent of the opsmon-agent-python3 package: the agent on the host's own python3 (3.7 and later).

The agent's code lies in /usr/lib/opsmon-agent, found from this file's own place (/usr/bin/../lib), put first on
the path: nothing else on the host shadows it, and an extracted payload runs where it lies (the aarch64 test runs
it so). psutil is the OS's (python3-psutil, the package's dependency). tomli, which reads agent.toml before Python
3.11, is the OS's where it has one (python3-tomli), else the package's own copy in /usr/lib/opsmon-agent/vendor
(UOS V20 packages none): that folder goes last on the path, so tomllib (3.11+) or the OS's tomli wins wherever
either exists. -I: neither PYTHONPATH nor a user's site-packages reach the service. Written for Python 3.7.
"""
import os
import sys

LIB = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), "lib", "opsmon-agent")
sys.path.insert(0, LIB)
sys.path.append(os.path.join(LIB, "vendor"))

from opsmon.agent.__main__ import main  # noqa: E402 - found only once the path above is set

sys.exit(main())
