"""A real `opsmon-agent` process for the tests, reporting every second to a test collector."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ROOT

AGENT = [sys.executable, "-m", "agent"]


QUICK_POLICY = ROOT / "tests" / "fixtures" / "policies" / "quick.toml"


def agent_config(tmp_path: Path, url: str | list[str], token: str, extra: str = "") -> Path:
    """An agent reporting every second. Its security baseline is a four-check policy unless `extra` says
    otherwise: the bundled one's first run (apt's simulation, dpkg --verify) costs half a minute of CPU,
    which every agent of every test would spend on a 2-core machine."""
    if "baseline" not in extra:
        extra = f'baseline_policy = "{QUICK_POLICY}"\n' + extra
    path = tmp_path / "agent.toml"
    urls = f'"{url}"' if isinstance(url, str) else "[" + ", ".join(f'"{u}"' for u in url) + "]"
    path.write_text(f'collector_url = {urls}\ntoken = "{token}"\ninterval = 1\n'
                    f'spool_dir = "{tmp_path / "spool"}"\ntimeout = 2\n' + extra)
    path.chmod(0o600)
    return path


class AgentProc:
    def __init__(self, config: Path) -> None:
        self.log = config.parent / f"agent-{time.monotonic_ns()}.log"
        with open(self.log, "w") as err:
            self.proc = subprocess.Popen([*AGENT, "--config", str(config)], cwd=ROOT, stdout=err, stderr=err)

    def stop(self, sig: int = signal.SIGTERM) -> str:
        self.proc.send_signal(sig)
        self.proc.wait(timeout=20)
        return self.log.read_text()
