//! [`MlxDevice`]: where a tensor's ops run.

use std::fmt;
use std::sync::OnceLock;

use burn_backend::{DeviceId, DeviceOps};

/// The device MLX runs a tensor's ops on.
///
/// MLX keeps every array in memory that both devices can reach (unified memory on Apple
/// silicon; on Linux with CUDA, MLX moves data as needed), so moving a tensor between devices
/// only changes where later ops run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MlxDevice {
    /// The CPU.
    Cpu,
    /// The GPU: Metal on macOS, CUDA on Linux (with the `cuda` feature and MLX's CUDA build).
    Gpu,
}

impl Default for MlxDevice {
    /// The GPU when this MLX has one that works here, else the CPU.
    fn default() -> Self {
        if mlx::Device::gpu().is_available() {
            MlxDevice::Gpu
        } else {
            MlxDevice::Cpu
        }
    }
}

impl MlxDevice {
    /// The matching `mlx` device.
    pub fn mlx_device(self) -> mlx::Device {
        match self {
            MlxDevice::Cpu => mlx::Device::cpu(),
            MlxDevice::Gpu => mlx::Device::gpu(),
        }
    }

    /// Whether MLX can run on this device here.
    pub fn is_available(self) -> bool {
        self.mlx_device().is_available()
    }

    /// The stream this device's ops are submitted to: the device's process-wide default
    /// stream, which every thread may use. Looked up once per process (this runs for every op).
    pub(crate) fn stream(self) -> mlx::Stream {
        static STREAMS: [OnceLock<mlx::Stream>; 2] = [OnceLock::new(), OnceLock::new()];
        let slot = &STREAMS[self as usize];
        if let Some(s) = slot.get() {
            return *s;
        }
        if !self.is_available() {
            panic!(
                "burn-mlx: {self} is not available: this MLX has no usable GPU backend (use \
                 MlxDevice::Cpu, or build with the `cuda` feature on an NVIDIA machine)"
            );
        }
        let stream = mlx::Stream::default_for(self.mlx_device())
            .unwrap_or_else(|e| panic!("burn-mlx: cannot create a stream on {self}: {e}"));
        *slot.get_or_init(|| stream)
    }
}

impl fmt::Display for MlxDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MlxDevice::Cpu => f.write_str("MLX CPU"),
            MlxDevice::Gpu => match mlx::gpu_backend() {
                Some(mlx::GpuBackend::Metal) => f.write_str("MLX GPU (Metal)"),
                Some(mlx::GpuBackend::Cuda) => f.write_str("MLX GPU (CUDA)"),
                None => f.write_str("MLX GPU (unavailable)"),
            },
        }
    }
}

impl burn_backend::Device for MlxDevice {
    fn from_id(device_id: DeviceId) -> Self {
        if device_id.type_id == 1 {
            MlxDevice::Gpu
        } else {
            MlxDevice::Cpu
        }
    }

    fn to_id(&self) -> DeviceId {
        let type_id = match self {
            MlxDevice::Cpu => 0,
            MlxDevice::Gpu => 1,
        };
        DeviceId {
            type_id,
            index_id: 0,
        }
    }
}

impl DeviceOps for MlxDevice {}
