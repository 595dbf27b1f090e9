//! Devices and streams, and which one ops run on.
//!
//! Every op runs on a stream. Unless a scope says otherwise ([`with_stream`], [`with_device`]),
//! that is the default stream of the default device ([`Device::default`]).
//!
//! The default streams are shared by all threads of the process (unlike Python MLX, where each
//! thread has its own and an array built on one thread cannot be evaluated on another): this
//! crate serializes graph construction and evaluation, so one stream per device is enough, work
//! submitted from several threads lands in one queue, and any array can be evaluated, read or
//! dropped on any thread, including arrays MLX built implicitly such as random keys.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::CStr;
use std::sync::Mutex;

use mlx_sys as sys;

use crate::error::{Result, check};

/// CPU or GPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceType {
    /// The CPU.
    Cpu,
    /// The GPU: Metal on macOS, CUDA on Linux with MLX's CUDA build.
    Gpu,
}

/// A device MLX can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Device {
    /// CPU or GPU.
    pub kind: DeviceType,
    /// Index among the devices of that kind.
    pub index: i32,
}

/// The GPU backend of the MLX in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GpuBackend {
    /// Apple's Metal (macOS).
    Metal,
    /// NVIDIA CUDA (Linux, MLX's CUDA build).
    Cuda,
}

/// The GPU backend this MLX was built with and can use, if any.
pub fn gpu_backend() -> Option<GpuBackend> {
    // SAFETY: no arguments; never fails.
    let kind = unsafe { sys::mlxc_gpu_backend_kind() };
    match kind {
        sys::mlxc_gpu_backend::MLXC_GPU_METAL => Some(GpuBackend::Metal),
        sys::mlxc_gpu_backend::MLXC_GPU_CUDA => Some(GpuBackend::Cuda),
        _ => None,
    }
}

static DEFAULT_DEVICE: Mutex<Option<Device>> = Mutex::new(None);
static DEFAULT_STREAMS: Mutex<Option<HashMap<Device, Stream>>> = Mutex::new(None);

thread_local! {
    /// Streams selected by `with_stream` / `with_device` scopes on this thread, innermost last.
    static SCOPES: RefCell<Vec<Stream>> = const { RefCell::new(Vec::new()) };
}

impl Device {
    /// The first CPU.
    pub const fn cpu() -> Device {
        Device {
            kind: DeviceType::Cpu,
            index: 0,
        }
    }

    /// The first GPU.
    pub const fn gpu() -> Device {
        Device {
            kind: DeviceType::Gpu,
            index: 0,
        }
    }

    /// The process-wide default device: MLX's (the GPU when there is one) unless changed with
    /// [`Device::set_default`].
    #[allow(clippy::should_implement_trait)]
    pub fn default() -> Device {
        if let Some(d) = *DEFAULT_DEVICE.lock().unwrap_or_else(|e| e.into_inner()) {
            return d;
        }
        // Ask MLX with the mutex released: a thread inside a transform holds MLX's graph lock
        // while its closure waits for this mutex, so holding both here could deadlock.
        let mut d = sys::mlxc_device::default();
        // SAFETY: valid out-pointer.
        let found = match check(unsafe { sys::mlxc_default_device(&mut d) }) {
            Ok(()) => Device::from_sys(d),
            Err(_) => Device::cpu(),
        };
        *DEFAULT_DEVICE
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert(found)
    }

    /// Makes `self` the process-wide default device.
    pub fn set_default(self) -> Result<()> {
        if !self.is_available() {
            return Err(crate::Error::InvalidArgument(format!(
                "{self} is not available"
            )));
        }
        // SAFETY: plain value argument.
        check(unsafe { sys::mlxc_set_default_device(self.to_sys()) })?;
        *DEFAULT_DEVICE.lock().unwrap_or_else(|e| e.into_inner()) = Some(self);
        Ok(())
    }

    /// Whether MLX can run on this device here.
    pub fn is_available(self) -> bool {
        let mut ok = false;
        // SAFETY: valid out-pointer.
        check(unsafe { sys::mlxc_device_is_available(&mut ok, self.to_sys()) }).is_ok() && ok
    }

    /// How many devices of a kind exist.
    pub fn count(kind: DeviceType) -> usize {
        let mut n = 0;
        let ty = match kind {
            DeviceType::Cpu => sys::mlxc_device_type::MLXC_CPU,
            DeviceType::Gpu => sys::mlxc_device_type::MLXC_GPU,
        };
        // SAFETY: valid out-pointer.
        match check(unsafe { sys::mlxc_device_count(&mut n, ty) }) {
            Ok(()) => n.max(0) as usize,
            Err(_) => 0,
        }
    }

    /// MLX's description of the device (name, architecture, memory …) as key/value pairs.
    pub fn info(self) -> Result<Vec<(String, String)>> {
        let mut s = std::ptr::null_mut();
        // SAFETY: valid out-pointer; the string is freed below.
        check(unsafe { sys::mlxc_device_info(&mut s, self.to_sys()) })?;
        let text = take_string(s);
        Ok(text
            .lines()
            .filter_map(|l| {
                l.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect())
    }

    pub(crate) fn to_sys(self) -> sys::mlxc_device {
        let type_ = match self.kind {
            DeviceType::Cpu => sys::mlxc_device_type::MLXC_CPU,
            DeviceType::Gpu => sys::mlxc_device_type::MLXC_GPU,
        };
        sys::mlxc_device {
            type_,
            index: self.index,
        }
    }

    pub(crate) fn from_sys(d: sys::mlxc_device) -> Device {
        let kind = if d.type_ == sys::mlxc_device_type::MLXC_GPU {
            DeviceType::Gpu
        } else {
            DeviceType::Cpu
        };
        Device {
            kind,
            index: d.index,
        }
    }
}

impl std::fmt::Display for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            DeviceType::Cpu => write!(f, "cpu:{}", self.index),
            DeviceType::Gpu => write!(f, "gpu:{}", self.index),
        }
    }
}

/// A queue of work on one device. Ops submitted to one stream run in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Stream {
    index: i32,
    device: Device,
}

impl Stream {
    /// A new stream on `device`, usable from every thread.
    pub fn new(device: Device) -> Result<Stream> {
        let mut s = sys::mlxc_stream::default();
        // SAFETY: valid out-pointer.
        check(unsafe { sys::mlxc_new_stream(&mut s, device.to_sys(), true) })?;
        Ok(Stream::from_sys(s))
    }

    /// The process-wide default stream of `device`, created on first use and usable from every
    /// thread.
    pub fn default_for(device: Device) -> Result<Stream> {
        let cached = DEFAULT_STREAMS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .and_then(|m| m.get(&device).copied());
        if let Some(s) = cached {
            return Ok(s);
        }
        // Asked with the mutex released (see `Device::default`); the C layer returns the same
        // stream to every caller.
        let mut s = sys::mlxc_stream::default();
        // SAFETY: valid out-pointer.
        check(unsafe { sys::mlxc_default_stream(&mut s, device.to_sys()) })?;
        let made = Stream::from_sys(s);
        let mut guard = DEFAULT_STREAMS.lock().unwrap_or_else(|e| e.into_inner());
        Ok(*guard
            .get_or_insert_with(HashMap::new)
            .entry(device)
            .or_insert(made))
    }

    /// The stream ops run on here and now: the innermost scope's, else the default device's.
    pub fn current() -> Result<Stream> {
        if let Some(s) = SCOPES.with(|s| s.borrow().last().copied()) {
            return Ok(s);
        }
        Stream::default_for(Device::default())
    }

    /// The device this stream runs on.
    pub fn device(&self) -> Device {
        self.device
    }

    /// MLX's index of the stream.
    pub fn index(&self) -> i32 {
        self.index
    }

    /// Waits until all work submitted to this stream is done.
    pub fn synchronize(&self) -> Result<()> {
        // SAFETY: plain value argument.
        check(unsafe { sys::mlxc_synchronize(self.to_sys()) })
    }

    pub(crate) fn to_sys(self) -> sys::mlxc_stream {
        sys::mlxc_stream {
            index: self.index,
            device: self.device.to_sys(),
        }
    }

    fn from_sys(s: sys::mlxc_stream) -> Stream {
        Stream {
            index: s.index,
            device: Device::from_sys(s.device),
        }
    }
}

/// Waits for all work on the current stream.
pub fn synchronize() -> Result<()> {
    Stream::current()?.synchronize()
}

/// Whether the CPU flushes subnormal floats to zero when it evaluates (see
/// [`set_cpu_flush_subnormals`]).
pub fn cpu_flush_subnormals() -> bool {
    let mut on = false;
    // SAFETY: valid out-pointer.
    check(unsafe { sys::mlxc_cpu_flush_subnormals(&mut on) }).is_ok() && on
}

/// Makes the CPU flush subnormal floats (magnitudes below 2⁻¹²⁶ in f32) to zero, or keep them,
/// in the work evaluated from now on; returns the previous setting.
///
/// Flushing is on by default, unlike Python MLX: CPUs take a slow path, often a hundred times an
/// ordinary operation, on each subnormal operand or result, and training makes them (Adam's
/// moments of a parameter whose gradient stays zero decay into that range and stay there for
/// thousands of steps). An MLP trained for 5,000 steps on 2 CPU cores slowed from 3.2 to 18 ms
/// a step with subnormals kept. Flushed, such values become zero; nothing else changes. Turn it
/// off for IEEE results down to the last bit, here or with `MLXC_KEEP_SUBNORMALS=1` in the
/// environment at start. GPUs are not affected; nor are OpenBLAS's own worker threads, which do
/// part of a large matrix product.
pub fn set_cpu_flush_subnormals(on: bool) -> Result<bool> {
    let mut previous = false;
    // SAFETY: valid out-pointer.
    check(unsafe { sys::mlxc_set_cpu_flush_subnormals(&mut previous, on) })?;
    Ok(previous)
}

/// Runs `f` with every op on this thread submitted to `stream`.
///
/// Ops on a CPU stream may read arrays a GPU stream computes and the other way round; MLX
/// orders the work. With MLX's CUDA build, evaluate such an array before the other stream's op
/// takes it: lazy edges between its CPU and CUDA streams have been seen to stall evaluation.
pub fn with_stream<R>(stream: Stream, f: impl FnOnce() -> R) -> R {
    struct Pop;
    impl Drop for Pop {
        fn drop(&mut self) {
            SCOPES.with(|s| s.borrow_mut().pop());
        }
    }
    SCOPES.with(|s| s.borrow_mut().push(stream));
    let _pop = Pop;
    f()
}

/// Runs `f` with every op on this thread submitted to `device`'s default stream.
pub fn with_device<R>(device: Device, f: impl FnOnce() -> R) -> Result<R> {
    Ok(with_stream(Stream::default_for(device)?, f))
}

/// The stream argument for an op call: the innermost scope's stream, else "MLX's default",
/// which the C layer resolves to the default device's process-wide stream (the same one
/// [`Stream::default_for`] returns) without a lookup here.
pub(crate) fn stream_arg() -> sys::mlxc_stream {
    SCOPES
        .with(|s| s.borrow().last().copied())
        .map_or(sys::DEFAULT_STREAM, Stream::to_sys)
}

/// Copies and frees a string returned by mlxc.
pub(crate) fn take_string(s: *mut std::os::raw::c_char) -> String {
    if s.is_null() {
        return String::new();
    }
    // SAFETY: mlxc returned a valid NUL-terminated string that we own.
    let text = unsafe { CStr::from_ptr(s) }.to_string_lossy().into_owned();
    // SAFETY: allocated by mlxc, freed once.
    unsafe { sys::mlxc_string_free(s) };
    text
}

/// One stream per thread on a device (Python MLX's `new_thread_local_stream`): each thread that
/// asks [`ThreadLocalStream::get`] gets its own stream, made on its first call, so threads
/// sharing this value never queue work behind each other.
///
/// ```
/// use mlx::{Device, ThreadLocalStream, with_stream};
/// let shared = ThreadLocalStream::new(Device::cpu())?;
/// let mine = shared.get()?;
/// let theirs = std::thread::spawn(move || shared.get().unwrap()).join().unwrap();
/// assert_ne!(mine, theirs);
/// assert_eq!(mine, shared.get()?); // the same stream on the same thread
/// let y = with_stream(mine, || &mlx::array![1.0f32] + 1.0);
/// assert_eq!(y.to_vec::<f32>()?, vec![2.0]);
/// # Ok::<(), mlx::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ThreadLocalStream {
    id: u64,
    device: Device,
}

impl ThreadLocalStream {
    /// A thread-local stream on `device` (an error when the device is not available).
    pub fn new(device: Device) -> Result<ThreadLocalStream> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        if !device.is_available() {
            return Err(crate::Error::InvalidArgument(format!(
                "[new_thread_local_stream] device {device} is not available"
            )));
        }
        Ok(ThreadLocalStream {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            device,
        })
    }

    /// This thread's stream, made on the first call from the thread.
    pub fn get(&self) -> Result<Stream> {
        thread_local! {
            static OWN: RefCell<HashMap<u64, Stream>> = RefCell::new(HashMap::new());
        }
        if let Some(s) = OWN.with(|m| m.borrow().get(&self.id).copied()) {
            return Ok(s);
        }
        let s = Stream::new(self.device)?;
        OWN.with(|m| m.borrow_mut().insert(self.id, s));
        Ok(s)
    }

    /// The device.
    pub fn device(&self) -> Device {
        self.device
    }
}
