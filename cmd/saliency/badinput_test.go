package main

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/saliencykit/saliency/internal/fsys"
)

// badCase is one row of the bad-input table: a command line built in a
// fresh folder, the exit status it must give, and what stderr must say
// (every string, in any order).
type badCase struct {
	name  string
	args  func(t *testing.T, d string) []string
	code  int
	want  []string
	setup func(t *testing.T) (undo func()) // a fault injected around the call
	// stdout, when set, must be contained in the standard output.
	stdout string
}

const (
	vgg     = zoo + "/fmnist_vgg"
	sample  = zoo + "/samples/fmnist_0000_ankle-boot.png"
	testMod = zoo + "/testdata"
)

// TestBadInput: models, images, experiment files, flags and outputs that are
// wrong in every way a user's can be. Each gives a clear error naming the
// file, layer, line or flag, exit status 2 for a usage error and 1 for a
// failure, never a panic, and leaves no half-written file behind.
func TestBadInput(t *testing.T) {
	var cases []badCase
	cases = append(cases, badModelCases()...)
	cases = append(cases, badImageCases()...)
	cases = append(cases, badYAMLCases(t)...)
	cases = append(cases, badFlagCases()...)
	cases = append(cases, badOutputCases()...)
	cases = append(cases, edgeModelCases()...)
	cases = append(cases, diagnosticCases()...)
	cases = append(cases, badBoundsCases()...)
	if len(cases) < 40 {
		t.Fatalf("%d cases; the table wants at least 40", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := t.TempDir()
			args := c.args(t, d)
			if c.setup != nil {
				defer c.setup(t)()
			}
			before := files(d)
			var stdout, stderr bytes.Buffer
			code := run(&stdout, &stderr, args)
			errText := stderr.String()
			if code != c.code {
				t.Errorf("saliency %s: exit %d, want %d\nstderr: %s", strings.Join(args, " "), code, c.code, errText)
			}
			for _, w := range c.want {
				if !strings.Contains(errText, w) {
					t.Errorf("saliency %s: stderr lacks %q:\n%s", strings.Join(args, " "), w, errText)
				}
			}
			if c.stdout != "" && !strings.Contains(stdout.String(), c.stdout) {
				t.Errorf("stdout lacks %q:\n%s", c.stdout, stdout.String())
			}
			if strings.Contains(errText, "panic") || strings.Contains(errText, "goroutine ") {
				t.Errorf("stderr shows a panic:\n%s", errText)
			}
			noHalfWritten(t, d, before)
		})
	}
}

// files lists the files under dir.
func files(dir string) map[string]bool {
	out := map[string]bool{}
	filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			out[p] = true
		}
		return nil
	})
	return out
}

// noHalfWritten fails when the command left, among the files it made under
// dir, an atomic writer's temporary file or an empty file.
func noHalfWritten(t *testing.T, dir string, before map[string]bool) {
	t.Helper()
	for p := range files(dir) {
		if before[p] {
			continue
		}
		if strings.HasSuffix(p, ".tmp") {
			t.Errorf("half-written file left: %s", p)
		}
		if info, err := os.Stat(p); err == nil && info.Size() == 0 {
			t.Errorf("empty file left: %s", p)
		}
	}
}

// explainArgs explains the sample with the gradient into d/out.
func explainArgs(model string, extra ...string) func(t *testing.T, d string) []string {
	return func(t *testing.T, d string) []string {
		return append([]string{"explain", "-model", resolve(d, model), "-out", filepath.Join(d, "out"), "-method", "gradient"}, append(extra, sample)...)
	}
}

// resolve turns "@name" into d/name (a file a case made) and leaves zoo
// paths alone.
func resolve(d, p string) string {
	if name, ok := strings.CutPrefix(p, "@"); ok {
		return filepath.Join(d, name)
	}
	return p
}

// copyModel copies a SavedModel folder to dst.
func copyModel(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if e.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), raw, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// modelWith copies fmnist_vgg to d/m and lets edit break it.
func modelWith(edit func(t *testing.T, m string)) func(t *testing.T, d string) []string {
	return func(t *testing.T, d string) []string {
		m := filepath.Join(d, "m")
		copyModel(t, vgg, m)
		edit(t, m)
		return explainArgs("@m")(t, d)
	}
}

func editCard(old, new string) func(t *testing.T, m string) {
	return func(t *testing.T, m string) {
		p := filepath.Join(m, "card.yaml")
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(raw, []byte(old)) {
			t.Fatalf("card lacks %q", old)
		}
		os.WriteFile(p, bytes.Replace(raw, []byte(old), []byte(new), 1), 0o644)
	}
}

func badModelCases() []badCase {
	return []badCase{
		{name: "model/missing", args: explainArgs("@nope"), code: 1, want: []string{"nope: no such folder"}},
		{name: "model/file-not-folder", args: func(t *testing.T, d string) []string {
			os.WriteFile(filepath.Join(d, "model.h5"), []byte("HDF"), 0o644)
			return explainArgs("@model.h5")(t, d)
		}, code: 1, want: []string{"model.h5: not a folder"}},
		{name: "model/empty-folder", args: func(t *testing.T, d string) []string {
			os.Mkdir(filepath.Join(d, "m"), 0o755)
			return explainArgs("@m")(t, d)
		}, code: 1, want: []string{"saved_model.pb"}},
		{name: "model/empty-pb", args: modelWith(func(t *testing.T, m string) {
			os.WriteFile(filepath.Join(m, "saved_model.pb"), nil, 0o644)
		}), code: 1, want: []string{"saved_model.pb", "empty"}},
		{name: "model/random-pb", args: modelWith(func(t *testing.T, m string) {
			raw := make([]byte, 4096)
			for i := range raw {
				raw[i] = byte(i*7919 + i/13)
			}
			os.WriteFile(filepath.Join(m, "saved_model.pb"), raw, 0o644)
		}), code: 1, want: []string{"saved_model.pb", "not a SavedModel"}},
		{name: "model/no-variables", args: modelWith(func(t *testing.T, m string) {
			os.RemoveAll(filepath.Join(m, "variables"))
		}), code: 1, want: []string{"variables/variables.index is missing"}},
		{name: "model/no-variables-data", args: modelWith(func(t *testing.T, m string) {
			os.Remove(filepath.Join(m, "variables", "variables.data-00000-of-00001"))
		}), code: 1, want: []string{"variables.data-00000-of-00001"}},
		{name: "model/truncated-variables", args: modelWith(func(t *testing.T, m string) {
			p := filepath.Join(m, "variables", "variables.data-00000-of-00001")
			raw, _ := os.ReadFile(p)
			os.WriteFile(p, raw[:len(raw)/3], 0o644)
		}), code: 1, want: []string{"variables.data-00000-of-00001", "truncated"}},
		{name: "model/truncated-index", args: modelWith(func(t *testing.T, m string) {
			p := filepath.Join(m, "variables", "variables.index")
			raw, _ := os.ReadFile(p)
			os.WriteFile(p, raw[:len(raw)/2], 0o644)
		}), code: 1, want: []string{"variables.index"}},
		{name: "model/no-signature", args: explainArgs(testMod + "/no_signature"), code: 1, want: []string{`no signature "serving_default"`}},
		{name: "model/wrong-signature-flag", args: explainArgs(vgg, "-signature", "predict"), code: 1, want: []string{`no signature "predict"; signatures: serve, serving_default`}},
		{name: "model/wrong-tags", args: explainArgs(vgg, "-tags", "train"), code: 1, want: []string{"no MetaGraph has tags", "serve"}},
		{name: "model/two-inputs", args: explainArgs(testMod + "/two_inputs"), code: 1, want: []string{"2 inputs", "image", "scale"}},
		// Control flow stays in the flat graph: the model loads and runs,
		// and inspect says which rule sets cannot go through it.
		{name: "model/control-flow", args: func(t *testing.T, d string) []string { return []string{"inspect", testMod + "/control_flow"} },
			code: 0, stdout: "plain     no rule for StatelessIf"},
		// A model converted from PyTorch (scripts/import_model.py): layers by
		// torch module path, the default CAM layer the module that ends in the
		// last convolution-like layer, -layer taking a module name.
		{name: "model/torch-names-inspect", args: func(t *testing.T, d string) []string { return []string{"inspect", testMod + "/torch_names"} },
			code: 0, stdout: "CAM layer block2 "},
		{name: "model/torch-names-layer", args: explainArgs(testMod+"/torch_names", "-method", "gradcam", "-layer", "block1"), code: 0},
		{name: "model/torch-names-unknown-layer", args: explainArgs(testMod+"/torch_names", "-method", "gradcam", "-layer", "block3"), code: 1,
			want: []string{`layer "block3" not found`, "block1", "block2"}},
		// A name the card lists as no layer's (a converted model's module
		// whose output no layer computes): -layer says why, inspect lists it.
		{name: "card/unnamed-layer", args: func(t *testing.T, d string) []string {
			m := filepath.Join(d, "m")
			copyModel(t, vgg, m)
			editCard("\nseed:", "\nunnamed_layers:\n- name: features.3\n  reason: a batch norm was folded into its convolution\nseed:")(t, m)
			return explainArgs("@m", "-method", "gradcam", "-layer", "features.3")(t, d)
		}, code: 1, want: []string{`no layer is "features.3": a batch norm was folded into its convolution (card.yaml, unnamed_layers); nearest:`}},
		{name: "card/unnamed-layer-inspect", args: func(t *testing.T, d string) []string {
			m := filepath.Join(d, "m")
			copyModel(t, vgg, m)
			editCard("\nseed:", "\nunnamed_layers:\n- name: features.3\n  reason: folded\n- name: features.7\n  reason: folded\nseed:")(t, m)
			return []string{"inspect", m}
		}, code: 0, stdout: "  no layer    features.3, features.7: folded\n"},
		{name: "model/no-rule", args: explainArgs(testMod + "/no_rule"), code: 1, want: []string{"no plain rule for op Cumsum", "docs/own-model.md"}},
		{name: "model/not-image", args: explainArgs(testMod + "/not_image"), code: 1, want: []string{"not_image", "not an image batch [N,H,W,C]"}},
		{name: "model/not-classifier", args: explainArgs(testMod + "/dense_output"), code: 1, want: []string{"dense_output", "output mask: float32[-1,28,28,2]", "is not a batch of class scores [N, K]", "segmentation"}},
		// A uint8 input takes the pixel values themselves (gradients are
		// taken on the image as the model's cast makes it): said, not silent.
		{name: "model/uint8-input", args: explainArgs(testMod + "/uint8_input"), code: 0, want: []string{"x = p (pixels 0..255 → 0..255)", "(the input is uint8)"}},
		{name: "card/classes-count", args: modelWith(editCard("- Ankle boot\n", "")), code: 1, want: []string{"card.yaml: 9 classes, but the model's output", "has 10"}},
		{name: "card/kind", args: modelWith(editCard("kind: logits", "kind: probabilities")), code: 1, want: []string{"card.yaml: output.kind probabilities, but the model does not end in a softmax"}},
		{name: "card/input-shape", args: modelWith(editCard("  - 28\n  - 28\n  - 1", "  - 32\n  - 32\n  - 1")), code: 1, want: []string{"card.yaml: input.shape [-1 32 32 1], but the model's input is"}},
		{name: "card/unknown-key", args: modelWith(editCard("description:", "descripton:")), code: 1, want: []string{"card.yaml", "line 2", "descripton"}},
		{name: "card/predict-kind", args: func(t *testing.T, d string) []string {
			m := filepath.Join(d, "m")
			copyModel(t, zoo+"/fmnist_gap_softmax", m)
			editCard("kind: probabilities", "kind: logits")(t, m)
			return []string{"predict", m, sample}
		}, code: 1, want: []string{"card.yaml: output.kind logits, but the model ends in a softmax: its outputs are probabilities"}},
	}
}

// writePNG encodes img to d/name.
func writePNG(t *testing.T, d, name string, img image.Image) string {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(d, name)
	os.WriteFile(p, b.Bytes(), 0o644)
	return p
}

// pngHeader is a PNG that claims w×h pixels and holds none.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 0 // 8-bit grayscale
	chunk("IHDR", ihdr)
	chunk("IEND", nil)
	return b.Bytes()
}

// imageArgs explains (or predicts, with cmd "predict") one file made by make.
func imageArgs(cmd string, model string, make func(t *testing.T, d string) string) func(t *testing.T, d string) []string {
	return func(t *testing.T, d string) []string {
		p := make(t, d)
		if cmd == "predict" {
			return []string{"predict", "-k", "1", model, p}
		}
		return []string{"explain", "-model", model, "-out", filepath.Join(d, "out"), "-method", "gradient", p}
	}
}

func fileOf(name string, raw []byte) func(t *testing.T, d string) string {
	return func(t *testing.T, d string) string {
		p := filepath.Join(d, name)
		os.WriteFile(p, raw, 0o644)
		return p
	}
}

func badImageCases() []badCase {
	samplePNG, _ := os.ReadFile(sample)
	gray := func(w, h int) *image.Gray {
		g := image.NewGray(image.Rect(0, 0, w, h))
		for i := range g.Pix {
			g.Pix[i] = uint8(i * 31)
		}
		return g
	}
	return []badCase{
		{name: "image/truncated-png", args: imageArgs("explain", vgg, fileOf("cut.png", samplePNG[:len(samplePNG)/2])), code: 1, want: []string{"cut.png: truncated or corrupt PNG file", "none of the 1 images could be read"}},
		{name: "image/empty-file", args: imageArgs("explain", vgg, fileOf("empty.png", nil)), code: 1, want: []string{"empty.png: empty file"}},
		{name: "image/zero-size", args: imageArgs("explain", vgg, fileOf("zero.png", pngHeader(0, 5))), code: 1, want: []string{"zero.png"}},
		{name: "image/huge-header", args: imageArgs("predict", vgg, fileOf("huge.png", pngHeader(100000, 100000))), code: 1, want: []string{"huge.png: 100000×100000 PNG image is above the limit"}},
		{name: "image/wide-header", args: imageArgs("predict", vgg, fileOf("wide.png", pngHeader(1<<16, 4))), code: 1, want: []string{"wide.png: 65536×4 PNG image is above the limit"}},
		{name: "image/bmp", args: imageArgs("predict", vgg, fileOf("boot.bmp", append([]byte("BM6\x0c\x00\x00\x00\x00"), make([]byte, 64)...))), code: 1, want: []string{"boot.bmp: not an image (PNG, JPEG, GIF, WebP or TIFF)"}},
		{name: "image/text", args: imageArgs("predict", vgg, fileOf("notes.png", []byte("these are notes"))), code: 1, want: []string{"notes.png: not an image"}},
		{name: "image/folder", args: imageArgs("predict", vgg, func(t *testing.T, d string) string {
			p := filepath.Join(d, "photos.png")
			os.Mkdir(p, 0o755)
			return p
		}), code: 1, want: []string{"photos.png is a folder, not an image file"}},
		{name: "image/missing", args: imageArgs("predict", vgg, func(t *testing.T, d string) string { return filepath.Join(d, "gone.png") }), code: 1, want: []string{"gone.png: no such file"}},
		{name: "image/wrong-channels-model", args: imageArgs("explain", testMod+"/op_coverage", func(t *testing.T, d string) string { return sample }), code: 1, want: []string{"op_coverage", "2 channels"}},
		// Inputs that are odd but fine: they are read, with a note where
		// something is dropped.
		{name: "image/one-pixel", args: imageArgs("predict", vgg, func(t *testing.T, d string) string {
			return writePNG(t, d, "dot.png", gray(1, 1))
		}), code: 0, stdout: "dot.png"},
		{name: "image/16-bit", args: imageArgs("predict", vgg, func(t *testing.T, d string) string {
			src, err := png.Decode(bytes.NewReader(samplePNG))
			if err != nil {
				t.Fatal(err)
			}
			g := image.NewGray16(src.Bounds())
			for y := 0; y < 28; y++ {
				for x := 0; x < 28; x++ {
					g.Set(x, y, color.Gray16Model.Convert(src.At(x, y)))
				}
			}
			return writePNG(t, d, "boot16.png", g)
		}), code: 0, stdout: "Ankle boot"},
		{name: "image/cmyk-jpeg", args: imageArgs("predict", vgg, func(t *testing.T, d string) string { return "testdata/images/cmyk.jpg" }), code: 0, stdout: "Ankle boot"},
		{name: "image/rgb-for-gray-model", args: imageArgs("predict", vgg, func(t *testing.T, d string) string {
			src, _ := png.Decode(bytes.NewReader(samplePNG))
			rgb := image.NewRGBA(src.Bounds())
			for y := 0; y < 28; y++ {
				for x := 0; x < 28; x++ {
					rgb.Set(x, y, src.At(x, y))
				}
			}
			return writePNG(t, d, "boot-rgb.png", rgb)
		}), code: 0, stdout: "Ankle boot"},
		{name: "image/alpha", args: imageArgs("predict", vgg, func(t *testing.T, d string) string {
			src, _ := png.Decode(bytes.NewReader(samplePNG))
			a := image.NewNRGBA(src.Bounds())
			for y := 0; y < 28; y++ {
				for x := 0; x < 28; x++ {
					v := color.GrayModel.Convert(src.At(x, y)).(color.Gray).Y
					a.SetNRGBA(x, y, color.NRGBA{v, v, v, uint8(255 * (x % 2))})
				}
			}
			return writePNG(t, d, "boot-alpha.png", a)
		}), code: 0, want: []string{"boot-alpha.png: 50% of its pixels are transparent; alpha is dropped"}, stdout: "Ankle boot"},
		{name: "image/fully-transparent", args: imageArgs("explain", vgg, func(t *testing.T, d string) string {
			return writePNG(t, d, "clear.png", image.NewNRGBA(image.Rect(0, 0, 28, 28)))
		}), code: 0, want: []string{"clear.png: 100% of its pixels are transparent; alpha is dropped and each pixel keeps its stored colour, as PIL's convert(\"RGB\") does"}},
		// A garment cut out on a transparent background that stores
		// yellow: read as PIL reads it (images/pil_test.go), with a note
		// from every command that reads images.
		{name: "image/transparent-predict", args: imageArgs("predict", vgg, func(t *testing.T, d string) string { return pilImages + "/garment_rgba8.png" }),
			code: 0, want: []string{"garment_rgba8.png: 71% of its pixels are transparent; alpha is dropped and each pixel keeps its stored colour"}, stdout: "garment_rgba8.png"},
		{name: "image/transparent-explain", args: imageArgs("explain", vgg, func(t *testing.T, d string) string { return pilImages + "/garment_rgba8.png" }),
			code: 0, want: []string{"saliency explain: note: ../../images/testdata/pil/garment_rgba8.png: 71% of its pixels are transparent"}},
		{name: "image/transparent-run", args: func(t *testing.T, d string) []string {
			dir := filepath.Join(d, "imgs")
			os.Mkdir(dir, 0o755)
			raw, err := os.ReadFile(pilImages + "/garment_rgba8.png")
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, "garment.png"), raw, 0o644)
			return []string{"run", "-out", filepath.Join(d, "run"), experimentFile(t, d, "data: {source: folder, path: imgs, count: 1}\nmethods: [gradient]\n")}
		}, code: 0, want: []string{"saliency run: note: ", "imgs/garment.png: 71% of its pixels are transparent; alpha is dropped"}},
		// Formats beyond PNG, JPEG and GIF, and the variants refused.
		{name: "image/webp", args: imageArgs("predict", vgg, func(t *testing.T, d string) string { return pilImages + "/boot_lossy.webp" }), code: 0, stdout: "1. Ankle boot"},
		{name: "image/tiff-jpeg", args: imageArgs("predict", vgg, func(t *testing.T, d string) string { return unsupportedImages + "/jpeg.tif" }),
			code: 1, want: []string{"jpeg.tif: JPEG-compressed TIFF (compression value 7) is not supported; saliency reads baseline TIFF", "convert other variants to PNG"}},
		{name: "image/tiff-float", args: imageArgs("explain", vgg, func(t *testing.T, d string) string { return unsupportedImages + "/float32.tif" }),
			code: 1, want: []string{"float32.tif: TIFF with floating-point or signed samples is not supported"}},
		{name: "image/tiff-planar", args: imageArgs("predict", vgg, func(t *testing.T, d string) string { return unsupportedImages + "/planar.tif" }),
			code: 1, want: []string{"planar.tif: TIFF with separate colour planes (PlanarConfiguration 2) is not supported"}},
		{name: "image/webp-animated", args: imageArgs("predict", vgg, func(t *testing.T, d string) string { return unsupportedImages + "/animated.webp" }),
			code: 1, want: []string{"animated.webp: animated WebP is not supported"}},
	}
}

const (
	pilImages         = "../../images/testdata/pil"
	unsupportedImages = "../../images/testdata/unsupported"
)

// experimentFile writes d/exp.yaml: an experiment on fmnist_vgg with the
// given data and methods lines, PNG figures and CSV tables.
func experimentFile(t *testing.T, d, rest string) string {
	t.Helper()
	abs, err := filepath.Abs(vgg)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(d, "exp.yaml")
	text := "name: t\nmodels:\n  - path: " + abs + "\n" + rest + "outputs: {figures: [png], tables: [csv]}\n"
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// badYAMLCases runs every bad experiment file of experiments/testdata/bad:
// exit 1 and each problem its "# want:" lines name, at file:line:col.
func badYAMLCases(t *testing.T) []badCase {
	files, err := filepath.Glob("../../experiments/testdata/bad/*.yaml")
	if err != nil || len(files) < 20 {
		t.Fatalf("%d bad experiment files (%v)", len(files), err)
	}
	var cases []badCase
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, line := range strings.Split(string(raw), "\n") {
			if w, ok := strings.CutPrefix(line, "# want: "); ok {
				want = append(want, f+":"+w)
			}
		}
		if len(want) == 0 {
			t.Fatalf("%s has no # want: line", f)
		}
		cases = append(cases, badCase{name: "yaml/" + strings.TrimSuffix(filepath.Base(f), ".yaml"),
			args: func(t *testing.T, d string) []string { return []string{"run", "-out", filepath.Join(d, "run"), f} },
			code: 1, want: want})
	}
	return cases
}

func badFlagCases() []badCase {
	fixed := func(args ...string) func(t *testing.T, d string) []string {
		return func(t *testing.T, d string) []string {
			out := make([]string, len(args))
			for i, a := range args {
				out[i] = strings.ReplaceAll(a, "$D", d)
			}
			return out
		}
	}
	return []badCase{
		{name: "flag/unknown-method", args: explainArgs(vgg, "-method", "gradient,gradcan"), code: 2, want: []string{`unknown method "gradcan"`, "gradcam"}},
		{name: "flag/class-out-of-range", args: explainArgs(vgg, "-class", "10"), code: 1, want: []string{"class 10 of image 0 is out of range"}},
		{name: "units/no-layer", args: fixed("units", "-model", vgg, "-out", "$D/out"), code: 2, want: []string{"-model, -layer and -out are required"}},
		{name: "units/unknown-layer", args: fixed("units", "-model", vgg, "-layer", "conv9", "-out", "$D/out"), code: 1, want: []string{"-layer", `layer "conv9" not found`, "conv1_1"}},
		{name: "units/k", args: fixed("units", "-model", vgg, "-layer", "conv2_2", "-k", "0", "-out", "$D/out"), code: 2, want: []string{"-k must be 1 to 100, got 0"}},
		{name: "units/batch", args: fixed("units", "-model", vgg, "-layer", "conv2_2", "-batch", "5000", "-out", "$D/out"), code: 2, want: []string{"-batch must be 1 to 1024"}},
		{name: "units/project", args: fixed("units", "-model", vgg, "-layer", "conv2_2", "-project", "lrp", "-out", "$D/out"), code: 2, want: []string{"-project is deconvnet, guided-backprop, gradient or none", `"lrp"`}},
		{name: "units/channels-syntax", args: fixed("units", "-model", vgg, "-layer", "conv2_2", "-channels", "3-1", "-out", "$D/out"), code: 2, want: []string{"-channels", `"3-1" is not a range`}},
		{name: "units/channel-range", args: fixed("units", "-model", vgg, "-layer", "conv2_2", "-channels", "40", "-count", "3", "-out", "$D/out"), code: 1, want: []string{"channel 40 is out of range", "32 channels"}},
		{name: "units/data", args: fixed("units", "-model", vgg, "-layer", "conv2_2", "-data", "imagenet", "-out", "$D/out"), code: 2, want: []string{"-data", `"imagenet" is not fashion-mnist`}},
		{name: "units/data-count", args: fixed("units", "-model", vgg, "-layer", "conv2_2", "-data", "folder:"+zoo+"/samples", "-count", "500", "-out", "$D/out"), code: 1, want: []string{"-data folder:", "count 500, but"}},
		{name: "units/resume-other-layer", args: func(t *testing.T, d string) []string {
			os.MkdirAll(filepath.Join(d, "out"), 0o755)
			os.WriteFile(filepath.Join(d, "out", "scan.json"), []byte(`{"layer":"conv1_1","k":9,"images":3,"total":10000}`), 0o644)
			return []string{"units", "-model", vgg, "-layer", "conv2_2", "-out", filepath.Join(d, "out")}
		}, code: 1, want: []string{"scan.json", "the scan to resume is of layer conv1_1", "delete it"}},
		{name: "flag/target-syntax", args: explainArgs(vgg, "-target", "conv2_2"), code: 2, want: []string{"-target", `"conv2_2"`, "no ':'", "LAYER:K/mean"}},
		{name: "flag/target-reduction", args: explainArgs(vgg, "-target", "conv2_2:3/median"), code: 2, want: []string{"-target", "want /max or /mean"}},
		{name: "flag/target-unknown-layer", args: explainArgs(vgg, "-target", "conv9:3"), code: 1, want: []string{"-target conv9:3", `layer "conv9" not found`, "conv1_1"}},
		{name: "flag/target-channel-range", args: explainArgs(vgg, "-target", "conv2_2:32"), code: 1, want: []string{"conv2_2:32", "channel 32 is out of range", "32 channels"}},
		{name: "flag/target-position-range", args: explainArgs(vgg, "-target", "conv2_2:3@14,2"), code: 1, want: []string{"conv2_2:3@14,2", "position index 0 is 14", "[0,14)"}},
		{name: "flag/target-missing-direction", args: explainArgs(vgg, "-target", "conv2_2:nowhere/v.npy"), code: 2, want: []string{"-target", "nowhere/v.npy", "no such file"}},
		{name: "flag/target-and-class", args: explainArgs(vgg, "-target", "conv2_2:3", "-class", "2"), code: 2, want: []string{"-class 2 and -target conv2_2:3", "no class"}},
		{name: "flag/target-classes-differ", args: explainArgs(vgg, "-target", "class:3", "-class", "2"), code: 2, want: []string{"name different classes"}},
		{name: "flag/target-probability-without-head", args: explainArgs(vgg, "-target", "probability:3"), code: 1, want: []string{"no softmax or sigmoid head", "explain the class"}},
		{name: "flag/target-unit-class-method", args: explainArgs(vgg, "-target", "conv2_2:3", "-method", "cam"), code: 1, want: []string{"cam explains a class, not the unit conv2_2:3", "gradcam"}},
		{name: "flag/negative-class", args: explainArgs(vgg, "-class", "-2"), code: 2, want: []string{"-class must be a class index ≥ 0, got -2"}},
		{name: "flag/unknown-layer", args: explainArgs(vgg, "-method", "gradcam", "-layer", "conv2_3"), code: 1, want: []string{`layer "conv2_3" not found`, "conv2_2"}},
		{name: "flag/negative-option", args: explainArgs(vgg, "-method", "smoothgrad", "-set", "smoothgrad.samples=-5"), code: 2, want: []string{"smoothgrad", "samples"}},
		{name: "flag/nan-option", args: explainArgs(vgg, "-method", "smoothgrad", "-set", "smoothgrad.noise=.nan"), code: 2, want: []string{"smoothgrad: option noise is NaN; want a finite number"}},
		{name: "flag/nan-percentile", args: explainArgs(vgg, "-percentile", "NaN"), code: 2, want: []string{"-percentile must be in (0, 100]"}},
		{name: "flag/negative-threads", args: explainArgs(vgg, "-threads", "-1"), code: 2, want: []string{`invalid value "-1" for flag -threads: must be ≥ 0`}},
		{name: "flag/negative-steps", args: fixed("visualize", "-model", vgg, "-out", "$D/out", "-class", "all", "-from", sample, "-set", "steps=-3"), code: 2, want: []string{"steps"}},
		{name: "flag/class-model-huge-blur", args: fixed("visualize", "-model", vgg, "-out", "$D/out", "-class", "all", "-from", sample, "-set", "blur=1e9"), code: 2, want: []string{"blur must be in [0, 100]", "1e+09"}},
		{name: "flag/conflicting-layer", args: explainArgs(vgg, "-layer", "conv2_2"), code: 2, want: []string{"-layer conv2_2 is for the methods that read a layer", "-method gradient has none"}},
		{name: "flag/conflicting-grid", args: explainArgs(vgg, "-method", "smoothgrad,occlusion", "-grid", "7x7"), code: 2, want: []string{"-grid 7x7 is for the methods that read a layer", "-method smoothgrad,occlusion has none"}},
		{name: "flag/bad-shard", args: fixed("run", "-shard", "3/2", "../../experiments/lecture.yaml"), code: 2, want: []string{"-shard"}},
		{name: "flag/after-positional", args: fixed("predict", vgg, sample, "-k", "1"), code: 0, stdout: "1. Ankle boot"},
		{name: "flag/unknown-after-positional", args: fixed("predict", vgg, sample, "-top", "1"), code: 2, want: []string{"flag provided but not defined: -top"}},
		{name: "flag/double-dash", args: fixed("predict", vgg, "--", "-k"), code: 1, want: []string{"-k: no such file"}},
		{name: "flag/missing-value", args: fixed("predict", vgg, sample, "-k"), code: 2, want: []string{"flag needs an argument: -k"}},
		// Integer options given numbers with a fraction: YAML's decoder
		// truncated them (2 samples ran for 2.7, the default 50 steps for
		// 0.5) while index.json recorded what was typed.
		{name: "flag/fractional-samples", args: explainArgs(vgg, "-method", "smoothgrad", "-set", "smoothgrad.samples=2.7"), code: 2, want: []string{"saliency explain: methods: smoothgrad: option samples must be an integer, not 2.7"}},
		{name: "flag/fractional-steps", args: explainArgs(vgg, "-method", "integrated-gradients", "-set", "integrated-gradients.steps=0.5"), code: 2, want: []string{"integrated-gradients: option steps must be an integer, not 0.5"}},
		{name: "flag/fractional-wrapped", args: explainArgs(vgg, "-method", "smoothgrad", "-set", "smoothgrad.method=integrated-gradients", "-set", "smoothgrad.options={steps: 1.5}"), code: 2, want: []string{"integrated-gradients: option steps must be an integer, not 1.5"}},
		{name: "flag/fractional-seed", args: explainArgs(vgg, "-method", "smoothgrad", "-set", "smoothgrad.seed=1e-3"), code: 2, want: []string{"smoothgrad: option seed must be an integer, not 0.001"}},
		{name: "flag/fractional-visualize", args: fixed("visualize", "-model", vgg, "-out", "$D/out", "-class", "3", "-set", "steps=2.5"), code: 2, want: []string{"class-model: option steps must be an integer, not 2.5"}},
		{name: "flag/integral-float", args: explainArgs(vgg, "-method", "smoothgrad", "-set", "smoothgrad.samples=2.0"), code: 0, stdout: "1 maps of 1 images by 1 methods"},
		// -method "" ran every method; -method , was an unknown method "".
		{name: "flag/empty-method", args: explainArgs(vgg, "-method", ""), code: 2, want: []string{`-method "": want a comma-separated list of method names without empty ones`}},
		{name: "flag/comma-method", args: explainArgs(vgg, "-method", ","), code: 2, want: []string{`-method ",": want a comma-separated list`}},
		{name: "flag/trailing-comma", args: explainArgs(vgg, "-method", "gradient,"), code: 2, want: []string{`-method "gradient,": want a comma-separated list`}},
		{name: "flag/spaced-methods", args: explainArgs(vgg, "-method", "gradient, smoothgrad", "-set", "smoothgrad.samples=2"), code: 0, stdout: "2 maps of 1 images by 2 methods"},
		// help with a topic that is none printed the general help, exit 0.
		{name: "help/unknown-topic", args: fixed("help", "bogus"), code: 2, want: []string{`saliency help: unknown help topic "bogus"; topics: inspect, predict, explain, visualize, units, run, report, version, methods`}},
		{name: "help/two-topics", args: fixed("help", "explain", "run"), code: 2, want: []string{"saliency help: want one topic, have 2: explain run"}},
		{name: "help/flag-topic", args: fixed("-h", "bogus"), code: 2, want: []string{`unknown help topic "bogus"`}},
	}
}

// diagnosticCases are runs that succeed with maps that are likely wrong:
// Integrated Gradients far from completeness, from too few steps or from an
// input range the model was not trained with. The maps are written (exit 0)
// and the warning names the method, the images and the likely causes.
func diagnosticCases() []badCase {
	vit := func(t *testing.T, d string) string {
		m := filepath.Join(d, "vit")
		copyModel(t, zoo+"/fmnist_vit", m)
		editCard("scale: 0.00392156862745098", "scale: 1.0")(t, m) // pixels in [0,255], trained on [0,1]
		return m
	}
	return []badCase{
		{name: "diagnostic/ig-two-steps", args: explainArgs(vgg, "-method", "integrated-gradients", "-set", "integrated-gradients.steps=2"), code: 0,
			want: []string{"saliency explain: warning: integrated-gradients: completeness-error above 5% on 1 of 1 images (" + sample + " 17%): the map is likely wrong; likely causes: too few steps for the quadrature"}},
		{name: "diagnostic/ig-input-range", args: func(t *testing.T, d string) []string {
			return []string{"explain", "-model", vit(t, d), "-out", filepath.Join(d, "out"), "-method", "integrated-gradients,gradient", sample}
		}, code: 0, want: []string{"saliency explain: warning: integrated-gradients: completeness-error above 5% on 1 of 1 images (" + sample + " 1511%)",
			"an input range or pixel mapping the model was not trained with (the card's preprocessing: scale, offset, mean/std, BGR)"}},
		{name: "diagnostic/run-report", args: func(t *testing.T, d string) []string {
			samples, _ := filepath.Abs(zoo + "/samples")
			return []string{"run", "-out", filepath.Join(d, "run"), experimentFile(t, d, "data: {source: folder, path: "+samples+", count: 2}\nmethods:\n  - {name: integrated-gradients, options: {steps: 2}}\n")}
		}, code: 0, want: []string{"saliency report: warning: fmnist_vgg, integrated-gradients: completeness-error above 5% on 2 of 2 images (", "likely causes: too few steps"}},
	}
}

// failAfter is a temporary file whose writes fail, as on a full disk, once
// limit bytes are written.
type failAfter struct {
	fsys.File
	limit int
}

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) > f.limit {
		n, _ := f.File.Write(p[:f.limit])
		f.limit = 0
		return n, &fs.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	f.limit -= len(p)
	return f.File.Write(p)
}

// fullDisk makes every output file fail with ENOSPC after 100 bytes.
func fullDisk(t *testing.T) func() {
	old := fsys.CreateTemp
	fsys.CreateTemp = func(dir, pattern string) (fsys.File, error) {
		f, err := old(dir, pattern)
		if err != nil {
			return nil, err
		}
		return &failAfter{File: f, limit: 100}, nil
	}
	return func() { fsys.CreateTemp = old }
}

// readOnlyFolder makes d/ro a folder that cannot be written: a read-only
// tmpfs when running as root (root ignores permissions), else mode 0555.
func readOnlyFolder(t *testing.T, d string) string {
	p := filepath.Join(d, "ro")
	os.Mkdir(p, 0o755)
	if os.Geteuid() != 0 {
		os.Chmod(p, 0o555)
		t.Cleanup(func() { os.Chmod(p, 0o755) })
		return p
	}
	if err := syscall.Mount("tmpfs", p, "tmpfs", syscall.MS_RDONLY, "size=16k"); err != nil {
		// No mount privilege: the folder's file creation fails as a
		// read-only file system's does.
		old := fsys.CreateTemp
		fsys.CreateTemp = func(dir, pattern string) (fsys.File, error) {
			if strings.HasPrefix(dir, p) {
				return nil, &fs.PathError{Op: "open", Path: filepath.Join(dir, pattern), Err: syscall.EROFS}
			}
			return old(dir, pattern)
		}
		t.Cleanup(func() { fsys.CreateTemp = old })
		return p
	}
	t.Cleanup(func() { syscall.Unmount(p, 0) })
	return p
}

// brokenStdout fails every write.
type brokenStdout struct{}

func (brokenStdout) Write([]byte) (int, error) { return 0, syscall.EPIPE }

func badOutputCases() []badCase {
	return []badCase{
		{name: "output/file-not-folder", args: func(t *testing.T, d string) []string {
			p := filepath.Join(d, "out")
			os.WriteFile(p, []byte("x"), 0o644)
			return []string{"explain", "-model", vgg, "-out", p, "-method", "gradient", sample}
		}, code: 1, want: []string{"out", "not a directory"}},
		{name: "output/read-only-folder", args: func(t *testing.T, d string) []string {
			return []string{"explain", "-model", vgg, "-out", readOnlyFolder(t, d), "-method", "gradient", sample}
		}, code: 1, want: []string{"ro", "read-only file system"}},
		{name: "output/read-only-run", args: func(t *testing.T, d string) []string {
			return []string{"run", "-out", filepath.Join(readOnlyFolder(t, d), "run"), "../../experiments/lecture.yaml"}
		}, code: 1, want: []string{"ro/run"}},
		{name: "output/full-disk", args: func(t *testing.T, d string) []string {
			return []string{"explain", "-model", vgg, "-out", filepath.Join(d, "out"), "-method", "gradient", sample}
		}, setup: fullDisk, code: 1, want: []string{"no space left on device"}},
		{name: "output/full-disk-visualize", args: func(t *testing.T, d string) []string {
			return []string{"visualize", "-model", vgg, "-out", filepath.Join(d, "out"), "-class", "3", "-set", "steps=2"}
		}, setup: fullDisk, code: 1, want: []string{"no space left on device"}},
	}
}

// A command whose standard output cannot be written fails (exit 1) and says
// so, instead of reporting success with its results lost.
func TestBrokenStdout(t *testing.T) {
	var stderr bytes.Buffer
	code := run(brokenStdout{}, &stderr, []string{"predict", vgg, sample})
	if code != 1 || !strings.Contains(stderr.String(), "writing standard output") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
	var errb bytes.Buffer
	if code := run(io.Discard, &errb, []string{"version"}); code != 0 {
		t.Errorf("version: exit %d: %s", code, errb.String())
	}
}
