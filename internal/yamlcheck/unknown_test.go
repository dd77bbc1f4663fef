package yamlcheck_test

import (
	"reflect"
	"testing"

	"github.com/saliencykit/saliency/internal/yamlcheck"
	"gopkg.in/yaml.v3"
)

// Unknown finds what a Decoder with KnownFields refuses: keys of a struct,
// nested, in lists, in merged mappings and behind aliases, in the node's
// order; a map takes any key.
func TestUnknown(t *testing.T) {
	type inner struct {
		A int `yaml:"a"`
	}
	type outer struct {
		Inner inner          `yaml:"inner"`
		List  []inner        `yaml:"list"`
		Any   map[string]any `yaml:"any"`
		Embed struct {
			B int `yaml:"b"`
		} `yaml:",inline"`
	}
	src := "base: &b {a: 1, x: 2}\nv:\n  inner: {a: 1, y: 2}\n  list: [{a: 1}, {z: 3}, *b]\n  any: {w: 1}\n  b: 2\n  <<: {v: 1}\n  c: 3\n"
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range yamlcheck.Unknown(doc.Content[0].Content[3], reflect.TypeOf(outer{})) {
		got = append(got, u.Key.Value+" in "+u.Type.Name())
	}
	want := []string{"y in inner", "z in inner", "x in inner", "v in outer", "c in outer"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("unknown keys %q, want %q", got, want)
	}
}
