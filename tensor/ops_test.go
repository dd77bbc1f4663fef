package tensor

import "testing"

// TestResizeParallelSameAsOneByOne: Resize of a batch large enough to run
// on goroutines equals ResizeHWC of each image in turn, bit for bit.
func TestResizeParallelSameAsOneByOne(t *testing.T) {
	x := New(9, 14, 14, 3)
	for i := range x.Data {
		x.Data[i] = float32(i%97) * 0.37
	}
	got, err := Resize(x, 57, 40)
	if err != nil {
		t.Fatal(err)
	}
	if 9*57*40*3 < parallelResize {
		t.Fatalf("the batch is too small to test the goroutines")
	}
	one := make([]float32, 57*40*3)
	for i := 0; i < 9; i++ {
		ResizeHWC(x.Data[i*14*14*3:(i+1)*14*14*3], 14, 14, 3, one, 57, 40)
		for j, v := range one {
			if g := got.Data[i*len(one)+j]; g != v {
				t.Fatalf("image %d value %d: %v, one by one %v", i, j, g, v)
			}
		}
	}
}
