# banserver: `make run` starts the daemon on its embedded default config;
# `make test` installs what the tests need (as root, from Debian) and runs them.

GO        ?= go
BIN       := bin
# Root's daemon listens on /run/ban.sock; another user's where that user may
# create it (its runtime directory, else a directory of its own in /tmp).
ifeq ($(shell id -u),0)
SOCKET    ?= /run/ban.sock
else
SOCKET    ?= $(or $(XDG_RUNTIME_DIR),/tmp/banserver-$(shell id -u))/ban.sock
endif
# Counts, not durations: go1.26's fuzz coordinator can fail a clean run with
# "context deadline exceeded" when a duration ends mid-execution on a busy
# machine (go.dev/issue/75804, fixed in go1.27); a count has no deadline.
FUZZTIME  ?= 10000x
# Debian packages the tests use as real peers: fail2ban (fail2ban-client and
# fail2ban-server as the reference), nftables and iproute2 (kernel tests),
# php-cli and phpunit (the PHP client), python3 (pickle interop), systemd
# and systemd-journal-remote (journalctl, and real journal files for the
# journal source's tests).
DEB_PKGS  := fail2ban python3 nftables iproute2 php-cli phpunit systemd systemd-journal-remote redis-server

# Fuzz targets and their packages, run briefly by `make test`, longer by `make fuzz`.
FUZZ_TARGETS := protocol:FuzzReadMessage protocol:FuzzDecode protocol:FuzzDecodeMatchesGopickle protocol:FuzzDecodeReply protocol:FuzzParseCommand server:FuzzRequest server:FuzzDispatch store:FuzzDecode config:FuzzLoad jail:FuzzParseDuration jail:FuzzParseAddr filter/conf:FuzzRead filter/conf:FuzzParseSpec source:FuzzLineSplit source:FuzzDecode source:FuzzJournalEntry source:FuzzParseJournalMatch filter/dates:FuzzPattern filter/dates:FuzzFind filter/dates:FuzzParseZone filter/dates:FuzzZoneFromTZ filter/dates:FuzzTZif filter/dates:FuzzTranslate filter/pyre:FuzzCompile filter/pyre:FuzzTranslate filter/pyre:FuzzDecode filter/pyre:FuzzBacktrack filter:FuzzProcess cmd/banctl:FuzzRegexArgs cluster:FuzzParseEntry cluster:FuzzParseBanValue

.PHONY: all build run test deps vet fuzz fuzz-short bench clean php-test check-config

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

# As root the store is /var/lib/banserver/bans.db; as another user the
# daemon keeps it in that user's state directory and says where at start.
run: build
	@echo "banserver on $(SOCKET); from another shell: $(BIN)/banctl -s $(SOCKET) status"
	$(BIN)/banserver --socket $(SOCKET)

# deps installs the Debian packages the tests need when running as root and
# one is missing; as another user it only says what is missing (those tests
# then skip outside CI and fail in CI).
deps:
	@missing=""; for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing:$$missing"; \
			export DEBIAN_FRONTEND=noninteractive; \
			apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
		else \
			echo "not root; missing Debian packages:$$missing"; \
		fi; \
	fi
	@# fail2ban's package enables its own service; the tests start their own servers.
	@if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet fail2ban 2>/dev/null; then systemctl stop fail2ban || true; fi

vet:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Packages with shared state between goroutines run again under the race
# detector; allocation-count checks run only in the plain pass (the race
# detector allocates on its own).
RACE_PKGS := ./actions/... ./jail/... ./server/... ./daemon/... ./protocol/... ./bench/... ./store/... ./cluster/...

test: deps vet build check-config php-test fuzz-short
	$(GO) test -count=1 ./...
	$(GO) test -race -count=1 $(RACE_PKGS)

# check-config runs the built daemon's --check-config on the example, as an
# operator would before a restart: the example must stay valid.
# The example's sshd jail names Debian's fail2ban filter: without fail2ban
# installed (and outside CI) the check says so and is skipped.
check-config: build
	@if [ ! -f /etc/fail2ban/filter.d/sshd.conf ] && [ "$$CI" != true ]; then \
		echo "check-config skipped: examples/banserver.yaml uses /etc/fail2ban/filter.d/sshd.conf (Debian package fail2ban)"; \
	else \
		$(BIN)/banserver --check-config --config examples/banserver.yaml; \
	fi

# The PHP client's tests run against bin/banserver (hence after build), a
# silent fake server and, when installed, Debian's fail2ban-server.
php-test: build
	phpunit --do-not-cache-result --bootstrap php-client/autoload.php php-client/tests

fuzz-short:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$pkg $$name for $(FUZZTIME)"; \
		out=$$($(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) ./$$pkg 2>&1) || \
			{ echo "$$out" | tail -40; exit 1; }; \
	done

fuzz:
	$(MAKE) fuzz-short FUZZTIME=500000x

bench: build
	bash bench/run.sh

clean:
	rm -rf $(BIN)
