// Package version holds banserver's one version string, shared by the
// daemon (its `version` command and --version), banctl and the packages
// built from them. Release builds set it with
// -ldflags "-X github.com/banserver/banserver/version.Version=1.2.3".
package version

// Version is the release, without a leading "v".
var Version = "0.1.0"
