//! Linear algebra (`mlx.core.linalg`), and the matrix-product family of `mlx.core`.
//!
//! # Devices
//!
//! MLX implements the factorizations and solvers ([`inv`], [`tri_inv`], [`cholesky`],
//! [`cholesky_inv`], [`pinv`], [`qr`], [`svd`], [`svdvals`], [`eig`], [`eigvals`], [`eigh`],
//! [`eigvalsh`], [`lu`], [`lu_factor`], [`solve`], [`solve_triangular`], [`det`], [`slogdet`],
//! and [`norm`] with the orders that need singular values) on the CPU only, and rejects a GPU
//! stream. These functions therefore run on the CPU's default stream
//! (`Stream::default_for(Device::cpu())`) whenever the current stream is on a GPU; their results
//! can be used by GPU ops like any other array. MLX's CUDA backend also lacks
//! [`block_masked_mm`], [`segmented_mm`] and [`hadamard_transform`] (Metal has them): under CUDA
//! these run on the CPU too. The other functions run on the current stream.
//!
//! MLX 0.32's CPU kernels for inverses, LU factorizations and solvers crash the process on 0×0
//! matrices; [`inv`], [`tri_inv`], [`cholesky_inv`], [`lu`], [`lu_factor`], [`solve`] and
//! [`solve_triangular`] return their (empty) results without running those kernels.
//!
//! # Dtypes
//!
//! The factorizations and solvers accept `float32` and `float64` (some also `complex64`: see
//! each function); matrix products accept floating-point types (and `complex64`).
//!
//! # Gradients
//!
//! MLX 0.32 differentiates the products ([`addmm`], [`tensordot`], [`inner`], [`outer`],
//! [`kron`], [`einsum`], …), [`norm`] (except the orders computed through the SVD), [`cross`],
//! [`det`] and [`slogdet`]; the factorizations and solvers have no vector-Jacobian product and a
//! gradient through them fails with MLX's "Not implemented" message.
//!
//! The matrix-product family ([`addmm`], [`block_masked_mm`], [`gather_mm`], [`segmented_mm`],
//! [`tensordot`], [`inner`], [`outer`], [`vecdot`], [`kron`], [`einsum`], [`einsum_path`],
//! [`hadamard_transform`]) lives in `mlx.core` in Python and is also re-exported from
//! [`crate::ops`].

use std::ffi::CString;

use mlx_sys as sys;

use crate::array::{Array, ints};
use crate::device::{Device, DeviceType, GpuBackend, Stream, gpu_backend, with_stream};
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::ops::{call, call_vec};

// ---- helpers ------------------------------------------------------------------------------------

/// Runs `f` on the CPU's default stream unless the current stream already is on the CPU: for
/// ops that MLX implements on the CPU only.
pub(crate) fn on_cpu<R>(f: impl FnOnce() -> Result<R>) -> Result<R> {
    if let Ok(current) = Stream::current()
        && current.device().kind == DeviceType::Cpu
    {
        return f();
    }
    with_stream(Stream::default_for(Device::cpu())?, f)
}

/// Runs `f` on the CPU when the GPU backend is CUDA, for ops that MLX's CUDA backend does not
/// implement (FFTs, Hadamard transforms, block-masked and segmented products); Metal has them.
pub(crate) fn on_cpu_under_cuda<R>(f: impl FnOnce() -> Result<R>) -> Result<R> {
    if gpu_backend() == Some(GpuBackend::Cuda) {
        on_cpu(f)
    } else {
        f()
    }
}

/// A NUL-terminated copy of `s` for mlxc.
pub(crate) fn c_string(what: &str, s: &str) -> Result<CString> {
    CString::new(s)
        .map_err(|_| Error::InvalidArgument(format!("[{what}] the string contains a NUL byte")))
}

/// Borrowed `mlxc_arrays` view of raw handles.
fn raw_arrays(raws: &[sys::mlxc_array]) -> sys::mlxc_arrays {
    sys::mlxc_arrays {
        data: raws.as_ptr(),
        len: raws.len(),
    }
}

/// The raw handle of an optional array (NULL for none).
pub(crate) fn opt_raw(a: Option<&Array>) -> sys::mlxc_array {
    a.map_or(std::ptr::null_mut(), Array::as_raw)
}

/// Replaces results that hold no elements by zeros of the same shape and dtype. MLX 0.32's CPU
/// kernels for inverses, LU and solvers crash the process (a floating-point exception) on 0×0
/// matrices; their results are then empty anyway, so they are produced without running them.
fn without_empty_kernels(outputs: Vec<Array>) -> Result<Vec<Array>> {
    if outputs.iter().any(|o| o.size() != 0) {
        return Ok(outputs);
    }
    outputs
        .iter()
        .map(|o| crate::ops::zeros(o.shape(), o.dtype()))
        .collect()
}

fn single(mut v: Vec<Array>) -> Array {
    v.pop().expect("mlxc returned no array")
}

fn two(mut v: Vec<Array>) -> (Array, Array) {
    let b = v.pop().expect("mlxc returned too few arrays");
    let a = v.pop().expect("mlxc returned too few arrays");
    (a, b)
}

fn three(mut v: Vec<Array>) -> (Array, Array, Array) {
    let c = v.pop().expect("mlxc returned too few arrays");
    let (a, b) = two(v);
    (a, b, c)
}

// ---- matrix products ------------------------------------------------------------------------------

/// `beta * c + alpha * (a @ b)`, with `matmul`'s broadcasting; `c` broadcasts to the product's
/// shape. Floating-point inputs only.
pub fn addmm(c: &Array, a: &Array, b: &Array, alpha: f32, beta: f32) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_addmm(r, c.as_raw(), a.as_raw(), b.as_raw(), alpha, beta, s) })
}

/// Matrix product computed block by block, skipping masked-out blocks.
///
/// `a` is `[..., M, K]` and `b` `[..., K, N]`; the masks tile the matrices in `block_size`
/// squares: `mask_out` is `[..., M/bs, N/bs]` (boolean: which output blocks to compute, the others
/// are zero), `mask_lhs` `[..., M/bs, K/bs]` and `mask_rhs` `[..., K/bs, N/bs]` (boolean to skip
/// blocks, or floating-point to scale each block). `block_size` must be 32 or 64.
pub fn block_masked_mm(
    a: &Array,
    b: &Array,
    block_size: i32,
    mask_out: Option<&Array>,
    mask_lhs: Option<&Array>,
    mask_rhs: Option<&Array>,
) -> Result<Array> {
    on_cpu_under_cuda(|| {
        call(|r, s| unsafe {
            sys::mlxc_block_masked_mm(
                r,
                a.as_raw(),
                b.as_raw(),
                block_size,
                opt_raw(mask_out),
                opt_raw(mask_lhs),
                opt_raw(mask_rhs),
                s,
            )
        })
    })
}

/// Matrix products of matrices gathered from the batch dimensions: output `i` is
/// `a[lhs_indices[i]] @ b[rhs_indices[i]]`, indexing the flattened batch dimensions (`None`
/// means the batch index itself). `sorted_indices` promises that `rhs_indices` is sorted, which
/// lets MLX use a faster kernel.
pub fn gather_mm(
    a: &Array,
    b: &Array,
    lhs_indices: Option<&Array>,
    rhs_indices: Option<&Array>,
    sorted_indices: bool,
) -> Result<Array> {
    call(|r, s| unsafe {
        sys::mlxc_gather_mm(
            r,
            a.as_raw(),
            b.as_raw(),
            opt_raw(lhs_indices),
            opt_raw(rhs_indices),
            sorted_indices,
            s,
        )
    })
}

/// Matrix product with the inner dimension cut into segments: `segments` is `[..., 2]` of
/// `[start, end)` ranges of `K`, and the result stacks `a[:, start:end] @ b[start:end, :]` for
/// every segment (shape `segments.shape[:-1] + [M, N]`).
///
/// MLX 0.32's CPU kernel gives wrong values for float16 and bfloat16; on the CPU such inputs are
/// multiplied in float32 here and the result converted back.
pub fn segmented_mm(a: &Array, b: &Array, segments: &Array) -> Result<Array> {
    on_cpu_under_cuda(|| {
        let half = |d: Dtype| matches!(d, Dtype::Float16 | Dtype::Bfloat16);
        let on_cpu_stream = Stream::current().is_ok_and(|s| s.device().kind == DeviceType::Cpu);
        if on_cpu_stream && (half(a.dtype()) || half(b.dtype())) {
            let a32 = a.astype(Dtype::Float32)?;
            let b32 = b.astype(Dtype::Float32)?;
            let out = call(|r, s| unsafe {
                sys::mlxc_segmented_mm(r, a32.as_raw(), b32.as_raw(), segments.as_raw(), s)
            })?;
            // The dtype MLX would have given: the promotion of both inputs.
            let like = crate::ops::multiply(
                &crate::ops::zeros(&[], a.dtype())?,
                &crate::ops::zeros(&[], b.dtype())?,
            )?
            .dtype();
            return out.astype(like);
        }
        call(|r, s| unsafe {
            sys::mlxc_segmented_mm(r, a.as_raw(), b.as_raw(), segments.as_raw(), s)
        })
    })
}

/// Tensor contraction over the last `axes` dimensions of `a` and the first `axes` of `b`.
pub fn tensordot(a: &Array, b: &Array, axes: i32) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_tensordot(r, a.as_raw(), b.as_raw(), axes, s) })
}

/// Tensor contraction over `axes_a` of `a` paired with `axes_b` of `b` (same lengths and
/// sizes); the remaining axes of `a` then of `b` make the result.
pub fn tensordot_axes(a: &Array, b: &Array, axes_a: &[i32], axes_b: &[i32]) -> Result<Array> {
    call(|r, s| unsafe {
        sys::mlxc_tensordot_axes(r, a.as_raw(), b.as_raw(), ints(axes_a), ints(axes_b), s)
    })
}

/// Inner product over the last axis of both arrays (for vectors, the dot product; in general
/// `tensordot_axes(a, b, &[-1], &[-1])`).
pub fn inner(a: &Array, b: &Array) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_inner(r, a.as_raw(), b.as_raw(), s) })
}

/// Outer product: `a` and `b` are flattened, and `out[i, j] = a[i] * b[j]`.
pub fn outer(a: &Array, b: &Array) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_outer(r, a.as_raw(), b.as_raw(), s) })
}

/// Dot product of `a` and `b` along `axis` (the conjugate of `a` for complex inputs). Shapes
/// must match along `axis`, and the other dimensions broadcast.
pub fn vecdot(a: &Array, b: &Array, axis: i32) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_vecdot(r, a.as_raw(), b.as_raw(), axis, s) })
}

/// Kronecker product: every element of `a` scales a copy of `b` (arrays of fewer dimensions are
/// padded with leading ones).
pub fn kron(a: &Array, b: &Array) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_kron(r, a.as_raw(), b.as_raw(), s) })
}

/// Einstein summation, e.g. `einsum("ij,jk->ik", &[&a, &b])` (matrix product). Subscripts
/// follow NumPy's notation, with `...` for broadcast dimensions; without `->` the output holds
/// the letters that appear once, in alphabetical order.
pub fn einsum(subscripts: &str, operands: &[&Array]) -> Result<Array> {
    let subscripts = c_string("einsum", subscripts)?;
    let raws: Vec<sys::mlxc_array> = operands.iter().map(|a| a.as_raw()).collect();
    call(|r, s| unsafe { sys::mlxc_einsum(r, subscripts.as_ptr(), raw_arrays(&raws), s) })
}

/// The contraction order [`einsum`] would use: the operand positions contracted at each step
/// (positions in the list as it stands at that step, contracted operands removed and their
/// result appended), and MLX's report of the naive and optimized costs.
pub fn einsum_path(subscripts: &str, operands: &[&Array]) -> Result<(Vec<Vec<i32>>, String)> {
    let subscripts = c_string("einsum_path", subscripts)?;
    let raws: Vec<sys::mlxc_array> = operands.iter().map(|a| a.as_raw()).collect();
    let mut parts = call_vec(|r, s| unsafe {
        sys::mlxc_einsum_path(r, subscripts.as_ptr(), raw_arrays(&raws), s)
    })?;
    let text = parts
        .pop()
        .expect("mlxc_einsum_path returns the report last");
    let report = String::from_utf8_lossy(&text.to_vec::<u8>()?).into_owned();
    let steps = parts
        .iter()
        .map(|p| p.to_vec::<i32>())
        .collect::<Result<Vec<_>>>()?;
    Ok((steps, report))
}

/// Multiplies the last axis of `a` by the Hadamard matrix of its size, times `scale` (default
/// `1/sqrt(n)`, which makes the transform orthonormal). The size must be `m * 2^k` with `m` in
/// `{1, 12, 20, 28}`; float16, bfloat16 and float32 (integers are converted to float32).
pub fn hadamard_transform(a: &Array, scale: Option<f32>) -> Result<Array> {
    let scale = sys::mlxc_opt_float {
        has: scale.is_some(),
        value: scale.unwrap_or(0.0),
    };
    on_cpu_under_cuda(|| {
        call(|r, s| unsafe { sys::mlxc_hadamard_transform(r, a.as_raw(), scale, s) })
    })
}

// ---- norms --------------------------------------------------------------------------------------

/// The order of a [`norm`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NormOrd {
    /// A numeric order. Vector norms (one axis): `p`-norms `(Σ|x|^p)^(1/p)` for any `p`, with
    /// `0` counting non-zeros and `±∞` the largest/smallest absolute value. Matrix norms (two
    /// axes): `1`/`-1` (largest/smallest column sum of `|x|`), `∞`/`-∞` (largest/smallest row
    /// sum), `2`/`-2` (largest/smallest singular value).
    P(f64),
    /// The Frobenius norm of a matrix (`"fro"`).
    Fro,
    /// The nuclear norm of a matrix, the sum of its singular values (`"nuc"`).
    Nuc,
}

impl From<f64> for NormOrd {
    fn from(p: f64) -> NormOrd {
        NormOrd::P(p)
    }
}

impl From<i32> for NormOrd {
    fn from(p: i32) -> NormOrd {
        NormOrd::P(f64::from(p))
    }
}

/// Vector or matrix norm.
///
/// - `ord: None`: the 2-norm over `axes` (the Frobenius norm for two axes), or of the flattened
///   array when `axes` is `None`.
/// - `ord: Some(_)` with `axes: None`: `a` must be 1-d (vector norm) or 2-d (matrix norm).
/// - at most two axes; negative axes count from the end.
///
/// Integer inputs give float32. Matrix orders `±2` and [`NormOrd::Nuc`] use the SVD and run on
/// the CPU (see the module's documentation) and are not differentiable.
pub fn norm(
    a: &Array,
    ord: Option<NormOrd>,
    axes: Option<&[i32]>,
    keepdims: bool,
) -> Result<Array> {
    let (ax, has_axes) = match axes {
        Some(ax) => (ax, true),
        None => (&[][..], false),
    };
    let raw_axes = ints(ax);
    match ord {
        None => call(|r, s| unsafe {
            sys::mlxc_linalg_norm(r, a.as_raw(), raw_axes, has_axes, keepdims, s)
        }),
        Some(NormOrd::P(p)) => {
            let matrix = if has_axes {
                ax.len() == 2
            } else {
                a.ndim() == 2
            };
            let run = || {
                call(|r, s| unsafe {
                    sys::mlxc_linalg_norm_ord(r, a.as_raw(), p, raw_axes, has_axes, keepdims, s)
                })
            };
            if matrix && p.abs() == 2.0 {
                on_cpu(run)
            } else {
                run()
            }
        }
        Some(named) => {
            let name = if named == NormOrd::Fro {
                c"fro"
            } else {
                c"nuc"
            };
            let run = || {
                call(|r, s| unsafe {
                    sys::mlxc_linalg_norm_str(
                        r,
                        a.as_raw(),
                        name.as_ptr(),
                        raw_axes,
                        has_axes,
                        keepdims,
                        s,
                    )
                })
            };
            if named == NormOrd::Nuc {
                on_cpu(run)
            } else {
                run()
            }
        }
    }
}

// ---- factorizations (CPU) -----------------------------------------------------------------------

/// QR factorization `a = Q R` of the last two axes (reduced: for `a` of `[..., m, n]` and
/// `k = min(m, n)`, `Q` is `[..., m, k]` with orthonormal columns and `R` `[..., k, n]` upper
/// triangular). Float32/float64. Runs on the CPU.
pub fn qr(a: &Array) -> Result<(Array, Array)> {
    on_cpu(|| call_vec(|r, s| unsafe { sys::mlxc_linalg_qr(r, a.as_raw(), s) })).map(two)
}

/// Singular value decomposition `a = U diag(S) Vᵀ` of the last two axes: `(U, S, Vt)` with `U`
/// `[..., m, m]`, `S` `[..., min(m, n)]` (descending) and `Vt` `[..., n, n]`. Float32, float64 and
/// complex64 (`S` is then float32). Runs on the CPU.
pub fn svd(a: &Array) -> Result<(Array, Array, Array)> {
    on_cpu(|| call_vec(|r, s| unsafe { sys::mlxc_linalg_svd(r, a.as_raw(), true, s) })).map(three)
}

/// The singular values of the last two axes, descending (`svd` with `compute_uv=False`). Runs on
/// the CPU.
pub fn svdvals(a: &Array) -> Result<Array> {
    on_cpu(|| call_vec(|r, s| unsafe { sys::mlxc_linalg_svd(r, a.as_raw(), false, s) })).map(single)
}

/// Inverse of the square matrices in the last two axes. Float32/float64; a singular matrix gives
/// an error at evaluation. Runs on the CPU.
pub fn inv(a: &Array) -> Result<Array> {
    on_cpu(|| {
        let out = call(|r, s| unsafe { sys::mlxc_linalg_inv(r, a.as_raw(), s) })?;
        without_empty_kernels(vec![out]).map(single)
    })
}

/// Inverse of triangular matrices (lower, or upper with `upper`); the other triangle of `a` is
/// ignored. Runs on the CPU.
pub fn tri_inv(a: &Array, upper: bool) -> Result<Array> {
    on_cpu(|| {
        let out = call(|r, s| unsafe { sys::mlxc_linalg_tri_inv(r, a.as_raw(), upper, s) })?;
        without_empty_kernels(vec![out]).map(single)
    })
}

/// Cholesky factor of symmetric positive-definite matrices: lower `L` with `a = L Lᵀ`, or upper
/// `U` with `a = Uᵀ U` when `upper`. Only one triangle of `a` is read. MLX does not check
/// positive definiteness: other inputs give meaningless values, not an error. Runs on the CPU.
pub fn cholesky(a: &Array, upper: bool) -> Result<Array> {
    on_cpu(|| call(|r, s| unsafe { sys::mlxc_linalg_cholesky(r, a.as_raw(), upper, s) }))
}

/// Inverse of a symmetric positive-definite matrix from its Cholesky factor (`l` lower, or
/// upper with `upper`). Runs on the CPU.
pub fn cholesky_inv(l: &Array, upper: bool) -> Result<Array> {
    on_cpu(|| {
        let out = call(|r, s| unsafe { sys::mlxc_linalg_cholesky_inv(r, l.as_raw(), upper, s) })?;
        without_empty_kernels(vec![out]).map(single)
    })
}

/// Moore–Penrose pseudo-inverse of the last two axes (through the SVD, dropping singular values
/// below `10 · max(m, n) · eps` relative to the largest). Runs on the CPU.
pub fn pinv(a: &Array) -> Result<Array> {
    on_cpu(|| call(|r, s| unsafe { sys::mlxc_linalg_pinv(r, a.as_raw(), s) }))
}

/// LU factorization with partial pivoting of `[..., m, n]` matrices (`k = min(m, n)`):
/// `(P, L, U)` with `P` the row permutation as `m` uint32 indices, `L` `[..., m, k]` unit lower
/// triangular and `U` `[..., k, n]` upper triangular, such that `a = L[P] @ U` (rows of `L`
/// taken in the order `P`). Runs on the CPU.
pub fn lu(a: &Array) -> Result<(Array, Array, Array)> {
    on_cpu(|| {
        without_empty_kernels(call_vec(|r, s| unsafe {
            sys::mlxc_linalg_lu(r, a.as_raw(), s)
        })?)
    })
    .map(three)
}

/// Compact LU factorization, LAPACK's `getrf`: `(LU, pivots)` with `L` (unit diagonal, not
/// stored) and `U` packed in one matrix of `a`'s shape, and `min(m, n)` `pivots` (uint32,
/// 0-based): row `i` was swapped with row `pivots[i]`, in order. Runs on the CPU.
pub fn lu_factor(a: &Array) -> Result<(Array, Array)> {
    on_cpu(|| {
        without_empty_kernels(call_vec(|r, s| unsafe {
            sys::mlxc_linalg_lu_factor(r, a.as_raw(), s)
        })?)
    })
    .map(two)
}

/// Solves `a x = b` for square `a`: `b` is a vector when `a` is one matrix, otherwise
/// `[..., n, k]` with as many dimensions as `a` (batch dimensions of size 1 broadcast; MLX 0.32
/// fails on other rank combinations). A singular `a` gives an error at evaluation. Runs on the
/// CPU.
pub fn solve(a: &Array, b: &Array) -> Result<Array> {
    on_cpu(|| {
        let out = call(|r, s| unsafe { sys::mlxc_linalg_solve(r, a.as_raw(), b.as_raw(), s) })?;
        without_empty_kernels(vec![out]).map(single)
    })
}

/// Solves `a x = b` for triangular `a` (lower, or upper with `upper`; the other triangle is
/// ignored), with `b` shaped as for [`solve`]. Runs on the CPU.
pub fn solve_triangular(a: &Array, b: &Array, upper: bool) -> Result<Array> {
    on_cpu(|| {
        let out = call(|r, s| unsafe {
            sys::mlxc_linalg_solve_triangular(r, a.as_raw(), b.as_raw(), upper, s)
        })?;
        without_empty_kernels(vec![out]).map(single)
    })
}

/// Cross product of vectors of size 3 (or 2, treated as having a zero third component) along
/// `axis`; other dimensions broadcast.
pub fn cross(a: &Array, b: &Array, axis: i32) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_linalg_cross(r, a.as_raw(), b.as_raw(), axis, s) })
}

/// Eigenvalues and right eigenvectors of general square matrices: `(w, v)`, complex64, with
/// `a v[:, i] = w[i] v[:, i]`. Runs on the CPU.
pub fn eig(a: &Array) -> Result<(Array, Array)> {
    on_cpu(|| call_vec(|r, s| unsafe { sys::mlxc_linalg_eig(r, a.as_raw(), s) })).map(two)
}

/// Eigenvalues of general square matrices (complex64). Runs on the CPU.
pub fn eigvals(a: &Array) -> Result<Array> {
    on_cpu(|| call(|r, s| unsafe { sys::mlxc_linalg_eigvals(r, a.as_raw(), s) }))
}

fn uplo(upper: bool) -> &'static std::ffi::CStr {
    if upper { c"U" } else { c"L" }
}

/// Eigenvalues (ascending) and orthonormal eigenvectors (columns) of symmetric (or Hermitian)
/// matrices, reading the lower triangle, or the upper one with `upper` (Python's `UPLO`).
/// Runs on the CPU.
pub fn eigh(a: &Array, upper: bool) -> Result<(Array, Array)> {
    on_cpu(|| {
        call_vec(|r, s| unsafe { sys::mlxc_linalg_eigh(r, a.as_raw(), uplo(upper).as_ptr(), s) })
    })
    .map(two)
}

/// Eigenvalues (ascending) of symmetric (or Hermitian) matrices; see [`eigh`]. Runs on the CPU.
pub fn eigvalsh(a: &Array, upper: bool) -> Result<Array> {
    on_cpu(|| {
        call(|r, s| unsafe { sys::mlxc_linalg_eigvalsh(r, a.as_raw(), uplo(upper).as_ptr(), s) })
    })
}

/// Determinant of square matrices (through the LU factorization). Runs on the CPU.
pub fn det(a: &Array) -> Result<Array> {
    on_cpu(|| call(|r, s| unsafe { sys::mlxc_linalg_det(r, a.as_raw(), s) }))
}

/// Sign and natural log of the absolute value of the determinant: `(sign, logabsdet)`, with
/// `det = sign · exp(logabsdet)` (sign 0 and log -∞ for singular matrices). Runs on the CPU.
pub fn slogdet(a: &Array) -> Result<(Array, Array)> {
    on_cpu(|| call_vec(|r, s| unsafe { sys::mlxc_linalg_slogdet(r, a.as_raw(), s) })).map(two)
}
