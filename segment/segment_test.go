package segment

import (
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio"
	"github.com/saliencykit/saliency/savedmodels"
)

// goldenCase is one entry of testdata/manifest.json (bench/segment_goldens.py).
type goldenCase struct {
	Image      string `json:"image"`
	Algo       string `json:"algo"`
	Params     params `json:"params"`
	Labels     string `json:"labels"`
	N          int    `json:"n"`
	File       string `json:"file"`
	Npz        string `json:"npz"`
	Index      int    `json:"index"`
	Noise      string `json:"noise"`
	PairResize []int  `json:"pair_resize"`
}

// params are a case's parameters; booleans read as 0 or 1, absent ones as 0.
type params map[string]any

func (p params) f(name string) float64 {
	switch v := p[name].(type) {
	case float64:
		return v
	case bool:
		if v {
			return 1
		}
	}
	return 0
}

func (p params) no(name string) bool { v, ok := p[name].(bool); return ok && !v }

type manifest struct {
	Peer    string       `json:"peer"`
	Version string       `json:"version"`
	Cases   []goldenCase `json:"cases"`
	Resize  []struct {
		goldenCase
		Normalize []float64 `json:"normalize"`
		Shape     []int     `json:"shape"`
		Out       string    `json:"out"`
	} `json:"resize"`
	Nearest struct {
		Labels string `json:"labels"`
		Shape  []int  `json:"shape"`
		Out    string `json:"out"`
	} `json:"nearest"`
}

// pairNormalize is PAIR's xrai._normalize_image value scaling to [-1, 1] in
// float32, as numpy computes it on a float32 image.
func pairNormalize(img []float32) []float32 {
	lo, hi := img[0], img[0]
	for _, v := range img {
		lo, hi = min(lo, v), max(hi, v)
	}
	out := make([]float32, len(img))
	for i, v := range img {
		out[i] = (v-lo)/(hi-lo)*2 + -1
	}
	return out
}

func readManifest(t testing.TB) manifest {
	t.Helper()
	b, err := os.ReadFile("testdata/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.Peer != "scikit-image" || m.Version != "0.25.2" || len(m.Cases) == 0 {
		t.Fatalf("manifest: peer %q %q, %d cases", m.Peer, m.Version, len(m.Cases))
	}
	return m
}

// readPNG reads an 8-bit gray or RGB image as HWC float32 /255.
func readPNG(t testing.TB, path string) ([]float32, int, int, int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	im, err := png.Decode(f)
	if err != nil {
		t.Fatal(path, err)
	}
	b := im.Bounds()
	h, w := b.Dy(), b.Dx()
	switch im := im.(type) {
	case *image.Gray:
		out := make([]float32, h*w)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				out[y*w+x] = float32(float64(im.GrayAt(x, y).Y) / 255)
			}
		}
		return out, h, w, 1
	case *image.RGBA, *image.NRGBA:
		out := make([]float32, h*w*3)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				r, g, bb, _ := im.At(x, y).RGBA()
				for i, v := range []uint32{r, g, bb} {
					out[(y*w+x)*3+i] = float32(float64(v>>8) / 255)
				}
			}
		}
		return out, h, w, 3
	}
	t.Fatalf("%s: image type %T", path, im)
	return nil, 0, 0, 0
}

// readLabels reads a 16-bit label PNG.
func readLabels(t testing.TB, path string) Labels {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	im, err := png.Decode(f)
	if err != nil {
		t.Fatal(path, err)
	}
	g, ok := im.(*image.Gray16)
	if !ok {
		t.Fatalf("%s: %T, want 16-bit gray", path, im)
	}
	b := g.Bounds()
	l := Labels{H: b.Dy(), W: b.Dx(), Label: make([]int32, b.Dx()*b.Dy())}
	for y := 0; y < l.H; y++ {
		for x := 0; x < l.W; x++ {
			v := int32(g.Gray16At(x, y).Y)
			l.Label[y*l.W+x] = v
			l.N = max(l.N, int(v)+1)
		}
	}
	return l
}

func readFloat64s(t testing.TB, path string) []float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var v []float64
	if err := npyio.Read(f, &v); err != nil {
		t.Fatal(path, err)
	}
	return v
}

var testSetCache = map[string]*savedmodels.TestSet{}

// caseImage is the input image of a golden case.
func caseImage(t testing.TB, c goldenCase) ([]float32, int, int, int) {
	t.Helper()
	if c.Npz == "" {
		return readPNG(t, filepath.Join("testdata", c.File))
	}
	ts := testSetCache[c.Npz]
	if ts == nil {
		var err error
		if ts, err = savedmodels.ReadTestSet(filepath.Join("testdata", c.Npz)); err != nil {
			t.Fatal(err)
		}
		testSetCache[c.Npz] = ts
	}
	h, w := ts.Images.Shape[1], ts.Images.Shape[2]
	return ts.Images.Data[c.Index*h*w : (c.Index+1)*h*w], h, w, 1
}

// runCase segments a golden case's image with its parameters.
func runCase(t testing.TB, c goldenCase) Labels {
	t.Helper()
	img, h, w, ch := caseImage(t, c)
	if c.PairResize != nil {
		img = pairNormalize(img)
		var err error
		if img, err = ResizeCubic(img, h, w, ch, c.PairResize[0], c.PairResize[1]); err != nil {
			t.Fatal(err)
		}
		h, w = c.PairResize[0], c.PairResize[1]
	}
	p := c.Params
	var l Labels
	var err error
	switch c.Algo {
	case "felzenszwalb":
		sigma := p.f("sigma")
		l, err = Felzenszwalb(img, h, w, ch, FelzenszwalbOptions{Scale: p.f("scale"), Sigma: &sigma, MinSize: int(p.f("min_size"))})
	case "slic":
		o := SLICOptions{NSegments: int(p.f("n_segments")), Compactness: p.f("compactness"), Sigma: p.f("sigma")}
		o.NoConnectivity = p.no("enforce_connectivity")
		l, err = SLIC(img, h, w, ch, o)
	case "quickshift":
		o := QuickshiftOptions{Ratio: p.f("ratio"), KernelSize: p.f("kernel_size"), MaxDist: p.f("max_dist"), Sigma: p.f("sigma")}
		if c.Noise != "" { // skimage's noise fed; else drawn here, the same
			o.Noise = readFloat64s(t, filepath.Join("testdata", c.Noise))
		}
		o.NoLab = p.no("convert2lab")
		l, err = Quickshift(img, h, w, ch, o)
	default:
		t.Fatalf("unknown algorithm %q", c.Algo)
	}
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestSkimageGoldens checks every segmentation against scikit-image 0.25.2's
// labels of the same image and parameters: adjusted Rand index ≥ 0.99.
func TestSkimageGoldens(t *testing.T) {
	m := readManifest(t)
	worst := map[string]float64{}
	exact := map[string][2]int{}
	for _, c := range m.Cases {
		name := strings.TrimSuffix(c.Labels, ".png")
		t.Run(name, func(t *testing.T) {
			got := runCase(t, c)
			want := readLabels(t, filepath.Join("testdata", c.Labels))
			ari, err := AdjustedRand(got, want)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := worst[c.Algo]; !ok {
				worst[c.Algo] = 1
			}
			worst[c.Algo] = min(worst[c.Algo], ari)
			e := exact[c.Algo]
			e[1]++
			if ari == 1 {
				e[0]++
			} else {
				t.Logf("%s %v: adjusted Rand index %.5f (%d vs %d segments)", c.Algo, c.Params, ari, got.N, c.N)
			}
			exact[c.Algo] = e
			if ari < 0.99 {
				t.Errorf("%s %v: adjusted Rand index %.4f against skimage (%d vs %d segments)", c.Algo, c.Params, ari, got.N, c.N)
			}
		})
	}
	for a, v := range worst {
		t.Logf("%s: min adjusted Rand index %.5f; %d of %d cases identical", a, v, exact[a][0], exact[a][1])
	}
}

// TestResizeCubic checks ResizeCubic against scikit-image's resize of a zoo
// image up to 224×224 after PAIR's scaling (XRAI's segmentation input) and
// of a photograph down to 80×96.
func TestResizeCubic(t *testing.T) {
	m := readManifest(t)
	if len(m.Resize) != 2 {
		t.Fatalf("manifest has %d resize goldens, want 2", len(m.Resize))
	}
	for _, r := range m.Resize {
		img, h, w, c := caseImage(t, r.goldenCase)
		if r.Normalize != nil {
			img = pairNormalize(img)
		}
		got, err := ResizeCubic(img, h, w, c, r.Shape[0], r.Shape[1])
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(filepath.Join("testdata", r.Out))
		if err != nil {
			t.Fatal(err)
		}
		var want []float32
		err = npyio.Read(f, &want)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(want) != len(got) {
			t.Fatalf("%s: %d values, want %d", r.Out, len(got), len(want))
		}
		worst, equal := 0.0, 0
		for i := range got {
			d := math.Abs(float64(got[i]) - float64(want[i]))
			worst = max(worst, d)
			if d == 0 {
				equal++
			}
		}
		t.Logf("%s: max |diff| %.3g, %d of %d values equal", r.Out, worst, equal, len(got))
		if worst > 1e-6 {
			t.Errorf("%s: max |diff| %.3g against skimage, want ≤ 1e-6", r.Out, worst)
		}
	}
}

// TestResizeNearest maps XRAI's 224×224 segments of a zoo image back to
// 28×28 as skimage.transform.resize(order=0) does in PAIR's XRAI.
func TestResizeNearest(t *testing.T) {
	n := readManifest(t).Nearest
	in := readLabels(t, filepath.Join("testdata", n.Labels))
	got, err := ResizeNearest(in, n.Shape[0], n.Shape[1])
	if err != nil {
		t.Fatal(err)
	}
	want := readLabels(t, filepath.Join("testdata", n.Out))
	if fmt.Sprint(got.Label) != fmt.Sprint(want.Label) {
		t.Errorf("ResizeNearest differs from skimage's resize(order=0):\n got %v\nwant %v", got.Label, want.Label)
	}
}

func TestAdjustedRand(t *testing.T) {
	a := Labels{H: 1, W: 6, N: 2, Label: []int32{0, 0, 0, 1, 1, 1}}
	b := Labels{H: 1, W: 6, N: 2, Label: []int32{1, 1, 1, 0, 0, 0}}
	if r, err := AdjustedRand(a, b); err != nil || r != 1 {
		t.Errorf("relabelled partition: %v %v, want 1", r, err)
	}
	// sklearn.metrics.adjusted_rand_score([0,0,1,1],[0,0,1,2]) = 0.5714285714285715
	c := Labels{H: 2, W: 2, N: 2, Label: []int32{0, 0, 1, 1}}
	d := Labels{H: 2, W: 2, N: 3, Label: []int32{0, 0, 1, 2}}
	if r, err := AdjustedRand(c, d); err != nil || math.Abs(r-0.5714285714285715) > 1e-12 {
		t.Errorf("ARI %v %v, want 0.5714285714285715", r, err)
	}
	if _, err := AdjustedRand(a, c); err == nil {
		t.Error("different sizes: no error")
	}
}

func TestErrors(t *testing.T) {
	img := make([]float32, 4*4)
	neg := -1.0
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"channels", func() error { _, err := Felzenszwalb(img, 2, 4, 2, FelzenszwalbOptions{}); return err }(), "2 channels"},
		{"size", func() error { _, err := Felzenszwalb(img, 4, 5, 1, FelzenszwalbOptions{}); return err }(), "needs 20"},
		{"bound", func() error { _, err := Quickshift(nil, 4096, 4096, 3, QuickshiftOptions{}); return err }(), "more than 4194304 pixels"},
		{"resize bound", func() error { _, err := ResizeCubic(img, 4, 4, 1, 1<<12, 1<<12); return err }(), "resize to 4096×4096"},
		{"sigma", func() error { _, err := Felzenszwalb(img, 4, 4, 1, FelzenszwalbOptions{Sigma: &neg}); return err }(), "sigma"},
		{"scale", func() error { _, err := Felzenszwalb(img, 4, 4, 1, FelzenszwalbOptions{Scale: -1}); return err }(), "scale"},
		{"n_segments", func() error { _, err := SLIC(img, 4, 4, 1, SLICOptions{NSegments: -3}); return err }(), "n_segments"},
		{"compactness", func() error { _, err := SLIC(img, 4, 4, 1, SLICOptions{Compactness: math.Inf(1)}); return err }(), "compactness"},
		{"factors", func() error { _, err := SLIC(img, 4, 4, 1, SLICOptions{MinSizeFactor: 4}); return err }(), "min_size_factor"},
		{"kernel", func() error { _, err := Quickshift(img, 4, 4, 1, QuickshiftOptions{KernelSize: 0.5}); return err }(), "kernel_size"},
		{"noise", func() error {
			_, err := Quickshift(img, 4, 4, 1, QuickshiftOptions{Noise: make([]float64, 3)})
			return err
		}(), "noise"},
		{"nan", func() error {
			bad := append([]float32(nil), img...)
			bad[5] = float32(math.NaN())
			_, err := SLIC(bad, 4, 4, 1, SLICOptions{})
			return err
		}(), "y 1, x 1"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) || !strings.HasPrefix(tc.err.Error(), "segment: ") {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, tc.err, tc.want)
		}
	}
}

// TestQuickshiftSeed: without noise fed, quickshift draws skimage's noise
// (numpy's default_rng(42)) itself and gives skimage's labels; the same seed
// gives the same labels, another seed others.
func TestQuickshiftSeed(t *testing.T) {
	m := readManifest(t)
	worst := 1.0
	for _, c := range m.Cases {
		if c.Algo != "quickshift" || c.Noise == "" { // the others draw their noise in TestSkimageGoldens
			continue
		}
		img, h, w, ch := caseImage(t, c)
		p := c.Params
		o := QuickshiftOptions{Ratio: p.f("ratio"), KernelSize: p.f("kernel_size"), MaxDist: p.f("max_dist"), Sigma: p.f("sigma"),
			NoLab: p.no("convert2lab")}
		a, err := Quickshift(img, h, w, ch, o)
		if err != nil {
			t.Fatal(err)
		}
		ari, err := AdjustedRand(a, readLabels(t, filepath.Join("testdata", c.Labels)))
		if err != nil {
			t.Fatal(err)
		}
		worst = min(worst, ari)
		if ari < 0.99 {
			t.Errorf("%s: adjusted Rand index %.5f against skimage with the default seed", c.Labels, ari)
		}
		if h*w <= 28*28 {
			seed := uint64(7)
			o.Seed = &seed
			b, _ := Quickshift(img, h, w, ch, o)
			b2, _ := Quickshift(img, h, w, ch, o)
			if fmt.Sprint(b.Label) != fmt.Sprint(b2.Label) {
				t.Fatalf("%s: same seed, different labels", c.Labels)
			}
		}
	}
	t.Logf("quickshift drawing its own noise (seed 42) against skimage's: min adjusted Rand index %.5f", worst)
}
