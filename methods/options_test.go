package methods

import (
	"reflect"
	"strings"
	"testing"

	"github.com/saliencykit/saliency/internal/yamlcheck"
)

// Every integer option of every method refuses a number with a fractional
// part, which YAML's decoder would truncate (smoothgrad samples 2.7 ran 2
// samples; integrated-gradients steps 0.5 ran the default 50), and takes an
// integral float (2.0, or a number read back from JSON) as that integer; so
// do the options of a wrapped method.
func TestIntegerOptions(t *testing.T) {
	seen := 0
	for _, name := range Names() {
		m, err := New(name, nil)
		if err != nil {
			t.Fatal(err)
		}
		for opt, ft := range yamlcheck.Fields(reflect.TypeOf(m)) {
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			switch ft.Kind() {
			case reflect.Int, reflect.Int64, reflect.Uint64:
			default:
				continue
			}
			seen++
			_, err := New(name, map[string]any{opt: 2.5})
			want := "methods: " + name + ": option " + opt + " must be an integer, not 2.5"
			if err == nil || err.Error() != want {
				t.Errorf("%s %s: 2.5: %v, want %q", name, opt, err, want)
			}
			got, err := New(name, map[string]any{opt: 2.0})
			if err != nil {
				t.Errorf("%s %s: 2.0: %v", name, opt, err)
				continue
			}
			v := fieldByOption(reflect.ValueOf(got), opt)
			var n uint64
			switch v.Kind() {
			case reflect.Int, reflect.Int64:
				n = uint64(v.Int())
			case reflect.Uint64:
				n = v.Uint()
			}
			if n != 2 {
				t.Errorf("%s %s: 2.0 gave %v", name, opt, v)
			}
		}
	}
	if seen < 12 {
		t.Errorf("only %d integer options checked", seen)
	}
	for _, c := range []struct {
		method string
		opts   map[string]any
		want   string
	}{
		{"integrated-gradients", map[string]any{"steps": 0.5}, "integrated-gradients: option steps must be an integer, not 0.5"},
		{"smoothgrad", map[string]any{"samples": 2.7}, "smoothgrad: option samples must be an integer, not 2.7"},
		{"smoothgrad", map[string]any{"method": "integrated-gradients", "options": map[string]any{"steps": 0.5}}, "integrated-gradients: option steps must be an integer, not 0.5"},
		{"occlusion", map[string]any{"patch": 1e300}, "occlusion: cannot unmarshal !!float `1e+300` into int"},
	} {
		if _, err := New(c.method, c.opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v: %v, want %q", c.method, c.opts, err, c.want)
		}
	}
}

// fieldByOption is the field of a method's struct that has the YAML name opt.
func fieldByOption(v reflect.Value, opt string) reflect.Value {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		v = v.Elem()
	}
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		name, flags, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if strings.Contains(flags, "inline") {
			if r := fieldByOption(v.Field(i), opt); r.IsValid() {
				return r
			}
		}
		if name == opt && f.IsExported() {
			r := v.Field(i)
			for r.Kind() == reflect.Pointer {
				r = r.Elem()
			}
			return r
		}
	}
	return reflect.Value{}
}
