package runfolder

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// UnitResult is the .json file of a finished unit; its maps [N,H,W] are in
// the .npy file beside it. The .json file is written last: a unit is
// finished when it exists.
type UnitResult struct {
	Model  string   `json:"model"`
	Step   string   `json:"step"`
	Method string   `json:"method"`
	Images []string `json:"images"`
	// NotApplicable, when set, says why the method does not apply to the
	// model; there is no .npy file then.
	NotApplicable string    `json:"not_applicable,omitempty"`
	Classes       []int     `json:"classes,omitempty"`
	Scores        []float32 `json:"scores,omitempty"`
	Layer         string    `json:"layer,omitempty"`
	Signed        bool      `json:"signed"`
	// Predicted are the classes the model predicts for the unit's inputs
	// when they are perturbed (fragility steps) or the model is randomized
	// (randomization steps: the proof that the randomization changed the
	// model).
	Predicted []int                 `json:"predicted,omitempty"`
	Info      map[string][]*float64 `json:"info,omitempty"`
	// Attack says how a targeted-attack unit searched (attack.Search):
	// "gradient, softplus β = 10", or "random-search (why)".
	Attack string `json:"attack,omitempty"`
}

// PlanFileName is the plan in a run folder.
const PlanFileName = "plan.json"

// RemoveTempFiles removes the temporary files directly in dir.
func RemoveTempFiles(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !e.IsDir() && IsTemp(e.Name()) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// RemoveTempTree removes the temporary files under dir, in every subfolder.
func RemoveTempTree(dir string) {
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && IsTemp(d.Name()) {
			os.Remove(path)
		}
		return nil
	})
}

// IsTemp says whether a file name is an atomic writer's temporary file.
func IsTemp(name string) bool { return strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".tmp") }

// ReadPlan reads the plan.json of a run folder.
func ReadPlan(dir string) (*PlanFile, error) {
	b, err := os.ReadFile(filepath.Join(dir, PlanFileName))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("experiments: %s is not a run folder (no %s; 'saliency run' writes it)", dir, PlanFileName)
		}
		return nil, fmt.Errorf("experiments: %w", err)
	}
	var pf PlanFile
	if err := json.Unmarshal(b, &pf); err != nil {
		return nil, fmt.Errorf("experiments: %s: %w", filepath.Join(dir, PlanFileName), err)
	}
	if pf.Batch < 1 || len(pf.Models) == 0 || (len(pf.Images) == 0 || len(pf.Methods) == 0) && len(pf.Layers) == 0 {
		return nil, fmt.Errorf("experiments: %s: incomplete plan", filepath.Join(dir, PlanFileName))
	}
	return &pf, nil
}

// Missing lists the units of a run folder that are not finished, by name.
func Missing(dir string) ([]string, error) {
	pf, err := ReadPlan(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, u := range pf.Units() {
		if !fileExists(filepath.Join(dir, pf.UnitPath(u)+".json")) {
			out = append(out, pf.UnitName(u))
		}
	}
	return out, nil
}

// MissingError lists the unfinished units of a run.
type MissingError struct {
	Dir   string
	Units []string
}

func (e *MissingError) Error() string {
	show := e.Units[:min(len(e.Units), 10)]
	more := ""
	if len(e.Units) > len(show) {
		more = fmt.Sprintf("\n  … and %d more", len(e.Units)-len(show))
	}
	n := fmt.Sprintf("%d units are", len(e.Units))
	if len(e.Units) == 1 {
		n = "1 unit is"
	}
	return fmt.Sprintf("experiments: %s: %s not finished (run 'saliency run' again, or the missing shards):\n  %s%s",
		e.Dir, n, strings.Join(show, "\n  "), more)
}

// FaithfulnessResult is the .json file of a faithfulness unit: the deletion
// and insertion curves (Petsiuk et al. 2018) of each image of a batch, the
// probability of the explained class as the pixels the map ranks first are
// deleted (set to black) or inserted (into the blurred image), and their
// areas.
type FaithfulnessResult struct {
	Model         string      `json:"model"`
	Method        string      `json:"method"`
	Images        []string    `json:"images"`
	NotApplicable string      `json:"not_applicable,omitempty"`
	Classes       []int       `json:"classes,omitempty"`
	Deletion      [][]float64 `json:"deletion,omitempty"`
	Insertion     [][]float64 `json:"insertion,omitempty"`
	DeletionAUC   []float64   `json:"deletion_auc,omitempty"`
	InsertionAUC  []float64   `json:"insertion_auc,omitempty"`
}

// BlurSigma is the σ of insertion's blurred start for h×w images.
func (t PlanTest) BlurSigma(h, w int) float64 {
	if t.Blur > 0 {
		return t.Blur
	}
	return max(1, 5*float64(max(h, w))/224)
}

// ROADResult is the .json file of a ROAD unit (Rong et al. 2022, Remove And
// Debias): for each image the probability of the explained class after the
// most relevant (MoRF) or least relevant (LeRF) share of pixels is removed
// and filled by noisy linear imputation, at each fraction.
type ROADResult struct {
	Model         string      `json:"model"`
	Method        string      `json:"method"`
	Images        []string    `json:"images"`
	NotApplicable string      `json:"not_applicable,omitempty"`
	Classes       []int       `json:"classes,omitempty"`
	MoRF          [][]float64 `json:"morf,omitempty"`
	LeRF          [][]float64 `json:"lerf,omitempty"`
}

// Test is the plan's test of the kind, if it has one.
func (pf *PlanFile) Test(kind string) (PlanTest, bool) {
	i := slices.IndexFunc(pf.Tests, func(t PlanTest) bool { return t.Kind == kind })
	if i < 0 {
		return PlanTest{}, false
	}
	return pf.Tests[i], true
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
