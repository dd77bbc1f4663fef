package savedmodels_test

import (
	"fmt"
	"log"

	"github.com/saliencykit/saliency/savedmodels"
)

// A model card says what the model wants: its classes, its input and the
// preprocessing that turns a pixel into an input.
func ExampleReadCard() {
	c, err := savedmodels.ReadCard("fmnist_vgg")
	if err != nil {
		log.Fatal(err)
	}
	spec := c.ImageSpec()
	fmt.Println(c.Name, len(c.Classes), c.ClassName(9), c.Output.Kind)
	fmt.Println(spec.Height, spec.Width, spec.Channels, c.Preprocessing.Formula)
	// Output:
	// fmnist_vgg 10 Ankle boot logits
	// 28 28 1 x = pixel / 255
}

// A card is checked when it is parsed; a problem names the file.
func ExampleParseCard() {
	_, err := savedmodels.ParseCard([]byte("classes: [cat, dog]\ninput: {shape: [-1, 32, 32, 2]}\noutput: {kind: logits}\n"), "my_model/card.yaml")
	fmt.Println(err)
	// Output:
	// savedmodels: my_model/card.yaml: input.shape [-1 32 32 2]: want a height and width in [1, 32768] and 1 (grayscale) or 3 (RGB) channels
}
