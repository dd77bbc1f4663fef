package experiments

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/saliencykit/saliency/experiments/runfolder"
	"github.com/saliencykit/saliency/units"
)

// The layers' units (the units: key): what the channels of a layer respond
// to in a data set, as Zeiler & Fergus (2014) and Springenberg et al. (2015)
// show it. Each entry is one unit of work that writes the folder
// layers/<model>-<layer>/ with units.WriteDir, the files of 'saliency
// units'. Its scan is resumed from that folder's scan.json, so a run
// killed in the middle of a long scan goes on from its last checkpoint.

// planData is a data section as plan.json records it: paths relative to
// the experiment file.
func planData(e *Experiment, d Data) PlanData {
	return PlanData{Source: d.Source, Path: relTo(e.Dir, d.Path), Count: d.Count, Seed: d.Seed}
}

// layerData is the data set of entry li of units: its own, or the
// experiment's.
func (p *Plan) layerData(li int) Data {
	if d := p.Exp.Units[li].Data; d != nil {
		return *d
	}
	return p.Exp.Data
}

// planLayers resolves the entries of units: against the models, which are
// open: the layer, its receptive field and the channels are checked at the
// line of their key.
func (p *Plan) planLayers() []Problem {
	var problems []Problem
	count := map[string]int{}
	for li, u := range p.Exp.Units {
		at := func(key, format string, a ...any) {
			pr, ok := u.at[key]
			if !ok {
				pr = u.at[""]
			}
			pr.Msg = fmt.Sprintf("units: %s: ", u.Model) + fmt.Sprintf(format, a...)
			problems = append(problems, pr)
		}
		mi := p.ModelIndex(u.Model)
		if mi < 0 {
			continue // the schema named the model
		}
		fl := p.models[mi].fl
		l, err := fl.Layer(u.Layer)
		if err != nil {
			msg := strings.TrimPrefix(err.Error(), "tfgraph: ")
			at("layer", "%s", strings.TrimPrefix(msg, p.models[mi].m.Dir+": "))
			continue
		}
		field, err := fl.ReceptiveField(l.Output)
		if err != nil {
			at("layer", "layer %s: its receptive field: %s", u.Layer, strings.TrimPrefix(err.Error(), "tfgraph: "))
			continue
		}
		shape := fl.Shape(l.Output)
		if len(shape) < 2 {
			at("layer", "layer %s has output shape %v; want [N,…,C]", u.Layer, shape)
			continue
		}
		chans := u.Channels
		if c := int(shape[len(shape)-1]); c > 0 {
			for _, ch := range chans {
				if ch >= c {
					at("channels", "channel %d is out of range: layer %s has %d channels (0 to %d)", ch, u.Layer, c, c-1)
					break
				}
			}
			if chans == nil {
				for ch := range c {
					chans = append(chans, ch)
				}
			}
		}
		dir := runfolder.SafeName(u.Model + "-" + u.Layer)
		if count[dir]++; count[dir] > 1 {
			dir = fmt.Sprintf("%s-%d", dir, count[dir])
		}
		p.Layers = append(p.Layers, PlanLayer{Dir: dir, Model: u.Model, Layer: l.Name, Data: planData(p.Exp, p.layerData(li)),
			K: u.K, Project: u.Project, Channels: chans, Batch: u.Batch, Field: field.String()})
	}
	return problems
}

// layerImages loads the data set of entry li of units:, once per data set
// (the experiment's images are loaded already when it has methods).
func (p *Plan) layerImages(li int) (*Images, error) {
	d := p.layerData(li)
	if im, ok := p.images[d]; ok {
		return im, nil
	}
	im, err := LoadImages(d)
	if err != nil {
		return nil, err
	}
	p.images[d] = im
	return im, nil
}

// runLayer computes the layer's units of unit u (kind "units") into its
// folder: the scan (resumed from the folder's scan.json), the projections
// and the figures, in the experiment's figure formats, units.json last.
func (p *Plan) runLayer(ctx context.Context, u Unit, out string, progress func(string)) error {
	pl := p.Layers[u.Layer]
	om := p.models[u.Model]
	ims, err := p.layerImages(u.Layer)
	if err != nil {
		return err
	}
	formats := []string{"png"}
	for _, f := range p.Figures {
		if f != "png" {
			formats = append(formats, f)
		}
	}
	name := p.UnitName(u)
	o := units.DirOptions{
		Options: units.Options{Layer: pl.Layer, Channels: pl.Channels, K: pl.K, Batch: pl.Batch,
			Progress: func(done, total int) { progress(fmt.Sprintf("%s: scan %d/%d", name, done, total)) }},
		Project: pl.Project, Formats: formats, Model: p.Models[u.Model].Path, Data: dataName(p.Exp, p.layerData(u.Layer)),
		Saliency: p.Versions["saliency"],
		Channel:  func(done, total, ch int) { progress(fmt.Sprintf("%s: channel %d (%d/%d)", name, ch, done+1, total)) },
	}
	_, err = units.WriteDir(ctx, om.fl, ims.Source(om.spec), filepath.Join(out, p.LayerDir(u.Layer)), o)
	return err
}

// dataName names a data set in units.json as saliency units' -data does
// (paths relative to the experiment file), with the draw.
func dataName(e *Experiment, d Data) string {
	s := d.Source
	if d.Source != "fashion-mnist" || d.Path != FashionMNISTDir {
		s += ":" + relTo(e.Dir, d.Path)
	}
	if d.Count > 0 {
		s += fmt.Sprintf(" (%d drawn with seed %d)", d.Count, d.Seed)
	}
	return s
}
