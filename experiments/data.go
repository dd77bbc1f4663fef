package experiments

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/saliencykit/saliency/images"
	"github.com/saliencykit/saliency/savedmodels"
	"github.com/saliencykit/saliency/tensor"
)

// Images are the images of an experiment, drawn from its data source and
// not yet preprocessed for a model.
type Images struct {
	// IDs name the images in files and tables: the file's stem, or
	// "fmnist-<index>" and "scatter-<index>" for the data sets.
	IDs []string
	// Sources say where each image comes from (a path, or path[index]).
	Sources []string
	// Labels are the true classes, -1 where unknown.
	Labels []int
	// Pictures are the decoded images.
	Pictures []image.Image
	// Masks are object masks [H,W] of 0 and 1 (the scatter set, or a
	// folder's <stem>_mask.png), nil where there is none.
	Masks []*tensor.Tensor
}

// Len is the number of images.
func (im *Images) Len() int { return len(im.IDs) }

// LoadImages draws d.Count images of d's source with d.Seed: a seeded
// permutation of the source's images, the first Count kept in the source's
// order. Count 0 takes every image, in the source's order.
func LoadImages(d Data) (*Images, error) {
	var all *Images
	var err error
	switch d.Source {
	case "folder":
		all, err = folderImages(d.Path)
	case "fashion-mnist":
		path := d.Path
		if path == "" {
			path = FashionMNISTDir
		}
		all, err = fashionMNIST(path)
	case "scatter":
		all, err = scatterImages(d.Path)
	default:
		return nil, fmt.Errorf("experiments: unknown data source %q", d.Source)
	}
	if err != nil {
		return nil, err
	}
	if d.Count == 0 {
		return all, nil
	}
	if d.Count > all.Len() {
		return nil, fmt.Errorf("experiments: data: count %d, but %s holds %d images", d.Count, d.Path, all.Len())
	}
	r := rand.New(rand.NewPCG(d.Seed, 0x696d61676573))
	pick := r.Perm(all.Len())[:d.Count]
	slices.Sort(pick)
	out := &Images{}
	for _, i := range pick {
		out.IDs = append(out.IDs, all.IDs[i])
		out.Sources = append(out.Sources, all.Sources[i])
		out.Labels = append(out.Labels, all.Labels[i])
		out.Pictures = append(out.Pictures, all.Pictures[i])
		out.Masks = append(out.Masks, all.Masks[i])
	}
	return out, nil
}

// Inputs preprocesses the images for a model: x [N,H,W,C] as the model
// wants it, and the display images [N,H,W,C] in [0,1].
func (im *Images) Inputs(spec images.Spec) (x, display *tensor.Tensor, err error) {
	var xs, ds []*tensor.Tensor
	for i, p := range im.Pictures {
		a, err := images.ToInput(p, spec)
		if err != nil {
			return nil, nil, fmt.Errorf("experiments: %s: %w", im.Sources[i], err)
		}
		b, err := images.ToInput(p, spec.Display())
		if err != nil {
			return nil, nil, fmt.Errorf("experiments: %s: %w", im.Sources[i], err)
		}
		shape := []int{spec.Height, spec.Width, spec.Channels}
		xs = append(xs, &tensor.Tensor{Shape: shape, Data: a})
		ds = append(ds, &tensor.Tensor{Shape: shape, Data: b})
	}
	if x, err = tensor.Stack(xs); err != nil {
		return nil, nil, err
	}
	display, err = tensor.Stack(ds)
	return x, display, err
}

// FashionMNISTDir is where Debian's dataset-fashion-mnist installs the IDX
// files: the default path of the fashion-mnist source.
const FashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// Source streams the images preprocessed for a model, batch by batch
// (units.Source): only the decoded pictures stay in memory.
func (im *Images) Source(spec images.Spec) *ImageSource { return &ImageSource{im: im, spec: spec} }

// ImageSource is Images preprocessed for a model on demand.
type ImageSource struct {
	im   *Images
	spec images.Spec
}

// Len is the number of images.
func (s *ImageSource) Len() int { return s.im.Len() }

// ID names image i.
func (s *ImageSource) ID(i int) string { return s.im.IDs[i] }

// Batch is the model inputs and display images of images [lo, hi).
func (s *ImageSource) Batch(lo, hi int) (x, display *tensor.Tensor, err error) {
	if lo < 0 || hi > s.im.Len() || lo >= hi {
		return nil, nil, fmt.Errorf("experiments: images [%d,%d) of %d", lo, hi, s.im.Len())
	}
	part := &Images{Pictures: s.im.Pictures[lo:hi], Sources: s.im.Sources[lo:hi]}
	return part.Inputs(s.spec)
}

// Inputs is the model inputs of images [lo, hi), without their display
// images (units.InputSource).
func (s *ImageSource) Inputs(lo, hi int) (*tensor.Tensor, error) {
	if lo < 0 || hi > s.im.Len() || lo >= hi {
		return nil, fmt.Errorf("experiments: images [%d,%d) of %d", lo, hi, s.im.Len())
	}
	shape := []int{s.spec.Height, s.spec.Width, s.spec.Channels}
	x := tensor.New(append([]int{hi - lo}, shape...)...)
	per := tensor.Size(shape)
	for i := lo; i < hi; i++ {
		a, err := images.ToInput(s.im.Pictures[i], s.spec)
		if err != nil {
			return nil, fmt.Errorf("experiments: %s: %w", s.im.Sources[i], err)
		}
		copy(x.Data[(i-lo)*per:], a)
	}
	return x, nil
}

// folderImages reads the image files of a folder (images.Extensions) in name order;
// <stem>_mask.png files are the masks of <stem>, and a labels.csv with the
// columns file and label gives the labels.
func folderImages(dir string) (*Images, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("experiments: data: %w", err)
	}
	labels, err := readLabels(filepath.Join(dir, "labels.csv"))
	if err != nil {
		return nil, err
	}
	out := &Images{}
	for _, e := range entries {
		name := e.Name()
		ext := strings.ToLower(filepath.Ext(name))
		stem := strings.TrimSuffix(name, filepath.Ext(name))
		if e.IsDir() || !slices.Contains(images.Extensions, ext) || strings.HasSuffix(stem, "_mask") {
			continue
		}
		path := filepath.Join(dir, name)
		img, err := images.Load(path)
		if err != nil {
			return nil, fmt.Errorf("experiments: data: %w", err)
		}
		var mask *tensor.Tensor
		if mp := filepath.Join(dir, stem+"_mask.png"); fileExists(mp) {
			if mask, err = readMask(mp, img.Bounds()); err != nil {
				return nil, err
			}
		}
		label, ok := labels[name]
		if !ok {
			label = -1
		}
		out.IDs = append(out.IDs, stem)
		out.Sources = append(out.Sources, path)
		out.Labels = append(out.Labels, label)
		out.Pictures = append(out.Pictures, img)
		out.Masks = append(out.Masks, mask)
	}
	if out.Len() == 0 {
		return nil, fmt.Errorf("experiments: data: %s holds no images (%s: %s)", dir, images.Formats, strings.Join(images.Extensions, " "))
	}
	return out, nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// readLabels reads labels.csv (columns "file" and "label"); a missing file
// gives no labels.
func readLabels(path string) (map[string]int, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("experiments: data: %w", err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("experiments: data: %s: %w", path, err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	fileCol, labelCol := slices.Index(rows[0], "file"), slices.Index(rows[0], "label")
	if fileCol < 0 || labelCol < 0 {
		return nil, fmt.Errorf("experiments: data: %s: want the columns file and label, have %s", path, strings.Join(rows[0], ", "))
	}
	out := map[string]int{}
	for i, r := range rows[1:] {
		l, err := strconv.Atoi(r[labelCol])
		if err != nil || l < 0 {
			return nil, fmt.Errorf("experiments: data: %s:%d: label %q is not a class index", path, i+2, r[labelCol])
		}
		out[r[fileCol]] = l
	}
	return out, nil
}

func readMask(path string, b image.Rectangle) (*tensor.Tensor, error) {
	img, err := images.Load(path)
	if err != nil {
		return nil, fmt.Errorf("experiments: data: %w", err)
	}
	if img.Bounds().Size() != b.Size() {
		return nil, fmt.Errorf("experiments: data: mask %s is %v, its image %v", path, img.Bounds().Size(), b.Size())
	}
	return maskOf(img), nil
}

// maskOf is 1 where the image is brighter than mid-grey.
func maskOf(img image.Image) *tensor.Tensor {
	b := img.Bounds()
	t := tensor.New(b.Dy(), b.Dx())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r+g+bl > 3*0x7fff {
				t.Data[(y-b.Min.Y)*b.Dx()+(x-b.Min.X)] = 1
			}
		}
	}
	return t
}

// fashionMNIST reads the test split of Fashion-MNIST from its IDX files
// (t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, gzipped or not).
func fashionMNIST(dir string) (*Images, error) {
	imgPath, err := idxFile(dir, "t10k-images-idx3-ubyte")
	if err != nil {
		return nil, err
	}
	lblPath, err := idxFile(dir, "t10k-labels-idx1-ubyte")
	if err != nil {
		return nil, err
	}
	pix, dims, err := readIDX(imgPath, 0x08, 3)
	if err != nil {
		return nil, err
	}
	lbl, ldims, err := readIDX(lblPath, 0x08, 1)
	if err != nil {
		return nil, err
	}
	if ldims[0] != dims[0] {
		return nil, fmt.Errorf("experiments: data: %s has %d labels for %d images", lblPath, ldims[0], dims[0])
	}
	n, h, w := dims[0], dims[1], dims[2]
	out := &Images{}
	for i := range n {
		g := image.NewGray(image.Rect(0, 0, w, h))
		copy(g.Pix, pix[i*h*w:(i+1)*h*w])
		out.IDs = append(out.IDs, fmt.Sprintf("fmnist-%05d", i))
		out.Sources = append(out.Sources, fmt.Sprintf("%s[%d]", imgPath, i))
		out.Labels = append(out.Labels, int(lbl[i]))
		out.Pictures = append(out.Pictures, g)
		out.Masks = append(out.Masks, nil)
	}
	return out, nil
}

func idxFile(dir, name string) (string, error) {
	for _, p := range []string{filepath.Join(dir, name), filepath.Join(dir, name+".gz")} {
		if fileExists(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("experiments: data: %s has neither %s nor %s.gz (Debian's package dataset-fashion-mnist installs them in /usr/share/datasets/fashion-mnist)", dir, name, name)
}

// readIDX reads an IDX file of unsigned bytes with rank dimensions.
func readIDX(path string, typ byte, rank int) ([]byte, []int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("experiments: data: %w", err)
	}
	defer f.Close()
	var r io.Reader = bufio.NewReader(f)
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, fmt.Errorf("experiments: data: %s: %w", path, err)
		}
		defer gz.Close()
		r = gz
	}
	var magic [4]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil {
		return nil, nil, fmt.Errorf("experiments: data: %s: not an IDX file: %w", path, err)
	}
	if magic[0] != 0 || magic[1] != 0 || magic[2] != typ || int(magic[3]) != rank {
		return nil, nil, fmt.Errorf("experiments: data: %s: IDX header % x, want unsigned bytes of rank %d", path, magic, rank)
	}
	dims := make([]int, rank)
	size := 1
	for i := range dims {
		var d uint32
		if err := binary.Read(r, binary.BigEndian, &d); err != nil {
			return nil, nil, fmt.Errorf("experiments: data: %s: truncated header: %w", path, err)
		}
		if d == 0 || d > 1<<24 || size > math.MaxInt32/int(d) {
			return nil, nil, fmt.Errorf("experiments: data: %s: dimension %d is %d", path, i, d)
		}
		dims[i] = int(d)
		size *= int(d)
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, nil, fmt.Errorf("experiments: data: %s: truncated: want %d bytes of data: %w", path, size, err)
	}
	return buf, dims, nil
}

// scatterImages reads a test_set.npz with object masks (fmnist_scatter).
func scatterImages(path string) (*Images, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, "test_set.npz")
	}
	ts, err := savedmodels.ReadTestSet(path)
	if err != nil {
		return nil, fmt.Errorf("experiments: data: %w", err)
	}
	n, h, w := ts.Images.Shape[0], ts.Images.Shape[1], ts.Images.Shape[2]
	out := &Images{}
	for i := range n {
		g := image.NewGray(image.Rect(0, 0, w, h))
		for j := range g.Pix {
			g.Pix[j] = uint8(math.Round(float64(ts.Images.Data[i*h*w+j]) * 255))
		}
		var mask *tensor.Tensor
		if ts.Masks != nil {
			mask = &tensor.Tensor{Shape: []int{h, w}, Data: ts.Masks.Data[i*h*w : (i+1)*h*w]}
		}
		out.IDs = append(out.IDs, fmt.Sprintf("scatter-%04d", i))
		out.Sources = append(out.Sources, fmt.Sprintf("%s[%d]", path, i))
		out.Labels = append(out.Labels, ts.Labels[i])
		out.Pictures = append(out.Pictures, g)
		out.Masks = append(out.Masks, mask)
	}
	return out, nil
}

// masksAt is the images' masks [N,h,w] at a model's input size (bilinear,
// then 1 where the value is at least one half), or nil when an image has
// none.
func (im *Images) masksAt(h, w int) (*tensor.Tensor, error) {
	var out []*tensor.Tensor
	for _, m := range im.Masks {
		if m == nil {
			return nil, nil
		}
		r, err := tensor.Resize(&tensor.Tensor{Shape: []int{1, m.Shape[0], m.Shape[1]}, Data: m.Data}, h, w)
		if err != nil {
			return nil, err
		}
		for i, v := range r.Data {
			if v >= 0.5 {
				r.Data[i] = 1
			} else {
				r.Data[i] = 0
			}
		}
		r.Shape = []int{h, w}
		out = append(out, r)
	}
	return tensor.Stack(out)
}
