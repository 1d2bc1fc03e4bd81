from opsmon.collector.cli import main

raise SystemExit(main())
