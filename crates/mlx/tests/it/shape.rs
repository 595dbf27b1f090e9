//! Shape manipulation ops, checked against index-mapping references written in Rust.

use crate::common;
use common::{mlx_err, unravel};

use common::{assert_close, check_grad, sample, values};
use mlx::ops::{self, Indexing, PadMode};
use mlx::{Array, Dtype, Error, bf16, f16};

// ---- helpers ------------------------------------------------------------------------------------

fn ravel(idx: &[usize], shape: &[i32]) -> usize {
    idx.iter()
        .zip(shape)
        .fold(0, |acc, (&i, &n)| acc * n as usize + i)
}

/// The row-major values of an array of `shape` whose element at each index is `f(index)`.
fn build(shape: &[i32], f: impl Fn(&[usize]) -> f64) -> Vec<f64> {
    let n: usize = shape.iter().map(|&d| d as usize).product();
    (0..n).map(|i| f(&unravel(i, shape))).collect()
}

/// The axes permutation `perm` of a row-major array: (shape, values).
fn permute_ref(data: &[f64], shape: &[i32], perm: &[usize]) -> (Vec<i32>, Vec<f64>) {
    let out_shape: Vec<i32> = perm.iter().map(|&p| shape[p]).collect();
    let out = build(&out_shape, |o| {
        let mut idx = vec![0; shape.len()];
        for (k, &p) in perm.iter().enumerate() {
            idx[p] = o[k];
        }
        data[ravel(&idx, shape)]
    });
    (out_shape, out)
}

fn assert_array(got: &Array, shape: &[i32], want: &[f64]) {
    assert_eq!(got.shape(), shape, "shape");
    assert_close(got, want, 0.0, 0.0);
}

fn weighted(out: &Array, seed: u64) -> mlx::Result<Array> {
    let w = sample(out.shape(), seed, 0.5, 1.5).astype(out.dtype())?;
    ops::sum(&ops::multiply(out, &w)?, None, false)
}

fn weighted_all(outs: &[Array]) -> mlx::Result<Array> {
    let mut total = Array::scalar(0.0f64);
    for (i, o) in outs.iter().enumerate() {
        total = ops::add(&total, &weighted(o, 100 + i as u64)?)?;
    }
    Ok(total)
}

/// Checks the gradient of `weighted(f(x))` in float64.
fn grad_ok(x: &Array, f: impl Fn(&Array) -> mlx::Result<Array>) {
    check_grad(
        |a: &[Array]| weighted(&f(&a[0])?, 7),
        std::slice::from_ref(x),
        0,
        1e-6,
        1e-6,
    );
}

// ---- reshaping ----------------------------------------------------------------------------------

#[test]
fn flatten_and_unflatten() {
    let x = sample(&[2, 3, 4], 1, -1.0, 1.0);
    let data = values(&x);
    assert_array(&ops::flatten(&x, 0, -1).unwrap(), &[24], &data);
    assert_array(&x.flatten(1, 2).unwrap(), &[2, 12], &data);
    assert_array(&ops::flatten(&x, -3, -2).unwrap(), &[6, 4], &data);
    assert_array(&ops::flatten(&x, 1, 1).unwrap(), &[2, 3, 4], &data);
    // A transposed input flattens in its logical order.
    let t = x.transpose(Some(&[2, 0, 1])).unwrap();
    let (_, tdata) = permute_ref(&data, &[2, 3, 4], &[2, 0, 1]);
    assert_array(&t.flatten(0, -1).unwrap(), &[24], &tdata);
    assert_array(
        &ops::flatten(&Array::scalar(3i32), 0, -1).unwrap(),
        &[1],
        &[3.0],
    );
    assert_eq!(
        ops::flatten(&Array::zeros::<u8>(&[0, 6]).unwrap(), 0, -1)
            .unwrap()
            .shape(),
        &[0]
    );
    let msg = mlx_err(ops::flatten(&x, 2, 1));
    assert!(
        msg.contains("[flatten] start_axis must be less than or equal to end_axis"),
        "{msg}"
    );

    let flat = ops::flatten(&x, 1, 2).unwrap();
    assert_array(
        &ops::unflatten(&flat, 1, &[3, 4]).unwrap(),
        &[2, 3, 4],
        &data,
    );
    assert_array(
        &ops::unflatten(&x, -1, &[2, -1]).unwrap(),
        &[2, 3, 2, 2],
        &data,
    );
    assert_array(
        &ops::unflatten(&t, 0, &[2, 2]).unwrap(),
        &[2, 2, 2, 3],
        &tdata,
    );
    let e = ops::unflatten(&Array::zeros::<f32>(&[0, 6]).unwrap(), 1, &[2, 3]).unwrap();
    assert_eq!(e.shape(), &[0, 2, 3]);
    let msg = mlx_err(ops::unflatten(&x, 1, &[2, 2]));
    assert!(
        msg.contains("Cannot unflatten axis 1 with size 3 into shape (2,2)"),
        "{msg}"
    );
}

/// `None` means every axis; `Some(&[])` no axis, as Python MLX's `axis=[]`.
#[test]
fn none_is_every_axis_and_an_empty_list_is_no_axis() {
    let x = sample(&[1, 3, 1, 2], 90, -1.0, 1.0);
    let data = values(&x);
    // squeeze: every size-one axis, or none.
    assert_array(&x.squeeze(None).unwrap(), &[3, 2], &data);
    assert_array(&ops::squeeze(&x, Some(&[])).unwrap(), &[1, 3, 1, 2], &data);
    // transpose: `None` reverses the axes (as `t()`); an empty permutation is an error except
    // for a scalar.
    let t = x.transpose(None).unwrap();
    assert_eq!(t.shape(), &[2, 1, 3, 1]);
    assert_eq!(values(&t), values(&x.t().unwrap()));
    let msg = mlx_err(ops::transpose(&x, Some(&[])));
    assert!(msg.contains("[transpose]"), "{msg}");
    let s = Array::scalar(4.0f32);
    assert_eq!(
        ops::transpose(&s, Some(&[]))
            .unwrap()
            .item::<f32>()
            .unwrap(),
        4.0
    );
    // flip: every axis, or none.
    let m = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    assert_array(
        &ops::flip(&m, None).unwrap(),
        &[2, 2],
        &[4.0, 3.0, 2.0, 1.0],
    );
    assert_array(
        &ops::flip(&m, Some(&[])).unwrap(),
        &[2, 2],
        &[1.0, 2.0, 3.0, 4.0],
    );
    // roll: the flattened array, or nothing.
    assert_array(
        &ops::roll(&m, &[1], None).unwrap(),
        &[2, 2],
        &[4.0, 1.0, 2.0, 3.0],
    );
    assert_array(
        &ops::roll(&m, &[1], Some(&[])).unwrap(),
        &[2, 2],
        &[1.0, 2.0, 3.0, 4.0],
    );
}

#[test]
fn squeeze_and_expand_dims() {
    let x = sample(&[1, 3, 1, 2], 2, -1.0, 1.0);
    let data = values(&x);
    assert_array(&ops::squeeze(&x, None).unwrap(), &[3, 2], &data);
    assert_array(&x.squeeze(Some(&[0])).unwrap(), &[3, 1, 2], &data);
    assert_array(&ops::squeeze(&x, Some(&[-2, 0])).unwrap(), &[3, 2], &data);
    assert_eq!(
        ops::squeeze(&Array::zeros::<f32>(&[1, 0, 1]).unwrap(), None)
            .unwrap()
            .shape(),
        &[0]
    );
    let msg = mlx_err(ops::squeeze(&x, Some(&[1])));
    assert!(
        msg.contains("[squeeze] Cannot squeeze axis 1 with size 3 which is not equal to 1"),
        "{msg}"
    );
    let msg = mlx_err(ops::squeeze(&x, Some(&[5])));
    assert!(
        msg.contains("[squeeze] Axis 5 is out of bounds for array with 4 dimensions"),
        "{msg}"
    );

    let y = sample(&[2, 3], 3, -1.0, 1.0);
    let yd = values(&y);
    assert_array(&ops::expand_dims(&y, &[0]).unwrap(), &[1, 2, 3], &yd);
    assert_array(&y.expand_dims(&[-1]).unwrap(), &[2, 3, 1], &yd);
    assert_array(&ops::expand_dims(&y, &[0, -1]).unwrap(), &[1, 2, 3, 1], &yd);
    assert_array(&ops::expand_dims(&y, &[1, 3]).unwrap(), &[2, 1, 3, 1], &yd);
    let yt = y.t().unwrap();
    let (_, ytd) = permute_ref(&yd, &[2, 3], &[1, 0]);
    assert_array(&ops::expand_dims(&yt, &[1]).unwrap(), &[3, 1, 2], &ytd);
    let msg = mlx_err(ops::expand_dims(&y, &[3]));
    assert!(
        msg.contains("[expand_dims] Axis 3 is out of bounds for array with 3 dimensions"),
        "{msg}"
    );
    let msg = mlx_err(ops::expand_dims(&y, &[0, 0]));
    assert!(
        msg.contains("[expand_dims] Received duplicate axes"),
        "{msg}"
    );
}

#[test]
fn axis_permutations() {
    let x = sample(&[2, 3, 4], 5, -1.0, 1.0);
    let data = values(&x);
    let sh = [2, 3, 4];
    let check = |got: Array, perm: &[usize]| {
        let (shape, want) = permute_ref(&data, &sh, perm);
        assert_array(&got, &shape, &want);
    };
    check(ops::swapaxes(&x, 0, 2).unwrap(), &[2, 1, 0]);
    check(x.swapaxes(-1, -2).unwrap(), &[0, 2, 1]);
    check(ops::moveaxis(&x, 0, 2).unwrap(), &[1, 2, 0]);
    check(x.moveaxis(-1, 0).unwrap(), &[2, 0, 1]);
    check(ops::moveaxis(&x, 1, 1).unwrap(), &[0, 1, 2]);
    check(ops::matrix_transpose(&x).unwrap(), &[0, 2, 1]);
    check(x.mt().unwrap(), &[0, 2, 1]);
    // Composed with a transpose (non-contiguous input).
    let t = x.transpose(Some(&[1, 2, 0])).unwrap();
    check(ops::swapaxes(&t, 0, 1).unwrap(), &[2, 1, 0]);
    let i = Array::from_slice(&[1i8, 2, 3, 4, 5, 6], &[1, 2, 3]).unwrap();
    assert_eq!(
        ops::moveaxis(&i, 2, 0).unwrap().to_vec::<i8>().unwrap(),
        vec![1, 4, 2, 5, 3, 6]
    );
    let msg = mlx_err(ops::swapaxes(&x, 0, 3));
    assert!(
        msg.contains("[swapaxes] Invalid axis 3 for array with 3 dimensions"),
        "{msg}"
    );
    let msg = mlx_err(ops::moveaxis(&x, -4, 0));
    assert!(
        msg.contains("[moveaxis] Invalid axis -4 for array with 3 dimensions"),
        "{msg}"
    );
    let msg = mlx_err(ops::matrix_transpose(&Array::zeros::<f32>(&[3]).unwrap()));
    assert!(
        msg.contains("[matrix_transpose] Input array must have at least 2 dimensions"),
        "{msg}"
    );
}

#[test]
fn broadcasting() {
    let a = Array::from_slice(&[1.0f32, 2.0, 3.0], &[3, 1]).unwrap();
    let b = ops::broadcast_to(&a, &[2, 3, 4]).unwrap();
    assert_array(&b, &[2, 3, 4], &build(&[2, 3, 4], |i| (i[1] + 1) as f64));
    assert_array(
        &a.broadcast_to(&[3, 2]).unwrap(),
        &[3, 2],
        &[1.0, 1.0, 2.0, 2.0, 3.0, 3.0],
    );
    assert_array(
        &ops::broadcast_to(&Array::scalar(7u8), &[2, 2]).unwrap(),
        &[2, 2],
        &[7.0; 4],
    );
    assert_eq!(
        ops::broadcast_to(&a, &[0, 3, 5]).unwrap().shape(),
        &[0, 3, 5]
    );
    // Of a transposed input.
    let t = Array::from_slice(&[1i32, 2, 3, 4, 5, 6], &[2, 3])
        .unwrap()
        .t()
        .unwrap();
    let bt = ops::broadcast_to(&t, &[2, 3, 2]).unwrap();
    assert_array(
        &bt,
        &[2, 3, 2],
        &build(&[2, 3, 2], |i| (i[2] * 3 + i[1] + 1) as f64),
    );
    let msg = mlx_err(ops::broadcast_to(&t, &[3, 3]));
    assert!(
        msg.contains("[broadcast_shapes] Shapes (3,2) and (3,3) cannot be broadcast"),
        "{msg}"
    );

    let inputs = [
        Array::from_slice(&[1.0f32, 2.0], &[2, 1]).unwrap(),
        Array::from_slice(&[10i32, 20, 30], &[3]).unwrap(),
        Array::scalar(true),
    ];
    let out = ops::broadcast_arrays(&inputs).unwrap();
    assert_eq!(out.len(), 3);
    assert_array(&out[0], &[2, 3], &[1.0, 1.0, 1.0, 2.0, 2.0, 2.0]);
    assert_array(&out[1], &[2, 3], &[10.0, 20.0, 30.0, 10.0, 20.0, 30.0]);
    assert_array(&out[2], &[2, 3], &[1.0; 6]);
    assert_eq!(
        (out[0].dtype(), out[1].dtype(), out[2].dtype()),
        (Dtype::Float32, Dtype::Int32, Dtype::Bool)
    );
    let err = ops::broadcast_arrays(&[
        Array::zeros::<f32>(&[2, 3]).unwrap(),
        Array::zeros::<f32>(&[4]).unwrap(),
    ]);
    let msg = mlx_err(err);
    assert!(
        msg.contains("[broadcast_shapes] Shapes (2,3) and (4) cannot be broadcast"),
        "{msg}"
    );
}

// ---- joining and splitting ----------------------------------------------------------------------

#[test]
fn concatenate_arrays() {
    let a = sample(&[2, 3], 6, -1.0, 1.0);
    let b = sample(&[2, 4], 7, -1.0, 1.0);
    let (ad, bd) = (values(&a), values(&b));
    let want = build(&[2, 7], |i| {
        if i[1] < 3 {
            ad[i[0] * 3 + i[1]]
        } else {
            bd[i[0] * 4 + i[1] - 3]
        }
    });
    for axis in [1, -1] {
        assert_array(
            &ops::concatenate(&[a.clone(), b.clone()], Some(axis)).unwrap(),
            &[2, 7],
            &want,
        );
    }
    let c = sample(&[1, 3], 8, -1.0, 1.0);
    let mut want0 = ad.clone();
    want0.extend(values(&c));
    assert_array(
        &ops::concatenate(&[a.clone(), c.clone()], Some(0)).unwrap(),
        &[3, 3],
        &want0,
    );
    // Flattened.
    let mut flat = ad.clone();
    flat.extend(&bd);
    flat.extend(values(&c));
    assert_array(
        &ops::concatenate(&[a.clone(), b.clone(), c.clone()], None).unwrap(),
        &[17],
        &flat,
    );
    // Transposed input; an empty piece; a single array.
    let at = a.t().unwrap();
    let (_, atd) = permute_ref(&ad, &[2, 3], &[1, 0]);
    let d = sample(&[3, 1], 9, -1.0, 1.0);
    let dd = values(&d);
    let want = build(&[3, 3], |i| {
        if i[1] < 2 {
            atd[i[0] * 2 + i[1]]
        } else {
            dd[i[0]]
        }
    });
    assert_array(
        &ops::concatenate(&[at.clone(), d], Some(1)).unwrap(),
        &[3, 3],
        &want,
    );
    let empty = Array::zeros::<f64>(&[2, 0]).unwrap();
    assert_array(
        &ops::concatenate(&[empty, a.clone()], Some(1)).unwrap(),
        &[2, 3],
        &ad,
    );
    assert_array(
        &ops::concatenate(std::slice::from_ref(&at), Some(0)).unwrap(),
        &[3, 2],
        &atd,
    );
    // Dtype promotion.
    let mixed = ops::concatenate(
        &[
            Array::from_slice(&[true], &[1]).unwrap(),
            Array::from_slice(&[3u8], &[1]).unwrap(),
        ],
        Some(0),
    )
    .unwrap();
    assert_eq!(mixed.dtype(), Dtype::Uint8);
    assert_eq!(mixed.to_vec::<u8>().unwrap(), vec![1, 3]);
    let half = ops::concatenate(
        &[
            Array::from_slice(&[1i32], &[1]).unwrap(),
            Array::from_slice(&[f16::from_f32(0.5)], &[1]).unwrap(),
        ],
        Some(0),
    )
    .unwrap();
    assert_eq!(half.dtype(), Dtype::Float16);
    assert_close(&half, &[1.0, 0.5], 0.0, 0.0);
    // Errors.
    let msg = mlx_err(ops::concatenate(&[a.clone(), b.clone()], Some(0)));
    assert!(
        msg.contains("[concatenate] All the input array dimensions must match exactly except for the concatenation axis"),
        "{msg}"
    );
    assert!(msg.contains("(2,3), (2,4)"), "{msg}");
    let msg = mlx_err(ops::concatenate(&[a.clone(), b.clone()], Some(2)));
    assert!(
        msg.contains("[concatenate] Axis 2 is out of bounds for array with 2 dimensions"),
        "{msg}"
    );
    let msg = mlx_err(ops::concatenate(
        &[a.clone(), Array::zeros::<f64>(&[3]).unwrap()],
        Some(0),
    ));
    assert!(
        msg.contains("[concatenate] All the input arrays must have the same number of dimensions"),
        "{msg}"
    );
    let msg = mlx_err(ops::concatenate(&[], Some(0)));
    assert!(
        msg.contains("[concatenate] No arrays provided for concatenation"),
        "{msg}"
    );
}

#[test]
fn stack_and_unstack() {
    let a = sample(&[2, 3], 10, -1.0, 1.0);
    let b = sample(&[2, 3], 11, -1.0, 1.0);
    let (ad, bd) = (values(&a), values(&b));
    let pick = |k: usize, i: usize, j: usize| if k == 0 { ad[i * 3 + j] } else { bd[i * 3 + j] };
    let s0 = ops::stack(&[a.clone(), b.clone()], 0).unwrap();
    assert_array(
        &s0,
        &[2, 2, 3],
        &build(&[2, 2, 3], |i| pick(i[0], i[1], i[2])),
    );
    let s1 = ops::stack(&[a.clone(), b.clone()], 1).unwrap();
    assert_array(
        &s1,
        &[2, 2, 3],
        &build(&[2, 2, 3], |i| pick(i[1], i[0], i[2])),
    );
    let sl = ops::stack(&[a.clone(), b.clone()], -1).unwrap();
    assert_array(
        &sl,
        &[2, 3, 2],
        &build(&[2, 3, 2], |i| pick(i[2], i[0], i[1])),
    );
    // Mixed contiguity and dtypes.
    let i = Array::from_slice(&[1i32, 2, 3, 4, 5, 6], &[3, 2])
        .unwrap()
        .t()
        .unwrap();
    let f = Array::from_slice(&[0.5f32; 6], &[2, 3]).unwrap();
    let s = ops::stack(&[i, f], 0).unwrap();
    assert_eq!(s.dtype(), Dtype::Float32);
    assert_close(
        &s,
        &[1.0, 3.0, 5.0, 2.0, 4.0, 6.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5],
        0.0,
        0.0,
    );
    assert_eq!(
        ops::stack(&[Array::zeros::<f32>(&[0]).unwrap()], 0)
            .unwrap()
            .shape(),
        &[1, 0]
    );

    let x = sample(&[2, 3, 4], 12, -1.0, 1.0);
    let xd = values(&x);
    let parts = ops::unstack(&x, 1).unwrap();
    assert_eq!(parts.len(), 3);
    for (k, p) in parts.iter().enumerate() {
        assert_array(
            p,
            &[2, 4],
            &build(&[2, 4], |i| xd[i[0] * 12 + k * 4 + i[1]]),
        );
    }
    let last = ops::unstack(&x, -1).unwrap();
    assert_eq!(last.len(), 4);
    assert_array(
        &last[3],
        &[2, 3],
        &build(&[2, 3], |i| xd[i[0] * 12 + i[1] * 4 + 3]),
    );
    let back = ops::stack(&parts, 1).unwrap();
    assert_array(&back, &[2, 3, 4], &xd);

    let msg = mlx_err(ops::stack(&[a.clone(), a.t().unwrap()], 0));
    assert!(
        msg.contains("[stack] All arrays must have the same shape"),
        "{msg}"
    );
    let msg = mlx_err(ops::stack(&[], 0));
    assert!(
        msg.contains("[stack] No arrays provided for stacking"),
        "{msg}"
    );
    let msg = mlx_err(ops::stack(std::slice::from_ref(&a), 3));
    assert!(
        msg.contains("[stack] Axis 3 is out of bounds for array with 3 dimensions"),
        "{msg}"
    );
    let msg = mlx_err(ops::unstack(&a, 2));
    assert!(
        msg.contains("[unstack] Axis 2 is out of bounds for array with 2 dimensions"),
        "{msg}"
    );
}

#[test]
fn split_into_sections_and_at_indices() {
    let x = sample(&[6, 4], 13, -1.0, 1.0);
    let xd = values(&x);
    let parts = ops::split(&x, 3, 0).unwrap();
    assert_eq!(parts.len(), 3);
    for (k, p) in parts.iter().enumerate() {
        assert_array(p, &[2, 4], &xd[k * 8..(k + 1) * 8]);
    }
    let cols = x.split(2, -1).unwrap();
    assert_array(
        &cols[1],
        &[6, 2],
        &build(&[6, 2], |i| xd[i[0] * 4 + 2 + i[1]]),
    );
    // A transposed input.
    let t = x.t().unwrap();
    let tp = ops::split(&t, 2, 1).unwrap();
    assert_array(
        &tp[1],
        &[4, 3],
        &build(&[4, 3], |i| xd[(3 + i[1]) * 4 + i[0]]),
    );

    let r = Array::arange::<i32>(6).unwrap();
    let shapes_and_values = |parts: Vec<Array>| -> Vec<Vec<i32>> {
        parts.iter().map(|p| p.to_vec::<i32>().unwrap()).collect()
    };
    assert_eq!(
        shapes_and_values(ops::split_indices(&r, &[2, 5], 0).unwrap()),
        vec![vec![0, 1], vec![2, 3, 4], vec![5]]
    );
    // Indices out of order, past the end, or negative behave as slicing does.
    assert_eq!(
        shapes_and_values(ops::split_indices(&r, &[4, 2], 0).unwrap()),
        vec![vec![0, 1, 2, 3], vec![], vec![2, 3, 4, 5]]
    );
    assert_eq!(
        shapes_and_values(ops::split_indices(&r, &[2, 9], 0).unwrap()),
        vec![vec![0, 1], vec![2, 3, 4, 5], vec![]]
    );
    assert_eq!(
        shapes_and_values(ops::split_indices(&r, &[-2], -1).unwrap()),
        vec![vec![0, 1, 2, 3], vec![4, 5]]
    );
    assert_eq!(ops::split_indices(&r, &[], 0).unwrap().len(), 1);

    let five = Array::arange::<i32>(5).unwrap();
    let msg = mlx_err(ops::split(&five, 2, 0));
    assert!(
        msg.contains("Array split does not result in sub arrays with equal size"),
        "{msg}"
    );
    let msg = mlx_err(ops::split(&five, 0, 0));
    assert!(
        msg.contains("[split] num_splits must be positive and non-zero but got 0"),
        "{msg}"
    );
    let msg = mlx_err(ops::split(&five, 1, 1));
    assert!(
        msg.contains("[split] Axis 1 is out of bounds for array with 1 dimensions"),
        "{msg}"
    );
    let msg = mlx_err(ops::split_indices(&five, &[1], -2));
    assert!(msg.contains("[split] Axis -2 is out of bounds"), "{msg}");
}

// ---- repetition and rolling ---------------------------------------------------------------------

fn tile_ref(data: &[f64], shape: &[i32], reps: &[i32]) -> (Vec<i32>, Vec<f64>) {
    let n = shape.len().max(reps.len());
    let pad = |v: &[i32]| {
        let mut p = vec![1; n - v.len()];
        p.extend_from_slice(v);
        p
    };
    let (s, r) = (pad(shape), pad(reps));
    let out_shape: Vec<i32> = s.iter().zip(&r).map(|(a, b)| a * b).collect();
    let out = build(&out_shape, |o| {
        let idx: Vec<usize> = o.iter().zip(&s).map(|(&i, &d)| i % d as usize).collect();
        data[ravel(&idx, &s)]
    });
    (out_shape, out)
}

#[test]
fn tile_and_repeat() {
    let x = sample(&[2, 3], 14, -1.0, 1.0);
    let xd = values(&x);
    for reps in [&[2, 3][..], &[2], &[2, 1, 2], &[1, 1], &[0, 2]] {
        let (shape, want) = tile_ref(&xd, &[2, 3], reps);
        assert_array(&ops::tile(&x, reps).unwrap(), &shape, &want);
    }
    let t = x.t().unwrap();
    let (_, td) = permute_ref(&xd, &[2, 3], &[1, 0]);
    let (shape, want) = tile_ref(&td, &[3, 2], &[2, 2]);
    assert_array(&ops::tile(&t, &[2, 2]).unwrap(), &shape, &want);
    let b = Array::from_slice(&[true, false], &[2]).unwrap();
    assert_eq!(
        ops::tile(&b, &[2]).unwrap().to_vec::<bool>().unwrap(),
        vec![true, false, true, false]
    );
    let h = Array::from_slice(&[bf16::from_f32(1.5)], &[1]).unwrap();
    let ht = ops::tile(&h, &[3]).unwrap();
    assert_eq!(ht.dtype(), Dtype::Bfloat16);
    assert_close(&ht, &[1.5; 3], 0.0, 0.0);
    let msg = mlx_err(ops::tile(&x, &[-1]));
    assert!(msg.contains("Negative dimensions not allowed"), "{msg}");

    let m = Array::from_slice(&[1i32, 2, 3, 4], &[2, 2]).unwrap();
    assert_eq!(
        ops::repeat(&m, 2, None).unwrap().to_vec::<i32>().unwrap(),
        vec![1, 1, 2, 2, 3, 3, 4, 4]
    );
    let r1 = ops::repeat(&m, 2, Some(1)).unwrap();
    assert_eq!(r1.shape(), &[2, 4]);
    assert_eq!(r1.to_vec::<i32>().unwrap(), vec![1, 1, 2, 2, 3, 3, 4, 4]);
    let r0 = ops::repeat(&m, 3, Some(-2)).unwrap();
    assert_eq!(r0.shape(), &[6, 2]);
    assert_eq!(
        r0.to_vec::<i32>().unwrap(),
        vec![1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4]
    );
    let rt = ops::repeat(&m.t().unwrap(), 2, Some(0)).unwrap();
    assert_eq!(rt.to_vec::<i32>().unwrap(), vec![1, 3, 1, 3, 2, 4, 2, 4]);
    assert_eq!(ops::repeat(&m, 0, None).unwrap().shape(), &[0]);
    let f = sample(&[3, 2], 15, -1.0, 1.0);
    let fd = values(&f);
    assert_array(
        &ops::repeat(&f, 2, Some(1)).unwrap(),
        &[3, 4],
        &build(&[3, 4], |i| fd[i[0] * 2 + i[1] / 2]),
    );
    let msg = mlx_err(ops::repeat(&m, -1, None));
    assert!(
        msg.contains("[repeat] Number of repeats cannot be negative"),
        "{msg}"
    );
    let msg = mlx_err(ops::repeat(&m, 2, Some(2)));
    assert!(
        msg.contains("[repeat] Axis 2 is out of bounds for array with 2 dimensions"),
        "{msg}"
    );
}

fn roll_ref(data: &[f64], shape: &[i32], shifts: &[(usize, i32)]) -> Vec<f64> {
    build(shape, |o| {
        let mut idx = o.to_vec();
        for &(a, s) in shifts {
            let n = shape[a];
            idx[a] = (idx[a] as i32 - s).rem_euclid(n) as usize;
        }
        data[ravel(&idx, shape)]
    })
}

#[test]
fn roll_along_axes() {
    let x = sample(&[3, 4], 16, -1.0, 1.0);
    let xd = values(&x);
    let sh = [3, 4];
    assert_array(
        &ops::roll(&x, &[1], Some(&[0])).unwrap(),
        &sh,
        &roll_ref(&xd, &sh, &[(0, 1)]),
    );
    assert_array(
        &ops::roll(&x, &[-5], Some(&[1])).unwrap(),
        &sh,
        &roll_ref(&xd, &sh, &[(1, -5)]),
    );
    assert_array(
        &ops::roll(&x, &[1, 2], Some(&[0, -1])).unwrap(),
        &sh,
        &roll_ref(&xd, &sh, &[(0, 1), (1, 2)]),
    );
    // One shift for several axes.
    assert_array(
        &ops::roll(&x, &[2], Some(&[0, 1])).unwrap(),
        &sh,
        &roll_ref(&xd, &sh, &[(0, 2), (1, 2)]),
    );
    // Flattened: the shifts add up.
    assert_array(
        &ops::roll(&x, &[7], None).unwrap(),
        &sh,
        &roll_ref(&xd, &[12], &[(0, 7)]),
    );
    assert_array(
        &ops::roll(&x, &[1, 2], None).unwrap(),
        &sh,
        &roll_ref(&xd, &[12], &[(0, 3)]),
    );
    // Transposed, integer, empty.
    let t = x.t().unwrap();
    let (_, td) = permute_ref(&xd, &sh, &[1, 0]);
    assert_array(
        &ops::roll(&t, &[1], Some(&[1])).unwrap(),
        &[4, 3],
        &roll_ref(&td, &[4, 3], &[(1, 1)]),
    );
    let r = Array::arange::<i32>(5).unwrap();
    assert_eq!(
        ops::roll(&r, &[-7], None).unwrap().to_vec::<i32>().unwrap(),
        vec![2, 3, 4, 0, 1]
    );
    assert_eq!(
        ops::roll(&Array::zeros::<f32>(&[0]).unwrap(), &[2], None)
            .unwrap()
            .shape(),
        &[0]
    );
    let msg = mlx_err(ops::roll(&x, &[1], Some(&[2])));
    assert!(
        msg.contains("[roll] Invalid axis 2 for array with 2 dimensions"),
        "{msg}"
    );
    // Shifts beyond the number of axes are ignored, as in MLX.
    assert_array(
        &ops::roll(&x, &[1, 2, 3], Some(&[0, 1])).unwrap(),
        &sh,
        &roll_ref(&xd, &sh, &[(0, 1), (1, 2)]),
    );
    let msg = mlx_err(ops::roll(&x, &[1, 2], Some(&[0, 1, 0])));
    assert!(
        msg.contains("[roll] At least one shift value per axis is required, 2 provided for 3 axes"),
        "{msg}"
    );
    let msg = mlx_err(ops::roll(&x, &[], Some(&[0])));
    assert!(
        msg.contains("[roll] At least one shift value per axis is required"),
        "{msg}"
    );
}

// ---- padding ------------------------------------------------------------------------------------

fn pad_ref(
    data: &[f64],
    shape: &[i32],
    widths: &[(i32, i32)],
    mode: PadMode,
    value: f64,
) -> (Vec<i32>, Vec<f64>) {
    let out_shape: Vec<i32> = shape
        .iter()
        .zip(widths)
        .map(|(&n, &(lo, hi))| n + lo + hi)
        .collect();
    let out = build(&out_shape, |o| {
        let mut idx = Vec::new();
        for (d, &(lo, _)) in widths.iter().enumerate() {
            let n = shape[d] as i64;
            let i = o[d] as i64 - i64::from(lo);
            let j = if (0..n).contains(&i) {
                i
            } else {
                match mode {
                    PadMode::Constant => return value,
                    PadMode::Edge => i.clamp(0, n - 1),
                    PadMode::Reflect => {
                        if i < 0 {
                            -i
                        } else {
                            2 * (n - 1) - i
                        }
                    }
                    PadMode::Symmetric => {
                        if i < 0 {
                            -i - 1
                        } else {
                            2 * n - 1 - i
                        }
                    }
                }
            };
            idx.push(j as usize);
        }
        data[ravel(&idx, shape)]
    });
    (out_shape, out)
}

#[test]
fn pad_in_every_mode() {
    let x = sample(&[3, 4], 17, -1.0, 1.0);
    let xd = values(&x);
    let nine = Array::scalar(9.0f64);
    for mode in [
        PadMode::Constant,
        PadMode::Edge,
        PadMode::Reflect,
        PadMode::Symmetric,
    ] {
        for widths in [&[(1, 0), (2, 1)][..], &[(0, 2), (3, 3)], &[(2, 2), (0, 0)]] {
            let (shape, want) = pad_ref(&xd, &[3, 4], widths, mode, 9.0);
            assert_array(&ops::pad(&x, widths, &nine, mode).unwrap(), &shape, &want);
        }
        // One pair for every axis.
        let (shape, want) = pad_ref(&xd, &[3, 4], &[(1, 2), (1, 2)], mode, 9.0);
        assert_array(
            &ops::pad(&x, &[(1, 2)], &nine, mode).unwrap(),
            &shape,
            &want,
        );
        // A transposed input.
        let t = x.t().unwrap();
        let (_, td) = permute_ref(&xd, &[3, 4], &[1, 0]);
        let (shape, want) = pad_ref(&td, &[4, 3], &[(2, 1), (1, 2)], mode, 9.0);
        assert_array(
            &ops::pad(&t, &[(2, 1), (1, 2)], &nine, mode).unwrap(),
            &shape,
            &want,
        );
    }
    let r = Array::from_slice(&[1i32, 2, 3], &[3]).unwrap();
    let zero = Array::scalar(0i32);
    let p = |mode| {
        ops::pad(&r, &[(2, 2)], &zero, mode)
            .unwrap()
            .to_vec::<i32>()
            .unwrap()
    };
    assert_eq!(p(PadMode::Constant), vec![0, 0, 1, 2, 3, 0, 0]);
    assert_eq!(p(PadMode::Edge), vec![1, 1, 1, 2, 3, 3, 3]);
    assert_eq!(p(PadMode::Reflect), vec![3, 2, 1, 2, 3, 2, 1]);
    assert_eq!(p(PadMode::Symmetric), vec![2, 1, 1, 2, 3, 3, 2]);
    assert_eq!(PadMode::default(), PadMode::Constant);
    // The value takes the array's dtype.
    let v = ops::pad(&r, &[(1, 1)], &Array::scalar(7.9f32), PadMode::Constant).unwrap();
    assert_eq!(v.dtype(), Dtype::Int32);
    assert_eq!(v.to_vec::<i32>().unwrap(), vec![7, 1, 2, 3, 7]);
    let b = Array::from_slice(&[false], &[1, 1]).unwrap();
    let pb = ops::pad(
        &b,
        &[(1, 0), (0, 1)],
        &Array::scalar(true),
        PadMode::Constant,
    )
    .unwrap();
    assert_eq!(pb.to_vec::<bool>().unwrap(), vec![true, true, false, true]);
    let u = Array::from_slice(&[5u8, 6], &[2]).unwrap();
    assert_eq!(
        ops::pad(&u, &[(0, 2)], &Array::scalar(0u8), PadMode::Edge)
            .unwrap()
            .to_vec::<u8>()
            .unwrap(),
        vec![5, 6, 6, 6]
    );
    let h = Array::from_slice(&[f16::from_f32(0.5), f16::from_f32(1.5)], &[2]).unwrap();
    let ph = ops::pad(&h, &[(1, 1)], &Array::scalar(-1.0f32), PadMode::Constant).unwrap();
    assert_eq!(ph.dtype(), Dtype::Float16);
    assert_close(&ph, &[-1.0, 0.5, 1.5, -1.0], 0.0, 0.0);
    let e = ops::pad(
        &Array::zeros::<f32>(&[0]).unwrap(),
        &[(1, 1)],
        &Array::scalar(5.0f32),
        PadMode::Constant,
    )
    .unwrap();
    assert_eq!(e.to_vec::<f32>().unwrap(), vec![5.0, 5.0]);
    // Errors.
    let msg = mlx_err(ops::pad(
        &x,
        &[(1, 1), (1, 1), (1, 1)],
        &nine,
        PadMode::Constant,
    ));
    assert!(
        msg.contains("Invalid number of padding sizes passed to pad with axes of size 2"),
        "{msg}"
    );
    let msg = mlx_err(ops::pad(&x, &[], &nine, PadMode::Edge));
    assert!(msg.contains("Invalid number of padding sizes"), "{msg}");
    let msg = mlx_err(ops::pad(&x, &[(-1, 1), (0, 0)], &nine, PadMode::Constant));
    assert!(
        msg.contains("Invalid low padding size (-1) passed to pad for axis 0. Padding sizes must be non-negative"),
        "{msg}"
    );
    let msg = mlx_err(ops::pad(&x, &[(0, 0), (1, -2)], &nine, PadMode::Constant));
    assert!(msg.contains("Invalid high padding size (-2)"), "{msg}");
}

// ---- views --------------------------------------------------------------------------------------

#[test]
fn as_strided_views() {
    let r = Array::arange::<i32>(6).unwrap();
    let v = ops::as_strided(&r, &[2, 3], &[1, 2], 0).unwrap();
    assert_eq!(v.shape(), &[2, 3]);
    assert_eq!(v.to_vec::<i32>().unwrap(), vec![0, 2, 4, 1, 3, 5]);
    assert_eq!(
        ops::as_strided(&r, &[3], &[-1], 5)
            .unwrap()
            .to_vec::<i32>()
            .unwrap(),
        vec![5, 4, 3]
    );
    // Sliding windows.
    let w = ops::as_strided(&r, &[4, 3], &[1, 1], 0).unwrap();
    assert_eq!(
        w.to_vec::<i32>().unwrap(),
        vec![0, 1, 2, 1, 2, 3, 2, 3, 4, 3, 4, 5]
    );
    // Offsets, broadcasting (stride 0) and a transposed source (its logical order is used).
    assert_eq!(
        ops::as_strided(&r, &[2, 2], &[0, 1], 4)
            .unwrap()
            .to_vec::<i32>()
            .unwrap(),
        vec![4, 5, 4, 5]
    );
    let t = r.reshape(&[2, 3]).unwrap().t().unwrap();
    assert_eq!(
        ops::as_strided(&t, &[6], &[1], 0)
            .unwrap()
            .to_vec::<i32>()
            .unwrap(),
        vec![0, 3, 1, 4, 2, 5]
    );
    let f = sample(&[10], 18, -1.0, 1.0);
    let fd = values(&f);
    let fv = ops::as_strided(&f, &[3, 2], &[3, 2], 1).unwrap();
    assert_array(
        &fv,
        &[3, 2],
        &build(&[3, 2], |i| fd[1 + 3 * i[0] + 2 * i[1]]),
    );
    assert_eq!(
        ops::as_strided(&r, &[0, 9], &[100, 100], 50)
            .unwrap()
            .shape(),
        &[0, 9]
    );
    // Reaching outside the data is refused before MLX sees it.
    for (shape, strides, offset) in [
        (&[2, 3][..], &[3, 1][..], 1usize),
        (&[3], &[-1], 1),
        (&[7], &[1], 0),
        (&[2], &[1, 1], 0),
        (&[-1], &[1], 0),
    ] {
        let err = ops::as_strided(&r, shape, strides, offset).unwrap_err();
        assert!(
            matches!(err, Error::InvalidArgument(ref m) if m.starts_with("[as_strided]")),
            "{shape:?} {strides:?} {offset}: {err:?}"
        );
    }
}

#[test]
fn view_reinterprets_bytes() {
    let f = Array::from_slice(&[1.0f32, -2.5], &[2]).unwrap();
    let bits = ops::view(&f, Dtype::Int32).unwrap();
    assert_eq!(bits.dtype(), Dtype::Int32);
    assert_eq!(
        bits.to_vec::<i32>().unwrap(),
        vec![1.0f32.to_bits() as i32, (-2.5f32).to_bits() as i32]
    );
    let bytes = f.view(Dtype::Uint8).unwrap();
    assert_eq!(bytes.shape(), &[8]);
    let mut want = 1.0f32.to_le_bytes().to_vec();
    want.extend((-2.5f32).to_le_bytes());
    assert_eq!(bytes.to_vec::<u8>().unwrap(), want);
    let wide = Array::from_slice(&[1i8, 0, 2, 0, 3, 1, 0, 0], &[2, 4]).unwrap();
    let w = ops::view(&wide, Dtype::Int16).unwrap();
    assert_eq!(w.shape(), &[2, 2]);
    assert_eq!(w.to_vec::<i16>().unwrap(), vec![1, 2, 259, 0]);
    // A transposed input is viewed in its logical order.
    let t = Array::from_slice(&[1i8, 0, 2, 0, 3, 0, 4, 0], &[2, 4])
        .unwrap()
        .t()
        .unwrap();
    let tv = ops::view(&t, Dtype::Int16).unwrap();
    assert_eq!(tv.shape(), &[4, 1]);
    assert_eq!(
        tv.to_vec::<i16>().unwrap(),
        vec![1 + 3 * 256, 0, 2 + 4 * 256, 0]
    );
    let b = ops::view(&Array::from_slice(&[1u8, 0], &[2]).unwrap(), Dtype::Bool).unwrap();
    assert_eq!(b.to_vec::<bool>().unwrap(), vec![true, false]);
    let h = Array::from_slice(&[f16::from_f32(1.0), f16::from_f32(-0.5)], &[2]).unwrap();
    assert_eq!(
        ops::view(&h, Dtype::Uint16)
            .unwrap()
            .to_vec::<u16>()
            .unwrap(),
        vec![f16::from_f32(1.0).to_bits(), f16::from_f32(-0.5).to_bits()]
    );
    let bf = Array::from_slice(&[bf16::from_f32(3.0)], &[1]).unwrap();
    assert_eq!(
        ops::view(&bf, Dtype::Int16)
            .unwrap()
            .to_vec::<i16>()
            .unwrap(),
        vec![bf16::from_f32(3.0).to_bits() as i16]
    );
    let d = ops::view(&Array::from_slice(&[2.0f64], &[1]).unwrap(), Dtype::Uint32).unwrap();
    let dbits = 2.0f64.to_bits();
    assert_eq!(
        d.to_vec::<u32>().unwrap(),
        vec![dbits as u32, (dbits >> 32) as u32]
    );
    let msg = mlx_err(ops::view(
        &Array::from_slice(&[1i8, 2, 3], &[3]).unwrap(),
        Dtype::Int16,
    ));
    assert!(msg.contains("[view] When viewing as a larger dtype, the size in bytes of the last axis must be a multiple"), "{msg}");
    let msg = mlx_err(ops::view(&Array::scalar(1i32), Dtype::Int8));
    assert!(
        msg.contains(
            "[view] Changing the type of a scalar is only allowed for types with the same size"
        ),
        "{msg}"
    );
}

#[test]
fn atleast_nd() {
    let s = Array::scalar(2.5f32);
    let v = Array::from_slice(&[1.0f32, 2.0], &[2]).unwrap();
    let m = Array::zeros::<i32>(&[4, 5]).unwrap();
    let big = Array::zeros::<u8>(&[2, 3, 4, 5]).unwrap();
    assert_eq!(ops::atleast_1d(&s).unwrap().shape(), &[1]);
    assert_eq!(ops::atleast_1d(&v).unwrap().shape(), &[2]);
    assert_eq!(ops::atleast_1d(&big).unwrap().shape(), &[2, 3, 4, 5]);
    assert_eq!(ops::atleast_2d(&s).unwrap().shape(), &[1, 1]);
    assert_eq!(ops::atleast_2d(&v).unwrap().shape(), &[1, 2]);
    assert_eq!(ops::atleast_2d(&m).unwrap().shape(), &[4, 5]);
    assert_eq!(ops::atleast_3d(&s).unwrap().shape(), &[1, 1, 1]);
    assert_eq!(ops::atleast_3d(&v).unwrap().shape(), &[1, 2, 1]);
    assert_eq!(ops::atleast_3d(&m).unwrap().shape(), &[4, 5, 1]);
    assert_eq!(ops::atleast_3d(&big).unwrap().shape(), &[2, 3, 4, 5]);
    assert_eq!(
        ops::atleast_3d(&v).unwrap().to_vec::<f32>().unwrap(),
        vec![1.0, 2.0]
    );
    assert_eq!(
        ops::atleast_2d(&s).unwrap().to_vec::<f32>().unwrap(),
        vec![2.5]
    );
}

#[test]
fn meshgrid_grids() {
    let a = Array::from_slice(&[1.0f32, 2.0], &[2]).unwrap();
    let b = Array::from_slice(&[10i32, 20, 30], &[3]).unwrap();
    let xy = ops::meshgrid(&[a.clone(), b.clone()], false, Indexing::Xy).unwrap();
    assert_array(&xy[0], &[3, 2], &[1.0, 2.0, 1.0, 2.0, 1.0, 2.0]);
    assert_array(&xy[1], &[3, 2], &[10.0, 10.0, 20.0, 20.0, 30.0, 30.0]);
    assert_eq!(xy[1].dtype(), Dtype::Int32);
    let ij = ops::meshgrid(&[a.clone(), b.clone()], false, Indexing::Ij).unwrap();
    assert_array(&ij[0], &[2, 3], &[1.0, 1.0, 1.0, 2.0, 2.0, 2.0]);
    assert_array(&ij[1], &[2, 3], &[10.0, 20.0, 30.0, 10.0, 20.0, 30.0]);
    let sparse = ops::meshgrid(&[a.clone(), b.clone()], true, Indexing::Ij).unwrap();
    assert_array(&sparse[0], &[2, 1], &[1.0, 2.0]);
    assert_array(&sparse[1], &[1, 3], &[10.0, 20.0, 30.0]);
    let sxy = ops::meshgrid(&[a.clone(), b.clone()], true, Indexing::default()).unwrap();
    assert_eq!((sxy[0].shape(), sxy[1].shape()), (&[1, 2][..], &[3, 1][..]));
    let c = Array::arange::<f32>(4).unwrap();
    let three = ops::meshgrid(&[a, b, c], false, Indexing::Xy).unwrap();
    for g in &three {
        assert_eq!(g.shape(), &[3, 2, 4]);
    }
    assert_array(&three[2], &[3, 2, 4], &build(&[3, 2, 4], |i| i[2] as f64));
    assert!(ops::meshgrid(&[], false, Indexing::Xy).unwrap().is_empty());
}

// ---- diagonals and triangles --------------------------------------------------------------------

/// The diagonal at `offset` of axes (a1, a2), appended as the last axis.
fn diagonal_ref(
    data: &[f64],
    shape: &[i32],
    offset: i32,
    a1: usize,
    a2: usize,
) -> (Vec<i32>, Vec<f64>) {
    let (r0, c0) = if offset >= 0 {
        (0, offset)
    } else {
        (-offset, 0)
    };
    let len = (shape[a1] - r0).min(shape[a2] - c0).max(0);
    let rest: Vec<usize> = (0..shape.len()).filter(|&d| d != a1 && d != a2).collect();
    let mut out_shape: Vec<i32> = rest.iter().map(|&d| shape[d]).collect();
    out_shape.push(len);
    let out = build(&out_shape, |o| {
        let mut idx = vec![0; shape.len()];
        for (k, &d) in rest.iter().enumerate() {
            idx[d] = o[k];
        }
        let t = o[rest.len()] as i32;
        idx[a1] = (r0 + t) as usize;
        idx[a2] = (c0 + t) as usize;
        data[ravel(&idx, shape)]
    });
    (out_shape, out)
}

#[test]
fn diag_diagonal_and_trace() {
    let m = sample(&[3, 4], 19, -1.0, 1.0);
    let md = values(&m);
    for k in [-2, -1, 0, 1, 3, 4] {
        let (shape, want) = diagonal_ref(&md, &[3, 4], k, 0, 1);
        assert_array(&ops::diag(&m, k).unwrap(), &shape, &want);
        assert_array(&m.diagonal(k, 0, 1).unwrap(), &shape, &want);
        let tr = ops::trace(&m, k, 0, 1, None).unwrap();
        assert_eq!(tr.shape(), &[] as &[i32]);
        assert_close(&tr, &[want.iter().sum()], 1e-12, 1e-12);
    }
    // 1-d input: a square matrix with the vector on diagonal k.
    let v = Array::from_slice(&[1i32, 2], &[2]).unwrap();
    assert_array(&ops::diag(&v, 0).unwrap(), &[2, 2], &[1.0, 0.0, 0.0, 2.0]);
    assert_array(
        &v.diag(1).unwrap(),
        &[3, 3],
        &[0.0, 1.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0],
    );
    assert_array(
        &ops::diag(&v, -1).unwrap(),
        &[3, 3],
        &[0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 2.0, 0.0],
    );
    // 3-d with other axes, negative axes, and a transposed input.
    let x = sample(&[2, 3, 4], 20, -1.0, 1.0);
    let xd = values(&x);
    for (offset, a1, a2) in [(1, 0, 2), (0, 1, 2), (-1, 2, 1), (2, 2, 0)] {
        let (shape, want) = diagonal_ref(&xd, &[2, 3, 4], offset, a1, a2);
        assert_array(
            &ops::diagonal(&x, offset, a1 as i32, a2 as i32).unwrap(),
            &shape,
            &want,
        );
        let len = *shape.last().unwrap() as usize;
        let sums: Vec<f64> = if len == 0 {
            vec![0.0; shape[0] as usize]
        } else {
            want.chunks(len).map(|c| c.iter().sum()).collect()
        };
        let tr = ops::trace(&x, offset, a1 as i32, a2 as i32, None).unwrap();
        assert_close(&tr, &sums, 1e-12, 1e-12);
    }
    // Empty diagonals sum to zero, in the dtype trace would give.
    assert_array(&ops::trace(&x, 5, 1, 2, None).unwrap(), &[2], &[0.0, 0.0]);
    assert_array(
        &ops::trace(&x, -3, -2, -1, None).unwrap(),
        &[2],
        &[0.0, 0.0],
    );
    let ei = ops::trace(&Array::zeros::<i8>(&[2, 2, 3]).unwrap(), 4, 0, 1, None).unwrap();
    assert_eq!((ei.shape(), ei.dtype()), (&[3][..], Dtype::Int32));
    assert_eq!(ei.to_vec::<i32>().unwrap(), vec![0, 0, 0]);
    let (shape, want) = diagonal_ref(&xd, &[2, 3, 4], 0, 1, 2);
    assert_array(&ops::diagonal(&x, 0, -2, -1).unwrap(), &shape, &want);
    let t = x.transpose(Some(&[2, 0, 1])).unwrap();
    let (_, td) = permute_ref(&xd, &[2, 3, 4], &[2, 0, 1]);
    let (shape, want) = diagonal_ref(&td, &[4, 2, 3], 1, 0, 2);
    assert_array(&ops::diagonal(&t, 1, 0, 2).unwrap(), &shape, &want);
    // Trace dtypes.
    let i8m = Array::from_slice(&[100i8, 2, 3, 100], &[2, 2]).unwrap();
    let ti = ops::trace(&i8m, 0, 0, 1, None).unwrap();
    assert_eq!(ti.dtype(), Dtype::Int32);
    assert_eq!(ti.item::<i32>().unwrap(), 200);
    let th = ops::trace(&i8m, 0, 0, 1, Some(Dtype::Float16)).unwrap();
    assert_eq!(th.dtype(), Dtype::Float16);
    assert_close(&th, &[200.0], 0.0, 0.0);
    let bm = Array::from_slice(&[true, false, true, true], &[2, 2]).unwrap();
    assert_eq!(
        ops::diag(&bm, 0).unwrap().to_vec::<bool>().unwrap(),
        vec![true, true]
    );
    // Errors.
    let msg = mlx_err(ops::diag(&x, 0));
    assert!(
        msg.contains("[diag] array must be 1-D or 2-D, got array with 3 dimensions"),
        "{msg}"
    );
    let msg = mlx_err(ops::diagonal(&x, 0, 1, 1));
    assert!(
        msg.contains("[diagonal] axis1 and axis2 cannot be the same axis"),
        "{msg}"
    );
    let msg = mlx_err(ops::diagonal(&v, 0, 0, 1));
    assert!(
        msg.contains("[diagonal] Array must have at least two dimensions, but got 1 dimensions"),
        "{msg}"
    );
    let msg = mlx_err(ops::trace(&v, 0, 0, 1, None));
    assert!(
        msg.contains("[trace] Array must have at least two dimensions"),
        "{msg}"
    );
}

#[test]
fn triangles() {
    for (n, m, k) in [(3, 3, 0), (2, 4, 1), (4, 2, -1), (3, 5, -3)] {
        let t = ops::tri(n, m, k, Dtype::Float32).unwrap();
        assert_eq!(t.dtype(), Dtype::Float32);
        assert_array(
            &t,
            &[n, m],
            &build(&[n, m], |i| {
                f64::from(u8::from(i[1] as i32 <= i[0] as i32 + k))
            }),
        );
    }
    let ti = ops::tri(2, 2, 0, Dtype::Int32).unwrap();
    assert_eq!(ti.to_vec::<i32>().unwrap(), vec![1, 0, 1, 1]);
    assert_eq!(ops::tri(0, 3, 0, Dtype::Float32).unwrap().shape(), &[0, 3]);

    let x = sample(&[2, 3, 4], 21, -1.0, 1.0);
    let xd = values(&x);
    for k in [-2, -1, 0, 1, 3] {
        let lower = build(&[2, 3, 4], |i| {
            if i[2] as i32 <= i[1] as i32 + k {
                xd[ravel(i, &[2, 3, 4])]
            } else {
                0.0
            }
        });
        assert_array(&ops::tril(&x, k).unwrap(), &[2, 3, 4], &lower);
        let upper = build(&[2, 3, 4], |i| {
            if i[2] as i32 >= i[1] as i32 + k {
                xd[ravel(i, &[2, 3, 4])]
            } else {
                0.0
            }
        });
        assert_array(&ops::triu(&x, k).unwrap(), &[2, 3, 4], &upper);
    }
    let t = x.transpose(Some(&[0, 2, 1])).unwrap();
    let (_, td) = permute_ref(&xd, &[2, 3, 4], &[0, 2, 1]);
    let lower = build(&[2, 4, 3], |i| {
        if i[2] <= i[1] {
            td[ravel(i, &[2, 4, 3])]
        } else {
            0.0
        }
    });
    assert_array(&ops::tril(&t, 0).unwrap(), &[2, 4, 3], &lower);
    let b = Array::from_slice(&[true; 4], &[2, 2]).unwrap();
    assert_eq!(
        ops::tril(&b, 0).unwrap().to_vec::<bool>().unwrap(),
        vec![true, false, true, true]
    );
    let u = Array::from_slice(&[1u32; 9], &[3, 3]).unwrap();
    assert_eq!(
        ops::triu(&u, 1).unwrap().to_vec::<u32>().unwrap(),
        vec![0, 1, 1, 0, 0, 1, 0, 0, 0]
    );
    let msg = mlx_err(ops::tril(&Array::zeros::<f32>(&[3]).unwrap(), 0));
    assert!(msg.contains("[tril] array must be at least 2-D"), "{msg}");
    let msg = mlx_err(ops::triu(&Array::zeros::<f32>(&[3]).unwrap(), 0));
    assert!(msg.contains("[triu] array must be at least 2-D"), "{msg}");
}

#[test]
fn like_constructors_and_identity() {
    let a = Array::from_slice(&[1i32, 2, 3, 4, 5, 6], &[2, 3]).unwrap();
    let z = ops::zeros_like(&a, None).unwrap();
    assert_eq!((z.shape(), z.dtype()), (&[2, 3][..], Dtype::Int32));
    assert_eq!(z.to_vec::<i32>().unwrap(), vec![0; 6]);
    let zh = ops::zeros_like(&a, Some(Dtype::Float16)).unwrap();
    assert_eq!(zh.dtype(), Dtype::Float16);
    assert_close(&zh, &[0.0; 6], 0.0, 0.0);
    let o = ops::ones_like(&a.t().unwrap(), None).unwrap();
    assert_eq!((o.shape(), o.dtype()), (&[3, 2][..], Dtype::Int32));
    assert_eq!(o.to_vec::<i32>().unwrap(), vec![1; 6]);
    let ob = ops::ones_like(&a, Some(Dtype::Bool)).unwrap();
    assert_eq!(ob.to_vec::<bool>().unwrap(), vec![true; 6]);
    let f = ops::full_like(&a, &Array::scalar(2.5f32), None).unwrap();
    assert_eq!(f.dtype(), Dtype::Int32);
    assert_eq!(f.to_vec::<i32>().unwrap(), vec![2; 6]);
    let fd = ops::full_like(&a, &Array::scalar(2.5f32), Some(Dtype::Float64)).unwrap();
    assert_eq!(fd.to_vec::<f64>().unwrap(), vec![2.5; 6]);
    let row = Array::from_slice(&[7u8, 8, 9], &[3]).unwrap();
    let fr = ops::full_like(&a, &row, Some(Dtype::Uint8)).unwrap();
    assert_eq!(fr.to_vec::<u8>().unwrap(), vec![7, 8, 9, 7, 8, 9]);
    assert_eq!(
        ops::zeros_like(&Array::zeros::<f32>(&[0, 2]).unwrap(), None)
            .unwrap()
            .shape(),
        &[0, 2]
    );

    let i = ops::identity(3, Dtype::Int32).unwrap();
    assert_eq!(i.to_vec::<i32>().unwrap(), vec![1, 0, 0, 0, 1, 0, 0, 0, 1]);
    let ib = ops::identity(2, Dtype::Bfloat16).unwrap();
    assert_eq!(ib.dtype(), Dtype::Bfloat16);
    assert_close(&ib, &[1.0, 0.0, 0.0, 1.0], 0.0, 0.0);
    assert_eq!(ops::identity(0, Dtype::Float32).unwrap().shape(), &[0, 0]);
    let msg = mlx_err(ops::identity(-1, Dtype::Float32));
    assert!(
        msg.contains("[eye] N and M must be positive integers"),
        "{msg}"
    );
}

// ---- gradients ----------------------------------------------------------------------------------

#[test]
fn reshaping_gradients() {
    let x = sample(&[2, 3, 4], 31, -1.0, 1.0);
    grad_ok(&x, |a| ops::flatten(a, 1, 2));
    grad_ok(&x, |a| ops::unflatten(a, -1, &[2, 2]));
    grad_ok(&x, |a| ops::squeeze(&ops::expand_dims(a, &[0, 2])?, None));
    grad_ok(&x, |a| ops::swapaxes(a, 0, 2));
    grad_ok(&x, |a| ops::moveaxis(a, -1, 0));
    grad_ok(&x, ops::matrix_transpose);
    grad_ok(&x, |a| {
        ops::broadcast_to(&ops::expand_dims(a, &[1])?, &[2, 3, 3, 4])
    });
    grad_ok(&x, ops::atleast_3d);
    let v = sample(&[3], 32, -1.0, 1.0);
    grad_ok(&v, ops::atleast_2d);
    grad_ok(&v, |a| ops::broadcast_to(a, &[2, 3]));
    // broadcast_arrays and meshgrid: every output, both inputs.
    let w = sample(&[2, 1], 33, -1.0, 1.0);
    let pair = [v.clone(), w];
    for argnum in 0..2 {
        check_grad(
            |a: &[Array]| weighted_all(&ops::broadcast_arrays(a)?),
            &pair,
            argnum,
            1e-6,
            1e-6,
        );
    }
    let u = sample(&[2], 34, -1.0, 1.0);
    let grid_in = [v, u];
    for argnum in 0..2 {
        for indexing in [Indexing::Xy, Indexing::Ij] {
            check_grad(
                |a: &[Array]| weighted_all(&ops::meshgrid(a, false, indexing)?),
                &grid_in,
                argnum,
                1e-6,
                1e-6,
            );
        }
    }
}

#[test]
fn joining_and_splitting_gradients() {
    let a = sample(&[2, 3], 41, -1.0, 1.0);
    let b = sample(&[2, 4], 42, -1.0, 1.0);
    let ab = [a.clone(), b];
    for argnum in 0..2 {
        check_grad(
            |x: &[Array]| weighted(&ops::concatenate(x, Some(-1))?, 1),
            &ab,
            argnum,
            1e-6,
            1e-6,
        );
        check_grad(
            |x: &[Array]| weighted(&ops::concatenate(x, None)?, 2),
            &ab,
            argnum,
            1e-6,
            1e-6,
        );
    }
    let c = sample(&[2, 3], 43, -1.0, 1.0);
    let ac = [a.clone(), c];
    for argnum in 0..2 {
        check_grad(
            |x: &[Array]| weighted(&ops::stack(x, 1)?, 3),
            &ac,
            argnum,
            1e-6,
            1e-6,
        );
    }
    let x = sample(&[4, 6], 44, -1.0, 1.0);
    check_grad(
        |v: &[Array]| weighted_all(&ops::unstack(&v[0], 1)?),
        std::slice::from_ref(&x),
        0,
        1e-6,
        1e-6,
    );
    check_grad(
        |v: &[Array]| weighted_all(&ops::split(&v[0], 2, 0)?),
        std::slice::from_ref(&x),
        0,
        1e-6,
        1e-6,
    );
    check_grad(
        |v: &[Array]| weighted_all(&ops::split_indices(&v[0], &[1, 4], -1)?),
        std::slice::from_ref(&x),
        0,
        1e-6,
        1e-6,
    );
    // Only one piece used: the others get zero gradient.
    check_grad(
        |v: &[Array]| weighted(&ops::split(&v[0], 3, 1)?[1], 4),
        std::slice::from_ref(&x),
        0,
        1e-6,
        1e-6,
    );
}

#[test]
fn repetition_and_padding_gradients() {
    let x = sample(&[3, 4], 51, -1.0, 1.0);
    grad_ok(&x, |a| ops::tile(a, &[2, 3]));
    grad_ok(&x, |a| ops::tile(a, &[2, 1, 2]));
    grad_ok(&x, |a| ops::repeat(a, 3, Some(1)));
    grad_ok(&x, |a| ops::repeat(a, 2, None));
    grad_ok(&x, |a| ops::roll(a, &[1, -2], Some(&[0, 1])));
    grad_ok(&x, |a| ops::roll(a, &[5], None));
    let zero = Array::scalar(0.0f64);
    for mode in [
        PadMode::Constant,
        PadMode::Edge,
        PadMode::Reflect,
        PadMode::Symmetric,
    ] {
        grad_ok(&x, |a| ops::pad(a, &[(1, 2), (2, 1)], &zero, mode));
    }
    grad_ok(&x, |a| ops::as_strided(a, &[3, 2, 2], &[4, 1, 2], 0));
    grad_ok(&x, |a| ops::as_strided(a, &[5, 3], &[2, 1], 1));
    grad_ok(&x, |a| ops::diagonal(a, 1, 0, 1));
    grad_ok(&x, |a| ops::diag(a, -1));
    grad_ok(&sample(&[3], 52, -1.0, 1.0), |a| ops::diag(a, 1));
    grad_ok(&x, |a| ops::trace(a, 0, 0, 1, None));
    grad_ok(&x, |a| ops::tril(a, 0));
    grad_ok(&x, |a| ops::triu(a, 1));
    let x3 = sample(&[2, 3, 3], 53, -1.0, 1.0);
    grad_ok(&x3, |a| ops::trace(a, -1, 1, 2, None));
    grad_ok(&x3, |a| ops::diagonal(a, 0, 2, 0));
    // float32 with a coarser step.
    let x32 = x.astype(Dtype::Float32).unwrap();
    check_grad(
        |v: &[Array]| {
            weighted(
                &ops::pad(&v[0], &[(1, 1)], &Array::scalar(0.0f32), PadMode::Reflect)?,
                6,
            )
        },
        &[x32],
        0,
        1e-3,
        1e-2,
    );
}

#[test]
fn every_dtype() {
    let src = Array::from_slice(&[3i32, 0, 2, 2, 1, 4, 0, 1, 3, 1, 2, 0], &[3, 4]).unwrap();
    let sh = [3, 4];
    for dtype in [
        Dtype::Bool,
        Dtype::Uint8,
        Dtype::Uint16,
        Dtype::Uint64,
        Dtype::Int8,
        Dtype::Int32,
        Dtype::Int64,
        Dtype::Float16,
        Dtype::Bfloat16,
        Dtype::Float32,
        Dtype::Float64,
    ] {
        let x = src.astype(dtype).unwrap();
        let d = values(&x);
        let same = |got: Array, shape: &[i32], want: &[f64]| {
            assert_eq!(got.dtype(), dtype);
            assert_array(&got, shape, want);
        };
        let (tshape, td) = permute_ref(&d, &sh, &[1, 0]);
        same(ops::swapaxes(&x, 0, 1).unwrap(), &tshape, &td);
        same(ops::flatten(&x.t().unwrap(), 0, -1).unwrap(), &[12], &td);
        let mut cat = d.clone();
        cat.extend(&d);
        same(
            ops::concatenate(&[x.clone(), x.clone()], Some(0)).unwrap(),
            &[6, 4],
            &cat,
        );
        same(
            ops::stack(&[x.clone(), x.clone()], 0).unwrap(),
            &[2, 3, 4],
            &cat,
        );
        let parts = ops::split(&x, 2, 1).unwrap();
        same(
            parts[1].clone(),
            &[3, 2],
            &build(&[3, 2], |i| d[i[0] * 4 + 2 + i[1]]),
        );
        let (shape, want) = tile_ref(&d, &sh, &[2, 1]);
        same(ops::tile(&x, &[2, 1]).unwrap(), &shape, &want);
        same(
            ops::repeat(&x, 2, Some(0)).unwrap(),
            &[6, 4],
            &build(&[6, 4], |i| d[(i[0] / 2) * 4 + i[1]]),
        );
        same(
            ops::roll(&x, &[1, -1], Some(&[0, 1])).unwrap(),
            &sh,
            &roll_ref(&d, &sh, &[(0, 1), (1, -1)]),
        );
        let one = Array::scalar(1i32);
        for mode in [
            PadMode::Constant,
            PadMode::Edge,
            PadMode::Reflect,
            PadMode::Symmetric,
        ] {
            let (shape, want) = pad_ref(&d, &sh, &[(1, 2), (2, 1)], mode, 1.0);
            same(
                ops::pad(&x, &[(1, 2), (2, 1)], &one, mode).unwrap(),
                &shape,
                &want,
            );
        }
        same(ops::broadcast_to(&x, &[2, 3, 4]).unwrap(), &[2, 3, 4], &cat);
        let (shape, want) = diagonal_ref(&d, &sh, 1, 0, 1);
        same(ops::diagonal(&x, 1, 0, 1).unwrap(), &shape, &want);
        same(ops::diag(&x, -1).unwrap(), &[2], &[d[4], d[9]]);
        same(
            ops::tril(&x, 0).unwrap(),
            &sh,
            &build(&sh, |i| {
                if i[1] <= i[0] {
                    d[i[0] * 4 + i[1]]
                } else {
                    0.0
                }
            }),
        );
        same(
            ops::triu(&x, 1).unwrap(),
            &sh,
            &build(&sh, |i| if i[1] > i[0] { d[i[0] * 4 + i[1]] } else { 0.0 }),
        );
        same(
            ops::as_strided(&x, &[4, 3], &[1, 4], 0).unwrap(),
            &tshape,
            &td,
        );
        same(ops::unflatten(&x, 1, &[2, 2]).unwrap(), &[3, 2, 2], &d);
        same(
            ops::squeeze(&ops::expand_dims(&x, &[0, 2]).unwrap(), None).unwrap(),
            &sh,
            &d,
        );
        same(
            ops::moveaxis(&ops::atleast_3d(&x).unwrap(), 2, 0).unwrap(),
            &[1, 3, 4],
            &d,
        );
        assert_eq!(ops::zeros_like(&x, None).unwrap().dtype(), dtype);
        assert_eq!(ops::ones_like(&x, None).unwrap().dtype(), dtype);
        let i = ops::identity(2, dtype).unwrap();
        same(i, &[2, 2], &[1.0, 0.0, 0.0, 1.0]);
        let t = ops::tri(2, 3, 0, dtype).unwrap();
        same(t, &[2, 3], &[1.0, 0.0, 0.0, 1.0, 1.0, 0.0]);
    }
}
