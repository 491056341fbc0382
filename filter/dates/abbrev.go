package dates

// zoneAbbrevs is the table of zone abbreviations fail2ban 1.0.2 knows, as
// offsets east of UTC in minutes, with no daylight saving switch ("CET" is
// always +01:00). %Z and %z values and logtimezone names are looked up
// here; a well-formed abbreviation missing from it makes fail2ban raise
// KeyError. The set is fail2ban's, so that the same names are accepted and
// refused.
var zoneAbbrevs = func() map[string]int {
	m := map[string]int{}
	for _, g := range []struct {
		minutes int
		names   []string
	}{
		{-12 * 60, []string{"Y"}},
		{-11 * 60, []string{"X", "NUT", "SST"}},
		{-10 * 60, []string{"W", "CKT", "HAST", "HST", "TAHT", "TKT"}},
		{-9 * 60, []string{"V", "AKST", "GAMT", "GIT", "HADT", "HNY"}},
		{-8 * 60, []string{"U", "AKDT", "CIST", "HAY", "HNP", "PST", "PT"}},
		{-7 * 60, []string{"T", "HAP", "HNR", "MST", "PDT"}},
		{-6 * 60, []string{"S", "CST", "EAST", "GALT", "HAR", "HNC", "MDT"}},
		{-5 * 60, []string{"R", "CDT", "COT", "EASST", "ECT", "EST", "ET", "HAC", "HNE", "PET"}},
		{-4 * 60, []string{"Q", "AST", "BOT", "CLT", "COST", "EDT", "FKT", "GYT", "HAE", "HNA", "PYT"}},
		{-3 * 60, []string{"P", "ADT", "ART", "BRT", "CLST", "FKST", "GFT", "HAA", "PMST", "PYST", "SRT", "UYT", "WGT"}},
		{-2 * 60, []string{"O", "BRST", "FNT", "PMDT", "UYST", "WGST"}},
		{-1 * 60, []string{"N", "AZOT", "CVT", "EGT"}},
		{0, []string{"Z", "EGST", "GMT", "UTC", "WET", "WT"}},
		{1 * 60, []string{"A", "CET", "DFT", "WAT", "WEDT", "WEST"}},
		{2 * 60, []string{"B", "CAT", "CEDT", "CEST", "EET", "SAST", "WAST"}},
		{3 * 60, []string{"C", "EAT", "EEDT", "EEST", "IDT", "MSK"}},
		{4 * 60, []string{"D", "AMT", "AZT", "GET", "GST", "KUYT", "MSD", "MUT", "RET", "SAMT", "SCT"}},
		{5 * 60, []string{"E", "AMST", "AQTT", "AZST", "HMT", "MAWT", "MVT", "PKT", "TFT", "TJT", "TMT", "UZT", "YEKT"}},
		{6 * 60, []string{"F", "ALMT", "BIOT", "BTT", "IOT", "KGT", "NOVT", "OMST", "YEKST"}},
		{7 * 60, []string{"G", "CXT", "DAVT", "HOVT", "ICT", "KRAT", "NOVST", "OMSST", "THA", "WIB"}},
		{8 * 60, []string{"H", "ACT", "AWST", "BDT", "BNT", "CAST", "HKT", "IRKT", "KRAST", "MYT", "PHT", "SGT", "ULAT", "WITA", "WST"}},
		{9 * 60, []string{"I", "AWDT", "IRKST", "JST", "KST", "PWT", "TLT", "WDT", "WIT", "YAKT"}},
		{10 * 60, []string{"K", "AEST", "ChST", "PGT", "VLAT", "YAKST", "YAPT"}},
		{11 * 60, []string{"L", "AEDT", "LHDT", "MAGT", "NCT", "PONT", "SBT", "VLAST", "VUT"}},
		{12 * 60, []string{"M", "ANAST", "ANAT", "FJT", "GILT", "MAGST", "MHT", "NZST", "PETST", "PETT", "TVT", "WFT"}},
		{13 * 60, []string{"FJST", "NZDT"}},
		{11*60 + 30, []string{"NFT"}},
		{10*60 + 30, []string{"ACDT", "LHST"}},
		{9*60 + 30, []string{"ACST"}},
		{6*60 + 30, []string{"CCT", "MMT"}},
		{5*60 + 45, []string{"NPT"}},
		{5*60 + 30, []string{"SLT"}},
		{4*60 + 30, []string{"AFT", "IRDT"}},
		{3*60 + 30, []string{"IRST"}},
		{-(2*60 + 30), []string{"HAT", "NDT"}},
		{-(3*60 + 30), []string{"HNT", "NST", "NT"}},
		{-(4*60 + 30), []string{"HLV", "VET"}},
		{-(9*60 + 30), []string{"MART", "MIT"}},
	} {
		for _, n := range g.names {
			m[n] = g.minutes
		}
	}
	return m
}()
