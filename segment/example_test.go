package segment_test

import (
	"fmt"

	"github.com/saliencykit/saliency/segment"
)

// square is a 12×12 grayscale image: a bright 6×6 square on black.
func square() ([]float32, int, int) {
	h, w := 12, 12
	img := make([]float32, h*w)
	for y := 3; y < 9; y++ {
		for x := 3; x < 9; x++ {
			img[y*w+x] = 1
		}
	}
	return img, h, w
}

func ExampleFelzenszwalb() {
	img, h, w := square()
	noSmoothing := 0.0
	l, err := segment.Felzenszwalb(img, h, w, 1, segment.FelzenszwalbOptions{Sigma: &noSmoothing, MinSize: 10})
	if err != nil {
		panic(err)
	}
	fmt.Println(l.N, "segments, sizes", l.Sizes())
	// Output: 2 segments, sizes [108 36]
}

func ExampleSLIC() {
	img, h, w := square()
	l, err := segment.SLIC(img, h, w, 1, segment.SLICOptions{NSegments: 4, Compactness: 0.1})
	if err != nil {
		panic(err)
	}
	fmt.Println(l.N, "segments")
	for y := 0; y < h; y += 3 {
		fmt.Println(l.Label[y*w : y*w+w])
	}
	// skimage.segmentation.slic(img, 4, 0.1, channel_axis=None, start_label=0)
	// gives the same labels.

	// Output:
	// 2 segments
	// [0 0 0 0 0 0 0 0 0 0 0 0]
	// [0 0 0 1 1 1 1 1 1 0 0 0]
	// [0 0 0 1 1 1 1 1 1 0 0 0]
	// [0 0 0 0 0 0 0 0 0 0 0 0]
}

func ExampleQuickshift() {
	img, h, w := square()
	l, err := segment.Quickshift(img, h, w, 1, segment.QuickshiftOptions{Ratio: 4, KernelSize: 1, MaxDist: 2})
	if err != nil {
		panic(err)
	}
	fmt.Println(l.N, "segments, sizes", l.Sizes())
	// The square is one segment; the flat background splits where the
	// tie-breaking noise (numpy's of seed 42, as skimage draws it) puts its
	// modes: skimage.segmentation.quickshift(img[..., None], ratio=4,
	// kernel_size=1, max_dist=2, convert2lab=False) gives the same sizes.

	// Output: 5 segments, sizes [28 28 36 26 26]
}

func ExampleAdjustedRand() {
	a := segment.Labels{H: 1, W: 4, N: 2, Label: []int32{0, 0, 1, 1}}
	b := segment.Labels{H: 1, W: 4, N: 2, Label: []int32{1, 1, 0, 0}}
	r, _ := segment.AdjustedRand(a, b)
	fmt.Println(r)
	// Output: 1
}
