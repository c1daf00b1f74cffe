# Developer and CI entry points. `make test` is all a fresh Debian 12 machine (as root) needs.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Re-run setup only when the project's dependencies change (or after `make clean`).
STAMP  := $(VENV)/.setup-done
# System packages the office bridge (xltools/office/bridge.py) and its tests need. libreoffice-calc
# (not -nogui, which it replaces) has the window the long-text tests type and paste in
# (tests/office_window.py: an X screen, keys and mouse, the clipboard, screenshots, the key map).
APT_PACKAGES := libreoffice-calc fonts-noto-cjk poppler-utils python3-uno
APT_PACKAGES += xvfb xdotool xclip x11-apps x11-xserver-utils
# The ledger tests of collect start their own PostgreSQL server (tests/conftest.py).
APT_PACKAGES += postgresql
# The browser tests of xltools serve drive Debian's Chromium (Playwright, tests/test_serve_browser.py).
APT_PACKAGES += chromium chromium-driver

.PHONY: setup system-packages test demo serve bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml setup.py
	@$(MAKE) --no-print-directory system-packages
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	  || { echo "需要 Python 3.11 或更高版本：$$($(PYTHON) --version 2>&1)" >&2; exit 1; }
	@# A venv without pip is a leftover of a failed run; Debian's python3 needs python3-venv for it.
	@test -x $(BIN)/pip || { rm -rf $(VENV); $(PYTHON) -m venv $(VENV) 2>/dev/null; } \
	  || { [ "$$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null \
	       && rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
	@# The distribution was called "xltools" before it took its own name: an old venv keeps a second finder.
	@$(BIN)/python -m pip uninstall -q -y xltools 2>/dev/null || true
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $@

# Installs LibreOffice, CJK fonts, pdftotext and the UNO bridge when any is missing and we are
# root (CI and fresh machines); otherwise only says what is missing, the tests then skip.
system-packages:
	@missing=""; \
	command -v soffice >/dev/null 2>&1 || missing="$$missing soffice"; \
	command -v pdftotext >/dev/null 2>&1 || missing="$$missing pdftotext"; \
	{ command -v fc-list >/dev/null 2>&1 && fc-list | grep -qi 'Noto Sans CJK'; } || missing="$$missing fonts-noto-cjk"; \
	/usr/bin/python3 -c 'import uno' >/dev/null 2>&1 || missing="$$missing python3-uno"; \
	ls /usr/lib/libreoffice/program/libvclplug_gen* >/dev/null 2>&1 || missing="$$missing libreoffice-calc"; \
	for tool in Xvfb xdotool xclip xwd xmodmap; do \
	  command -v $$tool >/dev/null 2>&1 || missing="$$missing $$tool"; \
	done; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "安装缺少的系统软件包：$$missing"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -qq && apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	  else \
	    echo "提示：缺少$$missing，LibreOffice 相关测试将被跳过（以 root 运行 make setup 可自动安装）" >&2; \
	  fi; \
	fi

# Two pytest-xdist workers (one per core here; at most 4 elsewhere), each test file whole on one
# worker: a module's fixtures are built once and its tests/artifacts/ folder is its worker's alone.
# Each worker starts its own LibreOffice and PostgreSQL (private folders, no ports), as one run does.
PYTEST_WORKERS ?= -n auto --maxprocesses 4 --dist loadfile

test: setup
	$(BIN)/python -m pytest $(PYTEST_WORKERS)

demo: setup
	@mkdir -p out
	$(BIN)/xltools template -o out/self_eval.xlsx
	$(BIN)/xltools fill examples/linxiang_2022.json -o out/linxiang_2022.xlsx
	@# check exits 1 here on purpose: the published 2022 seed contains real errors (2 would be a failure).
	$(BIN)/xltools check examples/linxiang_2022.json; test $$? -le 1
	$(BIN)/xltools check out/linxiang_2022.xlsx --write out/linxiang_2022_checked.xlsx; test $$? -le 1
	$(BIN)/xltools score out/linxiang_2022.xlsx -o out/linxiang_2022_scored.xlsx
	@# collect: a folder of submissions as they arrive (good, resubmitted and passing, erroneous, damaged),
	@# exit 2 expected (the damaged file).
	$(BIN)/python examples/make_collect_demo.py out/收件
	$(BIN)/xltools collect out/收件 -o out/汇总.xlsx; test $$? -eq 2
	@# pack refuses a report with errors; --force packs it with 未通过校验 on every PDF page (exit 1).
	$(BIN)/xltools pack out/linxiang_2022.xlsx -o out --force; test $$? -le 1
	@echo "演示完成。请打开：out/linxiang_2022_checked.xlsx（校验结果，打开即见）、out/汇总.xlsx（各单位汇总，民政局修改后的第2版通过）、out/2022_临湘市民政局_绩效自评/ 中的 PDF（打印稿）"

# The web intake on the example data: a roster of three units (their one-time links are printed),
# the example's first version already in the ledger, then `xltools serve` on 127.0.0.1:8000.
serve: setup
	$(BIN)/python examples/make_serve_demo.py out/serve
	$(BIN)/xltools serve --data out/serve/data

bench: setup
	$(BIN)/python bench/check.py

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis build dist *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
