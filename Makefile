# Two commands do all set-up: `make run` and `make test`. Both are idempotent.
PYTHON := $(shell scripts/find-python)
VENV := .venv
PY := $(VENV)/bin/python
DEV_ENV := DEBUG=true

.PHONY: run test lint format lock bench bench-quick clean

$(PY):
	@test -n "$(PYTHON)" || { echo "Python 3.12+ is required"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(PY) requirements.txt
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

run: $(VENV)/.installed
	@mkdir -p var
	$(DEV_ENV) $(PY) manage.py migrate --noinput
	$(DEV_ENV) $(PY) manage.py seed_demo
	$(DEV_ENV) scripts/run-dev

test: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest $(PYTEST_ARGS)

format: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# All benchmarks, one table (BENCHMARKS.md): under 15 minutes on 2 cores; bench-quick under 2.
bench: $(VENV)/.installed-dev
	$(DEV_ENV) $(PY) -m bench $(BENCH_ARGS)

bench-quick: $(VENV)/.installed-dev
	$(DEV_ENV) $(PY) -m bench --quick $(BENCH_ARGS)

# Re-resolve the pinned sets from requirements*.in (then check the versions you meant).
lock: $(PY)
	rm -rf /tmp/lock-venv && $(PYTHON) -m venv /tmp/lock-venv
	/tmp/lock-venv/bin/pip install --quiet -r requirements.in
	/tmp/lock-venv/bin/pip freeze --all | grep -v '^pip==' > requirements.txt
	/tmp/lock-venv/bin/pip install --quiet -r requirements-dev.in
	(echo '-r requirements.txt'; /tmp/lock-venv/bin/pip freeze --all | grep -v '^pip==' | grep -vxFf requirements.txt) > requirements-dev.txt

clean:
	rm -rf $(VENV) var
