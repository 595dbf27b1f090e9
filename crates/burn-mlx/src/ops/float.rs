//! `FloatTensorOps` on MLX.

use burn_backend::ops::{FloatTensorOps, GridSampleOptions};
use burn_backend::tensor::IndexingUpdateOp;
use burn_backend::tensor::{BoolTensor, FloatTensor, IntTensor};
use burn_backend::{
    BoolDType, Distribution, ExecutionError, FloatDType, IntDType, Scalar, Shape, Slice, TensorData,
};
use mlx::{Array, Dtype, ops};

use super::base::{self, Cmp, axis, binary, half_in_f32, reduce_all, unary, with_scalar};
use super::nd;
use crate::eval::run;
use crate::memo;
use crate::tensor::{MlxTensor, to_mlx_dtype, to_mlx_shape};
use crate::{Mlx, MlxDevice, MlxFloat, MlxInt};

/// MLX's dtype for a Burn float dtype.
pub(crate) fn float_dtype(dtype: FloatDType) -> Dtype {
    to_mlx_dtype(dtype.into())
}

pub(crate) fn int_dtype(dtype: IntDType) -> Dtype {
    to_mlx_dtype(dtype.into())
}

/// Float64-accurate versions of the functions MLX's CPU computes with float32 accuracy.
///
/// MLX 0.32 evaluates `exp`, `sin`, `cos`, `erf`, `sigmoid`, `logaddexp` and `softmax` of
/// float64 arrays with the float32 approximations of its vectorized math (relative errors around
/// 1e-7), while `power`, `tan`, `log`, `log1p`, `tanh` and the rest are exact. For float64 these
/// helpers compose the functions from the exact ones; other dtypes use MLX's ops directly.
pub(crate) mod precise {
    use mlx::{Array, Dtype, ops};

    use super::super::pick::pick;

    fn is_f64(a: &Array) -> bool {
        a.dtype() == Dtype::Float64
    }

    /// `e^x` (float64: `power(e, x)`, relative error about |x| * 1e-16; float32 on the CPU: the
    /// `mlx` crate's vectorized kernel, 5 times as fast as MLX's CPU `exp`).
    pub(crate) fn exp(a: &Array) -> mlx::Result<Array> {
        if !is_f64(a) {
            return ops::exp_vectorized(a);
        }
        ops::power(&Array::scalar(std::f64::consts::E), a)
    }

    /// `tan(x / 2)` and `1 + tan(x / 2)^2`, for the half-angle forms of sin and cos.
    fn half_angle(a: &Array) -> mlx::Result<(Array, Array)> {
        let t = ops::tan(&(a * 0.5))?;
        let d = &(&t * &t) + 1.0;
        Ok((t, d))
    }

    /// `sin x` (float64: `2t / (1 + t^2)` with `t = tan(x / 2)`).
    pub(crate) fn sin(a: &Array) -> mlx::Result<Array> {
        if !is_f64(a) {
            return ops::sin(a);
        }
        let (t, d) = half_angle(a)?;
        Ok(&(&t * 2.0) / &d)
    }

    /// `cos x` (float64: `(1 - t^2) / (1 + t^2)` with `t = tan(x / 2)`).
    pub(crate) fn cos(a: &Array) -> mlx::Result<Array> {
        if !is_f64(a) {
            return ops::cos(a);
        }
        let (t, d) = half_angle(a)?;
        Ok(&(1.0 - &(&t * &t)) / &d)
    }

    /// The error function. Float64: its Maclaurin series below |x| = 2 (32 terms, error
    /// below 1e-15) and `1 - erfc(|x|)` from erfc's continued fraction above (50 levels).
    pub(crate) fn erf(a: &Array) -> mlx::Result<Array> {
        if !is_f64(a) {
            return ops::erf(a);
        }
        let two = Array::scalar(2.0f64);
        let ax = ops::abs(a)?;
        // Series on min(|x|, 2): sum_n (-1)^n x^(2n+1) / (n! (2n+1)).
        let xs = ops::minimum(&ax, &two)?;
        let x2 = &xs * &xs;
        let mut term = xs.clone();
        let mut sum = xs.clone();
        for n in 1..32 {
            term = &(&term * &x2) * (-1.0 / n as f64);
            sum = &sum + &(&term * (1.0 / (2 * n + 1) as f64));
        }
        let series = &sum * std::f64::consts::FRAC_2_SQRT_PI;
        // Continued fraction on max(|x|, 2): erfc(x) = e^(-x^2) / (sqrt(pi) K),
        // K = x + (1/2) / (x + 1 / (x + (3/2) / (x + ...))).
        let xc = ops::maximum(&ax, &two)?;
        let mut k = xc.clone();
        for level in (1..=50).rev() {
            k = &xc + &(&Array::scalar(level as f64 * 0.5) / &k);
        }
        let erfc = &exp(&ops::negative(&(&xc * &xc))?)? / &(&k * std::f64::consts::PI.sqrt());
        let tail = 1.0 - &erfc;
        let magnitude = pick(&ops::less(&ax, &two)?, &series, &tail)?;
        // sign(x) * erf(|x|), keeping -0.0 and NaN.
        pick(
            &ops::less(a, &Array::scalar(0.0f64))?,
            &ops::negative(&magnitude)?,
            &pick(&ops::equal(a, &Array::scalar(0.0f64))?, a, &magnitude)?,
        )
    }

    /// The logistic function `1 / (1 + e^-x)`.
    pub(crate) fn sigmoid(a: &Array) -> mlx::Result<Array> {
        if !is_f64(a) {
            return ops::sigmoid(a);
        }
        Ok(&Array::scalar(1.0f64) / &(&exp(&ops::negative(a)?)? + 1.0))
    }

    /// `log(1 + e^x)`, stable for large |x|: `max(x, 0) + log1p(e^-|x|)`.
    pub(crate) fn softplus(a: &Array) -> mlx::Result<Array> {
        if !is_f64(a) {
            return ops::logaddexp(&mlx::weak_scalar(0, a.dtype())?, a);
        }
        let zero = Array::scalar(0.0f64);
        Ok(&ops::maximum(a, &zero)? + &ops::log1p(&exp(&ops::negative(&ops::abs(a)?)?)?)?)
    }

    /// Softmax over `axis`.
    pub(crate) fn softmax(a: &Array, axis: i32) -> mlx::Result<Array> {
        if !is_f64(a) {
            return ops::softmax(a, Some(&[axis]), true);
        }
        let shifted = a - &a.max(Some(&[axis]), true)?;
        let e = exp(&shifted)?;
        Ok(&e / &e.sum(Some(&[axis]), true)?)
    }

    /// Log-softmax over `axis`: `(x - max) - logsumexp(x - max)`. Shifting first keeps the
    /// result accurate for large |x| (`x - logsumexp(x)` loses everything below ulp(|x|)).
    pub(crate) fn log_softmax(a: &Array, axis: i32) -> mlx::Result<Array> {
        let shifted = a - &a.max(Some(&[axis]), true)?;
        if !is_f64(a) {
            return ops::subtract(&shifted, &shifted.logsumexp(Some(&[axis]), true)?);
        }
        let lse = ops::log(&exp(&shifted)?.sum(Some(&[axis]), true)?)?;
        Ok(&shifted - &lse)
    }

    /// Float64 samples uniform in `[0, 1)` with 53 random bits each (MLX's sampler has no
    /// float64).
    pub(crate) fn uniform_f64(shape: &[i32]) -> mlx::Result<Array> {
        let mut bits_shape = shape.to_vec();
        bits_shape.push(2);
        let bits = mlx::random::bits(&bits_shape, 4, Some(&crate::rng::next_key()?))?;
        let hi = ops::take_index(&bits, 0, Some(-1))?;
        let lo = ops::take_index(&bits, 1, Some(-1))?;
        // 27 high bits and 26 low bits: (hi >> 5) * 2^26 + (lo >> 6), over 2^53.
        let hi = ops::right_shift(&hi, &Array::scalar(5u32))?.astype(Dtype::Float64)?;
        let lo = ops::right_shift(&lo, &Array::scalar(6u32))?.astype(Dtype::Float64)?;
        Ok(&(&(&hi * 67_108_864.0) + &lo) * (1.0 / 9_007_199_254_740_992.0))
    }

    /// Float64 standard normal samples (Box-Muller on two float64 uniforms).
    pub(crate) fn normal_f64(shape: &[i32]) -> mlx::Result<Array> {
        let u1 = 1.0 - &uniform_f64(shape)?; // (0, 1]
        let u2 = uniform_f64(shape)?;
        let radius = ops::sqrt(&(&ops::log(&u1)? * -2.0))?;
        Ok(&radius * &cos(&(&u2 * (2.0 * std::f64::consts::PI)))?)
    }
}

/// Samples `distribution` into an array of `shape` and `dtype`.
pub(crate) fn random(
    shape: &Shape,
    distribution: Distribution,
    device: MlxDevice,
    dtype: Dtype,
) -> MlxTensor {
    let shape = to_mlx_shape(shape);
    // Float64 samples come from 53-bit uniforms (MLX's samplers stop at float32); every other
    // dtype is sampled in float32 and converted.
    let f64_samples = dtype == Dtype::Float64;
    let uniform = |shape: &[i32]| {
        if f64_samples {
            precise::uniform_f64(shape)
        } else {
            mlx::random::uniform(shape, Dtype::Float32, Some(&crate::rng::next_key()?))
        }
    };
    let exec = crate::tensor::exec_device(device, crate::tensor::gpu_lacks(dtype));
    let array = run(exec, "random", || {
        let sample = match distribution {
            Distribution::Default => uniform(&shape)?,
            Distribution::Uniform(low, high) => &(&uniform(&shape)? * (high - low)) + low,
            Distribution::Normal(mean, std) => {
                let n = if f64_samples {
                    precise::normal_f64(&shape)?
                } else {
                    mlx::random::normal(&shape, Dtype::Float32, Some(&crate::rng::next_key()?))?
                };
                &(&n * std) + mean
            }
            Distribution::Bernoulli(p) => {
                let p = Array::scalar(p as f32);
                mlx::random::bernoulli(&p, Some(&shape), Some(&crate::rng::next_key()?))?
            }
        };
        // Integer samples of a continuous distribution truncate towards zero, as Burn's
        // reference backend converts them.
        sample.astype(dtype)
    });
    MlxTensor::new(array, device)
}

/// `x^p` for a scalar `p`. Squares (Adam's second moment, MSE, variances) use MLX's `square`,
/// one multiply, as MLX's own optimizers and losses do, instead of `pow` (slower on the CPU,
/// same value: `pow(x, 2)` is `x * x` exactly rounded).
fn power_scalar(t: &MlxTensor, p: Scalar, name: &str) -> MlxTensor {
    let is_two = match p {
        Scalar::Float(f) => f == 2.0,
        Scalar::Int(i) => i == 2,
        Scalar::UInt(u) => u == 2,
        Scalar::Bool(_) => false,
    };
    if is_two {
        unary(t, name, ops::square)
    } else {
        with_scalar(t, p, name, ops::power)
    }
}

macro_rules! unary_ops {
    ($($name:ident => $f:path),* $(,)?) => {$(
        fn $name(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
            unary(&tensor, stringify!($name), |a| $f(a))
        }
    )*};
}

macro_rules! binary_ops {
    ($($name:ident => $f:path),* $(,)?) => {$(
        fn $name(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self> {
            binary(&lhs, &rhs, stringify!($name), |a, b| $f(a, b))
        }
    )*};
}

macro_rules! scalar_ops {
    ($($name:ident => $f:path),* $(,)?) => {$(
        fn $name(lhs: FloatTensor<Self>, rhs: Scalar) -> FloatTensor<Self> {
            with_scalar(&lhs, rhs, stringify!($name), |a, s| $f(a, s))
        }
    )*};
}

macro_rules! compare_ops {
    ($($name:ident, $elem:ident => $cmp:ident),* $(,)?) => {$(
        fn $name(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>, _out: BoolDType) -> BoolTensor<Self> {
            base::compare(lhs, rhs, Cmp::$cmp)
        }
        fn $elem(lhs: FloatTensor<Self>, rhs: Scalar, _out: BoolDType) -> BoolTensor<Self> {
            base::compare_elem(lhs, rhs, Cmp::$cmp)
        }
    )*};
}

impl<F: MlxFloat, I: MlxInt> FloatTensorOps<Self> for Mlx<F, I> {
    fn float_from_data(data: TensorData, device: &MlxDevice) -> FloatTensor<Self> {
        MlxTensor::from_data(data, *device)
    }

    fn float_random(
        shape: Shape,
        distribution: Distribution,
        device: &MlxDevice,
        dtype: FloatDType,
    ) -> FloatTensor<Self> {
        random(&shape, distribution, *device, float_dtype(dtype))
    }

    fn float_zeros(shape: Shape, device: &MlxDevice, dtype: FloatDType) -> FloatTensor<Self> {
        base::full(&shape, Scalar::Float(0.0), float_dtype(dtype), *device)
    }

    fn float_ones(shape: Shape, device: &MlxDevice, dtype: FloatDType) -> FloatTensor<Self> {
        base::full(&shape, Scalar::Float(1.0), float_dtype(dtype), *device)
    }

    fn float_full(
        shape: Shape,
        fill_value: Scalar,
        device: &MlxDevice,
        dtype: FloatDType,
    ) -> FloatTensor<Self> {
        base::full(&shape, fill_value, float_dtype(dtype), *device)
    }

    async fn float_into_data(tensor: FloatTensor<Self>) -> Result<TensorData, ExecutionError> {
        Ok(tensor.to_data())
    }

    fn float_device(tensor: &FloatTensor<Self>) -> MlxDevice {
        tensor.device
    }

    fn float_to_device(tensor: FloatTensor<Self>, device: &MlxDevice) -> FloatTensor<Self> {
        MlxTensor {
            device: *device,
            ..tensor
        }
    }

    fn float_into_int(tensor: FloatTensor<Self>, out_dtype: IntDType) -> IntTensor<Self> {
        // Burn truncates towards zero, as `as` does; MLX's cast does the same.
        base::cast(tensor, int_dtype(out_dtype))
    }

    fn float_empty(shape: Shape, device: &MlxDevice, dtype: FloatDType) -> FloatTensor<Self> {
        // MLX has no uninitialized arrays; zeros cost one lazy fill.
        base::full(&shape, Scalar::Float(0.0), float_dtype(dtype), *device)
    }

    fn float_repeat_dim(tensor: FloatTensor<Self>, dim: usize, times: usize) -> FloatTensor<Self> {
        base::repeat_dim(tensor, dim, times)
    }

    binary_ops!(
        float_add => ops::add,
        float_sub => ops::subtract,
        float_mul => ops::multiply,
        float_div => ops::divide,
        float_remainder => ops::remainder,
        float_matmul => base::matmul,
        float_powf => ops::power,
        float_atan2 => ops::arctan2,
    );

    scalar_ops!(
        float_add_scalar => ops::add,
        float_sub_scalar => ops::subtract,
        float_mul_scalar => ops::multiply,
        float_div_scalar => ops::divide,
        float_remainder_scalar => ops::remainder,
        float_powf_scalar_impl => ops::power,
    );

    fn float_powi_scalar_impl(lhs: FloatTensor<Self>, rhs: Scalar) -> FloatTensor<Self> {
        power_scalar(&lhs, rhs, "powi_scalar")
    }

    fn float_powf_scalar(tensor: FloatTensor<Self>, value: Scalar) -> FloatTensor<Self> {
        power_scalar(&tensor, value, "powf_scalar")
    }

    fn float_powi_scalar(lhs: FloatTensor<Self>, rhs: Scalar) -> FloatTensor<Self> {
        power_scalar(&lhs, rhs, "powi_scalar")
    }

    fn float_powi(lhs: FloatTensor<Self>, rhs: IntTensor<Self>) -> FloatTensor<Self> {
        binary(&lhs, &rhs, "powi", |a, b| {
            ops::power(a, &b.astype(a.dtype())?)
        })
    }

    fn float_clamp_min(tensor: FloatTensor<Self>, min: Scalar) -> FloatTensor<Self> {
        with_scalar(&tensor, min, "clamp_min", |a, s| {
            ops::clip(a, Some(s), None)
        })
    }

    fn float_clamp_max(tensor: FloatTensor<Self>, max: Scalar) -> FloatTensor<Self> {
        with_scalar(&tensor, max, "clamp_max", |a, s| {
            ops::clip(a, None, Some(s))
        })
    }

    fn float_clamp(tensor: FloatTensor<Self>, min: Scalar, max: Scalar) -> FloatTensor<Self> {
        let dtype = tensor.array.dtype();
        let (lo, hi) = (base::scalar(min, dtype), base::scalar(max, dtype));
        unary(&tensor, "clamp", |a| ops::clip(a, Some(&lo), Some(&hi)))
    }

    fn float_cross(
        lhs: FloatTensor<Self>,
        rhs: FloatTensor<Self>,
        dim: usize,
    ) -> FloatTensor<Self> {
        binary(&lhs, &rhs, "cross", |a, b| {
            let ax = axis(dim);
            if a.shape()[dim] != 3 || b.shape()[dim] != 3 {
                // MLX's own (it also takes 2-vectors, or reports the shape error).
                return mlx::linalg::cross(a, b, ax);
            }
            // Composed here: some of the ops inside MLX's `linalg::cross` run on the default
            // device whatever stream they are given, so a float64 cross routed to the CPU on
            // the GPU device failed there ("float64 is not supported on the GPU").
            let (x, y) = (ops::split(a, 3, ax)?, ops::split(b, 3, ax)?);
            let component =
                |i: usize, j: usize| Ok::<_, mlx::Error>(&(&x[i] * &y[j]) - &(&x[j] * &y[i]));
            ops::concatenate(
                &[component(1, 2)?, component(2, 0)?, component(0, 1)?],
                Some(ax),
            )
        })
    }

    fn float_exp(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // Burn's backward pass takes `exp` of its saved input again (see memo).
        if let Some(result) = memo::kept("exp", &tensor) {
            return unary(&tensor, "float_exp", |_| Ok(result));
        }
        let saved_elsewhere = std::sync::Arc::strong_count(&tensor.array) > 1;
        let result = unary(&tensor, "float_exp", precise::exp);
        if saved_elsewhere {
            memo::keep("exp", &tensor, result.array().clone());
        }
        result
    }

    unary_ops!(
        float_neg => ops::negative,
        float_recip => ops::reciprocal,
        float_log => ops::log,
        float_log1p => ops::log1p,
        float_sqrt => ops::sqrt,
        float_abs => ops::abs,
        float_cos => precise::cos,
        float_sin => precise::sin,
        float_tan => ops::tan,
        float_cosh => ops::cosh,
        float_sinh => ops::sinh,
        float_tanh => ops::tanh,
        float_acos => ops::arccos,
        float_acosh => ops::arccosh,
        float_asin => ops::arcsin,
        float_asinh => ops::arcsinh,
        float_atan => ops::arctan,
        float_atanh => ops::arctanh,
        float_floor => ops::floor,
        float_ceil => ops::ceil,
        float_trunc => ops::trunc,
        float_erf => precise::erf,
        float_sign => ops::sign,
    );

    fn float_round(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        // Half to even, like Burn.
        unary(&tensor, "round", |a| ops::round(a, 0))
    }

    fn float_transpose(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        let n = tensor.array.ndim();
        if n < 2 {
            return tensor;
        }
        base::swap_dims(tensor, n - 2, n - 1)
    }

    fn float_swap_dims(tensor: FloatTensor<Self>, dim1: usize, dim2: usize) -> FloatTensor<Self> {
        base::swap_dims(tensor, dim1, dim2)
    }

    fn float_permute(tensor: FloatTensor<Self>, axes: &[usize]) -> FloatTensor<Self> {
        base::permute(tensor, axes)
    }

    fn float_flip(tensor: FloatTensor<Self>, axes: &[usize]) -> FloatTensor<Self> {
        base::flip(tensor, axes)
    }

    fn float_reshape(tensor: FloatTensor<Self>, shape: Shape) -> FloatTensor<Self> {
        base::reshape(tensor, shape)
    }

    fn float_gather(
        dim: usize,
        tensor: FloatTensor<Self>,
        indices: IntTensor<Self>,
    ) -> FloatTensor<Self> {
        base::gather(dim, tensor, indices)
    }

    fn float_scatter_add(
        dim: usize,
        tensor: FloatTensor<Self>,
        indices: IntTensor<Self>,
        value: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        base::scatter_add(dim, tensor, indices, value)
    }

    fn float_scatter_nd(
        data: FloatTensor<Self>,
        indices: IntTensor<Self>,
        values: FloatTensor<Self>,
        reduction: IndexingUpdateOp,
    ) -> FloatTensor<Self> {
        nd::scatter_nd(data, indices, values, reduction)
    }

    fn float_gather_nd(data: FloatTensor<Self>, indices: IntTensor<Self>) -> FloatTensor<Self> {
        nd::gather_nd(data, indices)
    }

    fn float_select(
        tensor: FloatTensor<Self>,
        dim: usize,
        indices: IntTensor<Self>,
    ) -> FloatTensor<Self> {
        base::select(tensor, dim, indices)
    }

    fn float_select_add(
        tensor: FloatTensor<Self>,
        dim: usize,
        indices: IntTensor<Self>,
        value: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        base::select_add(tensor, dim, indices, value)
    }

    fn float_slice(tensor: FloatTensor<Self>, slices: &[Slice]) -> FloatTensor<Self> {
        base::slice(tensor, slices)
    }

    fn float_slice_assign(
        tensor: FloatTensor<Self>,
        slices: &[Slice],
        value: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        base::slice_assign(tensor, slices, value)
    }

    fn float_mask_where(
        tensor: FloatTensor<Self>,
        mask: BoolTensor<Self>,
        value: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        base::mask_where(tensor, mask, value)
    }

    fn float_mask_fill(
        tensor: FloatTensor<Self>,
        mask: BoolTensor<Self>,
        value: Scalar,
    ) -> FloatTensor<Self> {
        base::mask_fill(tensor, mask, value)
    }

    compare_ops!(
        float_equal, float_equal_elem => Eq,
        float_not_equal, float_not_equal_elem => Ne,
        float_greater, float_greater_elem => Gt,
        float_greater_equal, float_greater_equal_elem => Ge,
        float_lower, float_lower_elem => Lt,
        float_lower_equal, float_lower_equal_elem => Le,
    );

    // Sums, products and means (and the cumulative sum and product below) of half types
    // accumulate in float32, as Burn's reference backends do (see `half_in_f32`).

    fn float_sum(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        reduce_all(tensor, "sum", |a| half_in_f32(a, |a| a.sum(None, false)))
    }

    fn float_sum_dim(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        unary(&tensor, "sum_dim", |a| {
            half_in_f32(a, |a| a.sum(Some(&[axis(dim)]), true))
        })
    }

    fn float_prod(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        reduce_all(tensor, "prod", |a| half_in_f32(a, |a| a.prod(None, false)))
    }

    fn float_prod_dim(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        unary(&tensor, "prod_dim", |a| {
            half_in_f32(a, |a| a.prod(Some(&[axis(dim)]), true))
        })
    }

    fn float_mean(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        reduce_all(tensor, "mean", |a| half_in_f32(a, |a| a.mean(None, false)))
    }

    fn float_mean_dim(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        unary(&tensor, "mean_dim", |a| {
            half_in_f32(a, |a| a.mean(Some(&[axis(dim)]), true))
        })
    }

    fn float_cumsum(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        base::cumulative(tensor, dim, "cumsum", |a, axis, options| {
            half_in_f32(a, |a| ops::cumsum(a, axis, options))
        })
    }

    fn float_cumprod(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        base::cumulative(tensor, dim, "cumprod", |a, axis, options| {
            half_in_f32(a, |a| ops::cumprod(a, axis, options))
        })
    }

    fn float_cummin(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        base::cumulative(tensor, dim, "cummin", ops::cummin)
    }

    fn float_cummax(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        base::cumulative(tensor, dim, "cummax", ops::cummax)
    }

    fn float_cast(tensor: FloatTensor<Self>, dtype: FloatDType) -> FloatTensor<Self> {
        base::cast(tensor, float_dtype(dtype))
    }

    fn float_cat(tensors: Vec<FloatTensor<Self>>, dim: usize) -> FloatTensor<Self> {
        base::cat(tensors, dim)
    }

    fn float_argmax(tensor: FloatTensor<Self>, dim: usize, out_dtype: IntDType) -> IntTensor<Self> {
        base::argmax(tensor, dim, int_dtype(out_dtype))
    }

    fn float_argmin(tensor: FloatTensor<Self>, dim: usize, out_dtype: IntDType) -> IntTensor<Self> {
        base::argmin(tensor, dim, int_dtype(out_dtype))
    }

    fn float_argtopk(
        tensor: FloatTensor<Self>,
        dim: usize,
        k: usize,
        out_dtype: IntDType,
    ) -> IntTensor<Self> {
        base::topk_with_indices(tensor, dim, k, int_dtype(out_dtype)).1
    }

    fn float_topk(tensor: FloatTensor<Self>, dim: usize, k: usize) -> FloatTensor<Self> {
        base::topk_with_indices(tensor, dim, k, Dtype::Int32).0
    }

    fn float_max(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        reduce_all(tensor, "max", |a| a.max(None, false))
    }

    fn float_max_dim(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        unary(&tensor, "max_dim", |a| a.max(Some(&[axis(dim)]), true))
    }

    fn float_max_dim_with_indices(
        tensor: FloatTensor<Self>,
        dim: usize,
        indices_dtype: IntDType,
    ) -> (FloatTensor<Self>, IntTensor<Self>) {
        base::extreme_with_indices(tensor, dim, true, int_dtype(indices_dtype))
    }

    fn float_min(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        reduce_all(tensor, "min", |a| a.min(None, false))
    }

    fn float_min_dim(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        unary(&tensor, "min_dim", |a| a.min(Some(&[axis(dim)]), true))
    }

    fn float_min_dim_with_indices(
        tensor: FloatTensor<Self>,
        dim: usize,
        indices_dtype: IntDType,
    ) -> (FloatTensor<Self>, IntTensor<Self>) {
        base::extreme_with_indices(tensor, dim, false, int_dtype(indices_dtype))
    }

    fn float_max_abs(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        reduce_all(tensor, "max_abs", |a| a.abs()?.max(None, false))
    }

    fn float_max_abs_dim(tensor: FloatTensor<Self>, dim: usize) -> FloatTensor<Self> {
        unary(&tensor, "max_abs_dim", |a| {
            a.abs()?.max(Some(&[axis(dim)]), true)
        })
    }

    fn float_any(tensor: FloatTensor<Self>, _out: BoolDType) -> BoolTensor<Self> {
        base::any(tensor)
    }

    fn float_any_dim(tensor: FloatTensor<Self>, dim: usize, _out: BoolDType) -> BoolTensor<Self> {
        base::any_dim(tensor, dim)
    }

    fn float_all(tensor: FloatTensor<Self>, _out: BoolDType) -> BoolTensor<Self> {
        base::all(tensor)
    }

    fn float_all_dim(tensor: FloatTensor<Self>, dim: usize, _out: BoolDType) -> BoolTensor<Self> {
        base::all_dim(tensor, dim)
    }

    fn float_expand(tensor: FloatTensor<Self>, shape: Shape) -> FloatTensor<Self> {
        base::expand(tensor, shape)
    }

    fn float_sort(tensor: FloatTensor<Self>, dim: usize, descending: bool) -> FloatTensor<Self> {
        base::sort(tensor, dim, descending)
    }

    fn float_sort_with_indices(
        tensor: FloatTensor<Self>,
        dim: usize,
        descending: bool,
        indices_dtype: IntDType,
    ) -> (FloatTensor<Self>, IntTensor<Self>) {
        base::sort_with_indices(tensor, dim, descending, int_dtype(indices_dtype))
    }

    fn float_argsort(
        tensor: FloatTensor<Self>,
        dim: usize,
        descending: bool,
        out_dtype: IntDType,
    ) -> IntTensor<Self> {
        base::argsort(tensor, dim, descending, int_dtype(out_dtype))
    }

    fn float_unfold(
        tensor: FloatTensor<Self>,
        dim: usize,
        size: usize,
        step: usize,
    ) -> FloatTensor<Self> {
        base::unfold(tensor, dim, size, step)
    }

    fn float_grid_sample_2d(
        tensor: FloatTensor<Self>,
        grid: FloatTensor<Self>,
        options: GridSampleOptions,
    ) -> FloatTensor<Self> {
        super::grid_sample::grid_sample_2d(tensor, grid, options)
    }

    fn float_is_nan(tensor: FloatTensor<Self>, _out: BoolDType) -> BoolTensor<Self> {
        unary(&tensor, "is_nan", ops::isnan)
    }

    fn float_is_inf(tensor: FloatTensor<Self>, _out: BoolDType) -> BoolTensor<Self> {
        unary(&tensor, "is_inf", ops::isinf)
    }
}
