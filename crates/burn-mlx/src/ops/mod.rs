//! Burn's backend traits implemented on MLX, one file per trait, over shared helpers in
//! `base` (used by the float, int and bool traits alike).

mod activation;
mod adaptive_pool;
mod attention;
pub(crate) mod base;
mod bool;
mod conv;
mod conv_cm;
mod ctc;
mod deform_conv;
mod dense;
mod embedding;
pub(crate) mod float;
mod grid_sample;
mod int;
mod interpolate;
pub(crate) mod layout;
mod max_pool;
mod module;
mod nd;
pub(crate) mod pick;
mod pool;
mod qtensor;
mod spectral;
mod transaction;
