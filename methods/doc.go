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
//	layercam               ReLU(Σ_k ReLU(∂S_c/∂A^k) ⊙ A^k) (Jiang et al. 2021)
//	hirescam               ReLU(Σ_k ∂S_c/∂A^k ⊙ A^k) (Draelos & Carin 2020)
//	xgradcam               Grad-CAM with activation-weighted gradients (Fu et al. 2020)
//	scorecam               score-weighted CAM, no gradients (Wang et al. 2020)
//	ablationcam            CAM weighted by the score drop when a channel is removed,
//	                       no gradients (Desai & Ramaswamy 2020)
//	eigencam               the activations' first principal component, class-independent
//	                       (Muhammad & Yeasin 2020)
//	fullgrad               input-gradient and every layer's bias-gradient maps, summed
//	                       (Srinivas & Fleuret 2019)
//	attention-rollout      product of head-averaged attention + identity (Abnar & Zuidema 2020)
//	occlusion              score drop under a sliding patch (Zeiler & Fergus 2013)
//	rise                   score-weighted random masks (Petsiuk et al. 2018)
//	sobol                  total Sobol' indices of a grid of mask values (Fel et al. 2021)
//	hsic                   HSIC between a grid's mask values and the score (Novello et al. 2022)
//	lime                   a weighted ridge regression on superpixels (Ribeiro et al. 2016)
//	kernel-shap            Shapley values of superpixels by Kernel SHAP (Lundberg & Lee 2017)
//	class-model            gradient ascent on a class logit (Simonyan et al. 2013)
//	feature-visualization  activation maximisation of a unit or class: pixel or
//	                       1/f Fourier parameterization, transformations,
//	                       L2, TV, diversity (Olah et al. 2017)
//	guided-ig              IG along a path that moves the features of smallest
//	                       gradient first (Kapishnikov et al. 2021)
//	blur-ig                IG along a path of Gaussian blurs (Xu et al. 2020)
//	expected-gradients, gradient-shap
//	                       IG over sampled baselines and path points (Erion et
//	                       al. 2021; Lundberg & Lee 2017, Captum's GradientShap)
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
// The same options, seed and batch give the same bytes. A batch gives the
// maps of its images one by one to float tolerance, with one exception that
// comes from TensorFlow, not from the methods: where a max-pool window holds
// two equal maxima (flat regions of an image), MaxPoolGrad routes the signal
// to the first, and the convolution's rounding, which depends on the batch
// size, can turn such a tie into a 1-ulp win of the other element. Backward
// methods then differ on those images between batch sizes (two of the eight
// golden images of fmnist_vgg and fmnist_gap, by up to a quarter of the map's
// range; see TestMaxPoolTies). For the same batch the toolkit computes what
// TensorFlow computes: the goldens, made in Python on the same batch, agree
// to the bit. Class model visualisation optimises each image in session runs
// of its own, because gradient ascent amplifies such differences; so does
// feature visualisation, except with its diversity term, which couples the
// images of a batch. [UnitValues] gives units' values over a data set (their
// top activation, which a feature visualisation's value is compared with).
//
// Vision transformers: CAM methods also take a token layer [N,T,D] and
// reshape its patch tokens to the grid [N,h,w,D] after dropping the leading
// ones (class token, registers): Target.Grid names it ("7x7+1"), or it is
// inferred from T and the input's aspect ratio when only one grid fits. The
// default CAM layer of a transformer is the input of its last attention
// layer (the norm before the last block's attention, as Grad-CAM for ViTs
// uses it): later token layers pass only the class token's gradient on. The
// gradient methods need nothing special.
//
// A method that cannot run on a model (an op without a rule, no GAP head for
// CAM) returns a *NotApplicableError, which an experiment records as a result.
package methods
