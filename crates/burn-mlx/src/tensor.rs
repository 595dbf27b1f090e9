//! [`MlxTensor`]: the tensor primitive of the backend, and conversions between Burn's and MLX's
//! element types and data.

use std::fmt;
use std::sync::Arc;

use burn_backend::{BoolStore, DType, Shape, TensorData, TensorMetadata};
use mlx::{Array, Dtype};

use crate::device::MlxDevice;

/// A tensor of the `Mlx` backend: an MLX array (a node of MLX's lazy graph), the device its
/// ops run on, and how many not-yet-evaluated ops lie behind it (see [`crate::eval`]).
///
/// The same type serves float, int and bool tensors; the array's dtype tells them apart.
/// Clones share the array (`Arc`), so that `Backend::sync` can find every live tensor through
/// weak references.
#[derive(Clone)]
pub struct MlxTensor {
    pub(crate) array: Arc<Array>,
    pub(crate) device: MlxDevice,
    pub(crate) depth: u32,
    /// The evaluation epoch ([`crate::eval::epoch`]) when `depth` was counted: after a later
    /// evaluation the array may have been computed, and `depth` may be stale.
    pub(crate) epoch: u32,
    /// A hint that the array is channels-first in shape but channels-last in memory (see
    /// [`crate::ops::layout`]). Only speed depends on it, never a value.
    pub(crate) channels_last: bool,
    /// For an int tensor of indices that an op of this backend produced: every element lies in
    /// `[0, index_bound)` (0: nothing known). An op that reads such indices back (max pooling's
    /// backward pass) may then skip the nodes that guard against indices out of range.
    pub(crate) index_bound: u32,
}

impl MlxTensor {
    /// Wraps an MLX array. An array with pending ops is tracked so that `Backend::sync`
    /// evaluates it.
    pub fn new(array: Array, device: MlxDevice) -> Self {
        if array.status() == mlx::Status::Available {
            MlxTensor {
                array: Arc::new(array),
                device,
                depth: 0,
                epoch: crate::eval::epoch(),
                channels_last: false,
                index_bound: 0,
            }
        } else {
            crate::eval::created(array, device)
        }
    }

    /// The MLX array (for mixing Burn code with direct `mlx` calls).
    pub fn array(&self) -> &Array {
        &self.array
    }

    /// The MLX array, by value.
    pub fn into_array(self) -> Array {
        Arc::try_unwrap(self.array).unwrap_or_else(|shared| (*shared).clone())
    }

    /// The device this tensor's ops run on.
    pub fn device(&self) -> MlxDevice {
        self.device
    }

    /// Copies Burn data into a new tensor on `device`.
    pub(crate) fn from_data(data: TensorData, device: MlxDevice) -> Self {
        let data = match data.dtype {
            // Burn's packed bool stores and Flex32 become MLX's bool and float32.
            DType::Bool(BoolStore::U8 | BoolStore::U32) => {
                data.convert_dtype(DType::Bool(BoolStore::Native))
            }
            DType::Flex32 => data.convert_dtype(DType::F32),
            _ => data,
        };
        let dtype = to_mlx_dtype(data.dtype);
        let shape = to_mlx_shape(&data.shape);
        let array = Array::from_bytes(data.as_bytes(), &shape, dtype)
            .unwrap_or_else(|e| panic!("burn-mlx: from_data: {e}"));
        MlxTensor::new(array, device)
    }

    /// Evaluates the tensor and copies its values out. A read ends what [`crate::memo`] keeps.
    ///
    /// The tensor's evaluation is started first, then the rest of the pending work
    /// ([`crate::eval::run_ahead`]), and only then is the tensor waited for: the host schedules
    /// the rest (a training step's backward pass and update, read after its loss) while the
    /// device computes what the read needs, instead of after it. The wait is for this tensor's
    /// own evaluation, not for the work started after it.
    pub(crate) fn to_data(&self) -> TensorData {
        crate::eval::run(self.device, "into_data", || {
            crate::eval::start_read([&*self.array])
        });
        self.started_to_data()
    }

    /// Waits for the tensor, whose evaluation has been started, and copies its values out.
    pub(crate) fn started_to_data(&self) -> TensorData {
        let bytes = crate::eval::run(self.device, "into_data", || self.array.to_bytes());
        TensorData::from_bytes_vec(bytes, self.shape(), to_burn_dtype(self.array.dtype()))
    }
}

impl fmt::Debug for MlxTensor {
    /// Shape, dtype and device: printing never forces evaluation.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MlxTensor {{ shape: {:?}, dtype: {}, device: {} }}",
            self.array.shape(),
            self.array.dtype(),
            self.device
        )
    }
}

impl TensorMetadata for MlxTensor {
    fn dtype(&self) -> DType {
        to_burn_dtype(self.array.dtype())
    }

    fn shape(&self) -> Shape {
        Shape::from(
            self.array
                .shape()
                .iter()
                .map(|d| *d as usize)
                .collect::<Vec<_>>(),
        )
    }

    fn rank(&self) -> usize {
        self.array.ndim()
    }
}

/// MLX's dtype for a Burn dtype.
pub(crate) fn to_mlx_dtype(dtype: DType) -> Dtype {
    match dtype {
        DType::F64 => Dtype::Float64,
        DType::F32 | DType::Flex32 => Dtype::Float32,
        DType::F16 => Dtype::Float16,
        DType::BF16 => Dtype::Bfloat16,
        DType::I64 => Dtype::Int64,
        DType::I32 => Dtype::Int32,
        DType::I16 => Dtype::Int16,
        DType::I8 => Dtype::Int8,
        DType::U64 => Dtype::Uint64,
        DType::U32 => Dtype::Uint32,
        DType::U16 => Dtype::Uint16,
        DType::U8 => Dtype::Uint8,
        DType::Bool(_) => Dtype::Bool,
        DType::QFloat(_) => {
            panic!("burn-mlx: quantized data goes through the quantized tensor type")
        }
    }
}

/// Burn's dtype for an MLX dtype.
pub(crate) fn to_burn_dtype(dtype: Dtype) -> DType {
    match dtype {
        Dtype::Float64 => DType::F64,
        Dtype::Float32 => DType::F32,
        Dtype::Float16 => DType::F16,
        Dtype::Bfloat16 => DType::BF16,
        Dtype::Int64 => DType::I64,
        Dtype::Int32 => DType::I32,
        Dtype::Int16 => DType::I16,
        Dtype::Int8 => DType::I8,
        Dtype::Uint64 => DType::U64,
        Dtype::Uint32 => DType::U32,
        Dtype::Uint16 => DType::U16,
        Dtype::Uint8 => DType::U8,
        Dtype::Bool => DType::Bool(BoolStore::Native),
        Dtype::Complex64 => panic!("burn-mlx: Burn has no complex dtype"),
    }
}

/// MLX's shape for a Burn shape (MLX dimensions are i32).
pub(crate) fn to_mlx_shape(shape: &Shape) -> Vec<i32> {
    shape
        .iter()
        .map(|d| {
            i32::try_from(*d)
                .unwrap_or_else(|_| panic!("burn-mlx: dimension {d} exceeds MLX's i32 limit"))
        })
        .collect()
}

/// Whether MLX's GPU backends lack `dtype` (float64: neither CUDA nor Metal computes in it).
pub(crate) fn gpu_lacks(dtype: Dtype) -> bool {
    dtype == Dtype::Float64
}

/// The device whose stream runs an op of a tensor on `device`: the device itself, except that
/// on the GPU an op MLX's GPU backends cannot compute (`cpu_only`) runs on MLX's CPU stream. The
/// tensor stays on the GPU device, and later ops on it run there again: MLX's arrays are
/// reachable from both devices, and MLX orders work across its streams.
pub(crate) fn exec_device(device: MlxDevice, cpu_only: bool) -> MlxDevice {
    if cpu_only && device == MlxDevice::Gpu {
        // The GPU device must still exist: without one, the op fails as any GPU op does.
        let _ = device.stream();
        MlxDevice::Cpu
    } else {
        device
    }
}
