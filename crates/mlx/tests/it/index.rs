//! Indexing ops and NumPy-style indexing: values against hand computations and NumPy results,
//! out-of-range behaviour, dtypes, non-contiguous inputs, errors and gradients.

// Reversed and negative-bound ranges are valid slices here (Python's `8:2:-2`, `2:-1`), even
// though clippy flags such range literals as empty iterators.
#![allow(clippy::reversed_empty_ranges)]

use crate::common;
use common::mlx_message;

use common::{assert_close, check_grad, sample, values};
use mlx::ops::{self, Ellipsis, Idx, NewAxis};
use mlx::{Array, Dtype, Error, idx};

fn ints(a: &Array) -> Vec<i64> {
    values(a).into_iter().map(|v| v as i64).collect()
}

fn iota(shape: &[i32]) -> Array {
    let n: i32 = shape.iter().product();
    ops::arange(0.0, f64::from(n), 1.0, Dtype::Int32)
        .unwrap()
        .reshape(shape)
        .unwrap()
}

fn rust_message(e: Error) -> String {
    match e {
        Error::InvalidArgument(m) => m,
        other => panic!("expected an argument error, got {other:?}"),
    }
}

// ---- take -----------------------------------------------------------------------------------

#[test]
fn take_along_an_axis_and_flat() {
    let a = iota(&[3, 4]);
    let cols = ops::take(&a, &mlx::array![3, 0, -1], Some(1)).unwrap();
    assert_eq!(cols.shape(), &[3, 3]);
    assert_eq!(ints(&cols), vec![3, 0, 3, 7, 4, 7, 11, 8, 11]);
    // Negative axis, 2-D indices: the axis is replaced by the indices' shape.
    let rows = ops::take(&a, &mlx::array![[2, 0], [1, 1]], Some(-2)).unwrap();
    assert_eq!(rows.shape(), &[2, 2, 4]);
    assert_eq!(
        ints(&rows),
        vec![8, 9, 10, 11, 0, 1, 2, 3, 4, 5, 6, 7, 4, 5, 6, 7]
    );
    let flat = ops::take(&a, &mlx::array![[11, 0], [-12, 5]], None).unwrap();
    assert_eq!(flat.shape(), &[2, 2]);
    assert_eq!(ints(&flat), vec![11, 0, 0, 5]);
    // Scalar index: the axis disappears.
    let one = ops::take(&a, &Array::scalar(2i32), Some(0)).unwrap();
    assert_eq!(one.shape(), &[4]);
    assert_eq!(ints(&one), vec![8, 9, 10, 11]);
}

#[test]
fn take_clamps_out_of_range_indices() {
    // MLX itself would read outside the array; here indices are clamped to [-n, n - 1].
    let a = mlx::array![10, 20, 30, 40, 50];
    let t = ops::take(&a, &mlx::array![7, -8, 100000, -100000, 4, -5], Some(0)).unwrap();
    assert_eq!(ints(&t), vec![50, 10, 50, 10, 50, 10]);
    let t = ops::take(&a, &mlx::array![5], None).unwrap();
    assert_eq!(ints(&t), vec![50]);
    // Every integer dtype, including those narrower than the axis and unsigned ones.
    let big = iota(&[300]);
    let cases: Vec<(Array, Vec<i64>)> = vec![
        (
            Array::from_slice(&[-128i8, 127, -1], &[3]).unwrap(),
            vec![172, 127, 299],
        ),
        (Array::from_slice(&[255u8, 0], &[2]).unwrap(), vec![255, 0]),
        (
            Array::from_slice(&[-400i16, 400], &[2]).unwrap(),
            vec![0, 299],
        ),
        (
            Array::from_slice(&[u32::MAX, 3], &[2]).unwrap(),
            vec![299, 3],
        ),
        (
            Array::from_slice(&[u64::MAX, 1], &[2]).unwrap(),
            vec![299, 1],
        ),
        (
            Array::from_slice(&[i64::MIN, i64::MAX], &[2]).unwrap(),
            vec![0, 299],
        ),
    ];
    for (idx, want) in cases {
        let got = ops::take(&big, &idx, Some(0)).unwrap();
        assert_eq!(ints(&got), want, "indices of {}", idx.dtype());
    }
}

#[test]
fn take_empty_cases() {
    let a = iota(&[2, 3]);
    let empty_idx = Array::from_slice::<i32>(&[], &[0]).unwrap();
    let t = ops::take(&a, &empty_idx, Some(1)).unwrap();
    assert_eq!(t.shape(), &[2, 0]);
    assert_eq!(t.size(), 0);
    let e = Array::zeros::<f32>(&[0, 3]).unwrap();
    assert_eq!(ops::take(&e, &empty_idx, Some(0)).unwrap().shape(), &[0, 3]);
    let m = mlx_message(ops::take(&e, &mlx::array![0], Some(0)).unwrap_err());
    assert!(
        m.contains("Cannot do a non-empty take from an empty axis"),
        "{m}"
    );
}

#[test]
fn take_index_scalars() {
    let a = iota(&[2, 3]);
    assert_eq!(ints(&ops::take_index(&a, 1, Some(1)).unwrap()), vec![1, 4]);
    assert_eq!(ints(&ops::take_index(&a, -1, Some(1)).unwrap()), vec![2, 5]);
    assert_eq!(
        ints(&ops::take_index(&a, -1, Some(0)).unwrap()),
        vec![3, 4, 5]
    );
    let x = ops::take_index(&a, -2, None).unwrap();
    assert_eq!(x.shape(), &[] as &[i32]);
    assert_eq!(ints(&x), vec![4]);
    let m = rust_message(ops::take_index(&a, 3, Some(1)).unwrap_err());
    assert!(
        m.contains("Index 3 is out of bounds for axis 1 with size 3"),
        "{m}"
    );
    let m = rust_message(ops::take_index(&a, -7, None).unwrap_err());
    assert!(m.contains("out of bounds"), "{m}");
    let m = mlx_message(ops::take_index(&a, 0, Some(2)).unwrap_err());
    assert!(m.contains("[take] Received invalid axis 2"), "{m}");
    let e = Array::zeros::<f32>(&[0, 3]).unwrap();
    let m = mlx_message(ops::take_index(&e, 0, Some(1)).unwrap_err());
    assert!(m.contains("zero elements"), "{m}");
}

#[test]
fn take_errors() {
    let a = iota(&[2, 3]);
    let m = mlx_message(ops::take(&a, &mlx::array![0], Some(2)).unwrap_err());
    assert!(
        m.contains("[take] Received invalid axis 2 for array with 2 dimensions"),
        "{m}"
    );
    let m = mlx_message(ops::take(&a, &mlx::array![0.0], Some(0)).unwrap_err());
    assert!(m.contains("Indices must be integral"), "{m}");
    let m = mlx_message(ops::take(&a, &mlx::array![true], None).unwrap_err());
    assert!(m.contains("Boolean indices not supported"), "{m}");
}

#[test]
fn take_every_dtype() {
    let idx = Array::from_slice(&[2u8, 0], &[2]).unwrap();
    let base = mlx::array![1, 0, 3];
    for dtype in [
        Dtype::Bool,
        Dtype::Uint8,
        Dtype::Uint32,
        Dtype::Int16,
        Dtype::Int64,
        Dtype::Float16,
        Dtype::Bfloat16,
        Dtype::Float32,
        Dtype::Float64,
        Dtype::Complex64,
    ] {
        let a = base.astype(dtype).unwrap();
        let t = ops::take(&a, &idx, Some(0)).unwrap();
        assert_eq!(t.dtype(), dtype);
        if dtype == Dtype::Complex64 {
            let got = t.to_vec::<mlx::Complex32>().unwrap();
            assert_eq!(
                got,
                vec![mlx::Complex32::new(3.0, 0.0), mlx::Complex32::new(1.0, 0.0)]
            );
            continue;
        }
        let want = if dtype == Dtype::Bool {
            vec![1.0, 1.0]
        } else {
            vec![3.0, 1.0]
        };
        assert_close(&t, &want, 0.0, 0.0);
    }
}

#[test]
fn take_non_contiguous_inputs() {
    // a.T of a 3 × 4 iota: element (i, j) is 4j + i.
    let at = iota(&[3, 4]).t().unwrap();
    assert!(!at.is_row_contiguous().unwrap());
    let t = ops::take(&at, &mlx::array![2, 0], Some(1)).unwrap();
    assert_eq!(ints(&t), vec![8, 0, 9, 1, 10, 2, 11, 3]);
    // Strided slice as input, transposed indices.
    let s = ops::slice(&iota(&[10]), &[1], &[10], &[3]).unwrap(); // [1, 4, 7]
    let idx = mlx::array![[0, 2], [1, 1]].t().unwrap(); // [[0, 1], [2, 1]]
    assert_eq!(
        ints(&ops::take(&s, &idx, Some(0)).unwrap()),
        vec![1, 4, 7, 4]
    );
}

#[test]
fn take_along_axis_values() {
    let a = mlx::array![[10, 30, 20], [60, 40, 50]];
    let idx = mlx::array![[1, 0], [2, -1]];
    let t = ops::take_along_axis(&a, &idx, Some(-1)).unwrap();
    assert_eq!(ints(&t), vec![30, 10, 50, 50]);
    // Broadcasting over the other axis; out-of-range clamped.
    let t = ops::take_along_axis(&a, &mlx::array![[5, -9]], Some(1)).unwrap();
    assert_eq!(t.shape(), &[2, 2]);
    assert_eq!(ints(&t), vec![20, 10, 50, 60]);
    let t = ops::take_along_axis(&a, &mlx::array![[1], [0]], Some(0)).unwrap();
    assert_eq!(t.shape(), &[2, 3]);
    assert_eq!(ints(&t), vec![60, 40, 50, 10, 30, 20]);
    // axis None: flattened.
    let t = ops::take_along_axis(&a, &mlx::array![5, 0], None).unwrap();
    assert_eq!(ints(&t), vec![50, 10]);
    // Non-contiguous input.
    let t = ops::take_along_axis(&a.t().unwrap(), &mlx::array![[1], [0], [1]], Some(1)).unwrap();
    assert_eq!(ints(&t), vec![60, 30, 50]);
    let m = rust_message(ops::take_along_axis(&a, &mlx::array![[0.0]], Some(0)).unwrap_err());
    assert!(m.contains("Indices must have an integer dtype"), "{m}");
    // Empty indices.
    let t = ops::take_along_axis(&a, &Array::zeros::<i32>(&[2, 0]).unwrap(), Some(1)).unwrap();
    assert_eq!(t.shape(), &[2, 0]);
    let m = mlx_message(ops::take_along_axis(&a, &mlx::array![1], Some(0)).unwrap_err());
    assert!(
        m.contains("Indices of dimension 1 does not match array of dimension 2"),
        "{m}"
    );
    let m = mlx_message(ops::take_along_axis(&a, &mlx::array![[1]], Some(3)).unwrap_err());
    assert!(
        m.contains("[take_along_axis] Axis 3 is out of bounds"),
        "{m}"
    );
}

#[test]
fn put_along_axis_and_scatter_add_axis() {
    let a = ops::zeros(&[2, 3], Dtype::Float32).unwrap();
    let idx = mlx::array![[0, 2], [1, 1]];
    let v = mlx::array![[1.0, 2.0], [3.0, 4.0]];
    let p = ops::put_along_axis(&a, &idx, &v, Some(1)).unwrap();
    let row1 = values(&p)[3..].to_vec();
    assert_eq!(values(&p)[..3], [1.0, 0.0, 2.0]);
    assert!(
        row1 == [0.0, 3.0, 0.0] || row1 == [0.0, 4.0, 0.0],
        "{row1:?}"
    );
    let s = ops::scatter_add_axis(&a, &idx, &v, Some(-1)).unwrap();
    assert_eq!(values(&s), vec![1.0, 0.0, 2.0, 0.0, 7.0, 0.0]);
    // Scalar values broadcast; out-of-range indices are dropped; negative ones count from the end.
    let s = ops::scatter_add_axis(&a, &mlx::array![[-1, 3, -4, 0]], &mlx::array![5.0], Some(1));
    assert_eq!(values(&s.unwrap()), vec![5.0, 0.0, 5.0, 5.0, 0.0, 5.0]);
    let p = ops::put_along_axis(
        &a,
        &mlx::array![[7], [-3]],
        &mlx::array![[8.0], [9.0]],
        Some(1),
    );
    assert_eq!(values(&p.unwrap()), vec![0.0, 0.0, 0.0, 9.0, 0.0, 0.0]);
    // axis None works on the flattened array and keeps the shape.
    let p = ops::put_along_axis(&a, &mlx::array![4, -1], &mlx::array![6.0, 7.0], None).unwrap();
    assert_eq!(p.shape(), &[2, 3]);
    assert_eq!(values(&p), vec![0.0, 0.0, 0.0, 0.0, 6.0, 7.0]);
    let s = ops::scatter_add_axis(&a, &mlx::array![0, 0], &mlx::array![1.5, 1.5], None).unwrap();
    assert_eq!(values(&s), vec![3.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    // Integer arrays, a non-contiguous target.
    let b = iota(&[3, 2]).t().unwrap(); // [[0, 2, 4], [1, 3, 5]]
    let s = ops::scatter_add_axis(
        &b,
        &mlx::array![[2], [0]],
        &mlx::array![[10], [20]],
        Some(1),
    );
    assert_eq!(ints(&s.unwrap()), vec![0, 2, 14, 21, 3, 5]);
    // MLX would only notice float indices when computing; they are rejected at once.
    let m = rust_message(ops::put_along_axis(&a, &mlx::array![[0.5]], &v, Some(1)).unwrap_err());
    assert!(
        m.contains("[put_along_axis] Indices must have an integer dtype, got float32"),
        "{m}"
    );
    let m = rust_message(ops::scatter_add_axis(&a, &mlx::array![[true]], &v, None).unwrap_err());
    assert!(
        m.contains("[scatter_add_axis] Indices must have an integer dtype, got bool"),
        "{m}"
    );
    // An empty array: nothing to write.
    let e = Array::zeros::<f32>(&[0, 3]).unwrap();
    let p = ops::put_along_axis(
        &e,
        &Array::zeros::<i32>(&[0, 1]).unwrap(),
        &mlx::array![1.0],
        Some(1),
    );
    assert_eq!(p.unwrap().shape(), &[0, 3]);
    let m = mlx_message(ops::put_along_axis(&a, &mlx::array![0], &v, Some(1)).unwrap_err());
    assert!(
        m.contains("[put_along_axis] Indices of dimension 1 does not match"),
        "{m}"
    );
    let m = mlx_message(ops::scatter_add_axis(&a, &idx, &v, Some(2)).unwrap_err());
    assert!(
        m.contains("[scatter_add_axis] Axis 2 is out of bounds"),
        "{m}"
    );
}

// ---- slices ---------------------------------------------------------------------------------

#[test]
fn static_slices() {
    let a = iota(&[3, 5]);
    let s = ops::slice(&a, &[1, 0], &[3, 5], &[1, 2]).unwrap();
    assert_eq!(s.shape(), &[2, 3]);
    assert_eq!(ints(&s), vec![5, 7, 9, 10, 12, 14]);
    // Negative start/stop count from the end; out-of-range bounds are clamped.
    let s = ops::slice(&a, &[-1, -4], &[100, -1], &[]).unwrap();
    assert_eq!(ints(&s), vec![11, 12, 13]);
    // Negative strides; i32::MIN as stop runs through element 0.
    let s = ops::slice(&a, &[2, 4], &[0, i32::MIN], &[-1, -2]).unwrap();
    assert_eq!(s.shape(), &[2, 3]);
    assert_eq!(ints(&s), vec![14, 12, 10, 9, 7, 5]);
    // Empty results.
    let s = ops::slice(&a, &[2, 0], &[1, 5], &[]).unwrap();
    assert_eq!(s.shape(), &[0, 5]);
    // Non-contiguous input: a.T is 5 × 3 with element (i, j) = 5j + i.
    let s = ops::slice(&a.t().unwrap(), &[1, 0], &[5, 3], &[3, 2]).unwrap();
    assert_eq!(ints(&s), vec![1, 11, 4, 14]);
    // Float16 and bool keep their dtype.
    let h = ops::slice(&a.astype(Dtype::Float16).unwrap(), &[0, 1], &[1, 3], &[]).unwrap();
    assert_eq!(h.dtype(), Dtype::Float16);
    assert_close(&h, &[1.0, 2.0], 0.0, 0.0);
    let m = rust_message(ops::slice(&a, &[0, 0], &[1, 1], &[1, 0]).unwrap_err());
    assert!(m.contains("strides must be non-zero"), "{m}");
    let m = mlx_message(ops::slice(&a, &[0], &[1], &[1]).unwrap_err());
    assert!(
        m.contains("[slice] Invalid number of indices or strides"),
        "{m}"
    );
}

#[test]
fn dynamic_slices() {
    let a = iota(&[4, 5]);
    let s = ops::slice_dynamic(&a, &mlx::array![1, 2], &[0, 1], &[2, 3]).unwrap();
    assert_eq!(ints(&s), vec![7, 8, 9, 12, 13, 14]);
    // Negative axes and starts count from the end; starts are clamped so that the slice fits.
    let s = ops::slice_dynamic(&a, &mlx::array![-1], &[-1], &[4, 2]).unwrap();
    assert_eq!(ints(&s), vec![3, 4, 8, 9, 13, 14, 18, 19]);
    let s = ops::slice_dynamic(&a, &mlx::array![-100, 100], &[0, 1], &[1, 2]).unwrap();
    assert_eq!(ints(&s), vec![3, 4]);
    // A 0-d start for one axis; unsigned start dtype.
    let s = ops::slice_dynamic(&a, &Array::scalar(9u32), &[0], &[2, 1]).unwrap();
    assert_eq!(ints(&s), vec![10, 15]);
    // Computed start (lazy), non-contiguous input.
    let start = (&mlx::array![1] + &mlx::array![1])
        .astype(Dtype::Int64)
        .unwrap();
    let s = ops::slice_dynamic(&a.t().unwrap(), &start, &[0], &[2, 2]).unwrap();
    assert_eq!(ints(&s), vec![2, 7, 3, 8]);
    let m = mlx_message(ops::slice_dynamic(&a, &mlx::array![1.0], &[0], &[1, 1]).unwrap_err());
    assert!(m.contains("Start indices must be integers"), "{m}");
    let m = mlx_message(ops::slice_dynamic(&a, &mlx::array![1], &[2], &[1, 1]).unwrap_err());
    assert!(m.contains("[slice] Invalid axis 2"), "{m}");
    let m = mlx_message(ops::slice_dynamic(&a, &mlx::array![1], &[0], &[5, 1]).unwrap_err());
    assert!(m.contains("[slice] Invalid slice size"), "{m}");
}

#[test]
fn slice_updates() {
    let a = iota(&[3, 4]);
    let u = ops::slice_update(&a, &mlx::array![[-1, -2]], &[0, 1], &[3, 4], &[2, 2]).unwrap();
    assert_eq!(ints(&u), vec![0, -1, 2, -2, 4, 5, 6, 7, 8, -1, 10, -2]);
    // Negative stride, scalar update (broadcast), float update converted to int.
    let u = ops::slice_update(&a, &mlx::array![9.7], &[2, 3], &[i32::MIN, 1], &[-2, -1]).unwrap();
    assert_eq!(u.dtype(), Dtype::Int32);
    assert_eq!(ints(&u), vec![0, 1, 9, 9, 4, 5, 6, 7, 8, 9, 9, 9]);
    // The original is untouched (functional update).
    assert_eq!(ints(&a)[..4], [0, 1, 2, 3]);
    let add = ops::slice_update_add(&a, &mlx::array![100], &[1, 0], &[2, 4], &[]).unwrap();
    assert_eq!(ints(&add)[4..8], [104, 105, 106, 107]);
    let prod = ops::slice_update_prod(&a, &mlx::array![2, 3], &[0, 2], &[1, 4], &[]).unwrap();
    assert_eq!(ints(&prod)[..4], [0, 1, 4, 9]);
    let max = ops::slice_update_max(&a, &mlx::array![5], &[0, 0], &[2, 4], &[1, 3]).unwrap();
    assert_eq!(ints(&max)[..8], [5, 1, 2, 5, 5, 5, 6, 7]);
    let min = ops::slice_update_min(&a, &mlx::array![5], &[1, 0], &[3, 4], &[1, 3]).unwrap();
    assert_eq!(ints(&min)[4..], [4, 5, 6, 5, 5, 9, 10, 5]);
    // Other dtypes: bfloat16 and bool targets; an empty slice changes nothing.
    let h = ops::slice_update(
        &a.astype(Dtype::Bfloat16).unwrap(),
        &mlx::array![0.5],
        &[0, 0],
        &[1, 1],
        &[],
    );
    let h = h.unwrap();
    assert_eq!(h.dtype(), Dtype::Bfloat16);
    assert_eq!(values(&h)[..2], [0.5, 1.0]);
    let b = ops::zeros(&[4], Dtype::Bool).unwrap();
    let b = ops::slice_update_max(&b, &mlx::array![true], &[1], &[4], &[2]).unwrap();
    assert_eq!(b.to_vec::<bool>().unwrap(), vec![false, true, false, true]);
    let same = ops::slice_update(&a, &mlx::array![1], &[2, 0], &[1, 4], &[]).unwrap();
    assert_eq!(ints(&same), ints(&a));
    // Non-contiguous source (a.T: element (i, j) = 4j + i).
    let u = ops::slice_update(&a.t().unwrap(), &mlx::array![0], &[3, 0], &[4, 3], &[]).unwrap();
    assert_eq!(ints(&u), vec![0, 4, 8, 1, 5, 9, 2, 6, 10, 0, 0, 0]);
    let m = mlx_message(
        ops::slice_update(&a, &mlx::array![1, 2, 3], &[0, 0], &[1, 2], &[]).unwrap_err(),
    );
    assert!(
        m.contains("Shapes (3) and (1,2) cannot be broadcast"),
        "{m}"
    );
    // Huge strides select one element (MLX alone would overflow computing the size).
    let s = ops::slice(&a, &[1, 3], &[3, i32::MIN], &[i32::MAX, i32::MIN + 1]).unwrap();
    assert_eq!(s.shape(), &[1, 1]);
    assert_eq!(ints(&s), vec![7]);
    let m = rust_message(
        ops::slice_update_add(&a, &mlx::array![1], &[0, 0], &[1, 2], &[0, 1]).unwrap_err(),
    );
    assert!(m.contains("strides must be non-zero"), "{m}");
}

#[test]
fn dynamic_slice_updates() {
    let a = ops::zeros(&[3, 4], Dtype::Int32).unwrap();
    let u = ops::slice_update_dynamic(
        &a,
        &mlx::array![[1, 2], [3, 4]],
        &mlx::array![1, 2],
        &[0, 1],
    )
    .unwrap();
    assert_eq!(ints(&u), vec![0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4]);
    // Start clamped so the window fits (MLX alone would write past the end).
    let u = ops::slice_update_dynamic(
        &a,
        &mlx::array![[1, 2], [3, 4]],
        &mlx::array![9, -9],
        &[0, 1],
    )
    .unwrap();
    assert_eq!(ints(&u), vec![0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0]);
    // An update with fewer dimensions covers the missing leading axes fully (except on `axes`).
    let u = ops::slice_update_dynamic(&a, &mlx::array![7, 8], &mlx::array![-2], &[1]).unwrap();
    assert_eq!(ints(&u), vec![0, 0, 7, 8, 0, 0, 7, 8, 0, 0, 7, 8]);
    let u = ops::slice_update_dynamic(&a, &mlx::array![7, 8, 9, 6], &mlx::array![5], &[0]).unwrap();
    assert_eq!(ints(&u), vec![0, 0, 0, 0, 0, 0, 0, 0, 7, 8, 9, 6]);
    let m = rust_message(
        ops::slice_update_dynamic(
            &a,
            &Array::zeros::<i32>(&[1, 1, 1]).unwrap(),
            &mlx::array![0],
            &[0],
        )
        .unwrap_err(),
    );
    assert!(m.contains("The update has 3 dimensions"), "{m}");
    let m = mlx_message(
        ops::slice_update_dynamic(&a, &mlx::array![1], &mlx::array![0, 0], &[0]).unwrap_err(),
    );
    assert!(m.contains("does not match number of axes"), "{m}");
}

// ---- gather and scatter ---------------------------------------------------------------------

#[test]
fn gather_windows() {
    let a = iota(&[3, 4]);
    let g = ops::gather(&a, &[mlx::array![2, 0], mlx::array![1]], &[0, -1], &[1, 2]).unwrap();
    assert_eq!(g.shape(), &[2, 1, 2]);
    assert_eq!(ints(&g), vec![9, 10, 1, 2]);
    // Windows are clamped to fit: start 3 with width 2 on 4 columns reads columns 2..4.
    let g = ops::gather(&a, &[mlx::array![[3, -1]]], &[1], &[2, 2]).unwrap();
    assert_eq!(g.shape(), &[1, 2, 2, 2]);
    assert_eq!(ints(&g), vec![2, 3, 6, 7, 2, 3, 6, 7]);
    let g = ops::gather(&a, &[mlx::array![-3, 7]], &[0], &[1, 4]).unwrap();
    assert_eq!(ints(&g), vec![0, 1, 2, 3, 8, 9, 10, 11]);
    // No index arrays: a single window at the origin.
    let g = ops::gather(&a, &[], &[], &[2, 2]).unwrap();
    assert_eq!(ints(&g), vec![0, 1, 4, 5]);
    // Empty indices; an empty array with empty indices.
    let none = Array::from_slice::<i32>(&[], &[0]).unwrap();
    let g = ops::gather(&a, std::slice::from_ref(&none), &[1], &[3, 1]).unwrap();
    assert_eq!(g.shape(), &[0, 3, 1]);
    let e = Array::zeros::<f32>(&[0, 4]).unwrap();
    assert_eq!(
        ops::gather(&e, std::slice::from_ref(&none), &[0], &[0, 4])
            .unwrap()
            .shape(),
        &[0, 0, 4]
    );
    // Other dtypes.
    let h = ops::gather(
        &a.astype(Dtype::Bfloat16).unwrap(),
        &[mlx::array![-1]],
        &[1],
        &[2, 1],
    );
    let h = h.unwrap();
    assert_eq!(h.dtype(), Dtype::Bfloat16);
    assert_close(&h, &[3.0, 7.0], 0.0, 0.0);
    // Non-contiguous input.
    let g = ops::gather(&a.t().unwrap(), &[mlx::array![1]], &[0], &[1, 3]).unwrap();
    assert_eq!(ints(&g), vec![1, 5, 9]);
    let m = mlx_message(ops::gather(&a, &[mlx::array![0]], &[0], &[1, 5]).unwrap_err());
    assert!(m.contains("Slice sizes must be in [0, a.shape(i)]"), "{m}");
    let m = mlx_message(ops::gather(&a, &[mlx::array![0]], &[0, 1], &[1, 1]).unwrap_err());
    assert!(
        m.contains("Number of index arrays does not match number of axes"),
        "{m}"
    );
    let m = mlx_message(ops::gather(&a, &[mlx::array![0]], &[2], &[1, 1]).unwrap_err());
    assert!(m.contains("Axes don't match array dimensions"), "{m}");
}

#[test]
fn scatter_family_with_duplicates() {
    let a = mlx::array![1.0, 1.0, 1.0, 1.0];
    let idx = [mlx::array![0, 2, 0, -1]];
    let upd = mlx::array![2.0, 3.0, 4.0, 5.0].reshape(&[4, 1]).unwrap();
    assert_eq!(
        values(&ops::scatter_add(&a, &idx, &upd, &[0]).unwrap()),
        [7.0, 1.0, 4.0, 6.0]
    );
    assert_eq!(
        values(&ops::scatter_prod(&a, &idx, &upd, &[0]).unwrap()),
        [8.0, 1.0, 3.0, 5.0]
    );
    assert_eq!(
        values(&ops::scatter_max(&a, &idx, &upd, &[0]).unwrap()),
        [4.0, 1.0, 3.0, 5.0]
    );
    let low = mlx::array![-2.0, 3.0, -4.0, 0.5].reshape(&[4, 1]).unwrap();
    assert_eq!(
        values(&ops::scatter_min(&a, &idx, &low, &[0]).unwrap()),
        [-4.0, 1.0, 1.0, 0.5]
    );
    let put = values(&ops::scatter(&a, &idx, &upd, &[0]).unwrap());
    assert!(put[0] == 2.0 || put[0] == 4.0, "{put:?}");
    assert_eq!(put[1..], [1.0, 3.0, 5.0]);
}

#[test]
fn scatter_drops_out_of_range_updates() {
    let a = ops::zeros(&[4], Dtype::Int32).unwrap();
    let upd = mlx::array![1, 2, 3, 4, 5].reshape(&[5, 1]).unwrap();
    let idx = [mlx::array![4, -5, 1, 1000, -1]];
    assert_eq!(
        ints(&ops::scatter_add(&a, &idx, &upd, &[0]).unwrap()),
        vec![0, 3, 0, 5]
    );
    assert_eq!(
        ints(&ops::scatter(&a, &idx, &upd, &[0]).unwrap()),
        vec![0, 3, 0, 5]
    );
    // Windows that would run past the end are dropped whole.
    let b = ops::zeros(&[2, 4], Dtype::Float32).unwrap();
    let upd = mlx::array![[[1.0, 2.0]], [[3.0, 4.0]], [[5.0, 6.0]]]; // [3] + window [1, 2]
    let s = ops::scatter(
        &b,
        &[mlx::array![0, 1, 0], mlx::array![3, 2, -3]],
        &upd,
        &[0, 1],
    );
    assert_eq!(
        values(&s.unwrap()),
        vec![0.0, 5.0, 6.0, 0.0, 0.0, 0.0, 3.0, 4.0]
    );
    // Unsigned and 8-bit indices past the end of a long axis.
    let long = ops::zeros(&[300], Dtype::Int32).unwrap();
    let s = ops::scatter_add(
        &long,
        &[Array::from_slice(&[255u8, 0], &[2]).unwrap()],
        &mlx::array![[1], [2]],
        &[0],
    )
    .unwrap();
    assert_eq!(ints(&s)[255], 1);
    assert_eq!(ints(&s)[0], 2);
    let s = ops::scatter_add(
        &a,
        &[Array::from_slice(&[u64::MAX, 2], &[2]).unwrap()],
        &mlx::array![[1], [2]],
        &[0],
    )
    .unwrap();
    assert_eq!(ints(&s), vec![0, 0, 2, 0]);
}

#[test]
fn scatter_on_several_axes_dtypes_and_views() {
    // The example of MLX's documentation: rows (2, 1) and (0, 2) get [1, 2] and [3, 4].
    let a = ops::zeros(&[4, 4], Dtype::Float32).unwrap();
    let upd = mlx::array![[[1.0, 2.0]], [[3.0, 4.0]]];
    let s = ops::scatter(&a, &[mlx::array![2, 0], mlx::array![1, 2]], &upd, &[0, 1]).unwrap();
    let v = values(&s);
    assert_eq!(v[8..12], [0.0, 1.0, 2.0, 0.0]);
    assert_eq!(v[0..4], [0.0, 0.0, 3.0, 4.0]);
    // Indices broadcast together; negative axes.
    let s = ops::scatter_add(&a, &[mlx::array![0, 3], mlx::array![1]], &upd, &[-2, -1]).unwrap();
    let v = values(&s);
    assert_eq!(v[0..4], [0.0, 1.0, 2.0, 0.0]);
    assert_eq!(v[12..16], [0.0, 3.0, 4.0, 0.0]);
    for dtype in [
        Dtype::Uint8,
        Dtype::Int16,
        Dtype::Float16,
        Dtype::Bfloat16,
        Dtype::Float64,
        Dtype::Bool,
    ] {
        let base = ops::zeros(&[3], dtype).unwrap();
        let s = ops::scatter(&base, &[mlx::array![2]], &mlx::array![[1]], &[0]).unwrap();
        assert_eq!(s.dtype(), dtype);
        assert_close(&s, &[0.0, 0.0, 1.0], 0.0, 0.0);
    }
    // Non-contiguous target and updates.
    let t = iota(&[2, 3]).t().unwrap(); // [[0, 3], [1, 4], [2, 5]]
    let upd = mlx::array![[10, 20]]
        .t()
        .unwrap()
        .reshape(&[2, 1, 1])
        .unwrap();
    let s = ops::scatter(&t, &[mlx::array![2, 0], mlx::array![1, 0]], &upd, &[0, 1]).unwrap();
    assert_eq!(ints(&s), vec![20, 3, 1, 4, 2, 10]);
    let m = mlx_message(
        ops::scatter(&a, &[mlx::array![true]], &mlx::array![[[1.0]]], &[0]).unwrap_err(),
    );
    assert!(m.contains("Boolean indices not supported"), "{m}");
    let m = mlx_message(ops::scatter(&a, &[mlx::array![1]], &mlx::array![1.0], &[0]).unwrap_err());
    assert!(m.contains("does not match the sum of the array"), "{m}");
    let m = mlx_message(
        ops::scatter_add(
            &a,
            &[mlx::array![1]],
            &Array::zeros::<f32>(&[1, 5, 1]).unwrap(),
            &[0],
        )
        .unwrap_err(),
    );
    assert!(m.contains("are too large for array"), "{m}");
    let m = mlx_message(ops::scatter(&a, &[mlx::array![1]], &upd, &[4]).unwrap_err());
    assert!(m.contains("Axes don't match array dimensions"), "{m}");
    let empty = ops::scatter(
        &a,
        &[Array::from_slice::<i32>(&[], &[0]).unwrap()],
        &Array::zeros::<f32>(&[0, 1, 4]).unwrap(),
        &[0],
    );
    assert_eq!(values(&empty.unwrap()), vec![0.0; 16]);
}

#[test]
fn masked_scatter_fills_in_order() {
    let a = ops::zeros(&[2, 3], Dtype::Float32).unwrap();
    let mask = mlx::array![[true, false, true], [false, true, true]];
    let s = ops::masked_scatter(&a, &mask, &mlx::array![1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
    assert_eq!(values(&s), vec![1.0, 0.0, 2.0, 0.0, 3.0, 4.0]);
    // A mask over the leading axis replaces whole rows.
    let s =
        ops::masked_scatter(&a, &mlx::array![false, true], &mlx::array![[7.0, 8.0, 9.0]]).unwrap();
    assert_eq!(values(&s), vec![0.0, 0.0, 0.0, 7.0, 8.0, 9.0]);
    // A non-contiguous target, a bool array, a broadcast scalar source.
    let t = iota(&[3, 2]).t().unwrap(); // [[0, 2, 4], [1, 3, 5]]
    let s = ops::masked_scatter(
        &t,
        &mlx::array![[false, true, false], [true, false, false]],
        &Array::scalar(-7i32),
    );
    assert_eq!(ints(&s.unwrap()), vec![0, -7, 4, -7, 3, 5]);
    let b = ops::zeros(&[3], Dtype::Bool).unwrap();
    let s = ops::masked_scatter(
        &b,
        &mlx::array![true, false, true],
        &mlx::array![true, true],
    );
    assert_eq!(
        s.unwrap().to_vec::<bool>().unwrap(),
        vec![true, false, true]
    );
    // Too few source elements: MLX reports it when evaluating.
    let s = ops::masked_scatter(&a, &mask, &mlx::array![1.0, 2.0]).unwrap();
    let m = mlx_message(s.eval().unwrap_err());
    assert!(
        m.contains("Source does not have enough elements for mask"),
        "{m}"
    );
    let m =
        mlx_message(ops::masked_scatter(&a, &mlx::array![1, 0], &mlx::array![1.0]).unwrap_err());
    assert!(m.contains("The mask has to be boolean"), "{m}");
}

#[test]
fn flip_axes() {
    let a = iota(&[2, 3]);
    assert_eq!(
        ints(&ops::flip(&a, Some(&[-1])).unwrap()),
        vec![2, 1, 0, 5, 4, 3]
    );
    assert_eq!(
        ints(&ops::flip(&a, Some(&[0])).unwrap()),
        vec![3, 4, 5, 0, 1, 2]
    );
    assert_eq!(ints(&ops::flip(&a, None).unwrap()), vec![5, 4, 3, 2, 1, 0]);
    assert_eq!(
        ints(&ops::flip(&a.t().unwrap(), Some(&[0])).unwrap()),
        vec![2, 5, 1, 4, 0, 3]
    );
    assert!(ops::flip(&a, Some(&[2])).is_err());
    let e = Array::zeros::<f32>(&[0, 2]).unwrap();
    assert_eq!(ops::flip(&e, Some(&[0, 1])).unwrap().shape(), &[0, 2]);
    let h = ops::flip(
        &mlx::array![1.5, 2.5].astype(Dtype::Float16).unwrap(),
        Some(&[0]),
    )
    .unwrap();
    assert_eq!(h.dtype(), Dtype::Float16);
    assert_close(&h, &[2.5, 1.5], 0.0, 0.0);
}

// ---- NumPy-style reads ----------------------------------------------------------------------

/// Expected shapes and values computed with NumPy on `np.arange(24).reshape(2, 3, 4)`.
#[test]
fn index_reads_match_numpy() {
    let a = iota(&[2, 3, 4]);
    let check = |got: Array, shape: &[i32], want: &[i64]| {
        assert_eq!(got.shape(), shape);
        assert_eq!(ints(&got), want);
    };
    check(a.index(idx![1, -1]).unwrap(), &[4], &[20, 21, 22, 23]);
    check(
        a.index(idx![-1, 1.., ..;-2]).unwrap(),
        &[2, 2],
        &[19, 17, 23, 21],
    );
    check(
        a.index(idx![.., ..;2, 1..;2]).unwrap(),
        &[2, 2, 2],
        &[1, 3, 9, 11, 13, 15, 21, 23],
    );
    check(
        a.index(idx![Ellipsis, 0]).unwrap(),
        &[2, 3],
        &[0, 4, 8, 12, 16, 20],
    );
    check(
        a.index(idx![NewAxis, 1, Ellipsis, NewAxis]).unwrap(),
        &[1, 3, 4, 1],
        &(12..24).collect::<Vec<_>>(),
    );
    check(
        a.index(idx![.., &mlx::array![2, 0]]).unwrap(),
        &[2, 2, 4],
        &[8, 9, 10, 11, 0, 1, 2, 3, 20, 21, 22, 23, 12, 13, 14, 15],
    );
    check(
        a.index(idx![&mlx::array![1, 0], .., &mlx::array![3, 1]])
            .unwrap(),
        &[2, 3],
        &[15, 19, 23, 1, 5, 9],
    );
    check(
        a.index(idx![.., &mlx::array![[0], [2]], &mlx::array![1, 3]])
            .unwrap(),
        &[2, 2, 2],
        &[1, 3, 9, 11, 13, 15, 21, 23],
    );
    check(
        a.index(idx![1, .., &mlx::array![0, -1]]).unwrap(),
        &[2, 3],
        &[12, 16, 20, 15, 19, 23],
    );
    check(
        a.index(idx![.., 1, &mlx::array![0, -1]]).unwrap(),
        &[2, 2],
        &[4, 7, 16, 19],
    );
    check(
        a.index(idx![&mlx::array![1], NewAxis, &mlx::array![0, 2]])
            .unwrap(),
        &[2, 1, 4],
        &[12, 13, 14, 15, 20, 21, 22, 23],
    );
    check(
        a.index(idx![..;-1, &mlx::array![0, 2], 1..3]).unwrap(),
        &[2, 2, 2],
        &[13, 14, 21, 22, 1, 2, 9, 10],
    );
    check(
        a.index(idx![0, Idx::slice(5, 1, -1), ..;3]).unwrap(),
        &[1, 2],
        &[8, 11],
    );
    check(
        a.index(idx![0, ..=1, ..=-2]).unwrap(),
        &[2, 3],
        &[0, 1, 2, 4, 5, 6],
    );
}

#[test]
fn index_single_entries_and_tuples() {
    let a = iota(&[3, 4]);
    assert_eq!(ints(&a.index(-1).unwrap()), vec![8, 9, 10, 11]);
    assert_eq!(a.index(1..).unwrap().shape(), &[2, 4]);
    assert_eq!(a.index(..).unwrap().shape(), &[3, 4]);
    assert_eq!(a.index(..=0).unwrap().shape(), &[1, 4]);
    assert_eq!(a.index(..2).unwrap().shape(), &[2, 4]);
    assert_eq!(a.index(NewAxis).unwrap().shape(), &[1, 3, 4]);
    assert_eq!(a.index(Ellipsis).unwrap().shape(), &[3, 4]);
    assert_eq!(ints(&a.index((2, 1)).unwrap()), vec![9]);
    assert_eq!(ints(&a.index((.., 3)).unwrap()), vec![3, 7, 11]);
    let two = mlx::array![2];
    assert_eq!(ints(&a.index(&two).unwrap()), vec![8, 9, 10, 11]);
    assert_eq!(two.shape(), &[1]);
    assert_eq!(ints(&a.index(mlx::array![0]).unwrap()), vec![0, 1, 2, 3]);
    assert_eq!(ints(&a.index(Idx::Int(-3)).unwrap()), vec![0, 1, 2, 3]);
    let v: Vec<Idx> = vec![Idx::step(.., -1), 0.into()];
    assert_eq!(ints(&a.index(&v).unwrap()), vec![8, 4, 0]);
    assert_eq!(ints(&a.index(&v[..]).unwrap()), vec![8, 4, 0]);
    assert_eq!(ints(&a.index(v).unwrap()), vec![8, 4, 0]);
    // Empty results and empty arrays.
    assert_eq!(a.index(idx![2..1]).unwrap().shape(), &[0, 4]);
    assert_eq!(
        a.index(idx![.., Idx::step(1..3, -1)]).unwrap().shape(),
        &[3, 0]
    );
    let e = Array::zeros::<f32>(&[0, 2]).unwrap();
    assert_eq!(e.index(idx![.., 1]).unwrap().shape(), &[0]);
    assert_eq!(e.index(idx![..;-1]).unwrap().shape(), &[0, 2]);
    // Scalars.
    let s = Array::scalar(5i32);
    assert_eq!(ints(&s.index(NewAxis).unwrap()), vec![5]);
    assert_eq!(s.index(Ellipsis).unwrap().shape(), &[] as &[i32]);
}

#[test]
fn index_steps_in_both_directions() {
    let a = iota(&[10]);
    let cases: Vec<(Idx, Vec<i64>)> = vec![
        (Idx::step(.., 3), vec![0, 3, 6, 9]),
        (Idx::step(..-1, 4), vec![0, 4, 8]),
        (Idx::step(-3.., 1), vec![7, 8, 9]),
        (Idx::step(.., -3), vec![9, 6, 3, 0]),
        (Idx::step(8..2, -2), vec![8, 6, 4]),
        (Idx::step(8..=2, -2), vec![8, 6, 4, 2]),
        (Idx::step(2..=-1, 3), vec![2, 5, 8]),
        (Idx::step(..=0, -1), vec![9, 8, 7, 6, 5, 4, 3, 2, 1, 0]),
        (Idx::step(-1..=-3, -1), vec![9, 8, 7]),
        (Idx::step(100..-100, -4), vec![9, 5, 1]),
        (Idx::step(-100..100, 4), vec![0, 4, 8]),
        (Idx::step(3..7, -1), vec![]),
        (Idx::slice(None, None, i32::MAX), vec![0]),
        (Idx::slice(None, None, i32::MIN), vec![9]),
        (Idx::slice(5, None, 1), vec![5, 6, 7, 8, 9]),
    ];
    for (i, want) in cases {
        let desc = format!("{i:?}");
        assert_eq!(ints(&a.index(i).unwrap()), want, "{desc}");
    }
}

#[test]
fn index_on_views_and_dtypes() {
    let at = iota(&[3, 4]).t().unwrap(); // (i, j) = 4j + i
    assert_eq!(ints(&at.index(idx![1..3, -1]).unwrap()), vec![9, 10]);
    assert_eq!(
        ints(&at.index(idx![&mlx::array![3, 0], 1]).unwrap()),
        vec![7, 4]
    );
    let strided = iota(&[20]).index(idx![..;3]).unwrap(); // 0, 3, ..., 18
    assert_eq!(
        ints(&strided.index(idx![&mlx::array![-1, 2]]).unwrap()),
        vec![18, 6]
    );
    for dtype in [
        Dtype::Bool,
        Dtype::Uint16,
        Dtype::Int8,
        Dtype::Float16,
        Dtype::Bfloat16,
        Dtype::Float64,
    ] {
        let a = mlx::array![0, 1, 0, 1].astype(dtype).unwrap();
        let got = a.index(idx![&mlx::array![1, 2],]).unwrap();
        assert_eq!(got.dtype(), dtype);
        assert_close(&got, &[1.0, 0.0], 0.0, 0.0);
    }
}

#[test]
fn index_clamps_array_entries() {
    let a = iota(&[2, 3]);
    let got = a.index(idx![.., &mlx::array![5, -7, 1]]).unwrap();
    assert_eq!(ints(&got), vec![2, 0, 1, 5, 3, 4]);
}

#[test]
fn index_errors() {
    let a = iota(&[2, 3]);
    let m = rust_message(a.index(idx![0, 0, 0]).unwrap_err());
    assert!(
        m.contains("Too many indices for an array with 2 dimensions"),
        "{m}"
    );
    let m = rust_message(a.index(idx![Ellipsis, 0, Ellipsis]).unwrap_err());
    assert!(m.contains("single ellipsis"), "{m}");
    let m = rust_message(a.index(idx![2]).unwrap_err());
    assert!(
        m.contains("Index 2 is out of bounds for axis 0 with size 2"),
        "{m}"
    );
    let m = rust_message(a.index(idx![.., -4]).unwrap_err());
    assert!(
        m.contains("Index -4 is out of bounds for axis 1 with size 3"),
        "{m}"
    );
    let m = rust_message(a.index(Idx::step(.., 0)).unwrap_err());
    assert!(m.contains("step cannot be zero"), "{m}");
    let m = rust_message(a.index(mlx::array![true, false]).unwrap_err());
    assert!(m.contains("Boolean mask indices cannot be read"), "{m}");
    let m = mlx_message(a.index(mlx::array![0.5]).unwrap_err());
    assert!(m.contains("Indices must be integral"), "{m}");
    let m = mlx_message(
        a.index(idx![&mlx::array![0, 1], &mlx::array![0, 1, 2]])
            .unwrap_err(),
    );
    assert!(m.contains("Shapes (2) and (3) cannot be broadcast"), "{m}");
}

// ---- NumPy-style updates --------------------------------------------------------------------

#[test]
fn index_put_through_slices() {
    let a = ops::zeros(&[3, 4], Dtype::Int32).unwrap();
    let b = a.index_put(idx![1, ..;2], &mlx::array![5, 6]).unwrap();
    assert_eq!(ints(&b), vec![0, 0, 0, 0, 5, 0, 6, 0, 0, 0, 0, 0]);
    let b = a.index_put(idx![..;-2, -1], &mlx::array![1, 2]).unwrap();
    assert_eq!(ints(&b), vec![0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1]);
    // The value broadcasts to the indexed shape, extra leading 1s included; NewAxis entries
    // take part in the shape.
    let b = a.index_put(
        idx![NewAxis, 1.., 2],
        &mlx::array![[[7], [8]]].reshape(&[1, 1, 2]).unwrap(),
    );
    assert_eq!(ints(&b.unwrap()), vec![0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 8, 0]);
    let b = a.index_put(Ellipsis, &mlx::array![[[1, 2, 3, 4]]]).unwrap();
    assert_eq!(ints(&b), [1, 2, 3, 4].repeat(3));
    // Accumulating variants.
    let base = iota(&[3, 4]);
    let b = base
        .index_add(idx![.., 1..3], &mlx::array![100, 200])
        .unwrap();
    assert_eq!(
        ints(&b),
        vec![0, 101, 202, 3, 4, 105, 206, 7, 8, 109, 210, 11]
    );
    let b = base.index_prod(idx![2], &mlx::array![2]).unwrap();
    assert_eq!(ints(&b)[8..], [16, 18, 20, 22]);
    let b = base.index_max(idx![0], &mlx::array![2]).unwrap();
    assert_eq!(ints(&b)[..4], [2, 2, 2, 3]);
    let b = base.index_min(idx![-1, ..;-1], &mlx::array![9]).unwrap();
    assert_eq!(ints(&b)[8..], [8, 9, 9, 9]);
    // The original is unchanged; a float value is converted.
    assert_eq!(ints(&base)[..4], [0, 1, 2, 3]);
    let b = base.index_put(idx![0, 0], &mlx::array![2.9]).unwrap();
    assert_eq!(b.dtype(), Dtype::Int32);
    assert_eq!(ints(&b)[0], 2);
}

#[test]
fn index_put_through_arrays_matches_numpy() {
    let z = ops::zeros(&[3, 4], Dtype::Int32).unwrap();
    let b = z
        .index_put(idx![&mlx::array![2, 0], 1..3], &mlx::array![[1, 2], [3, 4]])
        .unwrap();
    assert_eq!(ints(&b), vec![0, 3, 4, 0, 0, 0, 0, 0, 0, 1, 2, 0]);
    let b = z
        .index_put(idx![.., &mlx::array![3, 0]], &mlx::array![7, 8])
        .unwrap();
    assert_eq!(ints(&b), vec![8, 0, 0, 7, 8, 0, 0, 7, 8, 0, 0, 7]);
    let b = z
        .index_put(idx![1, &mlx::array![0, 1, 3]], &mlx::array![5])
        .unwrap();
    assert_eq!(ints(&b), vec![0, 0, 0, 0, 5, 5, 0, 5, 0, 0, 0, 0]);
    let v = iota(&[2, 2, 1]);
    let b = z.index_put(idx![..;2, &mlx::array![[1], [2]]], &v).unwrap();
    assert_eq!(ints(&b), vec![0, 0, 1, 0, 0, 0, 0, 0, 0, 2, 3, 0]);
    let z3 = ops::zeros(&[2, 3, 4], Dtype::Int32).unwrap();
    let b = z3
        .index_put(
            idx![&mlx::array![1, 0], .., &mlx::array![3, 1]],
            &iota(&[2, 3]),
        )
        .unwrap();
    assert_eq!(
        ints(&b),
        vec![
            0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2
        ]
    );
    let b = z3
        .index_put(
            idx![.., &mlx::array![0, 2], NewAxis, 1..3],
            &iota(&[2, 2, 1, 2]),
        )
        .unwrap();
    assert_eq!(
        ints(&b),
        vec![
            0, 0, 1, 0, 0, 0, 0, 0, 0, 2, 3, 0, 0, 4, 5, 0, 0, 0, 0, 0, 0, 6, 7, 0
        ]
    );
}

#[test]
fn index_add_accumulates_and_drops_out_of_range() {
    let z = ops::zeros(&[5], Dtype::Float32).unwrap();
    // np.add.at(b, [0, 0, 4, -1], [1, 2, 3, 4]) gives [3, 0, 0, 0, 7].
    let b = z
        .index_add(mlx::array![0, 0, 4, -1], &mlx::array![1.0, 2.0, 3.0, 4.0])
        .unwrap();
    assert_eq!(values(&b), vec![3.0, 0.0, 0.0, 0.0, 7.0]);
    let b = z
        .index_add(mlx::array![5, -6, 2], &mlx::array![1.0, 2.0, 3.0])
        .unwrap();
    assert_eq!(values(&b), vec![0.0, 0.0, 3.0, 0.0, 0.0]);
    let b = z
        .index_put(mlx::array![9, 1], &mlx::array![1.0, 2.0])
        .unwrap();
    assert_eq!(values(&b), vec![0.0, 2.0, 0.0, 0.0, 0.0]);
    let one = ops::ones(&[3], Dtype::Int32).unwrap();
    let b = one
        .index_prod(mlx::array![0, 0, 2], &mlx::array![2, 3, 5])
        .unwrap();
    assert_eq!(ints(&b), vec![6, 1, 5]);
    let b = one
        .index_max(mlx::array![0, 0, 2], &mlx::array![2, -3, 0])
        .unwrap();
    assert_eq!(ints(&b), vec![2, 1, 1]);
    let b = one
        .index_min(mlx::array![1, 1], &mlx::array![-2, 4])
        .unwrap();
    assert_eq!(ints(&b), vec![1, -2, 1]);
    // Non-contiguous target.
    let t = iota(&[2, 3]).t().unwrap(); // [[0, 3], [1, 4], [2, 5]]
    let b = t
        .index_add(idx![&mlx::array![2, 2], 0], &mlx::array![10, 10])
        .unwrap();
    assert_eq!(ints(&b), vec![0, 3, 1, 4, 22, 5]);
}

#[test]
fn index_put_with_a_mask() {
    let a = iota(&[2, 3]);
    let mask = mlx::array![[true, false, true], [false, false, true]];
    let b = a.index_put(&mask, &mlx::array![-1, -2, -3]).unwrap();
    assert_eq!(ints(&b), vec![-1, 1, -2, 3, 4, -3]);
    let b = a
        .index_put(idx![&mlx::array![false, true], ..], &mlx::array![9])
        .unwrap();
    assert_eq!(ints(&b), vec![0, 1, 2, 9, 9, 9]);
    let m = rust_message(a.index_add(&mask, &mlx::array![1]).unwrap_err());
    assert!(m.contains("boolean mask is supported only"), "{m}");
    let m = rust_message(
        a.index_put(idx![.., &mlx::array![true, false, true]], &mlx::array![1])
            .unwrap_err(),
    );
    assert!(m.contains("boolean mask is supported only"), "{m}");
}

#[test]
fn index_put_errors() {
    let a = ops::zeros(&[2, 3], Dtype::Float32).unwrap();
    let m = rust_message(a.index_put(idx![0], &mlx::array![1.0, 2.0]).unwrap_err());
    assert!(
        m.contains("Cannot broadcast a value of shape [2] to the indexed shape [3]"),
        "{m}"
    );
    let m = rust_message(
        a.index_put(idx![&mlx::array![0, 1]], &mlx::array![[1.0, 2.0]])
            .unwrap_err(),
    );
    assert!(m.contains("Cannot broadcast"), "{m}");
    let m = rust_message(a.index_put(idx![.., 5], &mlx::array![1.0]).unwrap_err());
    assert!(m.contains("out of bounds"), "{m}");
    let m = rust_message(a.index_add(idx![0, 0, 0], &mlx::array![1.0]).unwrap_err());
    assert!(m.contains("[index_add] Too many indices"), "{m}");
}

// ---- transforms -----------------------------------------------------------------------------

#[test]
fn sanitized_indexing_under_vmap_and_compile() {
    use mlx::transforms;
    let mut vf = transforms::vmap(
        |x: &[Array]| Ok(vec![ops::take(&x[0], &x[1], Some(0))?]),
        &[0, 0],
        &[0],
    );
    let out = vf(&[iota(&[2, 4]), mlx::array![[5, 1], [-1, -9]]]).unwrap();
    assert_eq!(ints(&out[0]), vec![3, 1, 7, 4]);
    let mut vs = transforms::vmap(
        |x: &[Array]| {
            let upd = x[1].reshape(&[-1, 1])?;
            Ok(vec![ops::scatter_add(&x[0], &[x[2].clone()], &upd, &[0])?])
        },
        &[0, 0, 0],
        &[0],
    );
    let out = vs(&[
        ops::zeros(&[2, 3], Dtype::Int32).unwrap(),
        mlx::array![[1, 2], [3, 4]],
        mlx::array![[0, 0], [7, -1]],
    ])
    .unwrap();
    assert_eq!(ints(&out[0]), vec![3, 0, 0, 0, 0, 4]);

    // A compiled function is retraced for new shapes, with bounds for those shapes.
    let take = |x: &[Array]| Ok(vec![ops::take(&x[0], &x[1], Some(0))?]);
    let f = transforms::compile(take, false).unwrap();
    let idx = mlx::array![7, 20];
    assert_eq!(
        ints(&f.call(&[iota(&[10]), idx.clone()]).unwrap()[0]),
        vec![7, 9]
    );
    assert_eq!(
        ints(&f.call(&[iota(&[5]), idx.clone()]).unwrap()[0]),
        vec![4, 4]
    );
    // A shapeless compile would reuse the bounds of the first shape for every later one; it is
    // refused.
    type Op = fn(&[Array]) -> mlx::Result<Vec<Array>>;
    let ops_to_try: [Op; 5] = [
        |x| Ok(vec![ops::take(&x[0], &x[1], Some(0))?]),
        |x| Ok(vec![ops::gather(&x[0], &[x[1].clone()], &[0], &[1])?]),
        |x| {
            Ok(vec![ops::scatter_add(
                &x[0],
                &[x[1].clone()],
                &x[1].reshape(&[-1, 1])?,
                &[0],
            )?])
        },
        |x| {
            Ok(vec![ops::slice_dynamic(
                &x[0],
                &x[1].index(0)?,
                &[0],
                &[1],
            )?])
        },
        |x| Ok(vec![x[0].index(&x[1])?]),
    ];
    for (k, op) in ops_to_try.into_iter().enumerate() {
        let f = transforms::compile(op, true).unwrap();
        let e = f.call(&[iota(&[10]), idx.clone()]).unwrap_err();
        assert!(
            e.message().contains("cannot infer output shapes"),
            "op {k}: {e}"
        );
    }
}

// ---- gradients ------------------------------------------------------------------------------

fn weighted_sum(x: &Array) -> mlx::Result<Array> {
    // A fixed weighting so every element's gradient differs.
    let w = ops::arange(1.0, x.size() as f64 + 1.0, 1.0, Dtype::Float64)?.reshape(x.shape())?;
    (x * &w).sum(None, false)
}

#[test]
fn gradients_of_reads() {
    let x = sample(&[3, 4], 1, -1.0, 1.0);
    check_grad(
        |v| weighted_sum(&ops::take(&v[0], &mlx::array![2, 0, 2], Some(1))?),
        std::slice::from_ref(&x),
        0,
        1e-6,
        1e-6,
    );
    check_grad(
        |v| weighted_sum(&ops::take(&v[0], &mlx::array![[11, 0]], None)?),
        std::slice::from_ref(&x),
        0,
        1e-6,
        1e-6,
    );
    check_grad(
        |v| {
            weighted_sum(&ops::take_along_axis(
                &v[0],
                &mlx::array![[1], [3], [1]],
                Some(1),
            )?)
        },
        std::slice::from_ref(&x),
        0,
        1e-6,
        1e-6,
    );
    check_grad(
        |v| weighted_sum(&ops::slice(&v[0], &[2, 3], &[0, i32::MIN], &[-2, -2])?),
        std::slice::from_ref(&x),
        0,
        1e-6,
        1e-6,
    );
    check_grad(
        |v| weighted_sum(&ops::gather(&v[0], &[mlx::array![2, 0, 0]], &[0], &[1, 3])?),
        std::slice::from_ref(&x),
        0,
        1e-6,
        1e-6,
    );
    check_grad(
        |v| weighted_sum(&ops::slice_dynamic(&v[0], &mlx::array![1], &[1], &[2, 2])?),
        std::slice::from_ref(&x),
        0,
        1e-6,
        1e-6,
    );
    check_grad(
        |v| weighted_sum(&v[0].index(idx![..;-1, &mlx::array![3, 1, 3]])?),
        std::slice::from_ref(&x),
        0,
        1e-6,
        1e-6,
    );
}

#[test]
fn gradients_of_writes() {
    let a = sample(&[3, 4], 2, -1.0, 1.0);
    let u = sample(&[2, 2], 3, -1.0, 1.0);
    let su =
        |v: &[Array]| weighted_sum(&ops::slice_update(&v[0], &v[1], &[0, 1], &[3, 4], &[2, 2])?);
    check_grad(su, &[a.clone(), u.clone()], 0, 1e-6, 1e-6);
    check_grad(su, &[a.clone(), u.clone()], 1, 1e-6, 1e-6);
    // scatter_add with a repeated index: the repeated update's gradient is its own.
    let upd = sample(&[3, 1, 4], 4, -1.0, 1.0);
    let sa = |v: &[Array]| {
        weighted_sum(&ops::scatter_add(
            &v[0],
            &[mlx::array![2, 0, 2]],
            &v[1],
            &[0],
        )?)
    };
    check_grad(sa, &[a.clone(), upd.clone()], 0, 1e-6, 1e-6);
    check_grad(sa, &[a.clone(), upd.clone()], 1, 1e-6, 1e-6);
    // Dropped (out-of-range) updates get no gradient.
    let dropped = |v: &[Array]| {
        weighted_sum(&ops::scatter_add(
            &v[0],
            &[mlx::array![5, 1, -9]],
            &v[1],
            &[0],
        )?)
    };
    check_grad(dropped, &[a.clone(), upd.clone()], 1, 1e-6, 1e-6);
    let grads = mlx::transforms::grad(dropped, &[1])(&[a.clone(), upd.clone()]).unwrap();
    let g = values(&grads[0]);
    assert!(g[..4].iter().chain(&g[8..]).all(|v| *v == 0.0), "{g:?}");
    let ip = |v: &[Array]| weighted_sum(&v[0].index_put(idx![&mlx::array![0, 2], 1..3], &v[1])?);
    check_grad(ip, &[a.clone(), u.clone()], 0, 1e-6, 1e-6);
    check_grad(ip, &[a.clone(), u.clone()], 1, 1e-6, 1e-6);
    let iadd = |v: &[Array]| {
        weighted_sum(&v[0].index_add(idx![.., 1], &v[1].index(idx![0, ..])?.index(idx![..1])?)?)
    };
    check_grad(iadd, &[a.clone(), u.clone()], 0, 1e-6, 1e-6);
    check_grad(iadd, &[a.clone(), u.clone()], 1, 1e-6, 1e-6);
    let pa = |v: &[Array]| {
        weighted_sum(&ops::put_along_axis(
            &v[0],
            &mlx::array![[0], [3], [1]],
            &v[1].index(idx![.., ..1])?.index(idx![..1])?,
            Some(1),
        )?)
    };
    check_grad(pa, &[a.clone(), u.clone()], 0, 1e-6, 1e-6);
}

#[test]
fn take_along_axis_unchecked_matches_the_checked_gather_for_own_indices() {
    let a = mlx::array![[3.0f32, -1.0, 2.0, 7.0], [0.5, 9.0, -4.0, 1.0]];
    let order = mlx::ops::argsort(&a, Some(1)).unwrap();
    let checked = mlx::ops::take_along_axis(&a, &order, Some(1)).unwrap();
    // SAFETY: argsort of `a` along axis 1 gives positions along that axis.
    let unchecked = unsafe { mlx::ops::take_along_axis_unchecked(&a, &order, 1) }.unwrap();
    // Fewer nodes (no clamp in the graph), counted before evaluation.
    let nodes = |x: &Array| {
        mlx::export_to_dot([x])
            .unwrap()
            .matches("shape=rectangle")
            .count()
    };
    assert!(nodes(&unchecked) < nodes(&checked));
    let want = vec![-1.0f32, 2.0, 3.0, 7.0, -4.0, 0.5, 1.0, 9.0];
    assert_eq!(checked.to_vec::<f32>().unwrap(), want);
    assert_eq!(unchecked.to_vec::<f32>().unwrap(), want);
    // Float indices are still refused.
    let bad = unsafe { mlx::ops::take_along_axis_unchecked(&a, &mlx::array![[0.0f32]], 1) };
    assert!(bad.is_err());
}
