# sockleak - finds the code that leaks sockets. See README.md.
#   make          the shim (build/libsockleak.so), examples and test programs
#   make test     unit tests, integration tests, and the integration tests under ASan+UBSan
#   make demo     runs a leaky example under the shim and shows its report
#   make deps     installs the Debian packages the build and tests need (deps/debian.txt;
#                 as root), or says how
#   make install  PREFIX=/usr/local DESTDIR=: library, launcher, headers, pkg-config, man pages
#   make docs     rewrites the documentation's generated parts (option tables, version)
#   make bench    benchmarks: the shim's cost, one table (bench-quick: a few seconds a row;
#                 bench-profile: the shim's instructions per call, by function)

# `make` builds all, not the first rule the variants below happen to define
.DEFAULT_GOAL := all
CC       ?= cc
CXX      ?= c++
CFLAGS   ?= -O2 -g
B        := build
WARN     := -Wall -Wextra -Werror
VERSION  := $(shell cat VERSION)
SHIMFLAGS = -std=gnu11 -fPIC -pthread $(WARN) -Iinclude -Isrc -DSL_VERSION='"$(VERSION)"'
SHIMLIBS := -ldl -pthread
SHIMLINK := -shared -Wl,-soname,libsockleak.so -Wl,-z,nodelete -Wl,-z,now -Wl,--exclude-libs,ALL -Wl,-z,noexecstack

# src/ is layered (src/README.md): each layer uses only those before it in LAYERS.
LAYERS   := base fd core report runtime shim
SRCS     := $(foreach l,$(LAYERS),$(wildcard src/$(l)/*.c))
ASMS     := $(foreach l,$(LAYERS),$(wildcard src/$(l)/*.S))

# The shim is built in four variants from one template: VARIANT_CFLAGS is what each
# adds. obj: the shim; asan: ASan+UBSan; tsan: ThreadSanitizer (gcc's libtsan, preloaded
# after it); unit: the layers as shared libraries of their own for the unit tests.
# obj is linked with -flto: the layers stay separate files, but a wrapper's path through
# them (wrapper, verb, registry, stack table) compiles as one function (issue 16).
obj_CFLAGS  = $(CFLAGS) -fvisibility=hidden -flto=auto
asan_CFLAGS = -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -fvisibility=hidden
tsan_CFLAGS = -O1 -g -fsanitize=thread -fvisibility=hidden
unit_CFLAGS = $(CFLAGS)
obj_LINK    = $(CFLAGS) -flto=auto $(SHIMLINK)
asan_LINK   = -fsanitize=address,undefined $(SHIMLINK)
tsan_LINK   = -fsanitize=thread $(SHIMLINK)
define VARIANT
$(B)/$(1)/%.o: src/%.c | $(B)/deps.ok
	@mkdir -p $$(@D)
	$$(CC) $$($(1)_CFLAGS) $$(SHIMFLAGS) -MMD -c $$< -o $$@
$(B)/$(1)/%.o: src/%.S
	@mkdir -p $$(@D)
	$$(CC) $$(SHIMFLAGS) -c $$< -o $$@
$(1)_OBJS := $$(SRCS:src/%.c=$(B)/$(1)/%.o) $$(ASMS:src/%.S=$(B)/$(1)/%.o)
# the flags are in this file: an object built with other flags (-flto came later) is rebuilt
$$($(1)_OBJS): VERSION Makefile
-include $$($(1)_OBJS:.o=.d)
endef
$(foreach v,obj asan tsan unit,$(eval $(call VARIANT,$(v))))

$(B)/libsockleak.so: $(obj_OBJS) $(B)/sockleak-node.js
	$(CC) $(obj_LINK) -o $@ $(filter %.o,$^) $(SHIMLIBS)
$(B)/asan/libsockleak.so: $(asan_OBJS) $(B)/asan/sockleak-node.js
	$(CC) $(asan_LINK) -o $@ $(filter %.o,$^) $(SHIMLIBS)
# Node's hook (src/shim/lang.c), next to each library that loads it
$(B)/sockleak-node.js $(B)/asan/sockleak-node.js: scripts/sockleak-node.js
	@mkdir -p $(@D)
	cp $< $@
$(B)/tsan/libsockleak.so: $(tsan_OBJS)
	$(CC) $(tsan_LINK) -o $@ $^ $(SHIMLIBS)

# unit tests: tests/unit/LAYER/test_*.c links LAYER and the layers below it, each a
# shared library linked with -z defs against the ones below only (so a call up cannot
# even link), and nothing above: a module is tested without the preload
upto = $(firstword $(2))$(if $(filter $(1),$(firstword $(2))),, $(call upto,$(1),$(wordlist 2,$(words $(2)),$(2))))
$(foreach l,$(LAYERS),$(eval below_$(l) := $(call upto,$(l),$(LAYERS))))
define UNIT_LAYER
$(B)/unit/libsl-$(1).so: $$(filter $(B)/unit/$(1)/%,$$(unit_OBJS)) $$(foreach d,$$(filter-out $(1),$$(below_$(1))),$(B)/unit/libsl-$$(d).so)
	$$(CC) -shared -Wl,-z,defs -Wl,-rpath,'$$$$ORIGIN' -o $$@ $$(filter %.o,$$^) -L$(B)/unit $$(foreach d,$$(filter-out $(1),$$(below_$(1))),-lsl-$$(d)) -ldl -pthread
$(B)/tests/$(1)/test_%: tests/unit/$(1)/test_%.c $(B)/unit/libsl-$(1).so VERSION
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS) -std=gnu11 $$(WARN) -Isrc -Iinclude -DSL_VERSION='"$(VERSION)"' -pthread $$< -L$(B)/unit \
	  $$(foreach d,$$(call reverse,$$(below_$(1))),-lsl-$$(d)) -Wl,-rpath,'$$$$ORIGIN/../../unit' -lcmocka -ldl -o $$@
endef
reverse = $(if $(1),$(call reverse,$(wordlist 2,$(words $(1)),$(1))) $(firstword $(1)))
$(foreach l,$(filter-out shim,$(LAYERS)),$(eval $(call UNIT_LAYER,$(l))))
UNIT     := $(patsubst tests/unit/%.c,$(B)/tests/%,$(wildcard tests/unit/*/test_*.c))

# thread tests for check-tsan (the shim built with TSan), and those run as TSan-built
# hosts with the plain shim; threads_overlap and the others for check-stress
TSAN_TESTS   := threads_churn threads_overlap fork_threads signal_storm handler_closes signal_restart
TSAN_HOSTS   := threads_churn signal_storm handler_closes fork_threads
STRESS_TESTS := threads_overlap fork_threads signal_storm handler_closes signal_restart handler_exits
STRESS_SECONDS ?= 15
STRESS_ROUNDS  ?= 3
FUZZ_SECONDS   ?= 60
ITESTS   := $(patsubst tests/integration/%.c,$(B)/tests/integration/%,$(filter-out tests/integration/so_%,$(wildcard tests/integration/*.c))) \
            $(patsubst tests/integration/%.cc,$(B)/tests/integration/%,$(filter-out tests/integration/so_%,$(wildcard tests/integration/*.cc))) \
            $(patsubst tests/integration/%.c,$(B)/tests/integration/%.so,$(wildcard tests/integration/so_*.c)) \
            $(patsubst tests/integration/%.cc,$(B)/tests/integration/%.so,$(wildcard tests/integration/so_*.cc))
# the programs tests/attach/run.py inspects and attaches to (started without the shim)
ATTACH_PROGS := $(B)/tests/attach/leaky_service $(B)/tests/attach/leaky_service_now $(B)/tests/attach/static_holder \
                $(B)/tests/attach/pause_probe
EXAMPLES := $(patsubst examples/%.c,$(B)/examples/%,$(wildcard examples/*.c))

.PHONY: all test unit integration integration-asan check-exports check-layers check-docs check-report-tool \
        check-runner demo deps docs clean bench bench-quick bench-profile check-tsan check-stress check-fuzz \
        check-secure check-runtimes check-servers check-python check-robustness check-attach
all: $(B)/libsockleak.so $(EXAMPLES) $(UNIT) $(ITESTS) $(ATTACH_PROGS)

# libFuzzer target for the options parser (clang + libclang-rt)
$(B)/fuzz_options: tests/fuzz/fuzz_options.c src/base/options.c src/base/base.h
	@mkdir -p $(@D)
	clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -std=gnu11 -Isrc -Iinclude \
	  tests/fuzz/fuzz_options.c src/base/options.c -o $@
# TSan-built hosts: what a user of ThreadSanitizer runs the shim in
$(B)/tests/tsan-host/%: tests/integration/%.c tests/integration/common.h
	@mkdir -p $(@D)
	$(CC) -O0 -g -fsanitize=thread -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Iinclude -pthread $< -o $@ -ldl
$(B)/tests/secure_prog: tests/secure/secure_prog.c include/sockleak.h
	@mkdir -p $(@D)
	$(CC) -O0 -g -std=gnu11 $(WARN) -Iinclude $< -o $@

# integration test programs: plain builds, no -rdynamic (symbols come from .symtab)
$(B)/tests/integration/%: tests/integration/%.c tests/integration/common.h
	@mkdir -p $(@D)
	$(CC) -O0 -g -fno-omit-frame-pointer -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Iinclude -pthread $< -o $@ -ldl
$(B)/tests/integration/so_%.so: tests/integration/so_%.c
	@mkdir -p $(@D)
	$(CC) -O0 -g -fPIC -shared -std=gnu11 -Wall -Wextra $< -o $@
$(B)/tests/integration/so_%.so: tests/integration/so_%.cc
	@mkdir -p $(@D)
	$(CXX) -O0 -g -fPIC -shared -Wall -Wextra $< -o $@
$(B)/tests/integration/%: tests/integration/%.cc
	@mkdir -p $(@D)
	$(CXX) -O0 -g -Wall -Wextra -pthread $< -o $@ -ldl
$(B)/examples/%: examples/%.c
	@mkdir -p $(@D)
	$(CC) -O0 -g -std=gnu11 $(WARN) -Iinclude -pthread $< -o $@

# each under a timeout (seconds; timeout(1) kills the test's whole process group), so a
# deadlock fails the run instead of hanging it
UNIT_TIMEOUT ?= 120
TIMED = timeout -k 5 $(UNIT_TIMEOUT)
unit: $(UNIT)
	@fail=0; for t in $(UNIT); do $(TIMED) $$t; rc=$$?; [ $$rc = 0 ] && continue; fail=1; \
	  [ $$rc = 124 ] || [ $$rc = 137 ] && echo "FAIL $$t: timed out after $(UNIT_TIMEOUT) s"; done; exit $$fail
check-docs:
	@$(TIMED) python3 tests/check_docs.py
# the report tool's tests (they import the package) and its lint
check-report-tool: $(B)/libsockleak.so $(EXAMPLES)
	@$(TIMED) env $(REPORT_TESTS)
	@$(MAKE) --no-print-directory lint-python
# the integration runner, tested on made-up tests
check-runner:
	@$(TIMED) python3 tests/test_runner.py
# the shim exports the interposed libc names and the public API, nothing else
check-exports: $(B)/libsockleak.so
	@nm -D --defined-only $< | awk '{print $$3}' | sort | diff -u tests/exports.txt - \
	  && echo "exports: $$(wc -l < tests/exports.txt) symbols, as listed in tests/exports.txt"
# the module graph, from the shim's object files: no call up a layer, no cycle
check-layers: $(obj_OBJS)
	@python3 tests/check_layers.py --layers "$(LAYERS)" $(obj_OBJS)
integration: $(B)/libsockleak.so $(ITESTS) $(EXAMPLES)
	python3 tests/run_integration.py --lib $(B)/libsockleak.so
# under ASan, every stack is also taken by libunwind: the fast unwinder must agree
integration-asan: $(B)/asan/libsockleak.so $(ITESTS) $(EXAMPLES)
	python3 tests/run_integration.py --lib $(B)/asan/libsockleak.so --asan --verify-unwinder
test: all
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory check-layers
	@$(MAKE) --no-print-directory check-exports
	@$(MAKE) --no-print-directory check-docs
	@$(MAKE) --no-print-directory check-report-tool
	@$(MAKE) --no-print-directory check-runner
	@$(MAKE) --no-print-directory integration
	@$(MAKE) --no-print-directory integration-asan
	@$(MAKE) --no-print-directory check-runtimes
	@$(MAKE) --no-print-directory check-install
	@$(MAKE) --no-print-directory check-prometheus
	@$(MAKE) --no-print-directory check-systemd
	@$(MAKE) --no-print-directory check-attach

# robustness checks run by CI after `make test` (.ci/run): slower, or needing root,
# clang or the servers; each prints its own summary and fails on any problem
check-tsan: $(B)/tsan/libsockleak.so $(B)/libsockleak.so $(ITESTS) $(TSAN_HOSTS:%=$(B)/tests/tsan-host/%)
	SOCKLEAK_FORKS=30 python3 tests/run_integration.py --lib $(B)/tsan/libsockleak.so --tsan -j2 $(TSAN_TESTS)
	TSAN_OPTIONS=halt_on_error=1:exitcode=66:die_after_fork=0 SOCKLEAK_FORKS=30 python3 tests/run_integration.py \
	  --lib $(B)/libsockleak.so --tsan --bindir $(B)/tests/tsan-host -j2 $(TSAN_HOSTS)
check-stress: $(B)/libsockleak.so $(ITESTS)
	@for i in $$(seq $(STRESS_ROUNDS)); do echo "round $$i of $(STRESS_ROUNDS)"; \
	  SOCKLEAK_STRESS_SECONDS=$(STRESS_SECONDS) SOCKLEAK_FORKS=1000 SOCKLEAK_EXIT_RUNS=300 \
	  python3 tests/run_integration.py -j2 $(STRESS_TESTS) || exit 1; done
check-fuzz: $(B)/fuzz_options
	@rm -rf $(B)/fuzz-corpus && mkdir -p $(B)/fuzz-corpus
	$(B)/fuzz_options -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
	  -print_final_stats=1 -dict=tests/fuzz/options.dict $(B)/fuzz-corpus tests/fuzz/corpus
check-secure: $(B)/libsockleak.so $(B)/tests/secure_prog
	python3 tests/secure/run.py
check-runtimes: $(B)/libsockleak.so $(B)/sockleak-report
	@$(TIMED) python3 tests/runtimes/run.py
check-servers: $(B)/libsockleak.so
	python3 tests/servers/run.py
check-python: $(B)/libsockleak.so
	python3 tests/python/run.py
# inspect, attach and detach on processes started without the shim (gdb, nginx, wrk,
# java where installed; SKIP with the reason elsewhere)
$(B)/tests/attach/leaky_service: tests/attach/leaky_service.c
	@mkdir -p $(@D)
	$(CC) -O0 -g -fno-omit-frame-pointer -std=gnu11 $(WARN) -pthread $< -o $@
$(B)/tests/attach/leaky_service_now: tests/attach/leaky_service.c
	@mkdir -p $(@D)
	$(CC) -O0 -g -std=gnu11 $(WARN) -pthread -DMDWE -Wl,-z,now,-z,relro $< -o $@
$(B)/tests/attach/pause_probe: tests/attach/pause_probe.c
	@mkdir -p $(@D)
	$(CC) -O2 -g -std=gnu11 $(WARN) -pthread $< -o $@
$(B)/tests/attach/static_holder: tests/attach/static_holder.c
	@mkdir -p $(@D)
	$(CC) -O1 -static $(WARN) $< -o $@
check-attach: $(B)/libsockleak.so $(ATTACH_PROGS) $(B)/tests/integration/api_dlopen
	@$(TIMED) python3 tests/attach/run.py
check-robustness: check-tsan check-stress check-fuzz check-secure check-servers check-python

demo: $(B)/libsockleak.so $(EXAMPLES)
	@scripts/demo.sh

# the report tool (`sockleak report`, the launcher's dump and --fail-on-leak): the package
# scripts/sockleak_report as one file, a zipapp; its tests import the package
REPORT_PY    := $(wildcard scripts/sockleak_report/*.py)
REPORT_TESTS := PYTHONPATH=scripts python3 -m unittest discover -s tests/report_tool
all: $(B)/sockleak-report
unit integration integration-asan check-report-tool: $(B)/sockleak-report $(EXAMPLES)
$(B)/sockleak-report: $(REPORT_PY)
	@rm -rf $(B)/zipapp && mkdir -p $(B)/zipapp/sockleak_report
	cp $(REPORT_PY) $(B)/zipapp/sockleak_report/ && cp scripts/sockleak_report/__main__.py $(B)/zipapp/
	python3 -m zipapp $(B)/zipapp -p '/usr/bin/env python3' -o $@
# ruff if installed, else Debian's flake8 or pyflakes (apt-get install flake8 python3-pyflakes)
.PHONY: lint-python
LINT_PY := scripts/sockleak_report tests/report_tool
lint-python:
	@if command -v ruff >/dev/null 2>&1; then ruff check $(LINT_PY); \
	elif command -v flake8 >/dev/null 2>&1; then flake8 --max-line-length 120 $(LINT_PY); \
	elif command -v pyflakes3 >/dev/null 2>&1; then pyflakes3 $(LINT_PY); \
	elif python3 -m pyflakes --version >/dev/null 2>&1; then python3 -m pyflakes $(LINT_PY); \
	else echo "SKIP [lint-python] no ruff, flake8 or pyflakes (apt-get install flake8)"; exit 0; fi \
	  && echo "lint-python: $(LINT_PY) clean"

# install: what `make install PREFIX=... DESTDIR=...` puts, and all `uninstall` removes.
# The launcher gets the library directory (so the two find each other) and the version
# written in; the report tool (build/sockleak-report) goes next to it (REPORTTOOL= leaves it out).
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR     ?= $(PREFIX)/share/man
PCDIR      ?= $(LIBDIR)/pkgconfig
REPORTTOOL ?= $(B)/sockleak-report
INSTALLED   = $(LIBDIR)/libsockleak.so $(LIBDIR)/sockleak-node.js $(BINDIR)/sockleak $(if $(REPORTTOOL),$(BINDIR)/sockleak-report) $(BINDIR)/sockleak-live \
              $(INCLUDEDIR)/sockleak.h $(INCLUDEDIR)/sockleak_test.h $(PCDIR)/sockleak.pc $(MANDIR)/man1/sockleak.1 $(MANDIR)/man7/sockleak-options.7
.PHONY: install uninstall check-install
install: $(REPORTTOOL)
install: $(B)/libsockleak.so
	install -d $(addprefix $(DESTDIR),$(LIBDIR) $(BINDIR) $(INCLUDEDIR) $(PCDIR) $(MANDIR)/man1 $(MANDIR)/man7)
	install -m 0755 $(B)/libsockleak.so $(DESTDIR)$(LIBDIR)/libsockleak.so
	install -m 0644 scripts/sockleak-node.js $(DESTDIR)$(LIBDIR)/sockleak-node.js
	sed -e 's|^SOCKLEAK_LIBDIR=""|SOCKLEAK_LIBDIR="$(LIBDIR)"|' -e 's|^SOCKLEAK_VERSION=""|SOCKLEAK_VERSION="$(VERSION)"|' \
	    scripts/sockleak > $(DESTDIR)$(BINDIR)/sockleak
	chmod 0755 $(DESTDIR)$(BINDIR)/sockleak
	$(if $(REPORTTOOL),install -m 0755 $(REPORTTOOL) $(DESTDIR)$(BINDIR)/sockleak-report)
	install -m 0755 scripts/sockleak-live $(DESTDIR)$(BINDIR)/sockleak-live
	install -m 0644 include/sockleak.h include/sockleak_test.h $(DESTDIR)$(INCLUDEDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|' sockleak.pc.in > $(DESTDIR)$(PCDIR)/sockleak.pc
	chmod 0644 $(DESTDIR)$(PCDIR)/sockleak.pc
	install -m 0644 man/sockleak.1 $(DESTDIR)$(MANDIR)/man1/sockleak.1
	install -m 0644 man/sockleak-options.7 $(DESTDIR)$(MANDIR)/man7/sockleak-options.7
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
# metrics_path read by the real promtool and node_exporter; the example alert rules
.PHONY: check-prometheus
check-prometheus: $(B)/libsockleak.so $(EXAMPLES)
	@sh tests/prometheus/check.sh
# the systemd drop-in: systemd-analyze verify, and its environment on a real process
.PHONY: check-systemd
check-systemd: $(B)/libsockleak.so
	@python3 tests/systemd/check.py
# installs into a temporary tree, uses what it installed, uninstalls
check-install: $(B)/libsockleak.so $(EXAMPLES)
	@sh tests/install/check.sh
# benchmarks (bench/run.py): figures, never pass/fail; not part of `make test`
BENCH := $(B)/bench/micro $(B)/bench/scale $(B)/bench/floor_probe.so
$(B)/bench/%: bench/%.c include/sockleak.h
	@mkdir -p $(@D)
	$(CC) -O2 -g -std=gnu11 $(WARN) -Iinclude -pthread $< -o $@
# issue 16's measuring stick: the per-socket facts alone, preloaded beside the shim
$(B)/bench/floor_probe.so: bench/floor_probe.c
	@mkdir -p $(@D)
	$(CC) -O2 -g -std=gnu11 $(WARN) -shared -fPIC -fvisibility=hidden -pthread $< -o $@ -ldl
bench: $(B)/libsockleak.so $(BENCH) $(B)/tests/attach/pause_probe
	@sh bench/deps.sh
	python3 bench/run.py --lib $(B)/libsockleak.so --bin $(B)/bench --probe $(B)/tests/attach/pause_probe
bench-quick: $(B)/libsockleak.so $(BENCH) $(B)/tests/attach/pause_probe
	@sh bench/deps.sh
	python3 bench/run.py --quick --lib $(B)/libsockleak.so --bin $(B)/bench --probe $(B)/tests/attach/pause_probe
# where the shim's instructions go on the micro-benchmarks (callgrind)
bench-profile: $(B)/libsockleak.so $(BENCH)
	python3 bench/profile.py --lib $(B)/libsockleak.so --bin $(B)/bench

# the option tables of README.md, --help and sockleak-options(7), written from the one in
# src/base/options.c, and the man pages' version (make unit checks them: tests/check_docs.py)
docs:
	python3 scripts/gen-docs.py
deps:
	@scripts/deps.sh install
$(B)/deps.ok: scripts/deps.sh deps/debian.txt
	@scripts/deps.sh check
	@mkdir -p $(B) && touch $@

clean:
	rm -rf $(B)
