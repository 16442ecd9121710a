package nn

import (
	"fmt"
	"math"

	"github.com/digitnet/digitnet/internal/kernels"
	"github.com/digitnet/digitnet/tensor"
)

// BatchNorm normalizes each feature (for [N F] inputs) or channel (for [N C H W]) by the
// batch's mean and variance in training, and by running averages of them in inference
// (Ioffe & Szegedy 2015), then scales by γ and shifts by β:
// y = γ·(x-μ)/√(σ²+ε) + β. The running averages follow PyTorch: momentum 0.1, unbiased
// variance.
type BatchNorm struct {
	Features    int
	Eps         float64
	Momentum    float64
	Gamma, Beta *Param
	// RunningMean and RunningVar are state, not trained: saved with the model.
	RunningMean, RunningVar *Param

	xhat      []float32
	invStd    []float64
	shape     []int
	y, dx     *tensor.Tensor
	groups, m int // channels, and values per channel in the batch
}

// NewBatchNorm returns a batch normalization over features channels named with prefix.
func NewBatchNorm(prefix string, features int) *BatchNorm {
	b := &BatchNorm{Features: features, Eps: 1e-5, Momentum: 0.1,
		Gamma: newParam(prefix+".weight", features), Beta: newParam(prefix+".bias", features),
		RunningMean: &Param{Name: prefix + ".running_mean", Value: tensor.New(features), Grad: tensor.New(0)},
		RunningVar:  &Param{Name: prefix + ".running_var", Value: tensor.New(features), Grad: tensor.New(0)},
		y:           tensor.New(0), dx: tensor.New(0)}
	for i := range features {
		b.Gamma.Value.Data[i] = 1
		b.RunningVar.Value.Data[i] = 1
	}
	return b
}

func (b *BatchNorm) String() string   { return fmt.Sprintf("BatchNorm(%d)", b.Features) }
func (b *BatchNorm) Params() []*Param { return []*Param{b.Gamma, b.Beta} }

// Buffers are the running statistics.
func (b *BatchNorm) Buffers() []*Param { return []*Param{b.RunningMean, b.RunningVar} }

func (b *BatchNorm) OutShape(in []int) ([]int, error) {
	if len(in) == 0 || in[0] != b.Features {
		return nil, fmt.Errorf("nn: %s: input shape %s, want [%d ...]", b, tensor.ShapeString(in), b.Features)
	}
	return append([]int(nil), in...), nil
}

// layout returns N, C and the spatial size S of x viewed as [N C S].
func (b *BatchNorm) layout(x *tensor.Tensor) (N, C, S int) {
	if len(x.Shape) < 2 || x.Shape[1] != b.Features {
		panic(fmt.Sprintf("nn: %s: input %s, want [N %d ...]", b, tensor.ShapeString(x.Shape), b.Features))
	}
	return x.Shape[0], b.Features, x.Cols() / b.Features
}

func (b *BatchNorm) Forward(x *tensor.Tensor, training bool) *tensor.Tensor {
	N, C, S := b.layout(x)
	b.shape = append(b.shape[:0], x.Shape...)
	b.y.Resize(x.Shape...)
	b.groups, b.m = C, N*S
	if cap(b.xhat) < x.Len() {
		b.xhat = make([]float32, x.Len())
	}
	b.xhat = b.xhat[:x.Len()]
	if len(b.invStd) != C {
		b.invStd = make([]float64, C)
	}
	// Channels are independent: split them on the workers (same result for any count).
	kernels.Parallel(C, 1, func(_, lo, hi int) {
		for c := lo; c < hi; c++ {
			b.normalize(x, c, training)
		}
	})
	return b.y
}

// normalize computes channel c's output (and, in training, its batch statistics).
func (b *BatchNorm) normalize(x *tensor.Tensor, c int, training bool) {
	N, C, S := b.shape[0], b.groups, b.m/b.shape[0]
	rm, rv := b.RunningMean.Value.Data, b.RunningVar.Value.Data
	var mean, variance float64
	if training {
		mean, variance = kernels.BNMoments(x.Data[c*S:], N, C*S, S)
		unbiased := variance * float64(b.m) / math.Max(float64(b.m-1), 1)
		rm[c] = float32((1-b.Momentum)*float64(rm[c]) + b.Momentum*mean)
		rv[c] = float32((1-b.Momentum)*float64(rv[c]) + b.Momentum*unbiased)
	} else {
		mean, variance = float64(rm[c]), float64(rv[c])
	}
	inv := 1 / math.Sqrt(variance+b.Eps)
	b.invStd[c] = inv
	kernels.BNNormalize(b.y.Data[c*S:], b.xhat[c*S:], x.Data[c*S:], N, C*S, S,
		float32(mean), float32(inv), b.Gamma.Value.Data[c], b.Beta.Value.Data[c])
}

// Backward, per channel over its m values: dβ += Σdy, dγ += Σdy·x̂,
// dx = γ/(m·σ)·(m·dy - Σdy - x̂·Σdy·x̂).
func (b *BatchNorm) Backward(dy *tensor.Tensor) *tensor.Tensor {
	sameShape(b, "output gradient", dy.Shape, b.y.Shape)
	N, C, S := b.shape[0], b.groups, b.m/b.shape[0]
	b.dx.Resize(b.shape...)
	gamma := b.Gamma.Value.Data
	m := float64(b.m)
	kernels.Parallel(C, 1, func(_, lo, hi int) {
		for c := lo; c < hi; c++ {
			b.backwardChannel(dy, c, N, C, S, m, gamma)
		}
	})
	b.Gamma.accumulatedDense()
	b.Beta.accumulatedDense()
	return b.dx
}

// backwardChannel computes channel c's share of Backward.
func (b *BatchNorm) backwardChannel(dy *tensor.Tensor, c, N, C, S int, m float64, gamma []float32) {
	sum, sumX := kernels.BNGradSums(dy.Data[c*S:], b.xhat[c*S:], N, C*S, S)
	b.Beta.Grad.Data[c] += float32(sum)
	b.Gamma.Grad.Data[c] += float32(sumX)
	k := float64(gamma[c]) * b.invStd[c] / m
	kernels.BNInputGrad(b.dx.Data[c*S:], dy.Data[c*S:], b.xhat[c*S:], N, C*S, S, float32(k*m), float32(k*sum), float32(k*sumX))
}
