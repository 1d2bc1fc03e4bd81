"""The frozen agent's entry point (PyInstaller runs this file as __main__): the same main() as `opsmon-agent`."""
from opsmon.agent.__main__ import main

raise SystemExit(main())
