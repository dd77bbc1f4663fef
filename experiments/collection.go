package experiments

import (
	"fmt"
	"path/filepath"
	"slices"

	"github.com/saliencykit/saliency/experiments/runfolder"
)

// LoadCollection loads the experiments a collection includes, in order;
// their outputs are subfolders of out named after them.
func LoadCollection(e *Experiment, out string) (*runfolder.Collection, []*Experiment, error) {
	c := &runfolder.Collection{Name: e.Name}
	var members []*Experiment
	for _, f := range e.Include {
		m, err := Load(f)
		if err != nil {
			return nil, nil, err
		}
		if len(m.Include) > 0 {
			return nil, nil, fmt.Errorf("experiments: %s includes %s, which includes others; collections do not nest", e.File, f)
		}
		if slices.ContainsFunc(c.Members, func(x runfolder.Member) bool { return x.Name == m.Name }) {
			return nil, nil, fmt.Errorf("experiments: %s includes two experiments named %s", e.File, m.Name)
		}
		m.Output = filepath.Join(out, runfolder.SafeName(m.Name))
		c.Members = append(c.Members, runfolder.Member{Name: m.Name, File: relTo(e.Dir, f), Dir: runfolder.SafeName(m.Name)})
		members = append(members, m)
	}
	return c, members, nil
}
