// Package metrics compares saliency maps: the similarity measures of the
// sanity checks (Adebayo et al. 2018) and of the fragility test (Ghorbani et
// al. 2019). Each is one file, pure Go, computed in float64 on maps given as
// float32 slices of equal length (an image's map, row-major); those that
// need the 2-D layout take its height and width. Each is checked against
// scipy / scikit-image on the same arrays (testdata/golden.json, written by
// scripts/golden_metrics.py).
//
//	Pearson            Pearson correlation (scipy.stats.pearsonr)
//	Spearman           Spearman rank correlation, ties averaged (scipy.stats.spearmanr);
//	                   of the signed maps, or of |map| (SpearmanAbs)
//	SSIM               structural similarity, 7×7 uniform window, sample covariance,
//	                   K1 0.01, K2 0.03, the mean over the window-complete region
//	                   (skimage.metrics.structural_similarity's defaults)
//	HOG, HOGPearson    histograms of oriented gradients (skimage.feature.hog, L2-Hys) and
//	                   the Pearson correlation of two maps' features
//	TopKIntersection   the fraction of the k largest entries of |a| among those of |b|
//
// The functions above keep their historical handling of degenerate maps
// (Spearman, Pearson: NaN for a constant map; TopKIntersection: a number
// from the order of the pixels). The Measure values (Measures by name:
// SpearmanMeasure, PearsonMeasure, SSIMMeasure, HOGMeasure, TopKMeasure)
// compute the same numbers under one policy: a pair with a map that
// Degenerate does not classify OK (constant, all zero, NaN or infinite,
// empty) is not scored by any of them, CompareAll drops a pair from every
// measure when one cannot score it, and TallyResults counts why. They also
// score only the pixels of a mask: Foreground of the input (pixels not
// equal to the background in every channel) or Support of the maps, so that
// the pixels where Gradient × Input and Integrated Gradients are 0 whatever
// the model (a black background) are not counted as agreement.
// ZeroFraction, TiedFraction and LargestTie measure those ties for the
// tables (testdata/masked.json, written by testdata/golden_masked.py,
// checks the masked measures, ties and foreground against scipy,
// scikit-image and numpy).
//
// Null maps have no model in them: NullInputNoise (|input| ⊙ noise, the
// map Gradient × Input gives with the gradient replaced by noise) and
// NullRandom (one uniform value per pixel), seeded and deterministic.
// Scored with the same measure against a method's maps on the same images,
// they give the floor a score must beat (stats.CompareFloor) before it
// says anything about the model: against fmnist_vgg's Gradient × Input
// maps of golden images 1 and 5, |x·noise| scores 0.96 and 1.00 in
// Spearman of |map| on every pixel, 0.19 and 0.46 on the foreground
// (masked.json), about what the maps of a fully randomized model score.
//
// InputIndependence flags a method whose maps of different images of one
// class are identical (or identical up to scale and offset): such maps pass
// the fragility test and any comparison across inputs without looking at
// the input. Report it beside those tests.
package metrics
