package experiments

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// Randomization is the model-parameter randomization test of Adebayo et al.
// (2018): the weights of the model's layers are replaced, from the logits
// towards the input (cascading: step k randomizes the k top layers) or one
// layer at a time (independent), and the maps of each step are compared with
// the original ones. Nothing is rebuilt: the weights are fed
// (tfgraph.Flat.WithWeights).
type Randomization struct {
	// Distribution of the new weights:
	//   reinit       (default, Adebayo's) kernels drawn like Keras' default
	//                glorot_uniform, U(±√(6/(fan_in+fan_out))); biases and
	//                batch-norm shifts 0, batch-norm scales 1
	//   gaussian     N(0, σ²) with σ the standard deviation of the weight it
	//                replaces
	//   permutation  the weight's own values, shuffled
	Distribution string
	// BatchNorm: "randomize" (default) treats scale and shift like other
	// weights; "keep" leaves them. Moving means and variances are statistics
	// of the data, not parameters, and are always kept.
	BatchNorm string
	Seed      uint64
}

// Step is one model of the test: the layers randomized so far and the
// weights that replace theirs.
type Step struct {
	// Name is "cascading/<layer>" or "independent/<layer>".
	Name   string
	Layers []string
	Values map[string]*tensor.Tensor
}

// RandomizableLayers lists the layers with weights, from the logits towards
// the input (the order of cascading randomization); nested models count
// through their own layers, aliases not at all, and a shared layer once, by
// its Keras name (its calls read the same weights).
func RandomizableLayers(fl *tfgraph.Flat) []tfgraph.Layer {
	var out []tfgraph.Layer
	ls := fl.Layers()
	shared := map[string]bool{}
	for i := len(ls) - 1; i >= 0; i-- {
		l := ls[i]
		if l.Alias != "" || len(l.Weights) == 0 {
			continue
		}
		base := l.Owner() // an output of a nested model with several is the model (or its call)
		container := false
		for _, m := range ls {
			container = container || strings.HasPrefix(m.Name, base+"/")
		}
		if container {
			continue
		}
		if l.Shared != "" {
			if shared[l.Shared] {
				continue
			}
			shared[l.Shared] = true
			l.Name = l.Shared
		}
		out = append(out, l)
	}
	return out
}

// Steps builds the models of one mode ("cascading" or "independent"). Each
// layer's new weights are drawn once, from a stream seeded by (Seed, the
// layer's position), so the cascading step k and the independent step of
// the same layer use the same values, and a step does not depend on which
// others are run.
func (r Randomization) Steps(fl *tfgraph.Flat, mode string) ([]Step, error) {
	recipes, err := r.recipes(fl, mode)
	if err != nil {
		return nil, err
	}
	d := newDraws(r, fl)
	steps := make([]Step, len(recipes))
	for i, rc := range recipes {
		vals, err := d.values(rc.layers)
		if err != nil {
			return nil, err
		}
		steps[i] = Step{Name: rc.name, Layers: rc.names, Values: vals}
	}
	return steps, nil
}

// recipe is a step without its values: its name, the layers it randomizes
// (names), and their positions in RandomizableLayers, whose draws make its
// values.
type recipe struct {
	name   string
	names  []string
	layers []int
}

// withDefaults fills in the default distribution and batch-norm handling.
func (r Randomization) withDefaults() Randomization {
	if r.Distribution == "" {
		r.Distribution = "reinit"
	}
	if r.BatchNorm == "" {
		r.BatchNorm = "randomize"
	}
	return r
}

// recipes lays out the steps of one mode without drawing any weight: a
// plan holds these, and draws a step's weights when its units run.
func (r Randomization) recipes(fl *tfgraph.Flat, mode string) ([]recipe, error) {
	r = r.withDefaults()
	switch r.Distribution {
	case "reinit", "gaussian", "permutation":
	default:
		return nil, fmt.Errorf("experiments: randomization distribution %q: want reinit, gaussian or permutation", r.Distribution)
	}
	if r.BatchNorm != "randomize" && r.BatchNorm != "keep" {
		return nil, fmt.Errorf("experiments: randomization batchnorm %q: want randomize or keep", r.BatchNorm)
	}
	layers := RandomizableLayers(fl)
	var out []recipe
	switch mode {
	case modeCascading, modeBottomUp:
		// Bottom-up cascades from the input towards the logits (Binder et
		// al. 2023 argue the order changes the verdict).
		var names []string
		var idx []int
		for k := range layers {
			i := k
			if mode == modeBottomUp {
				i = len(layers) - 1 - k
			}
			names = append(names, layers[i].Name)
			idx = append(idx, i)
			out = append(out, recipe{name: mode + "/" + layers[i].Name, names: slices.Clone(names), layers: slices.Clone(idx)})
		}
	case modeIndependent:
		for i, l := range layers {
			out = append(out, recipe{name: modeIndependent + "/" + l.Name, names: []string{l.Name}, layers: []int{i}})
		}
	default:
		return nil, fmt.Errorf("experiments: randomization mode %q: want cascading, bottom-up or independent", mode)
	}
	return out, nil
}

// draws are the new weights of each randomizable layer of a model under one
// Randomization, drawn on first use and kept: the memory of one model's
// weights, whichever the steps, modes and repeats that use them.
type draws struct {
	r      Randomization
	fl     *tfgraph.Flat
	layers []tfgraph.Layer
	drawn  []map[string]*tensor.Tensor
}

func newDraws(r Randomization, fl *tfgraph.Flat) *draws {
	layers := RandomizableLayers(fl)
	return &draws{r: r.withDefaults(), fl: fl, layers: layers, drawn: make([]map[string]*tensor.Tensor, len(layers))}
}

// layer draws (once) the new weights of layer i, from a stream seeded by
// (Seed, i, the weight's position in the layer).
func (d *draws) layer(i int) (map[string]*tensor.Tensor, error) {
	if d.drawn[i] != nil {
		return d.drawn[i], nil
	}
	vals := map[string]*tensor.Tensor{}
	for j, w := range d.layers[i].Weights {
		if !d.replaces(w) {
			continue
		}
		kind := weightKind(w)
		old, err := d.fl.WeightValue(w)
		if err != nil {
			return nil, err
		}
		rng := rand.New(rand.NewPCG(d.r.Seed, uint64(i)<<16|uint64(j)))
		vals[w] = d.r.draw(old, kind, rng)
	}
	d.drawn[i] = vals
	return vals, nil
}

// replaces says whether the draws replace weight w of a randomizable layer:
// not a statistic of the data, nor a batch-norm scale or shift they keep.
func (d *draws) replaces(w string) bool {
	kind := weightKind(w)
	return kind != "statistic" && !(d.r.BatchNorm == "keep" && (kind == "bn-scale" || kind == "bn-shift"))
}

// names are the weights that a step randomizing the given layers replaces,
// without drawing them.
func (d *draws) names(layers []int) []string {
	var out []string
	for _, i := range layers {
		for _, w := range d.layers[i].Weights {
			if d.replaces(w) {
				out = append(out, w)
			}
		}
	}
	return out
}

// values are the weights of a step that randomizes the given layers.
func (d *draws) values(layers []int) (map[string]*tensor.Tensor, error) {
	if len(layers) == 1 {
		return d.layer(layers[0])
	}
	out := map[string]*tensor.Tensor{}
	for _, i := range layers {
		vals, err := d.layer(i)
		if err != nil {
			return nil, err
		}
		for k, v := range vals {
			out[k] = v
		}
	}
	return out, nil
}

// weightKind classifies a variable by the last component of its name, as
// Keras names them (a SavedModel may number them: "kernel_1").
func weightKind(name string) string {
	last := name[strings.LastIndexByte(name, '/')+1:]
	if i := strings.LastIndexByte(last, '_'); i > 0 {
		if _, err := strconv.Atoi(last[i+1:]); err == nil {
			last = last[:i]
		}
	}
	switch last {
	case "moving_mean", "moving_variance", "count", "mean", "variance":
		return "statistic"
	case "gamma":
		return "bn-scale"
	case "beta":
		return "bn-shift"
	case "bias":
		return "bias"
	}
	return "kernel"
}

func (r Randomization) draw(old *tensor.Tensor, kind string, rng *rand.Rand) *tensor.Tensor {
	out := tensor.New(old.Shape...)
	switch r.Distribution {
	case "permutation":
		copy(out.Data, old.Data)
		rng.Shuffle(len(out.Data), func(i, j int) { out.Data[i], out.Data[j] = out.Data[j], out.Data[i] })
	case "gaussian":
		var m, s float64
		for _, v := range old.Data {
			m += float64(v)
		}
		m /= float64(len(old.Data))
		for _, v := range old.Data {
			s += (float64(v) - m) * (float64(v) - m)
		}
		sd := math.Sqrt(s / float64(len(old.Data)))
		for i := range out.Data {
			out.Data[i] = float32(sd * rng.NormFloat64())
		}
	default: // reinit
		switch kind {
		case "bias", "bn-shift":
			// zeros
		case "bn-scale":
			for i := range out.Data {
				out.Data[i] = 1
			}
		default:
			in, fanOut := fans(old.Shape)
			limit := math.Sqrt(6 / float64(in+fanOut))
			for i := range out.Data {
				out.Data[i] = float32((2*rng.Float64() - 1) * limit)
			}
		}
	}
	return out
}

// fans are Keras' fan_in and fan_out of a kernel: for a convolution
// [kh,kw,in,out] the receptive field times in and times out; for a dense
// [in,out] the two dimensions.
func fans(shape []int) (int, int) {
	switch len(shape) {
	case 0:
		return 1, 1
	case 1:
		return shape[0], shape[0]
	case 2:
		return shape[0], shape[1]
	}
	field := 1
	for _, d := range shape[:len(shape)-2] {
		field *= d
	}
	return field * shape[len(shape)-2], field * shape[len(shape)-1]
}
