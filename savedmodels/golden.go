package savedmodels

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"codeberg.org/sbinet/npyio"
	"github.com/saliencykit/saliency/tensor"
)

// Golden holds a model's golden vectors, computed in Python at export with
// tf.GradientTape (see build_zoo.py).
type Golden struct {
	Inputs    *tensor.Tensor // [8,H,W,C] preprocessed inputs
	Labels    []int          // true classes
	Top       []int          // argmax of the logits
	Logits    *tensor.Tensor // [8,classes] pre-softmax scores
	Outputs   *tensor.Tensor // [8,classes] the signature's output
	GradInput *tensor.Tensor // d logit[top] / d input
	// Guided and DeconvNet are the Guided Backprop and DeconvNet signals of
	// logit[top] on the input (golden_rules.py); nil when not computed.
	Guided, DeconvNet *tensor.Tensor
	Layers            map[string]*tensor.Tensor // outputs of named inner layers
}

// ReadGolden reads dir/golden/*.npy.
func ReadGolden(dir string) (*Golden, error) {
	gdir := filepath.Join(dir, "golden")
	g := &Golden{Layers: map[string]*tensor.Tensor{}}
	var err error
	for _, f := range []struct {
		name string
		dst  **tensor.Tensor
	}{{"inputs", &g.Inputs}, {"logits", &g.Logits}, {"outputs", &g.Outputs}, {"grad_input", &g.GradInput}} {
		if *f.dst, err = ReadNpy(filepath.Join(gdir, f.name+".npy")); err != nil {
			return nil, err
		}
	}
	if g.Labels, err = ReadNpyInts(filepath.Join(gdir, "labels.npy")); err != nil {
		return nil, err
	}
	if g.Top, err = ReadNpyInts(filepath.Join(gdir, "top.npy")); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		dst  **tensor.Tensor
	}{{"guided_input", &g.Guided}, {"deconvnet_input", &g.DeconvNet}} {
		p := filepath.Join(gdir, f.name+".npy")
		if _, err := os.Stat(p); err != nil {
			continue
		}
		if *f.dst, err = ReadNpy(p); err != nil {
			return nil, err
		}
	}
	matches, _ := filepath.Glob(filepath.Join(gdir, "layer_*.npy"))
	for _, m := range matches {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m), "layer_"), ".npy")
		if g.Layers[name], err = ReadNpy(m); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// ReadNpy reads a float32 .npy file in C order.
func ReadNpy(path string) (*tensor.Tensor, error) {
	r, closer, err := openNpy(path)
	if err != nil {
		return nil, err
	}
	defer closer()
	if dtype(r.Header.Descr.Type) != "<f4" {
		return nil, fmt.Errorf("savedmodels: %s: dtype %s, want float32 (<f4)", path, dtype(r.Header.Descr.Type))
	}
	var data []float32
	if err := r.Read(&data); err != nil {
		return nil, fmt.Errorf("savedmodels: %s: %w", path, err)
	}
	return &tensor.Tensor{Shape: append([]int(nil), r.Header.Descr.Shape...), Data: data}, nil
}

// ReadNpyInts reads a 1-D int32 or int64 .npy file.
func ReadNpyInts(path string) ([]int, error) {
	r, closer, err := openNpy(path)
	if err != nil {
		return nil, err
	}
	defer closer()
	var out []int
	switch dtype(r.Header.Descr.Type) {
	case "<i4":
		var v []int32
		if err := r.Read(&v); err != nil {
			return nil, fmt.Errorf("savedmodels: %s: %w", path, err)
		}
		for _, x := range v {
			out = append(out, int(x))
		}
	case "<i8":
		var v []int64
		if err := r.Read(&v); err != nil {
			return nil, fmt.Errorf("savedmodels: %s: %w", path, err)
		}
		for _, x := range v {
			out = append(out, int(x))
		}
	default:
		return nil, fmt.Errorf("savedmodels: %s: dtype %s, want int32 or int64", path, dtype(r.Header.Descr.Type))
	}
	return out, nil
}

func openNpy(path string) (*npyio.Reader, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("savedmodels: %w", err)
	}
	r, err := npyio.NewReader(bufio.NewReaderSize(f, 1<<16))
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("savedmodels: %s: not a .npy file: %w", path, err)
	}
	if r.Header.Descr.Fortran {
		f.Close()
		return nil, nil, fmt.Errorf("savedmodels: %s: Fortran order not supported", path)
	}
	return r, func() { f.Close() }, nil
}

// dtype is a .npy header's type string without the quotes npyio keeps
// ("'<f4'" → "<f4").
func dtype(s string) string { return strings.Trim(s, "'\"") }

// ReadNpyVector reads a 1-D float32 or float64 .npy file (numpy's default
// float64 too: a direction saved with np.save) as float32 values.
func ReadNpyVector(path string) ([]float32, error) {
	r, closer, err := openNpy(path)
	if err != nil {
		return nil, err
	}
	defer closer()
	if len(r.Header.Descr.Shape) != 1 {
		return nil, fmt.Errorf("savedmodels: %s: shape %v, want a vector (1-D)", path, r.Header.Descr.Shape)
	}
	switch dtype(r.Header.Descr.Type) {
	case "<f4":
		var v []float32
		if err := r.Read(&v); err != nil {
			return nil, fmt.Errorf("savedmodels: %s: %w", path, err)
		}
		return v, nil
	case "<f8":
		var v []float64
		if err := r.Read(&v); err != nil {
			return nil, fmt.Errorf("savedmodels: %s: %w", path, err)
		}
		out := make([]float32, len(v))
		for i, x := range v {
			out[i] = float32(x)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("savedmodels: %s: dtype %s, want float32 or float64", path, dtype(r.Header.Descr.Type))
	}
}
