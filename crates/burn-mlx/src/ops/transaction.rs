//! `TransactionOps`: reads several tensors with one evaluation, so MLX computes their shared
//! graph once and schedules everything together.

use burn_backend::ExecutionError;
use burn_backend::ops::{TransactionOps, TransactionPrimitive, TransactionPrimitiveData};

use crate::{Mlx, MlxFloat, MlxInt};

impl<F: MlxFloat, I: MlxInt> TransactionOps<Self> for Mlx<F, I> {
    async fn tr_execute(
        transaction: TransactionPrimitive<Self>,
    ) -> Result<TransactionPrimitiveData, ExecutionError> {
        let arrays = transaction
            .read_floats
            .iter()
            .chain(&transaction.read_ints)
            .chain(&transaction.read_bools)
            .map(|t| &*t.array)
            .chain(transaction.read_qfloats.iter().flat_map(|q| q.arrays()));
        // Started, not waited for: each read below waits for its own tensor, once the rest of
        // the pending work is scheduled (as `MlxTensor::to_data` does for one tensor).
        crate::eval::start_read(arrays).map_err(|e| ExecutionError::WithContext {
            reason: format!("burn-mlx: transaction: {e}"),
        })?;
        let read = |tensors: &[crate::MlxTensor]| -> Vec<_> {
            tensors
                .iter()
                .map(crate::MlxTensor::started_to_data)
                .collect()
        };
        Ok(TransactionPrimitiveData {
            read_floats: read(&transaction.read_floats),
            read_qfloats: transaction
                .read_qfloats
                .iter()
                .map(|q| q.to_data())
                .collect(),
            read_ints: read(&transaction.read_ints),
            read_bools: read(&transaction.read_bools),
        })
    }
}
