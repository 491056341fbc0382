package pyre

import (
	"fmt"
	"strings"
	"testing"
)

// seedPattern is banserver's seed failregex.
const seedPattern = `^\s*<ADDR>\s+\S+\s+Incorrect token used\.`

// seedLines are lines as the filter sees them (date cut, "\n" appended):
// one in ten matches, as in the DESIGN measurements.
var seedLines = func() []string {
	var out []string
	for i := range 10 {
		if i == 0 {
			out = append(out, " 192.0.2.7 bob Incorrect token used.\n")
			continue
		}
		out = append(out, " 192.0.2.7 bob Correct token used, session "+strings.Repeat("x", i)+" opened\n")
	}
	return out
}()

func benchLines(b *testing.B, res []*Regex, lines []string) {
	b.Helper()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for _, l := range lines {
			for _, r := range res {
				if _, err := r.Search(l); err != nil {
					b.Fatal(err)
				}
			}
			n++
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "lines/s")
}

// engines are the ways a Regex can run, for the benchmarks: as built
// (required literal, pyre's matcher, Go's regexp where provable), as
// before pyre's matcher (literal, Go's regexp), with the literal check but
// regexp2 only, and regexp2 alone.
var engines = []struct {
	name       string
	o          Options
	noBT, noGo bool
}{
	{"default", Options{}, false, false},
	{"literal+go", Options{}, true, false},
	{"literal+regexp2", Options{}, true, true},
	{"regexp2", Options{NoFastPath: true}, false, false},
}

func compileFor(b *testing.B, pattern string, o Options, noBT, noGo bool) *Regex {
	b.Helper()
	r, err := Compile(pattern, o)
	if err != nil {
		b.Fatal(err)
	}
	if noBT {
		r.bt = nil
	}
	if noGo {
		r.goRe = nil
	}
	return r
}

func BenchmarkSearchSeed(b *testing.B) {
	for _, lines := range []struct {
		name  string
		lines []string
	}{{"10pct", seedLines}, {"allmatch", seedLines[:1]}} {
		for _, e := range engines {
			b.Run(lines.name+"/"+e.name, func(b *testing.B) {
				r := compileFor(b, seedPattern, e.o, e.noBT, e.noGo)
				benchLines(b, []*Regex{r}, lines.lines)
			})
		}
	}
}

// BenchmarkSearchSSHD runs every regex of Debian's sshd filter (normal
// mode: prefregex, then each failregex, as fail2ban's checkAllRegex does)
// over the buffers fail2ban searched in the sshd sample log.
func BenchmarkSearchSSHD(b *testing.B) {
	c := loadCorpus(b)
	var raws []corpusPattern
	bufs := map[int]bool{}
	for _, p := range c.Patterns {
		for _, w := range p.Where {
			if strings.HasPrefix(w, "sshd ") {
				raws = append(raws, p)
				for _, s := range p.Buffers {
					bufs[s] = true
				}
				break
			}
		}
	}
	var lines []string
	for s := range bufs {
		lines = append(lines, c.Subjects[s])
	}
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			var res []*Regex
			fast := 0
			for _, p := range raws {
				o := e.o
				o.UseDNS, o.Multiline = p.UseDNS, p.Multiline
				r := compileFor(b, p.Raw, o, e.noBT, e.noGo)
				if r.FastPath() || r.bt != nil {
					fast++
				}
				res = append(res, r)
			}
			b.Logf("%d regexes (%d on pyre's matcher or Go's regexp) over %d buffers", len(res), fast, len(lines))
			benchLines(b, res, lines)
		})
	}
}

// BenchmarkSSHDLines runs Debian's sshd filter (normal mode) as fail2ban's
// filter does on one line: the prefregex and its fields, then the
// failregexes in order on its content until one matches, and the merged
// fields. The lines are those of the engine's BenchmarkProcess, date cut:
// a failure (hit) and a PAM session line no failregex matches (miss).
func BenchmarkSSHDLines(b *testing.B) {
	c := loadCorpus(b)
	byWhere := map[string]corpusPattern{}
	for _, p := range c.Patterns {
		for _, w := range p.Where {
			byWhere[w] = p
		}
	}
	lines := map[string]string{
		"hit":  " host sshd[1234]: Failed password for invalid user admin from 192.0.2.7 port 22 ssh2\n",
		"miss": " host sshd[1234]: pam_unix(sshd:session): session opened for user root(uid=0) by (uid=0)\n",
	}
	for _, e := range engines {
		comp := func(p corpusPattern) *Regex {
			o := e.o
			o.UseDNS, o.Multiline = p.UseDNS, p.Multiline
			return compileFor(b, p.Raw, o, e.noBT, e.noGo)
		}
		pref := comp(byWhere["sshd prefregex"])
		var fails []*Regex
		for i := 0; ; i++ {
			p, ok := byWhere[fmt.Sprintf("sshd failregex %d", i)]
			if !ok {
				break
			}
			fails = append(fails, comp(p))
		}
		for _, name := range []string{"hit", "miss"} {
			line := lines[name]
			b.Run(name+"/"+e.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					m, err := pref.Search(line)
					if err != nil || m == nil {
						b.Fatal(m, err)
					}
					pre := m.Fields()
					content := pre["content"] + "\n"
					delete(pre, "content")
					for _, r := range fails {
						m, err := r.Search(content)
						if err != nil {
							b.Fatal(err)
						}
						if m != nil {
							m.MergeFields(pre)
							break
						}
					}
				}
			})
		}
	}
}

func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(seedPattern, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
