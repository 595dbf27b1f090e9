//! Bad input gives `Err` with MLX's message, never an abort, and failing calls leak nothing.

mod common;

use common::{err_with, in_child};
use mlx::ops::{PadMode, QuantizationMode, QuantizeOptions};
use mlx::{Array, Dtype, Error, f16, fft, io, linalg, memory, ops, transforms};

fn mlx_message(e: Error) -> String {
    match e {
        Error::Mlx(m) => m,
        other => panic!("expected an error from MLX, got {other:?}"),
    }
}

#[test]
fn mismatched_shapes() {
    let a = Array::ones::<f32>(&[2, 3]).unwrap();
    let b = Array::ones::<f32>(&[4]).unwrap();
    let m = mlx_message(ops::add(&a, &b).unwrap_err());
    assert!(
        m.contains("Shapes (2,3) and (4) cannot be broadcast"),
        "{m}"
    );
    let m = mlx_message(ops::matmul(&a, &a).unwrap_err());
    assert!(m.contains("[matmul]"), "{m}");
}

#[test]
fn invalid_reshape_and_axes() {
    let a = Array::arange::<f32>(6).unwrap();
    let m = mlx_message(a.reshape(&[4, 2]).unwrap_err());
    assert!(
        m.contains("[reshape] Cannot reshape array of size 6 into shape (4,2)"),
        "{m}"
    );
    let m = mlx_message(a.sum(Some(&[3]), false).unwrap_err());
    assert!(
        m.contains("Invalid axis 3 for array with 1 dimensions"),
        "{m}"
    );
    assert!(a.transpose(Some(&[1, 0])).is_err());
}

#[test]
fn bad_casts_and_reads() {
    let a = mlx::array![1.0, 2.0];
    // Reading with the wrong element type is refused on the Rust side.
    let e = a.to_vec::<i32>().unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)));
    assert!(
        e.to_string().contains("float32 but int32 was requested"),
        "{e}"
    );
    assert!(a.item::<f32>().is_err(), "two elements have no single item");
    assert!(a.as_slice::<f64>().is_err());
    // MLX refuses negative sizes.
    assert!(ops::zeros(&[-2], Dtype::Float32).is_err());
    assert!(ops::full(&[2], &Array::ones::<f32>(&[3]).unwrap(), Dtype::Float32).is_err());
}

#[test]
fn panicking_operators_carry_the_message() {
    let a = Array::ones::<f32>(&[2]).unwrap();
    let b = Array::ones::<f32>(&[3]).unwrap();
    let payload = std::panic::catch_unwind(|| &a + &b).unwrap_err();
    let text = payload.downcast_ref::<String>().unwrap();
    assert!(
        text.contains("array + failed") && text.contains("cannot be broadcast"),
        "{text}"
    );
}

// ---- Inputs on which MLX itself traps or corrupts memory ----------------------------------------
//
// Each of these killed the process (SIGFPE, SIGSEGV, SIGABRT) before the C layer checked them. The
// tests run their body in a child process, so a regression fails the test instead of the run.

fn ints_of(a: &Array) -> Vec<i64> {
    a.astype(Dtype::Int64).unwrap().to_vec::<i64>().unwrap()
}

#[test]
fn quantize_group_size_zero() {
    in_child("quantize_group_size_zero", || {
        let w = Array::ones::<f32>(&[4, 64]).unwrap();
        for mode in [
            QuantizationMode::Affine,
            QuantizationMode::Mxfp4,
            QuantizationMode::Mxfp8,
            QuantizationMode::Nvfp4,
        ] {
            let o = QuantizeOptions::new(mode).with_group_size(0);
            err_with(
                ops::quantize(&w, &o).map(|q| q.weights),
                &["[quantize]", "group_size"],
            );
            let o = QuantizeOptions::new(mode).with_group_size(-32);
            err_with(
                ops::quantize(&w, &o).map(|q| q.weights),
                &["[quantize]", "group_size"],
            );
        }
    });
}

#[test]
fn quantized_matmul_with_empty_operands() {
    in_child("quantized_matmul_with_empty_operands", || {
        let o = QuantizeOptions::new(QuantizationMode::Affine);
        let q = ops::quantize(&Array::ones::<f32>(&[32, 64]).unwrap(), &o).unwrap();
        let b = q.biases.as_ref();
        // An empty batch: an empty product.
        let x = Array::zeros::<f32>(&[0, 64]).unwrap();
        let y = ops::quantized_matmul(&x, &q.weights, &q.scales, b, true, &o).unwrap();
        assert_eq!(y.shape(), &[0, 32]);
        assert!(y.to_vec::<f32>().unwrap().is_empty());
        let y = ops::gather_qmm(&x, &q.weights, &q.scales, b, None, None, true, &o, false).unwrap();
        assert_eq!(y.shape(), &[0, 32]);
        y.eval().unwrap();
        // Empty quantized weights (no output columns).
        let q0 = ops::quantize(&Array::ones::<f32>(&[0, 64]).unwrap(), &o).unwrap();
        let x = Array::ones::<f32>(&[3, 64]).unwrap();
        let y = ops::quantized_matmul(&x, &q0.weights, &q0.scales, q0.biases.as_ref(), true, &o)
            .unwrap();
        assert_eq!(y.shape(), &[3, 0]);
        y.eval().unwrap();
        let y = ops::gather_qmm(
            &x,
            &q0.weights,
            &q0.scales,
            q0.biases.as_ref(),
            None,
            None,
            true,
            &o,
            false,
        )
        .unwrap();
        assert_eq!(y.shape(), &[3, 0]);
        y.eval().unwrap();
    });
}

#[test]
fn integer_division_overflow_wraps() {
    in_child("integer_division_overflow_wraps", || {
        // NumPy's results: i32::MIN / -1 wraps to i32::MIN, with remainder 0.
        let a = Array::from_slice(&[i32::MIN, 7, -7, i32::MIN], &[4]).unwrap();
        let b = Array::from_slice(&[-1, -1, -1, 2], &[4]).unwrap();
        let q = ops::floor_divide(&a, &b).unwrap();
        assert_eq!(
            q.to_vec::<i32>().unwrap(),
            vec![i32::MIN, -7, 7, i32::MIN / 2]
        );
        let r = ops::remainder(&a, &b).unwrap();
        assert_eq!(r.to_vec::<i32>().unwrap(), vec![0, 0, 0, 0]);
        let (q, r) = ops::divmod(&a, &b).unwrap();
        assert_eq!(
            q.to_vec::<i32>().unwrap(),
            vec![i32::MIN, -7, 7, i32::MIN / 2]
        );
        assert_eq!(r.to_vec::<i32>().unwrap(), vec![0, 0, 0, 0]);
        let a = Array::from_slice(&[i64::MIN], &[1]).unwrap();
        let b = Array::from_slice(&[-1i64], &[1]).unwrap();
        assert_eq!(
            ops::floor_divide(&a, &b).unwrap().to_vec::<i64>().unwrap(),
            vec![i64::MIN]
        );
        assert_eq!(
            ops::remainder(&a, &b).unwrap().to_vec::<i64>().unwrap(),
            vec![0]
        );
        let (q, r) = ops::divmod(&a, &b).unwrap();
        assert_eq!((ints_of(&q), ints_of(&r)), (vec![i64::MIN], vec![0]));
        // The operators and smaller types too.
        let a = Array::from_slice(&[i8::MIN, i8::MIN], &[2]).unwrap();
        let m1 = Array::scalar(-1i8);
        assert_eq!(
            ops::remainder(&a, &m1).unwrap().to_vec::<i8>().unwrap(),
            vec![0, 0]
        );
        let a = Array::from_slice(&[i16::MIN], &[1]).unwrap();
        let m1 = Array::from_slice(&[-1i16], &[1]).unwrap();
        assert_eq!(
            ops::floor_divide(&a, &m1).unwrap().to_vec::<i16>().unwrap(),
            vec![i16::MIN]
        );
    });
}

#[test]
fn integer_division_by_zero_agrees() {
    in_child("integer_division_by_zero_agrees", || {
        // floor_divide by 0 gives 0 and remainder by 0 gives the dividend; divmod agrees, for
        // every integer type (it used to trap on unsigned ones).
        for dtype in mlx::ALL_DTYPES.into_iter().filter(|d| d.is_integer()) {
            let a = Array::from_slice(&[5i32, 0, 3], &[3])
                .unwrap()
                .astype(dtype)
                .unwrap();
            let z = Array::from_slice(&[0i32, 0, 1], &[3])
                .unwrap()
                .astype(dtype)
                .unwrap();
            let fd = ints_of(&ops::floor_divide(&a, &z).unwrap());
            let rm = ints_of(&ops::remainder(&a, &z).unwrap());
            let (q, r) = ops::divmod(&a, &z).unwrap();
            assert_eq!(fd, vec![0, 0, 3], "{dtype:?}");
            assert_eq!(rm, vec![5, 0, 0], "{dtype:?}");
            assert_eq!((ints_of(&q), ints_of(&r)), (fd, rm), "{dtype:?}");
        }
    });
}

#[test]
fn scatter_into_empty_axes() {
    in_child("scatter_into_empty_axes", || {
        let a = Array::zeros::<f32>(&[0, 3]).unwrap();
        let idx = mlx::array![0];
        // A window of one row does not fit: MLX's error.
        let upd = Array::ones::<f32>(&[1, 1, 3]).unwrap();
        err_with(
            ops::scatter(&a, std::slice::from_ref(&idx), &upd, &[0]),
            &["[scatter]"],
        );
        // An empty window: nothing is written.
        let upd = Array::ones::<f32>(&[1, 0, 3]).unwrap();
        for out in [
            ops::scatter(&a, std::slice::from_ref(&idx), &upd, &[0]),
            ops::scatter_add(&a, std::slice::from_ref(&idx), &upd, &[0]),
            ops::scatter_max(&a, std::slice::from_ref(&idx), &upd, &[0]),
        ] {
            let out = out.unwrap();
            assert_eq!(out.shape(), &[0, 3]);
            out.eval().unwrap();
        }
        let c = Array::ones::<f32>(&[3, 0]).unwrap();
        let upd = Array::ones::<f32>(&[2, 1, 0]).unwrap();
        let out = ops::scatter_add(&c, &[mlx::array![0, 2]], &upd, &[0]).unwrap();
        assert_eq!(out.shape(), &[3, 0]);
        out.eval().unwrap();
        let v = Array::ones::<f32>(&[3]).unwrap();
        // Index 0 of an empty axis is out of range: an error, or nothing written.
        let writes = [a.index_put(0, &v), a.index_add(0, &v), a.index_max(0, &v)];
        for out in writes.into_iter().flatten() {
            assert_eq!(out.shape(), &[0, 3]);
            out.eval().unwrap();
        }
        let b = Array::zeros::<f32>(&[4, 0]).unwrap();
        let idx = mlx::array![1, 2];
        let out = b
            .index_put(&idx, &Array::zeros::<f32>(&[2, 0]).unwrap())
            .unwrap();
        assert_eq!(out.shape(), &[4, 0]);
        out.eval().unwrap();
        let out = b
            .index_add(&idx, &Array::zeros::<f32>(&[2, 0]).unwrap())
            .unwrap();
        out.eval().unwrap();
    });
}

#[test]
fn lu_of_an_empty_matrix() {
    in_child("lu_of_an_empty_matrix", || {
        let a = Array::zeros::<f32>(&[7, 0]).unwrap();
        err_with(linalg::lu(&a).map(|r| r.0), &["[linalg::lu]", "empty"]);
        err_with(
            linalg::lu_factor(&a).map(|r| r.0),
            &["[linalg::lu_factor]", "empty"],
        );
        let a = Array::zeros::<f32>(&[0, 7]).unwrap();
        err_with(linalg::lu(&a).map(|r| r.0), &["[linalg::lu]", "empty"]);
        // 0x0 is fine (see the linalg tests).
        let a = Array::zeros::<f32>(&[0, 0]).unwrap();
        assert!(linalg::lu(&a).is_ok());
    });
}

#[test]
fn segmented_mm_with_empty_operands() {
    in_child("segmented_mm_with_empty_operands", || {
        // No contraction length: sums over nothing are 0.
        let a = Array::ones::<f32>(&[3, 0]).unwrap();
        let b = Array::ones::<f32>(&[0, 2]).unwrap();
        let seg = Array::from_slice(&[0u32, 0, 0, 0], &[2, 2]).unwrap();
        let out = ops::segmented_mm(&a, &b, &seg).unwrap();
        assert_eq!(out.shape(), &[2, 3, 2]);
        assert_eq!(out.to_vec::<f32>().unwrap(), vec![0.0; 12]);
        // No rows, no segments.
        let a = Array::ones::<f32>(&[0, 4]).unwrap();
        let b = Array::ones::<f32>(&[4, 2]).unwrap();
        let seg = Array::from_slice(&[0u32, 4], &[1, 2]).unwrap();
        let out = ops::segmented_mm(&a, &b, &seg).unwrap();
        assert_eq!(out.shape(), &[1, 0, 2]);
        out.eval().unwrap();
        let seg = Array::zeros::<u32>(&[0, 2]).unwrap();
        let a = Array::ones::<f32>(&[3, 4]).unwrap();
        let out = ops::segmented_mm(&a, &b, &seg).unwrap();
        assert_eq!(out.shape(), &[0, 3, 2]);
        out.eval().unwrap();
    });
}

#[test]
fn unflatten_with_bad_shapes() {
    in_child("unflatten_with_bad_shapes", || {
        let x = Array::ones::<f32>(&[3, 0]).unwrap();
        err_with(
            ops::unflatten(&x, -1, &[2, -1, 0]),
            &["[unflatten]", "infer"],
        );
        let x = Array::ones::<bool>(&[7, 4]).unwrap();
        err_with(ops::unflatten(&x, -1, &[-2, -2]), &["[unflatten]"]);
        err_with(ops::unflatten(&x, -1, &[-1, -1]), &["[unflatten]"]);
        // Still fine:
        assert_eq!(
            ops::unflatten(&x, -1, &[2, -1]).unwrap().shape(),
            &[7, 2, 2]
        );
    });
}

#[test]
fn depends_on_nothing() {
    in_child("depends_on_nothing", || {
        assert!(ops::depends(&[], &[]).unwrap().is_empty());
        let a = Array::ones::<f32>(&[2]).unwrap();
        assert!(
            ops::depends(&[], std::slice::from_ref(&a))
                .unwrap()
                .is_empty()
        );
        let out = ops::depends(std::slice::from_ref(&a), &[]).unwrap();
        assert_eq!(out[0].to_vec::<f32>().unwrap(), vec![1.0, 1.0]);
    });
}

#[test]
fn eig_of_infinite_matrices() {
    in_child("eig_of_infinite_matrices", || {
        for v in [f32::INFINITY, f32::NEG_INFINITY, f32::NAN] {
            let a = Array::from_slice(&[1.0, v, 0.0, 2.0], &[2, 2]).unwrap();
            let got = linalg::eig(&a).and_then(|(w, v)| {
                w.eval()?;
                v.eval()?;
                Ok(())
            });
            err_with(got, &["eig"]);
            err_with(linalg::eigvals(&a).and_then(|w| w.eval()), &["eig"]);
        }
    });
}

#[test]
fn transform_closures_with_wrong_outputs() {
    in_child("transform_closures_with_wrong_outputs", || {
        let x = Array::ones::<f32>(&[2]).unwrap();
        // A function returning no outputs.
        let f = transforms::checkpoint(|_: &[Array]| Ok(vec![])).unwrap();
        err_with(
            f.call(std::slice::from_ref(&x)),
            &["[checkpoint]", "no arrays"],
        );
        let f = transforms::custom_vjp(
            |_: &[Array]| Ok(vec![]),
            |p: &[Array], _: &[Array], _: &[Array]| Ok(p.to_vec()),
        )
        .unwrap();
        err_with(
            f.call(std::slice::from_ref(&x)),
            &["[custom_vjp]", "no arrays"],
        );
        // A vjp rule returning fewer cotangents than there are primals.
        let f = transforms::custom_vjp(
            |x: &[Array]| Ok(vec![ops::multiply(&x[0], &x[1])?]),
            |_: &[Array], c: &[Array], _: &[Array]| Ok(vec![c[0].clone()]),
        )
        .unwrap();
        let mut g = transforms::grad(move |x: &[Array]| f.call(x)?[0].sum(None, false), &[0, 1]);
        err_with(g(&[x.clone(), x.clone()]), &["[custom_vjp]", "1", "2"]);
        // A cotangent of the wrong shape.
        let f = transforms::custom_vjp(
            |x: &[Array]| Ok(vec![ops::multiply(&x[0], &x[0])?]),
            |_: &[Array], _: &[Array], _: &[Array]| Ok(vec![Array::ones::<f32>(&[3])?]),
        )
        .unwrap();
        let mut g = transforms::grad(move |x: &[Array]| f.call(x)?[0].sum(None, false), &[0]);
        err_with(g(std::slice::from_ref(&x)), &["[custom_vjp]", "shape"]);
    });
}

#[test]
fn allocations_larger_than_memory() {
    in_child("allocations_larger_than_memory", || {
        let big = 1 << 20;
        let oom = ["memory"];
        err_with(ops::zeros(&[big, big], Dtype::Float32), &oom);
        err_with(ops::identity(big, Dtype::Float32), &oom);
        err_with(ops::eye(big, big, 0, Dtype::Float32), &oom);
        err_with(ops::tri(big, big, 0, Dtype::Float32), &oom);
        let v = Array::ones::<f32>(&[big]).unwrap();
        let col = Array::ones::<f32>(&[big, 1]).unwrap();
        err_with(ops::repeat(&col, big, Some(1)), &oom);
        err_with(ops::outer(&v, &v), &oom);
        let m = Array::ones::<f32>(&[1024, 1024]).unwrap();
        err_with(ops::kron(&m, &m), &oom);
        err_with(
            fft::fftn(&v, Some(&[i32::MAX]), Some(&[0]), fft::FftNorm::Backward),
            &oom,
        );
        let x = Array::ones::<f32>(&[1, 4, 4, 1]).unwrap();
        let w = Array::ones::<f32>(&[1, 3, 3, 1]).unwrap();
        err_with(
            ops::conv2d(&x, &w, ops::ConvOptions::new().with_padding(1 << 20)),
            &oom,
        );
        // The documented limit: no single array may be larger than the memory limit.
        let prev = memory::set_memory_limit(1 << 20).unwrap();
        let r = ops::zeros(&[1 << 19], Dtype::Float32);
        memory::set_memory_limit(prev).unwrap();
        err_with(r, &["memory limit"]);
        assert!(ops::zeros(&[1 << 19], Dtype::Float32).is_ok());
    });
}

#[test]
fn diff_of_a_huge_order() {
    in_child("diff_of_a_huge_order", || {
        // NumPy: an order at least the length of the axis leaves nothing.
        let a = Array::from_slice(&[1.0f32, 4.0, 9.0], &[3]).unwrap();
        let d = ops::diff(&a, i32::MAX, 0).unwrap();
        assert_eq!(d.shape(), &[0]);
        assert_eq!(d.dtype(), Dtype::Float32);
        let d = ops::diff(&a, 3, 0).unwrap();
        assert_eq!(d.shape(), &[0]);
        assert_eq!(
            ops::diff(&a, 2, 0).unwrap().to_vec::<f32>().unwrap(),
            vec![2.0]
        );
        let e = Array::zeros::<i32>(&[2, 0]).unwrap();
        assert_eq!(ops::diff(&e, 5, 1).unwrap().shape(), &[2, 0]);
    });
}

#[test]
fn no_negative_or_overflowing_shapes() {
    in_child("no_negative_or_overflowing_shapes", || {
        let x = Array::ones::<f16>(&[125]).unwrap();
        let start = Array::scalar(0i64);
        err_with(
            ops::slice_dynamic(&x, &start, &[0], &[-1048576]),
            &["[slice_dynamic]", "negative"],
        );
        err_with(ops::broadcast_to(&x, &[-1, 125]), &[]);
        // A size past i64 (or usize) is refused.
        let one = Array::ones::<f32>(&[1]).unwrap();
        err_with(
            ops::broadcast_to(&one, &[i32::MAX, i32::MAX, i32::MAX]),
            &["memory"],
        );
    });
}

#[test]
fn weak_scalars_that_do_not_fit() {
    let u = Array::from_slice(&[1u8, 2], &[2]).unwrap();
    let e = std::panic::catch_unwind(|| &u + 300).unwrap_err();
    let text = e.downcast_ref::<String>().unwrap();
    assert!(
        text.contains("Converting 300 to uint8 would result in overflow"),
        "{text}"
    );
    let i = Array::from_slice(&[1i8, 2], &[2]).unwrap();
    assert!(std::panic::catch_unwind(|| &i * 1000).is_err());
    assert!(std::panic::catch_unwind(|| -129 + &i).is_err());
    err_with(mlx::weak_scalar(-1, Dtype::Uint32), &["overflow"]);
    // What fits stays exact; floats into float16 may round or overflow to infinity as in MLX.
    assert_eq!((&u + 253).to_vec::<u8>().unwrap(), vec![254, 255]);
    assert_eq!((&i * -64).to_vec::<i8>().unwrap(), vec![-64, -128]);
    let h = Array::from_slice(&[f16::from_f32(1.0)], &[1]).unwrap();
    assert_eq!((&h * 1e6).dtype(), Dtype::Float16);
}

#[test]
fn pad_of_a_scalar() {
    let s = Array::scalar(3.0f32);
    let p = ops::pad(&s, &[(1, 1)], &Array::scalar(0.0f32), PadMode::Constant).unwrap();
    assert_eq!(p.shape(), &[] as &[i32]);
    assert_eq!(p.item::<f32>().unwrap(), 3.0);
    let p = ops::pad(&s, &[], &Array::scalar(0.0f32), PadMode::Edge).unwrap();
    assert_eq!(p.item::<f32>().unwrap(), 3.0);
}

#[test]
fn npz_names_with_nul() {
    let dir = std::env::temp_dir().join(format!("mlx-errors-npz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let a = Array::ones::<f32>(&[2]).unwrap();
    let r = io::save_npz(dir.join("x.npz"), [("a\0b", &a)]);
    err_with(r, &["NUL"]);
    std::fs::remove_dir_all(&dir).ok();
}

// ---- Calls the fuzzer (`cargo xtask fuzz`) found hanging or crashing ------------------------------

#[test]
fn fuzzer_found_cases() {
    in_child("fuzzer_found_cases", || {
        // pad in reflect/symmetric mode far past the axis length: NumPy's periodic result,
        // built in one step (MLX mirrored once per node, which never finished for 2^20).
        let a = Array::from_slice(&[0i32, 1, 2], &[3]).unwrap();
        let zero = Array::scalar(0i32);
        let r = ops::pad(&a, &[(5, 4)], &zero, PadMode::Reflect).unwrap();
        assert_eq!(
            r.to_vec::<i32>().unwrap(),
            vec![1, 0, 1, 2, 1, 0, 1, 2, 1, 0, 1, 2]
        );
        let r = ops::pad(&a, &[(5, 4)], &zero, PadMode::Symmetric).unwrap();
        assert_eq!(
            r.to_vec::<i32>().unwrap(),
            vec![1, 2, 2, 1, 0, 0, 1, 2, 2, 1, 0, 0]
        );
        let one = Array::from_slice(&[7i32], &[1]).unwrap();
        let r = ops::pad(&one, &[(2, 2)], &zero, PadMode::Reflect).unwrap();
        assert_eq!(r.to_vec::<i32>().unwrap(), vec![7; 5]);
        let u = Array::ones::<u8>(&[4, 5]).unwrap();
        let r = ops::pad(&u, &[(3, 21), (3, 1 << 20)], &zero, PadMode::Symmetric).unwrap();
        assert_eq!(r.shape(), &[28, 5 + 3 + (1 << 20)]);
        r.eval().unwrap();
        // An empty array padded far: no 2^30-long index vector is built.
        let z = Array::zeros::<f64>(&[0, 2]).unwrap();
        let r = ops::pad(
            &z,
            &[(0, 0), (3, 1 << 30)],
            &Array::scalar(0.0f64),
            PadMode::Symmetric,
        )
        .unwrap();
        assert_eq!(r.shape(), &[0, 5 + (1 << 30)]);
        r.eval().unwrap();
        let e = Array::zeros::<bool>(&[1, 0, 0, 1]).unwrap();
        let w = [(1 << 30, 2)];
        err_with(
            ops::pad(&e, &w, &Array::scalar(false), PadMode::Reflect),
            &["[pad]", "empty axis"],
        );
        // SVD-based ops on infinite entries never returned.
        let m = Array::from_slice(
            &[1.0f64, f64::INFINITY, 0.0, 0.0, 2.0, 1.0, 3.0, 1.0, 1.0],
            &[3, 3],
        )
        .unwrap();
        err_with(linalg::svd(&m).map(|r| r.0), &["[linalg::svd]", "infinite"]);
        err_with(linalg::pinv(&m), &["[linalg::pinv]", "infinite"]);
        err_with(
            linalg::norm(&m, Some(linalg::NormOrd::Nuc), None, false),
            &["[linalg::norm]", "infinite"],
        );
        // Inside grad (no evaluation allowed there) they are NaN, which LAPACK reports.
        let mut g = transforms::grad(|x: &[Array]| linalg::svdvals(&x[0])?.sum(None, false), &[0]);
        assert!(
            g(std::slice::from_ref(&m))
                .and_then(|v| v[0].eval())
                .is_err()
        );
        // 2^30 sections of an empty axis.
        let e = Array::zeros::<f32>(&[0]).unwrap();
        err_with(ops::split(&e, 1 << 30, 0), &["[split]", "sections"]);
        assert_eq!(ops::split(&e, 3, 0).unwrap().len(), 3);
        // Indices into an empty axis read outside the data (SIGSEGV).
        let a = Array::zeros::<i32>(&[1, 1, 0]).unwrap();
        let idx = Array::from_slice(&[0i64, 1], &[2]).unwrap();
        err_with(
            ops::take_along_axis(&a, &idx, None),
            &["[take_along_axis]", "length 0"],
        );
        err_with(ops::take(&a, &idx, None), &["[take]", "empty"]);
        err_with(ops::take(&a, &idx, Some(2)), &["[take]", "empty"]);
        assert_eq!(ops::take(&a, &idx, Some(0)).unwrap().shape(), &[2, 1, 0]);
        // A scatter of no updates into a non-empty array divided by zero (SIGFPE).
        let a = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0], &[4]).unwrap();
        let none = Array::zeros::<f32>(&[0]).unwrap();
        let out = ops::scatter(&a, &[], &none, &[]).unwrap();
        assert_eq!(out.to_vec::<f32>().unwrap(), vec![1.0, 2.0, 3.0, 4.0]);
        // masked_scatter from an empty source divided by zero (SIGFPE).
        let s = Array::scalar(7u16);
        let src = Array::zeros::<u64>(&[0]).unwrap();
        err_with(
            ops::masked_scatter(&s, &Array::scalar(true), &src),
            &["[masked_scatter]", "empty"],
        );
        let out = ops::masked_scatter(&s, &Array::scalar(false), &src).unwrap();
        assert_eq!(out.item::<u16>().unwrap(), 7);
        // segmented_mm read outside its operands for segments out of range or of a bad shape.
        let a = Array::ones::<f32>(&[2, 3]).unwrap();
        let b = Array::ones::<f32>(&[3, 2]).unwrap();
        err_with(
            ops::segmented_mm(&a, &b, &Array::from_slice(&[0i64, 1, 2], &[3]).unwrap()),
            &["[segmented_mm]", "(..., 2)"],
        );
        let seg = Array::from_slice(&[i64::MIN, 2, 1, 1 << 40], &[2, 2]).unwrap();
        assert_eq!(ops::segmented_mm(&a, &b, &seg).unwrap().shape(), &[2, 2, 2]);
        let seg = Array::from_slice(&[i32::MIN, 2, 1, 1 << 30, 2, 1], &[3, 2]).unwrap();
        let out = ops::segmented_mm(&a, &b, &seg).unwrap();
        // Clamped to [0, 2], [1, 3] and [2, 2]: sums of 2, 2 and 0 ones.
        assert_eq!(out.shape(), &[3, 2, 2]);
        let v = out.astype(Dtype::Float32).unwrap().to_vec::<f32>().unwrap();
        assert_eq!(v, [vec![2.0; 4], vec![2.0; 4], vec![0.0; 4]].concat());
        // tri with 2^31 - 1 columns and no rows built an 8 GiB column index (a hang).
        let t = ops::tri(0, i32::MAX, i32::MAX, Dtype::Bfloat16).unwrap();
        assert_eq!(t.shape(), &[0, i32::MAX]);
        t.eval().unwrap();
        let prev = memory::set_memory_limit(1 << 20).unwrap();
        let r = ops::tri(2, 1 << 20, 0, Dtype::Bool);
        memory::set_memory_limit(prev).unwrap();
        err_with(r, &["[tri]", "memory"]);
    });
}

#[test]
fn convolutions_with_no_channels_or_empty_kernels() {
    in_child("convolutions_with_no_channels_or_empty_kernels", || {
        let cases: [(&[i32], &[i32]); 4] = [
            (&[0, 0, 0, 0], &[0, 0, 0, 0]),
            (&[1, 4, 4, 0], &[2, 3, 3, 0]),
            (&[1, 4, 4, 2], &[2, 0, 3, 2]),
            (&[1, 4, 4, 2], &[0, 3, 3, 2]),
        ];
        for (xs, ws) in cases {
            let x = Array::zeros::<f32>(xs).unwrap();
            let w = Array::zeros::<f32>(ws).unwrap();
            let err = ops::conv2d(&x, &w, ops::ConvOptions::new())
                .and_then(|y| y.eval())
                .expect_err("empty channels or kernel");
            assert!(err.to_string().contains("must be positive"), "{err}");
        }
        // An empty batch is still a convolution, with an empty result.
        let x = Array::zeros::<f32>(&[0, 4, 4, 2]).unwrap();
        let w = Array::ones::<f32>(&[2, 3, 3, 2]).unwrap();
        let y = ops::conv2d(&x, &w, ops::ConvOptions::new()).unwrap();
        assert_eq!(y.shape(), &[0, 2, 2, 2]);
    });
}
