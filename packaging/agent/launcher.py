#!/usr/bin/python3 -I
"""/usr/bin/opsmon-agent of the opsmon-agent-python3 package: the agent on the host's own python3 (3.7 and later).

The agent's code lies in /usr/lib/opsmon-agent, found from this file's own place (/usr/bin/../lib), put first on
the path: nothing else on the host shadows it, and an extracted payload runs where it lies (the aarch64 test runs
it so). psutil, and tomli before Python 3.11, are the OS's (python3-psutil, python3-tomli: the package's
dependencies). -I: neither PYTHONPATH nor a user's site-packages reach the service. Written for Python 3.7.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), "lib", "opsmon-agent"))

from opsmon.agent.__main__ import main  # noqa: E402 - found only once the path above is set

sys.exit(main())
