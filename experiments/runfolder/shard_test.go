package runfolder

import (
	"strings"
	"testing"
)

func TestShards(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{"1/1", "1/1", ""}, {" 3/8 ", "3/8", ""},
		{"0/4", "", "want 1 ≤ k ≤ n"}, {"5/4", "", "want 1 ≤ k ≤ n"}, {"1/0", "", "want 1 ≤ k ≤ n"},
		{"2", "", "want k/n"}, {"a/b", "", "want k/n"},
	} {
		s, err := ParseShard(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseShard(%q) = %v, %v; want error %q", c.in, s, err, c.err)
			}
			continue
		}
		if err != nil || s.String() != c.want {
			t.Errorf("ParseShard(%q) = %v, %v", c.in, s, err)
		}
	}
	// 3 shards partition 100 units: each unit in exactly one, sizes 34/33/33.
	owners := make([]int, 100)
	for k := 1; k <= 3; k++ {
		n := 0
		for i := range owners {
			if (Shard{K: k, N: 3}).Owns(i) {
				owners[i]++
				n++
			}
		}
		if n < 33 || n > 34 {
			t.Errorf("shard %d/3 has %d units", k, n)
		}
	}
	for i, o := range owners {
		if o != 1 || !All.Owns(i) {
			t.Fatalf("unit %d is in %d shards", i, o)
		}
	}
}
