package jail

import (
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// DefaultFormula is fail2ban's default bantime.formula, the only one
// banserver accepts: fail2ban evaluates the setting as Python, banserver
// does not evaluate Python at all.
const DefaultFormula = "ban.Time * (1<<(ban.Count if ban.Count<20 else 20)) * banFactor"

// MaxIncrementTime caps what BanTime returns. fail2ban's ban times are
// Python numbers without bound (a 1w bantime doubled twenty times is 20,000
// years); a time.Duration ends at 292 years and a ban's end, kept as Unix
// nanoseconds, at the year 2262. A century keeps every end representable
// for the next hundred years and is as good as fail2ban's longer bans.
const MaxIncrementTime = 100 * 31557600 * time.Second // 100 fail2ban years of 365.25 days

// Increment holds a jail's bantime.* settings: how bans of repeat
// offenders grow. The zero value is fail2ban's default (off, factor 1, the
// default formula, no multipliers, no maxtime, no rndtime, per jail).
type Increment struct {
	Enabled      bool          // bantime.increment
	Factor       float64       // bantime.factor; 0 means the default, 1
	Formula      string        // bantime.formula: "" or DefaultFormula (spaces aside)
	Multipliers  []int         // bantime.multipliers; when set they replace the formula
	MaxTime      time.Duration // bantime.maxtime, 0 = none
	RndTime      time.Duration // bantime.rndtime, 0 = none
	OverallJails bool          // bantime.overalljails: count bans in every jail

	// The text each setting was last Set from, so Get answers what
	// fail2ban's getBanTimeExtra answers (the stored string, or an int or
	// a float as str2seconds returned it). Ignored once the field above no
	// longer matches it, so a struct edited directly still answers sanely.
	factorText, multipliersText, maxTimeText, rndTimeText string
}

// BanTime returns how long a ban lasts whose address the store remembers
// banned count times before (fail2ban's banCount from its database), base
// being the jail's bantime. With count >= 1 it computes fail2ban's
// evformula: base * 2^min(count,20) * factor, but never below base, or with
// multipliers base * factor * multipliers[min(count, len-1)]; then at most
// MaxTime; then plus rnd() * RndTime, rnd giving [0,1) (nil means
// math/rand/v2's Float64; it is called only when RndTime is set).
//
// As fail2ban's ObserverThread.incrBanTime, it returns base unchanged when
// increment is off, when base is not positive (Forever stays Forever) and
// for a first ban (count <= 0): fail2ban applies evformula only when
// banCount > 0, so a first ban is neither multiplied nor randomised, even
// with a factor above 1.
//
// fail2ban computes in floats; the result is truncated toward zero to whole
// seconds, as fail2ban's int() hands ban times to its actions (a result
// under a second, possible only with a sub-second base, keeps nanoseconds),
// and capped at MaxIncrementTime. A result that is not positive (only from
// fields set directly to values Validate refuses) yields base.
func (inc Increment) BanTime(base time.Duration, count int, rnd func() float64) time.Duration {
	if !inc.Enabled || base <= 0 || count <= 0 {
		return base
	}
	r := 0.0
	if inc.RndTime > 0 {
		if rnd == nil {
			rnd = rand.Float64
		}
		r = rnd()
	}
	return toBanTime(inc.seconds(base.Seconds(), count, r), base)
}

// seconds is fail2ban's evformula for a count >= 1, in the same float
// operations in the same order, so that it agrees with Python to the bit.
func (inc Increment) seconds(base float64, count int, rnd float64) float64 {
	factor := inc.factor()
	var v float64
	if m := inc.Multipliers; len(m) > 0 {
		// ban.Time * banFactor * multipliers[ban.Count if ban.Count < len(multipliers) else -1]
		v = base * factor * float64(m[min(count, len(m)-1)])
	} else {
		// max(ban.Time, ban.Time * (1<<(ban.Count if ban.Count<20 else 20)) * banFactor)
		v = math.Max(base, base*float64(int64(1)<<min(count, 20))*factor)
	}
	if inc.MaxTime > 0 {
		v = math.Min(v, inc.MaxTime.Seconds())
	}
	if inc.RndTime > 0 {
		// The conversion rounds the product, so no architecture fuses the
		// multiply-add and parts from Python's result.
		v += float64(rnd * inc.RndTime.Seconds())
	}
	return v
}

// factor returns the effective bantime.factor.
func (inc Increment) factor() float64 {
	if inc.Factor == 0 {
		return 1
	}
	return inc.Factor
}

// toBanTime turns evformula's seconds into a ban time, as BanTime documents.
func toBanTime(v float64, base time.Duration) time.Duration {
	switch {
	case !(v > 0): // also NaN
		return base
	case v >= MaxIncrementTime.Seconds():
		return MaxIncrementTime
	case v >= 1:
		return time.Duration(math.Trunc(v)) * time.Second
	}
	if d := time.Duration(v * float64(time.Second)); d > 0 {
		return d
	}
	return base
}

// Set applies `set JAIL bantime.OPT VALUE` and returns what `get JAIL
// bantime.OPT` answers afterwards, as fail2ban's Jail.setBanTimeExtra and
// getBanTimeExtra do. OPT is increment, factor, formula, multipliers,
// maxtime, rndtime or overalljails; an empty VALUE unsets the option.
// increment and overalljails read VALUE as fail2ban's _as_bool ("1", "on",
// "true", "yes" in any case are true, anything else false); maxtime and
// rndtime as ParseDuration; factor as a decimal number; multipliers as
// integers separated by single spaces; formula must be DefaultFormula.
//
// Where fail2ban would store something it then computes nonsense from
// (a factor, multiplier or maxtime that is not positive, a negative
// rndtime) or would eval Python (any other formula, a factor such as
// "2.0/3"), Set returns ErrInvalidValue and leaves inc unchanged; fail2ban
// raises on what it cannot parse, but only after storing it.
func (inc *Increment) Set(opt, value string) (any, error) {
	next := *inc
	switch opt {
	case "increment":
		next.Enabled = ParseBool(value)
	case "overalljails":
		next.OverallJails = ParseBool(value)
	case "factor":
		next.Factor, next.factorText = 0, ""
		if value != "" {
			f, err := parseFactor(value)
			if err != nil {
				return nil, err
			}
			next.Factor, next.factorText = f, value
		}
	case "formula":
		if value != "" {
			if err := checkFormula(value); err != nil {
				return nil, err
			}
		}
		next.Formula = value
	case "multipliers":
		next.Multipliers, next.multipliersText = nil, ""
		if value != "" {
			m, err := parseMultipliers(value)
			if err != nil {
				return nil, err
			}
			next.Multipliers, next.multipliersText = m, value
		}
	case "maxtime", "rndtime":
		var d time.Duration
		if value != "" {
			var err error
			if d, err = ParseDuration(value); err != nil {
				return nil, fmt.Errorf("jail: bantime.%s: %w", opt, err)
			}
			// maxtime 0 or -1 would make every lengthened ban 0 seconds
			// or permanent, a negative rndtime would shorten them.
			if d == 0 && opt == "maxtime" {
				return nil, fmt.Errorf("%w: bantime.maxtime %q: must be positive", ErrInvalidValue, value)
			}
			if d < 0 {
				return nil, fmt.Errorf("%w: bantime.%s %q: must not be negative", ErrInvalidValue, opt, value)
			}
		}
		if opt == "maxtime" {
			next.MaxTime, next.maxTimeText = d, value
		} else {
			next.RndTime, next.rndTimeText = d, value
		}
	default:
		return nil, unknownOpt(opt)
	}
	*inc = next
	return inc.Get(opt)
}

// Get answers `get JAIL bantime.OPT` as fail2ban's getBanTimeExtra: a bool
// for increment and overalljails; the text last Set for factor, formula and
// multipliers; seconds as an int64 (or a float64 where fail2ban's
// str2seconds gives a float: a fraction, months, years) for maxtime and
// rndtime; nil for an option that is unset. fail2ban answers None for
// increment and overalljails until they are first set, and stores
// overalljails as the raw text; Get answers the bool banserver acts on.
// An unknown OPT is ErrInvalidValue.
func (inc Increment) Get(opt string) (any, error) {
	switch opt {
	case "increment":
		return inc.Enabled, nil
	case "overalljails":
		return inc.OverallJails, nil
	case "factor":
		if inc.Factor == 0 {
			return nil, nil
		}
		if f, err := parseFactor(inc.factorText); err == nil && f == inc.Factor {
			return inc.factorText, nil
		}
		return strconv.FormatFloat(inc.Factor, 'g', -1, 64), nil
	case "formula":
		if inc.Formula == "" {
			return nil, nil
		}
		return inc.Formula, nil
	case "multipliers":
		if len(inc.Multipliers) == 0 {
			return nil, nil
		}
		if m, err := parseMultipliers(inc.multipliersText); err == nil && equalInts(m, inc.Multipliers) {
			return inc.multipliersText, nil
		}
		s := make([]string, len(inc.Multipliers))
		for i, n := range inc.Multipliers {
			s[i] = strconv.Itoa(n)
		}
		return strings.Join(s, " "), nil
	case "maxtime":
		return durationAnswer(inc.MaxTime, inc.maxTimeText), nil
	case "rndtime":
		return durationAnswer(inc.RndTime, inc.rndTimeText), nil
	}
	return nil, unknownOpt(opt)
}

// Validate reports settings that Set would have refused, for an Increment
// filled in directly (from a configuration file, say).
func (inc Increment) Validate() error {
	switch {
	case math.IsNaN(inc.Factor) || math.IsInf(inc.Factor, 0) || inc.Factor < 0:
		return fmt.Errorf("%w: bantime.factor %v: must be a positive number", ErrInvalidValue, inc.Factor)
	case inc.MaxTime < 0:
		return fmt.Errorf("%w: bantime.maxtime %v: must be positive", ErrInvalidValue, inc.MaxTime)
	case inc.RndTime < 0:
		return fmt.Errorf("%w: bantime.rndtime %v: must not be negative", ErrInvalidValue, inc.RndTime)
	}
	for _, n := range inc.Multipliers {
		if n <= 0 {
			return fmt.Errorf("%w: bantime.multipliers %v: must be positive integers", ErrInvalidValue, inc.Multipliers)
		}
	}
	if inc.Formula != "" {
		return checkFormula(inc.Formula)
	}
	return nil
}

// unknownOpt is the error for a bantime option fail2ban would store but
// never use.
func unknownOpt(opt string) error {
	return fmt.Errorf("%w: unknown option bantime.%s", ErrInvalidValue, opt)
}

// ParseBool is fail2ban's helpers._as_bool on a string: no trimming, and
// anything unrecognised is false rather than an error. Every boolean a
// client sends (ignoreself, bantime.increment, ...) is read with it.
func ParseBool(s string) bool {
	switch strings.ToLower(s) {
	case "1", "on", "true", "yes":
		return true
	}
	return false
}

// factorSyntax is a Python decimal literal with an optional sign:
// what eval(factor) turns into a number without any other Python. Python's
// "1_0" and "0x10" are refused; so is Go's "inf", which Python's eval
// does not know.
var factorSyntax = regexp.MustCompile(`^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$`)

// parseFactor parses a bantime.factor.
func parseFactor(s string) (float64, error) {
	t := strings.Trim(s, " \t") // eval skips leading blanks, the tokenizer trailing ones
	lit := strings.TrimLeft(t, "+-")
	f, err := strconv.ParseFloat(t, 64)
	switch {
	case !factorSyntax.MatchString(t) || err != nil:
		return 0, fmt.Errorf("%w: bantime.factor %q: not a decimal number (banserver does not evaluate Python)", ErrInvalidValue, s)
	case !strings.ContainsAny(lit, ".eE") && len(lit) > 1 && lit[0] == '0' && strings.Trim(lit, "0") != "":
		// Python 3 refuses leading zeros in an int ("07").
		return 0, fmt.Errorf("%w: bantime.factor %q: leading zero", ErrInvalidValue, s)
	case f <= 0 || math.IsInf(f, 0):
		return 0, fmt.Errorf("%w: bantime.factor %q: must be a positive number", ErrInvalidValue, s)
	}
	return f, nil
}

// parseMultipliers parses bantime.multipliers as fail2ban does,
// [int(i) for i in value.split(' ')]: single spaces between the numbers,
// so a doubled or trailing space is an error there and here.
func parseMultipliers(s string) ([]int, error) {
	if s == "" {
		return nil, fmt.Errorf("%w: bantime.multipliers: empty", ErrInvalidValue)
	}
	fields := strings.Split(s, " ")
	m := make([]int, len(fields))
	for i, f := range fields {
		n, err := strconv.Atoi(strings.Trim(f, "\t\n\v\f\r")) // int() strips other whitespace
		if err != nil {
			return nil, fmt.Errorf("%w: bantime.multipliers %q: %q is not an integer", ErrInvalidValue, s, f)
		}
		if n <= 0 {
			// fail2ban would ban for 0 or negative seconds.
			return nil, fmt.Errorf("%w: bantime.multipliers %q: %d is not positive", ErrInvalidValue, s, n)
		}
		m[i] = n
	}
	return m, nil
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// defaultFormulaNorm is DefaultFormula as normFormula leaves it.
var defaultFormulaNorm = normFormula(DefaultFormula)

// checkFormula accepts DefaultFormula written with any spacing Python
// would read the same way; fail2ban compiles it as an expression, where a
// leading blank is an IndentationError.
func checkFormula(s string) error {
	if strings.TrimLeft(s, " \t\f") != s {
		return fmt.Errorf("%w: bantime.formula %q: leading blank (Python's IndentationError)", ErrInvalidValue, s)
	}
	if normFormula(s) != defaultFormulaNorm {
		return fmt.Errorf("%w: bantime.formula %q: banserver does not evaluate Python, only fail2ban's default %q is accepted (bantime.multipliers gives other growth)",
			ErrInvalidValue, s, DefaultFormula)
	}
	return nil
}

// normFormula drops whitespace except a single space between two word
// characters, where Python needs it ("ban.Count if"): "1<<( ban.Count"
// and "1<<(ban.Count" compare equal, "ban.Countif" stays different.
func normFormula(s string) string {
	var b strings.Builder
	pending := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if strings.IndexByte(" \t\n\r\f\v", c) >= 0 {
			pending = b.Len() > 0
			continue
		}
		if pending && isWord(c) && isWord(b.String()[b.Len()-1]) {
			b.WriteByte(' ')
		}
		pending = false
		b.WriteByte(c)
	}
	return b.String()
}

func isWord(c byte) bool { return isLetter(c) || isDigit(c) || c == '_' }

// durationAnswer is getBanTimeExtra's answer for maxtime or rndtime: nil
// when unset, else seconds, a float64 where str2seconds(text) is a Python
// float.
func durationAnswer(d time.Duration, text string) any {
	if d <= 0 {
		return nil
	}
	if d%time.Second != 0 || pyFloatDuration(d, text) {
		return d.Seconds()
	}
	return int64(d / time.Second)
}

// pyFloatDuration reports whether str2seconds(text) is a float: its text
// has a fraction or a month or year unit (fail2ban's month and year are
// floats of seconds). text must still parse to d.
func pyFloatDuration(d time.Duration, text string) bool {
	if p, err := ParseDuration(text); err != nil || p != d {
		return false
	}
	if strings.Contains(text, ".") {
		return true
	}
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return r < 'a' || r > 'z' }) {
		if u := durationUnits[w]; u == secMonth || u == float64(secYear) {
			return true
		}
	}
	return false
}
