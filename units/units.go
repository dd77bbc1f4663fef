// Package units finds what the channels of a layer respond to in a data set,
// as Zeiler & Fergus (2014) and Springenberg et al. (2015) show it: one
// streamed forward pass keeps, for every channel, the k inputs of its
// strongest activations (Scan); each is then cut to the receptive field of
// that activation and projected back to the input with DeconvNet, guided
// backprop or the gradient, all other activations of the layer set to zero
// (Project); Figure and Rows draw Zeiler & Fergus' patches beside their
// projections and Springenberg's one row per channel.
//
// Memory is bounded by k × channels activations and one batch of images,
// whatever the size of the data set. WriteDir does it all into a folder,
// resumably: the files of saliency units and of an experiment's units:
// entry.
package units

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// Source is a data set streamed in batches. Its methods may be called from
// two goroutines at once: the scan reads the next batch while the model
// runs this one.
type Source interface {
	// Len is the number of images.
	Len() int
	// Batch returns the model inputs [hi-lo,H,W,C] of images [lo, hi) and
	// their display images in [0,1], of the same shape.
	Batch(lo, hi int) (x, display *tensor.Tensor, err error)
	// ID names image i in files and figures.
	ID(i int) string
}

// InputSource is a Source that can give the model inputs alone, without
// the display images: the scan then does not make them.
type InputSource interface {
	Source
	// Inputs returns the model inputs [hi-lo,H,W,C] of images [lo, hi).
	Inputs(lo, hi int) (*tensor.Tensor, error)
}

// inputs are the model inputs of images [lo, hi) of src.
func inputs(src Source, lo, hi int) (*tensor.Tensor, error) {
	if is, ok := src.(InputSource); ok {
		return is.Inputs(lo, hi)
	}
	x, _, err := src.Batch(lo, hi)
	return x, err
}

// DefaultK is the number of top activations kept per channel, Zeiler &
// Fergus' 9.
const DefaultK = 9

// MaxK bounds K: Scan holds K activations per channel.
const MaxK = 100

// Options say what Scan looks for.
type Options struct {
	// Layer is the Keras layer.
	Layer string
	// Data names the data set (its source, path, count and seed): a scan is
	// resumed only over the same data.
	Data string
	// Channels are the channels scanned (nil: all).
	Channels []int
	// K is the number of top activations kept per channel (0: DefaultK).
	K int
	// Batch is the number of images per forward run (0: 64).
	Batch int
	// Progress, when set, is called after each batch with the images
	// scanned and the total.
	Progress func(done, total int)
	// Resume, when set, is a scan of the same layer, channels, K and data
	// cut short (its Images < the source's Len): the scan goes on after
	// its last image, with the same result as one pass (also when it was
	// read back from JSON). One of another layer, K, data size or
	// channels is a *ResumeError.
	Resume *Scan
	// Checkpoint, when set, is called with the scan so far every
	// CheckpointEvery images (default 2048), so that a scan killed can be
	// resumed.
	Checkpoint      func(*Scan) error
	CheckpointEvery int
}

// Activation is one of a channel's top activations.
type Activation struct {
	// Image is the index of the image in the source, ID its name.
	Image int    `json:"image"`
	ID    string `json:"id"`
	// Value is the channel's strongest activation in the image.
	Value float32 `json:"value"`
	// At is its position (row, column; the token of a token layer); nil
	// for a layer without positions.
	At []int `json:"at,omitempty"`
	// Box is the receptive field of that position in the input, clipped
	// to the image.
	Box tfgraph.Box `json:"box"`
}

// Scan is the result of a scan: per channel, its top activations over the
// data set, strongest first (ties: the lower image index first).
type Scan struct {
	Layer  string `json:"layer"`
	Tensor string `json:"tensor"`
	// Data names the data set (Options.Data).
	Data string `json:"data,omitempty"`
	// Shape is the layer's output shape without the batch axis.
	Shape []int `json:"shape"`
	// Field is the receptive field of the layer's units.
	Field tfgraph.ReceptiveField `json:"field"`
	// K is the number of activations kept per channel.
	K int `json:"k"`
	// Images is the number of images scanned, Total the source's.
	Images int `json:"images"`
	Total  int `json:"total"`
	// Channels are the channels scanned; Top[i] are channel Channels[i]'s
	// top activations.
	Channels []int          `json:"channels"`
	Top      [][]Activation `json:"top"`
}

// ScanLayer streams src through the model once and keeps, for every channel
// of the layer, the K images of its strongest activation (its maximum over
// the positions, as Zeiler & Fergus rank them; the neuron itself on a dense
// layer), with the position and its receptive field.
func ScanLayer(ctx context.Context, fl *tfgraph.Flat, src Source, o Options) (*Scan, error) {
	l, err := fl.Layer(o.Layer)
	if err != nil {
		return nil, err
	}
	n := src.Len()
	if n == 0 {
		return nil, fmt.Errorf("units: the data set holds no images")
	}
	k := o.K
	if k == 0 {
		k = DefaultK
	}
	if k < 1 || k > MaxK {
		return nil, fmt.Errorf("units: k is %d; want 1 to %d", k, MaxK)
	}
	batch := o.Batch
	if batch == 0 {
		batch = 64
	}
	if batch < 1 || batch > 1024 {
		return nil, fmt.Errorf("units: batch is %d; want 1 to 1024", batch)
	}
	field, err := fl.ReceptiveField(l.Output)
	if err != nil {
		return nil, fmt.Errorf("units: layer %s: receptive field: %w", l.Name, err)
	}
	every := o.CheckpointEvery
	if every <= 0 {
		every = 2048
	}
	s := o.Resume
	if s != nil {
		if s.Layer != l.Name || s.K != k || s.Total != n || s.Data != o.Data || (o.Channels != nil && !slices.Equal(s.Channels, o.Channels)) || s.Images > n {
			return nil, &ResumeError{Msg: fmt.Sprintf("the scan to resume is of layer %s, k %d, %d images of %q, channels %v; this one of layer %s, k %d, %d images of %q", s.Layer, s.K, s.Total, s.Data, s.Channels, l.Name, k, n, o.Data)}
		}
		s = s.clone()
		// A scan read back from JSON has the field's nominal intervals
		// only: the exact boxes of the units near the borders (Box) are
		// the graph's.
		s.Field = field
	} else {
		s = &Scan{Layer: l.Name, Tensor: l.Output, Data: o.Data, Field: field, K: k, Total: n}
	}
	var imgH, imgW int
	sinceCheckpoint := 0
	// The next batch is read and preprocessed while TensorFlow runs this
	// one.
	type prepared struct {
		x   *tensor.Tensor
		err error
	}
	next := make(chan prepared, 1)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(next)
		for lo := s.Images; lo < n; lo += batch {
			x, err := inputs(src, lo, min(lo+batch, n))
			select {
			case next <- prepared{x, err}:
			case <-stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	for lo := s.Images; lo < n; lo += batch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(lo+batch, n)
		pr := <-next
		if pr.err != nil {
			return nil, pr.err
		}
		x := pr.x
		imgH, imgW = x.Shape[1], x.Shape[2]
		res, err := fl.Run(ctx, x, tfgraph.Query{Fetch: []string{l.Output}})
		if err != nil {
			return nil, err
		}
		a := res.Fetched[0]
		if s.Shape == nil {
			if len(a.Shape) < 2 {
				return nil, fmt.Errorf("units: layer %s has output shape %v; want [N,…,C]", l.Name, a.Shape)
			}
			s.Shape = slices.Clone(a.Shape[1:])
			c := s.Shape[len(s.Shape)-1]
			if o.Channels == nil {
				for i := 0; i < c; i++ {
					s.Channels = append(s.Channels, i)
				}
			} else {
				for _, ch := range o.Channels {
					if ch < 0 || ch >= c {
						return nil, fmt.Errorf("units: channel %d is out of range: layer %s has %d channels (shape %v)", ch, l.Name, c, a.Shape)
					}
				}
				s.Channels = slices.Clone(o.Channels)
			}
			s.Top = make([][]Activation, len(s.Channels))
		}
		if err := s.add(a, lo, src, imgH, imgW); err != nil {
			return nil, err
		}
		s.Images = hi
		sinceCheckpoint += hi - lo
		if o.Progress != nil {
			o.Progress(hi, n)
		}
		if o.Checkpoint != nil && sinceCheckpoint >= every && hi < n {
			sinceCheckpoint = 0
			if err := o.Checkpoint(s.clone()); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

// add takes the activations a [B,…,C] of images lo, lo+1, … into the top
// lists.
func (s *Scan) add(a *tensor.Tensor, lo int, src Source, h, w int) error {
	c := s.Shape[len(s.Shape)-1]
	pos := s.Shape[:len(s.Shape)-1]
	npos := 1
	for _, d := range pos {
		npos *= d
	}
	per := npos * c
	best := make([]float32, c) // each channel's strongest activation in the image
	where := make([]int, c)    // and its position
	for b := 0; b < a.Shape[0]; b++ {
		row := a.Data[b*per : (b+1)*per]
		img := lo + b
		// positions outer, channels inner: the row is read in order
		for ch := range best {
			best[ch], where[ch] = float32(math.Inf(-1)), 0
		}
		for p := 0; p < npos; p++ {
			for ch, v := range row[p*c : (p+1)*c] {
				if v > best[ch] {
					best[ch], where[ch] = v, p
				} else if v != v {
					return fmt.Errorf("units: layer %s channel %d is NaN on image %s", s.Layer, ch, src.ID(img))
				}
			}
		}
		for i, ch := range s.Channels {
			best, at := best[ch], where[ch]
			top := s.Top[i]
			if len(top) == s.K && !(best > top[len(top)-1].Value) {
				continue // ties keep the earlier image
			}
			act := Activation{Image: img, ID: src.ID(img), Value: best}
			y, x := 0, 0
			if len(pos) > 0 {
				act.At = unravel(at, pos)
				y, x = s.position(act.At)
			}
			act.Box = s.Field.Box(y, x, h, w)
			j := sort.Search(len(top), func(j int) bool { return top[j].Value < best })
			top = slices.Insert(top, j, act)
			if len(top) > s.K {
				top = top[:s.K]
			}
			s.Top[i] = top
		}
	}
	return nil
}

// position is the (row, column) of a unit for its receptive field: a token
// index is row-major over the field's grid.
func (s *Scan) position(at []int) (int, int) {
	switch {
	case len(at) >= 2:
		return at[0], at[1]
	case len(at) == 1 && !s.Field.Global && s.Field.W.Units > 0:
		return at[0] / s.Field.W.Units, at[0] % s.Field.W.Units
	}
	return 0, 0
}

func unravel(p int, dims []int) []int {
	out := make([]int, len(dims))
	for i := len(dims) - 1; i >= 0; i-- {
		out[i] = p % dims[i]
		p /= dims[i]
	}
	return out
}

func (s *Scan) clone() *Scan {
	c := *s
	c.Shape = slices.Clone(s.Shape)
	c.Channels = slices.Clone(s.Channels)
	c.Top = make([][]Activation, len(s.Top))
	for i, t := range s.Top {
		c.Top[i] = slices.Clone(t)
	}
	return &c
}
