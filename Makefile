# banserver: `make run` starts the daemon on its embedded default config;
# `make test` installs what the tests need (as root, from Debian) and runs them;
# `make deb` builds the Debian package, `make install` installs the same files
# without one.

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
# The package's tests use lintian, groff-base and man-db (the man pages),
# bash-completion (banctl's completion),
# systemd (systemd-analyze verify and security) and adduser (postinst).
DEB_PKGS  := fail2ban python3 nftables iproute2 php-cli phpunit systemd systemd-journal-remote redis-server lintian groff-base man-db adduser bash-completion prometheus php-nyholm-psr7 composer

# The package: its version is the one version string; nfpm, pinned, is
# run through the Go module proxy (not a dependency of the module).
VERSION   := $(shell sed -n 's/^var Version = "\(.*\)"$$/\1/p' version/version.go)
DEB_ARCH  := $(shell dpkg --print-architecture 2>/dev/null || $(GO) env GOARCH)
NFPM      := $(GO) run github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2
PKGDIR    := build/pkg# packaging/nfpm.yaml names it too
DEB       := build/banserver_$(VERSION)_$(DEB_ARCH).deb
DEB_MAINTAINER ?= banserver maintainers <maintainers@banserver.invalid>
# Dates in the package (man pages, changelog) are the last commit's, so the
# same commit builds the same package.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || date +%s)
export SOURCE_DATE_EPOCH
# make install: GNU directories under PREFIX, staged under DESTDIR.
PREFIX    ?= /usr/local
DESTDIR   ?=
SYSCONFDIR ?= /etc
UNITDIR   ?= $(PREFIX)/lib/systemd/system
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d

# Fuzz targets and their packages, run briefly by `make test`, longer by `make fuzz`.
FUZZ_TARGETS := protocol:FuzzReadMessage protocol:FuzzDecode protocol:FuzzDecodeMatchesGopickle protocol:FuzzDecodeReply protocol:FuzzDecodeWords protocol:FuzzParseCommand server:FuzzRequest server:FuzzDispatch store:FuzzDecode config:FuzzLoad jail:FuzzParseDuration jail:FuzzParseAddr filter/conf:FuzzRead filter/conf:FuzzParseSpec source:FuzzLineSplit source:FuzzDecode source:FuzzJournalEntry source:FuzzParseJournalMatch filter/dates:FuzzPattern filter/dates:FuzzFind filter/dates:FuzzParseZone filter/dates:FuzzZoneFromTZ filter/dates:FuzzTZif filter/dates:FuzzTranslate filter/pyre:FuzzCompile filter/pyre:FuzzTranslate filter/pyre:FuzzDecode filter/pyre:FuzzBacktrack filter:FuzzProcess cmd/banctl:FuzzRegexArgs cluster:FuzzParseEntry cluster:FuzzParseBanValue

.PHONY: all build run test deps vet fuzz fuzz-short bench clean php-test check-config pkg-files deb install

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

# The package's test (packaging/deb_test.go) installs $(DEB), checks it and
# purges it: as root (CI), else it skips.
test: deps vet build check-config php-test fuzz-short deb
	BANSERVER_DEB=$(CURDIR)/$(DEB) $(GO) test -count=1 ./...
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
	cd php-client && COMPOSER_ALLOW_SUPERUSER=1 composer validate --strict --no-interaction

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

# pkg-files builds what the package and `make install` ship besides the
# repository's own files: release binaries, man pages (generated from the
# binaries' --help and the commented conffile) and the changelog.
pkg-files:
	rm -rf $(PKGDIR) && mkdir -p $(PKGDIR)/bin $(PKGDIR)/man
	$(GO) build -trimpath -buildmode=pie \
		-ldflags '-s -w -linkmode=external -extldflags=-Wl,-z,relro,-z,now -X github.com/banserver/banserver/version.Version=$(VERSION)' \
		-o $(PKGDIR)/bin/ ./cmd/banserver ./cmd/banctl
	$(GO) run ./packaging/mangen -bin $(PKGDIR)/bin -conf packaging/banserver.yaml -o $(PKGDIR)/man
	gzip -9n $(PKGDIR)/man/*.[0-9]
	printf '%s\n' 'banserver ($(VERSION)) unstable; urgency=medium' '' \
		'  * Release $(VERSION); see the repository for changes.' '' \
		" -- $(DEB_MAINTAINER)  $$(date -u -R -d @$(SOURCE_DATE_EPOCH))" | gzip -9n > $(PKGDIR)/changelog.gz

deb: pkg-files
	VERSION=$(VERSION) ARCH=$(DEB_ARCH) PKGDIR=$(PKGDIR) DEB_MAINTAINER='$(DEB_MAINTAINER)' \
		$(NFPM) package --config packaging/nfpm.yaml --packager deb --target $(DEB)
	@echo "built $(DEB)"

# install puts the package's files under $(DESTDIR)$(PREFIX) (the units'
# paths follow PREFIX) and, as root without DESTDIR, does what postinst
# does: the banserver group and the store's directory. An existing
# configuration is kept.
install: pkg-files
	install -D -m 0755 $(PKGDIR)/bin/banserver $(DESTDIR)$(PREFIX)/sbin/banserver
	install -D -m 0755 $(PKGDIR)/bin/banctl $(DESTDIR)$(PREFIX)/bin/banctl
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/banserver/filter.d
	test -e $(DESTDIR)$(SYSCONFDIR)/banserver/banserver.yaml || \
		install -m 0640 packaging/banserver.yaml $(DESTDIR)$(SYSCONFDIR)/banserver/banserver.yaml
	test -e $(DESTDIR)$(SYSCONFDIR)/banserver/filter.d/banserver-api.conf || \
		install -m 0644 examples/filter.d/banserver-api.conf $(DESTDIR)$(SYSCONFDIR)/banserver/filter.d/
	install -d -m 0755 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(TMPFILESDIR)
	for u in banserver.service banserver.socket; do \
		sed -e 's|/usr/sbin/banserver|$(PREFIX)/sbin/banserver|g' \
			-e 's|/etc/banserver/|$(SYSCONFDIR)/banserver/|g' packaging/systemd/$$u > $(DESTDIR)$(UNITDIR)/$$u; \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$u; \
	done
	install -m 0644 packaging/tmpfiles.d/banserver.conf $(DESTDIR)$(TMPFILESDIR)/banserver.conf
	install -D -m 0644 $(PKGDIR)/man/banserver.8.gz $(DESTDIR)$(PREFIX)/share/man/man8/banserver.8.gz
	install -D -m 0644 $(PKGDIR)/man/banctl.8.gz $(DESTDIR)$(PREFIX)/share/man/man8/banctl.8.gz
	install -D -m 0644 $(PKGDIR)/man/banserver.yaml.5.gz $(DESTDIR)$(PREFIX)/share/man/man5/banserver.yaml.5.gz
	install -D -m 0644 packaging/completion/banctl.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/banctl
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then \
		getent group banserver >/dev/null || addgroup --system --quiet banserver; \
		install -d -m 0700 /var/lib/banserver; \
		if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi; \
		echo "installed; check the config: $(PREFIX)/sbin/banserver --check-config --config $(SYSCONFDIR)/banserver/banserver.yaml"; \
		echo "then: systemctl enable --now banserver.socket banserver.service"; \
	fi

clean:
	rm -rf $(BIN) build
