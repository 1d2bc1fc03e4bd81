# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench bench-sla bench-agent bench-snmp dist clean snmpsim report-shots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[collector,agent,postgres,report,test]'
	touch $(STAMP)

# The demo: simulated SNMP devices on udp 127.0.0.1:16161 (stopped with the collector), then the collector.
run: $(STAMP)
	@$(PY) -m collector.snmp.simulator --port 16161 & sim=$$!; \
	trap 'kill $$sim 2>/dev/null' EXIT INT TERM; \
	$(VENV)/bin/opsmon serve

test: lint
	$(PY) -m pytest -q

lint: $(STAMP)
	$(PY) -m ruff check collector agent tests bench

# Benchmarks are run by hand, not by `make test`: each prints its figures beside its peer tool's.
bench: $(STAMP)
	$(PY) bench/scheduler_bench.py

bench-sla: $(STAMP)
	$(PY) bench/sla_bench.py

# snmpsim for the SNMP tests (tests/peers/snmp.py looks here, or at $$OPSMON_SNMPSIM).
SNMPSIM_VENV ?= /opt/opsmon-test/snmpsim
snmpsim: $(SNMPSIM_VENV)/bin/snmpsim-command-responder

$(SNMPSIM_VENV)/bin/snmpsim-command-responder:
	/usr/bin/python3 -m venv $(SNMPSIM_VENV)
	$(SNMPSIM_VENV)/bin/pip install --quiet 'snmpsim==1.2.2' 'pysmi>=1.5'

# PNGs of the first two pages of the sample report (zh and en) for a reviewer to look at.
report-shots: $(STAMP)
	mkdir -p build/report-shots
	OPSMON_REPORT_SHOTS=$(CURDIR)/build/report-shots $(PY) -m pytest -q tests/test_report.py -k screenshots
	@ls build/report-shots

dist: $(STAMP)
	$(PY) -m pip wheel --no-deps -w dist .

clean:
	rm -rf $(VENV) dist build *.egg-info
