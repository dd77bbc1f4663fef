package methods

import (
	"math"

	"github.com/saliencykit/saliency/tensor"
	"gonum.org/v1/gonum/dsp/fourier"
)

// imageParam maps the parameters θ of one image to its pre-activation image
// u [H,W,C] (float64, the layout of the model's input), linearly, and pulls
// a gradient on u back to θ with the exact adjoint: the gradient of any
// J(u(θ)) is ∂J/∂θ = Pᵀ ∂J/∂u.
type imageParam interface {
	// size is the number of parameters of one image.
	size() int
	// image writes u = P θ into u.
	image(u, theta []float64)
	// adjoint writes Pᵀ g into dst.
	adjoint(dst, g []float64)
	// blur applies a Gaussian blur of sigma pixels to the image θ stands
	// for, in place on θ.
	blur(theta []float64, sigma float64)
}

// pixelParam is the identity: θ is u.
type pixelParam struct{ h, w, c int }

func (p *pixelParam) size() int                { return p.h * p.w * p.c }
func (p *pixelParam) image(u, theta []float64) { copy(u, theta) }
func (p *pixelParam) adjoint(dst, g []float64) { copy(dst, g) }

// blur blurs θ as tensor.GaussianBlur does (edges replicated), in float64.
func (p *pixelParam) blur(theta []float64, sigma float64) {
	if sigma <= 0 {
		return
	}
	tensor.BlurImage(theta, p.h, p.w, p.c, tensor.GaussianKernel64(sigma), nil)
}

// fourierParam is the Fourier parameterization of Olah et al. (2017): θ
// holds, per channel, the real and imaginary parts of the H×(W/2+1)
// coefficients of a real 2-D Fourier series (numpy's rfft2 layout), and
//
//	u[m,n,c] = Re Σ_{ky,kx} w_kx · s[ky,kx] · S_c[ky,kx] · e^{2πi(ky·m/H + kx·n/W)},
//
// with w_kx = 2 for the columns whose conjugates the half spectrum leaves
// out (1 for kx = 0 and, for even W, kx = W/2), and the scale
//
//	s = 1 / max(f, 1/max(H,W))^decay / (4·√(HW)),   f = √(fy² + fx²)
//
// in cycles per pixel: Lucid's fft_image (irfft2d of the scaled spectrum,
// times √(HW), over 4), so that a coefficient's step moves the image by
// about as much at every frequency and low frequencies dominate (the 1/f
// spectrum of natural images). The same Re(·) as numpy's irfft2 (which
// drops the imaginary parts it cannot represent) makes u real for any θ;
// the adjoint is then Pᵀ g = w ⊙ s ⊙ FFT2(g) on the half spectrum, exactly.
// With decorrelated colour (three channels), the channels of θ are Lucid's
// decorrelated colour axes and u = M·u_dec at every pixel.
type fourierParam struct {
	h, w, c  int
	kw       int       // W/2+1 columns of the half spectrum
	scale    []float64 // [H·kw]: s[ky,kx]
	weight   []float64 // [H·kw]: w_kx·s[ky,kx], the adjoint's
	blurFreq []float64 // [H·kw]: f² in cycles² per pixel², for blur
	colour   *[3][3]float64
	rows     *fourier.FFT      // real, length W
	cols     *fourier.CmplxFFT // complex, length H
	spec     []complex128      // [H·kw] work
	col      []complex128      // [H] work
	row      []float64         // [W] work
	half     []complex128      // [kw] work
	plane    []float64         // [H·W] work
}

// colourCorrelation is the square root of the colour correlation of ImageNet
// that Lucid ships (lucid/optvis/param/color.py): its columns are the
// decorrelated colour axes in RGB.
var colourCorrelation = [3][3]float64{
	{0.26, 0.09, 0.02},
	{0.27, 0.00, -0.05},
	{0.27, -0.09, 0.03},
}

// decorrelation is colourCorrelation divided by the largest norm of its
// columns, as Lucid uses it.
func decorrelation() *[3][3]float64 {
	var norm float64
	for j := 0; j < 3; j++ {
		var s float64
		for i := 0; i < 3; i++ {
			s += colourCorrelation[i][j] * colourCorrelation[i][j]
		}
		norm = max(norm, math.Sqrt(s))
	}
	var m [3][3]float64
	for i := range m {
		for j := range m[i] {
			m[i][j] = colourCorrelation[i][j] / norm
		}
	}
	return &m
}

// newFourierParam is the Fourier parameterization of H×W×C images with the
// given decay of the spectrum's scale; decorrelate applies Lucid's colour
// decorrelation (C must be 3).
func newFourierParam(h, w, c int, decay float64, decorrelate bool) *fourierParam {
	kw := w/2 + 1
	p := &fourierParam{h: h, w: w, c: c, kw: kw,
		scale: make([]float64, h*kw), weight: make([]float64, h*kw), blurFreq: make([]float64, h*kw),
		rows: fourier.NewFFT(w), cols: fourier.NewCmplxFFT(h),
		spec: make([]complex128, h*kw), col: make([]complex128, h),
		row: make([]float64, w), half: make([]complex128, kw), plane: make([]float64, h*w)}
	if decorrelate {
		p.colour = decorrelation()
	}
	floor := 1 / float64(max(h, w))
	norm := 1 / (4 * math.Sqrt(float64(h*w)))
	for ky := 0; ky < h; ky++ {
		fy := float64(ky) / float64(h)
		if ky > (h-1)/2 { // numpy's fftfreq: the upper half is negative
			fy = float64(ky-h) / float64(h)
		}
		for kx := 0; kx < kw; kx++ {
			fx := float64(kx) / float64(w)
			f2 := fy*fy + fx*fx
			wk := 2.0
			if kx == 0 || (w%2 == 0 && kx == w/2) {
				wk = 1
			}
			p.scale[ky*kw+kx] = norm / math.Pow(max(math.Sqrt(f2), floor), decay)
			p.weight[ky*kw+kx] = wk * p.scale[ky*kw+kx]
			p.blurFreq[ky*kw+kx] = f2
		}
	}
	return p
}

func (p *fourierParam) size() int { return 2 * p.c * p.h * p.kw }

// image writes u = P θ. θ is laid out [C][H][kw][re, im].
func (p *fourierParam) image(u, theta []float64) {
	h, w, c, kw := p.h, p.w, p.c, p.kw
	for ch := 0; ch < c; ch++ {
		th := theta[ch*2*h*kw : (ch+1)*2*h*kw]
		for i := range p.spec {
			p.spec[i] = complex(p.scale[i]*th[2*i], p.scale[i]*th[2*i+1])
		}
		// Along H: Σ_ky S[ky,kx] e^{2πi ky m/H}, column by column.
		for kx := 0; kx < kw; kx++ {
			for ky := 0; ky < h; ky++ {
				p.col[ky] = p.spec[ky*kw+kx]
			}
			p.cols.Sequence(p.col, p.col)
			for m := 0; m < h; m++ {
				p.spec[m*kw+kx] = p.col[m]
			}
		}
		// Along W: the real series of each row (gonum's unnormalised
		// inverse counts the left-out conjugates, w_kx, and ignores the
		// imaginary parts of kx = 0 and W/2, as Re does).
		for m := 0; m < h; m++ {
			copy(p.half, p.spec[m*kw:(m+1)*kw])
			p.rows.Sequence(p.row, p.half)
			copy(p.plane[m*w:(m+1)*w], p.row)
		}
		for i, v := range p.plane {
			u[i*c+ch] = v
		}
	}
	if p.colour != nil {
		mixColour(u, p.colour, false)
	}
}

// adjoint writes Pᵀ g.
func (p *fourierParam) adjoint(dst, g []float64) {
	h, w, c, kw := p.h, p.w, p.c, p.kw
	src := g
	if p.colour != nil {
		src = append([]float64(nil), g...)
		mixColour(src, p.colour, true)
	}
	for ch := 0; ch < c; ch++ {
		for i := range p.plane {
			p.plane[i] = src[i*c+ch]
		}
		// FFT2(g) on the half spectrum: rows (real), then columns.
		for m := 0; m < h; m++ {
			p.rows.Coefficients(p.half, p.plane[m*w:(m+1)*w])
			copy(p.spec[m*kw:(m+1)*kw], p.half)
		}
		for kx := 0; kx < kw; kx++ {
			for m := 0; m < h; m++ {
				p.col[m] = p.spec[m*kw+kx]
			}
			p.cols.Coefficients(p.col, p.col)
			for ky := 0; ky < h; ky++ {
				p.spec[ky*kw+kx] = p.col[ky]
			}
		}
		d := dst[ch*2*h*kw : (ch+1)*2*h*kw]
		for i, z := range p.spec {
			d[2*i], d[2*i+1] = p.weight[i]*real(z), p.weight[i]*imag(z)
		}
	}
}

// blur multiplies every coefficient by the transfer function of a Gaussian
// of sigma pixels, exp(−2π²σ²f²): a periodic Gaussian blur of u (colour
// mixing is per pixel, so it commutes).
func (p *fourierParam) blur(theta []float64, sigma float64) {
	if sigma <= 0 {
		return
	}
	n := p.h * p.kw
	for ch := 0; ch < p.c; ch++ {
		for i := 0; i < n; i++ {
			a := math.Exp(-2 * math.Pi * math.Pi * sigma * sigma * p.blurFreq[i])
			theta[(ch*n+i)*2] *= a
			theta[(ch*n+i)*2+1] *= a
		}
	}
}

// mixColour replaces every pixel's three channels v by M·v (or Mᵀ·v).
func mixColour(u []float64, m *[3][3]float64, transpose bool) {
	for p := 0; p+2 < len(u); p += 3 {
		a, b, c := u[p], u[p+1], u[p+2]
		for i := 0; i < 3; i++ {
			if transpose {
				u[p+i] = m[0][i]*a + m[1][i]*b + m[2][i]*c
			} else {
				u[p+i] = m[i][0]*a + m[i][1]*b + m[i][2]*c
			}
		}
	}
}
