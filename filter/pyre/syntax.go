package pyre

// The parse tree follows CPython's re._parser closely (its opcodes, its
// branch and character-set rewrites), because some of Python's meaning
// hangs on that shape: a one-member class is a literal, a|b is a class,
// and (?i) treats literals and classes outside the BMP differently.

// pyFlags are Python's re flag bits (the values of re.I, re.M, ...).
type pyFlags uint16

const (
	flagTemplate   pyFlags = 1
	flagIgnoreCase pyFlags = 2
	flagLocale     pyFlags = 4
	flagMultiline  pyFlags = 8
	flagDotAll     pyFlags = 16
	flagUnicode    pyFlags = 32
	flagVerbose    pyFlags = 64
	flagDebug      pyFlags = 128
	flagASCII      pyFlags = 256

	typeFlags   = flagASCII | flagLocale | flagUnicode
	globalFlags = flagDebug | flagTemplate
)

var flagLetters = map[rune]pyFlags{
	'i': flagIgnoreCase, 'L': flagLocale, 'm': flagMultiline, 's': flagDotAll,
	'x': flagVerbose, 'a': flagASCII, 't': flagTemplate, 'u': flagUnicode,
}

// combineFlags is how a local (?flags-flags:...) group changes the flags.
func combineFlags(f, add, del pyFlags) pyFlags {
	if add&typeFlags != 0 {
		f &^= typeFlags
	}
	return (f | add) &^ del
}

// maxRepeat is CPython's MAXREPEAT on 64-bit builds; maxGroups its MAXGROUPS.
const (
	maxRepeat = 4294967295
	maxGroups = 1073741823
)

type opcode uint8

const (
	opLiteral     opcode = iota + 1 // c
	opNotLiteral                    // c
	opIn                            // members, negate
	opAny                           //
	opAt                            // at
	opBranch                        // alts
	opSubpattern                    // group (0: none), add, del, seq
	opAtomic                        // seq
	opRepeat                        // min, max, mode, seq
	opAssert                        // behind, neg, seq
	opGroupref                      // group
	opGroupExists                   // group, seq (yes), no (nil: none)
)

type atCode uint8

const (
	atBeginning       atCode = iota + 1 // ^
	atBeginningString                   // \A
	atBoundary                          // \b
	atNonBoundary                       // \B
	atEnd                               // $
	atEndString                         // \Z
)

type repeatMode uint8

const (
	repeatGreedy repeatMode = iota
	repeatLazy
	repeatPossessive
)

// item is one element of a Python subpattern.
type item struct {
	op      opcode
	c       rune
	members []member
	negate  bool
	at      atCode
	alts    []seq
	group   int
	add     pyFlags
	del     pyFlags
	seq     seq
	no      seq
	hasNo   bool
	min     int
	max     int
	mode    repeatMode
	behind  bool
	neg     bool
}

type seq []*item

type memberKind uint8

const (
	memLiteral memberKind = iota
	memRange
	memCategory
)

// member is one element of a character set.
type member struct {
	kind   memberKind
	lo, hi rune // literal: lo
	cat    category
}

// equalItems is Python's == on two parsed items, which _parse_sub uses to
// factor a common prefix out of alternatives. Items holding subpatterns
// compare by identity in Python, so they are never equal here.
func equalItems(a, b *item) bool {
	if a.op != b.op {
		return false
	}
	switch a.op {
	case opLiteral, opNotLiteral:
		return a.c == b.c
	case opAny:
		return true
	case opAt:
		return a.at == b.at
	case opGroupref:
		return a.group == b.group
	case opIn:
		if a.negate != b.negate || len(a.members) != len(b.members) {
			return false
		}
		for i := range a.members {
			if a.members[i] != b.members[i] {
				return false
			}
		}
		return true
	}
	return false
}
