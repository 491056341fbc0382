// Package bench holds the end-to-end benchmarks: the load generator of
// bench/load driven against the floor server of bench/floor and against
// the built banserver binary, so `go test -bench` and bench/run.sh report
// the same kind of figures. It has no code of its own beyond the tests.
package bench
