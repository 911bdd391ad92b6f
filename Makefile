# bpfdoctor — the two commands that matter on a fresh machine:
#   make demo   build the bundled examples and run `bpfdoctor check` on them
#   make test   run the whole test suite (kernel tests included)
# Both install what they need first (scripts/bootstrap.sh: apt packages + virtualenv).

VENV    ?= .venv
PY      := $(VENV)/bin/python
BUILD   := build
CLANG   ?= $(shell command -v clang-19 || command -v clang)
ARCHINC := /usr/include/$(shell gcc -dumpmachine 2>/dev/null)
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Wno-unused-value \
              -Iexamples/include -I$(ARCHINC)

EXAMPLE_SRCS := $(wildcard examples/*.bpf.c examples/failures/*.bpf.c examples/env/*.bpf.c)
EXAMPLE_OBJS := $(patsubst examples/%.bpf.c,$(BUILD)/examples/%.bpf.o,$(EXAMPLE_SRCS))

.PHONY: all bootstrap examples demo test lint bench clean

all: demo

bootstrap:
	@scripts/bootstrap.sh

$(BUILD)/examples/%.bpf.o: examples/%.bpf.c $(wildcard examples/include/*.h)
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

examples: bootstrap
	@$(MAKE) -s --no-print-directory $(EXAMPLE_OBJS) CLANG=$$(command -v clang-19 || command -v clang)

# Good programs load, each file under examples/failures/ fails for its own reason, so the
# check exits 1 by design; only a usage/input error (2) fails the demo.
demo: examples
	@echo "== bpfdoctor check on the bundled examples =="
	@$(VENV)/bin/bpfdoctor check $(EXAMPLE_OBJS); rc=$$?; \
	  if [ $$rc -eq 2 ]; then exit 2; fi; \
	  echo; echo "(exit code $$rc: 0 all loaded, 1 some program failed — expected here, 2 input error)"

test: bootstrap
	$(PY) -m pytest -q $(PYTEST_ARGS)

lint: bootstrap
	$(VENV)/bin/ruff check src tests benchmarks

bench: examples
	$(PY) benchmarks/bench_load.py
	$(PY) benchmarks/bench_corpus.py
	$(PY) benchmarks/corpus.py --xlated

clean:
	rm -rf $(BUILD) .pytest_cache
