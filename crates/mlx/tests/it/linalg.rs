//! Matrix products (`addmm`, `tensordot`, `einsum`, …) and `mlx::linalg`, checked against naive
//! Rust loops and algebraic identities.

use crate::common;
use common::assert_err;

use common::{assert_close, check_grad, sample, values};
use mlx::linalg::{self, NormOrd};
use mlx::{Array, Complex32, Device, Dtype, Error, Stream, ops, transforms};

// ---- helpers --------------------------------------------------------------------------------------

fn arr(data: &[f64], shape: &[i32], dtype: Dtype) -> Array {
    Array::from_slice(data, shape)
        .unwrap()
        .astype(dtype)
        .unwrap()
}

/// Row-major `[m, k] @ [k, n]`.
fn mm(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
    let mut out = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            out[i * n + j] = (0..k).map(|l| a[i * k + l] * b[l * n + j]).sum();
        }
    }
    out
}

fn tr(a: &[f64], m: usize, n: usize) -> Vec<f64> {
    let mut out = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            out[j * m + i] = a[i * n + j];
        }
    }
    out
}

fn eye_vals(n: usize) -> Vec<f64> {
    let mut out = vec![0.0; n * n];
    for i in 0..n {
        out[i * n + i] = 1.0;
    }
    out
}

fn assert_vec_close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "lengths: {got:?} vs {want:?}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "element {i}: {g} vs {w}\n got  {got:?}\n want {want:?}"
        );
    }
}

fn tol(dtype: Dtype) -> f64 {
    match dtype {
        Dtype::Float64 => 1e-10,
        Dtype::Float32 => 2e-5,
        Dtype::Float16 => 5e-3,
        _ => 3e-2,
    }
}

/// A well-conditioned `n × n` matrix (random entries plus `n` on the diagonal), as f64 values.
fn well_conditioned(n: usize, seed: u64) -> Vec<f64> {
    let mut v = values(&sample(&[n as i32, n as i32], seed, -1.0, 1.0));
    for i in 0..n {
        v[i * n + i] += n as f64;
    }
    v
}

/// A symmetric positive-definite `n × n` matrix: `B Bᵀ + n I`.
fn spd(n: usize, seed: u64) -> Vec<f64> {
    let b = values(&sample(&[n as i32, n as i32], seed, -1.0, 1.0));
    let mut a = mm(&b, &tr(&b, n, n), n, n, n);
    for i in 0..n {
        a[i * n + i] += n as f64;
    }
    a
}

const FLOATS: [Dtype; 2] = [Dtype::Float32, Dtype::Float64];

// ---- addmm ----------------------------------------------------------------------------------------

#[test]
fn addmm_matches_naive_for_float_dtypes() {
    let a = values(&sample(&[2, 3], 1, -1.0, 1.0));
    let b = values(&sample(&[3, 4], 2, -1.0, 1.0));
    let c = values(&sample(&[2, 4], 3, -1.0, 1.0));
    let ab = mm(&a, &b, 2, 3, 4);
    let want: Vec<f64> = ab.iter().zip(&c).map(|(p, c)| 2.0 * p + 0.5 * c).collect();
    for dtype in [
        Dtype::Float16,
        Dtype::Bfloat16,
        Dtype::Float32,
        Dtype::Float64,
    ] {
        let out = linalg::addmm(
            &arr(&c, &[2, 4], dtype),
            &arr(&a, &[2, 3], dtype),
            &arr(&b, &[3, 4], dtype),
            2.0,
            0.5,
        )
        .unwrap();
        assert_eq!(out.dtype(), dtype);
        assert_eq!(out.shape(), &[2, 4]);
        assert_close(&out, &want, tol(dtype) * 4.0, tol(dtype) * 4.0);
    }
}

#[test]
fn addmm_broadcasts_c_and_batches_and_reads_transposed_inputs() {
    let a = values(&sample(&[2, 2, 3], 4, -1.0, 1.0));
    let b = values(&sample(&[3, 4], 5, -1.0, 1.0));
    let c = [1.0, -2.0, 3.0, 0.5];
    // `a` is passed as the transpose of a [3, 2, 2] array (non-contiguous).
    let a_t_src = {
        // src[k, j, i] = a[i, j, k] for a of shape [2, 2, 3]: src has shape [3, 2, 2].
        let mut src = vec![0.0; 12];
        for i in 0..2 {
            for j in 0..2 {
                for k in 0..3 {
                    src[k * 4 + j * 2 + i] = a[i * 6 + j * 3 + k];
                }
            }
        }
        src
    };
    let a_view = arr(&a_t_src, &[3, 2, 2], Dtype::Float64).t().unwrap();
    let out = linalg::addmm(
        &arr(&c, &[4], Dtype::Float64),
        &a_view,
        &arr(&b, &[3, 4], Dtype::Float64),
        1.0,
        -1.0,
    )
    .unwrap();
    assert_eq!(out.shape(), &[2, 2, 4]);
    let mut want = Vec::new();
    for batch in 0..2 {
        let p = mm(&a[batch * 6..batch * 6 + 6], &b, 2, 3, 4);
        for (idx, v) in p.iter().enumerate() {
            want.push(v - c[idx % 4]);
        }
    }
    assert_close(&out, &want, 1e-12, 1e-12);
}

#[test]
fn addmm_empty_inner_dimension_gives_beta_c() {
    let c = arr(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3], Dtype::Float32);
    let a = ops::zeros(&[2, 0], Dtype::Float32).unwrap();
    let b = ops::zeros(&[0, 3], Dtype::Float32).unwrap();
    let out = linalg::addmm(&c, &a, &b, 2.0, 0.5).unwrap();
    assert_close(&out, &[0.5, 1.0, 1.5, 2.0, 2.5, 3.0], 0.0, 0.0);
}

#[test]
fn matmul_of_empty_operands_is_zeros_or_empty() {
    let z = |shape: &[i32]| ops::zeros(shape, Dtype::Float32).unwrap();
    // An empty inner dimension: every entry is an empty sum.
    let out = ops::matmul(&z(&[3, 0]), &z(&[0, 4])).unwrap();
    assert_eq!(out.shape(), &[3, 4]);
    assert_close(&out, &[0.0; 12], 0.0, 0.0);
    // Empty rows or a batch of none: an empty result of the right shape.
    let ones = |shape: &[i32]| ops::ones(shape, Dtype::Float32).unwrap();
    assert_eq!(
        ops::matmul(&z(&[0, 3]), &ones(&[3, 2])).unwrap().shape(),
        &[0, 2]
    );
    let batch = ops::matmul(&z(&[0, 2, 3]), &ones(&[3, 5])).unwrap();
    assert_eq!(batch.shape(), &[0, 2, 5]);
    assert!(values(&batch).is_empty());
    // Mismatched inner dimensions are still MLX's error.
    assert!(ops::matmul(&z(&[2, 0]), &z(&[3, 4])).is_err());
}

#[test]
fn addmm_rejects_integers_and_bad_shapes() {
    let i = Array::ones::<i32>(&[2, 2]).unwrap();
    assert_err(
        linalg::addmm(&i, &i, &i, 1.0, 1.0),
        "[addmm] Only real floating point types are supported",
    );
    let a = Array::ones::<f32>(&[2, 3]).unwrap();
    assert_err(linalg::addmm(&a, &a, &a, 1.0, 1.0), "[addmm]");
}

// ---- tensordot, inner, outer, vecdot, kron ----------------------------------------------------------

#[test]
fn tensordot_with_a_count_of_axes() {
    let a = values(&sample(&[2, 3, 4], 6, -1.0, 1.0));
    let b = values(&sample(&[3, 4, 5], 7, -1.0, 1.0));
    // Contracting the last two axes of a with the first two of b is a [2, 12] @ [12, 5] product.
    let want = mm(&a, &b, 2, 12, 5);
    for dtype in [Dtype::Float16, Dtype::Float32, Dtype::Float64] {
        let out =
            linalg::tensordot(&arr(&a, &[2, 3, 4], dtype), &arr(&b, &[3, 4, 5], dtype), 2).unwrap();
        assert_eq!(out.shape(), &[2, 5]);
        assert_eq!(out.dtype(), dtype);
        assert_close(&out, &want, tol(dtype) * 10.0, tol(dtype) * 10.0);
    }
    // axes = 0 is the outer product.
    let out = linalg::tensordot(
        &arr(&[1.0, 2.0], &[2], Dtype::Float32),
        &arr(&[3.0, 4.0, 5.0], &[3], Dtype::Float32),
        0,
    )
    .unwrap();
    assert_eq!(out.shape(), &[2, 3]);
    assert_close(&out, &[3.0, 4.0, 5.0, 6.0, 8.0, 10.0], 0.0, 0.0);
}

#[test]
fn tensordot_with_explicit_and_negative_axes() {
    // a: [3, 2, 4], b: [4, 3, 5]; contract a's axis 0 with b's axis 1 and a's axis -1 with b's 0.
    let a = values(&sample(&[3, 2, 4], 8, -1.0, 1.0));
    let b = values(&sample(&[4, 3, 5], 9, -1.0, 1.0));
    let mut want = vec![0.0; 2 * 5];
    for j in 0..2 {
        for n in 0..5 {
            let mut acc = 0.0;
            for i in 0..3 {
                for k in 0..4 {
                    acc += a[i * 8 + j * 4 + k] * b[k * 15 + i * 5 + n];
                }
            }
            want[j * 5 + n] = acc;
        }
    }
    let out = linalg::tensordot_axes(
        &arr(&a, &[3, 2, 4], Dtype::Float64),
        &arr(&b, &[4, 3, 5], Dtype::Float64),
        &[0, -1],
        &[1, 0],
    )
    .unwrap();
    assert_eq!(out.shape(), &[2, 5]);
    assert_close(&out, &want, 1e-12, 1e-12);
}

#[test]
fn tensordot_errors_and_empty() {
    let a = Array::ones::<f32>(&[2, 3]).unwrap();
    assert_err(
        linalg::tensordot(&a, &a, 1),
        "[tensordot] a and b must have the same shape on the contracted axes",
    );
    assert_err(
        linalg::tensordot_axes(&a, &a, &[0, 1], &[0]),
        "[tensordot] axes must have the same size",
    );
    let i = Array::ones::<i32>(&[2]).unwrap();
    assert_err(
        linalg::tensordot(&i, &i, 1),
        "Only inexact types are supported",
    );
    let e = linalg::tensordot(
        &ops::zeros(&[2, 0], Dtype::Float32).unwrap(),
        &ops::zeros(&[0, 3], Dtype::Float32).unwrap(),
        1,
    )
    .unwrap();
    assert_eq!(e.shape(), &[2, 3]);
    assert_close(&e, &[0.0; 6], 0.0, 0.0);
}

#[test]
fn inner_of_vectors_and_matrices() {
    let v = arr(&[1.0, 2.0, 3.0], &[3], Dtype::Float32);
    let w = arr(&[4.0, -5.0, 6.0], &[3], Dtype::Float32);
    assert_close(&linalg::inner(&v, &w).unwrap(), &[12.0], 0.0, 0.0);
    // Matrices: out[i, j] = Σ_k a[i, k] b[j, k].
    let a = values(&sample(&[2, 3], 10, -1.0, 1.0));
    let b = values(&sample(&[4, 3], 11, -1.0, 1.0));
    let want = mm(&a, &tr(&b, 4, 3), 2, 3, 4);
    for dtype in [
        Dtype::Bfloat16,
        Dtype::Float32,
        Dtype::Float64,
        Dtype::Complex64,
    ] {
        let out = linalg::inner(&arr(&a, &[2, 3], dtype), &arr(&b, &[4, 3], dtype)).unwrap();
        assert_eq!(out.shape(), &[2, 4]);
        assert_eq!(out.dtype(), dtype);
        if dtype == Dtype::Complex64 {
            let got: Vec<f64> = out
                .to_vec::<Complex32>()
                .unwrap()
                .iter()
                .map(|c| c.re as f64)
                .collect();
            assert_vec_close(&got, &want, 1e-5);
        } else {
            assert_close(&out, &want, tol(dtype) * 4.0, tol(dtype) * 4.0);
        }
    }
    assert_err(
        linalg::inner(
            &Array::ones::<f32>(&[2, 3]).unwrap(),
            &Array::ones::<f32>(&[2]).unwrap(),
        ),
        "[inner] a and b must have the same last dimension",
    );
    assert_close(
        &linalg::inner(
            &ops::zeros(&[0], Dtype::Float32).unwrap(),
            &ops::zeros(&[0], Dtype::Float32).unwrap(),
        )
        .unwrap(),
        &[0.0],
        0.0,
        0.0,
    );
}

#[test]
fn outer_flattens_and_keeps_integer_dtypes() {
    let a = Array::from_slice(&[1i32, 2, 3, 4], &[2, 2]).unwrap();
    let b = Array::from_slice(&[1i32, -1, 2], &[3]).unwrap();
    let out = linalg::outer(&a, &b).unwrap();
    assert_eq!(out.shape(), &[4, 3]);
    assert_eq!(out.dtype(), Dtype::Int32);
    assert_eq!(
        out.to_vec::<i32>().unwrap(),
        vec![1, -1, 2, 2, -2, 4, 3, -3, 6, 4, -4, 8]
    );
    let u = Array::from_slice(&[2u8, 3], &[2]).unwrap();
    assert_eq!(
        linalg::outer(&u, &u).unwrap().to_vec::<u8>().unwrap(),
        vec![4, 6, 6, 9]
    );
    let t = Array::from_slice(&[true, false], &[2]).unwrap();
    assert_eq!(
        linalg::outer(&t, &t).unwrap().to_vec::<bool>().unwrap(),
        vec![true, false, false, false]
    );
    // Transposed (non-contiguous) input flattens in logical order.
    let m = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0], &[2, 2])
        .unwrap()
        .t()
        .unwrap();
    let out = linalg::outer(&m, &Array::from_slice(&[1.0f32, 10.0], &[2]).unwrap()).unwrap();
    assert_close(
        &out,
        &[1.0, 10.0, 3.0, 30.0, 2.0, 20.0, 4.0, 40.0],
        0.0,
        0.0,
    );
    let e = linalg::outer(&ops::zeros(&[0], Dtype::Float32).unwrap(), &u).unwrap();
    assert_eq!(e.shape(), &[0, 2]);
}

#[test]
fn vecdot_along_an_axis() {
    let a = arr(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3], Dtype::Float32);
    let b = arr(&[1.0, 0.0, -1.0], &[1, 3], Dtype::Float32);
    let out = linalg::vecdot(&a, &b, -1).unwrap();
    assert_eq!(out.shape(), &[2]);
    assert_close(&out, &[-2.0, -2.0], 0.0, 0.0);
    let out = linalg::vecdot(&a, &a, 0).unwrap();
    assert_close(&out, &[17.0, 29.0, 45.0], 0.0, 0.0);
    let i = Array::from_slice(&[1i32, 2, 3], &[3]).unwrap();
    let out = linalg::vecdot(&i, &i, -1).unwrap();
    assert_eq!(out.to_vec::<i32>().unwrap(), vec![14]);
    assert_err(linalg::vecdot(&a, &a, 2), "[vecdot]");
}

#[test]
fn kron_matches_hand_values() {
    let a = Array::from_slice(&[1i32, 2, 3, 4], &[2, 2]).unwrap();
    let b = Array::from_slice(&[0i32, 1, 1, 0], &[2, 2]).unwrap();
    let out = linalg::kron(&a, &b).unwrap();
    assert_eq!(out.shape(), &[4, 4]);
    assert_eq!(
        out.to_vec::<i32>().unwrap(),
        vec![0, 1, 0, 2, 1, 0, 2, 0, 0, 3, 0, 4, 3, 0, 4, 0]
    );
    // A vector is padded to [1, 2].
    let v = Array::from_slice(&[1i32, 2], &[2]).unwrap();
    let out = linalg::kron(&v, &b).unwrap();
    assert_eq!(out.shape(), &[2, 4]);
    assert_eq!(out.to_vec::<i32>().unwrap(), vec![0, 1, 0, 2, 1, 0, 2, 0]);
    // Float vs naive, transposed input.
    let x = values(&sample(&[2, 3], 12, -1.0, 1.0));
    let y = values(&sample(&[3, 2], 13, -1.0, 1.0));
    let xt = arr(&tr(&x, 2, 3), &[3, 2], Dtype::Float64).t().unwrap();
    let out = linalg::kron(&xt, &arr(&y, &[3, 2], Dtype::Float64)).unwrap();
    assert_eq!(out.shape(), &[6, 6]);
    let mut want = vec![0.0; 36];
    for i in 0..2 {
        for j in 0..3 {
            for k in 0..3 {
                for l in 0..2 {
                    want[(i * 3 + k) * 6 + j * 2 + l] = x[i * 3 + j] * y[k * 2 + l];
                }
            }
        }
    }
    assert_close(&out, &want, 1e-12, 0.0);
    let t = Array::from_slice(&[true, false], &[2]).unwrap();
    assert_eq!(
        linalg::kron(&t, &t).unwrap().to_vec::<bool>().unwrap(),
        vec![true, false, false, false]
    );
    assert_err(
        linalg::kron(&ops::zeros(&[0, 2], Dtype::Float32).unwrap(), &b),
        "[kron] Input arrays cannot be empty",
    );
}

// ---- einsum ---------------------------------------------------------------------------------------

#[test]
fn einsum_matches_naive_contractions() {
    let a = values(&sample(&[2, 3], 14, -1.0, 1.0));
    let b = values(&sample(&[3, 4], 15, -1.0, 1.0));
    let sq = values(&sample(&[3, 3], 16, -1.0, 1.0));
    let (xa, xb, xs) = (
        arr(&a, &[2, 3], Dtype::Float64),
        arr(&b, &[3, 4], Dtype::Float64),
        arr(&sq, &[3, 3], Dtype::Float64),
    );
    // Matrix product, explicit and implicit output.
    assert_close(
        &linalg::einsum("ij,jk->ik", &[&xa, &xb]).unwrap(),
        &mm(&a, &b, 2, 3, 4),
        1e-12,
        1e-12,
    );
    assert_close(
        &linalg::einsum("ij,jk", &[&xa, &xb]).unwrap(),
        &mm(&a, &b, 2, 3, 4),
        1e-12,
        1e-12,
    );
    // Transpose, trace, diagonal, sums.
    assert_close(
        &linalg::einsum("ij->ji", &[&xa]).unwrap(),
        &tr(&a, 2, 3),
        0.0,
        0.0,
    );
    assert_close(
        &linalg::einsum("ii", &[&xs]).unwrap(),
        &[sq[0] + sq[4] + sq[8]],
        1e-12,
        1e-12,
    );
    assert_close(
        &linalg::einsum("ii->i", &[&xs]).unwrap(),
        &[sq[0], sq[4], sq[8]],
        0.0,
        0.0,
    );
    assert_close(
        &linalg::einsum("ij->", &[&xa]).unwrap(),
        &[a.iter().sum::<f64>()],
        1e-12,
        1e-12,
    );
    let col_sums: Vec<f64> = (0..3).map(|j| a[j] + a[3 + j]).collect();
    assert_close(
        &linalg::einsum("ij->j", &[&xa]).unwrap(),
        &col_sums,
        1e-12,
        1e-12,
    );
    // Outer product and a three-operand chain.
    let u = [1.0, 2.0];
    let v = [3.0, 4.0, 5.0];
    assert_close(
        &linalg::einsum(
            "i,j->ij",
            &[
                &arr(&u, &[2], Dtype::Float32),
                &arr(&v, &[3], Dtype::Float32),
            ],
        )
        .unwrap(),
        &[3.0, 4.0, 5.0, 6.0, 8.0, 10.0],
        0.0,
        0.0,
    );
    let chain = linalg::einsum("ij,jk,kl->il", &[&xa, &xs, &xb.t().unwrap().t().unwrap()]).unwrap();
    let want = mm(&mm(&a, &sq, 2, 3, 3), &b, 2, 3, 4);
    assert_close(&chain, &want, 1e-12, 1e-12);
}

#[test]
fn einsum_batches_ellipsis_and_transposed_operands() {
    let a = values(&sample(&[2, 2, 3], 17, -1.0, 1.0));
    let b = values(&sample(&[2, 3, 2], 18, -1.0, 1.0));
    let xa = arr(&a, &[2, 2, 3], Dtype::Float32);
    let xb = arr(&b, &[2, 3, 2], Dtype::Float32);
    let mut want = Vec::new();
    for n in 0..2 {
        want.extend(mm(&a[n * 6..n * 6 + 6], &b[n * 6..n * 6 + 6], 2, 3, 2));
    }
    assert_close(
        &linalg::einsum("bij,bjk->bik", &[&xa, &xb]).unwrap(),
        &want,
        1e-5,
        1e-5,
    );
    assert_close(
        &linalg::einsum("...ij,...jk->...ik", &[&xa, &xb]).unwrap(),
        &want,
        1e-5,
        1e-5,
    );
    // Reading the second operand through a transpose: "bkj" of its transposed view.
    let xb_t = xb.transpose(Some(&[0, 2, 1])).unwrap();
    assert_close(
        &linalg::einsum("bij,bkj->bik", &[&xa, &xb_t]).unwrap(),
        &want,
        1e-5,
        1e-5,
    );
    // Broadcasting a size-1 batch.
    let one = arr(&a[..6], &[1, 2, 3], Dtype::Float32);
    let out = linalg::einsum("bij,bjk->bik", &[&one, &xb]).unwrap();
    assert_eq!(out.shape(), &[2, 2, 2]);
    let mut want = Vec::new();
    for n in 0..2 {
        want.extend(mm(&a[..6], &b[n * 6..n * 6 + 6], 2, 3, 2));
    }
    assert_close(&out, &want, 1e-5, 1e-5);
    // Empty contraction.
    let e = linalg::einsum(
        "ij,jk->ik",
        &[
            &ops::zeros(&[2, 0], Dtype::Float32).unwrap(),
            &ops::zeros(&[0, 3], Dtype::Float32).unwrap(),
        ],
    )
    .unwrap();
    assert_close(&e, &[0.0; 6], 0.0, 0.0);
}

#[test]
fn einsum_rejects_bad_subscripts() {
    let a = Array::ones::<f32>(&[2, 2]).unwrap();
    assert_err(
        linalg::einsum("ij,jk", &[&a]),
        "[einsum] Number of operands, 1, does not match number of input subscripts, 2",
    );
    assert_err(
        linalg::einsum("ij,jk->ik", &[&Array::ones::<f32>(&[2, 3]).unwrap(), &a]),
        "[einsum] Cannot broadcast dimension",
    );
    assert!(linalg::einsum("ij,jk->ikz", &[&a, &a]).is_err());
    let i = Array::ones::<i32>(&[2, 2]).unwrap();
    assert_err(
        linalg::einsum("ij,jk->ik", &[&i, &i]),
        "Only inexact types are supported",
    );
    assert!(matches!(
        linalg::einsum("i\0j", &[&a]),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn einsum_path_reports_the_contraction_order() {
    let a = Array::ones::<f32>(&[2, 3]).unwrap();
    let b = Array::ones::<f32>(&[3, 4]).unwrap();
    let c = Array::ones::<f32>(&[4, 5]).unwrap();
    let (path, report) = linalg::einsum_path("ij,jk,kl->il", &[&a, &b, &c]).unwrap();
    // NumPy's greedy optimizer (and MLX's) contracts b with c first, then a with the result.
    assert_eq!(path, vec![vec![1, 2], vec![0, 1]]);
    assert!(
        report.contains("Complete contraction:  ij,jk,kl->il"),
        "{report}"
    );
    assert!(report.contains("Naive FLOP count:  360"), "{report}");
    assert!(report.contains("Optimized FLOP count:  180"), "{report}");
    assert!(linalg::einsum_path("ij,jk", &[&a]).is_err());
}

// ---- hadamard, block-masked, gather and segmented products -----------------------------------------

fn sylvester(n: usize) -> Vec<f64> {
    let mut h = vec![1.0];
    let mut size = 1;
    while size < n {
        let mut next = vec![0.0; 4 * size * size];
        for i in 0..size {
            for j in 0..size {
                let v = h[i * size + j];
                next[i * 2 * size + j] = v;
                next[i * 2 * size + j + size] = v;
                next[(i + size) * 2 * size + j] = v;
                next[(i + size) * 2 * size + j + size] = -v;
            }
        }
        h = next;
        size *= 2;
    }
    h
}

#[test]
fn hadamard_transform_matches_sylvester_matrices() {
    let x = values(&sample(&[3, 8], 19, -1.0, 1.0));
    let h = sylvester(8);
    // Rows of x times Hᵀ (H is symmetric), scaled by 1/sqrt(8) by default.
    let raw = mm(&x, &h, 3, 8, 8);
    let scaled: Vec<f64> = raw.iter().map(|v| v / 8f64.sqrt()).collect();
    for dtype in [Dtype::Float16, Dtype::Bfloat16, Dtype::Float32] {
        let out = linalg::hadamard_transform(&arr(&x, &[3, 8], dtype), None).unwrap();
        assert_eq!(out.dtype(), dtype);
        assert_close(&out, &scaled, tol(dtype) * 4.0, tol(dtype) * 4.0);
    }
    let out = linalg::hadamard_transform(&arr(&x, &[3, 8], Dtype::Float32), Some(1.0)).unwrap();
    assert_close(&out, &raw, 1e-5, 1e-5);
    // Integers are converted to float32.
    let i = Array::from_slice(&[1i32, 0, 0, 0], &[4]).unwrap();
    let out = linalg::hadamard_transform(&i, Some(1.0)).unwrap();
    assert_eq!(out.dtype(), Dtype::Float32);
    assert_close(&out, &[1.0, 1.0, 1.0, 1.0], 0.0, 0.0);
    // Size 12 uses a non-Sylvester factor: still orthogonal, H Hᵀ = 12 I.
    let h12 =
        values(&linalg::hadamard_transform(&Array::eye::<f32>(12).unwrap(), Some(1.0)).unwrap());
    assert!(h12.iter().all(|v| v.abs() == 1.0));
    assert_vec_close(
        &mm(&h12, &tr(&h12, 12, 12), 12, 12, 12),
        &eye_vals(12).iter().map(|v| 12.0 * v).collect::<Vec<_>>(),
        1e-6,
    );
}

#[test]
fn hadamard_transform_errors() {
    // Size and dtype are checked when the transform is evaluated.
    let bad_size = linalg::hadamard_transform(&Array::eye::<f32>(3).unwrap(), None).unwrap();
    assert_err(
        bad_size.eval(),
        "[hadamard] Only supports n = m*2^k where m in (1, 12, 20, 28)",
    );
    let bad_type = linalg::hadamard_transform(&Array::eye::<f64>(4).unwrap(), None).unwrap();
    assert_err(bad_type.eval(), "[hadamard] Unsupported type");
    assert_err(
        linalg::hadamard_transform(&ops::zeros(&[0, 4], Dtype::Float32).unwrap(), None),
        "[hadamard_transform] Does not support empty arrays",
    );
}

#[test]
fn block_masked_mm_skips_and_scales_blocks() {
    let (m, k, n, bs) = (64usize, 64usize, 64usize, 32usize);
    let a = values(&sample(&[64, 64], 20, -1.0, 1.0));
    let b = values(&sample(&[64, 64], 21, -1.0, 1.0));
    let xa = arr(&a, &[64, 64], Dtype::Float32);
    let xb = arr(&b, &[64, 64], Dtype::Float32);
    let out_mask = [true, false, true, true];
    let lhs_scale = [0.5, 1.0, 0.0, 2.0];
    let rhs_mask = [true, true, false, true];
    let out = linalg::block_masked_mm(
        &xa,
        &xb,
        32,
        Some(&Array::from_slice(&out_mask, &[2, 2]).unwrap()),
        Some(&arr(&lhs_scale, &[2, 2], Dtype::Float32)),
        Some(&Array::from_slice(&rhs_mask, &[2, 2]).unwrap()),
    )
    .unwrap();
    let mut want = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            let (bi, bj) = (i / bs, j / bs);
            if !out_mask[bi * 2 + bj] {
                continue;
            }
            let mut acc = 0.0;
            for l in 0..k {
                let bl = l / bs;
                let factor = lhs_scale[bi * 2 + bl] * if rhs_mask[bl * 2 + bj] { 1.0 } else { 0.0 };
                acc += factor * a[i * k + l] * b[l * n + j];
            }
            want[i * n + j] = acc;
        }
    }
    assert_close(&out, &want, 1e-4, 1e-4);
    // No masks: the plain product.
    let plain = linalg::block_masked_mm(&xa, &xb, 64, None, None, None).unwrap();
    assert_close(&plain, &mm(&a, &b, 64, 64, 64), 1e-4, 1e-4);
    let mask16 = Array::from_slice(&[true; 16], &[4, 4]).unwrap();
    assert_err(
        linalg::block_masked_mm(&xa, &xb, 16, Some(&mask16), None, None),
        "[block_masked_mm] Only block_sizes 32, 64 are supported",
    );
    // The CPU kernel computes float32 only: other float types fail at evaluation.
    let h = Array::ones::<mlx::f16>(&[32, 32]).unwrap();
    let out = linalg::block_masked_mm(
        &h,
        &h,
        32,
        Some(&Array::from_slice(&[true], &[1, 1]).unwrap()),
        None,
        None,
    )
    .unwrap();
    assert_err(
        out.eval(),
        "[BlockMaskedMM::eval] Currently only supports float32",
    );
    let i = Array::ones::<i32>(&[32, 32]).unwrap();
    let one_block = Array::from_slice(&[true], &[1, 1]).unwrap();
    assert_err(
        linalg::block_masked_mm(&i, &i, 32, Some(&one_block), None, None),
        "[block_masked_mm] Only real floating point types are supported",
    );
}

#[test]
fn gather_mm_picks_matrices_by_index() {
    let a = values(&sample(&[3, 2, 3], 22, -1.0, 1.0));
    let b = values(&sample(&[4, 3, 2], 23, -1.0, 1.0));
    let xa = arr(&a, &[3, 2, 3], Dtype::Float32);
    let xb = arr(&b, &[4, 3, 2], Dtype::Float32);
    let lhs = [2u32, 0, 0, 1];
    let rhs = [3u32, 0, 1, 1];
    let out = linalg::gather_mm(
        &xa,
        &xb,
        Some(&Array::from_slice(&lhs, &[4]).unwrap()),
        Some(&Array::from_slice(&rhs, &[4]).unwrap()),
        false,
    )
    .unwrap();
    assert_eq!(out.shape(), &[4, 2, 2]);
    let mut want = Vec::new();
    for (l, r) in lhs.iter().zip(&rhs) {
        let (l, r) = (*l as usize, *r as usize);
        want.extend(mm(&a[l * 6..l * 6 + 6], &b[r * 6..r * 6 + 6], 2, 3, 2));
    }
    assert_close(&out, &want, 1e-5, 1e-5);
    // Only rhs indices, sorted (a is shared).
    let rhs_sorted = [0u32, 1, 1, 3];
    let out = linalg::gather_mm(
        &arr(&a[..6], &[2, 3], Dtype::Float32),
        &xb,
        None,
        Some(&Array::from_slice(&rhs_sorted, &[4]).unwrap()),
        true,
    )
    .unwrap();
    let mut want = Vec::new();
    for r in rhs_sorted {
        let r = r as usize;
        want.extend(mm(&a[..6], &b[r * 6..r * 6 + 6], 2, 3, 2));
    }
    assert_eq!(out.shape(), &[4, 2, 2]);
    assert_close(&out, &want, 1e-5, 1e-5);
    let i = Array::ones::<i32>(&[1, 2, 2]).unwrap();
    let idx = Array::from_slice(&[0u32], &[1]).unwrap();
    assert_err(
        linalg::gather_mm(&i, &i, None, Some(&idx), false),
        "[gather_mm] Only real floating point types are supported",
    );
    // The CPU kernel computes float32 only; other float types fail at evaluation.
    let d = Array::ones::<f64>(&[1, 2, 2]).unwrap();
    let out = linalg::gather_mm(&d, &d, None, Some(&idx), false).unwrap();
    assert_err(
        out.eval(),
        "[GatherMM::eval] Currently only supports float32",
    );
}

#[test]
fn segmented_mm_splits_the_inner_dimension() {
    let a = values(&sample(&[2, 5], 24, -1.0, 1.0));
    let b = values(&sample(&[5, 3], 25, -1.0, 1.0));
    let segs = [0u32, 2, 2, 5, 1, 4];
    let out = linalg::segmented_mm(
        &arr(&a, &[2, 5], Dtype::Float64),
        &arr(&b, &[5, 3], Dtype::Float64),
        &Array::from_slice(&segs, &[3, 2]).unwrap(),
    )
    .unwrap();
    assert_eq!(out.shape(), &[3, 2, 3]);
    let mut want = Vec::new();
    for s in segs.chunks(2) {
        let (lo, hi) = (s[0] as usize, s[1] as usize);
        for i in 0..2 {
            for j in 0..3 {
                want.push((lo..hi).map(|l| a[i * 5 + l] * b[l * 3 + j]).sum());
            }
        }
    }
    assert_close(&out, &want, 1e-12, 1e-12);
    // Half-precision inputs (MLX's own CPU kernel gets them wrong; see the function's docs) and
    // mixed dtypes promote as usual.
    for (da, db, dout) in [
        (Dtype::Float16, Dtype::Float16, Dtype::Float16),
        (Dtype::Bfloat16, Dtype::Bfloat16, Dtype::Bfloat16),
        (Dtype::Float32, Dtype::Float32, Dtype::Float32),
        (Dtype::Float16, Dtype::Float32, Dtype::Float32),
    ] {
        let out = linalg::segmented_mm(
            &arr(&a, &[2, 5], da),
            &arr(&b, &[5, 3], db),
            &Array::from_slice(&segs, &[3, 2]).unwrap(),
        )
        .unwrap();
        assert_eq!(out.dtype(), dout);
        assert_close(&out, &want, 2e-2, 2e-2);
    }
    let i = Array::ones::<i32>(&[2, 2]).unwrap();
    assert_err(
        linalg::segmented_mm(&i, &i, &Array::from_slice(&[0u32, 2], &[1, 2]).unwrap()),
        "[segmented_mm] Only real floating point types are supported",
    );
}

// ---- norms ----------------------------------------------------------------------------------------

#[test]
fn vector_norms_match_hand_values() {
    let v = [3.0, -4.0, 0.0, 12.0];
    for dtype in FLOATS {
        let x = arr(&v, &[4], dtype);
        let n = |ord: Option<NormOrd>| linalg::norm(&x, ord, None, false).unwrap();
        assert_close(&n(None), &[13.0], 1e-6, 0.0);
        assert_close(&n(Some(2.0.into())), &[13.0], 1e-6, 0.0);
        assert_close(&n(Some(1.into())), &[19.0], 1e-6, 0.0);
        assert_close(&n(Some(0.into())), &[3.0], 0.0, 0.0);
        assert_close(&n(Some(f64::INFINITY.into())), &[12.0], 0.0, 0.0);
        assert_close(&n(Some(f64::NEG_INFINITY.into())), &[0.0], 0.0, 0.0);
        let p3 = (27.0f64 + 64.0 + 1728.0).powf(1.0 / 3.0);
        assert_close(&n(Some(3.into())), &[p3], 1e-5, 0.0);
        assert_eq!(n(None).dtype(), dtype);
    }
    // Integers give float32; float16 stays float16.
    let i = Array::from_slice(&[3i32, 4], &[2]).unwrap();
    let out = linalg::norm(&i, None, None, false).unwrap();
    assert_eq!(out.dtype(), Dtype::Float32);
    assert_close(&out, &[5.0], 0.0, 0.0);
    let h = arr(&[3.0, 4.0], &[2], Dtype::Float16);
    let out = linalg::norm(&h, None, None, false).unwrap();
    assert_eq!(out.dtype(), Dtype::Float16);
    assert_close(&out, &[5.0], 0.0, 0.0);
    // The default flattens any rank.
    let m = arr(
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
        &[2, 2, 2],
        Dtype::Float32,
    );
    assert_close(
        &linalg::norm(&m, None, None, false).unwrap(),
        &[204f64.sqrt()],
        1e-6,
        0.0,
    );
    assert_close(
        &linalg::norm(
            &ops::zeros(&[0], Dtype::Float32).unwrap(),
            None,
            None,
            false,
        )
        .unwrap(),
        &[0.0],
        0.0,
        0.0,
    );
}

#[test]
fn norms_over_axes_with_keepdims() {
    // x[i, j, k] = i*12 + j*4 + k + 1 over [2, 3, 4].
    let data: Vec<f64> = (1..=24).map(f64::from).collect();
    let x = arr(&data, &[2, 3, 4], Dtype::Float64);
    // Vector 1-norm along the middle axis (given as -2).
    let out = linalg::norm(&x, Some(1.into()), Some(&[-2]), false).unwrap();
    assert_eq!(out.shape(), &[2, 4]);
    let mut want = Vec::new();
    for i in 0..2 {
        for k in 0..4 {
            want.push((0..3).map(|j| data[i * 12 + j * 4 + k]).sum());
        }
    }
    assert_close(&out, &want, 1e-12, 0.0);
    let kept = linalg::norm(&x, Some(1.into()), Some(&[1]), true).unwrap();
    assert_eq!(kept.shape(), &[2, 1, 4]);
    assert_close(&kept, &want, 1e-12, 0.0);
    // Frobenius over axes [0, 2], keeping dims.
    let out = linalg::norm(&x, None, Some(&[0, 2]), true).unwrap();
    assert_eq!(out.shape(), &[1, 3, 1]);
    let want: Vec<f64> = (0..3)
        .map(|j| {
            let mut s = 0.0;
            for i in 0..2 {
                for k in 0..4 {
                    s += data[i * 12 + j * 4 + k].powi(2);
                }
            }
            s.sqrt()
        })
        .collect();
    assert_close(&out, &want, 1e-12, 0.0);
    let fro = linalg::norm(&x, Some(NormOrd::Fro), Some(&[0, -1]), false).unwrap();
    assert_eq!(fro.shape(), &[3]);
    assert_close(&fro, &want, 1e-12, 0.0);
    // Transposed input: norms of rows of xᵀ are norms of columns of x.
    let m = arr(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3], Dtype::Float32);
    let out = linalg::norm(&m.t().unwrap(), None, Some(&[1]), false).unwrap();
    assert_close(&out, &[17f64.sqrt(), 29f64.sqrt(), 45f64.sqrt()], 1e-6, 0.0);
}

#[test]
fn matrix_norms_match_hand_values() {
    // [[1, -2], [-3, 4]]: column abs sums 4, 6; row abs sums 3, 7.
    let m = [1.0, -2.0, -3.0, 4.0];
    // Singular values: sqrt of the eigenvalues of AᵀA = [[10, -14], [-14, 20]].
    let tr_ = 30.0f64;
    let det = 10.0 * 20.0 - 14.0 * 14.0;
    let s1 = ((tr_ + (tr_ * tr_ - 4.0 * det).sqrt()) / 2.0).sqrt();
    let s2 = ((tr_ - (tr_ * tr_ - 4.0 * det).sqrt()) / 2.0).sqrt();
    for dtype in FLOATS {
        let x = arr(&m, &[2, 2], dtype);
        let n = |ord: NormOrd| linalg::norm(&x, Some(ord), None, false).unwrap();
        assert_close(&n(1.into()), &[6.0], 0.0, 0.0);
        assert_close(&n((-1).into()), &[4.0], 0.0, 0.0);
        assert_close(&n(f64::INFINITY.into()), &[7.0], 0.0, 0.0);
        assert_close(&n(f64::NEG_INFINITY.into()), &[3.0], 0.0, 0.0);
        assert_close(&n(NormOrd::Fro), &[30f64.sqrt()], 1e-6, 0.0);
        assert_close(&n(2.into()), &[s1], 1e-5, 0.0);
        assert_close(&n((-2).into()), &[s2], 1e-5, 0.0);
        assert_close(&n(NormOrd::Nuc), &[s1 + s2], 1e-5, 0.0);
    }
    // Batched matrix norms over explicit axes, keepdims.
    let b = arr(
        &[1.0, -2.0, -3.0, 4.0, 2.0, 0.0, 0.0, 3.0],
        &[2, 2, 2],
        Dtype::Float32,
    );
    let out = linalg::norm(&b, Some(2.into()), Some(&[1, 2]), true).unwrap();
    assert_eq!(out.shape(), &[2, 1, 1]);
    assert_close(&out, &[s1, 3.0], 1e-5, 0.0);
    let out = linalg::norm(&b, Some(NormOrd::Nuc), Some(&[-1, -2]), false).unwrap();
    assert_close(&out, &[s1 + s2, 5.0], 1e-5, 0.0);
}

#[test]
fn norm_errors() {
    let m = Array::ones::<f32>(&[2, 2, 2]).unwrap();
    assert_err(
        linalg::norm(&m, Some(1.into()), None, false),
        "[linalg::norm] Received too many axes for norm",
    );
    assert_err(
        linalg::norm(&m, None, Some(&[0, 1, 2]), false),
        "[linalg::norm] Received too many axes for norm",
    );
    let sq = Array::ones::<f32>(&[2, 2]).unwrap();
    assert_err(
        linalg::norm(&sq, Some(3.into()), None, false),
        "[linalg::norm] Invalid ord 3 for matrix norm",
    );
    assert_err(
        linalg::norm(
            &Array::ones::<f32>(&[3]).unwrap(),
            Some(NormOrd::Fro),
            None,
            false,
        ),
        "[linalg::norm] Norm 'fro' only supported for matrices",
    );
    assert!(linalg::norm(&sq, None, Some(&[2]), false).is_err());
}

// ---- inverses ---------------------------------------------------------------------------------------

#[test]
fn inv_times_matrix_is_identity() {
    for dtype in FLOATS {
        let a = well_conditioned(4, 30);
        let inv = linalg::inv(&arr(&a, &[4, 4], dtype)).unwrap();
        assert_eq!(inv.dtype(), dtype);
        let iv = values(&inv);
        let t = tol(dtype) * 10.0;
        assert_vec_close(&mm(&a, &iv, 4, 4, 4), &eye_vals(4), t);
        assert_vec_close(&mm(&iv, &a, 4, 4, 4), &eye_vals(4), t);
    }
    // Batched, and through a transpose: inv(Aᵀ) = inv(A)ᵀ.
    let a0 = well_conditioned(3, 31);
    let a1 = well_conditioned(3, 32);
    let batch = arr(
        &[a0.clone(), a1.clone()].concat(),
        &[2, 3, 3],
        Dtype::Float64,
    );
    let inv = values(&linalg::inv(&batch.transpose(Some(&[0, 2, 1])).unwrap()).unwrap());
    for (n, a) in [a0, a1].iter().enumerate() {
        let inv_t = &inv[n * 9..n * 9 + 9];
        assert_vec_close(&mm(&tr(a, 3, 3), inv_t, 3, 3, 3), &eye_vals(3), 1e-10);
    }
}

#[test]
fn inv_errors() {
    assert_err(
        linalg::inv(&Array::ones::<f32>(&[2, 3]).unwrap()),
        "[linalg::inv] Inverses are only defined for square matrices",
    );
    assert_err(
        linalg::inv(&Array::ones::<f32>(&[3]).unwrap()),
        "[linalg::inv] Arrays must have >= 2 dimensions",
    );
    assert_err(
        linalg::inv(&Array::eye::<i32>(2).unwrap()),
        "[linalg::inv] Arrays must have type float32 or float64. Received array with type int32",
    );
    assert_err(
        linalg::inv(&Array::eye::<mlx::f16>(2).unwrap()),
        "Arrays must have type float32 or float64",
    );
    // A singular matrix fails when evaluated.
    let singular = linalg::inv(&Array::ones::<f32>(&[2, 2]).unwrap()).unwrap();
    assert_err(singular.to_vec::<f32>(), "LU factorization failed");
}

#[test]
fn tri_inv_of_lower_and_upper_matrices() {
    let full = well_conditioned(4, 33);
    let mut lower = full.clone();
    let mut upper = full.clone();
    for i in 0..4 {
        for j in 0..4 {
            if j > i {
                lower[i * 4 + j] = 0.0;
            }
            if j < i {
                upper[i * 4 + j] = 0.0;
            }
        }
    }
    for dtype in FLOATS {
        let t = tol(dtype) * 10.0;
        // The other triangle of the input is ignored.
        let li = values(&linalg::tri_inv(&arr(&full, &[4, 4], dtype), false).unwrap());
        assert_vec_close(&mm(&lower, &li, 4, 4, 4), &eye_vals(4), t);
        let ui = values(&linalg::tri_inv(&arr(&full, &[4, 4], dtype), true).unwrap());
        assert_vec_close(&mm(&upper, &ui, 4, 4, 4), &eye_vals(4), t);
        // The inverse keeps the triangle.
        for i in 0..4 {
            for j in 0..4 {
                if j > i {
                    assert_eq!(li[i * 4 + j], 0.0);
                }
                if j < i {
                    assert_eq!(ui[i * 4 + j], 0.0);
                }
            }
        }
    }
}

#[test]
fn cholesky_factors_reconstruct_the_matrix() {
    for dtype in FLOATS {
        let a = spd(4, 34);
        let t = tol(dtype) * 10.0;
        let l = values(&linalg::cholesky(&arr(&a, &[4, 4], dtype), false).unwrap());
        assert_vec_close(&mm(&l, &tr(&l, 4, 4), 4, 4, 4), &a, t);
        let u = values(&linalg::cholesky(&arr(&a, &[4, 4], dtype), true).unwrap());
        assert_vec_close(&mm(&tr(&u, 4, 4), &u, 4, 4, 4), &a, t);
        for i in 0..4 {
            assert!(l[i * 4 + i] > 0.0);
            for j in i + 1..4 {
                assert_eq!(l[i * 4 + j], 0.0, "L is lower triangular");
                assert_eq!(u[j * 4 + i], 0.0, "U is upper triangular");
            }
        }
        // cholesky_inv from the factor is the inverse of a.
        let ainv = values(&linalg::cholesky_inv(&arr(&l, &[4, 4], dtype), false).unwrap());
        assert_vec_close(&mm(&a, &ainv, 4, 4, 4), &eye_vals(4), t * 10.0);
        let ainv = values(&linalg::cholesky_inv(&arr(&u, &[4, 4], dtype), true).unwrap());
        assert_vec_close(&mm(&a, &ainv, 4, 4, 4), &eye_vals(4), t * 10.0);
    }
    // Batched.
    let (a0, a1) = (spd(3, 35), spd(3, 36));
    let l = values(
        &linalg::cholesky(
            &arr(
                &[a0.clone(), a1.clone()].concat(),
                &[2, 3, 3],
                Dtype::Float64,
            ),
            false,
        )
        .unwrap(),
    );
    assert_vec_close(&mm(&l[..9], &tr(&l[..9], 3, 3), 3, 3, 3), &a0, 1e-10);
    assert_vec_close(&mm(&l[9..], &tr(&l[9..], 3, 3), 3, 3, 3), &a1, 1e-10);
    assert_err(
        linalg::cholesky(&Array::ones::<f32>(&[2, 3]).unwrap(), false),
        "[linalg::cholesky] Cholesky decomposition is only defined for square matrices",
    );
    assert_err(
        linalg::cholesky_inv(&Array::ones::<f32>(&[2, 3]).unwrap(), false),
        "[linalg::cholesky_inv] Cholesky inverse is only defined for square matrices",
    );
}

#[test]
fn pinv_satisfies_the_moore_penrose_conditions() {
    assert_err(
        linalg::pinv(&Array::ones::<i32>(&[2, 3]).unwrap()),
        "[linalg::pinv] Arrays must have type float32 or float64",
    );
    for (m, n) in [(4usize, 3usize), (2, 5), (3, 3)] {
        for dtype in FLOATS {
            let a = values(&sample(&[m as i32, n as i32], 37 + m as u64, -1.0, 1.0));
            let p = values(&linalg::pinv(&arr(&a, &[m as i32, n as i32], dtype)).unwrap());
            let t = tol(dtype) * 100.0;
            let ap = mm(&a, &p, m, n, m); // m × m
            let pa = mm(&p, &a, n, m, n); // n × n
            assert_vec_close(&mm(&ap, &a, m, m, n), &a, t);
            assert_vec_close(&mm(&pa, &p, n, n, m), &p, t);
            assert_vec_close(&tr(&ap, m, m), &ap, t);
            assert_vec_close(&tr(&pa, n, n), &pa, t);
        }
    }
}

// ---- factorizations -------------------------------------------------------------------------------

#[test]
fn qr_gives_orthonormal_q_and_triangular_r() {
    for (m, n) in [(4usize, 3usize), (3, 4), (3, 3)] {
        let k = m.min(n);
        for dtype in FLOATS {
            let a = values(&sample(&[m as i32, n as i32], 40 + n as u64, -1.0, 1.0));
            let (q, r) = linalg::qr(&arr(&a, &[m as i32, n as i32], dtype)).unwrap();
            assert_eq!(q.shape(), &[m as i32, k as i32]);
            assert_eq!(r.shape(), &[k as i32, n as i32]);
            assert_eq!(q.dtype(), dtype);
            let (q, r) = (values(&q), values(&r));
            let t = tol(dtype) * 10.0;
            assert_vec_close(&mm(&q, &r, m, k, n), &a, t);
            assert_vec_close(&mm(&tr(&q, m, k), &q, k, m, k), &eye_vals(k), t);
            for i in 0..k {
                for j in 0..i.min(n) {
                    assert!(r[i * n + j].abs() <= t, "R[{i},{j}] = {}", r[i * n + j]);
                }
            }
        }
    }
    // Batched input read through a transpose.
    let a = values(&sample(&[2, 3, 3], 43, -1.0, 1.0));
    let view = arr(&a, &[2, 3, 3], Dtype::Float64)
        .transpose(Some(&[0, 2, 1]))
        .unwrap();
    let (q, r) = linalg::qr(&view).unwrap();
    let (q, r) = (values(&q), values(&r));
    for b in 0..2 {
        let want = tr(&a[b * 9..b * 9 + 9], 3, 3);
        assert_vec_close(
            &mm(&q[b * 9..b * 9 + 9], &r[b * 9..b * 9 + 9], 3, 3, 3),
            &want,
            1e-10,
        );
    }
    assert_err(
        linalg::qr(&Array::ones::<f32>(&[3]).unwrap()),
        "[linalg::qr] Arrays must have >= 2 dimensions",
    );
    assert_err(
        linalg::qr(&Array::ones::<i32>(&[2, 2]).unwrap()),
        "[linalg::qr] Arrays must have type float32 or float64",
    );
}

#[test]
fn svd_reconstructs_the_matrix() {
    for (m, n) in [(4usize, 3usize), (2, 5)] {
        let k = m.min(n);
        for dtype in FLOATS {
            let a = values(&sample(&[m as i32, n as i32], 44 + m as u64, -1.0, 1.0));
            let x = arr(&a, &[m as i32, n as i32], dtype);
            let (u, s, vt) = linalg::svd(&x).unwrap();
            assert_eq!(u.shape(), &[m as i32, m as i32]);
            assert_eq!(s.shape(), &[k as i32]);
            assert_eq!(vt.shape(), &[n as i32, n as i32]);
            let (u, s, vt) = (values(&u), values(&s), values(&vt));
            let t = tol(dtype) * 10.0;
            // U[:, :k] diag(S) Vt[:k, :]
            let mut us = vec![0.0; m * k];
            for i in 0..m {
                for j in 0..k {
                    us[i * k + j] = u[i * m + j] * s[j];
                }
            }
            assert_vec_close(&mm(&us, &vt[..k * n], m, k, n), &a, t);
            assert_vec_close(&mm(&tr(&u, m, m), &u, m, m, m), &eye_vals(m), t);
            assert_vec_close(&mm(&vt, &tr(&vt, n, n), n, n, n), &eye_vals(n), t);
            assert!(s.windows(2).all(|w| w[0] >= w[1]) && s.iter().all(|v| *v >= 0.0));
            assert_vec_close(&values(&linalg::svdvals(&x).unwrap()), &s, t);
        }
    }
    // Hand value: diag(3, -2) has singular values 3, 2.
    let d = arr(&[3.0, 0.0, 0.0, -2.0], &[2, 2], Dtype::Float32);
    assert_close(&linalg::svdvals(&d).unwrap(), &[3.0, 2.0], 1e-6, 1e-6);
    // complex64 input gives float32 singular values.
    let c = arr(&[3.0, 0.0, 0.0, -2.0], &[2, 2], Dtype::Complex64);
    let s = linalg::svdvals(&c).unwrap();
    assert_eq!(s.dtype(), Dtype::Float32);
    assert_close(&s, &[3.0, 2.0], 1e-6, 1e-6);
    assert_err(
        linalg::svd(&Array::ones::<f32>(&[3]).unwrap()),
        "[linalg::svd]",
    );
}

fn cmul(a: Complex32, b: Complex32) -> Complex32 {
    Complex32::new(a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re)
}

#[test]
fn eig_satisfies_a_v_equals_lambda_v() {
    // A rotation-like matrix has complex eigenvalues.
    let cases: [(&[f64], usize); 2] = [
        (&[0.0, -2.0, 1.0, 0.0], 2),
        (&[2.0, 1.0, 0.0, 1.0, 3.0, 1.0, 0.0, 1.0, 4.0], 3),
    ];
    for (a, n) in cases {
        for dtype in FLOATS {
            let x = arr(a, &[n as i32, n as i32], dtype);
            let (w, v) = linalg::eig(&x).unwrap();
            assert_eq!(w.dtype(), Dtype::Complex64);
            assert_eq!(w.shape(), &[n as i32]);
            assert_eq!(v.shape(), &[n as i32, n as i32]);
            let w = w.to_vec::<Complex32>().unwrap();
            let v = v.to_vec::<Complex32>().unwrap();
            for col in 0..n {
                for row in 0..n {
                    let mut av = Complex32::new(0.0, 0.0);
                    for l in 0..n {
                        av += cmul(Complex32::new(a[row * n + l] as f32, 0.0), v[l * n + col]);
                    }
                    let lv = cmul(w[col], v[row * n + col]);
                    assert!(
                        (av - lv).norm() < 1e-4,
                        "A v != λ v at ({row}, {col}): {av} vs {lv}"
                    );
                }
            }
            let wv = linalg::eigvals(&x).unwrap().to_vec::<Complex32>().unwrap();
            for (p, q) in wv.iter().zip(&w) {
                assert!((p - q).norm() < 1e-5);
            }
        }
    }
    // [[0, -2], [1, 0]] has eigenvalues ±i√2.
    let w = linalg::eigvals(&arr(&[0.0, -2.0, 1.0, 0.0], &[2, 2], Dtype::Float32)).unwrap();
    let mut ims: Vec<f32> = w
        .to_vec::<Complex32>()
        .unwrap()
        .iter()
        .map(|c| c.im)
        .collect();
    ims.sort_by(f32::total_cmp);
    assert!((ims[0] + 2f32.sqrt()).abs() < 1e-5 && (ims[1] - 2f32.sqrt()).abs() < 1e-5);
    assert_err(
        linalg::eig(&Array::ones::<f32>(&[2, 3]).unwrap()),
        "[linalg::eig] Only defined for square matrices",
    );
}

#[test]
fn eigh_gives_ascending_values_and_orthonormal_vectors() {
    for dtype in FLOATS {
        let a = spd(4, 50);
        let x = arr(&a, &[4, 4], dtype);
        let (w, v) = linalg::eigh(&x, false).unwrap();
        let (w, v) = (values(&w), values(&v));
        let t = tol(dtype) * 20.0;
        assert!(w.windows(2).all(|p| p[0] <= p[1]), "{w:?}");
        assert_vec_close(&mm(&tr(&v, 4, 4), &v, 4, 4, 4), &eye_vals(4), t);
        let av = mm(&a, &v, 4, 4, 4);
        let mut lv = v.clone();
        for i in 0..4 {
            for j in 0..4 {
                lv[i * 4 + j] *= w[j];
            }
        }
        assert_vec_close(&av, &lv, t);
        assert_vec_close(&values(&linalg::eigvalsh(&x, false).unwrap()), &w, t);
    }
    // Only one triangle is read: [[2, 1], [5, 2]] is [[2, 5], [5, 2]] from the lower triangle
    // (eigenvalues -3, 7) and [[2, 1], [1, 2]] from the upper one (1, 3).
    let x = arr(&[2.0, 1.0, 5.0, 2.0], &[2, 2], Dtype::Float32);
    assert_close(
        &linalg::eigvalsh(&x, false).unwrap(),
        &[-3.0, 7.0],
        1e-6,
        1e-6,
    );
    assert_close(
        &linalg::eigvalsh(&x, true).unwrap(),
        &[1.0, 3.0],
        1e-6,
        1e-6,
    );
    let (w, _) = linalg::eigh(&x, true).unwrap();
    assert_close(&w, &[1.0, 3.0], 1e-6, 1e-6);
    assert_err(
        linalg::eigvalsh(&Array::ones::<f32>(&[2, 3]).unwrap(), false),
        "[linalg::eigvalsh] Only defined for square matrices",
    );
    assert_err(
        linalg::eigh(&Array::ones::<i32>(&[2, 2]).unwrap(), false),
        "[linalg::eigh] Arrays must have type float32, float64 or complex64",
    );
}

#[test]
fn lu_reconstructs_with_the_permutation() {
    for dtype in FLOATS {
        let a = values(&sample(&[4, 4], 51, -1.0, 1.0));
        let (p, l, u) = linalg::lu(&arr(&a, &[4, 4], dtype)).unwrap();
        assert_eq!(p.dtype(), Dtype::Uint32);
        let p = p.to_vec::<u32>().unwrap();
        let (l, u) = (values(&l), values(&u));
        let mut sorted = p.clone();
        sorted.sort();
        assert_eq!(sorted, vec![0, 1, 2, 3], "P is a permutation");
        // A = L[P] @ U: row i of A is row P[i] of L times U.
        let mut lp = vec![0.0; 16];
        for i in 0..4 {
            lp[i * 4..i * 4 + 4].copy_from_slice(&l[p[i] as usize * 4..p[i] as usize * 4 + 4]);
        }
        assert_vec_close(&mm(&lp, &u, 4, 4, 4), &a, tol(dtype) * 10.0);
        for i in 0..4 {
            assert_eq!(l[i * 4 + i], 1.0, "L has a unit diagonal");
            for j in i + 1..4 {
                assert_eq!(l[i * 4 + j], 0.0);
                assert_eq!(u[j * 4 + i], 0.0);
            }
        }
    }
    // Hand values: [[1, 2], [3, 4]] pivots on the second row.
    let (p, l, u) = linalg::lu(&arr(&[1.0, 2.0, 3.0, 4.0], &[2, 2], Dtype::Float64)).unwrap();
    assert_eq!(p.to_vec::<u32>().unwrap(), vec![1, 0]);
    assert_close(&l, &[1.0, 0.0, 1.0 / 3.0, 1.0], 1e-12, 0.0);
    assert_close(&u, &[3.0, 4.0, 0.0, 2.0 / 3.0], 1e-12, 1e-12);
}

#[test]
fn lu_of_rectangular_matrices() {
    for (m, n) in [(3usize, 2usize), (2, 4)] {
        let k = m.min(n);
        let a = values(&sample(&[m as i32, n as i32], 63 + n as u64, -1.0, 1.0));
        let (p, l, u) = linalg::lu(&arr(&a, &[m as i32, n as i32], Dtype::Float64)).unwrap();
        assert_eq!(p.shape(), &[m as i32]);
        assert_eq!(l.shape(), &[m as i32, k as i32]);
        assert_eq!(u.shape(), &[k as i32, n as i32]);
        let p = p.to_vec::<u32>().unwrap();
        let (l, u) = (values(&l), values(&u));
        let mut lp = vec![0.0; m * k];
        for i in 0..m {
            let r = p[i] as usize;
            lp[i * k..i * k + k].copy_from_slice(&l[r * k..r * k + k]);
        }
        assert_vec_close(&mm(&lp, &u, m, k, n), &a, 1e-12);
        let (lu, piv) = linalg::lu_factor(&arr(&a, &[m as i32, n as i32], Dtype::Float64)).unwrap();
        assert_eq!(lu.shape(), &[m as i32, n as i32]);
        assert_eq!(piv.shape(), &[k as i32]);
    }
    assert_err(
        linalg::lu(&Array::ones::<f32>(&[3]).unwrap()),
        "[linalg::lu] Arrays must have >= 2 dimensions",
    );
}

#[test]
fn lu_factor_packs_l_and_u_with_sequential_pivots() {
    for dtype in FLOATS {
        let a = values(&sample(&[4, 4], 52, -1.0, 1.0));
        let (lu, piv) = linalg::lu_factor(&arr(&a, &[4, 4], dtype)).unwrap();
        let lu = values(&lu);
        let piv = piv.to_vec::<u32>().unwrap();
        let mut l = eye_vals(4);
        let mut u = vec![0.0; 16];
        for i in 0..4 {
            for j in 0..4 {
                if j < i {
                    l[i * 4 + j] = lu[i * 4 + j];
                } else {
                    u[i * 4 + j] = lu[i * 4 + j];
                }
            }
        }
        // Apply the row swaps to A in order; then P A = L U.
        let mut pa = a.clone();
        for (i, &r) in piv.iter().enumerate() {
            for c in 0..4 {
                pa.swap(i * 4 + c, r as usize * 4 + c);
            }
        }
        assert_vec_close(&mm(&l, &u, 4, 4, 4), &pa, tol(dtype) * 10.0);
    }
    let (lu, piv) =
        linalg::lu_factor(&arr(&[1.0, 2.0, 3.0, 4.0], &[2, 2], Dtype::Float32)).unwrap();
    assert_eq!(piv.to_vec::<u32>().unwrap(), vec![1, 1]);
    assert_close(&lu, &[3.0, 4.0, 1.0 / 3.0, 2.0 / 3.0], 1e-6, 1e-6);
}

#[test]
fn solve_leaves_small_residuals() {
    for dtype in FLOATS {
        let a = well_conditioned(4, 53);
        let b = values(&sample(&[4], 54, -1.0, 1.0));
        let x = values(&linalg::solve(&arr(&a, &[4, 4], dtype), &arr(&b, &[4], dtype)).unwrap());
        assert_vec_close(&mm(&a, &x, 4, 4, 1), &b, tol(dtype) * 10.0);
        // Several right-hand sides.
        let bm = values(&sample(&[4, 2], 55, -1.0, 1.0));
        let xm = linalg::solve(&arr(&a, &[4, 4], dtype), &arr(&bm, &[4, 2], dtype)).unwrap();
        assert_eq!(xm.shape(), &[4, 2]);
        assert_vec_close(&mm(&a, &values(&xm), 4, 4, 2), &bm, tol(dtype) * 10.0);
    }
    // Batched `a` (read through a transpose) against a broadcast batch of right-hand sides.
    let (a0, a1) = (well_conditioned(3, 56), well_conditioned(3, 57));
    let batch = arr(
        &[tr(&a0, 3, 3), tr(&a1, 3, 3)].concat(),
        &[2, 3, 3],
        Dtype::Float64,
    )
    .transpose(Some(&[0, 2, 1]))
    .unwrap();
    let b = values(&sample(&[1, 3, 1], 58, -1.0, 1.0));
    let x = linalg::solve(&batch, &arr(&b, &[1, 3, 1], Dtype::Float64)).unwrap();
    assert_eq!(x.shape(), &[2, 3, 1]);
    let x = values(&x);
    assert_vec_close(&mm(&a0, &x[..3], 3, 3, 1), &b, 1e-10);
    assert_vec_close(&mm(&a1, &x[3..], 3, 3, 1), &b, 1e-10);
    // Hand value.
    let x = linalg::solve(
        &arr(&[2.0, 1.0, 1.0, 3.0], &[2, 2], Dtype::Float32),
        &arr(&[3.0, 5.0], &[2], Dtype::Float32),
    )
    .unwrap();
    assert_close(&x, &[0.8, 1.4], 1e-6, 1e-6);
    // Errors: shape mismatch, integer dtype, singular at evaluation.
    assert_err(
        linalg::solve(
            &Array::eye::<f32>(3).unwrap(),
            &Array::ones::<f32>(&[2]).unwrap(),
        ),
        "[linalg::solve]",
    );
    assert_err(
        linalg::solve(
            &Array::eye::<i32>(2).unwrap(),
            &Array::ones::<i32>(&[2]).unwrap(),
        ),
        "float32 or float64",
    );
    let s = linalg::solve(
        &Array::ones::<f32>(&[2, 2]).unwrap(),
        &Array::ones::<f32>(&[2]).unwrap(),
    )
    .unwrap();
    assert!(
        s.to_vec::<f32>().is_err(),
        "a singular system fails at evaluation"
    );
}

#[test]
fn solve_triangular_lower_and_upper() {
    for dtype in FLOATS {
        let full = well_conditioned(4, 59);
        let b = values(&sample(&[4, 2], 60, -1.0, 1.0));
        for upper in [false, true] {
            let mut t = full.clone();
            for i in 0..4 {
                for j in 0..4 {
                    if (upper && j < i) || (!upper && j > i) {
                        t[i * 4 + j] = 0.0;
                    }
                }
            }
            // The full matrix is passed: only the selected triangle is read.
            let x = linalg::solve_triangular(
                &arr(&full, &[4, 4], dtype),
                &arr(&b, &[4, 2], dtype),
                upper,
            )
            .unwrap();
            assert_eq!(x.shape(), &[4, 2]);
            assert_vec_close(&mm(&t, &values(&x), 4, 4, 2), &b, tol(dtype) * 10.0);
        }
    }
    // Vector right-hand side: [[2, 0], [1, 4]] x = [2, 9] → x = [1, 2].
    let x = linalg::solve_triangular(
        &arr(&[2.0, 0.0, 1.0, 4.0], &[2, 2], Dtype::Float32),
        &arr(&[2.0, 9.0], &[2], Dtype::Float32),
        false,
    )
    .unwrap();
    assert_close(&x, &[1.0, 2.0], 1e-6, 1e-6);
    assert_err(
        linalg::solve_triangular(
            &Array::eye::<f32>(3).unwrap(),
            &Array::ones::<f32>(&[2]).unwrap(),
            false,
        ),
        "[linalg::solve_triangular]",
    );
}

#[test]
fn det_and_slogdet_match_hand_values() {
    for dtype in FLOATS {
        let x = arr(&[1.0, 2.0, 3.0, 4.0], &[2, 2], dtype);
        assert_close(&linalg::det(&x).unwrap(), &[-2.0], 1e-6, 1e-6);
        let (sign, logabs) = linalg::slogdet(&x).unwrap();
        assert_close(&sign, &[-1.0], 0.0, 0.0);
        assert_close(&logabs, &[2f64.ln()], 1e-6, 0.0);
        // 3×3 by cofactor expansion.
        let m = [2.0, -1.0, 0.0, 1.0, 3.0, 2.0, 0.0, 1.0, 4.0];
        let want = 2.0 * (3.0 * 4.0 - 2.0 * 1.0) + (1.0 * 4.0 - 2.0 * 0.0);
        assert_close(
            &linalg::det(&arr(&m, &[3, 3], dtype)).unwrap(),
            &[want],
            1e-6,
            1e-6,
        );
    }
    // Batched.
    let b = arr(
        &[1.0, 2.0, 3.0, 4.0, 2.0, 0.0, 0.0, 3.0],
        &[2, 2, 2],
        Dtype::Float64,
    );
    assert_close(&linalg::det(&b).unwrap(), &[-2.0, 6.0], 1e-12, 1e-12);
    assert_err(
        linalg::det(&Array::ones::<f32>(&[2, 3]).unwrap()),
        "[linalg::det] Only defined for square matrices",
    );
    // Singular: det 0, slogdet sign 0 and log -inf.
    let s = Array::ones::<f64>(&[2, 2]).unwrap();
    assert_close(&linalg::det(&s).unwrap(), &[0.0], 0.0, 1e-12);
    let (sign, logabs) = linalg::slogdet(&s).unwrap();
    assert_close(&sign, &[0.0], 0.0, 0.0);
    assert_close(&logabs, &[f64::NEG_INFINITY], 0.0, 0.0);
}

#[test]
fn cross_products_match_hand_values() {
    let a = Array::from_slice(&[1i32, 2, 3], &[3]).unwrap();
    let b = Array::from_slice(&[4i32, 5, 6], &[3]).unwrap();
    let c = linalg::cross(&a, &b, -1).unwrap();
    assert_eq!(c.dtype(), Dtype::Int32);
    assert_eq!(c.to_vec::<i32>().unwrap(), vec![-3, 6, -3]);
    // A 2-vector has a zero third component.
    let a2 = Array::from_slice(&[1i32, 2], &[2]).unwrap();
    assert_eq!(
        linalg::cross(&a2, &b, -1).unwrap().to_vec::<i32>().unwrap(),
        vec![12, -6, -3]
    );
    // Along axis 0 of [3, 2] matrices (columns are vectors), broadcasting a [3, 1] column.
    let m = arr(&[1.0, 0.0, 0.0, 1.0, 0.0, 0.0], &[3, 2], Dtype::Float32);
    let e3 = arr(&[0.0, 0.0, 1.0], &[3, 1], Dtype::Float32);
    let out = linalg::cross(&m, &e3, 0).unwrap();
    assert_eq!(out.shape(), &[3, 2]);
    // e1 × e3 = -e2, e2 × e3 = e1.
    assert_close(&out, &[0.0, 1.0, -1.0, 0.0, 0.0, 0.0], 0.0, 0.0);
    // Float vs a naive formula, with a transposed operand, for several dtypes.
    let x = values(&sample(&[4, 3], 61, -1.0, 1.0));
    let y = values(&sample(&[4, 3], 62, -1.0, 1.0));
    let mut want = Vec::new();
    for r in 0..4 {
        let (p, q) = (&x[r * 3..r * 3 + 3], &y[r * 3..r * 3 + 3]);
        want.extend([
            p[1] * q[2] - p[2] * q[1],
            p[2] * q[0] - p[0] * q[2],
            p[0] * q[1] - p[1] * q[0],
        ]);
    }
    for dtype in [Dtype::Float16, Dtype::Float32, Dtype::Float64] {
        let xt = arr(&tr(&x, 4, 3), &[3, 4], dtype).t().unwrap();
        let out = linalg::cross(&xt, &arr(&y, &[4, 3], dtype), 1).unwrap();
        assert_eq!(out.dtype(), dtype);
        assert_close(&out, &want, tol(dtype) * 4.0, tol(dtype) * 4.0);
    }
    let u = Array::from_slice(&[1u8, 0, 1], &[3]).unwrap();
    let v = Array::from_slice(&[0u8, 1, 0], &[3]).unwrap();
    // (1,0,1) × (0,1,0) = (-1, 0, 1), wrapping in uint8.
    assert_eq!(
        linalg::cross(&u, &v, 0).unwrap().to_vec::<u8>().unwrap(),
        vec![255, 0, 1]
    );
    let e = linalg::cross(
        &ops::zeros(&[0, 3], Dtype::Float32).unwrap(),
        &ops::zeros(&[0, 3], Dtype::Float32).unwrap(),
        -1,
    )
    .unwrap();
    assert_eq!(e.shape(), &[0, 3]);
    assert_err(
        linalg::cross(&a, &b, 1),
        "[linalg::cross] Axis 1 is out of bounds for array with 1 dimensions",
    );
    assert_err(
        linalg::cross(
            &Array::ones::<f32>(&[4]).unwrap(),
            &Array::ones::<f32>(&[4]).unwrap(),
            0,
        ),
        "[linalg::cross] The specified axis must have size 2 or 3",
    );
}

// ---- empty matrices ---------------------------------------------------------------------------------

#[test]
fn zero_by_zero_matrices_give_empty_results() {
    let e = ops::zeros(&[0, 0], Dtype::Float32).unwrap();
    let eb = ops::zeros(&[2, 0, 0], Dtype::Float64).unwrap();
    let inv = linalg::inv(&e).unwrap();
    assert_eq!(inv.shape(), &[0, 0]);
    assert_eq!(inv.to_vec::<f32>().unwrap(), Vec::<f32>::new());
    let inv = linalg::inv(&eb).unwrap();
    assert_eq!(inv.shape(), &[2, 0, 0]);
    assert_eq!(inv.dtype(), Dtype::Float64);
    inv.eval().unwrap();
    linalg::tri_inv(&e, true).unwrap().eval().unwrap();
    linalg::cholesky_inv(&e, false).unwrap().eval().unwrap();
    let (p, l, u) = linalg::lu(&e).unwrap();
    assert_eq!(
        (p.shape(), l.shape(), u.shape()),
        (&[0][..], &[0, 0][..], &[0, 0][..])
    );
    assert_eq!(p.dtype(), Dtype::Uint32);
    mlx::eval([&p, &l, &u]).unwrap();
    let (lu, piv) = linalg::lu_factor(&e).unwrap();
    mlx::eval([&lu, &piv]).unwrap();
    let x = linalg::solve(&e, &ops::zeros(&[0, 3], Dtype::Float32).unwrap()).unwrap();
    assert_eq!(x.shape(), &[0, 3]);
    x.eval().unwrap();
    linalg::solve_triangular(&e, &ops::zeros(&[0], Dtype::Float32).unwrap(), false)
        .unwrap()
        .eval()
        .unwrap();
    // Errors are still MLX's for bad empty input.
    assert_err(
        linalg::inv(&ops::zeros(&[0, 2], Dtype::Float32).unwrap()),
        "square matrices",
    );
    // Other factorizations of empty batches work as they are.
    let (q, r) = linalg::qr(&ops::zeros(&[0, 2, 2], Dtype::Float32).unwrap()).unwrap();
    assert_eq!((q.shape(), r.shape()), (&[0, 2, 2][..], &[0, 2, 2][..]));
    let (w, v) = linalg::eigh(&e, false).unwrap();
    mlx::eval([&w, &v]).unwrap();
    assert_close(&linalg::det(&e).unwrap(), &[1.0], 0.0, 0.0);
}

// ---- streams ----------------------------------------------------------------------------------------

#[test]
fn cpu_only_ops_run_on_an_explicit_cpu_stream_and_anywhere_else() {
    let a = arr(&[4.0, 1.0, 1.0, 3.0], &[2, 2], Dtype::Float32);
    let want = [3.0 / 11.0, -1.0 / 11.0, -1.0 / 11.0, 4.0 / 11.0];
    let stream = Stream::new(Device::cpu()).unwrap();
    let inv = mlx::with_stream(stream, || linalg::inv(&a)).unwrap();
    assert_close(&inv, &want, 1e-6, 1e-6);
    if Device::gpu().is_available() {
        // On a GPU stream the CPU-only ops move to the CPU by themselves.
        let inv = mlx::with_device(Device::gpu(), || linalg::inv(&a))
            .unwrap()
            .unwrap();
        assert_close(&inv, &want, 1e-6, 1e-6);
        let (q, r) = mlx::with_device(Device::gpu(), || linalg::qr(&a))
            .unwrap()
            .unwrap();
        assert_close(&ops::matmul(&q, &r).unwrap(), &values(&a), 1e-5, 1e-5);
    }
}

// ---- gradients ------------------------------------------------------------------------------------

fn weighted_sum(x: &Array, seed: u64) -> mlx::Result<Array> {
    let w = sample(x.shape(), seed, -1.0, 1.0).astype(x.dtype())?;
    ops::sum(&ops::multiply(x, &w)?, None, false)
}

#[test]
fn gradients_of_products() {
    let a = sample(&[2, 3], 70, -1.0, 1.0);
    let b = sample(&[3, 4], 71, -1.0, 1.0);
    let c = sample(&[2, 4], 72, -1.0, 1.0);
    let inputs = [c, a, b];
    for arg in 0..3 {
        check_grad(
            |x| weighted_sum(&linalg::addmm(&x[0], &x[1], &x[2], 1.5, -0.5)?, 1),
            &inputs,
            arg,
            1e-6,
            1e-6,
        );
    }
    let t1 = sample(&[2, 3, 4], 73, -1.0, 1.0);
    let t2 = sample(&[4, 3, 2], 74, -1.0, 1.0);
    for arg in 0..2 {
        check_grad(
            |x| weighted_sum(&linalg::tensordot_axes(&x[0], &x[1], &[1, 2], &[1, 0])?, 2),
            &[t1.clone(), t2.clone()],
            arg,
            1e-6,
            1e-6,
        );
        check_grad(
            |x| weighted_sum(&linalg::tensordot(&x[0], &x[1], 1)?, 3),
            &[
                sample(&[2, 3], 75, -1.0, 1.0),
                sample(&[3, 2], 76, -1.0, 1.0),
            ],
            arg,
            1e-6,
            1e-6,
        );
        check_grad(
            |x| weighted_sum(&linalg::inner(&x[0], &x[1])?, 4),
            &[
                sample(&[2, 3], 77, -1.0, 1.0),
                sample(&[4, 3], 78, -1.0, 1.0),
            ],
            arg,
            1e-6,
            1e-6,
        );
        check_grad(
            |x| weighted_sum(&linalg::outer(&x[0], &x[1])?, 5),
            &[sample(&[3], 79, -1.0, 1.0), sample(&[2, 2], 80, -1.0, 1.0)],
            arg,
            1e-6,
            1e-6,
        );
        check_grad(
            |x| weighted_sum(&linalg::kron(&x[0], &x[1])?, 6),
            &[
                sample(&[2, 2], 81, -1.0, 1.0),
                sample(&[3, 2], 82, -1.0, 1.0),
            ],
            arg,
            1e-6,
            1e-6,
        );
        check_grad(
            |x| weighted_sum(&linalg::einsum("bij,bkj->bik", &[&x[0], &x[1]])?, 7),
            &[
                sample(&[2, 2, 3], 83, -1.0, 1.0),
                sample(&[2, 4, 3], 84, -1.0, 1.0),
            ],
            arg,
            1e-6,
            1e-6,
        );
        check_grad(
            |x| weighted_sum(&linalg::vecdot(&x[0], &x[1], 0)?, 8),
            &[
                sample(&[3, 2], 85, -1.0, 1.0),
                sample(&[3, 2], 86, -1.0, 1.0),
            ],
            arg,
            1e-6,
            1e-6,
        );
        check_grad(
            |x| weighted_sum(&linalg::cross(&x[0], &x[1], -1)?, 9),
            &[
                sample(&[2, 3], 87, -1.0, 1.0),
                sample(&[2, 3], 88, -1.0, 1.0),
            ],
            arg,
            1e-6,
            1e-6,
        );
    }
    // A three-operand einsum with a trace-like repeated index.
    check_grad(
        |x| linalg::einsum("ii,ij,j->", &[&x[0], &x[1], &x[2]]),
        &[
            sample(&[3, 3], 89, -1.0, 1.0),
            sample(&[3, 2], 90, -1.0, 1.0),
            sample(&[2], 91, -1.0, 1.0),
        ],
        1,
        1e-6,
        1e-6,
    );
    // hadamard_transform has no float64: float32 with a larger step.
    check_grad(
        |x| weighted_sum(&linalg::hadamard_transform(&x[0], None)?, 10),
        &[sample(&[2, 4], 92, -1.0, 1.0)
            .astype(Dtype::Float32)
            .unwrap()],
        0,
        1e-3,
        1e-2,
    );
}

#[test]
fn gradients_of_norms_and_determinants() {
    let x = sample(&[3, 4], 93, 0.5, 2.0);
    check_grad(
        |x| linalg::norm(&x[0], None, None, false),
        std::slice::from_ref(&x),
        0,
        1e-6,
        1e-6,
    );
    for ord in [1.0, 3.0, f64::INFINITY] {
        check_grad(
            |x| {
                weighted_sum(
                    &linalg::norm(&x[0], Some(ord.into()), Some(&[-1]), false)?,
                    11,
                )
            },
            std::slice::from_ref(&x),
            0,
            1e-6,
            1e-5,
        );
    }
    check_grad(
        |x| {
            weighted_sum(
                &linalg::norm(&x[0], Some(NormOrd::Fro), Some(&[0, 1]), true)?,
                12,
            )
        },
        std::slice::from_ref(&x),
        0,
        1e-6,
        1e-6,
    );
    let m = Array::from_slice(&well_conditioned(3, 94), &[3, 3]).unwrap();
    check_grad(
        |x| linalg::det(&x[0]),
        std::slice::from_ref(&m),
        0,
        1e-6,
        1e-6,
    );
    check_grad(|x| Ok(linalg::slogdet(&x[0])?.1), &[m], 0, 1e-6, 1e-6);
}

#[test]
fn factorizations_have_no_gradient_in_mlx() {
    let a = Array::from_slice(&spd(3, 95), &[3, 3]).unwrap();
    let b = sample(&[3], 96, -1.0, 1.0);
    type F = fn(&Array, &Array) -> mlx::Result<Array>;
    let cases: [(&str, F, &str); 8] = [
        ("inv", |a, _| linalg::inv(a), "Not implemented for Inverse"),
        (
            "cholesky",
            |a, _| linalg::cholesky(a, false),
            "Not implemented for Cholesky",
        ),
        ("solve", |a, b| linalg::solve(a, b), "VJP"),
        (
            "solve_triangular",
            |a, b| linalg::solve_triangular(a, b, false),
            "Not implemented for Inverse",
        ),
        ("qr", |a, _| Ok(linalg::qr(a)?.1), "Not implemented for QRF"),
        ("svd", |a, _| linalg::svdvals(a), "Not implemented for SVD"),
        (
            "eigh",
            |a, _| Ok(linalg::eigh(a, false)?.0),
            "Not implemented for Eigh",
        ),
        ("lu", |a, _| Ok(linalg::lu(a)?.2), "Not implemented for LUF"),
    ];
    for (name, f, needle) in cases {
        let g = transforms::grad(|x: &[Array]| ops::sum(&f(&x[0], &b)?, None, false), &[0])(
            std::slice::from_ref(&a),
        );
        let m = match g {
            Err(e) => e.message().to_string(),
            Ok(_) => panic!("{name}: MLX gained a gradient; test it with check_grad"),
        };
        assert!(m.contains(needle), "{name}: {m}");
    }
}
