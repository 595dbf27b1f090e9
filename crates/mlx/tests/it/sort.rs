//! Sorting, partitioning, top-k, searchsorted and unique, checked against naive references.

use crate::common;
use common::mlx_err;

use common::{assert_close, check_grad, sample, values};
use mlx::ops::{self, Side, UniqueOptions};
use mlx::{Array, Dtype, Error, bf16, f16};

/// Lanes of a row-major array along `axis`: for each lane, the flat indices of its elements.
fn lanes(shape: &[i32], axis: usize) -> Vec<Vec<usize>> {
    let n = shape[axis] as usize;
    let inner: usize = shape[axis + 1..].iter().map(|&d| d as usize).product();
    let outer: usize = shape[..axis].iter().map(|&d| d as usize).product();
    let mut out = Vec::new();
    for o in 0..outer {
        for i in 0..inner {
            out.push((0..n).map(|k| o * n * inner + k * inner + i).collect());
        }
    }
    out
}

fn total_cmp_nan_last(a: &f64, b: &f64) -> std::cmp::Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Greater,
        (false, true) => std::cmp::Ordering::Less,
        _ => a.partial_cmp(b).unwrap(),
    }
}

/// Stable argsort of each lane (positions within the lane) and the sorted values, laid out
/// like the input.
fn sort_ref(data: &[f64], shape: &[i32], axis: usize) -> (Vec<f64>, Vec<f64>) {
    let mut vals = vec![0.0; data.len()];
    let mut idx = vec![0.0; data.len()];
    for lane in lanes(shape, axis) {
        let mut order: Vec<usize> = (0..lane.len()).collect();
        order.sort_by(|&a, &b| total_cmp_nan_last(&data[lane[a]], &data[lane[b]]));
        for (k, &o) in order.iter().enumerate() {
            vals[lane[k]] = data[lane[o]];
            idx[lane[k]] = o as f64;
        }
    }
    (vals, idx)
}

fn norm(axis: i32, nd: usize) -> usize {
    if axis < 0 {
        (axis + nd as i32) as usize
    } else {
        axis as usize
    }
}

#[test]
fn sort_and_argsort_match_reference() {
    let x = sample(&[3, 4, 5], 1, -5.0, 5.0);
    let data = values(&x);
    for axis in [0, 1, 2, -1, -3] {
        let (want_v, want_i) = sort_ref(&data, &[3, 4, 5], norm(axis, 3));
        let s = ops::sort(&x, Some(axis)).unwrap();
        assert_eq!(s.shape(), &[3, 4, 5]);
        assert_close(&s, &want_v, 0.0, 0.0);
        let i = ops::argsort(&x, Some(axis)).unwrap();
        assert_eq!(i.dtype(), Dtype::Uint32);
        assert_close(&i, &want_i, 0.0, 0.0);
    }
    // Flattened.
    let (want_v, want_i) = sort_ref(&data, &[60], 0);
    let s = ops::sort(&x, None).unwrap();
    assert_eq!(s.shape(), &[60]);
    assert_close(&s, &want_v, 0.0, 0.0);
    assert_close(&ops::argsort(&x, None).unwrap(), &want_i, 0.0, 0.0);
    // Transposed input.
    let t = x.transpose(Some(&[2, 0, 1])).unwrap();
    let (want_v, want_i) = sort_ref(&values(&t), &[5, 3, 4], 0);
    assert_close(&ops::sort(&t, Some(0)).unwrap(), &want_v, 0.0, 0.0);
    assert_close(&ops::argsort(&t, Some(0)).unwrap(), &want_i, 0.0, 0.0);
    // A sliced view (columns 1..3 of each row).
    let parts = ops::split_indices(&x, &[1, 3], 2).unwrap();
    let (want_v, _) = sort_ref(&values(&parts[1]), &[3, 4, 2], 1);
    assert_close(&ops::sort(&parts[1], Some(1)).unwrap(), &want_v, 0.0, 0.0);
}

#[test]
fn sort_dtypes_ties_and_nan() {
    // Stable: equal values keep their order.
    let ties = Array::from_slice(&[2i32, 1, 2, 1, 0], &[5]).unwrap();
    assert_eq!(
        ops::argsort(&ties, None).unwrap().to_vec::<u32>().unwrap(),
        vec![4, 1, 3, 0, 2]
    );
    assert_eq!(
        ops::sort(&ties, Some(0)).unwrap().to_vec::<i32>().unwrap(),
        vec![0, 1, 1, 2, 2]
    );
    // NaN last.
    let n = Array::from_slice(&[3.0f32, f32::NAN, 1.0, 2.0], &[4]).unwrap();
    let s = ops::sort(&n, None).unwrap().to_vec::<f32>().unwrap();
    assert_eq!(&s[..3], &[1.0, 2.0, 3.0]);
    assert!(s[3].is_nan());
    assert_eq!(
        ops::argsort(&n, None).unwrap().to_vec::<u32>().unwrap(),
        vec![2, 3, 0, 1]
    );
    // Other dtypes.
    let u = Array::from_slice(&[200u8, 3, 255, 0], &[2, 2]).unwrap();
    assert_eq!(
        ops::sort(&u, Some(-1)).unwrap().to_vec::<u8>().unwrap(),
        vec![3, 200, 0, 255]
    );
    let i64s = Array::from_slice(&[5i64, -7, 1 << 40], &[3]).unwrap();
    assert_eq!(
        ops::sort(&i64s, None).unwrap().to_vec::<i64>().unwrap(),
        vec![-7, 5, 1 << 40]
    );
    let b = Array::from_slice(&[true, false, true], &[3]).unwrap();
    assert_eq!(
        ops::sort(&b, None).unwrap().to_vec::<bool>().unwrap(),
        vec![false, true, true]
    );
    let h: Vec<f16> = [0.5f32, -1.0, 2.0]
        .iter()
        .map(|&v| f16::from_f32(v))
        .collect();
    let h = Array::from_slice(&h, &[3]).unwrap();
    let hs = ops::sort(&h, None).unwrap();
    assert_eq!(hs.dtype(), Dtype::Float16);
    assert_close(&hs, &[-1.0, 0.5, 2.0], 0.0, 0.0);
    let bf: Vec<bf16> = [4.0f32, -3.0, 0.25]
        .iter()
        .map(|&v| bf16::from_f32(v))
        .collect();
    let bf = Array::from_slice(&bf, &[3]).unwrap();
    assert_eq!(
        ops::argsort(&bf, Some(0)).unwrap().to_vec::<u32>().unwrap(),
        vec![1, 2, 0]
    );
    // Empty.
    let e = Array::zeros::<f32>(&[0]).unwrap();
    assert_eq!(ops::sort(&e, None).unwrap().shape(), &[0]);
    assert_eq!(
        ops::argsort(&Array::zeros::<f32>(&[2, 0]).unwrap(), Some(1))
            .unwrap()
            .shape(),
        &[2, 0]
    );
}

/// Checks that `got` is a partition of `data` around `kth` along `axis`: each lane holds the
/// same values, the sorted value at `kth`, nothing larger before it and nothing smaller after.
fn check_partition(data: &[f64], shape: &[i32], axis: usize, kth: usize, got: &[f64]) {
    let (sorted, _) = sort_ref(data, shape, axis);
    for lane in lanes(shape, axis) {
        let mut lane_got: Vec<f64> = lane.iter().map(|&i| got[i]).collect();
        let pivot = lane_got[kth];
        assert_eq!(pivot, sorted[lane[kth]], "kth element");
        assert!(lane_got[..kth].iter().all(|&v| v <= pivot));
        assert!(lane_got[kth + 1..].iter().all(|&v| v >= pivot));
        // Same multiset as the input lane.
        let mut lane_in: Vec<f64> = lane.iter().map(|&i| data[i]).collect();
        lane_got.sort_by(|a, b| a.partial_cmp(b).unwrap());
        lane_in.sort_by(|a, b| a.partial_cmp(b).unwrap());
        assert_eq!(lane_got, lane_in);
    }
}

#[test]
fn partition_and_argpartition() {
    let x = sample(&[4, 6], 2, -1.0, 1.0);
    let data = values(&x);
    for (axis, n) in [(0, 4), (1, 6), (-1, 6)] {
        for kth in [0, 2, n - 1, -1, -2] {
            let k = if kth < 0 {
                (kth + n) as usize
            } else {
                kth as usize
            };
            let ax = norm(axis, 2);
            let p = ops::partition(&x, kth, Some(axis)).unwrap();
            check_partition(&data, &[4, 6], ax, k, &values(&p));
            let ip = ops::argpartition(&x, kth, Some(axis)).unwrap();
            assert_eq!(ip.dtype(), Dtype::Uint32);
            let iv = values(&ip);
            // Gather through the indices, lane by lane.
            let mut gathered = vec![0.0; data.len()];
            for lane in lanes(&[4, 6], ax) {
                for (pos, &flat) in lane.iter().enumerate() {
                    gathered[flat] = data[lane[iv[lane[pos]] as usize]];
                }
            }
            check_partition(&data, &[4, 6], ax, k, &gathered);
        }
    }
    // Flattened, integers.
    let ints = Array::from_slice(&[9i32, 3, 7, 1, 8, 2], &[2, 3]).unwrap();
    let p = ops::partition(&ints, 2, None).unwrap();
    assert_eq!(p.shape(), &[6]);
    check_partition(&values(&ints), &[6], 0, 2, &values(&p));
    let ip = ops::argpartition(&ints, 2, None)
        .unwrap()
        .to_vec::<u32>()
        .unwrap();
    let flat = values(&ints);
    let g: Vec<f64> = ip.iter().map(|&i| flat[i as usize]).collect();
    check_partition(&flat, &[6], 0, 2, &g);
    // Transposed.
    let t = x.t().unwrap();
    let p = ops::partition(&t, 1, Some(1)).unwrap();
    check_partition(&values(&t), &[6, 4], 1, 1, &values(&p));
    // Bad kth.
    let msg = mlx_err(ops::partition(&ints, 3, Some(1)));
    assert!(msg.contains("[partition] Received invalid kth 3"), "{msg}");
    let msg = mlx_err(ops::argpartition(&ints, -4, Some(-1)));
    assert!(msg.contains("[argpartition] Received invalid kth"), "{msg}");
}

#[test]
fn topk_matches_reference() {
    let x = sample(&[3, 7], 3, -1.0, 1.0);
    let data = values(&x);
    for (axis, n) in [(1, 7), (-1, 7), (0, 3)] {
        for k in [1, 2, n] {
            let got = ops::topk(&x, k, Some(axis)).unwrap();
            let ax = norm(axis, 2);
            let mut shape = vec![3, 7];
            shape[ax] = k;
            assert_eq!(got.shape(), &shape[..]);
            let got_v = values(&got);
            let got_lanes = lanes(&shape, ax);
            for (lane, glane) in lanes(&[3, 7], ax).iter().zip(&got_lanes) {
                let mut want: Vec<f64> = lane.iter().map(|&i| data[i]).collect();
                want.sort_by(|a, b| b.partial_cmp(a).unwrap());
                want.truncate(k as usize);
                let mut have: Vec<f64> = glane.iter().map(|&i| got_v[i]).collect();
                have.sort_by(|a, b| b.partial_cmp(a).unwrap());
                assert_eq!(have, want);
            }
        }
    }
    // Flattened, integers.
    let ints = Array::from_slice(&[3i32, 1, 2, 5, 4], &[5]).unwrap();
    let mut t = ops::topk(&ints, 2, None).unwrap().to_vec::<i32>().unwrap();
    t.sort();
    assert_eq!(t, vec![4, 5]);
    assert_eq!(ops::topk(&ints, 0, None).unwrap().shape(), &[0]);
    let h = ints.astype(Dtype::Float16).unwrap();
    let mut th = values(&ops::topk(&h, 3, Some(0)).unwrap());
    th.sort_by(|a, b| a.partial_cmp(b).unwrap());
    assert_eq!(th, vec![3.0, 4.0, 5.0]);
    let msg = mlx_err(ops::topk(&ints, 6, None));
    assert!(msg.contains("[topk] Received invalid k=6"), "{msg}");
    let msg = mlx_err(ops::topk(&x, 1, Some(2)));
    assert!(msg.contains("[topk]"), "{msg}");
}

#[test]
fn searchsorted_left_and_right() {
    let seq_data = [1.0f64, 2.0, 2.0, 3.0, 7.0];
    let seq = Array::from_slice(&seq_data, &[5]).unwrap();
    let vals_data = [2.0f64, 0.0, 8.0, 2.5, 7.0, 1.0, 3.0, -1.0];
    let vals = Array::from_slice(&vals_data, &[2, 4]).unwrap();
    let left: Vec<f64> = vals_data
        .iter()
        .map(|&v| seq_data.iter().filter(|&&s| s < v).count() as f64)
        .collect();
    let right: Vec<f64> = vals_data
        .iter()
        .map(|&v| seq_data.iter().filter(|&&s| s <= v).count() as f64)
        .collect();
    let l = ops::searchsorted(&seq, &vals, Side::Left).unwrap();
    assert_eq!(l.dtype(), Dtype::Uint32);
    assert_eq!(l.shape(), &[2, 4]);
    assert_close(&l, &left, 0.0, 0.0);
    assert_close(
        &ops::searchsorted(&seq, &vals, Side::Right).unwrap(),
        &right,
        0.0,
        0.0,
    );
    assert_close(
        &ops::searchsorted(&seq, &vals, Side::default()).unwrap(),
        &left,
        0.0,
        0.0,
    );
    // Integers, a transposed values array, and a scalar value.
    let iseq = Array::from_slice(&[0i32, 10, 20, 30], &[4]).unwrap();
    let iv = Array::from_slice(&[5i32, 30, 31, -1, 10, 20], &[3, 2])
        .unwrap()
        .t()
        .unwrap();
    let got = ops::searchsorted(&iseq, &iv, Side::Right).unwrap();
    assert_eq!(got.shape(), &[2, 3]);
    assert_close(&got, &[1.0, 4.0, 2.0, 4.0, 0.0, 3.0], 0.0, 0.0);
    let one = ops::searchsorted(&iseq, &Array::scalar(15i32), Side::Left).unwrap();
    assert_eq!(one.item::<u32>().unwrap(), 2);
    let msg = mlx_err(ops::searchsorted(&vals, &seq, Side::Left));
    assert!(
        msg.contains("[searchsorted] The sorted sequence must be 1-D"),
        "{msg}"
    );
}

#[test]
fn unique_with_every_option() {
    let a = Array::from_slice(&[2i32, 1, 2, 3, 1], &[5]).unwrap();
    let u = ops::unique(&a, 3, &UniqueOptions::new()).unwrap();
    assert_eq!(u.values.to_vec::<i32>().unwrap(), vec![1, 2, 3]);
    assert!(u.index.is_none() && u.inverse.is_none() && u.counts.is_none());
    // Padding defaults to the smallest value.
    let u = ops::unique(&a, 5, &UniqueOptions::new()).unwrap();
    assert_eq!(u.values.to_vec::<i32>().unwrap(), vec![1, 2, 3, 1, 1]);
    let opts = UniqueOptions::new()
        .with_index(true)
        .with_inverse(true)
        .with_counts(true)
        .with_fill_value(Array::scalar(0i32));
    let u = ops::unique(&a, 4, &opts).unwrap();
    assert_eq!(u.values.to_vec::<i32>().unwrap(), vec![1, 2, 3, 0]);
    assert_eq!(u.index.unwrap().to_vec::<u32>().unwrap(), vec![1, 0, 3, 1]);
    assert_eq!(
        u.inverse.unwrap().to_vec::<u32>().unwrap(),
        vec![1, 0, 1, 2, 0]
    );
    assert_eq!(u.counts.unwrap().to_vec::<i32>().unwrap(), vec![2, 2, 1, 0]);
    // Only the inverse: results land in the right fields.
    let u = ops::unique(&a, 3, &UniqueOptions::new().with_inverse(true)).unwrap();
    assert!(u.index.is_none() && u.counts.is_none());
    assert_eq!(
        u.inverse.unwrap().to_vec::<u32>().unwrap(),
        vec![1, 0, 1, 2, 0]
    );
    let u = ops::unique(&a, 3, &UniqueOptions::new().with_counts(true)).unwrap();
    assert_eq!(u.counts.unwrap().to_vec::<i32>().unwrap(), vec![2, 2, 1]);
    // A 2-d float input: flattened; inverse keeps the input's shape and rebuilds it.
    let data = [0.5f64, -1.0, 0.5, 2.0, 2.0, -1.0];
    let m = Array::from_slice(&data, &[2, 3]).unwrap();
    let u = ops::unique(&m, 3, &UniqueOptions::new().with_inverse(true)).unwrap();
    assert_eq!(u.values.to_vec::<f64>().unwrap(), vec![-1.0, 0.5, 2.0]);
    let inv = u.inverse.unwrap();
    assert_eq!(inv.shape(), &[2, 3]);
    let uv = u.values.to_vec::<f64>().unwrap();
    let rebuilt: Vec<f64> = inv
        .to_vec::<u32>()
        .unwrap()
        .iter()
        .map(|&i| uv[i as usize])
        .collect();
    assert_eq!(rebuilt, data.to_vec());
    // Truncation keeps the smallest values.
    let u = ops::unique(&a, 2, &UniqueOptions::new().with_counts(true)).unwrap();
    assert_eq!(u.values.to_vec::<i32>().unwrap(), vec![1, 2]);
    assert_eq!(u.counts.unwrap().to_vec::<i32>().unwrap(), vec![2, 2]);
    // Errors.
    let e = Array::zeros::<f32>(&[0]).unwrap();
    let msg = match ops::unique(&e, 2, &UniqueOptions::new()) {
        Err(Error::Mlx(m)) => m,
        other => panic!("{other:?}"),
    };
    assert!(
        msg.contains("[unique] A fill value is required for an empty input"),
        "{msg}"
    );
    let msg = match ops::unique(&a, -1, &UniqueOptions::new()) {
        Err(Error::Mlx(m)) => m,
        other => panic!("{other:?}"),
    };
    assert!(msg.contains("[unique] Received negative size -1"), "{msg}");
    let u = ops::unique(
        &e,
        2,
        &UniqueOptions::new().with_fill_value(Array::scalar(7.0f32)),
    )
    .unwrap();
    assert_eq!(u.values.to_vec::<f32>().unwrap(), vec![7.0, 7.0]);
}

#[test]
fn bad_axes_are_mlx_errors() {
    let x = Array::zeros::<f32>(&[2, 3, 4]).unwrap();
    let msg = mlx_err(ops::sort(&x, Some(3)));
    assert!(
        msg.contains("[sort] Axis 3 is out of bounds for array with 3 dimensions"),
        "{msg}"
    );
    let msg = mlx_err(ops::argsort(&x, Some(-4)));
    assert!(msg.contains("[argsort] Axis -4 is out of bounds"), "{msg}");
    let msg = mlx_err(ops::partition(&x, 0, Some(5)));
    assert!(msg.contains("[partition]"), "{msg}");
}

fn weighted(out: &Array, seed: u64) -> mlx::Result<Array> {
    let w = sample(out.shape(), seed, 0.5, 1.5).astype(out.dtype())?;
    ops::sum(&ops::multiply(out, &w)?, None, false)
}

#[test]
fn sorting_gradients() {
    let x = sample(&[3, 5], 51, -2.0, 2.0);
    for axis in [Some(0), Some(-1), None] {
        check_grad(
            |a: &[Array]| weighted(&ops::sort(&a[0], axis)?, 1),
            std::slice::from_ref(&x),
            0,
            1e-6,
            1e-5,
        );
    }
    // topk's order is unspecified, but fixed for fixed input: weight its sorted values.
    for (k, axis) in [(2, Some(1)), (1, Some(0)), (4, None)] {
        check_grad(
            |a: &[Array]| weighted(&ops::sort(&ops::topk(&a[0], k, axis)?, Some(-1))?, 2),
            std::slice::from_ref(&x),
            0,
            1e-6,
            1e-5,
        );
    }
    check_grad(
        |a: &[Array]| weighted(&ops::sort(&ops::partition(&a[0], 2, Some(1))?, Some(1))?, 3),
        std::slice::from_ref(&x),
        0,
        1e-6,
        1e-5,
    );
    // float32
    let x32 = x.astype(Dtype::Float32).unwrap();
    check_grad(
        |a: &[Array]| weighted(&ops::sort(&a[0], Some(1))?, 4),
        &[x32],
        0,
        1e-3,
        1e-2,
    );
}

#[test]
fn every_dtype() {
    let src = Array::from_slice(&[3i32, 0, 2, 2, 1, 4, 0, 1, 3, 1, 2, 0], &[3, 4]).unwrap();
    for dtype in [
        Dtype::Bool,
        Dtype::Uint8,
        Dtype::Uint32,
        Dtype::Uint64,
        Dtype::Int8,
        Dtype::Int16,
        Dtype::Int64,
        Dtype::Float16,
        Dtype::Bfloat16,
        Dtype::Float32,
        Dtype::Float64,
    ] {
        let x = src.astype(dtype).unwrap();
        let data = values(&x);
        for axis in [0, 1] {
            let (want_v, want_i) = sort_ref(&data, &[3, 4], axis);
            let s = ops::sort(&x, Some(axis as i32)).unwrap();
            assert_eq!(s.dtype(), dtype);
            assert_close(&s, &want_v, 0.0, 0.0);
            assert_close(
                &ops::argsort(&x, Some(axis as i32)).unwrap(),
                &want_i,
                0.0,
                0.0,
            );
            let p = ops::partition(&x, 1, Some(axis as i32)).unwrap();
            assert_eq!(p.dtype(), dtype);
            check_partition(&data, &[3, 4], axis, 1, &values(&p));
        }
        let mut top = values(&ops::topk(&x, 3, None).unwrap());
        top.sort_by(|a, b| b.partial_cmp(a).unwrap());
        let mut all = data.clone();
        all.sort_by(|a, b| b.partial_cmp(a).unwrap());
        assert_eq!(top, all[..3].to_vec(), "topk of {dtype}");
        // searchsorted against the sorted flattened values.
        let seq = ops::sort(&x, None).unwrap();
        let sv = values(&seq);
        let probe = src.astype(dtype).unwrap();
        let got = ops::searchsorted(&seq, &probe, Side::Right).unwrap();
        let want: Vec<f64> = data
            .iter()
            .map(|&v| sv.iter().filter(|&&s| s <= v).count() as f64)
            .collect();
        assert_close(&got, &want, 0.0, 0.0);
        // unique with counts.
        let mut distinct = data.clone();
        distinct.sort_by(|a, b| a.partial_cmp(b).unwrap());
        distinct.dedup();
        let n = distinct.len() as i32;
        let u = ops::unique(&x, n, &UniqueOptions::new().with_counts(true)).unwrap();
        assert_eq!(u.values.dtype(), dtype);
        assert_close(&u.values, &distinct, 0.0, 0.0);
        let counts: Vec<f64> = distinct
            .iter()
            .map(|d| data.iter().filter(|&v| v == d).count() as f64)
            .collect();
        assert_close(&u.counts.unwrap(), &counts, 0.0, 0.0);
    }
}
