// Package yamlcheck finds what gopkg.in/yaml.v3 lets pass in silence or
// reports in terms a user cannot act on: a second document (Unmarshal reads
// the first and drops the rest), a number with a fractional part decoded into
// an integer (truncated), and a tab in a line's indentation (reported as
// "found character that cannot start any token", often on the line before).
package yamlcheck

import (
	"bytes"
	"errors"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Decode parses the first document of raw into a node. A second document
// with content is a *SecondDocumentError; a syntax error is returned as the
// parser gives it (see Line and Tab). An empty raw gives an empty node.
func Decode(raw []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, err
	case len(next.Content) > 0 && next.Content[0].Tag != "!!null":
		return nil, &SecondDocumentError{Line: next.Line, Column: next.Column}
	}
	return &doc, nil
}

// SecondDocumentError says where a second YAML document starts.
type SecondDocumentError struct{ Line, Column int }

func (e *SecondDocumentError) Error() string {
	return "a second YAML document starts here (---)"
}

// Line splits a yaml.v3 syntax error "yaml: line N: msg" into N and msg (0
// and the whole message when it names no line).
func Line(err error) (int, string) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if after, ok := strings.CutPrefix(msg, "line "); ok {
		if n, rest, ok := strings.Cut(after, ":"); ok {
			if v, err := strconv.Atoi(n); err == nil {
				return v, strings.TrimSpace(rest)
			}
		}
	}
	return 0, msg
}

// Tab finds a tab in the indentation of the line a syntax error reports, or
// of the line after or before it (the parser reports the tab's line or the
// one before): its 1-based line and column.
func Tab(raw []byte, line int) (l, col int, ok bool) {
	lines := strings.Split(string(raw), "\n")
	for _, l := range []int{line, line + 1, line - 1} {
		if l < 1 || l > len(lines) {
			continue
		}
		text := lines[l-1]
		indent := text[:len(text)-len(strings.TrimLeft(text, " \t"))]
		if i := strings.IndexByte(indent, '\t'); i >= 0 {
			return l, i + 1, true
		}
	}
	return 0, 0, false
}

// Fractional finds, in a node decoded into a value of type t, the first
// number with a fractional part where t holds an integer: yaml.v3 would
// truncate it. An integral float (28.0) is that integer. It returns the node
// and the path of keys to it ("input.shape[2]"), or nil.
func Fractional(n *yaml.Node, t reflect.Type) (*yaml.Node, string) {
	return fractional(n, t, "")
}

func fractional(n *yaml.Node, t reflect.Type, path string) (*yaml.Node, string) {
	for n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!float" {
			if f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64); err != nil || f != math.Trunc(f) || math.IsInf(f, 0) {
				return n, path
			}
		}
	case reflect.Slice, reflect.Array:
		if n.Kind == yaml.SequenceNode {
			for i, c := range n.Content {
				if bad, p := fractional(c, t.Elem(), path+"["+strconv.Itoa(i)+"]"); bad != nil {
					return bad, p
				}
			}
		}
	case reflect.Map:
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if bad, p := fractional(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value)); bad != nil {
					return bad, p
				}
			}
		}
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			break
		}
		fields := Fields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			if ft, ok := fields[n.Content[i].Value]; ok {
				if bad, p := fractional(n.Content[i+1], ft, join(path, n.Content[i].Value)); bad != nil {
					return bad, p
				}
			}
		}
	}
	return nil, ""
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// Fields maps the YAML names of a struct's fields (inline structs' included)
// to their types.
func Fields(t reflect.Type) map[string]reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	out := map[string]reflect.Type{}
	if t.Kind() != reflect.Struct {
		return out
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, flags, _ := strings.Cut(tag, ",")
		switch {
		case tag == "-" || !f.IsExported():
		case strings.Contains(flags, "inline"):
			for k, v := range Fields(f.Type) {
				out[k] = v
			}
		case name == "":
			out[strings.ToLower(f.Name)] = f.Type
		default:
			out[name] = f.Type
		}
	}
	return out
}

// UnknownKey is a key of a mapping that names no field of the struct it is
// decoded into.
type UnknownKey struct {
	Key  *yaml.Node
	Type reflect.Type // the struct
}

// Unknown finds, in a node decoded into a value of type t, the keys that
// name no field of the struct they are decoded into, in the node's order:
// what a yaml.Decoder with KnownFields reports, which yaml.Node.Decode cannot
// (it has no such setting). Merge keys (<<) are followed.
func Unknown(n *yaml.Node, t reflect.Type) []UnknownKey {
	var out []UnknownKey
	unknown(n, t, &out)
	return out
}

func unknown(n *yaml.Node, t reflect.Type, out *[]UnknownKey) {
	for n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		if n.Kind == yaml.SequenceNode {
			for _, c := range n.Content {
				unknown(c, t.Elem(), out)
			}
		}
	case reflect.Map:
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				unknown(n.Content[i+1], t.Elem(), out)
			}
		}
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			break
		}
		fields := Fields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Tag == "!!merge" {
				// <<: *base or <<: [*a, *b]: the merged mappings' keys.
				if v.Kind == yaml.SequenceNode {
					for _, c := range v.Content {
						unknown(c, t, out)
					}
				} else {
					unknown(v, t, out)
				}
				continue
			}
			if ft, ok := fields[k.Value]; ok {
				unknown(v, ft, out)
			} else {
				*out = append(*out, UnknownKey{Key: k, Type: t})
			}
		}
	}
}
