package runfolder

import (
	"fmt"
	"strconv"
	"strings"
)

// Shard is one slice of a run's units, "k/n" on the command line (k from 1
// to n): a Slurm job array (k = SLURM_ARRAY_TASK_ID + 1 for arrays from 0)
// or a Kubernetes indexed Job (k = JOB_COMPLETION_INDEX + 1) spreads one
// experiment over n processes that share the output folder.
type Shard struct{ K, N int }

// All is the whole run.
var All = Shard{K: 1, N: 1}

// ParseShard reads "k/n".
func ParseShard(s string) (Shard, error) {
	ks, ns, ok := strings.Cut(strings.TrimSpace(s), "/")
	k, err1 := strconv.Atoi(ks)
	n, err2 := strconv.Atoi(ns)
	if !ok || err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("experiments: shard %q: want k/n, e.g. 2/8", s)
	}
	if n < 1 || k < 1 || k > n {
		return Shard{}, fmt.Errorf("experiments: shard %d/%d: want 1 ≤ k ≤ n", k, n)
	}
	return Shard{K: k, N: n}, nil
}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.K, s.N) }

// Owns says whether unit i of a run (its units in their fixed order) belongs
// to this shard: units are dealt round-robin, so every shard gets a mix of
// models and methods and the shards partition the run.
func (s Shard) Owns(i int) bool { return i%s.N == s.K-1 }
