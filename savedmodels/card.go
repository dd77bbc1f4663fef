// Package savedmodels reads the model zoo's cards (card.yaml) and golden test
// vectors (.npy), and holds the zoo itself: the build scripts, the committed
// SavedModels and the sample images.
package savedmodels

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/saliencykit/saliency/images"
	"github.com/saliencykit/saliency/internal/yamlcheck"
	"gopkg.in/yaml.v3"
)

// Card is a model card: what a model expects and how it was made.
type Card struct {
	Name        string   `yaml:"name"`
	Description string   `yaml:"description"`
	Framework   string   `yaml:"framework"`
	Classes     []string `yaml:"classes"`
	Input       struct {
		SignatureKey string    `yaml:"signature_key"`
		Shape        []int     `yaml:"shape"`
		DType        string    `yaml:"dtype"`
		Range        []float64 `yaml:"range"`
		Color        string    `yaml:"color"`
	} `yaml:"input"`
	Output struct {
		SignatureKey string `yaml:"signature_key"`
		Shape        []int  `yaml:"shape"`
		// Kind is "logits" (scores of exclusive classes), "probabilities"
		// (a softmax over exclusive classes), "log-probabilities" (their
		// logarithms: a log_softmax) or "sigmoid" (a multi-label
		// head: one independent probability per class, from a final
		// sigmoid or from logits the sigmoid is applied to).
		Kind string `yaml:"kind"`
	} `yaml:"output"`
	Preprocessing struct {
		Grayscale bool      `yaml:"grayscale"`
		Resize    []int     `yaml:"resize"`
		Scale     float64   `yaml:"scale"`
		Offset    float64   `yaml:"offset"`
		Mean      []float64 `yaml:"mean,omitempty"`
		Std       []float64 `yaml:"std,omitempty"`
		Formula   string    `yaml:"formula"`
	} `yaml:"preprocessing"`
	Accuracy map[string]float64 `yaml:"accuracy"`
	Seed     int                `yaml:"seed"`
	Training map[string]any     `yaml:"training"`
	// Logits says which tensor holds the pre-softmax scores.
	Logits string `yaml:"logits,omitempty"`
	// TotalParams is Keras' model.count_params().
	TotalParams int64   `yaml:"total_params,omitempty"`
	Layers      []Layer `yaml:"layers"`
	// UnnamedLayers are names a user may look for that no layer has, with
	// why: the torch modules of a converted model whose own output no
	// layer computes (scripts/import_model.py). -layer with such a name
	// gives the reason.
	UnnamedLayers []UnnamedLayer `yaml:"unnamed_layers,omitempty"`
	Golden        struct {
		Images      map[string]any `yaml:"images"`
		InnerLayers []string       `yaml:"inner_layers"`
		Gradient    string         `yaml:"gradient"`
	} `yaml:"golden"`
}

// Layer is one Keras layer as model.summary() shows it (a layer of a nested
// model as "outer/inner").
type Layer struct {
	Name        string `yaml:"name"`
	Class       string `yaml:"class"`
	OutputShape []int  `yaml:"output_shape"`
	// Params is Keras' layer.count_params().
	Params int64 `yaml:"params,omitempty"`
	// OutputOf names the layer listed before this one whose output this
	// one's is, for an entry with no ops of its own that is not a Keras
	// layer without ops at inference (a torch container that ends in its
	// last child, as scripts/import_model.py writes it).
	OutputOf string `yaml:"output_of,omitempty"`
}

// UnnamedLayer is a name no layer of the model has, and why.
type UnnamedLayer struct {
	Name   string `yaml:"name"`
	Reason string `yaml:"reason"`
}

// Unnamed maps the card's unnamed layer names to their reasons (nil for
// none).
func (c *Card) Unnamed() map[string]string {
	if c == nil || len(c.UnnamedLayers) == 0 {
		return nil
	}
	out := make(map[string]string, len(c.UnnamedLayers))
	for _, u := range c.UnnamedLayers {
		out[u.Name] = u.Reason
	}
	return out
}

// CardFile is the card's file name inside a SavedModel folder.
const CardFile = "card.yaml"

// ErrNoCard is returned (wrapped) by ReadCard when the folder has no card.
var ErrNoCard = errors.New("no card.yaml")

// ReadCard reads dir/card.yaml. Unknown keys and wrong types are errors that
// name the file and line.
func ReadCard(dir string) (*Card, error) {
	path := filepath.Join(dir, CardFile)
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("savedmodels: %s: %w", dir, ErrNoCard)
	}
	if err != nil {
		return nil, fmt.Errorf("savedmodels: %w", err)
	}
	return ParseCard(raw, path)
}

// ParseCard parses the text of a card; path names it in errors. Unknown keys,
// wrong types, a number with a fractional part for an integer (a shape of
// 28.5), a second YAML document, a tab in the indentation, a missing input
// shape or output kind, no classes and a preprocessing that cannot be applied
// are errors naming the file and, where the YAML decoder knows it, the line.
func ParseCard(raw []byte, path string) (*Card, error) {
	doc, err := yamlcheck.Decode(raw)
	var second *yamlcheck.SecondDocumentError
	switch {
	case errors.As(err, &second):
		return nil, fmt.Errorf("savedmodels: %s: line %d: %v: a card holds one document", path, second.Line, second)
	case err != nil:
		if l, col, ok := yamlcheck.Tab(raw, mustLine(err)); ok {
			return nil, fmt.Errorf("savedmodels: %s: line %d: a tab in the indentation (column %d): YAML indents with spaces only", path, l, col)
		}
	case doc != nil:
		if bad, key := yamlcheck.Fractional(doc, reflect.TypeOf(Card{})); bad != nil {
			return nil, fmt.Errorf("savedmodels: %s: line %d: %s must be an integer, not %s", path, bad.Line, key, bad.Value)
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var c Card
	if err := dec.Decode(&c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("savedmodels: %s: empty card", path)
		}
		return nil, fmt.Errorf("savedmodels: %s: %v", path, err)
	}
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("savedmodels: %s: %v", path, err)
	}
	return &c, nil
}

// mustLine is the line a YAML syntax error names (0 if none).
func mustLine(err error) int {
	l, _ := yamlcheck.Line(err)
	return l
}

func (c *Card) check() error {
	if len(c.Input.Shape) != 4 {
		return fmt.Errorf("input.shape %v: want [batch, height, width, channels] (channels 1 for a grayscale model whose input has no channel axis, [batch, height, width])", c.Input.Shape)
	}
	if h, w, ch := c.Input.Shape[1], c.Input.Shape[2], c.Input.Shape[3]; h <= 0 || w <= 0 || h > images.MaxSide || w > images.MaxSide || (ch != 1 && ch != 3) {
		return fmt.Errorf("input.shape %v: want a height and width in [1, %d] and 1 (grayscale) or 3 (RGB) channels", c.Input.Shape, images.MaxSide)
	}
	switch c.Input.Color {
	case "", "rgb", "bgr", "grayscale", "gray":
	default:
		return fmt.Errorf("input.color %q: want rgb, bgr or grayscale", c.Input.Color)
	}
	if err := c.ImageSpec().Validate(); err != nil {
		return fmt.Errorf("preprocessing: %v", strings.TrimPrefix(err.Error(), "images: "))
	}
	for _, v := range append([]float64{c.Preprocessing.Scale, c.Preprocessing.Offset}, append(c.Preprocessing.Mean, c.Preprocessing.Std...)...) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("preprocessing: %v is not a finite number", v)
		}
	}
	if len(c.Classes) == 0 {
		return fmt.Errorf("classes: empty")
	}
	switch c.Output.Kind {
	case "logits", "probabilities", "log-probabilities", "sigmoid":
	default:
		return fmt.Errorf("output.kind %q: want logits, probabilities, log-probabilities or sigmoid", c.Output.Kind)
	}
	layers := map[string]bool{}
	for _, l := range c.Layers {
		layers[l.Name] = true
	}
	for i, u := range c.UnnamedLayers {
		switch {
		case u.Name == "" || u.Reason == "":
			return fmt.Errorf("unnamed_layers[%d]: want a name and a reason", i)
		case layers[u.Name]:
			return fmt.Errorf("unnamed_layers[%d]: %q is also in layers", i, u.Name)
		}
	}
	return nil
}

// ClassName returns the name of class i, or "class i" when the card has none.
func (c *Card) ClassName(i int) string {
	if c != nil && i >= 0 && i < len(c.Classes) {
		return c.Classes[i]
	}
	return fmt.Sprintf("class %d", i)
}

// ImageSpec is the preprocessing the card describes.
func (c *Card) ImageSpec() images.Spec {
	s := images.Spec{
		Height:   c.Input.Shape[1],
		Width:    c.Input.Shape[2],
		Channels: c.Input.Shape[3],
		BGR:      c.Input.Color == "bgr",
		Scale:    float32(c.Preprocessing.Scale),
		Offset:   float32(c.Preprocessing.Offset),
	}
	for _, v := range c.Preprocessing.Mean {
		s.Mean = append(s.Mean, float32(v))
	}
	for _, v := range c.Preprocessing.Std {
		s.Std = append(s.Std, float32(v))
	}
	return s
}
