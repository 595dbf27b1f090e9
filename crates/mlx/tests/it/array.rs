//! Arrays: construction, every dtype's round trip, shapes, laziness, printing.

use mlx::{Array, Complex32, Dtype, Status, bf16, f16, ops};

fn round_trip<T: mlx::ArrayElement>(values: &[T]) {
    let a = Array::from_slice(values, &[values.len() as i32]).unwrap();
    assert_eq!(a.dtype(), T::DTYPE);
    assert_eq!(a.size(), values.len());
    assert_eq!(a.itemsize(), T::DTYPE.size());
    assert_eq!(a.nbytes(), values.len() * T::DTYPE.size());
    assert_eq!(a.to_vec::<T>().unwrap(), values);
    assert_eq!(a.as_slice::<T>().unwrap(), values);
    assert_eq!(a.item::<T>().err().is_some(), values.len() != 1);
}

#[test]
fn every_dtype_round_trips() {
    round_trip(&[true, false, true]);
    round_trip(&[0u8, 7, 255]);
    round_trip(&[0u16, 7, u16::MAX]);
    round_trip(&[0u32, 7, u32::MAX]);
    round_trip(&[0u64, 7, u64::MAX]);
    round_trip(&[i8::MIN, -1, i8::MAX]);
    round_trip(&[i16::MIN, -1, i16::MAX]);
    round_trip(&[i32::MIN, -1, i32::MAX]);
    round_trip(&[i64::MIN, -1, i64::MAX]);
    round_trip(&[f16::from_f32(-1.5), f16::from_f32(0.25), f16::MAX]);
    round_trip(&[-1.5f32, 0.25, f32::MAX, f32::MIN_POSITIVE]);
    round_trip(&[-1.5f64, 0.1, f64::MAX]);
    round_trip(&[bf16::from_f32(-1.5), bf16::from_f32(3.0), bf16::MAX]);
    round_trip(&[Complex32::new(1.0, -2.0), Complex32::new(0.5, 0.25)]);
    // All fourteen covered.
    assert_eq!(mlx::ALL_DTYPES.len(), 14);
}

#[test]
fn casts_between_dtypes_compute_values() {
    let a = mlx::array![-1.5, 0.0, 2.75];
    assert_eq!(
        a.astype(Dtype::Int32).unwrap().to_vec::<i32>().unwrap(),
        vec![-1, 0, 2]
    );
    assert_eq!(
        a.astype(Dtype::Bool).unwrap().to_vec::<bool>().unwrap(),
        vec![true, false, true]
    );
    let h = a.astype(Dtype::Float16).unwrap();
    assert_eq!(h.to_vec::<f16>().unwrap()[2], f16::from_f32(2.75));
    let back = h.astype(Dtype::Float64).unwrap().to_vec::<f64>().unwrap();
    assert_eq!(back, vec![-1.5, 0.0, 2.75]);
}

#[test]
fn zero_dimensional_arrays() {
    let s = Array::scalar(3.5f32);
    assert_eq!(s.ndim(), 0);
    assert_eq!(s.shape(), &[] as &[i32]);
    assert_eq!(s.size(), 1);
    assert_eq!(s.item::<f32>().unwrap(), 3.5);
    let doubled = &s * 2.0;
    assert_eq!(doubled.item::<f32>().unwrap(), 7.0);
    let summed = Array::from_slice(&[1i32, 2, 3], &[3])
        .unwrap()
        .sum(None, false)
        .unwrap();
    assert_eq!(summed.ndim(), 0);
    assert_eq!(summed.item::<i32>().unwrap(), 6);
}

#[test]
fn empty_arrays() {
    let e = Array::from_slice::<f32>(&[], &[0, 3]).unwrap();
    assert_eq!(e.shape(), &[0, 3]);
    assert_eq!(e.size(), 0);
    assert!(e.to_vec::<f32>().unwrap().is_empty());
    let z = Array::zeros::<i64>(&[2, 0]).unwrap();
    assert_eq!(
        z.sum(Some(&[1]), false).unwrap().to_vec::<i64>().unwrap(),
        vec![0, 0]
    );
    let t = e.t().unwrap();
    assert_eq!(t.shape(), &[3, 0]);
}

#[test]
fn large_arrays() {
    // 2^27 elements of one byte: 128 MiB.
    let n = 1i32 << 27;
    let a = Array::ones::<u8>(&[n]).unwrap();
    assert_eq!(a.size(), 1 << 27);
    let total = a.astype(Dtype::Uint32).unwrap().sum(None, false).unwrap();
    assert_eq!(total.item::<u32>().unwrap(), 1 << 27);
    let v = a.as_slice::<u8>().unwrap();
    assert_eq!(v.len(), 1 << 27);
    assert!(v.iter().all(|x| *x == 1));
}

#[test]
fn nothing_is_computed_before_eval() {
    let a = Array::ones::<f32>(&[64, 64]).unwrap();
    let b = a.matmul(&a).unwrap();
    let c = &b + 1.0;
    assert_eq!(c.status(), Status::Unscheduled);
    assert_eq!(b.status(), Status::Unscheduled);
    assert_eq!(c.shape(), &[64, 64], "shape is known without evaluating");
    c.eval().unwrap();
    assert_eq!(c.status(), Status::Available);
    assert_eq!(c.to_vec::<f32>().unwrap()[0], 65.0);

    let d = &c * 2.0;
    d.async_eval().unwrap();
    assert_eq!(d.to_vec::<f32>().unwrap()[4095], 130.0);

    let (x, y) = (&a + 1.0, &a + 2.0);
    mlx::eval([&x, &y]).unwrap();
    assert_eq!(x.status(), Status::Available);
    assert_eq!(y.status(), Status::Available);
}

#[test]
fn constructors_and_creation_ops() {
    let a = mlx::array![[1, 2, 3], [4, 5, 6]];
    assert_eq!(a.shape(), &[2, 3]);
    assert_eq!(a.dtype(), Dtype::Int32);
    assert_eq!(a.to_vec::<i32>().unwrap(), vec![1, 2, 3, 4, 5, 6]);
    let f = mlx::array![[[0.5]], [[1.5]]];
    assert_eq!((f.shape(), f.dtype()), (&[2, 1, 1][..], Dtype::Float32));

    let v = Array::from_vec(vec![1u16, 2, 3, 4], &[2, 2]).unwrap();
    assert_eq!(v.to_vec::<u16>().unwrap(), vec![1, 2, 3, 4]);
    let it = Array::from_iter((0..5).map(|x| x as i64 * 10)).unwrap();
    assert_eq!(it.to_vec::<i64>().unwrap(), vec![0, 10, 20, 30, 40]);
    assert_eq!(
        Array::full(&[2], 7u8).unwrap().to_vec::<u8>().unwrap(),
        vec![7, 7]
    );
    assert_eq!(
        Array::arange::<f32>(4).unwrap().to_vec::<f32>().unwrap(),
        vec![0.0, 1.0, 2.0, 3.0]
    );
    let ar = ops::arange(1.0, 2.0, 0.25, Dtype::Float32).unwrap();
    assert_eq!(ar.to_vec::<f32>().unwrap(), vec![1.0, 1.25, 1.5, 1.75]);
    let ls = ops::linspace(0.0, 1.0, 5, Dtype::Float64).unwrap();
    assert_eq!(ls.to_vec::<f64>().unwrap(), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
    let eye = Array::eye::<f32>(3).unwrap();
    assert_eq!(
        eye.to_vec::<f32>().unwrap(),
        vec![1., 0., 0., 0., 1., 0., 0., 0., 1.]
    );
    let off = ops::eye(2, 3, 1, Dtype::Int32).unwrap();
    assert_eq!(off.to_vec::<i32>().unwrap(), vec![0, 1, 0, 0, 0, 1]);
    let bytes = Array::from_bytes(&1.5f32.to_le_bytes(), &[1], Dtype::Float32).unwrap();
    assert_eq!(bytes.item::<f32>().unwrap(), 1.5);
}

#[test]
fn shape_checked_constructors() {
    let err = Array::from_slice(&[1.0f32, 2.0, 3.0], &[2, 2]).unwrap_err();
    assert!(err.to_string().contains("needs 4 elements but 3"), "{err}");
    assert!(Array::from_slice(&[1.0f32], &[-1]).is_err());
    assert!(Array::from_bytes(&[0, 1, 2], &[3], Dtype::Bool).is_err());
    assert!(Array::from_bytes(&[0; 3], &[1], Dtype::Float32).is_err());
}

#[test]
fn arithmetic_and_weak_scalars() {
    let a = mlx::array![1.0, 2.0, 3.0];
    let b = mlx::array![10.0, 20.0, 30.0];
    assert_eq!((&a + &b).to_vec::<f32>().unwrap(), vec![11.0, 22.0, 33.0]);
    assert_eq!((&b - &a).to_vec::<f32>().unwrap(), vec![9.0, 18.0, 27.0]);
    assert_eq!((&a * &b).to_vec::<f32>().unwrap(), vec![10.0, 40.0, 90.0]);
    assert_eq!((&b / &a).to_vec::<f32>().unwrap(), vec![10.0, 10.0, 10.0]);
    assert_eq!((-&a).to_vec::<f32>().unwrap(), vec![-1.0, -2.0, -3.0]);
    assert_eq!((2.0 - &a).to_vec::<f32>().unwrap(), vec![1.0, 0.0, -1.0]);
    assert_eq!(
        (a.clone() * 3).to_vec::<f32>().unwrap(),
        vec![3.0, 6.0, 9.0]
    );

    // Weak scalars keep the array's dtype...
    let h = a.astype(Dtype::Float16).unwrap();
    assert_eq!((&h * 2.0).dtype(), Dtype::Float16);
    let i = mlx::array![1, 2];
    assert_eq!((&i + 1).dtype(), Dtype::Int32);
    // ...unless it cannot hold them.
    assert_eq!((&i * 0.5).dtype(), Dtype::Float32);
    assert_eq!((&i * 0.5).to_vec::<f32>().unwrap(), vec![0.5, 1.0]);
    // Integer division is true division, as in MLX.
    assert_eq!(
        ops::divide(&i, &mlx::array![2, 2])
            .unwrap()
            .to_vec::<f32>()
            .unwrap(),
        vec![0.5, 1.0]
    );
    // Broadcasting.
    let col = mlx::array![[1.0], [2.0]];
    assert_eq!((&col + &a).shape(), &[2, 3]);
}

#[test]
fn reshape_transpose_and_non_contiguous_reads() {
    let a = Array::arange::<f32>(6).unwrap().reshape(&[2, 3]).unwrap();
    let t = a.t().unwrap();
    assert_eq!(t.shape(), &[3, 2]);
    assert_eq!(
        t.to_vec::<f32>().unwrap(),
        vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]
    );
    // A transpose is a strided view: borrowing needs a contiguous copy first.
    t.eval().unwrap();
    assert!(!t.is_row_contiguous().unwrap());
    assert!(t.as_slice::<f32>().is_err());
    let bytes: Vec<u8> = [0.0f32, 3.0, 1.0, 4.0, 2.0, 5.0]
        .iter()
        .flat_map(|x| x.to_ne_bytes())
        .collect();
    assert_eq!(
        t.to_bytes().unwrap(),
        bytes,
        "to_bytes copies strided data in row-major order"
    );
    let c = ops::contiguous(&t).unwrap();
    assert_eq!(
        c.as_slice::<f32>().unwrap(),
        &[0.0, 3.0, 1.0, 4.0, 2.0, 5.0]
    );
    assert_eq!(a.reshape(&[-1]).unwrap().shape(), &[6]);
    let p = Array::zeros::<f32>(&[2, 3, 4])
        .unwrap()
        .transpose(Some(&[2, 0, 1]))
        .unwrap();
    assert_eq!(p.shape(), &[4, 2, 3]);
    assert_eq!(a.dim(-1).unwrap(), 3);
    assert!(a.dim(2).is_err());
}

#[test]
fn reductions_and_matmul() {
    let a = mlx::array![[1.0, 2.0], [3.0, 4.0]];
    assert_eq!(
        a.sum(Some(&[0]), false).unwrap().to_vec::<f32>().unwrap(),
        vec![4.0, 6.0]
    );
    assert_eq!(a.sum(Some(&[-1]), true).unwrap().shape(), &[2, 1]);
    assert_eq!(a.sum(None, false).unwrap().item::<f32>().unwrap(), 10.0);
    let m = a.matmul(&a).unwrap();
    assert_eq!(m.to_vec::<f32>().unwrap(), vec![7.0, 10.0, 15.0, 22.0]);
    let batch = Array::ones::<f32>(&[5, 2, 3])
        .unwrap()
        .matmul(&Array::ones::<f32>(&[3, 4]).unwrap())
        .unwrap();
    assert_eq!(batch.shape(), &[5, 2, 4]);
    assert!(batch.to_vec::<f32>().unwrap().iter().all(|x| *x == 3.0));
}

#[test]
fn printing_matches_mlx() {
    let a = mlx::array![[1, 2], [3, 4]];
    assert_eq!(
        a.to_string(),
        "array([[1, 2],\n       [3, 4]], dtype=int32)"
    );
    assert_eq!(Array::scalar(true).to_string(), "array(true, dtype=bool)");
    assert_eq!(
        format!("{:?}", mlx::array![1.5]),
        "array([1.5], dtype=float32)"
    );
}

#[test]
fn clones_share_the_node() {
    let a = mlx::array![1.0, 2.0];
    let b = a.clone();
    assert!(a.same_node(&b));
    drop(a);
    assert_eq!(b.to_vec::<f32>().unwrap(), vec![1.0, 2.0]);
    let c = &b + 0.0;
    assert!(!c.same_node(&b));
}

#[test]
fn pending_depth_counts_the_longest_unevaluated_chain() {
    let x = Array::from_slice(&[1.0f32, 2.0], &[2]).unwrap();
    assert_eq!(x.pending_depth(100).unwrap(), 0, "data is computed");
    // A chain asked for at every step (as burn-mlx does near its bound): each answer builds on
    // the remembered depths of the chain behind it.
    let one = Array::from_slice(&[1.0f32, 1.0], &[2]).unwrap();
    let mut y = x.clone();
    for k in 1..=30u32 {
        y = &y + &one;
        assert_eq!(y.pending_depth(1000).unwrap(), k);
    }
    // A diamond: the longest of two branches counts, and the cap caps.
    let long = y.exp().unwrap().sin().unwrap();
    let short = x.square().unwrap();
    let joined = &long + &short;
    assert_eq!(joined.pending_depth(1000).unwrap(), 33);
    assert_eq!(joined.pending_depth(10).unwrap(), 10);
    // Evaluating part of the graph shortens what is left behind it.
    y.eval().unwrap();
    assert_eq!(y.pending_depth(1000).unwrap(), 0);
    assert_eq!(joined.pending_depth(1000).unwrap(), 3);
    let more = joined.abs().unwrap();
    assert_eq!(more.pending_depth(1000).unwrap(), 4);
    mlx::eval([&more]).unwrap();
    assert_eq!(more.pending_depth(1000).unwrap(), 0);
}
