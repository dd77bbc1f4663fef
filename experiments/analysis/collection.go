package analysis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/saliencykit/saliency/experiments/runfolder"
	"github.com/saliencykit/saliency/experiments/stats"
	"github.com/saliencykit/saliency/reports"
)

// WriteCollectionReport writes the report of each member and the
// collection's own: one table, methods × tests, each cell a test's primary
// number with its interval and verdict, and links to the members' reports.
func WriteCollectionReport(dir string, o ReportOptions) (*Report, error) {
	return WriteCollectionReportContext(context.Background(), dir, o)
}

// WriteCollectionReportContext is WriteCollectionReport, stopped between two
// files when ctx is done (WriteReportContext); it holds the collection
// folder's lock, and each member's report its member's.
func WriteCollectionReportContext(ctx context.Context, dir string, o ReportOptions) (*Report, error) {
	c, err := runfolder.ReadCollection(dir)
	if err != nil {
		return nil, fmt.Errorf("experiments: %w", err)
	}
	lk, err := runfolder.LockReport(dir)
	if err != nil {
		return nil, err
	}
	defer lk.Unlock()
	rep := &Report{Dir: dir, LockNote: lk.Note}
	var methods, columns []string
	cells := map[[2]string]string{}
	verdicts := map[[2]string]string{}
	var long [][]string
	page := &reports.Page{Title: "Experiments " + c.Name}
	var links []reports.Link
	var missing error
	for _, m := range c.Members {
		sub := filepath.Join(dir, m.Dir)
		r, err := WriteReportContext(ctx, sub, o)
		var me *runfolder.MissingError
		if errors.As(err, &me) {
			missing = errors.Join(missing, err)
			continue
		}
		if err != nil {
			return nil, err
		}
		rep.Verdicts = append(rep.Verdicts, r.Verdicts...)
		links = append(links, reports.Link{Text: m.Name, Href: m.Dir + "/index.html"})
		raw, err := os.ReadFile(filepath.Join(sub, "tables", "findings.json"))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("experiments: %w", err)
		}
		var fs []Finding
		if err := json.Unmarshal(raw, &fs); err != nil {
			return nil, fmt.Errorf("experiments: %s: %w", filepath.Join(sub, "tables", "findings.json"), err)
		}
		for _, f := range fs {
			if f.Verdict == "" {
				continue
			}
			// The member names the column: two members may run the same test
			// on the same model with other settings (seeds, images).
			col := fmt.Sprintf("%s · %s: %s (%s)", m.Name, f.Test, f.Model, f.Measure)
			if !slices.Contains(columns, col) {
				columns = append(columns, col)
			}
			method, _, _ := strings.Cut(f.Method, " (")
			if !slices.Contains(methods, method) {
				methods = append(methods, method)
			}
			v := "n/a"
			if f.Mean != nil {
				v = stats.Summary{N: f.N, Mean: *f.Mean, Lo: *f.Lo, Hi: *f.Hi}.String()
			}
			key := [2]string{method, col}
			if strings.Contains(f.Method, "(sMPRT)") {
				key[1] = strings.Replace(col, "cascading", "smooth cascading", 1)
				if !slices.Contains(columns, key[1]) {
					columns = append(columns, key[1])
				}
			}
			val := v
			floor := ""
			if f.Floor != nil {
				floor = reports.FormatFixed(*f.Floor, 2)
				v += " (null " + floor + ")"
			}
			cells[key] = v + " " + f.Verdict
			verdicts[key] = f.Verdict
			long = append(long, []string{m.Name, f.Test, f.Model, displayMethod(f.Method), f.Measure, val, floor, f.Verdict})
		}
	}
	if missing != nil {
		return nil, missing
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t := &reports.Table{Caption: fmt.Sprintf("Every test of %s: for each method, the primary measure of each test (the mean over the images with a bootstrap 95%% interval, the null floor where the measure has one) and its verdict (docs/experiments.md, Verdicts). Each member's report gives the other measures and the figures.", c.Name),
		Label: "tab:" + runfolder.SafeName(c.Name) + "-summary", Columns: append([]string{"method"}, columns...), Class: "compact"}
	for _, m := range methods {
		row := []string{displayMethod(m)}
		cls := []string{""}
		for _, col := range columns {
			v, ok := cells[[2]string{m, col}]
			if !ok {
				v = "–"
			}
			row = append(row, v)
			cls = append(cls, verdictClass(verdicts[[2]string{m, col}]).Class())
		}
		t.Rows = append(t.Rows, row)
		t.Classes = append(t.Classes, cls)
	}
	t.Align = "l" + strings.Repeat("l", len(columns))
	// LaTeX: one row per test, model and method, split over the pages of
	// a two-column paper (a matrix of every test is wider than any page).
	lt := &reports.Table{Caption: t.Caption, Label: t.Label, Columns: []string{"experiment", "test", "model", "method", "measure", "value", "null floor", "verdict"}, Align: "lllllrrl", Rows: long, TeX: reports.TeXWidePages}
	for _, f := range []string{"csv", "tex"} {
		p := filepath.Join("summary." + f)
		var b []byte
		if f == "csv" {
			b = t.CSV()
		} else {
			b = lt.LaTeX()
		}
		if err := reports.WriteFile(filepath.Join(dir, p), b); err != nil {
			return nil, err
		}
		rep.Files = append(rep.Files, p)
	}
	page.Blocks = []reports.Block{
		{Text: []string{fmt.Sprintf("%d experiments, each run in its own folder with its own report (figures, tables, manifest).", len(c.Members))}, Links: links},
		{Heading: "Summary", Table: t, Links: []reports.Link{{Text: "summary.csv", Href: "summary.csv"}, {Text: "summary.tex", Href: "summary.tex"}}},
		{Heading: "Verdicts", Bullets: true, Text: rep.Verdicts},
	}
	if err := reports.WriteFile(filepath.Join(dir, "index.md"), page.Markdown()); err != nil {
		return nil, err
	}
	html, err := page.HTML(dir)
	if err != nil {
		return nil, err
	}
	if err := reports.WriteFile(filepath.Join(dir, "index.html"), html); err != nil {
		return nil, err
	}
	rep.Files = append(rep.Files, "index.md", "index.html")
	return rep, nil
}
