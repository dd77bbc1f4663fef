package reports

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio"

	"github.com/saliencykit/saliency/tensor"
)

func TestWriteNpyRoundTrip(t *testing.T) {
	dir := t.TempDir()
	x := tensor.New(2, 3, 4)
	for i := range x.Data {
		x.Data[i] = float32(i)*0.25 - 1
	}
	x.Data[5] = float32(math.Inf(-1))
	x.Data[7] = math.MaxFloat32
	path := filepath.Join(dir, "x.npy")
	if err := WriteNpy(path, x); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := npyio.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	h := r.Header.Descr
	if h.Type != "'<f4'" || h.Fortran || !tensor.SameShape(h.Shape, x.Shape) {
		t.Fatalf("header %v, want '<f4', C order, shape %v", r.Header, x.Shape)
	}
	var got []float32
	if err := r.Read(&got); err != nil {
		t.Fatal(err)
	}
	if d, _ := tensor.MaxAbsDiff(&tensor.Tensor{Shape: x.Shape, Data: got}, x); d != 0 && !math.IsNaN(d) {
		t.Errorf("values differ by %g", d)
	}
	for i := range got {
		if got[i] != x.Data[i] {
			t.Errorf("value %d: %g, wrote %g", i, got[i], x.Data[i])
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("folder holds %d files, want only x.npy", len(entries))
	}
}

// The bytes numpy.save (NumPy 2.0.2) writes for np.arange(n, dtype='<f4')
// reshaped to each shape.
func TestWriteNpyBytes(t *testing.T) {
	pad := func(n int) string { return strings.Repeat(" ", n) }
	for _, tc := range []struct {
		shape  []int
		header string
	}{
		{[]int{2, 3}, "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" + pad(58) + "\n"},
		{[]int{5}, "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }" + pad(60) + "\n"},
		{[]int{}, "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (), }" + pad(62) + "\n"},
		{[]int{1, 28, 28, 1}, "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (1, 28, 28, 1), }" + pad(50) + "\n"},
	} {
		x := tensor.New(tc.shape...)
		for i := range x.Data {
			x.Data[i] = float32(i)
		}
		path := filepath.Join(t.TempDir(), "x.npy")
		if err := WriteNpy(path, x); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(tc.header) != 128 {
			t.Fatalf("test header for %v has %d bytes", tc.shape, len(tc.header))
		}
		if got := string(b[:min(len(b), 128)]); got != tc.header {
			t.Errorf("shape %v: header\n%q\nwant\n%q", tc.shape, got, tc.header)
		}
		data := b[128:]
		if len(data) != 4*len(x.Data) {
			t.Fatalf("shape %v: %d data bytes, want %d", tc.shape, len(data), 4*len(x.Data))
		}
		// Little-endian float32: 1.0 is 00 00 80 3f.
		if len(x.Data) > 1 && !bytes.Equal(data[4:8], []byte{0, 0, 0x80, 0x3f}) {
			t.Errorf("shape %v: second value % x, want 00 00 80 3f", tc.shape, data[4:8])
		}
	}
}

func TestWriteErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "no", "such", "folder", "x")
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"nil tensor", WriteNpy(filepath.Join(dir, "a.npy"), nil), "nil tensor"},
		{"bad tensor", WriteNpy(filepath.Join(dir, "a.npy"), &tensor.Tensor{Shape: []int{3}, Data: make([]float32, 2)}), "needs 3 values"},
		{"nil image", WritePNG(filepath.Join(dir, "a.png"), nil), "nil image"},
		{"missing folder", WritePNG(missing+".png", image.NewGray(image.Rect(0, 0, 1, 1))), "no such file or directory"},
		{"json", WriteJSON(filepath.Join(dir, "a.json"), map[string]any{"f": func() {}}), "unsupported type"},
	} {
		if tc.err == nil || !strings.HasPrefix(tc.err.Error(), "reports: write ") || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, tc.err, tc.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("failed writes left %d files behind", len(entries))
	}
}

func TestWriteJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.json")
	if err := os.WriteFile(path, []byte("old, longer contents to be replaced"), 0o644); err != nil {
		t.Fatal(err)
	}
	v := struct {
		Method string    `json:"method"`
		Scores []float64 `json:"scores"`
	}{"integrated-gradients", []float64{0.5, 1}}
	if err := WriteJSON(path, v); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	want := "{\n  \"method\": \"integrated-gradients\",\n  \"scores\": [\n    0.5,\n    1\n  ]\n}\n"
	if string(b) != want {
		t.Errorf("file\n%s\nwant\n%s", b, want)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
}

func TestWritePNG(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	img.SetNRGBA(2, 1, color.NRGBA{10, 20, 30, 255})
	path := filepath.Join(t.TempDir(), "a.png")
	if err := WritePNG(path, img); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if r, g, b, _ := got.At(2, 1).RGBA(); r>>8 != 10 || g>>8 != 20 || b>>8 != 30 || got.Bounds() != img.Bounds() {
		t.Errorf("decoded %v with pixel (%d, %d, %d)", got.Bounds(), r>>8, g>>8, b>>8)
	}
}
