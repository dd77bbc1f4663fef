package images_test

import (
	"fmt"
	"image"
	"image/color"
	"log"

	"github.com/saliencykit/saliency/images"
)

// An RGB image for a grayscale model that wants x = pixel/255: the luma of
// tf.image.rgb_to_grayscale, scaled. A half-transparent pixel keeps its
// colour (alpha is dropped, as PIL's convert does); a gray pixel keeps its
// value.
func ExampleToInput() {
	img := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	img.SetNRGBA(0, 0, color.NRGBA{255, 0, 0, 255})     // red
	img.SetNRGBA(1, 0, color.NRGBA{255, 255, 255, 128}) // white, half transparent
	x, err := images.ToInput(img, images.Spec{Height: 1, Width: 2, Channels: 1})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%.4f %.4f\n", x[0], x[1])
	fmt.Printf("transparent: %.0f%% of the pixels\n", 100*images.Transparency(img))
	// Output:
	// 0.2989 1.0000
	// transparent: 50% of the pixels
}

func ExampleSpec_Formula() {
	fmt.Println(images.Spec{Height: 28, Width: 28, Channels: 1}.Formula())
	fmt.Println(images.Spec{Height: 224, Width: 224, Channels: 3, Scale: 1}.Formula())
	fmt.Println(images.Spec{Height: 224, Width: 224, Channels: 3, Scale: 1.0 / 127.5, Offset: -1}.Formula())
	// Output:
	// x = p/255 (pixels 0..255 → 0..1)
	// x = p (pixels 0..255 → 0..255)
	// x = p/127.5 - 1 (pixels 0..255 → -1..1)
}
