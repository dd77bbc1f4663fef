package runfolder

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/saliencykit/saliency/reports"
)

// CollectionFileName marks the folder of a collection (an experiment that
// includes others): its members, each run in a subfolder.
const CollectionFileName = "collection.json"

// Collection is what collection.json holds.
type Collection struct {
	Name    string   `json:"name"`
	Members []Member `json:"members"`
}

// Member is one included experiment and its run folder (relative).
type Member struct {
	Name string `json:"name"`
	File string `json:"file"`
	Dir  string `json:"dir"`
}

// WriteCollectionFile writes collection.json into out.
func (c *Collection) WriteCollectionFile(out string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("experiments: %w", err)
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return WriteIfChanged(filepath.Join(out, CollectionFileName), append(b, '\n'))
}

// ReadCollection reads a collection folder's collection.json; it is
// os.ErrNotExist (wrapped) for a plain run folder.
func ReadCollection(dir string) (*Collection, error) {
	b, err := os.ReadFile(filepath.Join(dir, CollectionFileName))
	if err != nil {
		return nil, err
	}
	var c Collection
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("experiments: %s: %w", filepath.Join(dir, CollectionFileName), err)
	}
	return &c, nil
}

// WriteIfChanged writes b to path atomically (reports.WriteFile) unless the
// file already holds b, so that a file every process of a run writes keeps
// its time stamp.
func WriteIfChanged(path string, b []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, b) {
		return nil
	}
	return reports.WriteFile(path, b)
}
