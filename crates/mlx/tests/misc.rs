//! The remaining ops: copy, stop_gradient, depends, view, as_strided, `*_like`, triangular
//! matrices, windows, the Hadamard transform, number_of_elements.

mod common;

use std::f64::consts::PI;

use common::{assert_close, check_grad, sample, values};
use mlx::{Array, Dtype, Error, Status, f16, ops, transforms};

fn mlx_message<T: std::fmt::Debug>(r: mlx::Result<T>) -> String {
    match r {
        Err(Error::Mlx(m)) => m,
        other => panic!("expected an error from MLX, got {other:?}"),
    }
}

// ---- copy, stop_gradient, depends ----------------------------------------------------------------

#[test]
fn copy_is_a_new_node_with_the_same_values() {
    let a = Array::from_slice(&[1i32, -2, 3, 4, 5, 6], &[2, 3]).unwrap();
    let c = ops::copy(&a).unwrap();
    assert!(!c.same_node(&a));
    assert_eq!(c.shape(), &[2, 3]);
    assert_eq!(c.to_vec::<i32>().unwrap(), vec![1, -2, 3, 4, 5, 6]);
    // Transposed input: the copy holds the logical order.
    let t = ops::copy(&a.t().unwrap()).unwrap();
    assert_eq!(t.shape(), &[3, 2]);
    assert_eq!(t.to_vec::<i32>().unwrap(), vec![1, 4, -2, 5, 3, 6]);
    for dtype in [
        Dtype::Bool,
        Dtype::Uint8,
        Dtype::Int64,
        Dtype::Float16,
        Dtype::Bfloat16,
        Dtype::Float64,
    ] {
        let x = a.astype(dtype).unwrap();
        let c = ops::copy(&x).unwrap();
        assert_eq!(c.dtype(), dtype);
        assert_eq!(values(&c), values(&x));
    }
    let empty = Array::zeros::<f32>(&[0, 3]).unwrap();
    assert_eq!(ops::copy(&empty).unwrap().shape(), &[0, 3]);
}

#[test]
fn stop_gradient_blocks_gradients() {
    let x = sample(&[4], 1, -2.0, 2.0);
    let sg = ops::stop_gradient(&x).unwrap();
    assert_eq!(values(&sg), values(&x));
    // d/dx sum(stop_gradient(x)) = 0.
    let g = transforms::grad(
        |a: &[Array]| ops::sum(&ops::stop_gradient(&a[0])?, &[], false),
        &[0],
    )(std::slice::from_ref(&x))
    .unwrap();
    assert_eq!(values(&g[0]), vec![0.0; 4]);
    // d/dx sum(stop_gradient(x) * x) = stop_gradient(x) = x (not 2x).
    let g = transforms::grad(
        |a: &[Array]| {
            ops::sum(
                &ops::multiply(&ops::stop_gradient(&a[0])?, &a[0])?,
                &[],
                false,
            )
        },
        &[0],
    )(std::slice::from_ref(&x))
    .unwrap();
    assert_close(&g[0], &values(&x), 0.0, 0.0);
    // The same through check_grad for a function whose stopped part is a constant offset:
    // f(x) = sum(x * c) + sum(stop_gradient(x)²), analytic gradient c.
    let c = sample(&[4], 2, -1.0, 1.0);
    let f = |a: &[Array]| {
        let s = ops::stop_gradient(&a[0])?;
        let stopped = ops::sum(&ops::multiply(&s, &s)?, &[], false)?;
        ops::add(&ops::sum(&ops::multiply(&a[0], &c)?, &[], false)?, &stopped)
    };
    let g = transforms::grad(f, &[0])(std::slice::from_ref(&x)).unwrap();
    assert_close(&g[0], &values(&c), 1e-12, 1e-12);
}

#[test]
fn depends_orders_evaluation() {
    let x = Array::from_slice(&[1.0f32, 2.0], &[2]).unwrap();
    let a = Array::from_slice(&[3.0f32], &[1]).unwrap();
    let dep = ops::add(&a, &a).unwrap();
    assert_eq!(dep.status(), Status::Unscheduled);
    let out = ops::depends(std::slice::from_ref(&x), std::slice::from_ref(&dep)).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].to_vec::<f32>().unwrap(), vec![1.0, 2.0]);
    // Evaluating the output evaluated the dependency.
    assert_eq!(dep.status(), Status::Available);
    assert_eq!(dep.to_vec::<f32>().unwrap(), vec![6.0]);
    // Several inputs.
    let y = Array::from_slice(&[5i32], &[1]).unwrap();
    let out = ops::depends(&[x.clone(), y], &[dep]).unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(out[1].to_vec::<i32>().unwrap(), vec![5]);
}

#[test]
fn copy_and_as_strided_gradients() {
    let x = sample(&[6], 8, -1.0, 1.0);
    let c = sample(&[6], 9, -1.0, 1.0);
    let f = |a: &[Array]| ops::sum(&ops::multiply(&ops::copy(&a[0])?, &c)?, &[], false);
    check_grad(f, std::slice::from_ref(&x), 0, 1e-6, 1e-6);
    // Overlapping windows: elements in two windows get two contributions.
    let w = sample(&[2, 4], 10, -1.0, 1.0);
    let g = |a: &[Array]| {
        let win = ops::as_strided(&a[0], &[2, 4], &[2, 1], 0)?;
        ops::sum(&ops::multiply(&ops::multiply(&win, &win)?, &w)?, &[], false)
    };
    check_grad(g, std::slice::from_ref(&x), 0, 1e-6, 1e-6);
}

// ---- view, as_strided ----------------------------------------------------------------------------

#[test]
fn view_reinterprets_bytes() {
    let one = Array::from_slice(&[1.0f32], &[1]).unwrap();
    let bytes = ops::view(&one, Dtype::Uint8).unwrap();
    assert_eq!(bytes.shape(), &[4]);
    assert_eq!(bytes.to_vec::<u8>().unwrap(), 1.0f32.to_le_bytes().to_vec());
    let ints = Array::from_slice(&[1i32, -2, 3], &[3]).unwrap();
    let halves = ints.view(Dtype::Int16).unwrap();
    assert_eq!(halves.shape(), &[6]);
    assert_eq!(halves.to_vec::<i16>().unwrap(), vec![1, 0, -2, -1, 3, 0]);
    // Back to a larger type: the last axis shrinks.
    let back = halves.reshape(&[3, 2]).unwrap().view(Dtype::Int32).unwrap();
    assert_eq!(back.shape(), &[3, 1]);
    assert_eq!(back.to_vec::<i32>().unwrap(), vec![1, -2, 3]);
    // Same size: f16 bits as u16.
    let h = Array::from_slice(&[f16::from_f32(1.5), f16::from_f32(-2.0)], &[2]).unwrap();
    let bits = h.view(Dtype::Uint16).unwrap();
    assert_eq!(bits.to_vec::<u16>().unwrap(), vec![0x3e00, 0xc000]);
    // Transposed input views the logical order.
    let m = Array::from_slice(&[1u16, 2, 3, 4], &[2, 2])
        .unwrap()
        .t()
        .unwrap();
    let v = m.view(Dtype::Int16).unwrap();
    assert_eq!(v.to_vec::<i16>().unwrap(), vec![1, 3, 2, 4]);
    // Errors.
    let odd = Array::from_slice(&[1i8, 2, 3], &[3]).unwrap();
    let msg = mlx_message(odd.view(Dtype::Int16));
    assert!(
        msg.contains("[view]") && msg.contains("multiple of the requested type size"),
        "{msg}"
    );
    let msg = mlx_message(Array::scalar(1i8).view(Dtype::Int16));
    assert!(msg.contains("Changing the type of a scalar"), "{msg}");
}

#[test]
fn as_strided_windows() {
    let a = Array::arange::<i32>(10).unwrap();
    // Overlapping windows of 3 with step 2.
    let w = ops::as_strided(&a, &[4, 3], &[2, 1], 0).unwrap();
    let want: Vec<i32> = (0..4)
        .flat_map(|i| (0..3).map(move |j| 2 * i + j))
        .collect();
    assert_eq!(w.to_vec::<i32>().unwrap(), want);
    // An offset and a zero stride (broadcast).
    let b = ops::as_strided(&a, &[2, 3], &[3, 0], 1).unwrap();
    assert_eq!(b.to_vec::<i32>().unwrap(), vec![1, 1, 1, 4, 4, 4]);
    // Strides address the logical (row-major) order of a transposed input.
    let m = Array::arange::<i32>(6)
        .unwrap()
        .reshape(&[2, 3])
        .unwrap()
        .t()
        .unwrap();
    let flat = ops::as_strided(&m, &[6], &[1], 0).unwrap();
    assert_eq!(flat.to_vec::<i32>().unwrap(), vec![0, 3, 1, 4, 2, 5]);
    // Every other element of float data.
    let f = sample(&[8], 3, -1.0, 1.0).astype(Dtype::Float32).unwrap();
    let fv = values(&f);
    let evens = ops::as_strided(&f, &[4], &[2], 0).unwrap();
    assert_close(&evens, &[fv[0], fv[2], fv[4], fv[6]], 0.0, 0.0);
    // Empty result.
    let e = ops::as_strided(&a, &[0, 3], &[1, 1], 0).unwrap();
    assert_eq!(e.shape(), &[0, 3]);
    // Out of bounds, mismatched lengths, negative reach below zero: rejected before MLX.
    for (shape, strides, offset) in [
        (vec![4, 3], vec![3i64, 1], 0usize),
        (vec![2], vec![1], 9),
        (vec![3], vec![-1], 1),
        (vec![2, 2], vec![1], 0),
        (vec![-1], vec![1], 0),
    ] {
        let e = ops::as_strided(&a, &shape, &strides, offset).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
        assert!(e.message().contains("[as_strided]"), "{e}");
    }
}

// ---- creation like another array -----------------------------------------------------------------

#[test]
fn like_constructors() {
    for dtype in [
        Dtype::Bool,
        Dtype::Uint8,
        Dtype::Int32,
        Dtype::Float16,
        Dtype::Float32,
        Dtype::Float64,
    ] {
        let a = Array::ones::<f32>(&[2, 3]).unwrap().astype(dtype).unwrap();
        let z = ops::zeros_like(&a).unwrap();
        assert_eq!((z.shape(), z.dtype()), (&[2, 3][..], dtype));
        assert_eq!(values(&z), vec![0.0; 6]);
        let o = ops::ones_like(&a).unwrap();
        assert_eq!((o.shape(), o.dtype()), (&[2, 3][..], dtype));
        assert_eq!(values(&o), vec![1.0; 6]);
    }
    // full_like broadcasts the value and keeps the dtype of `a` unless told otherwise.
    let a = Array::zeros::<i32>(&[2, 3]).unwrap();
    let row = Array::from_slice(&[1.5f32, 2.5, -3.0], &[3]).unwrap();
    let f = ops::full_like(&a, &row, None).unwrap();
    assert_eq!(f.dtype(), Dtype::Int32);
    assert_eq!(f.to_vec::<i32>().unwrap(), vec![1, 2, -3, 1, 2, -3]);
    let f = ops::full_like(&a, &row, Some(Dtype::Float32)).unwrap();
    assert_eq!(
        f.to_vec::<f32>().unwrap(),
        vec![1.5, 2.5, -3.0, 1.5, 2.5, -3.0]
    );
    let f = ops::full_like(&a.t().unwrap(), &Array::scalar(7u8), None).unwrap();
    assert_eq!(f.shape(), &[3, 2]);
    assert_eq!(f.to_vec::<i32>().unwrap(), vec![7; 6]);
    let empty = Array::zeros::<f32>(&[0]).unwrap();
    assert_eq!(ops::ones_like(&empty).unwrap().shape(), &[0]);
    let bad = Array::from_slice(&[1.0f32, 2.0], &[2]).unwrap();
    let m = mlx_message(ops::full_like(&a, &bad, None));
    assert!(m.contains("cannot be broadcast"), "{m}");
}

// ---- triangular matrices -------------------------------------------------------------------------

#[test]
fn identity_tri_tril_triu() {
    let i = ops::identity(3, Dtype::Bool).unwrap();
    assert_eq!(
        i.to_vec::<bool>().unwrap(),
        vec![true, false, false, false, true, false, false, false, true]
    );
    for k in [-2, -1, 0, 1, 3] {
        let t = ops::tri(3, 4, k, Dtype::Float32).unwrap();
        let want: Vec<f64> = (0..3)
            .flat_map(|r| (0..4).map(move |c| if c <= r + k { 1.0 } else { 0.0 }))
            .collect();
        assert_close(&t, &want, 0.0, 0.0);
    }
    let m = sample(&[2, 3, 3], 4, -1.0, 1.0);
    let mv = values(&m);
    for k in [-1, 0, 2] {
        let lo = ops::tril(&m, k).unwrap();
        let hi = ops::triu(&m, k).unwrap();
        let mut want_lo = Vec::new();
        let mut want_hi = Vec::new();
        for (idx, v) in mv.iter().enumerate() {
            let (r, c) = (((idx / 3) % 3) as i32, (idx % 3) as i32);
            want_lo.push(if c <= r + k { *v } else { 0.0 });
            want_hi.push(if c >= r + k { *v } else { 0.0 });
        }
        assert_close(&lo, &want_lo, 0.0, 0.0);
        assert_close(&hi, &want_hi, 0.0, 0.0);
    }
    // Integer and transposed inputs.
    let n = Array::arange::<i32>(6)
        .unwrap()
        .reshape(&[2, 3])
        .unwrap()
        .t()
        .unwrap();
    assert_eq!(
        ops::tril(&n, 0).unwrap().to_vec::<i32>().unwrap(),
        vec![0, 0, 1, 4, 2, 5]
    );
    assert_eq!(
        ops::triu(&n, 0).unwrap().to_vec::<i32>().unwrap(),
        vec![0, 3, 0, 4, 0, 0]
    );
    let m = mlx_message(ops::tril(&Array::ones::<f32>(&[3]).unwrap(), 0));
    assert!(m.contains("[tril] array must be at least 2-D"), "{m}");
    let m = mlx_message(ops::triu(&Array::ones::<f32>(&[3]).unwrap(), 0));
    assert!(m.contains("[triu]"), "{m}");
}

#[test]
fn tril_gradient() {
    let x = sample(&[3, 3], 5, -1.0, 1.0);
    let c = sample(&[3, 3], 6, -1.0, 1.0);
    let f = |a: &[Array]| ops::sum(&ops::multiply(&ops::tril(&a[0], 0)?, &c)?, &[], false);
    check_grad(f, std::slice::from_ref(&x), 0, 1e-6, 1e-6);
}

// ---- windows ---------------------------------------------------------------------------------

#[test]
fn windows_match_their_formulas() {
    type Formula = fn(f64, f64) -> f64;
    type Window = fn(i32) -> mlx::Result<Array>;
    let cases: [(&str, Window, Formula); 4] = [
        ("hanning", ops::hanning, |n, d| {
            0.5 - 0.5 * (2.0 * PI * n / d).cos()
        }),
        ("hamming", ops::hamming, |n, d| {
            0.54 - 0.46 * (2.0 * PI * n / d).cos()
        }),
        ("bartlett", ops::bartlett, |n, d| {
            1.0 - (2.0 * n / d - 1.0).abs()
        }),
        ("blackman", ops::blackman, |n, d| {
            0.42 - 0.5 * (2.0 * PI * n / d).cos() + 0.08 * (4.0 * PI * n / d).cos()
        }),
    ];
    for (name, f, formula) in cases {
        for m in [2, 5, 8] {
            let w = f(m).unwrap();
            assert_eq!(w.dtype(), Dtype::Float32, "{name}");
            assert_eq!(w.shape(), &[m], "{name}");
            let want: Vec<f64> = (0..m)
                .map(|n| formula(f64::from(n), f64::from(m - 1)))
                .collect();
            assert_close(&w, &want, 1e-6, 1e-6);
        }
        assert_eq!(values(&f(1).unwrap()), vec![1.0], "{name}");
        assert_eq!(f(0).unwrap().shape(), &[0], "{name}");
        assert_eq!(f(-3).unwrap().shape(), &[0], "{name}");
    }
}

// ---- Hadamard ----------------------------------------------------------------------------------

/// Entry (i, j) of Sylvester's Hadamard matrix (of any power-of-two order above i and j).
fn sylvester(i: usize, j: usize) -> f64 {
    if (i & j).count_ones().is_multiple_of(2) {
        1.0
    } else {
        -1.0
    }
}

#[test]
fn hadamard_transform_powers_of_two() {
    let x = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0], &[4]).unwrap();
    assert_close(
        &ops::hadamard_transform(&x, None).unwrap(),
        &[5.0, -1.0, -2.0, 0.0],
        1e-6,
        1e-6,
    );
    for n in [1usize, 2, 8, 16] {
        let x = sample(&[3, n as i32], 7 + n as u64, -1.0, 1.0)
            .astype(Dtype::Float32)
            .unwrap();
        let xv = values(&x);
        for scale in [None, Some(2.0f32)] {
            let got = ops::hadamard_transform(&x, scale).unwrap();
            let s = scale.map_or(1.0 / (n as f64).sqrt(), f64::from);
            let want: Vec<f64> = (0..3)
                .flat_map(|r| {
                    let xv = &xv;
                    (0..n).map(move |i| {
                        s * (0..n).map(|j| sylvester(i, j) * xv[r * n + j]).sum::<f64>()
                    })
                })
                .collect();
            assert_close(&got, &want, 1e-5, 1e-5);
        }
    }
    // float16 input, transposed input.
    let h = x.astype(Dtype::Float16).unwrap();
    let got = ops::hadamard_transform(&h, None).unwrap();
    assert_eq!(got.dtype(), Dtype::Float16);
    assert_close(&got, &[5.0, -1.0, -2.0, 0.0], 1e-3, 1e-3);
    let t = Array::from_slice(&[1.0f32, 3.0, 2.0, 4.0], &[2, 2])
        .unwrap()
        .t()
        .unwrap();
    let got = ops::hadamard_transform(&t, Some(1.0)).unwrap();
    // rows [1, 2] and [3, 4]
    assert_close(&got, &[3.0, -1.0, 7.0, -1.0], 1e-6, 1e-6);
}

#[test]
fn hadamard_transform_other_sizes_preserve_norm() {
    for n in [12, 20, 28, 24] {
        let x = sample(&[n], 30 + n as u64, -1.0, 1.0)
            .astype(Dtype::Float32)
            .unwrap();
        let y = ops::hadamard_transform(&x, None).unwrap();
        let nx: f64 = values(&x).iter().map(|v| v * v).sum();
        let ny: f64 = values(&y).iter().map(|v| v * v).sum();
        assert!((nx - ny).abs() < 1e-4 * nx, "n {n}: {nx} vs {ny}");
        // Entries of the unscaled transform of a basis vector are ±1.
        let mut e = vec![0.0f32; n as usize];
        e[3] = 1.0;
        let col =
            ops::hadamard_transform(&Array::from_slice(&e, &[n]).unwrap(), Some(1.0)).unwrap();
        assert!(
            values(&col).iter().all(|v| (v.abs() - 1.0).abs() < 1e-6),
            "n {n}"
        );
    }
    // The size is checked when the transform is evaluated.
    let m = mlx_message(
        ops::hadamard_transform(&Array::ones::<f32>(&[3]).unwrap(), None).and_then(|a| a.eval()),
    );
    assert!(m.contains("[hadamard] Only supports n = m*2^k"), "{m}");
    let m = mlx_message(
        ops::hadamard_transform(&Array::ones::<f64>(&[4]).unwrap(), None).and_then(|a| a.eval()),
    );
    assert!(m.contains("[hadamard] Unsupported type"), "{m}");
}

#[test]
fn hadamard_transform_gradient() {
    let x = sample(&[2, 4], 40, -1.0, 1.0)
        .astype(Dtype::Float32)
        .unwrap();
    let c = sample(&[2, 4], 41, -1.0, 1.0)
        .astype(Dtype::Float32)
        .unwrap();
    let f = |a: &[Array]| {
        ops::sum(
            &ops::multiply(&ops::hadamard_transform(&a[0], None)?, &c)?,
            &[],
            false,
        )
    };
    check_grad(f, &[x], 0, 1e-3, 1e-2);
}

// ---- number_of_elements --------------------------------------------------------------------------

#[test]
fn number_of_elements_counts_axes() {
    let a = Array::zeros::<f32>(&[2, 3, 4]).unwrap();
    let n = ops::number_of_elements(&a, &[0, -1], false, Dtype::Int32).unwrap();
    assert_eq!(n.shape(), &[] as &[i32]);
    assert_eq!(n.item::<i32>().unwrap(), 8);
    let inv = ops::number_of_elements(&a, &[1], true, Dtype::Float32).unwrap();
    assert_close(&inv, &[1.0 / 3.0], 1e-7, 0.0);
    let all = ops::number_of_elements(&a, &[0, 1, 2], false, Dtype::Int64).unwrap();
    assert_eq!(all.item::<i64>().unwrap(), 24);
    let t = ops::number_of_elements(&a.t().unwrap(), &[0], false, Dtype::Uint32).unwrap();
    assert_eq!(t.item::<u32>().unwrap(), 4);
    for axis in [3, -4] {
        let e = ops::number_of_elements(&a, &[axis], false, Dtype::Int32).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
        assert!(e.message().contains("out of bounds"), "{e}");
    }
}
