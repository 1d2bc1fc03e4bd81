# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test test-fast lint bench bench-sla bench-cli bench-hj212 bench-agent bench-snmp bench-docs dist dist-agent clean snmpsim \
	report-shots old-pythons agent-binary agent-packages agent-vendor agent-python-packages debian-root \
	debian-root-arm64 collector-wheels collector-packages offline-bundle

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[collector,agent,postgres,report,test]'
	touch $(STAMP)

# The demo: simulated SNMP devices on udp 127.0.0.1:16161 and two HJ 212 units sending to tcp 127.0.0.1:9212
# (both stopped with the collector), then the collector.
run: $(STAMP)
	@$(PY) -m opsmon.collector.inputs.snmp.simulator --port 16161 & sim=$$!; \
	$(PY) -m opsmon.collector.inputs.hj212.simulator --port 9212 & dau=$$!; \
	trap 'kill $$sim $$dau 2>/dev/null' EXIT INT TERM; \
	$(VENV)/bin/opsmon serve

# Two workers, each taking whole test files (module fixtures such as the Ansible estate stay on one worker), in
# the order tests/conftest.py collects them: its longest files first (LONGEST_FIRST), so neither worker is left
# alone with a long file at the end; TEST_WORKERS=0 runs everything in this process (a single failing test reads
# better that way).
TEST_WORKERS ?= 2
test: lint
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

# The quick loop while changing code: no real peers, no collector processes, no property tests (~2 min).
test-fast: lint
	$(PY) -m pytest -q -m "not peer and not slow"

# Style (agent/ for Python 3.7: ruff at target py37 there, agent/ruff.toml, and vermin for the standard library),
# the import contracts between the rooms (pyproject's [tool.importlinter]), and strict types on the
# typed messages, the store, the timeline and the HJ 212 codec (mypy reads the opsmon namespace through links).
lint: $(STAMP)
	$(PY) -m ruff check collector agent tests bench packaging
	$(VENV)/bin/vermin --quiet --no-tips --violations -t=3.7- --exclude-regex 'agent/packaging/' agent tests/agent/py37 \
		packaging/agent/launcher.py
	$(VENV)/bin/lint-imports --no-cache
	@mkdir -p build/typecheck/opsmon
	@ln -sfn ../../../agent build/typecheck/opsmon/agent
	@ln -sfn ../../../collector build/typecheck/opsmon/collector
	$(VENV)/bin/mypy --strict -p opsmon.collector.core.messages -p opsmon.collector.store \
		-p opsmon.collector.timeline -p opsmon.collector.service.routes -p opsmon.collector.inputs.hj212 \
		-p opsmon.collector.inputs.flows

# Benchmarks are run by hand, not by `make test`: each prints its figures beside its peer tool's.
bench: $(STAMP)
	$(PY) bench/scheduler_bench.py

bench-sla: $(STAMP)
	$(PY) bench/sla_bench.py

# Every read command of `opsmon` beside `python -c pass` (about a minute; docs/operations.md, "The command line").
bench-cli: $(STAMP)
	$(PY) bench/cli_bench.py

# 5,000 DAUs on one `opsmon serve` against a read-and-discard floor (about 4 minutes; docs/hj212.md, "Cost").
bench-hj212: $(STAMP)
	$(PY) bench/hj212_bench.py

# The docs' performance figures against their measurements (docs/measurements.md): per row, the commits that
# changed its measured code since it was measured; RUN=1 also re-runs the benches of about 2 minutes or less
# (bench/docs_figures.py QUICK; about 10 minutes in all, ONLY=id,id for some) and prints their output beside
# the figures in the docs, with the load average.
bench-docs: $(STAMP)
	$(PY) bench/docs_figures.py $(if $(RUN),--run) $(if $(ONLY),--only $(ONLY))

# snmpsim for the SNMP tests (tests/peers/snmp.py looks here, or at $$OPSMON_SNMPSIM).
SNMPSIM_VENV ?= /opt/opsmon-test/snmpsim
snmpsim: $(SNMPSIM_VENV)/bin/snmpsim-command-responder

$(SNMPSIM_VENV)/bin/snmpsim-command-responder:
	/usr/bin/python3 -m venv $(SNMPSIM_VENV)
	$(SNMPSIM_VENV)/bin/pip install --quiet 'snmpsim==1.2.2' 'pysmi>=1.5'

# A venv per pyenv Python (3.6 to 3.13) with the agent's dependencies, for tests/agent/test_old_pythons.py:
# it needs the package index (psutil 5.5.1 is built from source), so it is a setup step, never a test's.
old-pythons: $(STAMP)
	$(PY) -m tests.agent.old_pythons

# PNGs of the first two pages of the sample report (zh and en) for a reviewer to look at.
report-shots: $(STAMP)
	mkdir -p build/report-shots
	OPSMON_REPORT_SHOTS=$(CURDIR)/build/report-shots $(PY) -m pytest -q tests/collector/outputs/test_report.py -k screenshots
	@ls build/report-shots

dist: $(STAMP)
	$(PY) -m pip wheel --no-deps -w dist .

# The agent alone for the hosts (Python 3.7+): dist/opsmon_agent-*.whl (docs/agent.md, "Install on a host").
# setuptools builds in agent/packaging/build, whose leftovers would ship in the next wheel: removed around it.
dist-agent: $(STAMP)
	rm -rf agent/packaging/build agent/packaging/*.egg-info
	$(PY) -m pip wheel --no-deps -w dist agent/packaging
	rm -rf agent/packaging/build agent/packaging/*.egg-info

# The agent as one self-contained x86_64 file (no Python, no libc needed on the host; docs/install.md):
# dist/opsmon-agent-<version>-linux-x86_64. The first run makes the build venv from the package index
# (packaging/requirements-binary.txt, ~10 s); the build itself ~25 s; nothing is rebuilt while the file is
# newer than agent/. tests/packaging/test_agent_binary.py reuses the file, so .ci/run makes it before `make test`.
agent-binary: $(STAMP)
	$(PY) packaging/agent_binary.py --setup --if-stale

# The self-contained agent as dist/opsmon-agent_<version>-1_amd64.deb and dist/opsmon-agent-<version>-1.x86_64.rpm
# (dpkg-deb, and rpmbuild from Debian's `rpm`), with the opsmon_agent role's hardened unit (docs/install.md).
agent-packages: agent-binary
	$(PY) packaging/agent_packages.py

# The pure-Python libraries the agent's python3 package carries (packaging/agent/vendor.txt: tomli, for UOS V20),
# downloaded once from the package index in pip's hash-checking mode into build/agent-vendor (~2 s); the packages and
# the tests build from there without the network, so .ci/run makes it before `make test`.
agent-vendor: $(STAMP)
	$(PY) packaging/agent_packages.py --vendor

# The agent on the host's own python3 (3.7+) and python3-psutil, for aarch64 hosts (Kunpeng, Phytium) and any other:
# dist/opsmon-agent-python3_<version>-1_all.deb and dist/opsmon-agent-python3-<version>-1.noarch.rpm (~5 s, offline;
# docs/install.md). The same unit, config, user and scripts as agent-packages; the two conflict (same paths).
agent-python-packages: agent-vendor
	$(PY) packaging/agent_packages.py --python

# The collector as dist/opsmon-collector_<version>-1_amd64.deb and dist/opsmon-collector-<version>-1.x86_64.rpm:
# the pinned wheels (packaging/constraints-collector.txt) installed by the post-install into /opt/opsmon-collector
# without the network, the role's unit, /etc/opsmon, rules and dashboards under /usr/share/opsmon (docs/install.md).
# collector-wheels is the part that needs the package index (~40 s, kept in build/collector-wheels while the pins
# stay); the tests build the packages from it themselves (~15 s), so .ci/run makes only the wheels.
collector-wheels: $(STAMP)
	$(PY) packaging/collector_packages.py --setup --wheels-only

collector-packages: collector-wheels
	$(PY) packaging/collector_packages.py

# One tar for an estate without the internet: dist/opsmon-offline-<version>.tar with the pinned wheels, both wheels
# of opsmon, the four packages and the agent's file, the Ansible roles (also as the collection opsmon.estate),
# rules/, grafana/ and a README in Chinese and English (packaging/offline/README.md; docs/install.md).
offline-bundle: agent-binary agent-vendor collector-wheels
	$(PY) packaging/offline_bundle.py

# A clean minimal Debian root for tests/packaging (debootstrap --variant=minbase with python3-venv, 1 to 3 min with
# the package index),
# made once under /opt/opsmon-test like the other test peers; the tests lay an overlay over it, never change it.
debian-root: $(STAMP)
	$(PY) packaging/debian_root.py

# Debian's arm64 python3 and python3-psutil unpacked (debootstrap --foreign, no emulation, 50 to 95 s with the package
# index) into /opt/opsmon-test/debian-root-arm64: tests/packaging/test_agent_aarch64.py runs the agent there under
# qemu-aarch64-static (apt-get install qemu-user-static), by path, without binfmt_misc.
debian-root-arm64: $(STAMP)
	$(PY) packaging/debian_root.py --arch arm64

clean:
	rm -rf $(VENV) dist build *.egg-info
