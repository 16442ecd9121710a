package nn

import (
	"fmt"
	"math"

	"github.com/digitnet/digitnet/tensor"
)

// Loss compares a batch of network outputs [N K] with class labels. Targets are the
// one-hot encodings of the labels: t[n,k] = 1 when k = label[n], else 0; with a single
// output (K = 1, a binary classifier) the target is the label itself, 0 or 1. Every loss is
// the per-example sum over the K outputs, averaged over the N examples of the batch, so
// gradients carry a 1/N factor and a learning rate means the same at any batch size.
type Loss interface {
	String() string
	// Forward returns the mean loss of the batch and keeps what Backward needs.
	Forward(out *tensor.Tensor, labels []int) float64
	// Backward returns dL/dout for the last Forward.
	Backward() *tensor.Tensor
	// FromLogits reports whether the loss takes pre-activation values (a fused loss), in
	// which case the network's output function is applied only at inference.
	FromLogits() bool
}

// lossBase holds what every loss keeps between Forward and Backward.
type lossBase struct {
	out    *tensor.Tensor
	labels []int
	grad   *tensor.Tensor
}

// Outlier is the label of an example that belongs to none of the classes (a letter or a
// scribble shown to a digit classifier). SoftmaxCrossEntropy trains it towards the
// uniform distribution over the K classes, "outlier exposure" (Hendrycks et al. 2019,
// arXiv:1812.04606), so that what is none of the classes gets low confidence in all of
// them; the other losses refuse it.
const Outlier = -1

// keep checks a batch and keeps it for Backward; outliers says whether the loss takes
// Outlier labels.
func (b *lossBase) keep(name string, out *tensor.Tensor, labels []int, outliers bool) (N, K int) {
	N, K = out.Rows(), out.Cols()
	if len(out.Shape) != 2 || len(labels) != N {
		panic(fmt.Sprintf("nn: %s: output %s with %d labels, want [N K] and N labels", name, tensor.ShapeString(out.Shape), len(labels)))
	}
	for n, l := range labels {
		if l == Outlier && !outliers {
			panic(fmt.Sprintf("nn: %s: example %d is an outlier (label %d), which only softmax+ce trains", name, n, l))
		}
		if (l < 0 && l != Outlier) || l >= max(K, 2) {
			panic(fmt.Sprintf("nn: %s: label %d of example %d outside [0,%d)", name, l, n, max(K, 2)))
		}
	}
	b.out, b.labels = out, labels
	if b.grad == nil {
		b.grad = tensor.New(0)
	}
	b.grad.Resize(N, K)
	return N, K
}

// target is t[n,k] for an example of class label among K outputs.
func target(K, k, label int) float32 {
	if K == 1 {
		return float32(label)
	}
	if k == label {
		return 1
	}
	return 0
}

// MSE is the squared error ½Σ_k (a_k - t_k)² on the outputs a.
type MSE struct{ lossBase }

func (*MSE) String() string   { return "mse" }
func (*MSE) FromLogits() bool { return false }

func (l *MSE) Forward(out *tensor.Tensor, labels []int) float64 {
	N, K := l.keep("mse", out, labels, false)
	var sum float64
	for n := 0; n < N; n++ {
		for k := 0; k < K; k++ {
			d := float64(out.Data[n*K+k] - target(K, k, labels[n]))
			sum += d * d
		}
	}
	return sum / 2 / float64(N)
}

// Backward: da = (a - t)/N.
func (l *MSE) Backward() *tensor.Tensor {
	N, K := l.out.Rows(), l.out.Cols()
	inv := 1 / float32(N)
	for n := 0; n < N; n++ {
		for k := 0; k < K; k++ {
			l.grad.Data[n*K+k] = (l.out.Data[n*K+k] - target(K, k, l.labels[n])) * inv
		}
	}
	return l.grad
}

// probEps keeps log() finite on outputs that saturated to exactly 0 or 1.
const probEps = 1e-7

// BCE is binary cross-entropy on probabilities a in (0,1), one independent yes/no per
// output: -Σ_k [t_k·log a_k + (1-t_k)·log(1-a_k)]. After a sigmoid prefer SigmoidBCE,
// which is the same loss computed stably from the logits.
type BCE struct{ lossBase }

func (*BCE) String() string   { return "bce" }
func (*BCE) FromLogits() bool { return false }

func (l *BCE) Forward(out *tensor.Tensor, labels []int) float64 {
	N, K := l.keep("bce", out, labels, false)
	var sum float64
	for n := 0; n < N; n++ {
		for k := 0; k < K; k++ {
			a := clampProb(float64(out.Data[n*K+k]))
			if target(K, k, labels[n]) == 1 {
				sum -= math.Log(a)
			} else {
				sum -= math.Log(1 - a)
			}
		}
	}
	return sum / float64(N)
}

// Backward: da = (a - t) / (a·(1-a)) / N.
func (l *BCE) Backward() *tensor.Tensor {
	N, K := l.out.Rows(), l.out.Cols()
	for n := 0; n < N; n++ {
		for k := 0; k < K; k++ {
			a := clampProb(float64(l.out.Data[n*K+k]))
			t := float64(target(K, k, l.labels[n]))
			l.grad.Data[n*K+k] = float32((a - t) / (a * (1 - a)) / float64(N))
		}
	}
	return l.grad
}

// CrossEntropy is categorical cross-entropy on probabilities: -log a_label. After a
// softmax prefer SoftmaxCrossEntropy, the same loss computed stably from the logits.
type CrossEntropy struct{ lossBase }

func (*CrossEntropy) String() string   { return "ce" }
func (*CrossEntropy) FromLogits() bool { return false }

func (l *CrossEntropy) Forward(out *tensor.Tensor, labels []int) float64 {
	N, K := l.keep("ce", out, labels, false)
	var sum float64
	for n := 0; n < N; n++ {
		sum -= math.Log(clampProb(float64(out.Data[n*K+labels[n]])))
	}
	return sum / float64(N)
}

// Backward: da_k = -t_k/a_k / N.
func (l *CrossEntropy) Backward() *tensor.Tensor {
	N, K := l.out.Rows(), l.out.Cols()
	l.grad.Zero()
	for n := 0; n < N; n++ {
		a := clampProb(float64(l.out.Data[n*K+l.labels[n]]))
		l.grad.Data[n*K+l.labels[n]] = float32(-1 / a / float64(N))
	}
	return l.grad
}

func clampProb(a float64) float64 { return min(max(a, probEps), 1-probEps) }

// SoftmaxCrossEntropy is cross-entropy on softmax(z), taking the logits z:
// -log softmax(z)_label = logsumexp(z) - z_label, computed with the max shifted out.
// With label smoothing ε the target is (1-ε)·onehot + ε/K (Szegedy et al. 2016), and
// the loss -Σ_k t_k·log softmax(z)_k = logsumexp(z) - Σ_k t_k·z_k.
type SoftmaxCrossEntropy struct {
	lossBase
	Smoothing float64
	// OutlierWeight scales an Outlier example's loss and gradient against a labelled
	// one's (λ in Hendrycks et al.); 0 means 1.
	OutlierWeight float64
	prob          []float32
	exp           []float64 // one row's e^(z-max), scratch
}

// weight is example label's weight in the batch mean.
func (l *SoftmaxCrossEntropy) weight(label int) float64 {
	if label == Outlier && l.OutlierWeight > 0 {
		return l.OutlierWeight
	}
	return 1
}

// smoothed is the target t[k] for label among K classes under smoothing eps.
// An Outlier's target is uniform, 1/K.
func smoothed(K, k, label int, eps float64) float64 {
	if label == Outlier {
		return 1 / float64(K)
	}
	return (1-eps)*float64(target(K, k, label)) + eps/float64(K)
}

func (*SoftmaxCrossEntropy) String() string   { return "softmax+ce" }
func (*SoftmaxCrossEntropy) FromLogits() bool { return true }

func (l *SoftmaxCrossEntropy) Forward(z *tensor.Tensor, labels []int) float64 {
	N, K := l.keep("softmax+ce", z, labels, true)
	if cap(l.prob) < N*K {
		l.prob = make([]float32, N*K)
	}
	l.prob = l.prob[:N*K]
	var sum float64
	for n := 0; n < N; n++ {
		row := z.Data[n*K : (n+1)*K]
		m := row[0]
		for _, v := range row[1:] {
			m = max(m, v)
		}
		l.exp = l.exp[:0]
		var s float64
		for _, v := range row {
			e := math.Exp(float64(v - m))
			l.exp = append(l.exp, e)
			s += e
		}
		lse := float64(m) + math.Log(s)
		if l.Smoothing == 0 && labels[n] != Outlier {
			sum += lse - float64(row[labels[n]])
		} else {
			e := lse
			for k, v := range row {
				e -= smoothed(K, k, labels[n], l.Smoothing) * float64(v)
			}
			sum += l.weight(labels[n]) * e
		}
		for k, e := range l.exp { // e^(z-lse), one exponential per logit instead of two
			l.prob[n*K+k] = float32(e / s)
		}
	}
	return sum / float64(N)
}

// Backward: dz = (softmax(z) - t)/N.
func (l *SoftmaxCrossEntropy) Backward() *tensor.Tensor {
	N, K := l.out.Rows(), l.out.Cols()
	inv := 1 / float32(N)
	for n := 0; n < N; n++ {
		w := inv * float32(l.weight(l.labels[n]))
		for k := 0; k < K; k++ {
			l.grad.Data[n*K+k] = (l.prob[n*K+k] - float32(smoothed(K, k, l.labels[n], l.Smoothing))) * w
		}
	}
	return l.grad
}

// SigmoidBCE is binary cross-entropy on σ(z), taking the logits z. Per output:
// -[t·log σ(z) + (1-t)·log(1-σ(z))] = max(z,0) - z·t + log(1+e^-|z|).
// Its gradient is the seed network's delta3 = x3 - y.
type SigmoidBCE struct{ lossBase }

func (*SigmoidBCE) String() string   { return "sigmoid+bce" }
func (*SigmoidBCE) FromLogits() bool { return true }

func (l *SigmoidBCE) Forward(z *tensor.Tensor, labels []int) float64 {
	N, K := l.keep("sigmoid+bce", z, labels, false)
	var sum float64
	for n := 0; n < N; n++ {
		for k := 0; k < K; k++ {
			v := float64(z.Data[n*K+k])
			sum += max(v, 0) - v*float64(target(K, k, labels[n])) + math.Log1p(math.Exp(-math.Abs(v)))
		}
	}
	return sum / float64(N)
}

// Backward: dz = (σ(z) - t)/N.
func (l *SigmoidBCE) Backward() *tensor.Tensor {
	N, K := l.out.Rows(), l.out.Cols()
	inv := 1 / float32(N)
	for n := 0; n < N; n++ {
		for k := 0; k < K; k++ {
			l.grad.Data[n*K+k] = (sigmoid(l.out.Data[n*K+k]) - target(K, k, l.labels[n])) * inv
		}
	}
	return l.grad
}
