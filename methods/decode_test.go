package methods

import (
	"errors"
	"math"
	"reflect"
	"slices"
	"testing"

	"gopkg.in/yaml.v3"
)

// Decode reads options from their YAML node as New reads them from a map:
// the same method, or the same error, for every case. (A decoder's error
// quotes the value as written: the file's 1e300, where New quotes the map's
// float64 written back, 1e+300.)
func TestDecodeAsNew(t *testing.T) {
	for _, c := range []struct {
		method, yaml string
		opts         map[string]any
	}{
		{"gradient", "{}", nil},
		{"smoothgrad", "{samples: 10, noise: 0.1}", map[string]any{"samples": 10, "noise": 0.1}},
		{"smoothgrad", "{method: integrated-gradients, options: {steps: 16}, seed: 3}", map[string]any{"method": "integrated-gradients", "options": map[string]any{"steps": 16}, "seed": 3}},
		{"smoothgrad", "{sample: 10}", map[string]any{"sample": 10}},
		{"smoothgrad", "{samples: 2.7}", map[string]any{"samples": 2.7}},
		{"smoothgrad", "{samples: 2.0}", map[string]any{"samples": 2.0}},
		{"smoothgrad", "{samples: many}", map[string]any{"samples": "many"}},
		{"smoothgrad", "{noise: .nan}", map[string]any{"noise": "NaN"}},
		{"integrated-gradients", "{steps: -4}", map[string]any{"steps": -4}},
		{"occlusion", "{patch: 1e3000}", map[string]any{"patch": "1e3000"}}, // YAML's text is quoted: 1e300 would read 1e+300 from the map
		{"feature-visualization", "{scale: [1, 1.5]}", map[string]any{"scale": []any{1, 1.5}}},
		{"feature-visualization", "{jitter: [1, 2]}", map[string]any{"jitter": []any{1, 2}}},
		{"vargrad", "{method: gradient, options: {reduce: 3}}", map[string]any{"method": "gradient", "options": map[string]any{"reduce": 3}}},
	} {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(c.yaml), &n); err != nil {
			t.Fatal(err)
		}
		if c.opts != nil && c.opts["noise"] == "NaN" {
			var nan float64
			yaml.Unmarshal([]byte(".nan"), &nan)
			c.opts["noise"] = nan
		}
		got, gotErr := Decode(c.method, &n)
		want, wantErr := New(c.method, c.opts)
		if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
			t.Errorf("%s %s: error %v, New's %v", c.method, c.yaml, gotErr, wantErr)
			continue
		}
		if gotErr == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("%s %s: %+v, New's %+v", c.method, c.yaml, got, want)
		}
	}
}

// Unknown options are found in merged mappings and behind aliases too, and
// listed in the file's order.
func TestDecodeUnknown(t *testing.T) {
	var n yaml.Node
	src := "base: &b {samples: 3, bogus: 1}\nopts:\n  <<: *b\n  noise: 0.1\n  extra: 2\n"
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatal(err)
	}
	opts := n.Content[0].Content[3]
	_, err := Decode("smoothgrad", opts)
	want := `methods: smoothgrad: unknown option "bogus"; options: method, options, samples, noise, seed, reduce, magnitude, memory_mb; unknown option "extra"; options: method, options, samples, noise, seed, reduce, magnitude, memory_mb`
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant %s", err, want)
	}
	if !HasOption("smoothgrad", "seed") || HasOption("gradient", "seed") || HasOption("nope", "seed") {
		t.Error("HasOption")
	}
}

// Option errors are typed: *OptionError names the options at fault, in the
// order of the options, with the message as before.
func TestOptionErrorTyped(t *testing.T) {
	for _, c := range []struct {
		method  string
		options map[string]any
		want    []string
	}{
		{"smoothgrad", map[string]any{"bogus": 1, "samples": 2}, []string{"bogus"}},
		{"integrated-gradients", map[string]any{"steps": 2.5}, []string{"steps"}},
		{"smoothgrad", map[string]any{"noise": math.Inf(1)}, []string{"noise"}},
		// The decoder's message names a line and a Go type; the option
		// is the one whose value does not decode on its own.
		{"gradient", map[string]any{"reduce": []int{1}}, []string{"reduce"}},
		{"smoothgrad", map[string]any{"samples": "many", "noise": 0.1}, []string{"samples"}},
		// The range checks of Validate name their options too.
		{"integrated-gradients", map[string]any{"steps": -4}, []string{"steps"}},
		{"occlusion", map[string]any{"patch": -1, "stride": -2}, []string{"patch", "stride"}},
		{"gradient", map[string]any{"reduce": "median"}, []string{"reduce"}},
		{"gradcam", map[string]any{"memory_mb": -1}, []string{"memory_mb"}},
		{"feature-visualization", map[string]any{"param": "fourier", "init": "input"}, []string{"param", "init"}},
		{"smoothgrad", map[string]any{"method": "gradcam"}, []string{"method"}},
	} {
		_, err := New(c.method, c.options)
		var oe *OptionError
		if !errors.As(err, &oe) || !slices.Equal(oe.Options, c.want) || oe.Method != c.method || err.Error() != "methods: "+c.method+": "+oe.Msg {
			t.Errorf("%s %v: %#v (%v); want options %v", c.method, c.options, oe, err, c.want)
		}
	}
	// Every method's range checks: a negative memory budget (class-model
	// has none: an unknown option).
	for _, name := range Names() {
		_, err := New(name, map[string]any{"memory_mb": -1})
		var oe *OptionError
		if !errors.As(err, &oe) || oe.Method != name || !slices.Equal(oe.Options, []string{"memory_mb"}) {
			t.Errorf("%s: memory_mb -1: %v; want an *OptionError naming memory_mb", name, err)
		}
	}
}
