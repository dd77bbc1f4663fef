package experiments

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/saliencykit/saliency/images"
	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// OpenModel loads a SavedModel with its card (savedmodels.CardFile), when it
// has one, and the preprocessing its images want: the card's, or for a model
// without a card the signature's input size with pixels scaled to [0,1]. The
// card's layers complete the flat graph's (tfgraph.Options.KerasLayers). A
// card whose input shape or class count disagrees with the signature is an
// error (CheckCard; ApplyCardKind checks output.kind once the flat graph is
// built). On error nothing is left open; the caller closes the model.
func OpenModel(dir string, o tfgraph.Options) (*tfgraph.Model, *savedmodels.Card, images.Spec, error) {
	m, card, err := LoadModel(dir, o)
	if err != nil {
		return nil, nil, images.Spec{}, err
	}
	if ins := m.Signature.Inputs; len(ins) != 1 {
		m.Close()
		return nil, nil, images.Spec{}, fmt.Errorf("%s: signature %q has %d inputs (%s); saliency explains models with one image input (another signature: -signature, or the YAML key signature)",
			dir, m.Signature.Name, len(ins), keysOf(ins))
	}
	if outs := m.Signature.Outputs; len(outs) > 1 && o.Output == "" && (card == nil || card.Output.SignatureKey == "") {
		// The first output is not the class scores by any rule: an
		// embedding beside the logits would be explained as classes.
		var list []string
		named := "" // an output named logits: a hint, not a choice
		for _, t := range outs {
			list = append(list, t.String())
			if strings.EqualFold(t.Key, "logits") {
				named = fmt.Sprintf(" (-output %s if the output of that name holds them)", t.Key)
			}
		}
		m.Close()
		return nil, nil, images.Spec{}, fmt.Errorf("%s: signature %q has %d outputs (%s), and nothing says which holds the class scores: give its key with -output%s, the YAML key output, or the card's output.signature_key",
			dir, m.Signature.Name, len(outs), strings.Join(list, "; "), named)
	}
	spec, err := imageSpec(m, card)
	if err == nil {
		err = CheckCard(card, m)
	}
	if err != nil {
		m.Close()
		return nil, nil, images.Spec{}, err
	}
	return m, card, spec, nil
}

// LoadModel is OpenModel without the image preprocessing, for models whose
// input is not an image.
func LoadModel(dir string, o tfgraph.Options) (*tfgraph.Model, *savedmodels.Card, error) {
	card, err := savedmodels.ReadCard(dir)
	if errors.Is(err, savedmodels.ErrNoCard) {
		card, err = nil, nil
	}
	if err != nil {
		if st, statErr := os.Stat(dir); statErr != nil || !st.IsDir() {
			card, err = nil, nil // Load says what is wrong with the folder
		} else {
			return nil, nil, err
		}
	}
	if card != nil && o.Output == "" {
		o.Output = card.Output.SignatureKey
	}
	if card != nil {
		o.KerasLayers = nil
		for _, l := range card.Layers {
			o.KerasLayers = append(o.KerasLayers, tfgraph.KerasLayer{Name: l.Name, Class: l.Class, OutputShape: l.OutputShape, OutputOf: l.OutputOf})
		}
		o.Unnamed = card.Unnamed()
	}
	m, err := tfgraph.Load(dir, &o)
	if err != nil {
		if card != nil && card.Output.SignatureKey != "" && o.Output == card.Output.SignatureKey && strings.Contains(err.Error(), "has no output") {
			return nil, nil, fmt.Errorf("%s: output.signature_key: %w", filepath.Join(dir, savedmodels.CardFile), err)
		}
		return nil, nil, err
	}
	return m, card, nil
}

// imageSpec is the card's preprocessing, or for a model without a card the
// signature's input size with pixels scaled to [0,1].
func imageSpec(m *tfgraph.Model, card *savedmodels.Card) (images.Spec, error) {
	if card != nil {
		return card.ImageSpec(), nil
	}
	in := m.Input()
	if len(in.Shape) != 4 || in.Shape[1] <= 0 || in.Shape[2] <= 0 || in.Shape[3] <= 0 {
		// Another signature may take the images (a serving signature of
		// encoded JPEG bytes beside one of decoded pixels).
		var others []string
		for _, s := range m.Signatures {
			if s.Name == m.Signature.Name || len(s.Inputs) != 1 {
				continue
			}
			if sh := s.Inputs[0].Shape; len(sh) == 4 && sh[1] > 0 && sh[2] > 0 && (sh[3] == 1 || sh[3] == 3) {
				others = append(others, fmt.Sprintf("signature %q takes %s[%d,%d,%d,%d] (-signature %s, or the YAML key signature)", s.Name, s.Inputs[0].DType, sh[0], sh[1], sh[2], sh[3], s.Name))
			}
		}
		hint := ""
		if len(others) > 0 {
			hint = "; " + strings.Join(others, "; ")
		}
		return images.Spec{}, fmt.Errorf("%s: input %s is not an image batch [N,H,W,C] of known size, and there is no %s to say what it wants%s",
			m.Dir, in, filepath.Join(m.Dir, savedmodels.CardFile), hint)
	}
	if c := in.Shape[3]; c != 1 && c != 3 {
		hint := ""
		if in.Shape[1] == 1 || in.Shape[1] == 3 {
			hint = fmt.Sprintf(" (it looks channels-first, NCHW with C=%d, H=%d, W=%d; saliency feeds channels-last images, [N,H,W,C]: export the model with data_format channels_last, or with a transpose at its input)", in.Shape[1], in.Shape[2], in.Shape[3])
		}
		return images.Spec{}, fmt.Errorf("%s: input %s has %d channels; saliency feeds grayscale (1) or RGB (3) images%s", m.Dir, in, c, hint)
	}
	spec := images.Spec{Height: int(in.Shape[1]), Width: int(in.Shape[2]), Channels: int(in.Shape[3])}
	if integerInput(in.DType) {
		// An integer image input takes the pixel values themselves.
		spec.Scale, spec.Whole = 1, true
	}
	return spec, nil
}

// integerInput says whether a signature input dtype is an integer type (an
// image model that takes uint8 pixels).
func integerInput(dtype string) bool {
	switch dtype {
	case "uint8", "int8", "uint16", "int16", "int32", "int64":
		return true
	}
	return false
}

// Opened is a model opened for explaining images, with what was assumed
// about it and what may make its maps or classes wrong.
type Opened struct {
	Model *tfgraph.Model
	Flat  *tfgraph.Flat
	Card  *savedmodels.Card
	Spec  images.Spec
	// Notes say what was assumed for a model without a card.
	Notes []string
	// Warnings say what may make the maps or classes wrong: random ops at
	// inference (live augmentation), a pixel mapping that the model's own
	// input rescaling contradicts.
	Warnings []string
}

// OpenOptions are what a user may say about a model besides its card.
type OpenOptions struct {
	// InputRange, when set, is the model input of a black and of a white
	// pixel, [lo, hi]: x = lo + p·(hi−lo)/255, replacing the card's
	// preprocessing (the -input-range flag).
	InputRange []float64
}

// Open opens a model as OpenModel does, builds its flat graph, checks the
// card's output kind, and sets the pixel mapping: the card's, or the flag's,
// or for a model without a card one that follows the model's own input map
// (tfgraph.Flat.InputMap: a Rescaling layer at the input means pixels
// 0..255). Everything assumed is in Notes; the model's random ops and a
// mapping its input map contradicts are in Warnings. On error nothing is
// left open.
func Open(dir string, o tfgraph.Options, oo OpenOptions) (*Opened, error) {
	m, card, spec, err := OpenModel(dir, o)
	if err != nil {
		return nil, err
	}
	op := &Opened{Model: m, Card: card, Spec: spec}
	fail := func(err error) (*Opened, error) {
		m.Close()
		return nil, err
	}
	if op.Flat, err = m.Flat(); err != nil {
		return fail(err)
	}
	if err := ApplyCardKind(card, op.Flat, dir); err != nil {
		return fail(err)
	}
	im, err := op.Flat.InputMap()
	if err != nil {
		return fail(err)
	}
	setBy := ""
	switch {
	case len(oo.InputRange) > 0:
		if len(oo.InputRange) != 2 || !(oo.InputRange[1] != oo.InputRange[0]) || math.IsNaN(oo.InputRange[0]+oo.InputRange[1]) || math.IsInf(oo.InputRange[0]+oo.InputRange[1], 0) {
			return fail(fmt.Errorf("input range %v: want two different finite numbers lo,hi", oo.InputRange))
		}
		op.Spec.Scale = float32((oo.InputRange[1] - oo.InputRange[0]) / 255)
		op.Spec.Offset = float32(oo.InputRange[0])
		op.Spec.Mean, op.Spec.Std = nil, nil
		if op.Spec.Scale == 0 {
			return fail(fmt.Errorf("input range %v is too narrow for float32", oo.InputRange))
		}
		setBy = "-input-range"
		if card != nil {
			op.Notes = append(op.Notes, fmt.Sprintf("-input-range replaces %s's preprocessing: %s", filepath.Join(dir, savedmodels.CardFile), op.Spec.Formula()))
		}
	case card != nil:
		setBy = filepath.Join(dir, savedmodels.CardFile) + "'s preprocessing"
	}
	if im != nil {
		if setBy == "" && !integerInput(m.Input().DType) {
			if w := adoptInputMap(&op.Spec, im, dir); w != "" {
				op.Warnings = append(op.Warnings, w)
			}
		} else if w := checkInputMap(op.Spec, im, setBy); w != "" {
			op.Warnings = append(op.Warnings, w)
		}
	}
	if _, activated := op.Flat.Logits(); card == nil && !activated && op.Flat.Head() == "" {
		// No head in the graph and no card: outputs that are probability
		// distributions for constant images (black, grey, white) are
		// taken for probabilities, not for logits to take the softmax of.
		if probabilityOutputs(op.Flat, op.Spec) {
			op.Flat.SetProbabilities(tfgraph.ProbabilitiesByOutputs)
		}
	}
	if card == nil {
		out := m.Output()
		classes := "the output's columns"
		_, binary := op.Flat.BinaryLogit()
		switch {
		case binary:
			classes = "2, named \"class 0\" (the negative class) and \"class 1\" (the positive one)"
		case len(out.Shape) == 2 && out.Shape[1] > 0:
			classes = fmt.Sprintf("%d, named \"class 0\" to \"class %d\"", out.Shape[1], out.Shape[1]-1)
		}
		why := ""
		if in := m.Input(); integerInput(in.DType) {
			why = fmt.Sprintf(" (the input is %s)", in.DType)
		} else if im != nil && setBy == "" && len(op.Warnings) == 0 {
			why = " (the model's own input map, " + im.String() + ", suits it)"
		}
		head := "logits"
		if a := op.Flat.ActivationBehind(); a != "" {
			head = "scores computed from a " + a + " by other ops (an average or a sum of probabilities?), explained as they are: there are no logits behind them"
		}
		if op.Flat.Probabilities() == tfgraph.ProbabilitiesByOutputs {
			head = "probabilities (each row of the outputs for constant images is non-negative and sums to 1, though the graph shows no softmax), explained as they are: there are no logits behind them to find (a card's output.kind says otherwise)"
		}
		then := ""
		if ops := op.Flat.HeadOps(); len(ops) > 0 {
			then = ", then " + strings.Join(ops, ", ")
		}
		_, activated := op.Flat.Logits()
		switch op.Flat.Head() {
		case "softmax":
			head = "probabilities (a softmax" + then + "; the logits before it are explained)"
		case "sigmoid":
			if binary && !activated {
				head = "the logit z of a binary classifier (one column: class 1's score is z, its probability σ(z); class 0's is −z, 1 − σ(z))"
				break
			}
			if binary {
				head = "the probability of a binary classifier (a sigmoid" + then + " of one logit z: class 1's score is z, its probability σ(z); class 0's is −z, 1 − σ(z))"
				break
			}
			if !activated {
				head = "logits of independent labels (each probability its logit's sigmoid)"
				break
			}
			head = "independent label probabilities (a sigmoid" + then + "; the logits before it are explained)"
		case "log_softmax":
			head = "log-probabilities (a log_softmax" + then + "; the logits before it are explained)"
		}
		axis := ""
		if m.ChannelAdded() {
			axis = " (the signature's input has no channel axis: it is fed and explained with one)"
		}
		op.Notes = append(op.Notes, fmt.Sprintf("%s has no %s; assuming input %d×%d×%d%s from %s%s, RGB order, classes %s, output %s: %s (docs/own-model.md says how to write a card)",
			dir, savedmodels.CardFile, op.Spec.Height, op.Spec.Width, op.Spec.Channels, axis, op.Spec.Formula(), why, classes, out, head))
	}
	if r := op.Flat.RandomOps(); len(r) > 0 {
		op.Warnings = append(op.Warnings, randomWarning(dir, r))
	}
	if b := op.Flat.BatchOps(); len(b) > 0 {
		return fail(BatchError(dir, b))
	}
	return op, nil
}

// CheckScores says whether the model's scores (the flat graph's Logits,
// which predictions, targets and every method read) are a batch of class
// scores [N, K]; the error names the output and says what to change. A
// score tensor of unknown rank passes (the run says what it is). Commands
// that explain only units inside the model do not need it.
func CheckScores(dir string, op *Opened) error {
	logits, _ := op.Flat.Logits()
	s := op.Flat.Shape(logits)
	if s == nil || (len(s) == 2 && s[1] != 0) {
		return nil
	}
	out := op.Model.Output()
	hint := "saliency explains one row of class scores per image, not a map per pixel (segmentation) or boxes (detection): select a classification output (-output, the YAML key output), or remove the unit axes inside the model (a Reshape to [N, K])"
	switch {
	case !strings.HasPrefix(out.DType, "float") && !strings.HasPrefix(out.DType, "bfloat"):
		hint = fmt.Sprintf("its values are %s, not scores: class indices (an argmax)? export the model without it, ending in the logits or probabilities", out.DType)
	case len(s) < 2:
		hint = "one value per image, as a binary classifier's logit squeezed to [N]: export it as [N, 1], without the squeeze (saliency takes a one-column output's sigmoid as its probability)"
	}
	return fmt.Errorf("%s: output %s is not a batch of class scores [N, K] (its scores %s have shape %v): %s", dir, out, logits, s, hint)
}

// BatchError refuses a model that combines the images of a batch
// (tfgraph.Flat.BatchOps), naming the ops and their layers: its output for
// one image, and so every map of it, depends on the images beside it.
func BatchError(dir string, ops []tfgraph.BatchOp) error {
	return fmt.Errorf("%s combines the images of a batch: %s. Its output for one image depends on the other images of the batch, so no map of an image would be its own (a BatchNormalization called with training=True uses the batch's statistics; export the model in inference mode, training=False, or without the statistics over the batch)",
		dir, tfgraph.DescribeBatchOps(ops))
}

// unitRange says whether every channel's values between a[c] and b[c] are
// of the order one that networks are trained on: within ±10 and spread over
// at least 0.25.
func unitRange(a, b []float64) bool {
	for c := range a {
		if math.Max(math.Abs(a[c]), math.Abs(b[c])) > 10 || math.Abs(b[c]-a[c]) < 0.25 {
			return false
		}
	}
	return true
}

// mapped is what the input map makes, per channel, of model inputs lo
// (black) and hi (white).
func mapped(im *tfgraph.InputMap, lo, hi []float32) (a, b []float64) {
	for c := range im.Scale {
		l, h := lo[min(c, len(lo)-1)], hi[min(c, len(hi)-1)]
		a = append(a, im.Scale[c]*float64(l)+im.Offset[c])
		b = append(b, im.Scale[c]*float64(h)+im.Offset[c])
	}
	return a, b
}

// span formats the range of mapped values over every channel.
func span(a, b []float64) string {
	lo, hi := math.Inf(1), math.Inf(-1)
	for c := range a {
		lo, hi = math.Min(lo, math.Min(a[c], b[c])), math.Max(hi, math.Max(a[c], b[c]))
	}
	return fmt.Sprintf("%.3g..%.3g", lo, hi)
}

// adoptInputMap sets the pixel mapping of a model without a card from its
// input map: pixels 0..255 (x = p) when the map makes unit-range values of
// them and not of 0..1. It returns the warning that says so, or when neither
// range fits.
func adoptInputMap(spec *images.Spec, im *tfgraph.InputMap, dir string) string {
	raw := images.Spec{Channels: spec.Channels, Scale: 1}
	unit := images.Spec{Channels: spec.Channels}
	a1, b1 := mapped(im, unit.PixelValue(0), unit.PixelValue(255))
	a255, b255 := mapped(im, raw.PixelValue(0), raw.PixelValue(255))
	switch {
	case unitRange(a1, b1):
		return ""
	case unitRange(a255, b255):
		spec.Scale, spec.Offset = 1, 0
		return fmt.Sprintf("%s scales its input itself (%s): feeding pixel values 0..255 (x = p), which it maps to %s; -input-range lo,hi or a card's preprocessing (docs/own-model.md) sets another mapping", dir, im, span(a255, b255))
	case meanSubtraction(im, a1, b1, a255, b255):
		spec.Scale, spec.Offset = 1, 0
		return fmt.Sprintf("%s subtracts a mean from its input without scaling it (%s), as Keras' caffe-mode preprocess_input (ResNet50, VGG16) does: feeding pixel values 0..255 (x = p), which it maps to %s; -input-range lo,hi or a card's preprocessing (docs/own-model.md) sets another mapping", dir, im, span(a255, b255))
	}
	return fmt.Sprintf("%s maps its input itself (%s), and neither pixels 0..1 (→ %s) nor 0..255 (→ %s) come out near unit range; assuming x = p/255: set -input-range lo,hi or a card's preprocessing (docs/own-model.md)", dir, im, span(a1, b1), span(a255, b255))
}

// meanSubtraction says whether an input map is x − mean with means of
// pixel scale (ImageNet's 103.9, 116.8, 123.7 in caffe mode): scale 1, and
// for every channel pixels 0..255 come out around zero (a..b holds 0) where
// 0..1 come out far from it (beyond ±10).
func meanSubtraction(im *tfgraph.InputMap, a1, b1, a255, b255 []float64) bool {
	for c := range im.Scale {
		if math.Abs(im.Scale[c]-1) > 1e-6 || a255[c] > 0 || b255[c] < 0 || math.Min(math.Abs(a1[c]), math.Abs(b1[c])) <= 10 {
			return false
		}
	}
	return len(im.Scale) > 0
}

// checkInputMap warns when a pixel mapping set by a card or a flag is one
// the model's input map takes far from unit range while the other common
// mapping (0..1 or 0..255) would not.
func checkInputMap(spec images.Spec, im *tfgraph.InputMap, setBy string) string {
	a, b := mapped(im, spec.PixelValue(0), spec.PixelValue(255))
	if unitRange(a, b) {
		return ""
	}
	for _, alt := range []images.Spec{{Channels: spec.Channels}, {Channels: spec.Channels, Scale: 1}} {
		a2, b2 := mapped(im, alt.PixelValue(0), alt.PixelValue(255))
		if unitRange(a2, b2) {
			return fmt.Sprintf("%s gives %s, which the model's own input map (%s) takes to %s; the model looks made for %s (→ %s)",
				setBy, spec.Formula(), im, span(a, b), alt.Formula(), span(a2, b2))
		}
	}
	return ""
}

// randomWarning says that a model draws random numbers at inference.
func randomWarning(dir string, ops []tfgraph.RandomOp) string {
	var where []string
	seen := map[string]bool{}
	for _, r := range ops {
		k := r.Op + " (layer " + r.Layer + ")"
		if !seen[k] {
			seen[k] = true
			where = append(where, k)
		}
	}
	return fmt.Sprintf("%s draws random numbers at inference: %s. Its signature gives another output at each call (random augmentation left live: Keras 3's RandomFlip, RandomRotation, … run unless called with training=False, and model.export() does not pass it); saliency explains one fixed draw, the seed state at load. Remove the augmentation layers before exporting (docs/own-model.md)",
		dir, strings.Join(where, ", "))
}

// probabilityOutputs says whether the model's outputs for three constant
// images (black, grey, white, as spec maps them) are probability
// distributions: non-negative rows summing to 1. A model without a head is
// probed so at Open, and a card's output.kind probabilities for one is
// checked so (ApplyCardKind).
func probabilityOutputs(fl *tfgraph.Flat, spec images.Spec) bool {
	h, w, c := spec.Height, spec.Width, spec.Channels
	if h <= 0 || w <= 0 || c <= 0 {
		return false
	}
	x := tensor.New(3, h, w, c)
	for i, p := range []float32{0, 128, 255} {
		v := spec.PixelValue(p)
		img := x.Item(i).Data
		for j := range img {
			img[j] = v[j%c]
		}
	}
	z, err := fl.Forward(x)
	return err == nil && tensor.ProbabilityRows(z)
}
