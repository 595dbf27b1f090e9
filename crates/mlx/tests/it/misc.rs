//! The remaining ops: copy, stop_gradient, depends, windows, number_of_elements.

use crate::common;

use std::f64::consts::PI;

use common::{assert_close, check_grad, sample, values};
use mlx::{Array, Dtype, Error, Status, ops, transforms};

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
        |a: &[Array]| ops::sum(&ops::stop_gradient(&a[0])?, None, false),
        &[0],
    )(std::slice::from_ref(&x))
    .unwrap();
    assert_eq!(values(&g[0]), vec![0.0; 4]);
    // d/dx sum(stop_gradient(x) * x) = stop_gradient(x) = x (not 2x).
    let g = transforms::grad(
        |a: &[Array]| {
            ops::sum(
                &ops::multiply(&ops::stop_gradient(&a[0])?, &a[0])?,
                None,
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
        let stopped = ops::sum(&ops::multiply(&s, &s)?, None, false)?;
        ops::add(
            &ops::sum(&ops::multiply(&a[0], &c)?, None, false)?,
            &stopped,
        )
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
fn copy_gradient() {
    let x = sample(&[2, 3], 8, -1.0, 1.0);
    let c = sample(&[3, 2], 9, -1.0, 1.0);
    let f = |a: &[Array]| {
        let y = ops::copy(&a[0].t()?)?;
        ops::sum(&ops::multiply(&ops::multiply(&y, &y)?, &c)?, None, false)
    };
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

// ---- number_of_elements --------------------------------------------------------------------------

#[test]
fn number_of_elements_counts_axes() {
    let a = Array::zeros::<f32>(&[2, 3, 4]).unwrap();
    let n = ops::number_of_elements(&a, Some(&[0, -1]), false, Dtype::Int32).unwrap();
    assert_eq!(n.shape(), &[] as &[i32]);
    assert_eq!(n.item::<i32>().unwrap(), 8);
    let inv = ops::number_of_elements(&a, Some(&[1]), true, Dtype::Float32).unwrap();
    assert_close(&inv, &[1.0 / 3.0], 1e-7, 0.0);
    let all = ops::number_of_elements(&a, Some(&[0, 1, 2]), false, Dtype::Int64).unwrap();
    assert_eq!(all.item::<i64>().unwrap(), 24);
    // `None` counts every axis; `Some(&[])` none (the empty product).
    let every = ops::number_of_elements(&a, None, false, Dtype::Int32).unwrap();
    assert_eq!(every.item::<i32>().unwrap(), 24);
    let none = ops::number_of_elements(&a, Some(&[]), false, Dtype::Int32).unwrap();
    assert_eq!(none.item::<i32>().unwrap(), 1);
    let scalar = Array::scalar(5.0f32);
    let s = ops::number_of_elements(&scalar, None, true, Dtype::Float32).unwrap();
    assert_eq!(s.item::<f32>().unwrap(), 1.0);
    let t = ops::number_of_elements(&a.t().unwrap(), Some(&[0]), false, Dtype::Uint32).unwrap();
    assert_eq!(t.item::<u32>().unwrap(), 4);
    for axis in [3, -4] {
        let e = ops::number_of_elements(&a, Some(&[axis]), false, Dtype::Int32).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
        assert!(e.message().contains("out of bounds"), "{e}");
    }
}

// ---- dtype promotion, convolve, empty, load/save by extension -----------------------------------

#[test]
fn type_promotion_matches_python_for_every_pair() {
    use mlx::{ALL_DTYPES, DtypeCategory as C};
    let n = ALL_DTYPES.len();
    let mut promoted = Vec::new();
    let mut castable = Vec::new();
    for a in ALL_DTYPES {
        for b in ALL_DTYPES {
            promoted.push(ALL_DTYPES.iter().position(|d| *d == a.promote(b)).unwrap() as i32);
            castable.push(a.can_cast(b) as i32);
        }
    }
    assert_eq!(Dtype::Int32.promote(Dtype::Float16), Dtype::Float16);
    assert_eq!(Dtype::Uint8.promote(Dtype::Int8), Dtype::Int16);
    assert_eq!(
        mlx::result_type(&[Dtype::Bool, Dtype::Uint8, Dtype::Float32]),
        Some(Dtype::Float32)
    );
    assert_eq!(mlx::result_type(&[]), None);
    assert!(Dtype::Int8.can_cast(Dtype::Int32) && !Dtype::Float32.can_cast(Dtype::Int32));
    assert!(Dtype::Bool.issubdtype(C::Generic) && !Dtype::Bool.issubdtype(C::Number));
    assert!(Dtype::Bfloat16.issubdtype(C::Floating) && Dtype::Complex64.issubdtype(C::Inexact));
    assert!(Dtype::Uint16.issubdtype(C::Integer) && !Dtype::Uint16.issubdtype(C::SignedInteger));
    assert!(C::Floating.is_within(C::Inexact) && !C::Inexact.is_within(C::Floating));
    assert!(C::SignedInteger.is_within(C::Number) && C::Exactly(Dtype::Int8).is_within(C::Integer));
    let body = format!(
        "ds = [mx.bool_, mx.uint8, mx.uint16, mx.uint32, mx.uint64, mx.int8, mx.int16, mx.int32, \
         mx.int64, mx.float16, mx.float32, mx.float64, mx.bfloat16, mx.complex64]\n\
         assert len(ds) == {n}\n\
         out['promoted'] = mx.array([ds.index(mx.result_type(a, b)) for a in ds for b in ds])\n\
         out['castable'] = mx.array([int(mx.can_cast(a, b)) for a in ds for b in ds])"
    );
    if let Some(out) = common::python_mlx(&body, &[]) {
        assert_eq!(out["promoted"].to_vec::<i32>().unwrap(), promoted);
        assert_eq!(out["castable"].to_vec::<i32>().unwrap(), castable);
    }
}

#[test]
fn convolve_matches_python_in_every_mode() {
    use mlx::ops::{ConvolveMode, convolve};
    let a = sample(&[7], 1, -1.0, 1.0).astype(Dtype::Float32).unwrap();
    let v = sample(&[4], 2, -1.0, 1.0).astype(Dtype::Float32).unwrap();
    let modes = [ConvolveMode::Full, ConvolveMode::Same, ConvolveMode::Valid];
    let ours: Vec<Array> = modes
        .iter()
        .map(|m| convolve(&a, &v, *m).unwrap())
        .collect();
    let swapped = convolve(&v, &a, ConvolveMode::Same).unwrap();
    // Closed form of the full convolution.
    let (x, k) = (values(&a), values(&v));
    let full: Vec<f64> = (0..x.len() + k.len() - 1)
        .map(|i| {
            (0..k.len())
                .filter(|j| i >= *j && i - j < x.len())
                .map(|j| x[i - j] * k[j])
                .sum()
        })
        .collect();
    assert_close(&ours[0], &full, 1e-5, 1e-6);
    assert_eq!(ours[2].shape(), &[4]);
    let body = "a, v = inp['a'], inp['v']\n\
                for m in ['full', 'same', 'valid']:\n    out[m] = mx.convolve(a, v, mode=m)\n\
                out['swapped'] = mx.convolve(v, a, mode='same')";
    if let Some(out) = common::python_mlx(body, &[("a", &a), ("v", &v)]) {
        for (got, m) in ours.iter().zip(["full", "same", "valid"]) {
            common::assert_arrays_close(got, &out[m], 1e-5, 1e-6);
        }
        common::assert_arrays_close(&swapped, &out["swapped"], 1e-5, 1e-6);
    }
    assert!(convolve(&a.reshape(&[7, 1]).unwrap(), &v, ConvolveMode::Full).is_err());
}

#[test]
fn empty_is_zeros_and_files_load_by_extension() {
    let e = ops::empty(&[2, 3], Dtype::Int16).unwrap();
    assert_eq!((e.shape(), e.dtype()), (&[2, 3][..], Dtype::Int16));
    assert!(values(&e).iter().all(|v| *v == 0.0));
    assert_eq!(
        ops::empty_like(&e, Some(Dtype::Float32)).unwrap().dtype(),
        Dtype::Float32
    );

    let dir = std::env::temp_dir().join(format!("mlx-by-extension-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let a = sample(&[3, 2], 3, -1.0, 1.0)
        .astype(Dtype::Float32)
        .unwrap();
    let b = Array::from_slice(&[1i32, 2, 3], &[3]).unwrap();
    let both = std::collections::HashMap::from([
        ("a".to_string(), a.clone()),
        ("b".to_string(), b.clone()),
    ]);
    for ext in ["npz", "safetensors", "gguf"] {
        let path = dir.join(format!("both.{ext}"));
        mlx::io::save(&path, &both).unwrap();
        let back = mlx::io::load(&path).unwrap().into_arrays();
        assert_eq!(values(&back["a"]), values(&a), "{ext}");
        assert_eq!(values(&back["b"]), values(&b), "{ext}");
    }
    let one = dir.join("one.NPY");
    assert!(mlx::io::save(&one, &both).is_err(), ".npy holds one array");
    mlx::io::save(
        &one,
        &std::collections::HashMap::from([("x".to_string(), a.clone())]),
    )
    .unwrap();
    assert_eq!(
        values(&mlx::io::load(&one).unwrap().into_array().unwrap()),
        values(&a)
    );
    assert!(
        mlx::io::load(dir.join("both.npz"))
            .unwrap()
            .into_array()
            .is_err()
    );
    assert!(mlx::io::load(dir.join("weights.bin")).is_err());
    std::fs::remove_dir_all(&dir).ok();
}

// ---- memory ----------------------------------------------------------------------------------------

/// Without a GPU, freed buffers go back to malloc (whose heap reuses them), not into MLX's cache
/// as well; with one, MLX's cache keeps them (see `mlx::memory`).
#[test]
fn without_a_gpu_mlx_caches_no_freed_buffer() {
    let a = Array::full(&[1 << 18], 2.0f32).unwrap();
    let b = ops::multiply(&a, &a).unwrap();
    assert_eq!(values(&b)[..2], [4.0, 4.0]);
    drop((a, b));
    let defaults_kept = std::env::var("MLXC_MALLOC_DEFAULTS").is_ok_and(|v| v == "1");
    if mlx::gpu_backend().is_none() && !defaults_kept {
        assert_eq!(mlx::memory::cache_memory(), 0);
        // The limit is 0, and a user's limit replaces it.
        let previous = mlx::memory::set_cache_limit(1 << 20).unwrap();
        assert_eq!(previous, 0);
        assert_eq!(mlx::memory::set_cache_limit(0).unwrap(), 1 << 20);
    }
}
