# Thin wrapper around CMake. `make check` and `make run` install missing Debian
# packages first (scripts/install-deps; as root it installs, otherwise it
# prints the apt-get line and stops).
BUILD      ?= build
ASAN_BUILD ?= build-asan
WERROR     ?= OFF
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_ARGS ?=
MAKEFLAGS  += --no-print-directory

CMAKE_FLAGS = -DSIPPUSH_WERROR=$(WERROR)

.PHONY: all build deps deps-test check check-asan check-fresh fuzz bench run demo install clean

all: build

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

deps:
	@scripts/install-deps --runtime

deps-test:
	@scripts/install-deps --test

check: deps-test
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS) -DSIPPUSH_TESTS=ON
	cmake --build $(BUILD) -j $(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

check-asan: deps-test
	CC=clang cmake -S . -B $(ASAN_BUILD) $(CMAKE_FLAGS) -DSIPPUSH_SANITIZE=ON \
		-DCMAKE_BUILD_TYPE=Debug -DSIPPUSH_TESTS=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

# The README's commands on a brand-new Debian 12 root: debootstrap, a clean
# clone of HEAD, then make run and make check in a chroot (root only; long,
# so not in CI). SIPPUSH_FRESH_CACHE=DIR keeps the debootstrap tarball.
check-fresh:
	scripts/check-fresh

# The libFuzzer targets for FUZZ_SECONDS each (check-asan runs them 20 s)
FUZZ_SECONDS ?= 600
fuzz: deps-test
	CC=clang cmake -S . -B $(ASAN_BUILD) $(CMAKE_FLAGS) -DSIPPUSH_SANITIZE=ON \
		-DCMAKE_BUILD_TYPE=Debug -DSIPPUSH_TESTS=ON -DFUZZ_SECONDS=$(FUZZ_SECONDS)
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ctest --output-on-failure -R '^fuzz_' $(CTEST_ARGS)
	CC=clang cmake -S . -B $(ASAN_BUILD) -DFUZZ_SECONDS=20 >/dev/null

bench: deps-test build
	$(BUILD)/bench/bench-tmr
	$(BUILD)/bench/bench-tmr-stock
	SIPPUSH_BUILD=$(abspath $(BUILD)) python3 bench/message_uac.py 10 200 1
	SIPPUSH_BUILD=$(abspath $(BUILD)) python3 bench/push_ir.py 2000 8 100
	SIPPUSH_BUILD=$(abspath $(BUILD)) python3 bench/cpu_owners.py 12 32 4
	SIPPUSH_BUILD=$(abspath $(BUILD)) python3 bench/push_e2e.py 60 1000 16 1
	SIPPUSH_BUILD=$(abspath $(BUILD)) python3 bench/push_e2e.py 30 1000 32 1 "" 7000
	SIPPUSH_BUILD=$(abspath $(BUILD)) python3 bench/offline_drain.py 100000 1000 2
	SIPPUSH_BUILD=$(abspath $(BUILD)) python3 bench/http_settings.py 5 16
	SIPPUSH_BUILD=$(abspath $(BUILD)) python3 bench/notify_e2e.py 30 1000 16
	SIPPUSH_BUILD=$(abspath $(BUILD)) python3 bench/ack_kill.py 5 16 3
	SIPPUSH_BUILD=$(abspath $(BUILD)) python3 bench/ack_kill.py 5 64 3
	SIPPUSH_BUILD=$(abspath $(BUILD)) python3 bench/crash_load.py 60 100 15
	SIPPUSH_BUILD=$(abspath $(BUILD)) python3 bench/cluster.py 10 300 12 1,2,3
	SIPPUSH_BUILD=$(abspath $(BUILD)) python3 bench/crash_load.py 60 100 15 notify
	$(BUILD)/bench/bench-msrp single 100
	$(BUILD)/bench/bench-msrp single 1024
	$(BUILD)/bench/bench-msrp many 100 1

# Programs, etc/sippush/*.conf, systemd units, man pages, the receiver
# library (libsippush.a, include/sippush/, sippush.pc) under PREFIX
# (default /usr/local), staged in DESTDIR when given
PREFIX ?= /usr/local
install: deps build
	DESTDIR=$(DESTDIR) cmake --install $(BUILD) --prefix $(PREFIX)

# The Push Sender Agent on its defaults (SIP 127.0.0.1:5060 UDP+TCP, HTTP API
# 127.0.0.1:8080, SQLite sippush.db here). RUN_ARGS adds options.
RUN_ARGS ?=
run: deps build
	$(BUILD)/cmd/sippushd $(RUN_ARGS)

# Two sippush-agents of one user and a push to both (scripts/demo)
demo: deps build
	BUILD=$(BUILD) scripts/demo

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
