package dates

// TemplateHits is one template of a Detector with the number of lines it
// won: fail2ban's DateDetectorTemplate name and hits.
type TemplateHits struct {
	Name string
	Hits int
}

// Hits lists the detector's templates in their current order, each with
// the lines it won, as fail2ban-regex's "Date template hits" report
// walks dateDetector.templates. Like fail2ban's list it is empty for a
// detector of the default templates that has not searched a line yet
// (the defaults are added at the first search).
func (d *Detector) Hits() []TemplateHits {
	out := make([]TemplateHits, len(d.entries))
	for i, e := range d.entries {
		out[i] = TemplateHits{Name: e.t.name, Hits: e.hits}
	}
	return out
}
