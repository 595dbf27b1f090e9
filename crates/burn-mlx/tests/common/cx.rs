//! [`Cx`], the context of one run: the device, the precision under test and whether this is the
//! oracle; it makes the run's inputs (rounded to the precision, through a [`Layout`]) and reads
//! gradients back. Also the tensor-API helpers of tests that take a device and a dtype.

use burn::tensor::{Bool, Int, Tensor, TensorPrimitive};
// The ops traits, for calls on `B::InnerBackend` (a bound's supertraits cover `B` itself).
use burn_backend::ops::{BoolTensorOps, FloatTensorOps, IntTensorOps};
use burn_backend::tensor::{BoolTensor, FloatTensor, IntTensor};
use burn_backend::{AutodiffBackend, Backend, DType, FloatDType, TensorData, TensorMetadata};

use super::layout::{Layout, Step};
use super::{MlxDevice, Prec, floats_in, mlx_device};

/// One run's context: the device, the precision under test, and whether this is the oracle.
pub struct Cx<B: Backend> {
    pub dev: B::Device,
    pub prec: Prec,
    pub oracle: bool,
}

impl<B: Backend<Device = MlxDevice>> Cx<B> {
    /// A run of the backend under test (`Mlx` or `Autodiff<Mlx>`) on [`mlx_device`].
    pub fn mlx(prec: Prec) -> Self {
        Cx {
            dev: mlx_device(),
            prec,
            oracle: false,
        }
    }
}

impl<B: Backend<Device = burn_ndarray::NdArrayDevice>> Cx<B> {
    /// A run of the oracle (`NdArray` or `Autodiff<NdArray>`).
    pub fn oracle(prec: Prec) -> Self {
        Cx {
            dev: Default::default(),
            prec,
            oracle: true,
        }
    }
}

/// Applies a layout's device-side steps with the float, int or bool ops named.
macro_rules! apply_steps {
    ($B:ty, $t:expr, $steps:expr, $swap:ident, $permute:ident, $slice:ident) => {{
        let mut t = $t;
        for step in $steps {
            t = match step {
                Step::Swap(a, b) => <$B>::$swap(t, a, b),
                Step::Permute(axes) => <$B>::$permute(t, &axes),
                Step::Slice(s) => <$B>::$slice(t, &s),
            };
        }
        t
    }};
}

impl<B: Backend> Cx<B> {
    /// The float dtype of this run.
    pub fn fdtype(&self) -> FloatDType {
        if self.oracle {
            self.prec.oracle_dtype().into()
        } else {
            self.prec.dtype().into()
        }
    }

    /// The float dtype of this run as a `DType`.
    pub fn dtype(&self) -> DType {
        self.fdtype().into()
    }

    /// Float data as this run sees it: rounded to the precision under test, then in the run's
    /// dtype.
    pub fn fdata(&self, data: &TensorData) -> TensorData {
        self.prec.round(data).convert_dtype(self.dtype())
    }

    /// A float tensor of `data` at the precision under test.
    pub fn f(&self, data: &TensorData) -> FloatTensor<B> {
        B::float_from_data(self.fdata(data), &self.dev)
    }

    /// The layout an input really takes in this run: the oracle always gets contiguous data
    /// (views only matter for the backend under test, and ndarray mishandles some of them).
    pub fn layout(&self, layout: Layout) -> Layout {
        if self.oracle {
            Layout::Contiguous
        } else {
            layout
        }
    }

    /// A float tensor of `data`, reached through `layout`.
    pub fn fl(&self, data: &TensorData, layout: Layout) -> FloatTensor<B> {
        let (stored, steps) = self.layout(layout).plan(&self.fdata(data));
        apply_steps!(
            B,
            B::float_from_data(stored, &self.dev),
            steps,
            float_swap_dims,
            float_permute,
            float_slice
        )
    }

    /// An int tensor of `data` (its dtype as given).
    pub fn i(&self, data: &TensorData) -> IntTensor<B> {
        B::int_from_data(data.clone(), &self.dev)
    }

    pub fn il(&self, data: &TensorData, layout: Layout) -> IntTensor<B> {
        let (stored, steps) = self.layout(layout).plan(data);
        apply_steps!(
            B,
            B::int_from_data(stored, &self.dev),
            steps,
            int_swap_dims,
            int_permute,
            int_slice
        )
    }

    /// A bool tensor of `data`.
    pub fn b(&self, data: &TensorData) -> BoolTensor<B> {
        B::bool_from_data(data.clone(), &self.dev)
    }

    pub fn bl(&self, data: &TensorData, layout: Layout) -> BoolTensor<B> {
        let (stored, steps) = self.layout(layout).plan(data);
        apply_steps!(
            B,
            B::bool_from_data(stored, &self.dev),
            steps,
            bool_swap_dims,
            bool_permute,
            bool_slice
        )
    }

    /// Tensor-API versions.
    pub fn ft<const D: usize>(&self, data: &TensorData) -> Tensor<B, D> {
        assert_eq!(data.shape.num_dims(), D, "rank of the data");
        Tensor::from_primitive(TensorPrimitive::Float(self.f(data)))
    }

    pub fn it<const D: usize>(&self, data: &TensorData) -> Tensor<B, D, Int> {
        assert_eq!(data.shape.num_dims(), D, "rank of the data");
        Tensor::from_primitive(self.i(data))
    }

    pub fn bt<const D: usize>(&self, data: &TensorData) -> Tensor<B, D, Bool> {
        assert_eq!(data.shape.num_dims(), D, "rank of the data");
        Tensor::from_primitive(self.b(data))
    }
}

impl<B: AutodiffBackend> Cx<B> {
    /// A float leaf that requires a gradient.
    pub fn fg(&self, data: &TensorData) -> FloatTensor<B> {
        B::float_set_require_grad(self.f(data), true)
    }

    /// A float leaf that requires a gradient, stored so that `layout` views it (see
    /// [`Cx::layout`]), and that view. [`Cx::grad_l`] reads the leaf's gradient back through the
    /// same view, so both backends' gradients compare in the logical layout.
    pub fn fgl(&self, data: &TensorData, layout: Layout) -> (Leaf<B>, FloatTensor<B>) {
        let (stored, steps) = self.layout(layout).plan(&self.fdata(data));
        let tensor = B::float_set_require_grad(B::float_from_data(stored, &self.dev), true);
        let view = apply_steps!(
            B,
            tensor.clone(),
            steps.clone(),
            float_swap_dims,
            float_permute,
            float_slice
        );
        (Leaf { tensor, steps }, view)
    }

    /// The gradient of a [`Cx::fgl`] leaf, through the leaf's view.
    pub fn grad_l(&self, leaf: &Leaf<B>, grads: &B::Gradients) -> TensorData {
        match B::grad(&leaf.tensor, grads) {
            Some(g) => {
                let g = apply_steps!(
                    B::InnerBackend,
                    g,
                    leaf.steps.clone(),
                    float_swap_dims,
                    float_permute,
                    float_slice
                );
                rf::<B::InnerBackend>(g)
            }
            None => {
                let view = apply_steps!(
                    B,
                    leaf.tensor.clone(),
                    leaf.steps.clone(),
                    float_swap_dims,
                    float_permute,
                    float_slice
                );
                TensorData::zeros::<f32, _>(view.shape()).convert_dtype(self.dtype())
            }
        }
    }

    /// Backward pass of `sum(y * w)` with seeded weights `w` (so every output element gets a
    /// different upstream gradient).
    pub fn backward(&self, y: FloatTensor<B>, seed: u64) -> B::Gradients {
        let shape = y.shape();
        let w = self.f(&floats_in(shape.as_slice(), seed ^ 0x5EED, -1.0, 1.0));
        B::backward(B::float_sum(B::float_mul(y, w)))
    }

    /// The gradient of `x` (panics when `x` got none).
    pub fn grad(&self, x: &FloatTensor<B>, grads: &B::Gradients) -> TensorData {
        let g = B::grad(x, grads).expect("the input has no gradient");
        rf::<B::InnerBackend>(g)
    }

    /// The gradient of `x`, or zeros of its shape when it got none.
    pub fn grad_or_zeros(&self, x: &FloatTensor<B>, grads: &B::Gradients) -> TensorData {
        match B::grad(x, grads) {
            Some(g) => rf::<B::InnerBackend>(g),
            None => TensorData::zeros::<f32, _>(x.shape()).convert_dtype(self.dtype()),
        }
    }
}

/// A gradient leaf made by [`Cx::fgl`].
pub struct Leaf<B: Backend> {
    pub tensor: FloatTensor<B>,
    steps: Vec<Step>,
}

/// Reads a float tensor.
pub fn rf<B: Backend>(t: FloatTensor<B>) -> TensorData {
    burn_backend::read_sync(B::float_into_data(t)).expect("reading a float tensor")
}

/// Reads an int tensor.
pub fn ri<B: Backend>(t: IntTensor<B>) -> TensorData {
    burn_backend::read_sync(B::int_into_data(t)).expect("reading an int tensor")
}

/// Reads a bool tensor.
pub fn rb<B: Backend>(t: BoolTensor<B>) -> TensorData {
    burn_backend::read_sync(B::bool_into_data(t)).expect("reading a bool tensor")
}

/// A float tensor of `data` in `dtype` on `device` (for tests on Burn's tensor API).
pub fn tensor<B: Backend, const D: usize>(
    data: &TensorData,
    device: &B::Device,
    dtype: DType,
) -> Tensor<B, D> {
    Tensor::from_data(data.clone(), (device, dtype))
}

/// The gradient of `x` for the loss `sum(output * weight)`: `weight` is the output gradient.
pub fn grad_of<B: AutodiffBackend, const D: usize, const E: usize>(
    x: &Tensor<B, D>,
    output: Tensor<B, E>,
    weight: Tensor<B, E>,
) -> TensorData {
    let grads = (output * weight).sum().backward();
    x.grad(&grads)
        .expect("x takes part in the loss")
        .into_data()
}
