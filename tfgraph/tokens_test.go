package tfgraph

import (
	"strings"
	"testing"
)

func TestInferGrid(t *testing.T) {
	cases := []struct {
		tokens, h, w int
		want         string
		err          string
	}{
		{50, 28, 28, "7x7+1", ""},      // the zoo's ViT: class token
		{49, 28, 28, "7x7", ""},        // pooled tokens
		{197, 224, 224, "14x14+1", ""}, // ViT-B/16
		{201, 224, 224, "14x14+5", ""}, // a class token and 4 registers
		{198, 224, 224, "14x14+2", ""}, // DeiT: class and distillation tokens
		{129, 128, 256, "8x16+1", ""},  // a wide input
		{10, 28, 28, "", "more than one patch grid"},
		{60, 28, 28, "", "do not form a patch grid"},
	}
	for _, c := range cases {
		g, err := InferGrid(c.tokens, c.h, c.w)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("InferGrid(%d, %d, %d) = %v, %v; want error %q", c.tokens, c.h, c.w, g, err, c.err)
			}
			continue
		}
		if err != nil || g.String() != c.want {
			t.Errorf("InferGrid(%d, %d, %d) = %v, %v; want %s", c.tokens, c.h, c.w, g, err, c.want)
		}
	}
}

func TestParseGrid(t *testing.T) {
	for _, c := range []struct {
		spec   string
		tokens int
		want   string
		err    string
	}{
		{"7x7", 50, "7x7+1", ""},
		{"7X7+1", 50, "7x7+1", ""},
		{"7x7", 49, "7x7", ""},
		{"7x7+2", 50, "", "does not fit 50 tokens"},
		{"6x6", 50, "6x6+14", ""},
		{"7x8", 50, "", "does not fit"},
		{"seven", 50, "", "want HxW or HxW+P"},
		{"7x7+a", 50, "", "is not a number"},
	} {
		g, err := ParseGrid(c.spec, c.tokens)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseGrid(%q, %d) = %v, %v; want error %q", c.spec, c.tokens, g, err, c.err)
			}
			continue
		}
		if err != nil || g.String() != c.want {
			t.Errorf("ParseGrid(%q, %d) = %v, %v; want %s", c.spec, c.tokens, g, err, c.want)
		}
	}
}

func TestEinsumTerms(t *testing.T) {
	for _, c := range []struct {
		eq    string
		ranks []int
		want  string
		err   string
	}{
		{"abc,cde->abde", []int{3, 3, 4}, "abc cde abde", ""},               // EinsumDense (query)
		{"aecd,abcd->acbe", []int{4, 4, 4}, "aecd abcd acbe", ""},           // attention scores
		{"acbe,aecd->abcd", []int{4, 4, 4}, "acbe aecd abcd", ""},           // attention output
		{"...b,bc->...c", []int{3, 2, 3}, "ABb bc ABc", ""},                 // ellipsis
		{"ab,bc->c", []int{2, 2, 1}, "", "sums label 'a' within operand 0"}, // a summed in A alone
		{"aab,bc->ac", []int{3, 2, 2}, "", "repeats label"},
		{"ab,bc", []int{2, 2, 2}, "", "no explicit output"},
		{"...b,bc->...c", []int{-1, 2, 3}, "", "unknown rank"},
	} {
		got, err := einsumTerms(c.eq, c.ranks...)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("einsumTerms(%q) = %v, %v; want error %q", c.eq, got, err, c.err)
			}
			continue
		}
		if err != nil || strings.Join(got[:], " ") != c.want {
			t.Errorf("einsumTerms(%q) = %v, %v; want %s", c.eq, got, err, c.want)
		}
	}
}
