package units

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/saliencykit/saliency/reports"
	"github.com/saliencykit/saliency/tensor"
	"github.com/saliencykit/saliency/tfgraph"
)

// The files of a folder that WriteDir writes.
const (
	// IndexFile is the index: per channel its top activations and figure.
	// It is written last: the folder is finished when it exists.
	IndexFile = "units.json"
	// ScanFile is the scan's state, written every CheckpointEvery images
	// and when the scan ends; WriteDir resumes from it.
	ScanFile = "scan.json"
	// ProjectionsFile and PatchesFile are the projections and the image
	// patches [channels,k,h,w,C] in the receptive field's box.
	ProjectionsFile = "projections.npy"
	PatchesFile     = "patches.npy"
)

// RowsPerFigure bounds Springenberg's figure of a layer: more channels go to
// several (rows_0, rows_1, …).
const RowsPerFigure = 32

// Index is units.json.
type Index struct {
	Model       string                 `json:"model"`
	Layer       string                 `json:"layer"`
	Tensor      string                 `json:"tensor"`
	Field       tfgraph.ReceptiveField `json:"receptive_field"`
	Data        string                 `json:"data"`
	Images      int                    `json:"images"`
	K           int                    `json:"k"`
	Project     string                 `json:"projection"`
	Patch       [2]int                 `json:"patch_size"`
	Channels    []ChannelIndex         `json:"channels"`
	Projections string                 `json:"projections,omitempty"`
	Patches     string                 `json:"patches,omitempty"`
	// Rows are Springenberg's figures (RowsPerFigure channels each), in
	// the first format.
	Rows       []string `json:"rows,omitempty"`
	Saliency   string   `json:"saliency_version"`
	TensorFlow string   `json:"tensorflow_version"`
}

// ChannelIndex is one channel of units.json: its top activations and
// Zeiler & Fergus' figure of it (in the first format).
type ChannelIndex struct {
	Channel int          `json:"channel"`
	Figure  string       `json:"figure,omitempty"`
	Top     []Activation `json:"top"`
}

// DirOptions say what WriteDir computes and how units.json names it.
type DirOptions struct {
	// Options are the scan's. Resume and Checkpoint are WriteDir's own
	// (the folder's scan.json); CheckpointEvery is taken as it is.
	Options
	// Project is the projection (ProjectorNames), or "none" for the scan
	// only (units.json and scan.json).
	Project string
	// Formats are the formats of the figures (png, svg, pdf; default png).
	// units.json names the files of the first.
	Formats []string
	// Model and Data say in units.json which model and data set were
	// scanned; Saliency is the toolkit's version.
	Model, Data, Saliency string
	// Channel, when set, is called before the projection of each channel
	// with the channels done, their total and the channel.
	Channel func(done, total, channel int)
}

// WriteDir scans src (ScanLayer), projects each channel's top activations
// (Project) and writes into dir:
//
//	channel_<c>.<format>   Zeiler & Fergus' figure of channel c (Figure)
//	rows.<format>          Springenberg et al.'s figure (Rows); rows_<i> for
//	                       more than RowsPerFigure channels
//	projections.npy        the projections [channels,k,h,w,C]
//	patches.npy            the image patches [channels,k,h,w,C] in [0,1]
//	units.json             the index (Index), written last
//	scan.json              the scan's state
//
// A scan.json in dir is resumed: a folder whose scan was killed goes on
// from its last checkpoint, with the bytes of an uninterrupted run, and a
// finished one is taken as it is. A scan.json of another layer, k, data
// set or channels is a *ResumeError. Every file is written atomically.
func WriteDir(ctx context.Context, fl *tfgraph.Flat, src Source, dir string, o DirOptions) (*Index, error) {
	if o.Project == "" {
		o.Project = "deconvnet"
	}
	if _, ok := Projectors[o.Project]; !ok && o.Project != "none" {
		return nil, fmt.Errorf("units: unknown projection %q; want one of %v or none", o.Project, ProjectorNames())
	}
	if len(o.Formats) == 0 {
		o.Formats = []string{"png"}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("units: %w", err)
	}
	statePath := filepath.Join(dir, ScanFile)
	uo := o.Options
	uo.Resume = nil
	if uo.Data == "" {
		uo.Data = o.Data // a scan resumes only over the same data
	}
	uo.Checkpoint = func(s *Scan) error { return reports.WriteJSON(statePath, s) }
	if raw, err := os.ReadFile(statePath); err == nil {
		var prev Scan
		if err := json.Unmarshal(raw, &prev); err != nil {
			return nil, fmt.Errorf("units: %s: %v (delete it to scan anew)", statePath, err)
		}
		uo.Resume = &prev
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("units: %w", err)
	}
	scan, err := ScanLayer(ctx, fl, src, uo)
	if err != nil {
		var re *ResumeError
		if errors.As(err, &re) {
			return nil, &ResumeError{Msg: fmt.Sprintf("%s: %s (delete it to scan anew)", statePath, re.Msg)}
		}
		return nil, err
	}
	if err := reports.WriteJSON(statePath, scan); err != nil {
		return nil, err
	}
	x, _, err := src.Batch(0, 1)
	if err != nil {
		return nil, err
	}
	h, w, cin := x.Shape[1], x.Shape[2], x.Shape[3]
	ph, pw := scan.PatchSize(h, w)
	idx := &Index{Model: o.Model, Layer: scan.Layer, Tensor: scan.Tensor, Field: scan.Field, Data: o.Data, Images: scan.Images,
		K: scan.K, Project: o.Project, Patch: [2]int{ph, pw}, Projections: ProjectionsFile, Patches: PatchesFile,
		Saliency: o.Saliency, TensorFlow: tfgraph.Version()}
	nc := len(scan.Channels)
	if o.Project == "none" {
		idx.Projections, idx.Patches = "", ""
		for i, ch := range scan.Channels {
			idx.Channels = append(idx.Channels, ChannelIndex{Channel: ch, Top: scan.Top[i]})
		}
		return idx, reports.WriteJSON(filepath.Join(dir, IndexFile), idx)
	}
	allMaps := tensor.New(nc, scan.K, ph, pw, cin)
	allPatches := tensor.New(nc, scan.K, ph, pw, cin)
	per := scan.K * ph * pw * cin
	ps := make([]*Projection, 0, nc)
	for i, ch := range scan.Channels {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if o.Channel != nil {
			o.Channel(i, nc, ch)
		}
		p, err := Project(ctx, fl, src, scan, i, o.Project)
		if err != nil {
			return nil, err
		}
		if p.Maps != nil {
			copy(allMaps.Data[i*per:], p.Maps.Data)
			copy(allPatches.Data[i*per:], p.Patches.Data)
		}
		ps = append(ps, p)
		e := ChannelIndex{Channel: ch, Top: p.Top}
		if len(p.Top) > 0 {
			g, err := Figure(scan, p, o.Project)
			if err != nil {
				return nil, err
			}
			for j, f := range o.Formats {
				name := fmt.Sprintf("channel_%03d.%s", ch, f)
				if j == 0 {
					e.Figure = name
				}
				if err := g.Save(filepath.Join(dir, name)); err != nil {
					return nil, err
				}
			}
		}
		idx.Channels = append(idx.Channels, e)
	}
	for lo := 0; lo < nc; lo += RowsPerFigure {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(lo+RowsPerFigure, nc)
		g, err := Rows(scan, ps[lo:hi], o.Project)
		if err != nil {
			return nil, err
		}
		for j, f := range o.Formats {
			name := "rows." + f
			if nc > RowsPerFigure {
				name = fmt.Sprintf("rows_%d.%s", lo/RowsPerFigure, f)
			}
			if j == 0 {
				idx.Rows = append(idx.Rows, name)
			}
			if err := g.Save(filepath.Join(dir, name)); err != nil {
				return nil, err
			}
		}
	}
	if err := reports.WriteNpy(filepath.Join(dir, ProjectionsFile), allMaps); err != nil {
		return nil, err
	}
	if err := reports.WriteNpy(filepath.Join(dir, PatchesFile), allPatches); err != nil {
		return nil, err
	}
	return idx, reports.WriteJSON(filepath.Join(dir, IndexFile), idx)
}

// ResumeError says that the scan to resume (Options.Resume, a folder's
// scan.json) is of another layer, k, data set or channels than the scan
// asked for.
type ResumeError struct{ Msg string }

func (e *ResumeError) Error() string { return "units: " + e.Msg }

// ParseChannels reads a list of channels and ranges, "0-15,20" (each
// channel once, in the order given); "" is nil, every channel.
func ParseChannels(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var out []int
	seen := map[int]bool{}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, fmt.Errorf("%q is not a channel or a range a-b", part)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("%q is not a range a-b with a ≤ b", part)
			}
		}
		if b-a > 1<<16 {
			return nil, fmt.Errorf("%q: too many channels", part)
		}
		for ch := a; ch <= b; ch++ {
			if !seen[ch] {
				seen[ch] = true
				out = append(out, ch)
			}
		}
	}
	return out, nil
}
