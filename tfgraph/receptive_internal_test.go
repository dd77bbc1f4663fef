package tfgraph

import (
	"slices"
	"testing"

	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
)

// rfMap1 is a state of one image row of n pixels laid out as [1, n, 1, c]
// with the identity field on rows and columns.
func rfMap1(n, c int) *rfState {
	s := &rfState{
		dims: [][]rfAtom{{{rfOther, 1}}, {{rfRows, n}}, {{rfCols, 1}}, {{rfOther, c}}},
		span: [3]rfSpan{{}, {0, 1, 1}, {0, 1, 1}},
	}
	s.lo[rfCols], s.hi[rfCols] = []int32{0}, []int32{1}
	s.lo[rfRows], s.hi[rfRows] = make([]int32, n), make([]int32, n)
	for i := range n {
		s.lo[rfRows][i], s.hi[rfRows][i] = int32(i), int32(i+1)
	}
	return s
}

// A dilated window reads its taps only: the exact interval of a unit next
// to the border leaves out the padding and the pixels between taps.
func TestReceptiveMappedDilated(t *testing.T) {
	s := rfMap1(8, 1)
	m, _ := windowMap("SAME", nil, 1, 3, 2, 1, 8, 8) // 3 taps, dilation 2
	s.mapped(rfRows, m, 8, 8)
	if s.span[rfRows] != (rfSpan{start: -2, stride: 1, size: 5}) {
		t.Errorf("nominal %+v", s.span[rfRows])
	}
	// Unit 1 reads rows -1 (padding), 1 and 3: [1, 4).
	if s.lo[rfRows][1] != 1 || s.hi[rfRows][1] != 4 {
		t.Errorf("unit 1: [%d,%d), want [1,4)", s.lo[rfRows][1], s.hi[rfRows][1])
	}
}

// An upsampled map (rows repeated: the atoms [rows 4, other 2]) added to a
// map of 8 rows takes the union of their fields unit by unit, and a reshape
// back and forth keeps the layout.
func TestReceptiveBroadcastUpsampled(t *testing.T) {
	up := rfMap1(4, 3)
	up.dims[1] = []rfAtom{{rfRows, 4}, {rfOther, 2}} // row Y reads row ⌊Y/2⌋
	plain := rfMap1(8, 3)
	w := &rfWalk{}
	got := w.broadcast(&nodepb.NodeDef{Op: "AddV2"}, []*rfState{up, plain}, []int{1, 8, 1, 3})
	if got.global || got.err != nil {
		t.Fatalf("got %+v", got)
	}
	// Unit Y of the sum sees rows ⌊Y/2⌋ (of the 4-row map, pixels 0..3)
	// and Y (of the 8-row map).
	for y := range 8 {
		lo, hi := int32(min(y/2, y)), int32(max(y/2, y)+1)
		if got.lo[rfRows][y] != lo || got.hi[rfRows][y] != hi {
			t.Errorf("unit %d: [%d,%d), want [%d,%d)", y, got.lo[rfRows][y], got.hi[rfRows][y], lo, hi)
		}
	}
	flat := w.reshape(plain, []int{8, 3})
	back := w.reshape(flat, []int{1, 8, 1, 3})
	if flat.global || back.global || !slices.EqualFunc(back.dims, plain.dims, sameAtoms) {
		t.Errorf("reshape: %+v then %+v", flat.dims, back.dims)
	}
	// Splitting the rows atom is not followed: the tensor becomes global.
	if w.reshape(plain, []int{1, 4, 2, 3}) != rfGlobal {
		t.Error("a split of the rows is not global")
	}
}

// hull holds both fields over every unit, also when their strides differ.
func TestReceptiveHull(t *testing.T) {
	a, b := rfSpan{start: 0, stride: 1, size: 1}, rfSpan{start: 15, stride: -1, size: 1} // a flip
	h := hull(a, b, 16)
	for y := 0; y < 16; y++ {
		for _, s := range []rfSpan{a, b} {
			lo, hi := s.start+s.stride*float64(y), s.start+s.stride*float64(y)+s.size
			if hlo := h.start + h.stride*float64(y); lo < hlo || hi > hlo+h.size {
				t.Errorf("unit %d: [%g,%g) outside the hull's [%g,%g)", y, lo, hi, hlo, hlo+h.size)
			}
		}
	}
}
