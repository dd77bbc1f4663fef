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
// For a paper, a cell may have a caption below it (the class and logit of
// the input), the columns a grey note under their titles ("top-1 agrees
// 20/20"), SelectColumns keeps the columns PickColumns spreads over a deep
// model's layers, and Width lays the grid out at a paper's column or text
// width with no text below 7 points (SmallestFont measures it for any
// figure; testdata/paper_grid_golden.png).
// The golden image testdata/grid_golden.png is compared with a tolerance
// (gonum.org/v1/plot/cmpimg); go test -regen rewrites it.
//
// Curves is a figure of metric curves with confidence bands, as in Adebayo
// et al. 2018, Fig. 4: one panel per metric (side by side, or wrapped in
// rows), one line per method with a marker at each step and a translucent
// band between the interval's bounds, a method drawn alike in every panel,
// one legend below the panels, the x labels (the layers randomized) turned
// by 45° when long, the panels widening with their number. NaN leaves a gap.
// Its golden image is testdata/curves_golden.png. Curves and Grid share the
// font (Liberation Sans) and its sizes, so a report's figures look alike.
//
// For a paper, a Curves panel may carry horizontal reference lines
// (HLine: a threshold, a tolerance) and bands (HBand: a null floor, grey
// or in a series' colour), named in the legend or annotated right of the
// panel, and a log y axis (LogY) labelled at the powers of ten whose
// lowest tick, "≤10⁻⁸", stands for the zeros clamped there. A Palette
// tells a dozen series apart for every reader (ColorBlind: Okabe–Ito
// colours, markers and dashes cycling independently), and Dodge moves
// series with equal values apart so each marker shows; Dots take the
// Palette too. testdata/paper_curves_golden.png shows them all.
//
// Dots is a categorical dot-and-whisker figure for per-method scores with
// confidence intervals (pointing game, energy pointing game, mask AUC,
// faithfulness AUCs, the final similarity of each method): the categories
// (methods) on the x axis, every other one shaded, one point per series on
// a whisker from Lo to Hi, the series of a category side by side, an
// optional dashed reference line (the score of a random map) labelled at
// its right end. It shares Curves' layout code: panels wrapped in rows,
// labels turned by 45° when long, the y ticks, the zero line, the colours
// and markers of a series name, and the legend below the panels, drawn
// only for more than one series name. A Dots panel takes a Curves panel's
// reference lines and bands and its log y axis too (for relative
// differences of 1e-7 beside a 1% tolerance). Its golden images are
// testdata/dots_golden.png and, with those, testdata/dots_log_golden.png.
//
// Every figure format is byte for byte the same from run to run, as
// experiment reports are compared so. PNG and SVG are by nature. For PDF,
// importing reports sets fpdf's defaults for every document of the program:
// creation and modification dates of 1 January 2026 (not the time of
// writing) and sorted catalogs; and the package rewrites each PDF with its
// images in a fixed order, which fpdf leaves to a Go map. It also mends two
// faults of gonum's PDF canvas: text is encoded in Windows-1252, as its
// fonts are (characters beyond, such as ρ, are drawn as glyph outlines),
// and translucent colours are no longer darkened.
//
// # Tables and pages
//
// A Table of formatted cells is written as CSV (encoding/csv), LaTeX
// (booktabs, ready for \input, text escaped by TeXEscape), a GitHub
// Markdown pipe table or HTML. In LaTeX it is a table float, or as its TeX
// field asks a table* across both columns of a paper (shrunk to the text
// width if wider) or a table split over pages (longtable, supertabular);
// make test-latex compiles each in a two-column article. No format writes
// a negative zero ("-0.00" is written "0.00", TrimNegativeZeros).
// FormatFixed and FormatInterval format numbers for cells: "0.86 [0.81,
// 0.90]" with no-break spaces for a narrow HTML column. In HTML a table
// may have a class ("compact") and its cells classes, such as the colours
// of a Verdict; TableStyle styles them. MethodName gives the papers' names
// of the methods ("gradcam++" → "Grad-CAM++") for legends and tables.
//
// A Page, the index of a run, is blocks of headings, text, figures with
// captions, tables and links, written as index.md and as a self-contained
// index.html whose figures are embedded as data: URLs.
//
// # Files
//
// WriteNpy (float32 .npy, byte for byte what numpy.save writes), WritePNG,
// WriteJSON and WriteFile write atomically: a temporary file in the same folder, renamed
// over the destination when complete; so do the Save methods of figures,
// tables and pages.
package reports
