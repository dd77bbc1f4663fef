// Package segment computes superpixel segmentations of images in pure Go:
// Felzenszwalb and Huttenlocher's graph-based segmentation, SLIC (Achanta et
// al.) and quick shift (Vedaldi and Soatto), with the semantics of
// scikit-image 0.25.2's skimage.segmentation.felzenszwalb, slic and quickshift
// (checked against them on the zoo's images and three photographs: adjusted
// Rand index ≥ 0.99, see TestSkimageGoldens).
//
// Images are float32 slices in HWC order (height, width, channels; c = 1 or
// 3), with values as scikit-image's img_as_float gives them: [0, 1] for 8-bit
// images. A segmentation is a Labels value. The package links no TensorFlow
// and no cgo; black-box attribution methods (XRAI, LIME, KernelSHAP) use it
// for their regions.
package segment
