# syncd developer/CI entry points. `make test` is what CI runs (via .ci/run).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# `make run`'s own venv: the runtime only (`pip install -e .`, no test extras), as a server has it.
RUN_VENV := .venv-run
RUN_STAMP := $(RUN_VENV)/.installed

.DEFAULT_GOAL := test
.PHONY: venv run-venv docker-env swarm-env test lint mutation run bench schemas clean distclean

# (Re)install the package + test extras whenever pyproject.toml changes.
venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -e '.[test]'
	touch $@

# The runtime alone (what `pip install .` / `pipx install` gives a server), for `make run`.
run-venv: $(RUN_STAMP)

$(RUN_STAMP): pyproject.toml
	test -x $(RUN_VENV)/bin/python || $(PY) -m venv $(RUN_VENV)
	$(RUN_VENV)/bin/python -m pip install -e .
	touch $@

# Docker engine, offline busybox:1.36 image and private registry on 127.0.0.1:5555.
# All three scripts are idempotent and fast when everything is already up.
docker-env:
	scripts/ensure-docker.sh
	scripts/ensure-test-image.sh
	scripts/ensure-registry.sh

# The three-node test swarm beside the host's engine, for the Swarm tests (manager
# unix:///run/swn1/docker.sock; scripts/swarm-down.sh removes it). Idempotent; `make test` runs it.
swarm-env: docker-env
	scripts/ensure-swarm.sh

# The engine was just provisioned: nothing CI requires (Docker, registry, the reference spec, a
# local dockerd for the outage test) may be skipped; SYNCD_REQUIRE_ALL=1 makes a gap a failure.
test: venv
	$(MAKE) --no-print-directory swarm-env
	scripts/ensure-tools.sh
	scripts/ensure-browser.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	# Two workers (one per core; a test file stays on one worker). Then, alone: the SIGKILL
	# test (its kill points are drawn in windows measured on a machine it does not share) and
	# the outage test, which restarts dockerd.
	SYNCD_REQUIRE_ALL=1 SYNCD_REQUIRE_DOCKER=1 $(BIN)/pytest -n 2 --dist loadfile \
		--ignore=tests/test_outage.py --ignore=tests/test_interrupted.py
	SYNCD_REQUIRE_ALL=1 SYNCD_REQUIRE_DOCKER=1 $(BIN)/pytest tests/test_interrupted.py tests/test_outage.py

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Mutation testing (mutmut) of the pure core against its fast tests; not part of `make test`.
# Slow (about 0.5 mutant/s on 2 cores); MUTANTS='syncd.core.canonical*' runs one module's mutants.
mutation: venv
	# A mutant can loop while growing a list (a cycle finder that never sees its cycle): every
	# process gets at most 4 GiB of address space, so it dies instead of eating the machine.
	ulimit -v 4194304 && $(BIN)/mutmut run $(MUTANTS)
	$(BIN)/mutmut results

# The quickstart: the daemon on sample-repo/ (a bare repo in the data dir, made on first run),
# API on 127.0.0.1:8080; prints how to push a change to it. Runs from .venv-run (runtime only).
run: run-venv
	$(MAKE) --no-print-directory docker-env
	SHOP_REGISTRY_PASSWORD="$${SHOP_REGISTRY_PASSWORD:-syncd-test-pw}" \
		$(RUN_VENV)/bin/syncd validate --repo sample-repo --allow-env SHOP_REGISTRY_PASSWORD
	SYNCD_BIN=$(RUN_VENV)/bin scripts/run-sample.sh

bench: venv
	command -v wrk >/dev/null || apt-get install -y -q wrk  # the API load test (Debian's wrk)
	$(BIN)/python -m bench

schemas: venv
	$(BIN)/syncd schema --out schemas/

# Caches and build artefacts only; keeps .venv and leaves dockerd/registry running.
clean:
	rm -rf .mypy_cache .ruff_cache .pytest_cache .hypothesis build dist *.egg-info mutants
	find . \( -path ./$(VENV) -o -path ./$(RUN_VENV) \) -prune -o -type d -name __pycache__ -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) $(RUN_VENV)
