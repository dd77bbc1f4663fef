package yamlcheck_test

import (
	"fmt"
	"reflect"

	"github.com/saliencykit/saliency/internal/yamlcheck"
)

// What yaml.v3 would let pass: a shape of 28.5 decodes as 28, and a second
// document is dropped; a tab in the indentation is named by its line.
func Example() {
	type spec struct {
		Shape []int `yaml:"shape"`
	}
	doc, _ := yamlcheck.Decode([]byte("shape: [1, 28.5, 28.0]\n"))
	bad, path := yamlcheck.Fractional(doc, reflect.TypeOf(spec{}))
	fmt.Printf("line %d: %s is %s\n", bad.Line, path, bad.Value)

	_, err := yamlcheck.Decode([]byte("shape: [1]\n---\nshape: [2]\n"))
	fmt.Println(err, "at line", err.(*yamlcheck.SecondDocumentError).Line)

	raw := []byte("a:\n  b: 1\n\tc: 2\n")
	_, err = yamlcheck.Decode(raw)
	line, _ := yamlcheck.Line(err)
	l, col, _ := yamlcheck.Tab(raw, line)
	fmt.Printf("parser: line %d; the tab: line %d, column %d\n", line, l, col)
	// Output:
	// line 1: shape[1] is 28.5
	// a second YAML document starts here (---) at line 2
	// parser: line 2; the tab: line 3, column 1
}
