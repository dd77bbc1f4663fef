package methods

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/saliencykit/saliency/internal/yamlcheck"
	"gopkg.in/yaml.v3"
)

// Decode returns the method registered under name with the options of a
// YAML mapping node (nil: the defaults), decoded once, from the node, into
// the fields of the method's type: an experiment file's options: go there
// as they were parsed, with no text in between. Unknown options, a number
// with a fractional part for an integer option, values of the wrong type,
// NaN or infinite floats and values the method's Validate refuses are errors
// that name them, as New's.
func Decode(name string, options *yaml.Node) (Method, error) {
	f, ok := factories[name]
	if !ok {
		return nil, fmt.Errorf("methods: unknown method %q; methods: %s", name, strings.Join(Names(), ", "))
	}
	m := f()
	if options != nil {
		if err := decodeOptions(name, options, m); err != nil {
			return nil, err
		}
	}
	if err := finiteOptions(name, reflect.ValueOf(m)); err != nil {
		return nil, err
	}
	if v, ok := m.(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// HasOption says whether the method registered under name has the option
// (a YAML field of its type): an experiment gives its seed to the methods
// that have a seed option and whose options set none.
func HasOption(name, option string) bool {
	f, ok := factories[name]
	return ok && slices.Contains(Options(f()), option)
}

// decodeOptions decodes the mapping n into m's fields.
func decodeOptions(name string, n *yaml.Node, m Method) error {
	n = yamlNode(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("methods: %s: options must be a mapping", name)
	}
	t := reflect.TypeOf(m)
	if err := integerOptions(name, n, t); err != nil {
		return err
	}
	// yaml.Node.Decode has no KnownFields: the unknown keys are found on the
	// node, and listed with the decoder's errors in the node's order.
	var msgs []string
	for _, u := range yamlcheck.Unknown(n, t) {
		msgs = append(msgs, fmt.Sprintf("line %d: field %s not found in type %s", u.Key.Line, u.Key.Value, u.Type))
	}
	err := n.Decode(m)
	var te *yaml.TypeError
	switch {
	case errors.As(err, &te):
		msgs = append(msgs, te.Errors...)
	case err != nil:
		return fmt.Errorf("methods: %s: %s", name, optionError(err, m))
	}
	if len(msgs) == 0 {
		return nil
	}
	sort.SliceStable(msgs, func(i, j int) bool { return msgLine(msgs[i]) < msgLine(msgs[j]) })
	e := &OptionError{Method: name, Msg: optionError(&yaml.TypeError{Errors: msgs}, m)}
	// The options named, in order: the unknown ones, then those whose
	// values do not decode into their fields on their own (the decoder's
	// messages name a line and a Go type, not the option).
	for _, u := range yamlcheck.Unknown(n, t) {
		e.Options = append(e.Options, u.Key.Value)
	}
	if te != nil {
		fields := yamlcheck.Fields(t)
		for _, kv := range pairs(n) {
			if ft, ok := fields[kv[0].Value]; ok && kv[1].Decode(reflect.New(ft).Interface()) != nil {
				e.Options = append(e.Options, kv[0].Value)
			}
		}
	}
	return e
}

// OptionError is an error in a method's options: unknown ones, values of
// the wrong type, integers written with a fraction, non-finite numbers.
// Options names the options at fault, in the order of the options (for an
// experiment file to point at their lines), or none when the decoder does
// not say which it could not read; the message is Error's, as before the
// type existed. The range checks of each method's Validate return it too,
// naming the options whose values are out of range (or conflict).
type OptionError struct {
	Method  string
	Options []string
	Msg     string
}

// Error is "methods: <method>: <what is wrong>".
func (e *OptionError) Error() string { return fmt.Sprintf("methods: %s: %s", e.Method, e.Msg) }

// optionErr is the *OptionError of method about options opts.
func optionErr(method string, opts []string, format string, a ...any) error {
	return &OptionError{Method: method, Options: opts, Msg: fmt.Sprintf(format, a...)}
}

// atFault lists the options opts[i] whose bad[i] is set.
func atFault(opts []string, bad ...bool) []string {
	var out []string
	for i, b := range bad {
		if b {
			out = append(out, opts[i])
		}
	}
	return out
}

// msgLine is the line of a decoder's message "line N: …" (0 without one).
func msgLine(msg string) int {
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, _, ok := strings.Cut(rest, ":"); ok {
			if l, err := strconv.Atoi(n); err == nil {
				return l
			}
		}
	}
	return 0
}

// yamlNode follows a document to its content and an alias to its anchor.
func yamlNode(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// pairs are the keys and values of a mapping, merged mappings (<<) first
// and overridden by the mapping's own keys, sorted by key.
func pairs(n *yaml.Node) [][2]*yaml.Node {
	byKey := map[string][2]*yaml.Node{}
	var merge func(m *yaml.Node, own bool)
	merge = func(m *yaml.Node, own bool) {
		m = yamlNode(m)
		if m.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			if k.Tag == "!!merge" {
				continue
			}
			if _, set := byKey[k.Value]; own || !set {
				byKey[k.Value] = [2]*yaml.Node{k, v}
			}
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k, v := n.Content[i], n.Content[i+1]; k.Tag == "!!merge" {
			if v = yamlNode(v); v.Kind == yaml.SequenceNode {
				for _, c := range v.Content {
					merge(c, false)
				}
			} else {
				merge(v, false)
			}
		}
	}
	merge(n, true)
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([][2]*yaml.Node, len(keys))
	for i, k := range keys {
		out[i] = byKey[k]
	}
	return out
}

// integerOptions rejects a number with a fractional part given to an
// integer option (in a list or a nested struct too): YAML's decoder would
// truncate it, so that samples: 2.7 ran 2 samples and steps: 0.5 the default
// 50, while plan.json recorded 2.7 and 0.5. An integral number written as a
// float (2.0, 1e3, or any number read back from JSON) is that integer. The
// options are checked in the order of their names; the first is reported.
func integerOptions(method string, n *yaml.Node, t reflect.Type) error {
	fields := yamlcheck.Fields(t)
	for _, kv := range pairs(n) {
		ft, ok := fields[kv[0].Value]
		if !ok {
			continue // the decoder names the unknown option
		}
		if msg := integerValue(ft, kv[1]); msg != "" {
			return &OptionError{Method: method, Options: []string{kv[0].Value}, Msg: fmt.Sprintf("option %s must be %s", kv[0].Value, msg)}
		}
	}
	return nil
}

// integerValue says what n, the value of an option of type t, must be
// instead ("" when it is fine): an integer where t is an integer type.
func integerValue(t reflect.Type, n *yaml.Node) string {
	n = yamlNode(n)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!float" {
			return "" // integers; other types are the decoder's errors
		}
		var f float64
		if n.Decode(&f) != nil {
			return ""
		}
		if f != math.Trunc(f) || math.IsInf(f, 0) {
			return fmt.Sprintf("an integer, not %v", f)
		}
	case reflect.Slice, reflect.Array:
		if n.Kind == yaml.SequenceNode {
			for i, x := range n.Content {
				if msg := integerValue(t.Elem(), x); msg != "" {
					var v any
					x.Decode(&v)
					return fmt.Sprintf("a list of integers (item %d: %v)", i+1, v)
				}
			}
		}
	case reflect.Struct:
		if n.Kind == yaml.MappingNode {
			fields := yamlcheck.Fields(t)
			for _, kv := range pairs(n) {
				if ft, ok := fields[kv[0].Value]; ok {
					if msg := integerValue(ft, kv[1]); msg != "" {
						return fmt.Sprintf("a mapping whose %s is %s", kv[0].Value, msg)
					}
				}
			}
		}
	}
	return ""
}
