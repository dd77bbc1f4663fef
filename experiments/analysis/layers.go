package analysis

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/saliencykit/saliency/experiments/runfolder"
	"github.com/saliencykit/saliency/reports"
)

// projectionNames are the projections as the report names them, with
// their source.
var projectionNames = map[string][2]string{
	"deconvnet":       {"DeconvNet", "DeconvNet (Zeiler & Fergus 2014)"},
	"guided-backprop": {"guided backprop", "guided backprop (Springenberg et al. 2015)"},
	"gradient":        {"gradient", "the gradient"},
}

// layerIndex is what the report reads of a layer's units.json
// (units.Index).
type layerIndex struct {
	Layer    string `json:"layer"`
	Images   int    `json:"images"`
	K        int    `json:"k"`
	Project  string `json:"projection"`
	Patch    [2]int `json:"patch_size"`
	Channels []struct {
		Channel int    `json:"channel"`
		Figure  string `json:"figure"`
	} `json:"channels"`
	Projections string   `json:"projections"`
	Patches     string   `json:"patches"`
	Rows        []string `json:"rows"`
}

// dataPhrase says which images a layer's units were found in.
func dataPhrase(d runfolder.PlanData, images int) string {
	src := map[string]string{"fashion-mnist": "the Fashion-MNIST test set", "folder": "the folder " + d.Path, "scatter": "the scatter set " + d.Path}[d.Source]
	if d.Count > 0 {
		return fmt.Sprintf("%d images drawn with seed %d from %s", images, d.Seed, src)
	}
	return fmt.Sprintf("all %d images of %s", images, src)
}

// layersSection is the report's section of the layers' units: per entry,
// a sentence saying what was computed, Springenberg's rows figure and links
// to Zeiler & Fergus' figure of each channel and to the files.
func (rd *runData) layersSection() ([]reports.Block, error) {
	pf := rd.pf
	blocks := []reports.Block{{Heading: "What the layers look for", Text: []string{
		"For each channel of a layer, the images of a data set on which it responds most (the channel's largest activation over the positions, as Zeiler & Fergus 2014 rank them; a dense layer's neuron itself), each cut to the receptive field of that activation, beside the projection of that activation alone back to the input, every other activation of the layer set to zero. Projections are shown each on its own scale, zero as mid-grey. Rows: channels; left: the projections, strongest first; right: the image patches they come from.",
	}}}
	for li, pl := range pf.Layers {
		dir := filepath.ToSlash(pf.LayerDir(li))
		var idx layerIndex
		if err := rd.readEvalUnit(runfolder.Unit{Model: pf.ModelIndex(pl.Model), Kind: "units", Layer: li}, &idx); err != nil {
			return nil, err
		}
		text := fmt.Sprintf("%s, layer %s: %s, each with its top %d of %s, projected with %s. The receptive field of the layer's units is %s (size and stride in input pixels); the patches are %d×%d pixels.",
			pl.Model, idx.Layer, plural(len(idx.Channels), "channel", "channels"), idx.K, dataPhrase(pl.Data, idx.Images), projectionNames[idx.Project][1], pl.Field, idx.Patch[0], idx.Patch[1])
		var chLinks []reports.Link
		for _, ch := range idx.Channels {
			if ch.Figure != "" {
				chLinks = append(chLinks, reports.Link{Text: fmt.Sprintf("ch %d", ch.Channel), Href: dir + "/" + ch.Figure})
			}
		}
		files := []reports.Link{{Text: runfolder.LayerIndexFile, Href: dir + "/" + runfolder.LayerIndexFile}}
		if idx.Projections != "" {
			files = append(files, reports.Link{Text: idx.Projections, Href: dir + "/" + idx.Projections}, reports.Link{Text: idx.Patches, Href: dir + "/" + idx.Patches})
		}
		for ri, rows := range idx.Rows {
			b := reports.Block{Figure: dir + "/" + rows}
			lo, hi := ri*runfolder.LayerRowsPerFigure, min((ri+1)*runfolder.LayerRowsPerFigure, len(idx.Channels))
			b.Caption = fmt.Sprintf("%s %s: channels %d to %d, as Springenberg et al. (2015) show a layer: the top %d images of each, %s projections (left), patches (right).",
				pl.Model, idx.Layer, idx.Channels[lo].Channel, idx.Channels[hi-1].Channel, idx.K, projectionNames[idx.Project][0])
			for _, f := range pf.Figures {
				if f != "png" {
					b.Links = append(b.Links, reports.Link{Text: strings.ToUpper(f), Href: dir + "/" + strings.TrimSuffix(rows, ".png") + "." + f})
				}
			}
			if ri == 0 {
				b.Text = []string{text}
			}
			blocks = append(blocks, b)
		}
		if len(idx.Rows) == 0 {
			blocks = append(blocks, reports.Block{Text: []string{text}})
		}
		blocks = append(blocks, reports.Block{Text: []string{fmt.Sprintf("Zeiler & Fergus' figure of each channel of %s %s (projections left, patches right), and the files:", pl.Model, idx.Layer)},
			Links: append(chLinks, files...)})
	}
	return blocks, nil
}

// plural is "1 <one>" or "n <many>".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
