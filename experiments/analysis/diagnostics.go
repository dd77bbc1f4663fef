package analysis

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/saliencykit/saliency/experiments/runfolder"
	"github.com/saliencykit/saliency/methods/catalog"
	"github.com/saliencykit/saliency/reports"
)

// DiagnosticRow is one image whose map a diagnostic flags, as the report's
// diagnostics table lists it.
type DiagnosticRow struct {
	Model      string   `json:"model"`
	Method     string   `json:"method"`
	Image      string   `json:"image"`
	Diagnostic string   `json:"diagnostic"`
	Value      float64  `json:"value"`
	Threshold  float64  `json:"threshold"`
	Causes     []string `json:"likely_causes"`
}

// diagnosticSection is what the diagnostics add to a report.
type diagnosticSection struct {
	blocks   []reports.Block // none when no method reports a diagnostic
	table    *reports.Table  // nil when nothing is flagged
	rows     []DiagnosticRow
	warnings []string
}

// diagnostics checks the per-image diagnostics of the original model's maps
// (catalog.Diagnostics: the completeness error of Integrated Gradients) and
// makes the report's Diagnostics section: a line per model, method and
// diagnostic above its threshold naming the images and the likely causes, a
// table of the flagged images, or a line saying every image is within the
// thresholds.
func (rd *runData) diagnostics() diagnosticSection {
	var sec diagnosticSection
	pf := rd.pf
	ids := make([]string, len(pf.Images))
	for i, im := range pf.Images {
		ids[i] = im.ID
	}
	var checked []string
	for mi, m := range pf.Models {
		for ki, meth := range pf.Methods {
			if mi >= len(rd.info) || ki >= len(rd.info[mi]) || rd.info[mi][ki] == nil {
				continue
			}
			info := map[string][]float64{}
			for k, vs := range rd.info[mi][ki] {
				f := make([]float64, len(vs))
				for i, v := range vs {
					f[i] = math.NaN()
					if v != nil {
						f[i] = *v
					}
				}
				info[k] = f
			}
			for _, d := range catalog.Diagnostics {
				if _, ok := info[d.Key]; ok {
					checked = append(checked, fmt.Sprintf("%s of %s on %s", d.Key, meth.Dir, m.Name))
				}
			}
			for _, f := range catalog.Check(info) {
				sec.warnings = append(sec.warnings, m.Name+", "+f.Message(meth.Dir, ids, 10))
				for k, i := range f.Images {
					sec.rows = append(sec.rows, DiagnosticRow{Model: m.Name, Method: meth.Dir, Image: ids[i],
						Diagnostic: f.Key, Value: f.Values[k], Threshold: f.Threshold, Causes: f.Causes})
				}
			}
		}
	}
	if len(checked) == 0 {
		return sec
	}
	var what []string
	for _, d := range catalog.Diagnostics {
		what = append(what, fmt.Sprintf("%s, the %s, above %.0f%%", d.Key, d.What, 100*d.Threshold))
	}
	intro := fmt.Sprintf("Per-image checks of the maps of the original models that signal a likely wrong map rather than a finding about the model (docs/methods.md, Diagnostics): %s.", strings.Join(what, "; "))
	if len(sec.warnings) == 0 {
		sec.blocks = []reports.Block{{Heading: "Diagnostics", Text: []string{intro,
			fmt.Sprintf("Every image is within the thresholds (%s).", strings.Join(checked, ", "))}}}
		return sec
	}
	sec.table = &reports.Table{Caption: "Images whose maps a diagnostic flags: the value, the threshold and the likely causes (docs/methods.md).",
		Label: "tab:" + runfolder.SafeName(pf.Name) + "-diagnostics", Columns: []string{"model", "method", "image", "diagnostic", "value", "threshold"}, Align: "llllrr"}
	for _, r := range sec.rows {
		sec.table.Rows = append(sec.table.Rows, []string{r.Model, r.Method, r.Image, r.Diagnostic, fmt.Sprintf("%.4g", r.Value), fmt.Sprintf("%.4g", r.Threshold)})
	}
	var links []reports.Link
	for _, f := range pf.Tables {
		links = append(links, reports.Link{Text: "diagnostics." + f, Href: "tables/diagnostics." + f})
	}
	if !slices.Contains(pf.Tables, "json") {
		links = append(links, reports.Link{Text: "diagnostics.json", Href: "tables/diagnostics.json"})
	}
	sec.blocks = []reports.Block{
		{Heading: "Diagnostics", Text: []string{intro, "Warning: these maps are likely wrong (one line per model, method and diagnostic):"}},
		{Text: sec.warnings, Bullets: true, Table: sec.table, Links: links},
	}
	return sec
}

// collectInfo copies the diagnostics of a unit's images (lo onwards) into
// info[key], n values per key.
func collectInfo(info *map[string][]*float64, unit map[string][]*float64, lo, n int) {
	for k, vs := range unit {
		if *info == nil {
			*info = map[string][]*float64{}
		}
		if (*info)[k] == nil {
			(*info)[k] = make([]*float64, n)
		}
		copy((*info)[k][lo:], vs)
	}
}
