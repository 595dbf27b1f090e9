//! Max and average pooling over 1, 2 or 3 spatial dimensions (MLX's `nn.MaxPool1d` ...
//! `nn.AvgPool3d`).
//!
//! One generic layer, [`Pool`], does the work for every case: its reduction is a type parameter
//! ([`Max`] or [`Avg`]) and its number of spatial dimensions a const parameter. The Python names
//! ([`MaxPool1d`], [`AvgPool2d`], ...) are aliases of it.

use std::fmt::Debug;
use std::marker::PhantomData;

use crate::Parameters;
use crate::array::Array;
use crate::error::{Error, Result};
use crate::nn::Module;
use crate::ops::{self, PadMode, PerDim};
use crate::params::ModuleState;

mod sealed {
    pub trait Sealed {}
}

/// How a [`Pool`] reduces each window: [`Max`] or [`Avg`].
///
/// Sealed: the two reductions of MLX's pooling layers are the only implementations.
pub trait PoolReduction: sealed::Sealed + Clone + Debug + Default + Send + Sync + 'static {
    /// `Max` or `Avg`, as in the Python class names.
    const NAME: &'static str;
    /// The value padding adds around the input: the reduction's identity, so padded positions
    /// never win a maximum (`-inf`); for the average they are zeros that count in the mean, as
    /// in Python MLX.
    const PADDING_VALUE: f32;
    /// Reduces `windows` over `axes`.
    fn reduce(windows: &Array, axes: &[i32]) -> Result<Array>;
}

/// The maximum of each window (padding with `-inf`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Max;

/// The mean of each window (padding with zeros, which count in the mean).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Avg;

impl sealed::Sealed for Max {}
impl sealed::Sealed for Avg {}

impl PoolReduction for Max {
    const NAME: &'static str = "Max";
    const PADDING_VALUE: f32 = f32::NEG_INFINITY;
    fn reduce(windows: &Array, axes: &[i32]) -> Result<Array> {
        windows.max(Some(axes), false)
    }
}

impl PoolReduction for Avg {
    const NAME: &'static str = "Avg";
    const PADDING_VALUE: f32 = 0.0;
    fn reduce(windows: &Array, axes: &[i32]) -> Result<Array> {
        windows.mean(Some(axes), false)
    }
}

/// Pooling over `N` spatial dimensions of a channels-last input (`[batch, spatial..., channels]`:
/// `NLC`, `NHWC`, `NDHWC`), reducing each `kernel_size` window with `R`.
///
/// Windows start every `stride` elements (by default `stride = kernel_size`, so windows do not
/// overlap) and only whole windows are used: an axis of size `n` (after padding) gives
/// `(n - kernel) / stride + 1` outputs. `padding` elements of `R`'s padding value are added on
/// both sides of every spatial axis first. The input must have exactly `N + 2` dimensions.
///
/// Use the Python names: [`MaxPool1d`], [`MaxPool2d`], [`MaxPool3d`], [`AvgPool1d`],
/// [`AvgPool2d`], [`AvgPool3d`]. Each size accepts one `i32` for every spatial dimension or an
/// array of `N`.
///
/// ```
/// use mlx::nn::{MaxPool2d, Module};
/// use mlx::Array;
///
/// // A 4x4 ramp, one image, one channel; 2x2 windows.
/// let x = Array::from_iter(0..16)?.reshape(&[1, 4, 4, 1])?;
/// let pool = MaxPool2d::new(2)?;
/// let y = pool.forward(&x)?;
/// assert_eq!(y.shape(), &[1, 2, 2, 1]);
/// assert_eq!(y.to_vec::<i32>()?, vec![5, 7, 13, 15]);
///
/// let overlapping = MaxPool2d::new([3, 2])?.with_stride(1)?.with_padding([1, 0])?;
/// assert_eq!(overlapping.forward(&x)?.shape(), &[1, 4, 3, 1]);
/// # Ok::<(), mlx::Error>(())
/// ```
#[derive(Parameters, Clone, Debug)]
pub struct Pool<R: PoolReduction, const N: usize> {
    #[param(skip)]
    kernel_size: [i32; N],
    #[param(skip)]
    stride: [i32; N],
    #[param(skip)]
    padding: [i32; N],
    #[param(skip)]
    reduction: PhantomData<R>,
    #[param(state)]
    state: ModuleState,
}

/// 1-D max pooling of `[batch, length, channels]` inputs (MLX's `nn.MaxPool1d`).
pub type MaxPool1d = Pool<Max, 1>;
/// 2-D max pooling of `[batch, height, width, channels]` inputs (MLX's `nn.MaxPool2d`).
pub type MaxPool2d = Pool<Max, 2>;
/// 3-D max pooling of `[batch, depth, height, width, channels]` inputs (MLX's `nn.MaxPool3d`).
pub type MaxPool3d = Pool<Max, 3>;
/// 1-D average pooling of `[batch, length, channels]` inputs (MLX's `nn.AvgPool1d`).
pub type AvgPool1d = Pool<Avg, 1>;
/// 2-D average pooling of `[batch, height, width, channels]` inputs (MLX's `nn.AvgPool2d`).
pub type AvgPool2d = Pool<Avg, 2>;
/// 3-D average pooling of `[batch, depth, height, width, channels]` inputs (MLX's
/// `nn.AvgPool3d`).
pub type AvgPool3d = Pool<Avg, 3>;

impl<R: PoolReduction, const N: usize> Pool<R, N> {
    /// A pooling layer with windows of `kernel_size`, stride `kernel_size` and no padding
    /// (Python's defaults). Errors unless every kernel size is positive.
    pub fn new(kernel_size: impl PerDim<N>) -> Result<Self> {
        let kernel_size = kernel_size.per_dim();
        let pool = Pool {
            kernel_size,
            stride: kernel_size,
            padding: [0; N],
            reduction: PhantomData,
            state: ModuleState::new(),
        };
        pool.check("kernel_size", &kernel_size, 1)?;
        Ok(pool)
    }

    /// The layer with windows starting every `stride` elements. Errors unless every stride is
    /// positive.
    pub fn with_stride(mut self, stride: impl PerDim<N>) -> Result<Self> {
        let stride = stride.per_dim();
        self.check("stride", &stride, 1)?;
        self.stride = stride;
        Ok(self)
    }

    /// The layer with `padding` elements added on both sides of every spatial axis (one value
    /// for all axes or one per axis). Errors if any is negative.
    pub fn with_padding(mut self, padding: impl PerDim<N>) -> Result<Self> {
        let padding = padding.per_dim();
        self.check("padding", &padding, 0)?;
        self.padding = padding;
        Ok(self)
    }

    /// The window size along each spatial axis.
    pub fn kernel_size(&self) -> [i32; N] {
        self.kernel_size
    }

    /// The step between windows along each spatial axis.
    pub fn stride(&self) -> [i32; N] {
        self.stride
    }

    /// The padding added on both sides of each spatial axis.
    pub fn padding(&self) -> [i32; N] {
        self.padding
    }

    /// The Python class name (`MaxPool2d`, ...), for messages.
    fn name() -> String {
        format!("{}Pool{N}d", R::NAME)
    }

    fn check(&self, what: &str, values: &[i32; N], min: i32) -> Result<()> {
        if values.iter().any(|&v| v < min) {
            let bound = if min > 0 { "positive" } else { "non-negative" };
            return Err(Error::InvalidArgument(format!(
                "[{}] {what} must be {bound}, got {values:?}",
                Self::name()
            )));
        }
        Ok(())
    }
}

impl<R: PoolReduction, const N: usize> Module for Pool<R, N> {
    fn forward(&self, x: &Array) -> Result<Array> {
        if x.ndim() != N + 2 {
            return Err(Error::InvalidArgument(format!(
                "[{}] expected an input with {} dimensions (batch, {N} spatial, channels), got \
                 shape {:?}",
                Self::name(),
                N + 2,
                x.shape()
            )));
        }
        let padded = if self.padding.iter().any(|&p| p > 0) {
            let mut widths = vec![(0, 0)];
            widths.extend(self.padding.iter().map(|&p| (p, p)));
            widths.push((0, 0));
            let value = Array::scalar(R::PADDING_VALUE);
            ops::pad(x, &widths, &value, PadMode::Constant)?
        } else {
            x.clone()
        };
        let windows = self.windows(&padded)?;
        // The window axes sit just before the channels.
        let axes: Vec<i32> = (0..N as i32).map(|i| i - N as i32 - 1).collect();
        R::reduce(&windows, &axes)
    }
}

impl<R: PoolReduction, const N: usize> Pool<R, N> {
    /// The windows of `x` (`[batch, spatial..., channels]`) as
    /// `[batch, outputs..., kernel..., channels]`.
    fn windows(&self, x: &Array) -> Result<Array> {
        let shape = x.shape();
        let spatial = &shape[1..=N];
        if let Some(d) = (0..N).find(|&d| spatial[d] < self.kernel_size[d]) {
            return Err(Error::InvalidArgument(format!(
                "[{}] the input's spatial size {:?} (after padding {:?}) is smaller than the \
                 kernel {:?} along spatial axis {d}",
                Self::name(),
                spatial,
                self.padding,
                self.kernel_size
            )));
        }
        let (batch, channels) = (shape[0], shape[N + 1]);
        let tiles = (0..N).all(|d| {
            self.stride[d] == self.kernel_size[d] && spatial[d] % self.kernel_size[d] == 0
        });
        if tiles {
            // Non-overlapping windows that cover the input exactly: split each spatial axis
            // into (outputs, kernel) and move the kernel axes after the output axes.
            let mut split = vec![batch];
            for (&n, &k) in spatial.iter().zip(&self.kernel_size) {
                split.extend([n / k, k]);
            }
            split.push(channels);
            let last = 2 * N as i32 + 1;
            let mut order = vec![0];
            order.extend((1..last).step_by(2));
            order.extend((2..last).step_by(2));
            order.push(last);
            return x.reshape(&split)?.transpose(Some(&order));
        }
        // The general case: a strided view of the (contiguous) input.
        let x = ops::contiguous(x)?;
        let mut elem_strides = vec![1i64; N + 2];
        for axis in (0..N + 1).rev() {
            elem_strides[axis] = elem_strides[axis + 1] * i64::from(shape[axis + 1]);
        }
        let mut view_shape = vec![batch];
        let mut view_strides = vec![elem_strides[0]];
        for d in 0..N {
            view_shape.push((spatial[d] - self.kernel_size[d]) / self.stride[d] + 1);
            view_strides.push(elem_strides[d + 1] * i64::from(self.stride[d]));
        }
        view_shape.extend_from_slice(&self.kernel_size);
        view_strides.extend_from_slice(&elem_strides[1..=N]);
        view_shape.push(channels);
        view_strides.push(1);
        ops::as_strided(&x, &view_shape, &view_strides, 0)
    }
}
