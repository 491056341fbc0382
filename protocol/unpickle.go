package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// The design: one walker (machine) executes the data-only subset of the
// pickle VM over a complete message held in memory. Check runs it without
// building values; Decode and DecodeReply run it building values. Because
// the whole message is in hand, every length is checked against the bytes
// left before anything is allocated, and nothing is read from a stream.
//
// gopickle v0.2.0 (in go.mod) is deliberately not on this path: it panics
// or runs out of memory on several 10-byte inputs (see DESIGN.md), decodes
// protocol-0 UNICODE without undoing raw-unicode-escape (so "é" arrives as
// `\xe9`-ish text and "€" as the six characters `\u20ac`), and allocates a
// 384-entry memo map per message, which dominates the attempt hot path.

// Opcodes (pickletools names).
const (
	opMark            = '('
	opStop            = '.'
	opPop             = '0'
	opPopMark         = '1'
	opDup             = '2'
	opFloat           = 'F'
	opInt             = 'I'
	opBinInt          = 'J'
	opBinInt1         = 'K'
	opLong            = 'L'
	opBinInt2         = 'M'
	opNone            = 'N'
	opPersID          = 'P'
	opBinPersID       = 'Q'
	opReduce          = 'R'
	opString          = 'S'
	opBinString       = 'T'
	opShortBinString  = 'U'
	opUnicode         = 'V'
	opBinUnicode      = 'X'
	opAppend          = 'a'
	opBuild           = 'b'
	opGlobal          = 'c'
	opDict            = 'd'
	opEmptyDict       = '}'
	opAppends         = 'e'
	opGet             = 'g'
	opBinGet          = 'h'
	opInst            = 'i'
	opLongBinGet      = 'j'
	opList            = 'l'
	opEmptyList       = ']'
	opObj             = 'o'
	opPut             = 'p'
	opBinPut          = 'q'
	opLongBinPut      = 'r'
	opSetItem         = 's'
	opTuple           = 't'
	opEmptyTuple      = ')'
	opSetItems        = 'u'
	opBinFloat        = 'G'
	opProto           = 0x80
	opNewObj          = 0x81
	opExt1            = 0x82
	opExt2            = 0x83
	opExt4            = 0x84
	opTuple1          = 0x85
	opTuple2          = 0x86
	opTuple3          = 0x87
	opNewTrue         = 0x88
	opNewFalse        = 0x89
	opLong1           = 0x8a
	opLong4           = 0x8b
	opBinBytes        = 'B'
	opShortBinBytes   = 'C'
	opShortBinUnicode = 0x8c
	opBinUnicode8     = 0x8d
	opBinBytes8       = 0x8e
	opEmptySet        = 0x8f
	opAddItems        = 0x90
	opFrozenSet       = 0x91
	opNewObjEx        = 0x92
	opStackGlobal     = 0x93
	opMemoize         = 0x94
	opFrame           = 0x95
	opByteArray8      = 0x96
	opNextBuffer      = 0x97
	opReadOnlyBuffer  = 0x98
)

// Kinds of values on the simulated stack.
const (
	kAbsent uint8 = iota // empty memo slot
	kScalar              // None, bool, int, float
	kStr
	kBytes
	kList
	kTuple
	kDict
	kSet
	kClass // reply mode: an allow-listed global
	kExc   // reply mode: an exception instance
)

// entry is one stack or memo slot. v is only set when building.
type entry struct {
	v     any
	kind  uint8
	depth uint8 // container nesting, 0 for scalars
}

// Values under construction. Lists, dicts and sets are pointers because
// the pickle VM mutates them through memo aliases; done marks a container
// whose items were already normalised (shared or cyclic references).
type (
	listV struct {
		items []any
		done  bool
		busy  bool
	}
	tupleV struct {
		items []any
		done  bool
		busy  bool
	}
	dictV struct {
		kv   []KV
		done bool
		busy bool
	}
	setV struct {
		items []any
		done  bool
		busy  bool
	}
	classV struct{ module, name string } // allow-listed, canonical names
)

type machine struct {
	msg   []byte
	pos   int
	build bool
	reply bool
	proto int
	// str is msg as one string when building, so every decoded str is a
	// substring of it: one allocation for all the strings of a message.
	str   string
	stack []entry
	marks []int
	memo  []entry
	nmemo int // number of memo entries set, for MEMOIZE (Python's len(memo))
	nodes int // normalisation budget left
}

var machines = sync.Pool{New: func() any { return new(machine) }}

func getMachine(msg []byte, build, reply bool) *machine {
	m := machines.Get().(*machine)
	m.msg, m.pos, m.build, m.reply, m.proto = msg, 0, build, reply, 0
	m.str = ""
	m.nmemo = 0
	m.nodes = 4*len(msg) + 64
	return m
}

func putMachine(m *machine) {
	if cap(m.stack) > 1024 || cap(m.memo) > 1024 {
		return // let a hostile message's big slices go
	}
	clear(m.stack[:cap(m.stack)])
	clear(m.memo[:cap(m.memo)])
	m.stack, m.marks, m.memo = m.stack[:0], m.marks[:0], m.memo[:0]
	m.msg, m.str = nil, ""
	machines.Put(m)
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

func refused(op byte, at int) error {
	name := opName(op)
	return fmt.Errorf("%w: opcode %s at %d", ErrRefused, name, at)
}

func opName(op byte) string {
	switch op {
	case opGlobal:
		return "GLOBAL"
	case opStackGlobal:
		return "STACK_GLOBAL"
	case opReduce:
		return "REDUCE"
	case opInst:
		return "INST"
	case opObj:
		return "OBJ"
	case opNewObj:
		return "NEWOBJ"
	case opNewObjEx:
		return "NEWOBJ_EX"
	case opExt1, opExt2, opExt4:
		return "EXT"
	case opBuild:
		return "BUILD"
	case opPersID:
		return "PERSID"
	case opBinPersID:
		return "BINPERSID"
	case opNextBuffer:
		return "NEXT_BUFFER"
	case opReadOnlyBuffer:
		return "READONLY_BUFFER"
	}
	return "0x" + strconv.FormatUint(uint64(op), 16)
}

// Check is the strict pre-check of a request: it walks every opcode
// without building anything and returns the pickle protocol (0..5) the
// message was written with (from PROTO, 0 when absent; also returned with
// an error when PROTO was read, so an error reply can use it).
//
// It refuses (ErrRefused) GLOBAL, STACK_GLOBAL, REDUCE, INST, OBJ, NEWOBJ,
// NEWOBJ_EX, EXT1/2/4, BUILD, PERSID, BINPERSID, NEXT_BUFFER,
// READONLY_BUFFER and every unknown opcode; and (ErrMalformed) lengths past
// the end of the message, LONG1/LONG4 over MaxLongBytes or ints outside
// int64, nesting or outstanding MARKs over MaxDepth, more than MaxStack
// values, memo GETs of keys never PUT, memo keys beyond the message size,
// odd dict items, type mismatches (APPEND to a non-list...), invalid UTF-8
// in strings, and anything but exactly one value followed by STOP at the
// last byte.
func Check(msg []byte) (proto int, err error) {
	m := getMachine(msg, false, false)
	err = m.run()
	proto = m.proto
	putMachine(m)
	return proto, err
}

// Decode checks a request and decodes it. The result must be a Python
// list or tuple; its items become string (str, and Python 2 str given
// valid UTF-8), []byte (bytes, bytearray), int64 (int and bool-less
// ints; ints outside int64 are ErrMalformed), float64, bool, nil, and
// []any for nested lists and tuples. Dicts and sets are refused with
// ErrMalformed: fail2ban-client passes them through but no fail2ban
// command takes one (options travel as JSON strings and lists), so
// accepting them would only widen the attack surface. proto is as for
// Check.
func Decode(msg []byte) (args []any, proto int, err error) {
	m := getMachine(msg, true, false)
	defer putMachine(m)
	defer func() {
		// Last line of defence: a bug here must cost one request, not
		// the server.
		if p := recover(); p != nil {
			args, err = nil, malformed("decoder panic: %v", p)
		}
	}()
	if err = m.run(); err != nil {
		return nil, m.proto, err
	}
	top := m.stack[0].v
	switch top.(type) {
	case *listV, *tupleV:
	default:
		return nil, m.proto, fmt.Errorf("%w: got %s", ErrNotList, pyType(top))
	}
	v, err := m.normalise(top, 0)
	if err != nil {
		return nil, m.proto, err
	}
	return v.([]any), m.proto, nil
}

// DecodeReply decodes a reply pickle written by banserver or by Python's
// fail2ban-server and returns its code (0 result, 1 exception) and value.
// A bare pickled string (fail2ban-server's "ERROR: ..." answer to a
// message it could not load) gives code -1 and the string.
//
// Classes are allowed here, only through an allow-list and never looked
// up by name: builtins.str (fail2ban's IPAddr pickles as str) becomes a
// string, _codecs.encode and builtins.bytes (how protocols 0..2 carry
// bytes) become []byte, exceptions of builtins and fail2ban.exceptions
// become *Exception. Tuples become Tuple, dicts Dict (in order), lists and
// sets []any, ints int64. The bounds of Check apply.
func DecodeReply(msg []byte) (code int, v any, err error) {
	m := getMachine(msg, true, true)
	defer putMachine(m)
	defer func() {
		if p := recover(); p != nil {
			code, v, err = 0, nil, malformed("decoder panic: %v", p)
		}
	}()
	if err = m.run(); err != nil {
		return 0, nil, err
	}
	top := m.stack[0].v
	if s, ok := top.(string); ok {
		return -1, s, nil
	}
	t, ok := top.(*tupleV)
	if !ok || len(t.items) != 2 {
		return 0, nil, malformed("reply is %s, not a (code, value) tuple", pyType(top))
	}
	c, ok := t.items[0].(int64)
	if !ok || c < math.MinInt32 || c > math.MaxInt32 {
		return 0, nil, malformed("reply code is %s", pyType(t.items[0]))
	}
	v, err = m.normalise(t.items[1], 1)
	if err != nil {
		return 0, nil, err
	}
	return int(c), v, nil
}

// pyType names a value's Python type for error messages.
func pyType(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case *listV:
		return "list"
	case *tupleV:
		return "tuple"
	case *dictV:
		return "dict"
	case *setV:
		return "set"
	case *classV:
		return "class " + x.module + "." + x.name
	case *Exception:
		return x.Class
	}
	return fmt.Sprintf("%T", v)
}

// normalise turns built values into the exported Go types, in place so
// that shared references are converted once (no blow-up from memo
// sharing) and cycles are caught by depth.
func (m *machine) normalise(v any, depth int) (any, error) {
	if depth > MaxDepth {
		return nil, malformed("nesting deeper than %d", MaxDepth)
	}
	m.nodes--
	if m.nodes < 0 {
		return nil, malformed("too many values for the message size")
	}
	switch v.(type) {
	case nil, bool, int64, float64, string, []byte:
		return v, nil
	}
	return m.normaliseContainer(v, depth)
}

// emptyItems is returned for empty containers so callers see [] not nil.
var emptyItems = []any{}

func (m *machine) normaliseContainer(v any, depth int) (any, error) {
	switch x := v.(type) {
	case *listV:
		if x.items == nil {
			x.items = emptyItems[:0:0]
		}
		if x.busy {
			return nil, malformed("list contains itself")
		}
		if !x.done {
			x.busy = true
			if err := m.normaliseItems(x.items, depth); err != nil {
				return nil, err
			}
			x.busy, x.done = false, true
		}
		return x.items, nil
	case *tupleV:
		if x.items == nil {
			x.items = emptyItems[:0:0]
		}
		if x.busy {
			return nil, malformed("tuple contains itself")
		}
		if !x.done {
			x.busy = true
			if err := m.normaliseItems(x.items, depth); err != nil {
				return nil, err
			}
			x.busy, x.done = false, true
		}
		if m.reply {
			return Tuple(x.items), nil
		}
		return x.items, nil
	case *dictV:
		if !m.reply {
			return nil, malformed("dict not allowed in a request")
		}
		if x.busy {
			return nil, malformed("dict contains itself")
		}
		if !x.done {
			x.busy = true
			for i := range x.kv {
				k, err := m.normalise(x.kv[i].Key, depth+1)
				if err != nil {
					return nil, err
				}
				val, err := m.normalise(x.kv[i].Value, depth+1)
				if err != nil {
					return nil, err
				}
				x.kv[i] = KV{k, val}
			}
			x.busy, x.done = false, true
		}
		if x.kv == nil {
			return Dict{}, nil
		}
		return Dict(x.kv), nil
	case *setV:
		if !m.reply {
			return nil, malformed("set not allowed in a request")
		}
		if x.items == nil {
			x.items = emptyItems[:0:0]
		}
		if x.busy {
			return nil, malformed("set contains itself")
		}
		if !x.done {
			x.busy = true
			if err := m.normaliseItems(x.items, depth); err != nil {
				return nil, err
			}
			x.busy, x.done = false, true
		}
		return x.items, nil
	case *Exception:
		if err := m.normaliseItems(x.Args, depth); err != nil {
			return nil, err
		}
		return x, nil
	}
	return nil, malformed("value of type %s not allowed", pyType(v))
}

func (m *machine) normaliseItems(items []any, depth int) error {
	for i, it := range items {
		n, err := m.normalise(it, depth+1)
		if err != nil {
			return err
		}
		items[i] = n
	}
	return nil
}

// Reading helpers; all bound lengths by the bytes left.

func (m *machine) take(n uint64, what string) ([]byte, int, error) {
	if n > uint64(len(m.msg)-m.pos) {
		return nil, 0, malformed("%s of %d bytes at %d runs past the end (%d left)", what, n, m.pos, len(m.msg)-m.pos)
	}
	at := m.pos
	m.pos += int(n)
	return m.msg[at:m.pos], at, nil
}

func (m *machine) u8(what string) (uint64, error) {
	b, _, err := m.take(1, what)
	if err != nil {
		return 0, err
	}
	return uint64(b[0]), nil
}

func (m *machine) u16(what string) (uint64, error) {
	b, _, err := m.take(2, what)
	if err != nil {
		return 0, err
	}
	return uint64(binary.LittleEndian.Uint16(b)), nil
}

func (m *machine) u32(what string) (uint64, error) {
	b, _, err := m.take(4, what)
	if err != nil {
		return 0, err
	}
	return uint64(binary.LittleEndian.Uint32(b)), nil
}

func (m *machine) u64(what string) (uint64, error) {
	b, _, err := m.take(8, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// line returns the argument of a text opcode, without its newline.
func (m *machine) line(what string) ([]byte, int, error) {
	rest := m.msg[m.pos:]
	for i, c := range rest {
		if c == '\n' {
			at := m.pos
			m.pos += i + 1
			return rest[:i], at, nil
		}
	}
	return nil, 0, malformed("%s at %d has no newline", what, m.pos)
}

// Stack helpers.

func (m *machine) push(e entry) error {
	if len(m.stack) >= MaxStack {
		return malformed("more than %d values on the stack", MaxStack)
	}
	m.stack = append(m.stack, e)
	return nil
}

// base is the stack index where the current MARK frame begins.
func (m *machine) base() int {
	if len(m.marks) == 0 {
		return 0
	}
	return m.marks[len(m.marks)-1]
}

func (m *machine) pop(op string) (entry, error) {
	if len(m.stack) <= m.base() {
		return entry{}, malformed("%s on an empty stack at %d", op, m.pos-1)
	}
	e := m.stack[len(m.stack)-1]
	m.stack[len(m.stack)-1] = entry{}
	m.stack = m.stack[:len(m.stack)-1]
	return e, nil
}

func (m *machine) top(op string) (*entry, error) {
	if len(m.stack) <= m.base() {
		return nil, malformed("%s on an empty stack at %d", op, m.pos-1)
	}
	return &m.stack[len(m.stack)-1], nil
}

// popMark returns the items since the last MARK (valid until the next
// push) and drops the mark.
func (m *machine) popMark(op string) ([]entry, error) {
	if len(m.marks) == 0 {
		return nil, malformed("%s without MARK at %d", op, m.pos-1)
	}
	b := m.marks[len(m.marks)-1]
	m.marks = m.marks[:len(m.marks)-1]
	items := m.stack[b:]
	m.stack = m.stack[:b]
	return items, nil
}

func maxDepth(items []entry) uint8 {
	var d uint8
	for _, e := range items {
		if e.depth > d {
			d = e.depth
		}
	}
	return d
}

func nest(d uint8) (uint8, error) {
	if d >= MaxDepth {
		return 0, malformed("nesting deeper than %d", MaxDepth)
	}
	return d + 1, nil
}

func values(items []entry) []any {
	out := make([]any, len(items))
	for i, e := range items {
		out[i] = e.v
	}
	return out
}

// hashable reports whether Python would accept a value of this kind as a
// dict key or set item.
func hashable(k uint8) bool {
	switch k {
	case kList, kDict, kSet:
		return false
	}
	return true
}

// Memo helpers.

func (m *machine) memoKey(k uint64) (int, error) {
	// Python numbers memo keys from 0 and every PUT costs at least two
	// bytes, so a key beyond the message size is never legitimate; the
	// bound keeps the memo slice within the message size.
	if k >= uint64(len(m.msg)) {
		return 0, malformed("memo key %d out of range", k)
	}
	return int(k), nil
}

func (m *machine) put(k uint64) error {
	key, err := m.memoKey(k)
	if err != nil {
		return err
	}
	t, err := m.top("PUT")
	if err != nil {
		return err
	}
	if key >= len(m.memo) {
		m.memo = append(m.memo, make([]entry, key+1-len(m.memo))...)
	}
	if m.memo[key].kind == kAbsent {
		m.nmemo++
	}
	m.memo[key] = *t
	return nil
}

func (m *machine) get(k uint64) error {
	if k >= uint64(len(m.memo)) || m.memo[k].kind == kAbsent {
		return malformed("memo key %d was never stored", k)
	}
	return m.push(m.memo[k])
}

func parseMemoLine(b []byte) (uint64, error) {
	k, err := strconv.ParseUint(string(b), 10, 63)
	if err != nil {
		return 0, malformed("bad memo key %q", b)
	}
	return k, nil
}

// run executes the message; on success exactly one value is on the stack.
func (m *machine) run() error {
	if m.build {
		m.str = string(m.msg)
	}
	for m.pos < len(m.msg) {
		at := m.pos
		op := m.msg[at]
		m.pos++
		if err := m.step(op, at); err != nil {
			if err == errStop {
				if m.pos != len(m.msg) {
					return malformed("%d bytes after STOP", len(m.msg)-m.pos)
				}
				return nil
			}
			return err
		}
	}
	if len(m.msg) == 0 {
		return malformed("empty message")
	}
	return malformed("no STOP at the end")
}

var errStop = errors.New("stop")

func (m *machine) step(op byte, at int) error {
	switch op {
	case opProto:
		p, err := m.u8("PROTO")
		if err != nil {
			return err
		}
		if p > 5 {
			return malformed("unsupported pickle protocol %d", p)
		}
		if at == 0 {
			m.proto = int(p)
		}
		return nil
	case opFrame:
		// Frames only group opcodes for buffered readers; with the whole
		// message in hand it is enough that the frame fits.
		n, err := m.u64("FRAME")
		if err != nil {
			return err
		}
		if n > uint64(len(m.msg)-m.pos) {
			return malformed("FRAME of %d bytes at %d runs past the end", n, at)
		}
		return nil
	case opStop:
		if len(m.marks) != 0 || len(m.stack) != 1 {
			return malformed("STOP with %d values and %d marks outstanding", len(m.stack), len(m.marks))
		}
		return errStop

	case opMark:
		if len(m.marks) >= MaxDepth {
			return malformed("more than %d MARKs outstanding", MaxDepth)
		}
		m.marks = append(m.marks, len(m.stack))
		return nil
	case opPop:
		if len(m.stack) > m.base() {
			_, err := m.pop("POP")
			return err
		}
		_, err := m.popMark("POP")
		return err
	case opPopMark:
		_, err := m.popMark("POP_MARK")
		return err
	case opDup:
		t, err := m.top("DUP")
		if err != nil {
			return err
		}
		return m.push(*t)

	case opNone:
		return m.push(entry{kind: kScalar})
	case opNewTrue:
		return m.pushScalar(true)
	case opNewFalse:
		return m.pushScalar(false)
	case opBinInt1:
		n, err := m.u8("BININT1")
		if err != nil {
			return err
		}
		return m.pushScalar(int64(n))
	case opBinInt2:
		n, err := m.u16("BININT2")
		if err != nil {
			return err
		}
		return m.pushScalar(int64(n))
	case opBinInt:
		n, err := m.u32("BININT")
		if err != nil {
			return err
		}
		return m.pushScalar(int64(int32(uint32(n))))
	case opInt:
		b, _, err := m.line("INT")
		if err != nil {
			return err
		}
		switch string(b) {
		case "00":
			return m.pushScalar(false)
		case "01":
			return m.pushScalar(true)
		}
		n, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil {
			return malformed("INT %q at %d", b, at)
		}
		return m.pushScalar(n)
	case opLong:
		b, _, err := m.line("LONG")
		if err != nil {
			return err
		}
		b = trimSuffix(b, 'L')
		n, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil {
			return malformed("LONG %.20q at %d is not an int64", b, at)
		}
		return m.pushScalar(n)
	case opLong1, opLong4:
		var n uint64
		var err error
		if op == opLong1 {
			n, err = m.u8("LONG1")
		} else {
			n, err = m.u32("LONG4")
		}
		if err != nil {
			return err
		}
		if n > MaxLongBytes {
			return malformed("LONG of %d bytes at %d", n, at)
		}
		b, _, err := m.take(n, "LONG")
		if err != nil {
			return err
		}
		v, ok := decodeLong(b)
		if !ok {
			return malformed("LONG at %d does not fit int64", at)
		}
		return m.pushScalar(v)
	case opBinFloat:
		b, _, err := m.take(8, "BINFLOAT")
		if err != nil {
			return err
		}
		return m.pushScalar(math.Float64frombits(binary.BigEndian.Uint64(b)))
	case opFloat:
		b, _, err := m.line("FLOAT")
		if err != nil {
			return err
		}
		f, err := strconv.ParseFloat(string(b), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return malformed("FLOAT %.20q at %d", b, at)
		}
		return m.pushScalar(f)

	case opShortBinUnicode, opBinUnicode, opBinUnicode8,
		opShortBinString, opBinString:
		var n uint64
		var err error
		switch op {
		case opShortBinUnicode, opShortBinString:
			n, err = m.u8("string length")
		case opBinUnicode:
			n, err = m.u32("BINUNICODE length")
		case opBinString:
			n, err = m.u32("BINSTRING length")
			if n >= 1<<31 {
				return malformed("BINSTRING with negative length at %d", at)
			}
		default:
			n, err = m.u64("BINUNICODE8 length")
		}
		if err != nil {
			return err
		}
		b, start, err := m.take(n, "string")
		if err != nil {
			return err
		}
		if !utf8.Valid(b) {
			return malformed("string at %d is not UTF-8", at)
		}
		if !m.build {
			return m.push(entry{kind: kStr})
		}
		return m.push(entry{kind: kStr, v: m.str[start : start+len(b)]})
	case opUnicode:
		b, start, err := m.line("UNICODE")
		if err != nil {
			return err
		}
		s, err := m.rawUnicodeEscape(b, start)
		if err != nil {
			return err
		}
		return m.pushStr(s)
	case opString:
		b, _, err := m.line("STRING")
		if err != nil {
			return err
		}
		if len(b) < 2 || b[0] != b[len(b)-1] || (b[0] != '\'' && b[0] != '"') {
			return malformed("STRING at %d is not quoted", at)
		}
		s, err := escapeDecode(b[1 : len(b)-1])
		if err != nil {
			return err
		}
		if !utf8.ValidString(s) {
			return malformed("STRING at %d is not UTF-8", at)
		}
		return m.pushStr(s)
	case opShortBinBytes, opBinBytes, opBinBytes8, opByteArray8:
		var n uint64
		var err error
		switch op {
		case opShortBinBytes:
			n, err = m.u8("SHORT_BINBYTES length")
		case opBinBytes:
			n, err = m.u32("BINBYTES length")
		default:
			n, err = m.u64("BINBYTES8 length")
		}
		if err != nil {
			return err
		}
		b, _, err := m.take(n, "bytes")
		if err != nil {
			return err
		}
		if !m.build {
			return m.push(entry{kind: kBytes})
		}
		return m.push(entry{kind: kBytes, v: append([]byte{}, b...)})

	case opEmptyList:
		return m.pushNew(kList, 0)
	case opEmptyTuple:
		return m.pushNew(kTuple, 0)
	case opEmptyDict:
		return m.pushNew(kDict, 0)
	case opEmptySet:
		return m.pushNew(kSet, 0)
	case opList, opTuple, opFrozenSet, opDict:
		items, err := m.popMark(opName(op))
		if err != nil {
			return err
		}
		d, err := nest(maxDepth(items))
		if err != nil {
			return err
		}
		e := entry{depth: d}
		switch op {
		case opList:
			e.kind = kList
			if m.build {
				e.v = &listV{items: values(items)}
			}
		case opTuple:
			e.kind = kTuple
			if m.build {
				e.v = &tupleV{items: values(items)}
			}
		case opFrozenSet:
			e.kind = kSet
			for _, it := range items {
				if !hashable(it.kind) {
					return malformed("unhashable set item at %d", at)
				}
			}
			if m.build {
				e.v = &setV{items: values(items)}
			}
		case opDict:
			e.kind = kDict
			if len(items)%2 != 0 {
				return malformed("DICT with an odd number of items at %d", at)
			}
			var dv *dictV
			if m.build {
				dv = &dictV{}
				e.v = dv
			}
			if err := m.setItems(dv, items, at); err != nil {
				return err
			}
		}
		clear(items)
		return m.push(e)
	case opTuple1, opTuple2, opTuple3:
		n := int(op-opTuple1) + 1
		if len(m.stack)-m.base() < n {
			return malformed("TUPLE%d on a stack of %d at %d", n, len(m.stack)-m.base(), at)
		}
		items := m.stack[len(m.stack)-n:]
		d, err := nest(maxDepth(items))
		if err != nil {
			return err
		}
		e := entry{kind: kTuple, depth: d}
		if m.build {
			e.v = &tupleV{items: values(items)}
		}
		clear(items)
		m.stack = m.stack[:len(m.stack)-n]
		return m.push(e)

	case opAppend:
		it, err := m.pop("APPEND")
		if err != nil {
			return err
		}
		return m.appendTo([]entry{it}, at)
	case opAppends:
		items, err := m.popMark("APPENDS")
		if err != nil {
			return err
		}
		err = m.appendTo(items, at)
		clear(items)
		return err
	case opSetItem:
		if len(m.stack)-m.base() < 3 {
			return malformed("SETITEM on a short stack at %d", at)
		}
		items := m.stack[len(m.stack)-2:]
		m.stack = m.stack[:len(m.stack)-2]
		err := m.setItemsOnTop(items, at)
		clear(items)
		return err
	case opSetItems:
		items, err := m.popMark("SETITEMS")
		if err != nil {
			return err
		}
		if len(items)%2 != 0 {
			return malformed("SETITEMS with an odd number of items at %d", at)
		}
		err = m.setItemsOnTop(items, at)
		clear(items)
		return err
	case opAddItems:
		items, err := m.popMark("ADDITEMS")
		if err != nil {
			return err
		}
		t, err := m.top("ADDITEMS")
		if err != nil {
			return err
		}
		if t.kind != kSet {
			return malformed("ADDITEMS to a non-set at %d", at)
		}
		for _, it := range items {
			if !hashable(it.kind) {
				return malformed("unhashable set item at %d", at)
			}
		}
		if d, err := nest(maxDepth(items)); err != nil {
			return err
		} else if d > t.depth {
			t.depth = d
		}
		if m.build {
			s := t.v.(*setV)
			for _, it := range items {
				s.items = append(s.items, it.v)
			}
		}
		clear(items)
		return nil

	case opPut:
		b, _, err := m.line("PUT")
		if err != nil {
			return err
		}
		k, err := parseMemoLine(b)
		if err != nil {
			return err
		}
		return m.put(k)
	case opBinPut:
		k, err := m.u8("BINPUT")
		if err != nil {
			return err
		}
		return m.put(k)
	case opLongBinPut:
		k, err := m.u32("LONG_BINPUT")
		if err != nil {
			return err
		}
		return m.put(k)
	case opMemoize:
		return m.put(uint64(m.nmemo))
	case opGet:
		b, _, err := m.line("GET")
		if err != nil {
			return err
		}
		k, err := parseMemoLine(b)
		if err != nil {
			return err
		}
		return m.get(k)
	case opBinGet:
		k, err := m.u8("BINGET")
		if err != nil {
			return err
		}
		return m.get(k)
	case opLongBinGet:
		k, err := m.u32("LONG_BINGET")
		if err != nil {
			return err
		}
		return m.get(k)

	case opGlobal:
		if !m.reply {
			return refused(op, at)
		}
		mod, _, err := m.line("GLOBAL module")
		if err != nil {
			return err
		}
		name, _, err := m.line("GLOBAL name")
		if err != nil {
			return err
		}
		return m.pushClass(string(mod), string(name), at)
	case opStackGlobal:
		if !m.reply {
			return refused(op, at)
		}
		name, err := m.pop("STACK_GLOBAL")
		if err != nil {
			return err
		}
		mod, err := m.pop("STACK_GLOBAL")
		if err != nil {
			return err
		}
		ms, ok1 := mod.v.(string)
		ns, ok2 := name.v.(string)
		if !ok1 || !ok2 {
			return malformed("STACK_GLOBAL needs two str at %d", at)
		}
		return m.pushClass(ms, ns, at)
	case opReduce:
		if !m.reply {
			return refused(op, at)
		}
		return m.reduce(at)
	case opBuild:
		if !m.reply {
			return refused(op, at)
		}
		// Python pickles an exception that has a __dict__ as REDUCE then
		// BUILD with that dict; the state is dropped, Args carry the
		// message.
		if _, err := m.pop("BUILD"); err != nil {
			return err
		}
		t, err := m.top("BUILD")
		if err != nil {
			return err
		}
		if t.kind != kExc {
			return refused(op, at)
		}
		return nil
	}
	return refused(op, at)
}

func trimSuffix(b []byte, c byte) []byte {
	if len(b) > 0 && b[len(b)-1] == c {
		return b[:len(b)-1]
	}
	return b
}

// decodeLong decodes a little-endian two's complement integer (LONG1,
// LONG4) if it fits int64.
func decodeLong(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, true
	}
	neg := b[len(b)-1]&0x80 != 0
	if len(b) > 8 {
		ext := byte(0)
		if neg {
			ext = 0xff
		}
		for _, c := range b[8:] {
			if c != ext {
				return 0, false
			}
		}
		if (b[7]&0x80 != 0) != neg {
			return 0, false
		}
		b = b[:8]
	}
	var u uint64
	for i := len(b) - 1; i >= 0; i-- {
		u = u<<8 | uint64(b[i])
	}
	if neg && len(b) < 8 {
		u |= ^uint64(0) << (8 * len(b))
	}
	return int64(u), true
}

func (m *machine) pushScalar(v any) error {
	if !m.build {
		return m.push(entry{kind: kScalar})
	}
	return m.push(entry{kind: kScalar, v: v})
}

func (m *machine) pushStr(s string) error {
	if !m.build {
		return m.push(entry{kind: kStr})
	}
	return m.push(entry{kind: kStr, v: s})
}

func (m *machine) pushNew(kind uint8, depth uint8) error {
	e := entry{kind: kind, depth: depth}
	if m.build {
		switch kind {
		case kList:
			e.v = &listV{}
		case kTuple:
			e.v = &tupleV{}
		case kDict:
			e.v = &dictV{}
		case kSet:
			e.v = &setV{}
		}
	}
	return m.push(e)
}

func (m *machine) appendTo(items []entry, at int) error {
	t, err := m.top("APPEND")
	if err != nil {
		return err
	}
	if t.kind != kList {
		return malformed("APPEND to a non-list at %d", at)
	}
	d, err := nest(maxDepth(items))
	if err != nil {
		return err
	}
	if d > t.depth {
		t.depth = d
	}
	if m.build {
		l := t.v.(*listV)
		if l.items == nil {
			l.items = make([]any, 0, len(items))
		}
		for _, it := range items {
			l.items = append(l.items, it.v)
		}
	}
	return nil
}

func (m *machine) setItemsOnTop(items []entry, at int) error {
	t, err := m.top("SETITEMS")
	if err != nil {
		return err
	}
	if t.kind != kDict {
		return malformed("SETITEM on a non-dict at %d", at)
	}
	d, err := nest(maxDepth(items))
	if err != nil {
		return err
	}
	if d > t.depth {
		t.depth = d
	}
	var dv *dictV
	if m.build {
		dv = t.v.(*dictV)
	}
	return m.setItems(dv, items, at)
}

// setItems adds key/value pairs, replacing existing keys as Python does.
func (m *machine) setItems(dv *dictV, items []entry, at int) error {
	for i := 0; i+1 < len(items); i += 2 {
		if !hashable(items[i].kind) {
			return malformed("unhashable dict key at %d", at)
		}
		if dv == nil || !m.build {
			continue
		}
		k, v := items[i].v, items[i+1].v
		replaced := false
		if isSimpleKey(k) {
			// Linear, but dict replies are tiny and the total work is
			// bounded by MaxStack per batch and the message size.
			for j := range dv.kv {
				if dv.kv[j].Key == k {
					dv.kv[j].Value = v
					replaced = true
					break
				}
			}
		}
		if !replaced {
			dv.kv = append(dv.kv, KV{k, v})
		}
	}
	return nil
}

// isSimpleKey reports whether == on the interface is safe and meaningful.
func isSimpleKey(k any) bool {
	switch k.(type) {
	case nil, bool, int64, float64, string:
		return true
	}
	return false
}

// rawUnicodeEscape decodes Python's raw-unicode-escape (protocol 0
// UNICODE): bytes are Latin-1 code points, and \uXXXX / \UXXXXXXXX are
// escapes when preceded by an odd run of backslashes.
func (m *machine) rawUnicodeEscape(b []byte, start int) (string, error) {
	plain := true
	for _, c := range b {
		if c >= 0x80 || c == '\\' {
			plain = false
			break
		}
	}
	if plain {
		if m.build {
			return m.str[start : start+len(b)], nil
		}
		return "", nil
	}
	var sb strings.Builder
	sb.Grow(len(b) + len(b)/2)
	for i := 0; i < len(b); {
		c := b[i]
		if c != '\\' {
			sb.WriteRune(rune(c))
			i++
			continue
		}
		j := i
		for j < len(b) && b[j] == '\\' {
			j++
		}
		run := j - i
		if run%2 == 0 || j >= len(b) || (b[j] != 'u' && b[j] != 'U') {
			for k := 0; k < run; k++ {
				sb.WriteByte('\\')
			}
			i = j
			continue
		}
		for k := 0; k < run-1; k++ {
			sb.WriteByte('\\')
		}
		n := 4
		if b[j] == 'U' {
			n = 8
		}
		if j+1+n > len(b) {
			return "", malformed("truncated \\u escape in UNICODE")
		}
		r, err := strconv.ParseUint(string(b[j+1:j+1+n]), 16, 32)
		if err != nil || r > utf8.MaxRune {
			return "", malformed("bad \\u escape in UNICODE")
		}
		sb.WriteRune(rune(r))
		i = j + 1 + n
	}
	if !m.build {
		return "", nil
	}
	return sb.String(), nil
}

// escapeDecode undoes the escapes of a Python 2 str repr (protocol 0
// STRING), as codecs.escape_decode does.
func escapeDecode(b []byte) (string, error) {
	var sb strings.Builder
	sb.Grow(len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' {
			sb.WriteByte(c)
			continue
		}
		i++
		if i >= len(b) {
			return "", malformed("STRING ends in a backslash")
		}
		switch c = b[i]; c {
		case '\n':
		case '\\', '\'', '"':
			sb.WriteByte(c)
		case 'a':
			sb.WriteByte('\a')
		case 'b':
			sb.WriteByte('\b')
		case 'f':
			sb.WriteByte('\f')
		case 'n':
			sb.WriteByte('\n')
		case 'r':
			sb.WriteByte('\r')
		case 't':
			sb.WriteByte('\t')
		case 'v':
			sb.WriteByte('\v')
		case 'x':
			if i+2 >= len(b) {
				return "", malformed("truncated \\x escape in STRING")
			}
			v, err := strconv.ParseUint(string(b[i+1:i+3]), 16, 8)
			if err != nil {
				return "", malformed("bad \\x escape in STRING")
			}
			sb.WriteByte(byte(v))
			i += 2
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := int(c - '0')
			for k := 0; k < 2 && i+1 < len(b) && b[i+1] >= '0' && b[i+1] <= '7'; k++ {
				i++
				v = v*8 + int(b[i]-'0')
			}
			sb.WriteByte(byte(v))
		default:
			sb.WriteByte('\\')
			sb.WriteByte(c)
		}
	}
	return sb.String(), nil
}

// Reply-mode classes.

func (m *machine) pushClass(module, name string, at int) error {
	c, ok := allowClass(module, name)
	if !ok {
		return fmt.Errorf("%w: class %.40s.%.40s at %d is not allowed", ErrRefused, module, name, at)
	}
	e := entry{kind: kClass}
	if m.build {
		e.v = c
	}
	return m.push(e)
}

// allowClass maps a global to its canonical name if it is on the
// allow-list. Python 3 writes Python 2 names in protocols 0..2
// (fix_imports), so those are accepted too.
func allowClass(module, name string) (*classV, bool) {
	switch module + "." + name {
	case "builtins.str", "__builtin__.unicode", "__builtin__.str":
		return &classV{"builtins", "str"}, true
	case "builtins.bytes", "__builtin__.bytes":
		return &classV{"builtins", "bytes"}, true
	case "_codecs.encode":
		return &classV{"_codecs", "encode"}, true
	}
	switch module {
	case "builtins", "exceptions":
		if isExceptionName(name) {
			return &classV{"builtins", name}, true
		}
	case "fail2ban.exceptions":
		if isIdent(name) {
			return &classV{module, name}, true
		}
	}
	return nil, false
}

func isExceptionName(n string) bool {
	if !isIdent(n) {
		return false
	}
	return strings.HasSuffix(n, "Error") || strings.HasSuffix(n, "Exception") ||
		strings.HasSuffix(n, "Warning") || n == "KeyboardInterrupt" ||
		n == "StopIteration" || n == "SystemExit"
}

func isIdent(n string) bool {
	if n == "" || len(n) > 100 {
		return false
	}
	for i, c := range n {
		ok := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9')
		if !ok {
			return false
		}
	}
	return true
}

// reduce applies an allow-listed class to its argument tuple, producing a
// plain value; nothing is looked up or called by name.
func (m *machine) reduce(at int) error {
	args, err := m.pop("REDUCE")
	if err != nil {
		return err
	}
	cls, err := m.pop("REDUCE")
	if err != nil {
		return err
	}
	if cls.kind != kClass || args.kind != kTuple {
		return malformed("REDUCE needs a class and a tuple at %d", at)
	}
	c := cls.v.(*classV)
	items := args.v.(*tupleV).items
	switch c.module + "." + c.name {
	case "builtins.str":
		switch {
		case len(items) == 0:
			return m.push(entry{kind: kStr, v: ""})
		case len(items) == 1:
			if s, ok := items[0].(string); ok {
				return m.push(entry{kind: kStr, v: s})
			}
		}
		return malformed("str() of unexpected arguments at %d", at)
	case "builtins.bytes":
		if len(items) == 0 {
			return m.push(entry{kind: kBytes, v: []byte{}})
		}
		return malformed("bytes() of unexpected arguments at %d", at)
	case "_codecs.encode":
		if len(items) == 2 {
			s, ok1 := items[0].(string)
			enc, ok2 := items[1].(string)
			if ok1 && ok2 && (enc == "latin1" || enc == "latin-1") {
				b := make([]byte, 0, len(s))
				for _, r := range s {
					if r > 0xff {
						return malformed("latin1 encode of a rune over 0xff at %d", at)
					}
					b = append(b, byte(r))
				}
				return m.push(entry{kind: kBytes, v: b})
			}
		}
		return malformed("_codecs.encode of unexpected arguments at %d", at)
	}
	if items == nil {
		items = emptyItems[:0:0]
	}
	return m.push(entry{kind: kExc, depth: args.depth, v: &Exception{Class: c.module + "." + c.name, Args: items}})
}
