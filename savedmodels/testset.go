package savedmodels

import (
	"fmt"

	"codeberg.org/sbinet/npyio/npz"
	"github.com/saliencykit/saliency/tensor"
)

// TestSet is a set of labelled test images stored as a .npz file: uint8 images
// [N,H,W] with int32 labels [N], and, for the scatter set, uint8 object masks
// [N,H,W] (1 inside the object).
type TestSet struct {
	// Images are preprocessed for the zoo: [N,H,W,1] float32, pixel/255.
	Images *tensor.Tensor
	Labels []int
	// Masks is nil when the file has none; otherwise [N,H,W] with 0 or 1.
	Masks *tensor.Tensor
}

// ReadTestSet reads a .npz test set such as samples/fmnist_test_1000.npz or
// fmnist_scatter/test_set.npz.
func ReadTestSet(path string) (*TestSet, error) {
	r, err := npz.Open(path)
	if err != nil {
		return nil, fmt.Errorf("savedmodels: %s: %w", path, err)
	}
	defer r.Close()
	images, err := readUint8(r, path, "images.npy", 3)
	if err != nil {
		return nil, err
	}
	ts := &TestSet{Images: images}
	ts.Images.Shape = append(ts.Images.Shape, 1)
	for i := range ts.Images.Data {
		ts.Images.Data[i] /= 255
	}
	if h := r.Header("labels.npy"); h == nil {
		return nil, fmt.Errorf("savedmodels: %s: no labels", path)
	}
	var labels []int32
	if err := r.Read("labels.npy", &labels); err != nil {
		return nil, fmt.Errorf("savedmodels: %s: labels: %w", path, err)
	}
	if len(labels) != images.Shape[0] {
		return nil, fmt.Errorf("savedmodels: %s: %d labels for %d images", path, len(labels), images.Shape[0])
	}
	for _, l := range labels {
		ts.Labels = append(ts.Labels, int(l))
	}
	if r.Header("masks.npy") != nil {
		if ts.Masks, err = readUint8(r, path, "masks.npy", 3); err != nil {
			return nil, err
		}
		if ts.Masks.Len() != images.Len() {
			return nil, fmt.Errorf("savedmodels: %s: masks %v do not match images %v", path, ts.Masks.Shape, images.Shape)
		}
	}
	return ts, nil
}

func readUint8(r *npz.Reader, path, name string, rank int) (*tensor.Tensor, error) {
	h := r.Header(name)
	if h == nil {
		return nil, fmt.Errorf("savedmodels: %s: no %s", path, name)
	}
	if len(h.Descr.Shape) != rank || dtype(h.Descr.Type) != "|u1" {
		return nil, fmt.Errorf("savedmodels: %s: %s is %s%v, want uint8 of rank %d", path, name, dtype(h.Descr.Type), h.Descr.Shape, rank)
	}
	var raw []uint8
	if err := r.Read(name, &raw); err != nil {
		return nil, fmt.Errorf("savedmodels: %s: %s: %w", path, name, err)
	}
	t := tensor.New(h.Descr.Shape...)
	for i, v := range raw {
		t.Data[i] = float32(v)
	}
	return t, nil
}
