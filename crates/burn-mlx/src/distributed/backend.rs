//! Burn's `DistributedBackend` for `Mlx` (the crate's `distributed` feature): Burn's gradient
//! synchronization between the processes of an MLX job. The mapping is documented in the
//! parent module.

use std::sync::{Arc, Mutex, OnceLock};

use burn_backend::DeviceId;
use burn_backend::distributed::{
    CollectiveTensor, DistributedBackend, DistributedConfig, ReduceOperation,
    start_distributed_sync_server,
};
use burn_backend::tensor::FloatTensor;
use mlx::Array;
use mlx::distributed::{self as dist, Group};

use crate::device::MlxDevice;
use crate::element::{MlxFloat, MlxInt};
use crate::tensor::MlxTensor;
use crate::{Mlx, eval};

/// The job's group of processes, joined once.
fn process_group() -> &'static Group {
    static GROUP: OnceLock<Group> = OnceLock::new();
    GROUP.get_or_init(|| {
        Group::init(false, dist::Backend::Any)
            .unwrap_or_else(|e| panic!("burn-mlx: joining the job's process group: {e}"))
    })
}

/// `all_reduce` results not yet evaluated, in the order they were made.
static PENDING: Mutex<Vec<Arc<Array>>> = Mutex::new(Vec::new());

fn one_device_per_process(devices: usize, op: &str) {
    if devices > 1 {
        panic!(
            "burn-mlx: DistributedBackend::{op} across {devices} devices of one process is not \
             supported: MLX's collectives reduce between processes with one device each. Run one \
             process per device (e.g. with `mlx-launch -n N`) and give each process its one \
             device."
        );
    }
}

impl<F: MlxFloat, I: MlxInt> DistributedBackend for Mlx<F, I> {
    fn start_communication_server(devices: &[MlxDevice], config: DistributedConfig) {
        one_device_per_process(devices.len(), "start_communication_server");
        process_group();
        start_distributed_sync_server::<Self>(devices, config);
    }

    fn all_reduce(
        tensor: FloatTensor<Self>,
        op: ReduceOperation,
        device_ids: Vec<DeviceId>,
    ) -> CollectiveTensor<Self> {
        one_device_per_process(device_ids.len(), "all_reduce");
        let group = process_group();
        let device = tensor.device;
        let reduced = eval::run(device, "all_reduce", || {
            let sum = dist::all_sum(tensor.array(), Some(group))?;
            match op {
                ReduceOperation::Sum => Ok(sum),
                ReduceOperation::Mean => {
                    let n = Array::scalar(group.size() as f32).astype(sum.dtype())?;
                    mlx::ops::divide(&sum, &n)
                }
            }
        });
        let reduced = MlxTensor::new(reduced, device);
        PENDING
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::clone(&reduced.array));
        CollectiveTensor::new(reduced)
    }

    fn sync_collective(device: &MlxDevice) {
        let pending = std::mem::take(&mut *PENDING.lock().unwrap_or_else(|e| e.into_inner()));
        eval::run(*device, "sync_collective", || {
            mlx::eval(pending.iter().map(|a| &**a))
        });
    }
}
