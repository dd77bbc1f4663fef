package reports

import (
	"strings"
)

// MethodNames maps the toolkit's method names (those methods.Register
// uses, and the names experiments give the reference maps) to the names
// the papers use, for figures and tables meant for a paper. MethodName
// reads it; a program may add its own names before it draws anything (the
// map is not safe for writes concurrent with MethodName).
var MethodNames = map[string]string{
	// Gradients (Simonyan et al. 2014; Shrikumar et al. 2016; Smilkov et
	// al. 2017; Adebayo et al. 2018; Sundararajan et al. 2017).
	"gradient":             "Gradient",
	"gradient-x-input":     "Gradient × Input",
	"smoothgrad":           "SmoothGrad",
	"squaregrad":           "SmoothGrad²",
	"vargrad":              "VarGrad",
	"integrated-gradients": "Integrated Gradients",

	// Modified backward passes (Zeiler & Fergus 2014; Springenberg et al.
	// 2015).
	"deconvnet":       "DeconvNet",
	"guided-backprop": "Guided Backprop",

	// Relevance propagation and reference-based attribution (Bach et al.
	// 2015; Shrikumar et al. 2017; Lundberg & Lee 2017).
	"lrp":      "LRP",
	"deeplift": "DeepLIFT",
	"deepshap": "DeepSHAP",

	// Class activation maps (Zhou et al. 2016; Selvaraju et al. 2017;
	// Chattopadhay et al. 2018; Jiang et al. 2021; Draelos & Carin 2020;
	// Fu et al. 2020; Wang et al. 2020; Desai & Ramaswamy 2020; Muhammad &
	// Yeasin 2020; Srinivas & Fleuret 2019).
	"cam":            "CAM",
	"gradcam":        "Grad-CAM",
	"guided-gradcam": "Guided Grad-CAM",
	"gradcam++":      "Grad-CAM++",
	"layercam":       "LayerCAM",
	"hirescam":       "HiResCAM",
	"xgradcam":       "XGrad-CAM",
	"scorecam":       "Score-CAM",
	"ablationcam":    "Ablation-CAM",
	"eigencam":       "Eigen-CAM",
	"fullgrad":       "FullGrad",

	// Perturbation and attention (Zeiler & Fergus 2014; Abnar & Zuidema
	// 2020).
	"occlusion":         "Occlusion",
	"attention-rollout": "Attention Rollout",

	// Black-box (Petsiuk et al. 2018; Fel et al. 2021; Novello et al.
	// 2022; Ribeiro et al. 2016; Lundberg & Lee 2017).
	"rise":        "RISE",
	"sobol":       "Sobol",
	"hsic":        "HSIC",
	"lime":        "LIME",
	"kernel-shap": "KernelSHAP",

	// Class model and feature visualisation (Simonyan et al. 2014; Olah
	// et al. 2017).
	"class-model":           "Class model",
	"feature-visualization": "Feature visualization",

	// Path and black-box methods (Kapishnikov et al. 2019).
	"xrai": "XRAI",
	// Path methods (Kapishnikov et al. 2021; Xu et al. 2020; Erion et al.
	// 2021; Lundberg & Lee 2017).
	"guided-ig":          "Guided IG",
	"blur-ig":            "Blur IG",
	"expected-gradients": "Expected Gradients",
	"gradient-shap":      "GradientSHAP",

	// Reference maps and orders that tests compare methods with.
	"random":        "Random map",
	"random-map":    "Random map",
	"random-order":  "Random order",
	"null":          "Null map",
	"uniform":       "Uniform map",
	"constant":      "Constant map",
	"centre":        "Centre bias",
	"center":        "Centre bias",
	"edge":          "Edge detector",
	"edge-detector": "Edge detector",
	"sobel":         "Sobel edges",
}

// MethodName returns the paper's name of a method: MethodNames[name]
// ("gradcam++" → "Grad-CAM++", "squaregrad" → "SmoothGrad²"). A second
// instance of a method, which experiments name with a number ("smoothgrad-2"),
// keeps its number: "SmoothGrad (2)". Any other name (a label the user
// chose) is returned unchanged.
func MethodName(name string) string {
	if s, ok := MethodNames[name]; ok {
		return s
	}
	if i := strings.LastIndexByte(name, '-'); i > 0 && i < len(name)-1 && strings.Trim(name[i+1:], "0123456789") == "" {
		if s, ok := MethodNames[name[:i]]; ok {
			return s + " (" + name[i+1:] + ")"
		}
	}
	return name
}

// MethodNameTeX returns MethodName(name) as LaTeX text (TeXEscape):
// "Gradient $\times$ Input", "SmoothGrad\textsuperscript{2}". Table.LaTeX
// escapes its cells itself: give it MethodName, not this.
func MethodNameTeX(name string) string { return TeXEscape(MethodName(name)) }
