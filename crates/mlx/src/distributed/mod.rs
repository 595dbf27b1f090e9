//! Communication between processes (MLX's `mlx.core.distributed`): a [`Group`] of processes and
//! the collectives over it — [`all_sum`], [`all_max`], [`all_min`], [`all_gather`],
//! [`sum_scatter`], [`send`], [`recv`], [`recv_like`] — lazy ops like any other, differentiable
//! where MLX defines a gradient (an `all_sum` inside a loss sums the gradients too).
//!
//! Backends: `ring` (TCP between the processes, on CPU streams; in every MLX build), `nccl`
//! (NVIDIA GPUs; MLX's CUDA build), `mpi` and `jaccl` where MLX was built with them. A job's
//! processes learn their place from the environment the launcher sets:
//!
//! - ring: `MLX_RANK` and `MLX_HOSTFILE`, the path of a JSON file listing, per rank, the
//!   `"ip:port"` addresses it listens on (`[["127.0.0.1:5000"], ["127.0.0.1:5001"]]`);
//! - nccl: `MLX_RANK`, `MLX_WORLD_SIZE`, `NCCL_HOST_IP` and `NCCL_PORT` (rank 0's address), one
//!   GPU per process (`CUDA_VISIBLE_DEVICES`).
//!
//! [`launch`] (and the `mlx-launch` binary) starts the processes of a local job with that
//! environment. A single process without that environment gets a group of size 1 from
//! `Group::init(false, ...)`, whose collectives return their input.
//!
//! ```
//! use mlx::distributed::{self, Backend, Group};
//!
//! let group = Group::init(false, Backend::Any)?; // size 1 when not launched as a job
//! let x = mlx::array![1.0f32, 2.0];
//! let total = distributed::all_sum(&x, Some(&group))?;
//! assert_eq!(total.to_vec::<f32>()?, vec![1.0 * group.size() as f32, 2.0 * group.size() as f32]);
//! # Ok::<(), mlx::Error>(())
//! ```
//!
//! Errors a caller can make — a peer outside the group or the process itself, a first axis
//! that does not divide among the processes for `sum_scatter`, a dtype NCCL lacks (bool,
//! int16, uint16, complex64) — are checked before MLX is called, since MLX's NCCL backend ends
//! the process on some failures instead of reporting them. Shapes that differ between the
//! processes of one collective cannot be checked locally: the ring backend then fails or
//! hangs, as MLX's.

mod average;
pub mod launch;

pub use average::{BUCKET_BYTES, average};

use std::ffi::CString;

use mlx_sys as sys;

use crate::array::{Array, ints};
use crate::dtype::Dtype;
use crate::error::{Error, Result, check};
use crate::ops::call;

/// A communication backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// The first backend that works.
    Any,
    /// TCP sockets between the processes (CPU).
    Ring,
    /// MPI.
    Mpi,
    /// NVIDIA's NCCL (CUDA GPUs).
    Nccl,
    /// JACCL (RDMA over Thunderbolt on macOS).
    Jaccl,
}

impl Backend {
    /// MLX's name of the backend.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Any => "any",
            Backend::Ring => "ring",
            Backend::Mpi => "mpi",
            Backend::Nccl => "nccl",
            Backend::Jaccl => "jaccl",
        }
    }

    fn c_name(self) -> CString {
        CString::new(self.name()).expect("no NUL in backend names")
    }
}

impl std::str::FromStr for Backend {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "any" => Ok(Backend::Any),
            "ring" => Ok(Backend::Ring),
            "mpi" => Ok(Backend::Mpi),
            "nccl" => Ok(Backend::Nccl),
            "jaccl" => Ok(Backend::Jaccl),
            other => Err(Error::InvalidArgument(format!(
                "unknown distributed backend '{other}' (any, ring, mpi, nccl or jaccl)"
            ))),
        }
    }
}

/// Whether `backend` can be used by this MLX build ([`Backend::Any`]: whether any can).
pub fn is_available(backend: Backend) -> bool {
    let mut out = false;
    let name = backend.c_name();
    // SAFETY: valid out-pointer and C string.
    let rc = unsafe { sys::mlxc_distributed_is_available(&mut out, name.as_ptr()) };
    rc == 0 && out
}

/// A group of processes that communicate. Cloning is cheap (the clones share one group).
#[derive(Debug, Clone)]
pub struct Group {
    handle: std::sync::Arc<Handle>,
}

/// The C group a [`Group`] owns.
#[derive(Debug)]
struct Handle(sys::mlxc_group);

// SAFETY: the handle owns a C++ group; the C layer serializes every call on it.
unsafe impl Send for Handle {}
// SAFETY: as above; no call mutates the group.
unsafe impl Sync for Handle {}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: the handle is owned and freed once, when the last clone goes.
        unsafe { sys::mlxc_group_free(self.0) }
    }
}

impl Group {
    /// The group of every process of the job (MLX's `distributed.init`). With `strict`, a
    /// backend that cannot be set up (no launcher environment, a peer that does not answer)
    /// is an error; otherwise such a process gets a group of size 1. The group also becomes
    /// the one collectives use when given none.
    pub fn init(strict: bool, backend: Backend) -> Result<Group> {
        let name = backend.c_name();
        let mut raw = std::ptr::null_mut();
        // SAFETY: valid out-pointer and C string.
        check(unsafe { sys::mlxc_distributed_init(&mut raw, strict, name.as_ptr()) })?;
        Ok(Group::own(raw))
    }

    fn own(raw: sys::mlxc_group) -> Group {
        Group {
            handle: std::sync::Arc::new(Handle(raw)),
        }
    }

    fn raw(&self) -> sys::mlxc_group {
        self.handle.0
    }

    /// This process's rank in the group, from 0.
    pub fn rank(&self) -> i32 {
        self.query(sys::mlxc_group_rank)
    }

    /// The number of processes in the group.
    pub fn size(&self) -> i32 {
        self.query(sys::mlxc_group_size)
    }

    fn query(&self, f: unsafe extern "C" fn(*mut i32, sys::mlxc_group) -> i32) -> i32 {
        let mut out = 0;
        // SAFETY: valid out-pointer and live handle; never fails for a live group.
        let rc = unsafe { f(&mut out, self.raw()) };
        assert_eq!(rc, 0, "querying a live group failed");
        out
    }

    /// The subgroup of the processes that pass the same `color`, ranked by `key` (`None`: by
    /// their rank here), as MLX's `Group.split`. Every process of the group must call it. The
    /// ring backend cannot split (an error); MPI and NCCL can.
    pub fn split(&self, color: i32, key: Option<i32>) -> Result<Group> {
        let mut raw = std::ptr::null_mut();
        // SAFETY: valid out-pointer and live handle.
        check(unsafe { sys::mlxc_group_split(&mut raw, self.raw(), color, key.unwrap_or(-1)) })?;
        Ok(Group::own(raw))
    }
}

/// The size of `group`, or of the group of the last [`Group::init`] (an error before any).
pub fn group_size(group: Option<&Group>) -> Result<i32> {
    let mut out = 0;
    // SAFETY: valid out-pointer; a null handle means the default group.
    check(unsafe { sys::mlxc_group_size(&mut out, raw(group)) })?;
    Ok(out)
}

fn raw(group: Option<&Group>) -> sys::mlxc_group {
    group.map_or(std::ptr::null_mut(), Group::raw)
}

/// The elementwise sum of `x` over the group's processes (each gets the result).
pub fn all_sum(x: &Array, group: Option<&Group>) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_distributed_all_sum(r, x.as_raw(), raw(group), s) })
}

/// The elementwise maximum of `x` over the group's processes.
pub fn all_max(x: &Array, group: Option<&Group>) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_distributed_all_max(r, x.as_raw(), raw(group), s) })
}

/// The elementwise minimum of `x` over the group's processes.
pub fn all_min(x: &Array, group: Option<&Group>) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_distributed_all_min(r, x.as_raw(), raw(group), s) })
}

/// The processes' `x` concatenated along the first axis, in rank order (a scalar counts as
/// shape `[1]`).
pub fn all_gather(x: &Array, group: Option<&Group>) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_distributed_all_gather(r, x.as_raw(), raw(group), s) })
}

/// The sum over the processes, scattered: process `i` gets the `i`-th of `size` equal parts of
/// the first axis (which must divide among them). MLX's ring backend does not implement it
/// (evaluating the result is then an error); NCCL and MPI do.
pub fn sum_scatter(x: &Array, group: Option<&Group>) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_distributed_sum_scatter(r, x.as_raw(), raw(group), s) })
}

/// Sends `x` to process `dst`. The result (`x` itself) must be evaluated for the send to
/// happen. The ring backend sends only to the neighbours `rank ± 1`.
pub fn send(x: &Array, dst: i32, group: Option<&Group>) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_distributed_send(r, x.as_raw(), dst, raw(group), s) })
}

/// Receives an array of `shape` and `dtype` sent by process `src`.
pub fn recv(shape: &[i32], dtype: Dtype, src: i32, group: Option<&Group>) -> Result<Array> {
    call(|r, s| unsafe {
        sys::mlxc_distributed_recv(r, ints(shape), dtype.to_sys(), src, raw(group), s)
    })
}

/// Receives from process `src` an array shaped and typed like `x`.
pub fn recv_like(x: &Array, src: i32, group: Option<&Group>) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_distributed_recv_like(r, x.as_raw(), src, raw(group), s) })
}
