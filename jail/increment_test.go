package jail

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// incrementScript runs fail2ban's own code for each config: a real Jail
// given the options through setBanTimeExtra, then for every count both the
// bare evformula (what the formula says) and ObserverThread.incrBanTime
// (what fail2ban does with it: a fake database answers banCount, which is
// all incrBanTime asks of it). random.random is pinned where a config says.
const incrementScript = `
import json, sys, random
from fail2ban.server.jail import Jail
from fail2ban.server.observer import ObserverThread
from fail2ban.server.ticket import BanTicket

class DB:
    count = 0
    def getBan(self, ip, jail, overalljails=False):
        return [(self.count, 0, 600)]

class Obs:  # all of ObserverThread that incrBanTime uses
    BanTimeIncr = ObserverThread.BanTimeIncr

out = []
for c in json.load(sys.stdin):
    j = Jail('j')
    db = DB()
    j.database = db
    j.isAlive = lambda: True
    for opt, val in c['opts']:
        j.setBanTimeExtra(opt, val)
    if c['rnd'] is not None:
        random.random = lambda r=c['rnd']: r
    ev = j.getBanTimeExtra('evformula')
    row = {'ev': [], 'incr': []}
    for n in c['counts']:
        row['ev'].append(repr(ev(ObserverThread.BanTimeIncr(c['base'], n))))
        db.count = n
        row['incr'].append(repr(ObserverThread.incrBanTime(Obs(), j, c['base'], BanTicket('192.0.2.1', 1000))))
    out.append(row)
json.dump(out, sys.stdout)
`

// runPython feeds in as JSON to script under fail2ban's python and decodes
// its JSON answer into out.
func runPython(t *testing.T, script string, in, out any) {
	t.Helper()
	py := fail2banPython(t)
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "-c", script)
	cmd.Stdin = strings.NewReader(string(raw))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	res, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, stderr.String())
	}
	if err := json.Unmarshal(res, out); err != nil {
		t.Fatalf("decode %s: %v", res, err)
	}
}

type incrementConfig struct {
	opts [][2]string
	base int      // seconds; -1 is Forever
	rnd  *float64 // random.random's value, nil when rndtime is unset
}

func (c incrementConfig) name() string {
	s := []string{fmt.Sprintf("base=%d", c.base)}
	for _, o := range c.opts {
		s = append(s, o[0]+"="+o[1])
	}
	if c.rnd != nil {
		s = append(s, fmt.Sprintf("rnd=%g", *c.rnd))
	}
	return strings.Join(s, ",")
}

func ptr[T any](v T) *T { return &v }

// incrementConfigs is the grid the brief asks for (bases 600s and 3600s,
// factor 1 and 2.5, with and without maxtime, formula and multipliers),
// then the corners: rndtime, a maxtime under base, a factor under 1, float
// maxtime, increment off, Forever.
func incrementConfigs() []incrementConfig {
	var cs []incrementConfig
	for _, base := range []int{600, 3600} {
		for _, factor := range []string{"1", "2.5"} {
			for _, maxtime := range []string{"", "1w"} {
				for _, mult := range []string{"", "1 5 30 60 300 720 1440 2880"} {
					opts := [][2]string{{"increment", "true"}, {"factor", factor}}
					if maxtime != "" {
						opts = append(opts, [2]string{"maxtime", maxtime})
					}
					if mult != "" {
						opts = append(opts, [2]string{"multipliers", mult})
					}
					cs = append(cs, incrementConfig{opts: opts, base: base})
				}
			}
		}
	}
	on := [2]string{"increment", "true"}
	for _, r := range []float64{0, 0.37, 0.9999999} {
		cs = append(cs,
			incrementConfig{opts: [][2]string{on, {"rndtime", "30m"}}, base: 600, rnd: ptr(r)},
			incrementConfig{opts: [][2]string{on, {"rndtime", "1.5h"}, {"maxtime", "1d"}, {"multipliers", "1 2 4 8 16 32 64"}}, base: 3600, rnd: ptr(r)},
		)
	}
	return append(cs,
		incrementConfig{opts: [][2]string{on, {"maxtime", "5m"}}, base: 600},
		incrementConfig{opts: [][2]string{on, {"factor", "0.5"}}, base: 600},
		incrementConfig{opts: [][2]string{on, {"factor", "0.5"}, {"multipliers", "1 2 3"}}, base: 600},
		incrementConfig{opts: [][2]string{on, {"maxtime", "1mo"}, {"factor", "3"}}, base: 60},
		incrementConfig{opts: [][2]string{on, {"formula", DefaultFormula}, {"overalljails", "true"}}, base: 3600},
		incrementConfig{opts: [][2]string{{"factor", "2"}}, base: 600}, // increment off
		incrementConfig{opts: [][2]string{on}, base: -1},               // Forever
	)
}

// pySeconds parses a Python repr of an int or a float.
func pySeconds(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("python number %q: %v", s, err)
	}
	return f
}

// wantBanTime is the rounding BanTime documents, written out separately:
// truncate fail2ban's float to whole seconds, cap at MaxIncrementTime;
// negative is Forever (-1).
func wantBanTime(v float64) time.Duration {
	if v < 0 {
		return time.Duration(v) * time.Second
	}
	if v >= MaxIncrementTime.Seconds() {
		return MaxIncrementTime
	}
	return time.Duration(math.Trunc(v)) * time.Second
}

// TestIncrementBanTimeFail2ban compares BanTime with fail2ban's own
// incrBanTime for counts 0..25 on every config, and the formula inside it
// with fail2ban's evformula to the bit.
func TestIncrementBanTimeFail2ban(t *testing.T) {
	cs := incrementConfigs()
	counts := make([]int, 26)
	for i := range counts {
		counts[i] = i
	}
	type pyConfig struct {
		Opts   [][2]string `json:"opts"`
		Base   int         `json:"base"`
		Rnd    *float64    `json:"rnd"`
		Counts []int       `json:"counts"`
	}
	in := make([]pyConfig, len(cs))
	for i, c := range cs {
		in[i] = pyConfig{Opts: c.opts, Base: c.base, Rnd: c.rnd, Counts: counts}
	}
	var out []struct{ Ev, Incr []string }
	runPython(t, incrementScript, in, &out)
	if len(out) != len(cs) {
		t.Fatalf("python answered %d of %d configs", len(out), len(cs))
	}
	for i, c := range cs {
		t.Run(c.name(), func(t *testing.T) {
			var inc Increment
			for _, o := range c.opts {
				if _, err := inc.Set(o[0], o[1]); err != nil {
					t.Fatalf("Set(%q, %q): %v", o[0], o[1], err)
				}
			}
			rnd := 0.5 // must not matter without rndtime
			if c.rnd != nil {
				rnd = *c.rnd
			}
			base := time.Duration(c.base) * time.Second
			for _, n := range counts {
				py := pySeconds(t, out[i].Incr[n])
				got := inc.BanTime(base, n, func() float64 { return rnd })
				if want := wantBanTime(py); got != want {
					t.Errorf("count %d: BanTime = %v, fail2ban incrBanTime %s -> want %v", n, got, out[i].Incr[n], want)
				}
				if n == 0 || !inc.Enabled || c.base <= 0 {
					continue // fail2ban does not apply evformula there
				}
				ev := pySeconds(t, out[i].Ev[n])
				if s := inc.seconds(float64(c.base), n, rnd); s != ev {
					t.Errorf("count %d: evformula %v, fail2ban %s", n, s, out[i].Ev[n])
				}
			}
		})
	}
}

// TestIncrementBanTime covers what the comparison with fail2ban cannot:
// the cap, sub-second bases, a nil rnd, fields set directly.
func TestIncrementBanTime(t *testing.T) {
	week := 7 * 24 * time.Hour
	tests := []struct {
		name  string
		inc   Increment
		base  time.Duration
		count int
		rnd   func() float64
		want  time.Duration
	}{
		{name: "off", inc: Increment{Factor: 3}, base: time.Hour, count: 5, want: time.Hour},
		{name: "first ban", inc: Increment{Enabled: true, Factor: 3}, base: time.Hour, count: 0, want: time.Hour},
		{name: "negative count", inc: Increment{Enabled: true}, base: time.Hour, count: -3, want: time.Hour},
		{name: "forever", inc: Increment{Enabled: true}, base: Forever, count: 4, want: Forever},
		{name: "zero factor is 1", inc: Increment{Enabled: true}, base: time.Minute, count: 3, want: 8 * time.Minute},
		{name: "count 20 is the last doubling", inc: Increment{Enabled: true}, base: time.Second, count: 21, want: (1 << 20) * time.Second},
		{name: "capped", inc: Increment{Enabled: true}, base: week, count: 20, want: MaxIncrementTime},
		{name: "maxtime over the cap", inc: Increment{Enabled: true, MaxTime: 200 * 365 * 24 * time.Hour}, base: week, count: 20, want: MaxIncrementTime},
		{name: "truncated", inc: Increment{Enabled: true, Factor: 1.3}, base: 7 * time.Second, count: 1, want: 18 * time.Second},
		{name: "sub-second base", inc: Increment{Enabled: true}, base: 300 * time.Millisecond, count: 1, want: 600 * time.Millisecond},
		{name: "sub-second base to seconds", inc: Increment{Enabled: true}, base: 700 * time.Millisecond, count: 1, want: time.Second},
		{name: "maxtime under base", inc: Increment{Enabled: true, MaxTime: time.Minute}, base: time.Hour, count: 1, want: time.Minute},
		{name: "last multiplier repeats", inc: Increment{Enabled: true, Multipliers: []int{1, 2, 3}}, base: time.Minute, count: 9, want: 3 * time.Minute},
		{name: "multiplier 1 under factor", inc: Increment{Enabled: true, Factor: 0.5, Multipliers: []int{1}}, base: time.Minute, count: 1, want: 30 * time.Second},
		{name: "rndtime", inc: Increment{Enabled: true, RndTime: 100 * time.Second}, base: time.Minute, count: 1, rnd: func() float64 { return 0.255 }, want: 145 * time.Second},
		{name: "bad multiplier set directly", inc: Increment{Enabled: true, Multipliers: []int{0}}, base: time.Minute, count: 1, want: time.Minute},
		{name: "NaN factor set directly", inc: Increment{Enabled: true, Factor: math.NaN()}, base: time.Minute, count: 1, want: time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.inc.BanTime(tt.base, tt.count, tt.rnd); got != tt.want {
				t.Fatalf("BanTime(%v, %d) = %v, want %v", tt.base, tt.count, got, tt.want)
			}
		})
	}
	t.Run("nil rnd", func(t *testing.T) {
		inc := Increment{Enabled: true, RndTime: time.Hour}
		for range 100 {
			got := inc.BanTime(time.Minute, 1, nil)
			if got < 2*time.Minute || got >= 2*time.Minute+time.Hour {
				t.Fatalf("BanTime = %v, want in [2m, 1h2m)", got)
			}
		}
	})
	t.Run("rnd not called without rndtime", func(t *testing.T) {
		inc := Increment{Enabled: true}
		inc.BanTime(time.Minute, 1, func() float64 { t.Fatal("rnd called"); return 0 })
	})
}

// setGetTest is one `set JAIL bantime.OPT VALUE` sequence and the answer
// expected from the last Set (or from Get(get) when get is set).
type setGetTest struct {
	name    string
	steps   [][2]string
	get     string
	want    any
	wantErr bool
	// deviation says why banserver answers otherwise than fail2ban; the
	// comparison then checks that fail2ban still does differ.
	deviation string
}

var setGetTests = []setGetTest{
	{name: "increment true", steps: [][2]string{{"increment", "true"}}, want: true},
	{name: "increment True from a pickled bool", steps: [][2]string{{"increment", "True"}}, want: true},
	{name: "increment on", steps: [][2]string{{"increment", "on"}}, want: true},
	{name: "increment YES", steps: [][2]string{{"increment", "YES"}}, want: true},
	{name: "increment 1", steps: [][2]string{{"increment", "1"}}, want: true},
	{name: "increment false", steps: [][2]string{{"increment", "false"}}, want: false},
	{name: "increment 0", steps: [][2]string{{"increment", "0"}}, want: false},
	{name: "increment junk is false", steps: [][2]string{{"increment", "maybe"}}, want: false},
	{name: "increment not trimmed", steps: [][2]string{{"increment", " true"}}, want: false},
	{name: "increment unset", steps: [][2]string{{"increment", "true"}, {"increment", ""}}, want: false},
	{name: "increment never set", get: "increment", want: false,
		deviation: "fail2ban answers None until bantime.increment is first set"},
	{name: "overalljails true", steps: [][2]string{{"overalljails", "true"}}, want: true,
		deviation: "fail2ban stores overalljails as the raw text (and takes any non-empty text, even \"false\", as true)"},
	{name: "overalljails false", steps: [][2]string{{"overalljails", "false"}}, want: false,
		deviation: "fail2ban stores \"false\", which its observer then takes as true"},
	{name: "overalljails unset", steps: [][2]string{{"overalljails", "1"}, {"overalljails", ""}}, want: false,
		deviation: "fail2ban answers None for an unset overalljails"},
	{name: "factor 2.5", steps: [][2]string{{"factor", "2.5"}}, want: "2.5"},
	{name: "factor 1", steps: [][2]string{{"factor", "1"}}, want: "1"},
	{name: "factor 2.", steps: [][2]string{{"factor", "2."}}, want: "2."},
	{name: "factor .5", steps: [][2]string{{"factor", ".5"}}, want: ".5"},
	{name: "factor 1e1", steps: [][2]string{{"factor", "1e1"}}, want: "1e1"},
	{name: "factor +3", steps: [][2]string{{"factor", "+3"}}, want: "+3"},
	{name: "factor leading blank", steps: [][2]string{{"factor", " 2"}}, want: " 2"},
	{name: "factor unset", steps: [][2]string{{"factor", "2"}, {"factor", ""}}, want: nil},
	{name: "factor never set", get: "factor", want: nil},
	{name: "factor name", steps: [][2]string{{"factor", "abc"}}, wantErr: true},
	{name: "factor inf", steps: [][2]string{{"factor", "inf"}}, wantErr: true},
	{name: "factor leading zero", steps: [][2]string{{"factor", "07"}}, wantErr: true},
	{name: "factor expression", steps: [][2]string{{"factor", "2.0 / 2.885385"}}, wantErr: true,
		deviation: "fail2ban evals the factor as Python"},
	{name: "factor underscore", steps: [][2]string{{"factor", "1_0"}}, wantErr: true,
		deviation: "Python reads 1_0 as 10"},
	{name: "factor zero", steps: [][2]string{{"factor", "0"}}, wantErr: true,
		deviation: "fail2ban takes a factor of 0"},
	{name: "factor negative", steps: [][2]string{{"factor", "-1"}}, wantErr: true,
		deviation: "fail2ban takes a negative factor"},
	{name: "factor error keeps the old", steps: [][2]string{{"factor", "3"}, {"factor", "x"}, {"increment", "1"}}, get: "factor", want: "3",
		deviation: "fail2ban stores the text before it fails to eval it"},
	{name: "formula default", steps: [][2]string{{"formula", DefaultFormula}}, want: DefaultFormula},
	{name: "formula default compact", steps: [][2]string{{"formula", "ban.Time*(1<<(ban.Count if ban.Count<20 else 20))*banFactor"}},
		want: "ban.Time*(1<<(ban.Count if ban.Count<20 else 20))*banFactor"},
	{name: "formula default spread", steps: [][2]string{{"formula", "ban.Time  * ( 1 << ( ban.Count\tif ban.Count < 20 else 20 ) ) * banFactor "}},
		want: "ban.Time  * ( 1 << ( ban.Count\tif ban.Count < 20 else 20 ) ) * banFactor "},
	{name: "formula leading blank", steps: [][2]string{{"formula", " " + DefaultFormula}}, wantErr: true},
	{name: "formula words glued", steps: [][2]string{{"formula", "ban.Time * (1<<(ban.Countif ban.Count<20 else 20)) * banFactor"}}, wantErr: true},
	{name: "formula exp", steps: [][2]string{{"formula", "ban.Time * math.exp(float(ban.Count+1)*banFactor)/math.exp(1*banFactor)"}}, wantErr: true,
		deviation: "banserver does not evaluate Python"},
	{name: "formula other", steps: [][2]string{{"formula", "ban.Time"}}, wantErr: true,
		deviation: "banserver does not evaluate Python"},
	{name: "formula unset", steps: [][2]string{{"formula", DefaultFormula}, {"formula", ""}}, want: nil},
	{name: "multipliers doubling", steps: [][2]string{{"multipliers", "1 2 4 8 16 32 64"}}, want: "1 2 4 8 16 32 64"},
	{name: "multipliers minutes", steps: [][2]string{{"multipliers", "1 5 30 60 300 720 1440 2880"}}, want: "1 5 30 60 300 720 1440 2880"},
	{name: "multipliers plus sign", steps: [][2]string{{"multipliers", "+2 3"}}, want: "+2 3"},
	{name: "multipliers tab", steps: [][2]string{{"multipliers", "1\t 2"}}, want: "1\t 2"},
	{name: "multipliers double space", steps: [][2]string{{"multipliers", "1  2"}}, wantErr: true},
	{name: "multipliers leading space", steps: [][2]string{{"multipliers", " 1 2"}}, wantErr: true},
	{name: "multipliers trailing space", steps: [][2]string{{"multipliers", "1 2 "}}, wantErr: true},
	{name: "multipliers commas", steps: [][2]string{{"multipliers", "1,2"}}, wantErr: true},
	{name: "multipliers float", steps: [][2]string{{"multipliers", "1 2.5"}}, wantErr: true},
	{name: "multipliers zero", steps: [][2]string{{"multipliers", "0 1"}}, wantErr: true,
		deviation: "fail2ban takes a multiplier of 0 (a ban of 0 seconds)"},
	{name: "multipliers unset", steps: [][2]string{{"multipliers", "1 2"}, {"multipliers", ""}}, want: nil},
	{name: "maxtime 1w", steps: [][2]string{{"maxtime", "1w"}}, want: int64(604800)},
	{name: "maxtime 1h", steps: [][2]string{{"maxtime", "1h"}}, want: int64(3600)},
	{name: "maxtime seconds", steps: [][2]string{{"maxtime", "3600"}}, want: int64(3600)},
	{name: "maxtime 1d12h", steps: [][2]string{{"maxtime", "1d12h"}}, want: int64(129600)},
	{name: "maxtime float seconds", steps: [][2]string{{"maxtime", "3600.0"}}, want: 3600.0},
	{name: "maxtime 1.5h", steps: [][2]string{{"maxtime", "1.5h"}}, want: 5400.0},
	{name: "maxtime 1mo", steps: [][2]string{{"maxtime", "1mo"}}, want: 2629800.0},
	{name: "maxtime 1y", steps: [][2]string{{"maxtime", "1year"}}, want: 31557600.0},
	{name: "maxtime unset", steps: [][2]string{{"maxtime", "1w"}, {"maxtime", ""}}, want: nil},
	{name: "maxtime never set", get: "maxtime", want: nil},
	{name: "maxtime junk", steps: [][2]string{{"maxtime", "xx"}}, wantErr: true},
	{name: "maxtime zero", steps: [][2]string{{"maxtime", "0"}}, wantErr: true,
		deviation: "fail2ban takes maxtime 0: every lengthened ban lasts 0 seconds"},
	{name: "maxtime forever", steps: [][2]string{{"maxtime", "-1"}}, wantErr: true,
		deviation: "fail2ban takes maxtime -1: every lengthened ban becomes permanent"},
	{name: "rndtime 30m", steps: [][2]string{{"rndtime", "30m"}}, want: int64(1800)},
	{name: "rndtime half second", steps: [][2]string{{"rndtime", "0.5"}}, want: 0.5},
	{name: "rndtime zero", steps: [][2]string{{"rndtime", "0"}}, want: nil,
		deviation: "fail2ban answers 0; banserver keeps no rndtime of 0"},
	{name: "rndtime negative", steps: [][2]string{{"rndtime", "-5"}}, wantErr: true,
		deviation: "fail2ban takes a negative rndtime"},
	{name: "unknown option", steps: [][2]string{{"foo", "1"}}, wantErr: true,
		deviation: "fail2ban stores any bantime.* option"},
	{name: "get unknown option", get: "foo", wantErr: true,
		deviation: "fail2ban answers None for any unknown option"},
}

// run applies tt to a fresh Increment; on an error it checks that the
// failing Set left the Increment as it was.
func (tt setGetTest) run(t *testing.T) (any, error) {
	t.Helper()
	var inc Increment
	var got any
	for _, s := range tt.steps {
		before := inc
		v, err := inc.Set(s[0], s[1])
		if err != nil {
			if !errors.Is(err, ErrInvalidValue) {
				t.Fatalf("Set(%q, %q) = %v, not ErrInvalidValue", s[0], s[1], err)
			}
			if !reflect.DeepEqual(inc, before) {
				t.Fatalf("Set(%q, %q) failed but changed %+v to %+v", s[0], s[1], before, inc)
			}
			if tt.get == "" {
				return nil, err
			}
			continue
		}
		if again, err := inc.Get(s[0]); err != nil || !reflect.DeepEqual(again, v) {
			t.Fatalf("Set(%q, %q) = %#v but Get = %#v, %v", s[0], s[1], v, again, err)
		}
		got = v
	}
	if tt.get != "" {
		return inc.Get(tt.get)
	}
	return got, nil
}

func TestIncrementSetGet(t *testing.T) {
	for _, tt := range setGetTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.run(t)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v (%T), want %#v (%T)", got, got, tt.want, tt.want)
			}
		})
	}
}

// setGetScript applies each case's steps to a fresh fail2ban Jail, as the
// transmitter does for `set JAIL bantime.OPT VALUE`, and answers the final
// getBanTimeExtra as [python type name, value] or ["error", exception].
const setGetScript = `
import json, sys
from fail2ban.server.jail import Jail
out = []
for c in json.load(sys.stdin):
    j = Jail('j')
    j.database = object()  # only to silence the "no database" warning
    try:
        for opt, val in c['steps']:
            try:
                j.setBanTimeExtra(opt, val)
            except Exception:
                if not c['get']:
                    raise
        v = j.getBanTimeExtra(c['get'] or c['steps'][-1][0])
        out.append([type(v).__name__, v if isinstance(v, (str, bool)) or v is None else repr(v)])
    except Exception as e:
        out.append(['error', type(e).__name__])
json.dump(out, sys.stdout)
`

// sameAsPython reports whether a Get answer equals Python's [type, value].
func sameAsPython(got any, err error, py [2]any) bool {
	typ, val := py[0].(string), py[1]
	if err != nil || typ == "error" {
		return err != nil && typ == "error"
	}
	switch g := got.(type) {
	case nil:
		return typ == "NoneType"
	case bool:
		return typ == "bool" && val == g
	case string:
		return typ == "str" && val == g
	case int64:
		return typ == "int" && val == strconv.FormatInt(g, 10)
	case float64:
		f, perr := strconv.ParseFloat(fmt.Sprint(val), 64)
		return typ == "float" && perr == nil && f == g
	}
	return false
}

// TestIncrementSetGetFail2ban checks the Set/Get table against fail2ban's
// own setBanTimeExtra and getBanTimeExtra: equal answers, or a deviation
// that says why and that fail2ban still shows.
func TestIncrementSetGetFail2ban(t *testing.T) {
	type pyCase struct {
		Steps [][2]string `json:"steps"`
		Get   string      `json:"get"`
	}
	in := make([]pyCase, len(setGetTests))
	for i, tt := range setGetTests {
		in[i] = pyCase{Steps: tt.steps, Get: tt.get}
		if in[i].Steps == nil {
			in[i].Steps = [][2]string{}
		}
	}
	var out [][2]any
	runPython(t, setGetScript, in, &out)
	if len(out) != len(setGetTests) {
		t.Fatalf("python answered %d of %d", len(out), len(setGetTests))
	}
	for i, tt := range setGetTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.run(t)
			same := sameAsPython(got, err, out[i])
			switch {
			case tt.deviation == "" && !same:
				t.Fatalf("banserver %#v (err %v), fail2ban %v", got, err, out[i])
			case tt.deviation != "" && same:
				t.Fatalf("deviation %q no longer holds: both answer %v", tt.deviation, out[i])
			case tt.deviation != "":
				t.Logf("deviates on purpose (%s): banserver %#v (err %v), fail2ban %v", tt.deviation, got, err, out[i])
			}
		})
	}
}

func TestIncrementValidate(t *testing.T) {
	tests := []struct {
		name string
		inc  Increment
		ok   bool
	}{
		{name: "zero", inc: Increment{}, ok: true},
		{name: "full", inc: Increment{Enabled: true, Factor: 2, Formula: DefaultFormula, Multipliers: []int{1, 2}, MaxTime: time.Hour, RndTime: time.Minute}, ok: true},
		{name: "negative factor", inc: Increment{Factor: -1}},
		{name: "NaN factor", inc: Increment{Factor: math.NaN()}},
		{name: "infinite factor", inc: Increment{Factor: math.Inf(1)}},
		{name: "other formula", inc: Increment{Formula: "ban.Time"}},
		{name: "zero multiplier", inc: Increment{Multipliers: []int{1, 0}}},
		{name: "negative maxtime", inc: Increment{MaxTime: -time.Second}},
		{name: "negative rndtime", inc: Increment{RndTime: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.inc.Validate()
			if tt.ok != (err == nil) || err != nil && !errors.Is(err, ErrInvalidValue) {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

// TestIncrementGetDirect covers Get on fields set without Set.
func TestIncrementGetDirect(t *testing.T) {
	inc := Increment{Factor: 1.5, Multipliers: []int{1, 3}, MaxTime: 90 * time.Minute, RndTime: 1500 * time.Millisecond}
	want := map[string]any{"factor": "1.5", "multipliers": "1 3", "maxtime": int64(5400), "rndtime": 1.5, "formula": nil}
	for opt, w := range want {
		if got, err := inc.Get(opt); err != nil || !reflect.DeepEqual(got, w) {
			t.Errorf("Get(%q) = %#v, %v; want %#v", opt, got, err, w)
		}
	}
	// Text left from Set no longer matching the field is not answered.
	if _, err := inc.Set("factor", "2"); err != nil {
		t.Fatal(err)
	}
	inc.Factor = 4
	if got, _ := inc.Get("factor"); got != "4" {
		t.Errorf("Get(factor) after a direct edit = %#v, want \"4\"", got)
	}
}

var incrementOpts = []string{"increment", "factor", "formula", "multipliers", "maxtime", "rndtime", "overalljails", "evformula"}

// FuzzIncrementSet checks that Set never panics, fails only with
// ErrInvalidValue, and leaves settings that Validate accepts and that Get
// answers as Set did.
func FuzzIncrementSet(f *testing.F) {
	for i := range incrementOpts {
		for _, v := range []string{"", "1", "2.5", "1 2 4", "1w", "-1", DefaultFormula, "x"} {
			f.Add(uint8(i), v)
		}
	}
	f.Fuzz(func(t *testing.T, i uint8, value string) {
		opt := incrementOpts[int(i)%len(incrementOpts)]
		var inc Increment
		v, err := inc.Set(opt, value)
		if err != nil {
			if !errors.Is(err, ErrInvalidValue) {
				t.Fatalf("Set(%q, %q): %v is not ErrInvalidValue", opt, value, err)
			}
			return
		}
		if err := inc.Validate(); err != nil {
			t.Fatalf("Set(%q, %q) left an invalid Increment: %v", opt, value, err)
		}
		if g, err := inc.Get(opt); err != nil || !reflect.DeepEqual(g, v) {
			t.Fatalf("Set(%q, %q) = %#v, Get = %#v, %v", opt, value, v, g, err)
		}
		inc.Enabled = true
		if d := inc.BanTime(time.Minute, 3, func() float64 { return 0.5 }); d <= 0 {
			t.Fatalf("Set(%q, %q): BanTime = %v", opt, value, d)
		}
	})
}

func BenchmarkIncrementBanTime(b *testing.B) {
	rnd := func() float64 { return 0.5 }
	for _, bc := range []struct {
		name string
		inc  Increment
	}{
		{name: "formula", inc: Increment{Enabled: true, Factor: 2.5, MaxTime: 7 * 24 * time.Hour}},
		{name: "multipliers", inc: Increment{Enabled: true, Multipliers: []int{1, 5, 30, 60, 300, 720, 1440, 2880}, RndTime: time.Minute}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var d time.Duration
			for i := 0; b.Loop(); i++ {
				d += bc.inc.BanTime(10*time.Minute, i&31, rnd)
			}
			_ = d
		})
	}
}
