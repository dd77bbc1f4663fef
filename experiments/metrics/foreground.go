package metrics

import "fmt"

// Foreground marks the pixels of an image that are not background: those
// that differ from the background in at least one channel. The image is
// row-major with len(background) channels per pixel (an [H,W,C] item of a
// batch, or [H,W] with one background value); the mask has one entry per
// pixel, as a map. The background is the value a background pixel has in
// the tensor given (the model's input): 0 for Fashion-MNIST and for images
// scaled to [0,1] on black, the negated channel means for ImageNet models
// that subtract them. It returns an error when the image is not a whole
// number of pixels.
//
// Scoring a similarity measure on Foreground(x) leaves out the pixels where
// Gradient × Input and Integrated Gradients (black baseline) are 0 in every
// map, whatever the model: ties that make any two such maps look alike.
func Foreground(x []float32, background []float32) ([]bool, error) {
	c := len(background)
	if c == 0 || len(x)%c != 0 {
		return nil, fmt.Errorf("metrics: foreground of %d values with a background of %d channels", len(x), c)
	}
	mask := make([]bool, len(x)/c)
	for p := range mask {
		for k, b := range background {
			if x[p*c+k] != b {
				mask[p] = true
				break
			}
		}
	}
	return mask, nil
}

// Support marks the pixels where at least one of the maps, all of the same
// length, is not exactly zero: the complement of the pixels ZeroFraction
// counts. It is a mask for maps whose background is not known; as it is
// taken from the maps compared, prefer Foreground of the input where it
// applies. It returns an error when the lengths differ.
func Support(maps ...[]float32) ([]bool, error) {
	if err := sameLength(maps); err != nil {
		return nil, err
	}
	if len(maps) == 0 {
		return nil, nil
	}
	mask := make([]bool, len(maps[0]))
	for _, m := range maps {
		for i, v := range m {
			if v != 0 {
				mask[i] = true
			}
		}
	}
	return mask, nil
}

// Count is the number of true entries of a mask.
func Count(mask []bool) int {
	n := 0
	for _, in := range mask {
		if in {
			n++
		}
	}
	return n
}
