// Package reports turns plain Go values (saliency maps, images, metric
// tables) into figures with gonum/plot, and writes the files of a run; it
// never imports TensorFlow (nothing from tfgraph or methods, no cgo), only
// the tensor package, so it builds and tests without the library.
//
// # Colours
//
// Saliency maps come normalised (tensor.Normalize): absolute maps in [0, 1]
// are drawn with Sequential, Moreland's black-body map from black to yellow;
// signed maps in [-1, 1] with Diverging, Moreland's smooth blue-red map,
// neutral grey at 0. ColorOf gives the colour of one value; the colour bars
// of a Grid use the same tables, so a figure and its legend always agree.
//
// # Pictures
//
// Image renders a model input [H,W,C] (display values in [0, 1]); Heatmap
// colours a map; Overlay blends a map over its input in grey, with opacity
// proportional to |saliency|, so zero saliency leaves the photo visible.
//
// # Figures
//
// A Grid is a figure of pictures in rows and columns (method × image grids;
// randomization grids of methods × layers randomized): each cell a
// plot.Plot holding a Pixels plotter (nearest-neighbour enlargement, so a
// 28×28 map stays crisp), cells placed with plot.Align, column titles and
// row labels fitted to the cells, colour bars for the maps present and an
// optional title. Grid.Save writes PNG, SVG or PDF by the file's extension.
// The golden image testdata/grid_golden.png is compared with a tolerance
// (gonum.org/v1/plot/cmpimg); go test -regen rewrites it.
//
// # Files
//
// WriteNpy (float32 .npy, byte for byte what numpy.save writes), WritePNG and
// WriteJSON write atomically: a temporary file in the same folder, renamed
// over the destination when complete.
//
// Curves, tables of metrics and the index page of a run are still to come
// (roadmap step [4/6]; see DESIGN.md).
package reports
