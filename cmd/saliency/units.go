package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/saliencykit/saliency/experiments"
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
		mf.registerConv(fs)
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
			if o.chans, err = units.ParseChannels(o.channels); err != nil {
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
	bar := newProgress(c.stderr, "units", src.Len())
	var pbar *progress
	do := units.DirOptions{
		Options: units.Options{Layer: o.layer, Data: fmt.Sprintf("%s, count %d, seed %d", o.data, o.count, o.seed), Channels: o.chans, K: o.k, Batch: o.batch,
			Progress: func(done, total int) { bar.set(done, total, "scan") }},
		Project: o.project, Formats: []string{o.figure}, Model: o.model, Data: o.data, Saliency: version,
		Channel: func(done, total, ch int) {
			if pbar == nil {
				bar.finish()
				pbar = newProgress(c.stderr, "units", total)
			}
			pbar.set(done, total, fmt.Sprintf("channel %d", ch))
		},
	}
	idx, err := units.WriteDir(context.Background(), op.Flat, src, o.out, do)
	bar.finish()
	if pbar != nil {
		pbar.finish()
	}
	if err != nil {
		return err
	}
	if len(idx.Rows) > 0 {
		fmt.Fprintf(c.stdout, "%s\n", filepath.Join(o.out, idx.Rows[0]))
	}
	fmt.Fprintf(c.stdout, "%d channels of %s over %d images (receptive field %s), top %d each, in %s\n", len(idx.Channels), idx.Layer, idx.Images, idx.Field, idx.K, o.out)
	return nil
}
