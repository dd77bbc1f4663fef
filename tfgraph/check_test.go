package tfgraph_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// A tf.keras 2 model (FusedBatchNormV3, a nested Sequential, one scope entry
// per layer) and a plain tf.Module (layers as tf.name_scope blocks), both
// saved with tf.saved_model.save by savedmodels/build_testdata.py, pass the
// checks of every keras.applications model (checkApplication).
func TestExportsLikeApplications(t *testing.T) {
	for _, name := range []string{"tfkeras2", "tf_module", "keras_ops"} {
		t.Run(name, func(t *testing.T) {
			row, err := checkApplication(t, filepath.Join("..", "savedmodels", "testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			t.Log(row)
		})
	}
}

// checkApplication checks one model folder with a card (its layers as Keras
// lists them) and goldens (tf.GradientTape, one image at a time): flattening,
// forward equal to the signature, plain gradient equal to tf.GradientTape at
// the input and at the card's inner layers (≤ 1e-4 relative), every rule set,
// and the layers' names, order and parameter counts. It returns the row of
// docs/models.md.
func checkApplication(t *testing.T, dir string) (string, error) {
	name := filepath.Base(dir)
	card, err := savedmodels.ReadCard(dir)
	if err != nil {
		return "", err
	}
	g, err := savedmodels.ReadGolden(dir)
	if err != nil {
		return "", err
	}
	t0 := time.Now()
	m, err := tfgraph.Load(dir, &tfgraph.Options{IntraOpThreads: 2, InterOpThreads: 1, KerasLayers: kerasLayers(card)})
	if err != nil {
		return "", err
	}
	defer m.Close()
	fl, err := m.Flat()
	if err != nil {
		return "", err
	}
	loadTime := time.Since(t0)
	var notes []string
	// Forward: the flat graph equals the signature and the golden logits.
	want, err := m.Forward(g.Inputs)
	if err != nil {
		return "", err
	}
	got, err := fl.Forward(g.Inputs)
	if err != nil {
		return "", err
	}
	if d, _ := tensor.MaxAbsDiff(got, want); d > 1e-4*max(want.MaxAbs(), 1e-6) {
		t.Errorf("flat output differs from the signature by %g", d)
	}
	logits, _ := fl.Logits()
	res, err := fetch(fl, g.Inputs, logits)
	if err != nil {
		return "", err
	}
	if d, _ := tensor.MaxAbsDiff(res[0], g.Logits); d > 1e-4*g.Logits.MaxAbs() {
		t.Errorf("logits %s differ from golden by %g", logits, d)
	}
	// The default CAM layer determines the scores (TestCAMLayerIsACut).
	if l, err := fl.CAMLayer(); err != nil {
		t.Logf("no CAM layer: %v", err)
	} else if ok, msg, err := camLayerIsACut(fl, l, g.Inputs); err != nil || !ok {
		t.Errorf("CAM layer %s: the scores with another image's activation there differ from that image's by %s (%v): a path goes around it", l.Name, msg, err)
	} else {
		t.Logf("CAM layer %s determines the scores: %s", l.Name, msg)
	}
	// Plain gradients at the input and at the golden inner layers, one
	// image at a time as the goldens were made: the rounding of a
	// convolution depends on the batch size, and these random networks
	// amplify it (ResNet50: 4e-3 relative between batch 2 and batch 1).
	rel := func(a, b *tensor.Tensor) float64 {
		d, _ := tensor.MaxAbsDiff(a, b)
		return d / b.MaxAbs()
	}
	perImage := func(end string) (*tensor.Tensor, error) {
		var parts []*tensor.Tensor
		for i := range g.Top {
			p, err := fl.Gradient(g.Inputs.Slice(i, i+1), g.Top[i:i+1], end, tfgraph.Plain)
			if err != nil {
				return nil, err
			}
			parts = append(parts, p)
		}
		return tensor.Concat(parts...)
	}
	grad, err := perImage("")
	if err != nil {
		return "", err
	}
	rels := []string{fmt.Sprintf("%.1e", rel(grad, g.GradInput))}
	if r := rel(grad, g.GradInput); r > 1e-4 {
		t.Errorf("input gradient differs from tf.GradientTape by %.3g relative", r)
	}
	for _, ln := range card.Golden.InnerLayers {
		l, err := fl.Layer(ln)
		if err != nil {
			t.Error(err)
			continue
		}
		want, err := savedmodels.ReadNpy(filepath.Join(dir, "golden", "grad_layer_"+ln+".npy"))
		if err != nil {
			return "", err
		}
		gl, err := perImage(l.Output)
		if err != nil {
			return "", err
		}
		r := rel(gl, want)
		rels = append(rels, fmt.Sprintf("%.1e", r))
		if r > 1e-4 {
			t.Errorf("gradient at %s differs from tf.GradientTape by %.3g relative", ln, r)
		}
	}
	// Every rule set covers the model; Guided and DeconvNet say what they change.
	var sets []string
	for _, rs := range tfgraph.RuleSets {
		if missing := fl.MissingRules(rs); len(missing) > 0 {
			t.Errorf("%s: no rule for %v", rs.Name, missing)
			sets = append(sets, rs.Name+" (no rule for "+strings.Join(missing, ", ")+")")
			continue
		}
		if _, err := fl.Gradient(g.Inputs.Slice(0, 1), g.Top[:1], "", rs); err != nil {
			t.Errorf("%s: %v", rs.Name, err)
			continue
		}
		label := rs.Name
		if rs != tfgraph.Plain {
			changed, exact := fl.RuleCoverage(rs)
			label = fmt.Sprintf("%s %d", rs.Name, len(changed))
			if len(changed) == 0 {
				label += " (= plain)"
			}
			if len(exact) > 0 && rs == tfgraph.Guided {
				notes = append(notes, fmt.Sprintf("%d layers keep exact activations", len(exact)))
			}
		}
		sets = append(sets, label)
	}
	// Layers: Keras' names, order and parameter counts.
	matched, order, missing, folded := compareLayers(t, fl, card)
	if len(missing) > 0 {
		notes = append(notes, "not layers: "+strings.Join(missing, ", "))
	}
	notes = append(notes, folded...)
	layers := fmt.Sprintf("%d/%d", matched, len(card.Layers))
	if !order {
		layers += " (order differs)"
	}
	return fmt.Sprintf("| %s | %d | %.1f s | %s | %s | %s | %s |", name, fl.Nodes, loadTime.Seconds(),
		strings.Join(rels, "; "), strings.Join(sets, ", "), layers, strings.Join(notes, "; ")), nil
}

// compareLayers checks the flat graph's layers against the card's Keras list:
// every Keras layer with ops is found, in Keras' order, with Keras' parameter
// count. It returns how many card layers were found, whether the order holds
// and the layers without ops (InputLayer, Dropout, …), which it does not count
// as errors, and the Normalization layers whose adapted statistics Keras
// counts as parameters but the export holds as constants.
func compareLayers(t *testing.T, fl *tfgraph.Flat, card *savedmodels.Card) (int, bool, []string, []string) {
	pos := map[string]int{}
	for i, l := range fl.Layers() {
		pos[l.Name] = i
	}
	matched, last, order := 0, -1, true
	var missing, folded []string
	for _, kl := range card.Layers {
		i, ok := pos[kl.Name]
		if !ok {
			if kl.Class != "InputLayer" {
				missing = append(missing, kl.Name+" ("+kl.Class+")")
			}
			continue
		}
		matched++
		if i < last {
			order = false
			t.Errorf("layer %s is listed before the layer Keras puts before it", kl.Name)
		}
		last = i
		if p := fl.Params(fl.Layers()[i]); kl.Params != 0 && p != kl.Params {
			if kl.Class == "Normalization" && p == 0 {
				// Keras counts the adapted mean, variance and count, which
				// the export bakes into constants: there is no variable.
				folded = append(folded, fmt.Sprintf("%s (%s): %d adapted values are constants in the export", kl.Name, kl.Class, kl.Params))
			} else {
				t.Errorf("layer %s: %d parameters, Keras %d", kl.Name, p, kl.Params)
			}
		}
	}
	for name := range pos {
		found := false
		for _, kl := range card.Layers {
			found = found || kl.Name == name
		}
		if !found {
			t.Errorf("layer %s is not in Keras' list", name)
		}
	}
	if len(missing) > 8 {
		missing = append(missing[:8], fmt.Sprintf("… %d more", len(missing)-8))
	}
	return matched, order, missing, folded
}

// The zoo models whose cards list Keras' parameter counts (fmnist_vit) have
// Keras' layer names, order and counts, aliases included.
func TestZooLayersMatchKeras(t *testing.T) {
	checked := 0
	for _, name := range zooModels {
		card, err := savedmodels.ReadCard(zooDir(name))
		if err != nil {
			t.Fatal(err)
		}
		if card.TotalParams == 0 {
			continue // built before cards had parameter counts
		}
		t.Run(name, func(t *testing.T) {
			fl := flatAt(t, zooDir(name), &tfgraph.Options{KerasLayers: kerasLayers(card)})
			matched, order, missing, folded := compareLayers(t, fl, card)
			var total int64
			for _, l := range fl.Layers() {
				if l.Alias == "" && !strings.Contains(l.Name, "/") { // a nested model counts its layers
					total += fl.Params(l)
				}
			}
			if total != card.TotalParams {
				t.Errorf("%d parameters, Keras %d", total, card.TotalParams)
			}
			t.Logf("%d of %d layers, order %v, without ops %v, folded %v", matched, len(card.Layers), order, missing, folded)
		})
		checked++
	}
	if checked == 0 {
		t.Error("no zoo card lists parameter counts")
	}
}

// kerasLayers is the card's layer list as tfgraph takes it.
func kerasLayers(card *savedmodels.Card) []tfgraph.KerasLayer {
	var keras []tfgraph.KerasLayer
	for _, l := range card.Layers {
		keras = append(keras, tfgraph.KerasLayer{Name: l.Name, Class: l.Class, OutputShape: l.OutputShape, OutputOf: l.OutputOf})
	}
	return keras
}
