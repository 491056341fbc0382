// Package packaging holds banserver's Debian package and its parts: the
// conffile (banserver.yaml), the hardened systemd units (systemd/), the
// maintainer scripts (scripts/), nfpm's description (nfpm.yaml), banctl's
// shell completion (completion/) and the man page generator (mangen/).
// `make deb` builds the package and `make install` installs the same files
// without one.
//
// The package has no Go API: its tests check the parts against the code
// they describe (every config key in the conffile, the units against
// systemd-analyze) and, as root, install the package, run the installed
// daemon as its unit would, and remove and purge it again (deb_test.go).
package packaging
