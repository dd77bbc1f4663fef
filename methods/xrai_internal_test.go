package methods

import (
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// masksOf builds bitmasks of h·w pixels from 0/1 rows.
func masksOf(h, w int, rows ...[]int) []bitmask {
	var out []bitmask
	for _, r := range rows {
		m := newBitmask(h * w)
		for p, v := range r {
			if v != 0 {
				m.set(p)
			}
		}
		out = append(out, m)
	}
	return out
}

// The merging on a 2×4 image with known answers: a left half of density 1,
// the whole image of density 0.75 and a right column of density 0.5; the
// full algorithm adds the left half, then the right half at its density
// (0.5: the whole image's new pixels), and drops the column, which adds
// nothing new; fast ranks the segments once, to the same result here.
func TestXRAIMergeKnownAnswer(t *testing.T) {
	attr := []float32{1, 1, 0.5, 0.5, 1, 1, 0.5, 0.5}
	masks := masksOf(2, 4,
		[]int{0, 0, 0, 1, 0, 0, 0, 1}, // right column
		[]int{1, 1, 0, 0, 1, 1, 0, 0}, // left half
		[]int{1, 1, 1, 1, 1, 1, 1, 1}, // everything
	)
	want := []float64{1, 1, 0.5, 0.5, 1, 1, 0.5, 0.5}
	for name, got := range map[string][]float64{"full": xraiFull(attr, masks, 1, 1), "fast": xraiFast(attr, masks, 1)} {
		for p := range want {
			if got[p] != want[p] {
				t.Errorf("%s: %v, want %v", name, got, want)
				break
			}
		}
	}
	// A segment too small to add and pixels no segment covers: those share
	// their mean attribution.
	attr = []float32{4, 2, 0, 0, 1, 3, 0, 0}
	masks = masksOf(2, 4, []int{1, 1, 0, 0, 1, 1, 0, 0}, []int{0, 0, 1, 0, 0, 0, 0, 0})
	got := xraiFull(attr, masks, 1, 2)
	want = []float64{2.5, 2.5, 0, 0, 2.5, 2.5, 0, 0}
	for p := range want {
		if got[p] != want[p] {
			t.Fatalf("small segment: %v, want %v", got, want)
		}
	}
	// The area threshold stops after the first segment that passes it.
	attr = []float32{1, 1, 3, 3, 1, 1, 3, 3}
	masks = masksOf(2, 4, []int{1, 1, 0, 0, 1, 1, 0, 0}, []int{0, 0, 1, 1, 0, 0, 1, 1})
	got = xraiFull(attr, masks, 0.25, 1)
	want = []float64{1, 1, 3, 3, 1, 1, 3, 3} // the rest, left, gets its own mean 1
	for p := range want {
		if got[p] != want[p] {
			t.Fatalf("area threshold: %v, want %v", got, want)
		}
	}
}

// dilate with disk(r): the pixels within distance r of a mask pixel.
func TestXRAIDilateDisk(t *testing.T) {
	for r, want := range map[int]int{1: 5, 2: 13, 3: 29, 5: 81} {
		m := newBitmask(21 * 21)
		m.set(10*21 + 10)
		if got := dilate(m, 21, 21, r).diffCount(newBitmask(21 * 21)); got != want {
			t.Errorf("disk(%d): %d pixels, want %d", r, got, want)
		}
	}
	m := newBitmask(5 * 5)
	m.set(0) // a corner: the disk clipped by the border
	if got := dilate(m, 5, 5, 2).diffCount(newBitmask(25)); got != 6 {
		t.Errorf("corner disk(2): %d pixels, want 6", got)
	}
}

// TestXRAIScalesInParallel checks that the segmentations made on
// goroutines, one per scale, are the ones each scale gives alone (make
// test-race runs it under the race detector).
func TestXRAIScalesInParallel(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	const h, w = 28, 28
	r := rand.New(rand.NewPCG(5, 6))
	img := make([]float32, h*w)
	for i := range img {
		img[i] = float32(i%w)/w + 0.3*r.Float32()
	}
	x := &XRAI{SegmentSize: 56}
	got, err := x.segmentations(img, h, w, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(DefaultXRAIScales) {
		t.Fatalf("%d segmentations, want %d", len(got), len(DefaultXRAIScales))
	}
	for k, s := range DefaultXRAIScales {
		one, err := (&XRAI{SegmentSize: 56, Scales: []float64{s}}).segmentations(img, h, w, 1)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got[k].Label, one[0].Label) {
			t.Errorf("scale %g: the parallel segmentation differs from the scale's alone", s)
		}
	}
}
