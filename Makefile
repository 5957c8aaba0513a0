# Two commands do everything on a fresh Debian/Ubuntu machine (see README "Quick start"):
#   make demo   set up, then print a derivation and check every derivation
#   make test   set up, then run the test suite
# Both are idempotent: finished steps are skipped (stamp files in .venv/).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TORCH_VERSION := 2.13.0
APT_PACKAGES := libcairo2-dev libpango1.0-dev pkg-config texlive-latex-base texlive-latex-recommended \
	texlive-latex-extra texlive-fonts-recommended dvisvgm
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test setup system-packages clean

demo: setup
	$(VENV)/bin/explainer show scaled-dot-product-attention
	$(VENV)/bin/explainer check --all
	$(VENV)/bin/explainer verify --all
	$(VENV)/bin/explainer render dot-product-alignment positional-encoding-waves --quality low --output media/demo

test: setup
	$(PY) -m pytest

setup: system-packages $(VENV)/.installed

system-packages:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages: $$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(VENV)/.torch:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==$(TORCH_VERSION)
	touch $@

$(VENV)/.installed: $(VENV)/.torch pyproject.toml
	$(PY) -m pip install -q -e '.[all]'
	touch $@

clean:
	rm -rf $(VENV) build *.egg-info media
