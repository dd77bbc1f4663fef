package experiments

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/experiments/analysis"
	"github.com/saliencykit/saliency/experiments/runfolder"
	"github.com/saliencykit/saliency/reports"
	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/units"
)

// layersExperiment has maps (gradient on 4 images) and the units of two
// layers of fmnist_vgg: conv2_1 over 200 Fashion-MNIST images of its own,
// and two neurons of the dense fc1 over the experiment's 4 images.
func layersExperiment(t *testing.T) string {
	t.Helper()
	return writeFile(t, t.TempDir(), "layers.yaml", `name: layers
seed: 3
models:
  - path: `+zoo("fmnist_vgg")+`
data: {source: fashion-mnist, count: 4}
batch: 3
methods: [gradient]
units:
  - model: fmnist_vgg
    layer: conv2_1
    data: {source: fashion-mnist, count: 200}
    channels: 0-2,5
    k: 4
  - {model: fmnist_vgg, layer: fc1, channels: [3, 1], k: 3, project: guided-backprop}
outputs: {figures: [png, svg], tables: [csv]}
`)
}

// The layers' units of an experiment: one unit of work each, after the
// maps; their folder holds what units.ScanLayer and units.Project give
// (the files of saliency units); a run killed in the middle of a scan
// resumes from its checkpoint, and three shards write the same bytes; the
// report shows them.
func TestLayers(t *testing.T) {
	p := newTestPlan(t, layersExperiment(t))
	all := p.Units()
	// 2 batches of maps, then the two layers.
	if len(all) != 4 || all[2].Kind != "units" || all[2].Layer != 0 || all[3].Layer != 1 {
		t.Fatalf("units %+v", all)
	}
	if got := p.UnitPath(all[2]); got != filepath.Join("layers", "fmnist_vgg-conv2_1", "units") {
		t.Errorf("unit path %s", got)
	}
	conv, fc := p.Layers[0], p.Layers[1]
	if conv.Field != "10×10 /2" || !slices.Equal(conv.Channels, []int{0, 1, 2, 5}) || conv.Data.Count != 200 || conv.Data.Seed != 3 || conv.Batch != 64 || conv.Project != "deconvnet" {
		t.Errorf("plan of conv2_1: %+v", conv)
	}
	if fc.Field != "whole image" || fc.Data.Count != 4 || fc.K != 3 || fc.Project != "guided-backprop" {
		t.Errorf("plan of fc1: %+v", fc)
	}
	ctx := context.Background()
	whole := t.TempDir()
	st, err := p.Run(ctx, RunOptions{Out: whole})
	if err != nil || st.Computed != 4 {
		t.Fatalf("run: %+v, %v", st, err)
	}
	want := files(t, whole)

	// The folder is what the units package computes.
	om := p.models[0]
	ims, err := LoadImages(Data{Source: "fashion-mnist", Path: FashionMNISTDir, Count: 200, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	src := ims.Source(om.spec)
	scan, err := units.ScanLayer(ctx, om.fl, src, units.Options{Layer: "conv2_1", Channels: []int{0, 1, 2, 5}, K: 4})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("layers", "fmnist_vgg-conv2_1")
	var idx units.Index
	if err := json.Unmarshal(want[filepath.Join(dir, "units.json")], &idx); err != nil {
		t.Fatal(err)
	}
	if idx.Images != 200 || idx.K != 4 || idx.Project != "deconvnet" || idx.Field.String() != "10×10 /2" || idx.Data != "fashion-mnist (200 drawn with seed 3)" || len(idx.Channels) != 4 {
		t.Errorf("units.json: %+v", idx)
	}
	proj, err := savedmodels.ReadNpy(filepath.Join(whole, dir, "projections.npy"))
	if err != nil {
		t.Fatal(err)
	}
	per := proj.Len() / 4
	for i, ch := range scan.Channels {
		if idx.Channels[i].Channel != ch || !reflect.DeepEqual(idx.Channels[i].Top, scan.Top[i]) {
			t.Errorf("channel %d: units.json's top differs from the scan's", ch)
		}
		pr, err := units.Project(ctx, om.fl, src, scan, i, "deconvnet")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(proj.Data[i*per:(i+1)*per], pr.Maps.Data) {
			t.Errorf("channel %d: projections.npy differs from Project's", ch)
		}
		g, err := units.Figure(scan, pr, "deconvnet")
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"png", "svg"} {
			path := filepath.Join(t.TempDir(), "fig."+f)
			if err := g.Save(path); err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(path)
			name := filepath.Join(dir, strings.TrimSuffix(idx.Channels[i].Figure, ".png")+"."+f)
			if !bytes.Equal(want[name], b) {
				t.Errorf("%s differs from Figure's", name)
			}
		}
	}
	for _, f := range []string{"rows.png", "rows.svg", "patches.npy", "scan.json", "channel_005.svg"} {
		if _, ok := want[filepath.Join(dir, f)]; !ok {
			t.Errorf("%s lacks %s", dir, f)
		}
	}
	if _, ok := want[filepath.Join("layers", "fmnist_vgg-fc1", "rows.png")]; !ok {
		t.Error("no rows figure of fc1")
	}

	// A second run finds everything.
	if st, err := p.Run(ctx, RunOptions{Out: whole}); err != nil || st.Computed != 0 || st.Found != 4 {
		t.Errorf("second run: %+v, %v", st, err)
	}

	// Killed in the middle of the scan of conv2_1, after its first
	// checkpoint (64 images) and a half-written figure: the next run goes
	// on from the checkpoint, to the same bytes.
	killed := t.TempDir()
	for name, b := range want {
		if !strings.HasPrefix(name, dir) {
			os.MkdirAll(filepath.Dir(filepath.Join(killed, name)), 0o755)
			os.WriteFile(filepath.Join(killed, name), b, 0o644)
		}
	}
	var first *units.Scan
	cut := units.Options{Layer: "conv2_1", Data: "fashion-mnist (200 drawn with seed 3)", Channels: []int{0, 1, 2, 5}, K: 4, CheckpointEvery: 64,
		Checkpoint: func(s *units.Scan) error {
			first = s
			return errors.New("killed")
		}}
	if _, err := units.ScanLayer(ctx, om.fl, src, cut); err == nil || first == nil || first.Images != 64 {
		t.Fatalf("the cut scan: %v", err)
	}
	os.MkdirAll(filepath.Join(killed, dir), 0o755)
	if err := reports.WriteJSON(filepath.Join(killed, dir, "scan.json"), first); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(killed, dir, ".channel_000.png.1234.tmp"), []byte("half"), 0o644)
	var scans []string
	st, err = p.Run(ctx, RunOptions{Out: killed, Progress: func(done, total int, unit string) {
		if _, s, ok := strings.Cut(unit, ": scan "); ok {
			scans = append(scans, s)
		}
	}})
	if err != nil || st.Computed != 1 {
		t.Fatalf("resumed run: %+v, %v", st, err)
	}
	if len(scans) == 0 || scans[0] != "128/200" {
		t.Errorf("the resumed scan reported %v; want it to start after the checkpoint's 64 images (128/200)", scans)
	}
	sameFiles(t, "killed and resumed", want, files(t, killed))
	if _, err := os.Stat(filepath.Join(killed, dir, ".channel_000.png.1234.tmp")); err == nil {
		t.Error("the killed run's temporary file is left")
	}

	// Three shards, in reverse order.
	three := t.TempDir()
	for k := 3; k >= 1; k-- {
		if _, err := p.Run(ctx, RunOptions{Out: three, Shard: Shard{K: k, N: 3}}); err != nil {
			t.Fatal(err)
		}
	}
	sameFiles(t, "3 shards", want, files(t, three))

	// The report: its section embeds the rows figures and links each
	// channel's figure; the sharded run's report is the same bytes.
	if _, err := analysis.WriteReport(whole, analysis.ReportOptions{}); err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(filepath.Join(whole, "index.md"))
	for _, w := range []string{"## What the layers look for",
		"fmnist_vgg, layer conv2_1: 4 channels, each with its top 4 of 200 images drawn with seed 3 from the Fashion-MNIST test set, projected with DeconvNet (Zeiler & Fergus 2014). The receptive field of the layer's units is 10×10 /2",
		"(layers/fmnist_vgg-conv2_1/rows.png)", "[SVG](layers/fmnist_vgg-conv2_1/rows.svg)", "[ch 5](layers/fmnist_vgg-conv2_1/channel_005.png)",
		"fmnist_vgg, layer fc1: 2 channels, each with its top 3 of 4 images drawn with seed 3 from the Fashion-MNIST test set, projected with guided backprop (Springenberg et al. 2015). The receptive field of the layer's units is whole image",
		"## Model fmnist_vgg", "## Tables"} {
		if !bytes.Contains(md, []byte(w)) {
			t.Errorf("index.md lacks %q", w)
		}
	}
	html, _ := os.ReadFile(filepath.Join(whole, "index.html"))
	rows, _ := os.ReadFile(filepath.Join(whole, dir, "rows.png"))
	if !bytes.Contains(html, []byte(`<a href="layers/fmnist_vgg-conv2_1/rows.png"><img src="data:image/png;base64,`)) || !bytes.Contains(html, []byte(base64.StdEncoding.EncodeToString(rows))) {
		t.Error("index.html does not embed the rows figure")
	}
	var man map[string]any
	if b, _ := os.ReadFile(filepath.Join(whole, "manifest.json")); json.Unmarshal(b, &man) != nil || man["layers"] == nil {
		t.Error("manifest.json lacks the layers")
	}
	if _, err := analysis.WriteReport(three, analysis.ReportOptions{}); err != nil {
		t.Fatal(err)
	}
	sameFiles(t, "the reports of one run and of 3 shards", files(t, whole), files(t, three))
}

// An experiment of models and units alone: no images, maps or tables; the
// layer's units and the report's section.
func TestLayersOnly(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "only.yaml", `name: only
models:
  - path: `+zoo("fmnist_vgg")+`
units:
  - {model: fmnist_vgg, layer: conv1_2, channels: 7, k: 2, project: gradient, data: {source: fashion-mnist, count: 50}}
outputs: {figures: [png]}
`)
	p := newTestPlan(t, path)
	if len(p.Images) != 0 || len(p.Units()) != 1 {
		t.Fatalf("%d images, units %+v", len(p.Images), p.Units())
	}
	if cal, err := p.Calibrate(context.Background(), runfolder.All); err != nil || cal != nil {
		t.Errorf("calibrate: %v, %v", cal, err)
	}
	out := t.TempDir()
	if _, err := p.Run(context.Background(), RunOptions{Out: out}); err != nil {
		t.Fatal(err)
	}
	if _, err := analysis.WriteReport(out, analysis.ReportOptions{}); err != nil {
		t.Fatal(err)
	}
	got := files(t, out)
	for name := range got {
		if strings.HasPrefix(name, "inputs") || strings.HasPrefix(name, "units") || strings.HasPrefix(name, "tables") || strings.HasPrefix(name, "figures") {
			t.Errorf("a run without methods wrote %s", name)
		}
	}
	md := string(got["index.md"])
	for _, w := range []string{"1 models, the channels of 1 layer; seed 1; 1 units.", "## What the layers look for", "fmnist_vgg, layer conv1_2: 1 channel, each with its top 2 of 50 images",
		"projected with the gradient", "(layers/fmnist_vgg-conv1_2/rows.png)"} {
		if !strings.Contains(md, w) {
			t.Errorf("index.md lacks %q:\n%s", w, md)
		}
	}
	if strings.Contains(md, "## Tables") || strings.Contains(md, "## Model") {
		t.Errorf("index.md of a run without methods:\n%s", md)
	}
	p2, err := savedmodels.ReadNpy(filepath.Join(out, "layers", "fmnist_vgg-conv1_2", "projections.npy"))
	if err != nil || !slices.Equal(p2.Shape, []int{1, 2, 5, 5, 1}) {
		t.Errorf("projections %v: %v", p2.Shape, err)
	}
}

// The layer and the channels are checked against the model when the plan
// is made, at the line of their key.
func TestLayersPlanProblems(t *testing.T) {
	dir := t.TempDir()
	vgg := zoo("fmnist_vgg")
	for i, c := range []struct{ entry, want string }{
		{"  - model: fmnist_vgg\n    layer: conv9\n", `only.yaml:6:12: units: fmnist_vgg: layer "conv9" not found`},
		{"  - model: fmnist_vgg\n    layer: conv2_2\n    channels: 30-40\n", `only.yaml:7:15: units: fmnist_vgg: channel 32 is out of range: layer conv2_2 has 32 channels (0 to 31)`},
		{"  - {model: fmnist_vgg, layer: fc1, channels: [500]}\n", `only.yaml:5:47: units: fmnist_vgg: channel 500 is out of range: layer fc1 has 128 channels`},
	} {
		path := writeFile(t, dir, "only.yaml", "name: only\nmodels:\n  - path: "+vgg+"\nunits:\n"+c.entry+"data: {source: fashion-mnist, count: 2}\n")
		e, err := Load(path)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		p, err := NewPlan(context.Background(), e, PlanOptions{})
		var inv *InvalidError
		if err == nil {
			p.Close()
		}
		if !errors.As(err, &inv) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d: %v\nwant %q", i, err, c.want)
		}
	}
}

// The run folder's names of a layer's files are units' own.
func TestLayerFilesAreUnits(t *testing.T) {
	if runfolder.LayerIndexFile != units.IndexFile || runfolder.LayerRowsPerFigure != units.RowsPerFigure {
		t.Errorf("runfolder has %s and %d channels per figure; units has %s and %d",
			runfolder.LayerIndexFile, runfolder.LayerRowsPerFigure, units.IndexFile, units.RowsPerFigure)
	}
}
