"""Small JSON state files in the agent's spool directory, written atomically and readable by root only.

What must survive a restart lives here: file integrity's recorded tree (`fim-state.json`), the
auth log position (`auth-state.json`) and the baseline's stateful checks (`setid-state.json`,
`updates-state.json`, `pkgverify-state.json`). A missing or damaged file reads as an empty
document, so its owner starts again (a new baseline); it never stops the agent:

    doc = load(spool / "setid-state.json")      # {} the first time
    doc["roots"] = {...}
    save(spool / "setid-state.json", doc)       # write to .new, chmod 0600, rename over
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def load(path: str | Path) -> dict[str, Any]:
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def save(path: str | Path, doc: dict[str, Any]) -> None:
    """Replace the file in one step: a crash leaves the old document or the new one, never half of one."""
    path = Path(path)
    tmp = path.with_name(path.name + ".new")
    # 0600 from its creation: auth state names users and addresses; inventories name files.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(json.dumps(doc, separators=(",", ":")))
    os.chmod(tmp, 0o600)  # a leftover .new from before keeps its old mode through O_CREAT
    os.replace(tmp, path)
