//! Convolutions: [`conv1d`], [`conv2d`], [`conv3d`], their transposes, and [`conv_general`].
//!
//! Layouts (channels-last), supported dtypes and notes on gradients: see
//! [`conv_general`](conv_general#layouts).

use mlx_sys as sys;

use super::call;
use crate::array::{Array, ints};
use crate::error::{Result, invalid};

/// A per-dimension parameter: one `i32` for every spatial dimension, or an array of `N`.
pub trait PerDim<const N: usize> {
    /// The value for each of the `N` spatial dimensions.
    fn per_dim(self) -> [i32; N];
}

impl<const N: usize> PerDim<N> for i32 {
    fn per_dim(self) -> [i32; N] {
        [self; N]
    }
}

impl<const N: usize> PerDim<N> for [i32; N] {
    fn per_dim(self) -> [i32; N] {
        self
    }
}

/// Parameters of an `N`-dimensional convolution ([`conv1d`], [`conv2d`], [`conv3d`]).
///
/// ```
/// use mlx::ops::ConvOptions;
/// let o = ConvOptions::<2>::new().with_stride(2).with_padding([1, 0]);
/// assert_eq!(o.stride, [2, 2]);
/// assert_eq!(o.padding, [1, 0]);
/// assert_eq!(o.dilation, [1, 1]);
/// assert_eq!(o.groups, 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvOptions<const N: usize> {
    /// Step between applications of the kernel (default 1).
    pub stride: [i32; N],
    /// Zeros added on both sides of each spatial axis (default 0).
    pub padding: [i32; N],
    /// Spacing between kernel elements (default 1).
    pub dilation: [i32; N],
    /// Number of channel groups (default 1); `C_in` and `C_out` must be divisible by it.
    pub groups: i32,
}

impl<const N: usize> Default for ConvOptions<N> {
    fn default() -> Self {
        ConvOptions {
            stride: [1; N],
            padding: [0; N],
            dilation: [1; N],
            groups: 1,
        }
    }
}

impl<const N: usize> ConvOptions<N> {
    /// The defaults: stride 1, no padding, dilation 1, one group.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the stride (one value for all dimensions, or one per dimension).
    pub fn with_stride(mut self, stride: impl PerDim<N>) -> Self {
        self.stride = stride.per_dim();
        self
    }

    /// Sets the padding (one value for all dimensions, or one per dimension).
    pub fn with_padding(mut self, padding: impl PerDim<N>) -> Self {
        self.padding = padding.per_dim();
        self
    }

    /// Sets the kernel dilation (one value for all dimensions, or one per dimension).
    pub fn with_dilation(mut self, dilation: impl PerDim<N>) -> Self {
        self.dilation = dilation.per_dim();
        self
    }

    /// Sets the number of groups.
    pub fn with_groups(mut self, groups: i32) -> Self {
        self.groups = groups;
        self
    }
}

/// Parameters of an `N`-dimensional transposed convolution ([`conv_transpose1d`],
/// [`conv_transpose2d`], [`conv_transpose3d`]).
///
/// ```
/// use mlx::ops::ConvTransposeOptions;
/// let o = ConvTransposeOptions::<1>::new().with_stride(2).with_output_padding(1);
/// assert_eq!((o.stride, o.output_padding, o.padding), ([2], [1], [0]));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvTransposeOptions<const N: usize> {
    /// Stride of the convolution this transposes (default 1).
    pub stride: [i32; N],
    /// Padding of the convolution this transposes: removed from both ends of the output
    /// (default 0).
    pub padding: [i32; N],
    /// Kernel dilation (default 1).
    pub dilation: [i32; N],
    /// Extra elements added at the end of each output axis (default 0), to pick among the input
    /// sizes a strided convolution maps to the same output size.
    pub output_padding: [i32; N],
    /// Number of channel groups (default 1).
    pub groups: i32,
}

impl<const N: usize> Default for ConvTransposeOptions<N> {
    fn default() -> Self {
        ConvTransposeOptions {
            stride: [1; N],
            padding: [0; N],
            dilation: [1; N],
            output_padding: [0; N],
            groups: 1,
        }
    }
}

impl<const N: usize> ConvTransposeOptions<N> {
    /// The defaults: stride 1, no padding, dilation 1, no output padding, one group.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the stride (one value for all dimensions, or one per dimension).
    pub fn with_stride(mut self, stride: impl PerDim<N>) -> Self {
        self.stride = stride.per_dim();
        self
    }

    /// Sets the padding (one value for all dimensions, or one per dimension).
    pub fn with_padding(mut self, padding: impl PerDim<N>) -> Self {
        self.padding = padding.per_dim();
        self
    }

    /// Sets the kernel dilation (one value for all dimensions, or one per dimension).
    pub fn with_dilation(mut self, dilation: impl PerDim<N>) -> Self {
        self.dilation = dilation.per_dim();
        self
    }

    /// Sets the output padding (one value for all dimensions, or one per dimension).
    pub fn with_output_padding(mut self, output_padding: impl PerDim<N>) -> Self {
        self.output_padding = output_padding.per_dim();
        self
    }

    /// Sets the number of groups.
    pub fn with_groups(mut self, groups: i32) -> Self {
        self.groups = groups;
        self
    }
}

/// Parameters of [`conv_general`]. Every vector may be empty (the default for all spatial
/// dimensions), hold one value (used for all of them), or one value per spatial dimension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvGeneralOptions {
    /// Step between applications of the kernel (default 1).
    pub stride: Vec<i32>,
    /// Zeros added before each spatial axis (default 0; negative values crop).
    pub padding_lo: Vec<i32>,
    /// Zeros added after each spatial axis (default 0; negative values crop).
    pub padding_hi: Vec<i32>,
    /// Spacing between kernel elements (default 1).
    pub kernel_dilation: Vec<i32>,
    /// Spacing between input elements: `input_dilation - 1` zeros are inserted between
    /// neighbours (default 1). This is how transposed convolutions are computed.
    pub input_dilation: Vec<i32>,
    /// Number of channel groups (default 1).
    pub groups: i32,
    /// Flip the kernel along its spatial axes: a true convolution rather than a
    /// cross-correlation (default false).
    pub flip: bool,
}

impl Default for ConvGeneralOptions {
    fn default() -> Self {
        ConvGeneralOptions {
            stride: Vec::new(),
            padding_lo: Vec::new(),
            padding_hi: Vec::new(),
            kernel_dilation: Vec::new(),
            input_dilation: Vec::new(),
            groups: 1,
            flip: false,
        }
    }
}

impl ConvGeneralOptions {
    /// The defaults (see the fields).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the stride.
    pub fn with_stride(mut self, stride: &[i32]) -> Self {
        self.stride = stride.to_vec();
        self
    }

    /// Sets the same padding before and after each axis.
    pub fn with_padding(mut self, padding: &[i32]) -> Self {
        self.padding_lo = padding.to_vec();
        self.padding_hi = padding.to_vec();
        self
    }

    /// Sets different paddings before (`lo`) and after (`hi`) each axis.
    pub fn with_padding_lo_hi(mut self, lo: &[i32], hi: &[i32]) -> Self {
        self.padding_lo = lo.to_vec();
        self.padding_hi = hi.to_vec();
        self
    }

    /// Sets the kernel dilation.
    pub fn with_kernel_dilation(mut self, dilation: &[i32]) -> Self {
        self.kernel_dilation = dilation.to_vec();
        self
    }

    /// Sets the input dilation.
    pub fn with_input_dilation(mut self, dilation: &[i32]) -> Self {
        self.input_dilation = dilation.to_vec();
        self
    }

    /// Sets the number of groups.
    pub fn with_groups(mut self, groups: i32) -> Self {
        self.groups = groups;
        self
    }

    /// Sets whether the kernel is flipped.
    pub fn with_flip(mut self, flip: bool) -> Self {
        self.flip = flip;
        self
    }
}

/// A transposed convolution, computed by MLX directly when MLX gets it right, and otherwise from
/// the transposed convolution without padding: output position `j` is position `j + padding` of
/// the unpadded result, or zero past its end.
///
/// MLX 0.32 gets the forward result wrong (wrong size or an error) when `padding` exceeds
/// `dilation * (K - 1)`, and the gradient with respect to the input wrong when
/// `output_padding > 0`; the unpadded transposed convolution is right in both respects.
fn conv_transpose_via_full<const N: usize>(
    input: &Array,
    weight: &Array,
    options: ConvTransposeOptions<N>,
    raw: impl Fn(&Array, &Array, ConvTransposeOptions<N>) -> Result<Array>,
) -> Result<Array> {
    check_groups(options.groups)?;
    let kernel = |j: usize| weight.shape().get(j + 1).copied().unwrap_or(1);
    let direct_is_right = (0..N).all(|j| {
        options.output_padding[j] == 0
            && options.padding[j] <= options.dilation[j].saturating_mul(kernel(j) - 1)
    });
    let negative = (0..N).any(|j| options.padding[j] < 0 || options.output_padding[j] < 0);
    if direct_is_right || negative {
        return raw(input, weight, options);
    }
    let full = raw(
        input,
        weight,
        ConvTransposeOptions {
            padding: [0; N],
            output_padding: [0; N],
            ..options
        },
    )?;
    let fshape = full.shape();
    let mut start = vec![0; fshape.len()];
    let mut stop = fshape.to_vec();
    let mut pad_axes = Vec::new();
    let mut pad_amounts = Vec::new();
    for j in 0..N {
        let axis = j + 1;
        let (p, full_len) = (i64::from(options.padding[j]), i64::from(fshape[axis]));
        let wanted = full_len - 2 * p + i64::from(options.output_padding[j]);
        if wanted < 0 {
            return invalid(format!(
                "[conv_transpose] The output would have size {wanted} along spatial axis {j}: \
                 the padding {p} is too large for an unpadded output of size {full_len}."
            ));
        }
        let end = full_len.min(p + wanted);
        start[axis] = p as i32;
        stop[axis] = end.max(p) as i32;
        let missing = wanted - (end - p).max(0);
        if missing > 0 {
            pad_axes.push(axis as i32);
            pad_amounts.push(missing as i32);
        }
    }
    let cropped = super::slice(&full, &start, &stop, &[])?;
    if pad_axes.is_empty() {
        return Ok(cropped);
    }
    super::index::pad_end(&cropped, &pad_axes, &pad_amounts)
}

/// MLX divides by the group count before checking it.
fn check_groups(groups: i32) -> Result<()> {
    if groups < 1 {
        return invalid(format!(
            "[conv] The number of groups must be positive, got {groups}."
        ));
    }
    Ok(())
}

/// 1-D convolution (cross-correlation) of `input` `[N, L, C_in]` with `weight`
/// `[C_out, K, C_in / groups]`, giving `[N, L_out, C_out]`.
///
/// ```
/// use mlx::ops::{ConvOptions, conv1d};
/// // One channel in and out: a moving sum over 2 elements.
/// let x = mlx::array![1.0, 2.0, 3.0, 4.0].reshape(&[1, 4, 1])?;
/// let w = mlx::array![1.0, 1.0].reshape(&[1, 2, 1])?;
/// let y = conv1d(&x, &w, ConvOptions::new())?;
/// assert_eq!(y.to_vec::<f32>()?, vec![3.0, 5.0, 7.0]);
/// let y = conv1d(&x, &w, ConvOptions::new().with_stride(2).with_padding(1))?;
/// assert_eq!(y.to_vec::<f32>()?, vec![1.0, 5.0, 4.0]);
/// # Ok::<(), mlx::Error>(())
/// ```
pub fn conv1d(input: &Array, weight: &Array, options: ConvOptions<1>) -> Result<Array> {
    let ConvOptions {
        stride: [s],
        padding: [p],
        dilation: [d],
        groups,
    } = options;
    check_groups(groups)?;
    call(|r, st| unsafe {
        sys::mlxc_conv1d(r, input.as_raw(), weight.as_raw(), s, p, d, groups, st)
    })
}

/// 2-D convolution (cross-correlation) of `input` `[N, H, W, C_in]` with `weight`
/// `[C_out, KH, KW, C_in / groups]`, giving `[N, H_out, W_out, C_out]`.
///
/// ```
/// use mlx::ops::{ConvOptions, conv2d};
/// let x = mlx::ops::ones(&[1, 3, 3, 1], mlx::Dtype::Float32)?;
/// let w = mlx::ops::ones(&[1, 2, 2, 1], mlx::Dtype::Float32)?;
/// let y = conv2d(&x, &w, ConvOptions::new().with_padding(1))?;
/// assert_eq!(y.shape(), &[1, 4, 4, 1]);
/// assert_eq!(y.index((0, 1, .., 0))?.to_vec::<f32>()?, vec![2.0, 4.0, 4.0, 2.0]);
/// # Ok::<(), mlx::Error>(())
/// ```
pub fn conv2d(input: &Array, weight: &Array, options: ConvOptions<2>) -> Result<Array> {
    let ConvOptions {
        stride: s,
        padding: p,
        dilation: d,
        groups,
    } = options;
    check_groups(groups)?;
    call(|r, st| unsafe {
        sys::mlxc_conv2d(
            r,
            input.as_raw(),
            weight.as_raw(),
            s[0],
            s[1],
            p[0],
            p[1],
            d[0],
            d[1],
            groups,
            st,
        )
    })
}

/// 3-D convolution (cross-correlation) of `input` `[N, D, H, W, C_in]` with `weight`
/// `[C_out, KD, KH, KW, C_in]`, giving `[N, D_out, H_out, W_out, C_out]`. MLX supports only
/// `groups == 1` here.
pub fn conv3d(input: &Array, weight: &Array, options: ConvOptions<3>) -> Result<Array> {
    let ConvOptions {
        stride: s,
        padding: p,
        dilation: d,
        groups,
    } = options;
    check_groups(groups)?;
    call(|r, st| unsafe {
        sys::mlxc_conv3d(
            r,
            input.as_raw(),
            weight.as_raw(),
            s[0],
            s[1],
            s[2],
            p[0],
            p[1],
            p[2],
            d[0],
            d[1],
            d[2],
            groups,
            st,
        )
    })
}

/// 1-D transposed convolution (the gradient of [`conv1d`] with respect to its input) of `input`
/// `[N, L, C_in]` with `weight` `[C_out, K, C_in / groups]`, giving `[N, L_out, C_out]` with
/// `L_out = (L - 1) * stride - 2 * padding + dilation * (K - 1) + 1 + output_padding`.
///
/// Where MLX 0.32 computes transposed convolutions or their gradients wrongly (large padding,
/// output padding), this goes through the unpadded transposed convolution instead (see
/// [gradients](conv_general#gradients)).
///
/// ```
/// use mlx::ops::{ConvTransposeOptions, conv_transpose1d};
/// let x = mlx::array![1.0, 2.0].reshape(&[1, 2, 1])?;
/// let w = mlx::array![1.0, 10.0, 100.0].reshape(&[1, 3, 1])?;
/// let y = conv_transpose1d(&x, &w, ConvTransposeOptions::new().with_stride(2))?;
/// // Each input element stamps the kernel, 2 apart.
/// assert_eq!(y.to_vec::<f32>()?, vec![1.0, 10.0, 102.0, 20.0, 200.0]);
/// # Ok::<(), mlx::Error>(())
/// ```
pub fn conv_transpose1d(
    input: &Array,
    weight: &Array,
    options: ConvTransposeOptions<1>,
) -> Result<Array> {
    conv_transpose_via_full(input, weight, options, |x, w, o| {
        let ConvTransposeOptions {
            stride: [s],
            padding: [p],
            dilation: [d],
            output_padding: [op],
            groups,
        } = o;
        call(|r, st| unsafe {
            sys::mlxc_conv_transpose1d(r, x.as_raw(), w.as_raw(), s, p, d, op, groups, st)
        })
    })
}

/// 2-D transposed convolution of `input` `[N, H, W, C_in]` with `weight`
/// `[C_out, KH, KW, C_in / groups]`, giving `[N, H_out, W_out, C_out]` (sizes as in
/// [`conv_transpose1d`], per axis).
pub fn conv_transpose2d(
    input: &Array,
    weight: &Array,
    options: ConvTransposeOptions<2>,
) -> Result<Array> {
    conv_transpose_via_full(input, weight, options, |x, w, o| {
        let ConvTransposeOptions {
            stride: s,
            padding: p,
            dilation: d,
            output_padding: op,
            groups,
        } = o;
        call(|r, st| unsafe {
            sys::mlxc_conv_transpose2d(
                r,
                x.as_raw(),
                w.as_raw(),
                s[0],
                s[1],
                p[0],
                p[1],
                d[0],
                d[1],
                op[0],
                op[1],
                groups,
                st,
            )
        })
    })
}

/// 3-D transposed convolution of `input` `[N, D, H, W, C_in]` with `weight`
/// `[C_out, KD, KH, KW, C_in]`, giving `[N, D_out, H_out, W_out, C_out]` (sizes as in
/// [`conv_transpose1d`], per axis). MLX supports only `groups == 1` here.
pub fn conv_transpose3d(
    input: &Array,
    weight: &Array,
    options: ConvTransposeOptions<3>,
) -> Result<Array> {
    conv_transpose_via_full(input, weight, options, |x, w, o| {
        let ConvTransposeOptions {
            stride: s,
            padding: p,
            dilation: d,
            output_padding: op,
            groups,
        } = o;
        call(|r, st| unsafe {
            sys::mlxc_conv_transpose3d(
                r,
                x.as_raw(),
                w.as_raw(),
                s[0],
                s[1],
                s[2],
                p[0],
                p[1],
                p[2],
                d[0],
                d[1],
                d[2],
                op[0],
                op[1],
                op[2],
                groups,
                st,
            )
        })
    })
}

/// The general convolution behind all the others: 1 to 3 spatial dimensions (taken from
/// `input`'s rank), independent low and high padding, kernel and input dilation, groups and an
/// optional kernel flip.
///
/// # Layouts
///
/// MLX convolutions are channels-last, for inputs and weights alike:
///
/// | op                  | input                | weight                              | output                 |
/// |---------------------|----------------------|-------------------------------------|------------------------|
/// | 1-D                 | `[N, L, C_in]`       | `[C_out, K, C_in / groups]`         | `[N, L_out, C_out]`    |
/// | 2-D                 | `[N, H, W, C_in]`    | `[C_out, KH, KW, C_in / groups]`    | `[N, H_out, W_out, C_out]` |
/// | 3-D                 | `[N, D, H, W, C_in]` | `[C_out, KD, KH, KW, C_in / groups]`| `[N, D_out, H_out, W_out, C_out]` |
///
/// Transposed convolutions use the same layouts (weights `[C_out, K…, C_in / groups]`), so a
/// PyTorch weight must be permuted before use (`[C_out, C_in, K…]` → `[C_out, K…, C_in]` for
/// convolutions, `[C_in, C_out, K…]` → `[C_out, K…, C_in]` for transposed ones).
///
/// These are cross-correlations, as in every deep-learning framework: the kernel is not flipped
/// (see [`ConvGeneralOptions::flip`]). Along one spatial axis of size `L` with kernel `K`,
/// stride `s`, padding `p` and dilation `d`, the output has `(L + 2p - d(K - 1) - 1) / s + 1`
/// elements; a transposed convolution has `(L - 1)s - 2p + d(K - 1) + 1 + output_padding`.
///
/// `groups` splits the channels into independent groups; MLX supports `groups > 1` for 1-D and
/// 2-D convolutions only.
///
/// # Dtypes
///
/// Inputs and weights must be floating point (float16, bfloat16, float32); they are promoted to
/// a common type. MLX 0.32's CPU convolutions accept float64 but compute it in float32 precision,
/// and transposed or input-dilated convolutions fail on float64 when evaluated: use float32.
///
/// # Gradients
///
/// All convolutions are differentiable with respect to input and weight. MLX 0.32's transposed
/// convolutions give wrong results when `padding > dilation * (K - 1)` and wrong input gradients
/// when `output_padding > 0`; in those cases [`conv_transpose1d`] and its siblings compute the
/// transposed convolution without padding (which MLX gets right) and crop or extend it. This
/// function passes `input_dilation > 1` to MLX as is, and MLX's gradient with respect to the
/// input then has the wrong shape for many paddings (all but those of a transposed convolution
/// without output padding): prefer the transposed convolutions.
///
/// ```
/// use mlx::ops::{ConvGeneralOptions, conv_general};
/// let x = mlx::array![1.0, 2.0, 3.0].reshape(&[1, 3, 1])?;
/// let w = mlx::array![1.0, 10.0].reshape(&[1, 2, 1])?;
/// // Pad one zero on the left only, and flip the kernel (a true convolution).
/// let o = ConvGeneralOptions::new().with_padding_lo_hi(&[1], &[0]).with_flip(true);
/// assert_eq!(conv_general(&x, &w, o)?.to_vec::<f32>()?, vec![1.0, 12.0, 23.0]);
/// # Ok::<(), mlx::Error>(())
/// ```
pub fn conv_general(input: &Array, weight: &Array, options: ConvGeneralOptions) -> Result<Array> {
    check_groups(options.groups)?;
    call(|r, st| unsafe {
        sys::mlxc_conv_general(
            r,
            input.as_raw(),
            weight.as_raw(),
            ints(&options.stride),
            ints(&options.padding_lo),
            ints(&options.padding_hi),
            ints(&options.kernel_dilation),
            ints(&options.input_dilation),
            options.groups,
            options.flip,
            st,
        )
    })
}

/// How much of the full convolution [`convolve`] returns (NumPy's and MLX's `mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConvolveMode {
    /// Every overlap: length `n + m - 1`.
    #[default]
    Full,
    /// The centre of the full result, of the longer input's length.
    Same,
    /// Only complete overlaps: length `max(n, m) - min(n, m) + 1`.
    Valid,
}

/// The discrete convolution of two 1-D floating-point arrays (MLX's and NumPy's `convolve`):
/// the kernel is flipped, as in signal processing; when `v` is longer than `a` the two are
/// swapped.
///
/// ```
/// use mlx::ops::{ConvolveMode, convolve};
/// let a = mlx::array![0.0f32, 1.0, 2.0, 3.0, 4.0];
/// let v = mlx::array![1.0f32, 2.0, 3.0, 4.0];
/// assert_eq!(convolve(&a, &v, ConvolveMode::Valid)?.to_vec::<f32>()?, vec![10.0, 20.0]);
/// assert_eq!(convolve(&a, &v, ConvolveMode::Full)?.shape(), &[8]);
/// # Ok::<(), mlx::Error>(())
/// ```
pub fn convolve(a: &Array, v: &Array, mode: ConvolveMode) -> Result<Array> {
    if a.ndim() != 1 || v.ndim() != 1 {
        return invalid(format!(
            "[convolve] inputs must be 1-D, got shapes {:?} and {:?}",
            a.shape(),
            v.shape()
        ));
    }
    let (a, v) = if v.size() > a.size() { (v, a) } else { (a, v) };
    let (n, m) = (a.shape()[0], v.shape()[0]);
    if m == 0 {
        return invalid("[convolve] inputs must not be empty");
    }
    let input = a.reshape(&[1, n, 1])?;
    let kernel = super::flip(v, Some(&[0]))?.reshape(&[1, m, 1])?;
    let full = conv1d(&input, &kernel, ConvOptions::new().with_padding(m - 1))?.reshape(&[-1])?;
    let (start, len) = match mode {
        ConvolveMode::Full => return Ok(full),
        ConvolveMode::Same => ((m - 1) / 2, n),
        ConvolveMode::Valid => (m - 1, n - m + 1),
    };
    super::slice(&full, &[start], &[start + len], &[1])
}

/// Float32 convolution of a channels-first `[N, C, *spatial]` input with a `[O, C, *kernel]`
/// weight, plus an optional `[O]` bias, on the CPU, with a channel-major `[O, N, *out]` result.
///
/// Not an MLX op: a CPU kernel of this crate, taking part in lazy graphs like any op (it has no
/// gradient in MLX's transforms). It is the product of the weight, as `[O, C * K]`, and the
/// input unfolded into columns `[C * K, N * P]` (`K` kernel taps, `P` output positions per
/// image), computed a block of images at a time in a small scratch buffer of the task that runs
/// it, so that no batch-sized unfolded input (nor a padded copy of the input) is ever
/// allocated, and multiplied by the BLAS that MLX links. The input is read through its strides
/// (a transposed view costs no copy) and zero-padded by `padding_lo` before and `padding_hi`
/// after each spatial axis. Per spatial axis `j`, `out[j] = (size[j] + padding_lo[j] +
/// padding_hi[j] - (kernel[j] - 1) * dilation[j] - 1) / stride[j] + 1`; each of `stride`,
/// `padding_lo`, `padding_hi` and `dilation` holds one value per spatial axis (1 to 3 of them).
/// Swapping the result's first two axes gives MLX's channels-first layout.
///
/// Errors on a non-CPU default device, a dtype other than float32, shapes that do not fit, or a
/// kernel larger than the padded input.
pub fn conv_channel_major(
    x: &Array,
    weight: &Array,
    bias: Option<&Array>,
    geometry: &ChannelMajorConv<'_>,
) -> Result<Array> {
    call(|r, s| unsafe {
        sys::mlxc_conv_channel_major(
            r,
            x.as_raw(),
            weight.as_raw(),
            crate::linalg::opt_raw(bias),
            ints(geometry.stride),
            ints(geometry.padding_lo),
            ints(geometry.padding_hi),
            ints(geometry.dilation),
            s,
        )
    })
}

/// Where the windows of [`conv_channel_major`] lie: one value per spatial axis in each field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelMajorConv<'a> {
    /// Step between windows (at least 1).
    pub stride: &'a [i32],
    /// Zeros before the input (at least 0).
    pub padding_lo: &'a [i32],
    /// Zeros after the input (at least 0).
    pub padding_hi: &'a [i32],
    /// Step between a window's taps (at least 1).
    pub dilation: &'a [i32],
}

/// Where the windows of [`window_max_2d`] lie, per spatial axis (height, width).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Windows2d {
    /// Taps per window (at least 1).
    pub kernel: [i32; 2],
    /// Step between windows (at least 1).
    pub stride: [i32; 2],
    /// Positions before the input, read as `-inf` (at least 0).
    pub padding: [i32; 2],
    /// Step between a window's taps (at least 1).
    pub dilation: [i32; 2],
    /// Number of windows (at least 0); window `o` starts at `o * stride - padding`, and taps
    /// outside the input are read as `-inf`, so any count is safe (ceil-mode pooling's last,
    /// partial windows included).
    pub out: [i32; 2],
}

/// Max pooling of a channels-first `[N, C, H, W]` floating-point array, on the CPU, in one pass.
///
/// Not an MLX op: a CPU kernel of this crate, taking part in lazy graphs like any op (it has no
/// gradient in MLX's transforms). It reads `x` through its strides, so a transposed or sliced
/// view costs no copy, and writes `[N, C, out[0], out[1]]`. A value replaces a window's maximum
/// only when strictly greater: the first maximum wins and NaN is passed over (where MLX's `max`
/// propagates it); a window with nothing above `-inf` gives `-inf`. With `positions`, also
/// returns where each maximum lies as the int32 flat position `h * W + w` in the unpadded input
/// (0 where nothing exceeds `-inf`).
///
/// Errors on a non-CPU default device, a shape that is not 4-d, a non-floating dtype, or a
/// window parameter out of range.
pub fn window_max_2d(
    x: &Array,
    windows: &Windows2d,
    positions: bool,
) -> Result<(Array, Option<Array>)> {
    let Windows2d {
        kernel,
        stride,
        padding,
        dilation,
        out,
    } = windows;
    let mut v = super::call_vec(|r, s| unsafe {
        sys::mlxc_window_max_2d(
            r,
            x.as_raw(),
            ints(kernel),
            ints(stride),
            ints(padding),
            ints(dilation),
            ints(out),
            positions,
            s,
        )
    })?;
    let at = if positions { v.pop() } else { None };
    let best = v.pop().expect("window_max_2d gives the maxima");
    Ok((best, at))
}
