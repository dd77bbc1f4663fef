package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/saliencykit/saliency/experiments"
	"github.com/saliencykit/saliency/reports"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
	"github.com/saliencykit/saliency/units"
)

var unitsCmd = &command{
	name:  "units",
	args:  "-model DIR -layer NAME -out DIR [-data SOURCE] [flags]",
	short: "what each channel of a layer responds to: top-k images of a data set and their projections (Zeiler & Fergus)",
	long: `Units streams a data set through the model once and keeps, for every channel
of -layer, the -k images of its strongest activation (its maximum over the
positions; the neuron itself on a dense layer), ties to the earlier image.
Each is cut to the receptive field of that activation and projected back to
the input with -project (deconvnet as Zeiler & Fergus, guided-backprop as
Springenberg et al., or gradient), every other activation of the layer set
to zero. It writes into -out:

channel_<c>.png     Zeiler & Fergus' figure of channel c: the projections
                    (left) beside the image patches (right), strongest first
rows.png            Springenberg et al.'s figure: one row per channel
                    (rows_<i>.png, 32 channels each, for more)
projections.npy     the projections [channels,k,h,w,C] in the field's box
                    (-project none: the scan only, units.json and scan.json)
patches.npy         the image patches [channels,k,h,w,C] in [0,1]
units.json          per channel: image ids, values, positions and boxes
scan.json           the scan's state; a scan killed is resumed from it

-data is fashion-mnist (Debian's dataset-fashion-mnist, the test split),
fashion-mnist:DIR, folder:DIR (or a folder's path), or scatter:FILE.npz;
-count draws that many images with -seed (default: all, in order).`,
	flags: func(fs *flag.FlagSet) func(*ctx, []string) error {
		var mf modelFlags
		mf.register(fs)
		var o unitsOptions
		fs.StringVar(&o.model, "model", "", "SavedModel folder (required)")
		fs.StringVar(&o.layer, "layer", "", "Keras layer whose channels are shown (required; see saliency inspect)")
		fs.StringVar(&o.out, "out", "", "output folder (required; created)")
		fs.StringVar(&o.data, "data", "fashion-mnist", "data set: fashion-mnist, fashion-mnist:DIR, folder:DIR or scatter:FILE.npz")
		fs.IntVar(&o.count, "count", 0, "images drawn from the data set (0: all)")
		fs.Uint64Var(&o.seed, "seed", 0, "seed of the draw of -count images")
		fs.IntVar(&o.k, "k", units.DefaultK, fmt.Sprintf("top activations kept per channel (1 to %d)", units.MaxK))
		fs.StringVar(&o.project, "project", "deconvnet", "projection: "+strings.Join(units.ProjectorNames(), ", ")+", or none (the scan only: units.json)")
		fs.StringVar(&o.channels, "channels", "", "channels shown, e.g. 0-15,20 (default: all)")
		fs.IntVar(&o.batch, "batch", 64, "images per forward run of the scan (1 to 1024)")
		fs.StringVar(&o.figure, "figure", "png", "format of the figures: png, svg or pdf")
		return func(c *ctx, args []string) error {
			if o.model == "" || o.out == "" || o.layer == "" {
				return usagef("-model, -layer and -out are required")
			}
			if len(args) > 0 {
				return usagef("takes no arguments, got %q", args)
			}
			if o.k < 1 || o.k > units.MaxK {
				return usagef("-k must be 1 to %d, got %d", units.MaxK, o.k)
			}
			if o.batch < 1 || o.batch > 1024 {
				return usagef("-batch must be 1 to 1024, got %d", o.batch)
			}
			if o.count < 0 {
				return usagef("-count must be ≥ 0, got %d", o.count)
			}
			if _, ok := units.Projectors[o.project]; !ok && o.project != "none" {
				return usagef("-project is %s or none, not %q", strings.Join(units.ProjectorNames(), ", "), o.project)
			}
			if o.figure != "png" && o.figure != "svg" && o.figure != "pdf" {
				return usagef("-figure is png, svg or pdf, not %q", o.figure)
			}
			var err error
			if o.chans, err = parseChannels(o.channels); err != nil {
				return usagef("-channels: %v", err)
			}
			if o.src, err = parseData(o.data); err != nil {
				return usagef("-data: %v", err)
			}
			return unitsRun(c, &mf, &o)
		}
	},
}

type unitsOptions struct {
	model, layer, out, data, project, channels, figure string
	count, k, batch                                    int
	seed                                               uint64
	chans                                              []int
	src                                                experiments.Data
}

// parseChannels reads "0-15,20".
func parseChannels(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var out []int
	seen := map[int]bool{}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, fmt.Errorf("%q is not a channel or a range a-b", part)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("%q is not a range a-b with a ≤ b", part)
			}
		}
		if b-a > 1<<16 {
			return nil, fmt.Errorf("%q: too many channels", part)
		}
		for ch := a; ch <= b; ch++ {
			if !seen[ch] {
				seen[ch] = true
				out = append(out, ch)
			}
		}
	}
	return out, nil
}

// parseData reads -data.
func parseData(s string) (experiments.Data, error) {
	src, path, _ := strings.Cut(s, ":")
	switch src {
	case "fashion-mnist", "folder", "scatter":
		if src != "fashion-mnist" && path == "" {
			return experiments.Data{}, fmt.Errorf("%s needs a path: %s:PATH", src, src)
		}
		return experiments.Data{Source: src, Path: path}, nil
	}
	if st, err := os.Stat(s); err == nil && st.IsDir() {
		return experiments.Data{Source: "folder", Path: s}, nil
	}
	return experiments.Data{}, fmt.Errorf("%q is not fashion-mnist, fashion-mnist:DIR, folder:DIR, scatter:FILE.npz or a folder", s)
}

// unitsIndex is units.json.
type unitsIndex struct {
	Model       string                 `json:"model"`
	Layer       string                 `json:"layer"`
	Tensor      string                 `json:"tensor"`
	Field       tfgraph.ReceptiveField `json:"receptive_field"`
	Data        string                 `json:"data"`
	Images      int                    `json:"images"`
	K           int                    `json:"k"`
	Project     string                 `json:"projection"`
	Patch       [2]int                 `json:"patch_size"`
	Channels    []unitsChannel         `json:"channels"`
	Projections string                 `json:"projections,omitempty"`
	Patches     string                 `json:"patches,omitempty"`
	Rows        []string               `json:"rows,omitempty"`
	Saliency    string                 `json:"saliency_version"`
	TensorFlow  string                 `json:"tensorflow_version"`
}

type unitsChannel struct {
	Channel int                `json:"channel"`
	Figure  string             `json:"figure,omitempty"`
	Top     []units.Activation `json:"top"`
}

// rowsPerFigure bounds Springenberg's figure: more channels go to several.
const rowsPerFigure = 32

func unitsRun(c *ctx, mf *modelFlags, o *unitsOptions) error {
	op, err := mf.loadImages(c, "units", o.model)
	if err != nil {
		return err
	}
	defer op.Model.Close()
	if _, err := op.Flat.Layer(o.layer); err != nil {
		return fmt.Errorf("-layer: %w", err)
	}
	d := o.src
	d.Count, d.Seed = o.count, o.seed
	ims, err := experiments.LoadImages(d)
	if err != nil {
		return fmt.Errorf("-data %s: %w", o.data, err)
	}
	src := ims.Source(op.Spec)
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	statePath := filepath.Join(o.out, "scan.json")
	uo := units.Options{Layer: o.layer, Data: fmt.Sprintf("%s, count %d, seed %d", o.data, o.count, o.seed), Channels: o.chans, K: o.k, Batch: o.batch,
		Checkpoint: func(s *units.Scan) error { return reports.WriteJSON(statePath, s) }}
	if raw, err := os.ReadFile(statePath); err == nil {
		var prev units.Scan
		if err := json.Unmarshal(raw, &prev); err != nil {
			return fmt.Errorf("%s: %v (delete it to scan anew)", statePath, err)
		}
		uo.Resume = &prev
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	bar := newProgress(c.stderr, "units", src.Len())
	uo.Progress = func(done, total int) { bar.set(done, total, "scan") }
	ctx := context.Background()
	scan, err := units.ScanLayer(ctx, op.Flat, src, uo)
	if err != nil {
		bar.finish()
		if uo.Resume != nil && strings.Contains(err.Error(), "the scan to resume") {
			return fmt.Errorf("%s: %w (delete it, or use another -out)", statePath, err)
		}
		return err
	}
	if err := reports.WriteJSON(statePath, scan); err != nil {
		bar.finish()
		return err
	}
	bar.finish()
	h, w, cin := op.Spec.Height, op.Spec.Width, op.Spec.Channels
	ph, pw := scan.PatchSize(h, w)
	idx := unitsIndex{Model: o.model, Layer: scan.Layer, Tensor: scan.Tensor, Field: scan.Field, Data: o.data, Images: scan.Images,
		K: scan.K, Project: o.project, Patch: [2]int{ph, pw}, Projections: "projections.npy", Patches: "patches.npy",
		Saliency: version, TensorFlow: tfgraph.Version()}
	nc := len(scan.Channels)
	if o.project == "none" {
		idx.Projections, idx.Patches = "", ""
		for i, ch := range scan.Channels {
			idx.Channels = append(idx.Channels, unitsChannel{Channel: ch, Top: scan.Top[i]})
		}
		if err := reports.WriteJSON(filepath.Join(o.out, "units.json"), idx); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%d channels of %s over %d images (receptive field %s), top %d each, in %s\n", nc, scan.Layer, scan.Images, scan.Field, scan.K, o.out)
		return nil
	}
	allMaps := tensor.New(nc, scan.K, ph, pw, cin)
	allPatches := tensor.New(nc, scan.K, ph, pw, cin)
	per := scan.K * ph * pw * cin
	var ps []*units.Projection
	pbar := newProgress(c.stderr, "units", nc)
	for i, ch := range scan.Channels {
		pbar.begin(fmt.Sprintf("channel %d", ch))
		p, err := units.Project(ctx, op.Flat, src, scan, i, o.project)
		if err != nil {
			pbar.finish()
			return err
		}
		if p.Maps != nil {
			copy(allMaps.Data[i*per:], p.Maps.Data)
			copy(allPatches.Data[i*per:], p.Patches.Data)
		}
		ps = append(ps, p)
		e := unitsChannel{Channel: ch, Top: p.Top, Figure: fmt.Sprintf("channel_%03d.%s", ch, o.figure)}
		g, err := units.Figure(scan, p, o.project)
		if err != nil {
			pbar.finish()
			return err
		}
		if err := g.Save(filepath.Join(o.out, e.Figure)); err != nil {
			pbar.finish()
			return err
		}
		idx.Channels = append(idx.Channels, e)
		pbar.end()
	}
	pbar.finish()
	for lo := 0; lo < nc; lo += rowsPerFigure {
		hi := min(lo+rowsPerFigure, nc)
		name := "rows." + o.figure
		if nc > rowsPerFigure {
			name = fmt.Sprintf("rows_%d.%s", lo/rowsPerFigure, o.figure)
		}
		g, err := units.Rows(scan, ps[lo:hi], o.project)
		if err != nil {
			return err
		}
		if err := g.Save(filepath.Join(o.out, name)); err != nil {
			return err
		}
		idx.Rows = append(idx.Rows, name)
	}
	if err := reports.WriteNpy(filepath.Join(o.out, idx.Projections), allMaps); err != nil {
		return err
	}
	if err := reports.WriteNpy(filepath.Join(o.out, idx.Patches), allPatches); err != nil {
		return err
	}
	if err := reports.WriteJSON(filepath.Join(o.out, "units.json"), idx); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%s\n", filepath.Join(o.out, idx.Rows[0]))
	fmt.Fprintf(c.stdout, "%d channels of %s over %d images (receptive field %s), top %d each, in %s\n", nc, scan.Layer, scan.Images, scan.Field, scan.K, o.out)
	return nil
}
