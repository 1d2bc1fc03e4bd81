"""Host security baseline: declarative checks (rules/baseline/*.toml), file integrity, auth activity.

- policy.py: the policy model and loader (tomllib; errors name file, check and key);
- host.py: what probes look at (files under a root, the allow-listed read-only commands, processes, sockets);
- results.py: probe statuses and the rule operators; registry.py: the `@probe` registry;
- parsers.py: effective configurations (sshd, login.defs, PAM, pwquality, faillock);
- probes.py, runtime.py, filescan.py, packages.py, trust.py: the probes, registered by name;
- evaluate.py: a policy's checks through the probes, combined by all/any/none;
- fim.py: file integrity of configured paths; authlog.py: failed and successful logins;
- monitor.py: scheduling and the report's `security` object; catalog.py: check metadata for the collector.

Imports go one way, with no circle (tests/test_baseline_layout.py checks it): host and results
at the bottom; registry and parsers above them; the probe modules above those; policy needs only
host; evaluate imports policy and every probe module, so every probe is registered before a run.
"""
