"""Host security baseline: declarative checks (rules/baseline/*.toml), file integrity, auth activity.

- policy.py: the policy model and loader (tomllib; errors name file, check and key);
- conditions.py: the read-only probes and the all/any/none evaluation;
- fim.py: file integrity of configured paths; authlog.py: failed and successful logins;
- monitor.py: scheduling and the report's `security` object; catalog.py: check metadata for the collector.
"""
