package experiments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/saliencykit/saliency/reports"
)

// CollectionFileName marks the folder of a collection (an experiment that
// includes others): its members, each run in a subfolder.
const CollectionFileName = "collection.json"

// Collection is what collection.json holds.
type Collection struct {
	Name    string   `json:"name"`
	Members []Member `json:"members"`
}

// Member is one included experiment and its run folder (relative).
type Member struct {
	Name string `json:"name"`
	File string `json:"file"`
	Dir  string `json:"dir"`
}

// LoadCollection loads the experiments a collection includes, in order;
// their outputs are subfolders of out named after them.
func LoadCollection(e *Experiment, out string) (*Collection, []*Experiment, error) {
	c := &Collection{Name: e.Name}
	var members []*Experiment
	for _, f := range e.Include {
		m, err := Load(f)
		if err != nil {
			return nil, nil, err
		}
		if len(m.Include) > 0 {
			return nil, nil, fmt.Errorf("experiments: %s includes %s, which includes others; collections do not nest", e.File, f)
		}
		if slices.ContainsFunc(c.Members, func(x Member) bool { return x.Name == m.Name }) {
			return nil, nil, fmt.Errorf("experiments: %s includes two experiments named %s", e.File, m.Name)
		}
		m.Output = filepath.Join(out, safeName(m.Name))
		c.Members = append(c.Members, Member{Name: m.Name, File: relTo(e.Dir, f), Dir: safeName(m.Name)})
		members = append(members, m)
	}
	return c, members, nil
}

// WriteCollectionFile writes collection.json into out.
func (c *Collection) WriteCollectionFile(out string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("experiments: %w", err)
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return writeIfChanged(filepath.Join(out, CollectionFileName), append(b, '\n'))
}

// ReadCollection reads a collection folder's collection.json; it is
// os.ErrNotExist (wrapped) for a plain run folder.
func ReadCollection(dir string) (*Collection, error) {
	b, err := os.ReadFile(filepath.Join(dir, CollectionFileName))
	if err != nil {
		return nil, err
	}
	var c Collection
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("experiments: %s: %w", filepath.Join(dir, CollectionFileName), err)
	}
	return &c, nil
}

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
	c, err := ReadCollection(dir)
	if err != nil {
		return nil, fmt.Errorf("experiments: %w", err)
	}
	lk, err := LockReport(dir)
	if err != nil {
		return nil, err
	}
	defer lk.Unlock()
	rep := &Report{Dir: dir, LockNote: lk.Note}
	var methods, columns []string
	cells := map[[2]string]string{}
	page := &reports.Page{Title: "Experiments " + c.Name}
	var links []reports.Link
	var missing error
	for _, m := range c.Members {
		sub := filepath.Join(dir, m.Dir)
		r, err := WriteReportContext(ctx, sub, o)
		var me *MissingError
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
		var fs []finding
		if err := json.Unmarshal(raw, &fs); err != nil {
			return nil, fmt.Errorf("experiments: %s: %w", filepath.Join(sub, "tables", "findings.json"), err)
		}
		for _, f := range fs {
			if f.Verdict == "" {
				continue
			}
			col := fmt.Sprintf("%s: %s (%s)", f.Test, f.Model, f.Measure)
			if !slices.Contains(columns, col) {
				columns = append(columns, col)
			}
			method, _, _ := strings.Cut(f.Method, " (")
			if !slices.Contains(methods, method) {
				methods = append(methods, method)
			}
			v := "n/a"
			if f.Mean != nil {
				v = fmt.Sprintf("%.2f [%.2f, %.2f]", *f.Mean, *f.Lo, *f.Hi)
			}
			key := [2]string{method, col}
			if strings.Contains(f.Method, "(sMPRT)") {
				key[1] = strings.Replace(col, "cascading", "smooth cascading", 1)
				if !slices.Contains(columns, key[1]) {
					columns = append(columns, key[1])
				}
			}
			cells[key] = v + " " + f.Verdict
		}
	}
	if missing != nil {
		return nil, missing
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t := &reports.Table{Caption: fmt.Sprintf("Every test of %s: for each method, the primary measure of each test (the mean over the images with a bootstrap 95%% interval) and its verdict. Each member's report gives the other measures and the figures.", c.Name),
		Label: "tab:" + safeName(c.Name) + "-summary", Columns: append([]string{"method"}, columns...)}
	for _, m := range methods {
		row := []string{m}
		for _, col := range columns {
			v, ok := cells[[2]string{m, col}]
			if !ok {
				v = "–"
			}
			row = append(row, v)
		}
		t.Rows = append(t.Rows, row)
	}
	t.Align = "l" + strings.Repeat("l", len(columns))
	for _, f := range []string{"csv", "tex"} {
		p := filepath.Join("summary." + f)
		var b []byte
		if f == "csv" {
			b = t.CSV()
		} else {
			b = t.LaTeX()
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
