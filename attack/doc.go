// Package attack is the targeted attack of Ghorbani et al. (2019),
// "Interpretation of neural networks is fragile", on saliency maps: within
// an L∞ ball around each image, it looks for the perturbation that keeps
// the model's prediction and moves the method's map furthest from the
// original one.
//
// For the methods whose map is a differentiable function of the input
// (methods.Differentiable: gradient, gradient-x-input, integrated-gradients,
// smoothgrad around them) it is the paper's iterative attack: signed
// gradient steps on a dissimilarity of maps (the share of the map on the
// original top-k pixels, or minus the shift of its centre of mass),
// differentiated through the map on a copy of the model whose ReLUs are
// softplus(βx)/β (tfgraph.Flat.Softplus; second-order runs,
// tfgraph.Grad.Along), each iterate checked on the real model. For the
// other methods it falls back to a derivative-free random search, and says
// so (Result.Search).
package attack
