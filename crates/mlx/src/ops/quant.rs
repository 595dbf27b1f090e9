//! Quantization: quantize, dequantize, quantized matmuls, fp8 conversions.
//!
//! Matrices are quantized along their last axis in groups of `group_size` elements; the packed
//! values are stored in `uint32` words (lowest bits first) with one scale (and, for the affine
//! mode, one bias) per group. The modes and their parameters:
//!
//! | mode     | group sizes        | bits                  | scales          | biases |
//! |----------|--------------------|-----------------------|-----------------|--------|
//! | affine   | 32, **64**, 128    | 1–6, 8 (**4**)        | input dtype     | yes    |
//! | mxfp4    | **32**             | **4**                 | e8m0 (`uint8`)  | no     |
//! | mxfp8    | **32**             | **8**                 | e8m0 (`uint8`)  | no     |
//! | nvfp4    | **16**             | **4**                 | e4m3 (`uint8`)  | no     |
//!
//! (defaults in bold, used when `group_size` / `bits` are `None`).

use std::ffi::CStr;

use mlx_sys as sys;

use super::call;
use super::call_vec;
use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::{Error, Result, invalid};

/// A quantization mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum QuantizationMode {
    /// `w ≈ scale · q + bias` per group, with `bits`-bit unsigned integers `q`.
    #[default]
    Affine,
    /// OCP microscaling fp4 (e2m1 values, shared power-of-two scale per 32 elements).
    Mxfp4,
    /// OCP microscaling fp8 (e4m3 values, shared power-of-two scale per 32 elements).
    Mxfp8,
    /// NVIDIA fp4 (e2m1 values, e4m3 scale per 16 elements, optional global scale).
    Nvfp4,
}

impl QuantizationMode {
    /// MLX's name of the mode (`"affine"`, `"mxfp4"`, `"mxfp8"`, `"nvfp4"`).
    pub fn name(self) -> &'static str {
        self.c_name().to_str().expect("ASCII")
    }

    fn c_name(self) -> &'static CStr {
        match self {
            QuantizationMode::Affine => c"affine",
            QuantizationMode::Mxfp4 => c"mxfp4",
            QuantizationMode::Mxfp8 => c"mxfp8",
            QuantizationMode::Nvfp4 => c"nvfp4",
        }
    }
}

impl std::str::FromStr for QuantizationMode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "affine" => Ok(QuantizationMode::Affine),
            "mxfp4" => Ok(QuantizationMode::Mxfp4),
            "mxfp8" => Ok(QuantizationMode::Mxfp8),
            "nvfp4" => Ok(QuantizationMode::Nvfp4),
            other => invalid(format!(
                "[quantize] unknown quantization mode '{other}' (affine, mxfp4, mxfp8 or nvfp4)"
            )),
        }
    }
}

/// Parameters shared by [`quantize`], [`dequantize`], [`quantized_matmul`] and [`gather_qmm`].
#[derive(Clone, Copy, Default)]
pub struct QuantizeOptions<'a> {
    /// Elements per group (the mode's default when `None`).
    pub group_size: Option<i32>,
    /// Bits per element (the mode's default when `None`).
    pub bits: Option<i32>,
    /// The mode (affine by default).
    pub mode: QuantizationMode,
    /// Per-tensor float32 scale of the `nvfp4` mode (not used by [`quantized_matmul`]). Only
    /// GPU backends apply it correctly; MLX's CPU backend does not implement global scales.
    pub global_scale: Option<&'a Array>,
}

impl<'a> QuantizeOptions<'a> {
    /// Defaults of `mode`.
    pub fn new(mode: QuantizationMode) -> Self {
        QuantizeOptions {
            mode,
            ..Default::default()
        }
    }

    /// Sets [`QuantizeOptions::group_size`].
    pub fn with_group_size(mut self, group_size: i32) -> Self {
        self.group_size = Some(group_size);
        self
    }

    /// Sets [`QuantizeOptions::bits`].
    pub fn with_bits(mut self, bits: i32) -> Self {
        self.bits = Some(bits);
        self
    }

    /// Sets [`QuantizeOptions::mode`].
    pub fn with_mode(mut self, mode: QuantizationMode) -> Self {
        self.mode = mode;
        self
    }

    /// Sets [`QuantizeOptions::global_scale`].
    pub fn with_global_scale(mut self, global_scale: &'a Array) -> Self {
        self.global_scale = Some(global_scale);
        self
    }
}

/// The result of [`quantize`].
#[derive(Debug, Clone)]
pub struct Quantized {
    /// The packed values (`uint32`, last axis `size · bits / 32`).
    pub weights: Array,
    /// One scale per group.
    pub scales: Array,
    /// One bias per group (affine mode only).
    pub biases: Option<Array>,
}

fn opt_int(v: Option<i32>) -> sys::mlxc_opt_int {
    sys::mlxc_opt_int {
        has: v.is_some(),
        value: v.unwrap_or(0),
    }
}

fn opt(a: Option<&Array>) -> sys::mlxc_array {
    a.map_or(std::ptr::null_mut(), Array::as_raw)
}

/// Quantizes `w` (at least 2-d, last axis divisible by the group size) along its last axis.
pub fn quantize(w: &Array, options: &QuantizeOptions<'_>) -> Result<Quantized> {
    let o = options;
    let mut parts = call_vec(|r, s| unsafe {
        sys::mlxc_quantize(
            r,
            w.as_raw(),
            opt_int(o.group_size),
            opt_int(o.bits),
            o.mode.c_name().as_ptr(),
            opt(o.global_scale),
            s,
        )
    })?
    .into_iter();
    match (parts.next(), parts.next(), parts.next()) {
        (Some(weights), Some(scales), biases) => Ok(Quantized {
            weights,
            scales,
            biases,
        }),
        _ => Err(Error::Mlx(
            "[quantize] expected at least two outputs".into(),
        )),
    }
}

/// Reverses [`quantize`]: `scale · q + bias` (affine) or the decoded floats. `dtype` picks the
/// result type; by default it is that of the scales (affine) or bfloat16.
pub fn dequantize(
    w: &Array,
    scales: &Array,
    biases: Option<&Array>,
    options: &QuantizeOptions<'_>,
    dtype: Option<Dtype>,
) -> Result<Array> {
    let o = options;
    let dtype = sys::mlxc_opt_dtype {
        has: dtype.is_some(),
        value: dtype.unwrap_or(Dtype::Float32).to_sys(),
    };
    call(|r, s| unsafe {
        sys::mlxc_dequantize(
            r,
            w.as_raw(),
            scales.as_raw(),
            opt(biases),
            opt_int(o.group_size),
            opt_int(o.bits),
            o.mode.c_name().as_ptr(),
            opt(o.global_scale),
            dtype,
            s,
        )
    })
}

impl Quantized {
    /// [`dequantize`] of these parts (`options` must match the ones used to quantize).
    pub fn dequantize(&self, options: &QuantizeOptions<'_>, dtype: Option<Dtype>) -> Result<Array> {
        dequantize(
            &self.weights,
            &self.scales,
            self.biases.as_ref(),
            options,
            dtype,
        )
    }
}

/// `x @ wᵀ` (with `transpose`) or `x @ w`, where `w` is quantized (`w`, `scales`, `biases` from
/// [`quantize`]). `options.global_scale` must be `None`.
pub fn quantized_matmul(
    x: &Array,
    w: &Array,
    scales: &Array,
    biases: Option<&Array>,
    transpose: bool,
    options: &QuantizeOptions<'_>,
) -> Result<Array> {
    let o = options;
    if o.global_scale.is_some() {
        return invalid("[quantized_matmul] a global scale is not supported by this op");
    }
    call(|r, s| unsafe {
        sys::mlxc_quantized_matmul(
            r,
            x.as_raw(),
            w.as_raw(),
            scales.as_raw(),
            opt(biases),
            transpose,
            opt_int(o.group_size),
            opt_int(o.bits),
            o.mode.c_name().as_ptr(),
            s,
        )
    })
}

/// [`quantized_matmul`] with a gather over the batch axes (the quantized form of `gather_mm`):
/// `lhs_indices` pick matrices of `x` and `rhs_indices` matrices of `w` (flat indices over the
/// batch axes); `sorted_indices` may allow a faster kernel when `rhs_indices` are sorted.
#[allow(clippy::too_many_arguments)]
pub fn gather_qmm(
    x: &Array,
    w: &Array,
    scales: &Array,
    biases: Option<&Array>,
    lhs_indices: Option<&Array>,
    rhs_indices: Option<&Array>,
    transpose: bool,
    options: &QuantizeOptions<'_>,
    sorted_indices: bool,
) -> Result<Array> {
    let o = options;
    call(|r, s| unsafe {
        sys::mlxc_gather_qmm(
            r,
            x.as_raw(),
            w.as_raw(),
            scales.as_raw(),
            opt(biases),
            opt(lhs_indices),
            opt(rhs_indices),
            transpose,
            opt_int(o.group_size),
            opt_int(o.bits),
            o.mode.c_name().as_ptr(),
            opt(o.global_scale),
            sorted_indices,
            s,
        )
    })
}

/// Parameters of [`qqmm`] and [`gather_qqmm`] (mode `nvfp4` by default).
#[derive(Clone, Copy)]
pub struct QqmmOptions<'a> {
    /// Elements per group (the mode's default when `None`).
    pub group_size: Option<i32>,
    /// Bits per element (the mode's default when `None`).
    pub bits: Option<i32>,
    /// `Nvfp4` (default) or `Mxfp8`.
    pub mode: QuantizationMode,
    /// Per-tensor scale of `x` (nvfp4).
    pub global_scale_x: Option<&'a Array>,
    /// Per-tensor scale of `w` (nvfp4).
    pub global_scale_w: Option<&'a Array>,
}

impl Default for QqmmOptions<'_> {
    fn default() -> Self {
        QqmmOptions {
            group_size: None,
            bits: None,
            mode: QuantizationMode::Nvfp4,
            global_scale_x: None,
            global_scale_w: None,
        }
    }
}

impl<'a> QqmmOptions<'a> {
    /// Defaults of `mode`.
    pub fn new(mode: QuantizationMode) -> Self {
        QqmmOptions {
            mode,
            ..Default::default()
        }
    }

    /// Sets [`QqmmOptions::group_size`].
    pub fn with_group_size(mut self, group_size: i32) -> Self {
        self.group_size = Some(group_size);
        self
    }

    /// Sets [`QqmmOptions::bits`].
    pub fn with_bits(mut self, bits: i32) -> Self {
        self.bits = Some(bits);
        self
    }

    /// Sets both global scales.
    pub fn with_global_scales(mut self, x: &'a Array, w: &'a Array) -> Self {
        self.global_scale_x = Some(x);
        self.global_scale_w = Some(w);
        self
    }
}

/// `x @ wᵀ` with `x` quantized on the fly, and `w` too unless it is already quantized (then
/// `w_scales` are its scales). MLX's CPU backend handles only an already quantized `w` with a
/// single row of `x`; GPUs handle the general case.
pub fn qqmm(
    x: &Array,
    w: &Array,
    w_scales: Option<&Array>,
    options: &QqmmOptions<'_>,
) -> Result<Array> {
    let o = options;
    call(|r, s| unsafe {
        sys::mlxc_qqmm(
            r,
            x.as_raw(),
            w.as_raw(),
            opt(w_scales),
            opt_int(o.group_size),
            opt_int(o.bits),
            o.mode.c_name().as_ptr(),
            opt(o.global_scale_x),
            opt(o.global_scale_w),
            s,
        )
    })
}

/// [`qqmm`] with a gather over the batch axes (see [`gather_qmm`]). MLX 0.32 computes it on
/// GPUs only: on the CPU, evaluating the result returns MLX's error as an `Err`.
pub fn gather_qqmm(
    x: &Array,
    w: &Array,
    w_scales: Option<&Array>,
    lhs_indices: Option<&Array>,
    rhs_indices: Option<&Array>,
    options: &QqmmOptions<'_>,
    sorted_indices: bool,
) -> Result<Array> {
    let o = options;
    call(|r, s| unsafe {
        sys::mlxc_gather_qqmm(
            r,
            x.as_raw(),
            w.as_raw(),
            opt(w_scales),
            opt(lhs_indices),
            opt(rhs_indices),
            opt_int(o.group_size),
            opt_int(o.bits),
            o.mode.c_name().as_ptr(),
            opt(o.global_scale_x),
            opt(o.global_scale_w),
            sorted_indices,
            s,
        )
    })
}

/// Converts floats to fp8 (e4m3, saturating at ±448), stored as `uint8`.
pub fn to_fp8(x: &Array) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_to_fp8(r, x.as_raw(), s) })
}

/// Converts fp8 (e4m3) values stored as `uint8` to the float type `dtype`.
pub fn from_fp8(x: &Array, dtype: Dtype) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_from_fp8(r, x.as_raw(), dtype.to_sys(), s) })
}
