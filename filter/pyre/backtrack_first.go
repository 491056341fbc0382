package pyre

// A split whose first branch must begin with a byte the subject does not
// have at that point is not tried, and one whose second branch must is
// not pushed: sre's BRANCH and REPEAT look at the next character the same
// way. Most optional parts of fail2ban's prefixes ((?:\[\])?,
// (?:kernel:...)?, (?:@vserver_\S+\s+)?) fail so, on their first byte.

// byteSet is a set of the bytes a path may start with; bit 256 stands for
// a path that may take no byte at all (it ends, or tests what it cannot
// see ahead), which the end of the subject is tested as.
type byteSet [5]uint64

const noByte = 256

func (b *byteSet) add(i int)      { b[i>>6] |= 1 << (i & 63) }
func (b *byteSet) has(i int) bool { return b[i>>6]&(1<<(i&63)) != 0 }
func (b *byteSet) union(c byteSet) {
	for i := range b {
		b[i] |= c[i]
	}
}
func (b *byteSet) all() bool { return *b == allBytes }
func (b *byteSet) addSet(cs *btSet) {
	b[0] |= cs.ascii[0]
	b[1] |= cs.ascii[1]
	if cs.hiAll || len(cs.hi) > 0 {
		for x := 0xC2; x <= 0xF4; x++ { // the lead bytes of UTF-8
			b.add(x)
		}
	}
}

var allBytes = byteSet{^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0), 1}

// firsts sets the byte sets of every split.
func (c *btCompiler) firsts() {
	memo := map[int]byteSet{}
	for i := range c.insts {
		in := &c.insts[i]
		if in.op != btSplit {
			continue
		}
		if x := c.firstOf(in.x, 0, memo); !x.all() {
			in.fx = &x
		}
		if y := c.firstOf(in.y, 0, memo); !y.all() {
			in.fy = &y
		}
	}
}

// firstOf is the set of bytes a path from pc may start with.
func (c *btCompiler) firstOf(pc, depth int, memo map[int]byteSet) byteSet {
	if b, ok := memo[pc]; ok {
		return b
	}
	if depth > 64 {
		return allBytes
	}
	var b byteSet
	in := &c.insts[pc]
	switch in.op {
	case btString:
		b.add(int(in.str[0]))
	case btChar:
		b.addSet(in.cs)
	case btRepeat:
		b.addSet(in.cs)
		if in.n == 0 {
			b.union(c.firstOf(pc+1, depth+1, memo))
		}
	case btSplit:
		b = c.firstOf(in.x, depth+1, memo)
		b.union(c.firstOf(in.y, depth+1, memo))
	case btJump:
		b = c.firstOf(in.x, depth+1, memo)
	case btOpen, btClose, btNeed, btAssert:
		// Zero-width; an assertion can only make the path fail.
		b = c.firstOf(pc+1, depth+1, memo)
	case btCond:
		b = c.firstOf(pc+1, depth+1, memo)
		b.union(c.firstOf(in.x, depth+1, memo))
	default:
		// btSucceed, lookarounds, atomic groups, back-references: any.
		b = allBytes
	}
	memo[pc] = b
	return b
}
