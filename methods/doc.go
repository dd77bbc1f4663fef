// Package methods computes saliency maps: one file per method, each a small
// type whose fields are its options (zero values are the papers' defaults),
// registered under the name YAML experiments and the command line use.
//
//	gradient               ∂S_c/∂I (Simonyan et al. 2013)
//	gradient-x-input       I ⊙ ∂S_c/∂I (Shrikumar et al. 2016)
//	smoothgrad, squaregrad, vargrad
//	                       any input-space method averaged over noisy copies
//	                       (Smilkov et al. 2017; Adebayo et al. 2018)
//	integrated-gradients   (I − I′) ⊙ path-averaged gradient (Sundararajan et al. 2017)
//	deconvnet              backward pass with ReLU on the signal (Zeiler & Fergus 2013)
//	guided-backprop        both ReLU masks (Springenberg et al. 2014)
//	cam                    Σ_k w_k^c A^k on a GAP network (Zhou et al. 2016)
//	gradcam                ReLU(Σ_k mean(∂S_c/∂A^k) A^k) (Selvaraju et al. 2016)
//	guided-gradcam         guided-backprop ⊙ upsampled gradcam (Selvaraju et al. 2016)
//	gradcam++              pixel-weighted Grad-CAM (Chattopadhay et al. 2018)
//	scorecam               score-weighted CAM, no gradients (Wang et al. 2020)
//	layercam               ReLU(Σ_k ReLU(∂S_c/∂A^k) ⊙ A^k) (Jiang et al. 2021)
//	occlusion              score drop under a sliding patch (Zeiler & Fergus 2013)
//	class-model            gradient ascent on a class logit (Simonyan et al. 2013)
//
// A method explains a [Batch] of preprocessed images for a [Target] (classes,
// layer, score tensor) on a [Model] — *tfgraph.Flat, or a view of it with fed
// weights — and returns [Maps]: the map at input resolution, the per-channel
// attribution where the method has one, the classes and scores explained.
// Passes that a method needs many of (noisy samples, path steps, masks,
// patches) go through the batch dimension in chunks sized from a memory
// budget, never one session run per sample; single-pass methods (gradient,
// Grad-CAM, …) cost one session run per chunk of images, forward and backward
// together.
//
// A method that cannot run on a model (an op without a rule, no GAP head for
// CAM) returns a *NotApplicableError, which an experiment records as a result.
package methods
