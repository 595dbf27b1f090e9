//! The [`Mlx`] backend type and Burn's `Backend` trait.

use std::marker::PhantomData;

use burn_backend::quantization::QuantScheme;
use burn_backend::{
    Backend, BackendTypes, BoolStore, DType, DTypeUsage, DTypeUsageSet, ExecutionError,
};

use crate::device::MlxDevice;
use crate::element::{MlxFloat, MlxInt};
use crate::qtensor::MlxQTensor;
use crate::tensor::MlxTensor;

/// Burn's backend on MLX.
///
/// `F` is the default float element (`f32`; also `f16`, `bf16`, and `f64` on the CPU) and `I`
/// the default int element (`i32` or `i64`). Tensors of every dtype work whatever the defaults;
/// they only choose what `Tensor::zeros` and friends create.
///
/// ```
/// use burn_mlx::{Mlx, MlxDevice};
/// type B = burn_autodiff::Autodiff<Mlx>; // trainable
/// let device = MlxDevice::default(); // the GPU when there is one
/// # let _ = device;
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Mlx<F: MlxFloat = f32, I: MlxInt = i32> {
    _types: PhantomData<(F, I)>,
}

impl<F: MlxFloat, I: MlxInt> BackendTypes for Mlx<F, I> {
    type Device = MlxDevice;
    type FloatTensorPrimitive = MlxTensor;
    type FloatElem = F;
    type IntTensorPrimitive = MlxTensor;
    type IntElem = I;
    type BoolTensorPrimitive = MlxTensor;
    type BoolElem = bool;
    type QuantizedTensorPrimitive = MlxQTensor;
}

impl<F: MlxFloat, I: MlxInt> Backend for Mlx<F, I> {
    fn name(device: &MlxDevice) -> String {
        format!("mlx {} on {device}", mlx::version())
    }

    fn seed(_device: &MlxDevice, seed: u64) {
        // One key sequence for the process (every thread, every device): see `rng`.
        crate::rng::seed(seed);
    }

    fn sync(device: &MlxDevice) -> Result<(), ExecutionError> {
        // MLX submits nothing until something is evaluated: first evaluate every live tensor
        // that is still pending (one batched eval), then wait for the device.
        crate::memo::clear();
        mlx::with_stream(device.stream(), || {
            crate::eval::eval_pending()?;
            mlx::synchronize()
        })
        .map_err(|e| ExecutionError::WithContext {
            reason: format!("burn-mlx: sync: {e}"),
        })
    }

    fn memory_cleanup(device: &MlxDevice) {
        // Pending graphs hold their intermediate buffers: evaluate them, so that what is
        // returned to the system includes those. Only cached (freed) buffers are returned; live
        // arrays stay.
        let _ = Self::sync(device);
        let _ = mlx::memory::clear_cache();
    }

    fn dtype_usage(_device: &MlxDevice, dtype: DType) -> DTypeUsageSet {
        let general = DTypeUsage::general();
        match dtype {
            // MLX's GPU backends have no float64: on the GPU device, float64 ops run on MLX's
            // CPU stream (see `tensor::exec_device`), correct but not accelerated.
            DType::F64 | DType::F32 | DType::Flex32 => general,
            // Half-precision arithmetic; sums, products, means and cumulative sums accumulate
            // in f32 as Burn's reference backends do, and CPU matmuls and attention compute in
            // f32 (MLX's CPU has no BLAS for half types; see `ops::base::cpu_half_in_f32`).
            DType::F16 | DType::BF16 => general | DTypeUsage::Accelerated,
            DType::I64 | DType::I32 | DType::I16 | DType::I8 => general,
            DType::U64 | DType::U32 | DType::U16 | DType::U8 => general,
            // MLX stores bools natively; the U8 and U32 stores of other backends have no
            // counterpart here (data in those layouts is converted on the way in).
            DType::Bool(BoolStore::Native) => general,
            DType::Bool(_) => DTypeUsageSet::empty(),
            DType::QFloat(scheme) if quantization_supported(&scheme) => general,
            DType::QFloat(_) => DTypeUsageSet::empty(),
        }
    }

    fn device_count(type_id: u16) -> usize {
        match type_id {
            0 => 1,
            _ => mlx::Device::count(mlx::DeviceType::Gpu),
        }
    }
}

/// The quantization schemes this backend implements: symmetric, per-tensor or per-block, with
/// `Q8F`, `Q8S`, `Q4F`, `Q4S`, `Q2F` or `Q2S` values, `F32`, `F16` or `BF16` scales, stored
/// `Native` or `PackedU32(0)` (see [`crate::qtensor`]).
pub(crate) fn quantization_supported(scheme: &QuantScheme) -> bool {
    crate::qtensor::unsupported_reason(scheme).is_none()
}
