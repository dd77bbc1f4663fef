//go:build applications

package tfgraph_test

import (
	"path/filepath"
	"testing"

	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tfgraph"
)

// smallApplications are the keras.applications architectures that
// savedmodels/build_small_applications.py builds at a small input size.
var smallApplications = []string{
	"vgg16", "resnet50", "mobilenet_v2", "densenet121", "inception_v3", "xception", "efficientnet_b0", "convnext_tiny",
}

// rfSample picks n targets with local fields, spread over the model: up to
// n-2 among those whose fields are smaller than the image (h×w), the rest
// among the deeper ones.
func rfSample(t *testing.T, fl *tfgraph.Flat, targets []rfTarget, n, h, w int) (sample []rfTarget, global int) {
	var small, large []rfTarget
	for _, tg := range targets {
		f, err := fl.ReceptiveField(tg.tensor)
		switch {
		case err != nil:
			t.Errorf("%s: %v", tg.name, err)
		case f.Global:
			global++
		case f.H.Size < float64(h) && f.W.Size < float64(w):
			small = append(small, tg)
		default:
			large = append(large, tg)
		}
	}
	spread := func(l []rfTarget, k int) []rfTarget {
		if len(l) <= k {
			return l
		}
		var out []rfTarget
		for i := 0; i < k; i++ {
			out = append(out, l[i*(len(l)-1)/max(k-1, 1)])
		}
		return out
	}
	sample = spread(small, n-2)
	return append(sample, spread(large, n-len(sample))...), global
}

// Eight keras.applications architectures with random weights at 64×64 (75×75
// for InceptionV3 and Xception), built by `make small-applications`: every
// layer has a field (none refused), and the plain gradient of every checked
// unit of 8 layers spread over each model lies inside its box; on VGG16 the
// supports fill the boxes. Run it with `make test-receptive-fields` (about
// a minute once the models are built).
func TestReceptiveFieldKeras(t *testing.T) {
	for _, name := range smallApplications {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(zooDir("applications_small"), name)
			m, err := tfgraph.Load(dir, &tfgraph.Options{IntraOpThreads: 2, InterOpThreads: 1})
			if err != nil {
				t.Fatalf("%v (make small-applications builds the models)", err)
			}
			defer m.Close()
			fl, err := m.Flat()
			if err != nil {
				t.Fatal(err)
			}
			x, err := savedmodels.ReadNpy(filepath.Join(dir, "golden", "inputs.npy"))
			if err != nil {
				t.Fatal(err)
			}
			all := layerTargets(fl)
			sample, global := rfSample(t, fl, all, 8, x.Shape[1], x.Shape[2])
			st := checkFields(t, fl, x.Slice(0, 2), sample, name == "vgg16", 4)
			t.Logf("%s: %d layers, %d global; checked %v", name, len(all), global, st)
			if len(sample) < 3 || st.units < 20 {
				t.Errorf("%d layers with a local field checked, %d units", len(sample), st.units)
			}
		})
	}
}
