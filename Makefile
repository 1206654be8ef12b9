# The two commands: `make demo` and `make test`. Both create .venv and install into it first.
VENV ?= .venv
PYTHON ?= python3
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
ARGS ?=
PYTEST_ARGS ?=

.PHONY: install demo test lint clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	# pip 23.2 cannot resolve lxml[html-clean]: upgrade pip inside the venv first.
	$(VENV)/bin/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/python -m pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

# pywb (replay) in its own venv: it pins redis 2.10 and fakeredis 0.16, which cannot share one with scrapy-redis.
REPLAY_VENV ?= .venv-replay
$(REPLAY_VENV)/bin/wayback:
	$(PYTHON) -m venv $(REPLAY_VENV)
	$(REPLAY_VENV)/bin/python -m pip install -q --upgrade pip
	$(REPLAY_VENV)/bin/python -m pip install -q 'pywb==2.10.*'

install: $(STAMP) $(REPLAY_VENV)/bin/wayback

demo: install
	$(VENV)/bin/govnews demo --db demo.db $(ARGS)

test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) $(REPLAY_VENV) demo.db demo.db-wal demo.db-shm demo.db.lock demo-warc demo-logs demo-replay
