package dates

// This file: a detector's templates as fail2ban's getDatePattern shows them.

// TemplateInfo describes one template of a Detector.
type TemplateInfo struct {
	// Name is fail2ban's name of the template ("Epoch",
	// "{^LN-BEG}Year-Month-Day 24hour:Minute:Second", "^").
	Name string
	// Pattern is a pattern template's datepattern, as fail2ban keeps it
	// ("{^LN-BEG}%Y-%m-%d %H:%M:%S", "{UNB}^" for {NONE}); HasPattern is
	// false for the Epoch and TAI64N templates, which have none in
	// fail2ban either.
	Pattern    string
	HasPattern bool
}

// Describe returns the detector's templates in their current order. A
// detector made for no datepattern has none until its first line (it
// then takes the default templates), as fail2ban's detector has none
// until its first match: Describe does not add them.
func (d *Detector) Describe() []TemplateInfo {
	out := make([]TemplateInfo, len(d.entries))
	for i, e := range d.entries {
		out[i] = TemplateInfo{Name: e.t.name}
		if e.t.kind == kindPattern {
			out[i].Pattern, out[i].HasPattern = e.t.pattern, true
		}
	}
	return out
}
