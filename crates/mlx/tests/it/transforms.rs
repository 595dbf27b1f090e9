//! Transforms over Rust closures, including closures that capture arrays, fail or panic.

use mlx::transforms::{self, Function};
use mlx::{Array, Dtype, Error, ops};

fn v(a: &Array) -> Vec<f32> {
    a.to_vec::<f32>().unwrap()
}

#[test]
fn grad_of_a_quadratic() {
    // f(x) = sum(x * x * 3) → f'(x) = 6x
    let mut df = transforms::grad(
        |x: &[Array]| (&(&x[0] * &x[0]) * 3.0).sum(None, false),
        &[0],
    );
    let g = df(&[mlx::array![1.0, -2.0, 0.5]]).unwrap();
    assert_eq!(v(&g[0]), vec![6.0, -12.0, 3.0]);
}

#[test]
fn value_and_grad_over_several_arguments_with_captured_arrays() {
    // loss(w, b) = sum((x·w + b - y)^2), with x and y captured from the environment.
    let x = mlx::array![[1.0, 2.0], [3.0, 4.0]];
    let y = mlx::array![1.0, 2.0];
    let loss = |p: &[Array]| {
        let pred = &ops::matmul(&x, &p[0])? + &p[1];
        let err = &pred - &y;
        Ok(vec![(&err * &err).sum(None, false)?, pred])
    };
    let w = mlx::array![0.5, -0.5];
    let b = mlx::array![0.25];
    let (values, grads) = transforms::value_and_grad(loss, &[0, 1])(&[w, b]).unwrap();
    // pred = [-0.25, -0.25], err = [-1.25, -2.25]
    assert_eq!(values[0].item::<f32>().unwrap(), 1.25 * 1.25 + 2.25 * 2.25);
    assert_eq!(v(&values[1]), vec![-0.25, -0.25]);
    // dL/dw = 2 xᵀ err, dL/db = 2 sum(err)
    assert_eq!(
        v(&grads[0]),
        vec![2.0 * (-1.25 - 3.0 * 2.25), 2.0 * (-2.0 * 1.25 - 4.0 * 2.25)]
    );
    assert_eq!(v(&grads[1]), vec![2.0 * (-1.25 - 2.25)]);
}

#[test]
fn vjp_and_jvp() {
    let f = |x: &[Array]| Ok(vec![&(&x[0] * &x[0]) * &x[1]]);
    let (out, vjps) = transforms::vjp(
        f,
        &[mlx::array![2.0, 3.0], mlx::array![5.0, 7.0]],
        &[mlx::array![1.0, 10.0]],
    )
    .unwrap();
    assert_eq!(v(&out[0]), vec![20.0, 63.0]);
    assert_eq!(v(&vjps[0]), vec![20.0, 420.0]); // 2·x·y·ct
    assert_eq!(v(&vjps[1]), vec![4.0, 90.0]); // x²·ct
    let (_, jvps) = transforms::jvp(
        f,
        &[mlx::array![2.0, 3.0], mlx::array![5.0, 7.0]],
        &[mlx::array![1.0, 1.0], mlx::array![0.0, 0.0]],
    )
    .unwrap();
    assert_eq!(v(&jvps[0]), vec![20.0, 42.0]);
}

#[test]
fn vmap_maps_over_an_axis() {
    let mut dot = transforms::vmap(
        |x: &[Array]| Ok(vec![(&x[0] * &x[1]).sum(None, false)?]),
        &[0, -1],
        &[0],
    );
    let rows = mlx::array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]];
    let w = mlx::array![10.0, 1.0];
    assert_eq!(v(&dot(&[rows, w]).unwrap()[0]), vec![12.0, 34.0, 56.0]);
}

#[test]
fn compiled_functions_match_and_are_reusable() {
    let scale = Array::scalar(3.0f32); // captured: moved into the 'static closure
    let f =
        transforms::compile(move |x: &[Array]| Ok(vec![&(&x[0] * &scale) + 1.0]), false).unwrap();
    for n in [2, 2, 5] {
        let x = Array::arange::<f32>(n).unwrap();
        let got = f.call(&[x]).unwrap();
        assert_eq!(
            v(&got[0]),
            (0..n).map(|i| 3.0 * i as f32 + 1.0).collect::<Vec<_>>()
        );
    }
    let shapeless = transforms::compile(|x: &[Array]| Ok(vec![&x[0] * &x[0]]), true).unwrap();
    assert_eq!(
        v(&shapeless.call(&[mlx::array![2.0]]).unwrap()[0]),
        vec![4.0]
    );
    assert_eq!(
        v(&shapeless.call(&[mlx::array![1.0, 3.0]]).unwrap()[0]),
        vec![1.0, 9.0]
    );
    // Shared across threads.
    let g = f.clone();
    let out = std::thread::spawn(move || {
        g.call(&[mlx::array![1.0]]).unwrap()[0]
            .item::<f32>()
            .unwrap()
    });
    assert_eq!(out.join().unwrap(), 4.0);
}

#[test]
fn checkpoint_and_custom_vjp_give_gradients() {
    let sq = transforms::checkpoint(|x: &[Array]| Ok(vec![&x[0] * &x[0]])).unwrap();
    let mut df = transforms::grad(|x: &[Array]| sq.call(x)?[0].sum(None, false), &[0]);
    assert_eq!(v(&df(&[mlx::array![3.0]]).unwrap()[0]), vec![6.0]);

    // A custom gradient that is deliberately not the true one: 100 · cotangent.
    let odd = transforms::custom_vjp(
        |x: &[Array]| Ok(vec![&x[0] * 2.0]),
        |_primals: &[Array], cotangents: &[Array], outputs: &[Array]| {
            assert_eq!(outputs.len(), 1);
            Ok(vec![&cotangents[0] * 100.0])
        },
    )
    .unwrap();
    let mut dodd = transforms::grad(|x: &[Array]| odd.call(x)?[0].sum(None, false), &[0]);
    assert_eq!(
        v(&dodd(&[mlx::array![1.0, 2.0]]).unwrap()[0]),
        vec![100.0, 100.0]
    );
}

#[test]
fn failing_and_panicking_closures_become_errors() {
    let mut bad = transforms::grad(|x: &[Array]| x[0].reshape(&[7]), &[0]);
    let e = bad(&[mlx::array![1.0, 2.0]]).unwrap_err();
    assert!(matches!(e, Error::Closure(_)), "{e:?}");
    assert!(e.to_string().contains("Cannot reshape"), "{e}");

    let mut boom = transforms::grad(
        |_x: &[Array]| -> mlx::Result<Array> { panic!("deliberate") },
        &[0],
    );
    let e = boom(&[mlx::array![1.0]]).unwrap_err();
    assert!(e.to_string().contains("panicked: deliberate"), "{e}");

    let f = Function::new(|x: &[Array]| Ok(vec![x[0].reshape(&[3])?])).unwrap();
    assert!(f.call(&[mlx::array![1.0]]).is_err());
    // Non-scalar output for grad is an MLX error, not a crash.
    let mut vec_out = transforms::grad(|x: &[Array]| Ok(x[0].clone()), &[0]);
    assert!(vec_out(&[mlx::array![1.0, 2.0]]).is_err());
    // Everything still works afterwards.
    let mut ok = transforms::grad(|x: &[Array]| x[0].sum(None, false), &[0]);
    assert_eq!(v(&ok(&[mlx::array![5.0]]).unwrap()[0]), vec![1.0]);
}

// ---- custom_function -------------------------------------------------------------------------

use std::sync::{Arc, Mutex};

use mlx::transforms::{CustomRules, custom_function};

use crate::common;

/// Reference values of sin (MLX computes float64 sin to about float32 precision on the CPU, so
/// comparisons with it use a relative tolerance of 1e-6).
fn sin_values(xs: &[f64]) -> Vec<f64> {
    xs.iter().map(|x| x.sin()).collect()
}

fn sum_of_first(f: &Function) -> impl FnMut(&[Array]) -> mlx::Result<Array> + '_ {
    move |x: &[Array]| f.call(x)?[0].sum(None, false)
}

#[test]
fn custom_function_without_rules_is_the_plain_function() {
    let f = custom_function(|x: &[Array]| Ok(vec![x[0].sin()?]), CustomRules::new()).unwrap();
    let xs = [0.5, -1.25, 2.0];
    let x = Array::from_slice(&xs, &[3]).unwrap();
    common::assert_close(
        &f.call(std::slice::from_ref(&x)).unwrap()[0],
        &sin_values(&xs),
        1e-6,
        0.0,
    );
    // Gradient (checked against finite differences), jvp and vmap as for sin itself.
    common::check_grad(
        |a: &[Array]| f.call(a)?[0].sum(None, false),
        std::slice::from_ref(&x),
        0,
        1e-3,
        1e-3,
    );
    let t = Array::from_slice(&[1.0, 2.0, -1.0], &[3]).unwrap();
    let (out, tangents) =
        transforms::jvp(|a: &[Array]| f.call(a), std::slice::from_ref(&x), &[t]).unwrap();
    common::assert_close(&out[0], &sin_values(&xs), 1e-6, 0.0);
    let want: Vec<f64> = xs
        .iter()
        .zip([1.0, 2.0, -1.0])
        .map(|(x, t)| x.cos() * t)
        .collect();
    common::assert_close(&tangents[0], &want, 1e-6, 0.0);
    let m = Array::from_slice(&[0.5, 1.0, 1.5, 2.0], &[2, 2]).unwrap();
    let mapped = transforms::vmap(|a: &[Array]| f.call(a), &[1], &[0])(&[m]).unwrap();
    assert_eq!(mapped[0].shape(), &[2, 2]);
    common::assert_close(&mapped[0], &sin_values(&[0.5, 1.5, 1.0, 2.0]), 1e-6, 0.0);
    // Without rules it also keeps several outputs and inputs apart.
    let two = custom_function(
        |x: &[Array]| Ok(vec![&x[0] * &x[1], &x[0] + &x[1]]),
        CustomRules::new(),
    )
    .unwrap();
    let (a, b) = (mlx::array![3.0f64], mlx::array![4.0f64]);
    let g = transforms::grad(
        |x: &[Array]| {
            let o = two.call(x)?;
            (&o[0] + &(&o[1] * 10.0)).sum(None, false)
        },
        &[0, 1],
    )(&[a, b])
    .unwrap();
    // d/da (ab + 10(a + b)) = b + 10, d/db = a + 10.
    common::assert_close(&g[0], &[14.0], 0.0, 0.0);
    common::assert_close(&g[1], &[13.0], 0.0, 0.0);
}

#[test]
fn custom_function_uses_its_vjp_rule() {
    // sin(x) with a deliberately wrong gradient: 3 · cotangent + the output (not cos(x)).
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen_in_rule = seen.clone();
    let f = custom_function(
        |x: &[Array]| Ok(vec![x[0].sin()?]),
        CustomRules::new().with_vjp(move |primals, cotangents, outputs| {
            seen_in_rule
                .lock()
                .unwrap()
                .push((primals.len(), cotangents.len(), outputs.len()));
            Ok(vec![&(&cotangents[0] * 3.0) + &outputs[0]])
        }),
    )
    .unwrap();
    let xs = [0.5f64, -1.25];
    let x = Array::from_slice(&xs, &[2]).unwrap();
    let g = transforms::grad(sum_of_first(&f), &[0])(std::slice::from_ref(&x)).unwrap();
    let want: Vec<f64> = xs.iter().map(|x| 3.0 + x.sin()).collect();
    common::assert_close(&g[0], &want, 1e-6, 0.0);
    assert_eq!(*seen.lock().unwrap(), vec![(1, 1, 1)]);
    // vjp with an explicit cotangent.
    let c = Array::from_slice(&[2.0, -1.0], &[2]).unwrap();
    let (out, vjps) = transforms::vjp(|a: &[Array]| f.call(a), &[x], &[c]).unwrap();
    common::assert_close(&out[0], &sin_values(&xs), 1e-6, 0.0);
    common::assert_close(
        &vjps[0],
        &[6.0 + 0.5f64.sin(), -3.0 + (-1.25f64).sin()],
        1e-6,
        0.0,
    );
    // The jvp, not given, is still derived from the function: cos(x) · t.
    let t = Array::from_slice(&[1.0, 1.0], &[2]).unwrap();
    let (_, jvps) =
        transforms::jvp(|a: &[Array]| f.call(a), &[mlx::array![0.5f64, -1.25]], &[t]).unwrap();
    common::assert_close(&jvps[0], &[0.5f64.cos(), (-1.25f64).cos()], 1e-6, 0.0);

    // Two inputs: the rule gives one cotangent per input; grad picks the ones asked for.
    let mul = custom_function(
        |x: &[Array]| Ok(vec![&x[0] * &x[1]]),
        CustomRules::new().with_vjp(|_p, c, _o| Ok(vec![&c[0] * 10.0, &c[0] * 20.0])),
    )
    .unwrap();
    let g =
        transforms::grad(sum_of_first(&mul), &[1])(&[mlx::array![2.0], mlx::array![5.0]]).unwrap();
    assert_eq!(g.len(), 1);
    assert_eq!(v(&g[0]), vec![20.0]);
}

#[test]
fn custom_function_uses_its_jvp_rule() {
    // f(x, y) = x · y with a jvp rule that is deliberately not the product rule: it returns
    // sum_k (argnums[k] + 1) · tangents[k] · 10, which also shows which arguments have tangents.
    let calls = Arc::new(Mutex::new(Vec::new()));
    let calls_in_rule = calls.clone();
    let f = custom_function(
        |x: &[Array]| Ok(vec![&x[0] * &x[1]]),
        CustomRules::new().with_jvp(move |primals, tangents, argnums| {
            calls_in_rule
                .lock()
                .unwrap()
                .push((primals.len(), argnums.to_vec()));
            let mut out = ops::zeros_like(&primals[0], None)?;
            for (t, &k) in tangents.iter().zip(argnums) {
                out = &out + &(t * (10.0 * (k + 1) as f64));
            }
            Ok(vec![out])
        }),
    )
    .unwrap();
    let (x, y) = (mlx::array![2.0f64], mlx::array![7.0f64]);
    let (out, t) = transforms::jvp(
        |a: &[Array]| f.call(a),
        &[x.clone(), y.clone()],
        &[mlx::array![1.0f64], mlx::array![0.5f64]],
    )
    .unwrap();
    common::assert_close(&out[0], &[14.0], 0.0, 0.0);
    // 10 · 1 · 1.0 + 10 · 2 · 0.5
    common::assert_close(&t[0], &[20.0], 0.0, 0.0);
    // Only y varies (x is captured, a constant): argnums is [1].
    let x_const = x.clone();
    let (_, t) = transforms::jvp(
        move |a: &[Array]| f.call(&[x_const.clone(), a[0].clone()]),
        &[y],
        &[mlx::array![3.0f64]],
    )
    .unwrap();
    common::assert_close(&t[0], &[60.0], 0.0, 0.0);
    assert_eq!(*calls.lock().unwrap(), vec![(2, vec![0, 1]), (2, vec![1])]);
}

#[test]
fn custom_function_uses_its_vmap_rule() {
    // f(x, y) = x · y per example; the rule computes the whole batch at once but deliberately
    // adds 100, and puts the batch on the last axis of its output.
    let seen_axes = Arc::new(Mutex::new(Vec::new()));
    let seen = seen_axes.clone();
    let f = custom_function(
        |x: &[Array]| Ok(vec![&x[0] * &x[1]]),
        CustomRules::new().with_vmap(move |inputs, axes| {
            seen.lock().unwrap().push(axes.to_vec());
            assert_eq!(axes[0], 0);
            let x = &inputs[0]; // [batch, n]
            let out = &(x * &inputs[1]) + 100.0;
            Ok((vec![out.transpose(Some(&[1, 0]))?], vec![1]))
        }),
    )
    .unwrap();
    let x = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
    let y = Array::from_slice(&[1.0f32, 10.0, 100.0], &[3]).unwrap();
    // Plain call: the function itself.
    assert_eq!(
        v(&f.call(&[x.index(0).unwrap(), y.clone()]).unwrap()[0]),
        vec![1.0, 20.0, 300.0]
    );
    // Mapped over x only (y not mapped: axis -1), outputs stacked on axis 0.
    let out =
        transforms::vmap(|a: &[Array]| f.call(a), &[0, -1], &[0])(&[x.clone(), y.clone()]).unwrap();
    assert_eq!(out[0].shape(), &[2, 3]);
    assert_eq!(v(&out[0]), vec![101.0, 120.0, 400.0, 104.0, 150.0, 700.0]);
    // Stacked on axis 1 instead: the rule's axis (1) is already there.
    let out = transforms::vmap(|a: &[Array]| f.call(a), &[0, -1], &[1])(&[x, y]).unwrap();
    assert_eq!(out[0].shape(), &[3, 2]);
    assert_eq!(v(&out[0]), vec![101.0, 104.0, 120.0, 150.0, 400.0, 700.0]);
    assert_eq!(*seen_axes.lock().unwrap(), vec![vec![0, -1], vec![0, -1]]);
}

#[test]
fn custom_function_rules_with_wrong_counts_are_errors() {
    let x = [mlx::array![1.0, 2.0]];
    let too_few = custom_function(
        |x: &[Array]| Ok(vec![&x[0] * &x[1]]),
        CustomRules::new().with_vjp(|_p, c, _o| Ok(vec![c[0].clone()])),
    )
    .unwrap();
    let e =
        transforms::grad(sum_of_first(&too_few), &[1])(&[x[0].clone(), x[0].clone()]).unwrap_err();
    assert!(matches!(e, Error::Closure(_)), "{e:?}");
    assert!(
        e.to_string()
            .contains("[custom_function] the vjp rule returned 1 arrays for 2 primals"),
        "{e}"
    );
    let two_tangents = custom_function(
        |x: &[Array]| Ok(vec![x[0].clone()]),
        CustomRules::new().with_jvp(|_p, t, _a| Ok(vec![t[0].clone(), t[0].clone()])),
    )
    .unwrap();
    let e = transforms::jvp(|a: &[Array]| two_tangents.call(a), &x, &x).unwrap_err();
    assert!(
        e.to_string()
            .contains("the jvp rule returned 2 arrays for 1 outputs"),
        "{e}"
    );
    let few_axes = custom_function(
        |x: &[Array]| Ok(vec![x[0].clone()]),
        CustomRules::new().with_vmap(|i, _axes| Ok((vec![i[0].clone()], vec![]))),
    )
    .unwrap();
    let e = transforms::vmap(|a: &[Array]| few_axes.call(a), &[], &[])(&x).unwrap_err();
    assert!(
        e.to_string()
            .contains("the vmap rule returned 0 output axes for 1 outputs"),
        "{e}"
    );
    // A rule's own error and an empty function come back as errors too.
    let failing = custom_function(
        |x: &[Array]| Ok(vec![x[0].clone()]),
        CustomRules::new().with_vjp(|_p, _c, _o| Err(Error::InvalidArgument("no vjp here".into()))),
    )
    .unwrap();
    let e = transforms::grad(sum_of_first(&failing), &[0])(&x).unwrap_err();
    assert!(e.to_string().contains("no vjp here"), "{e}");
    let empty = custom_function(|_x: &[Array]| Ok(vec![]), CustomRules::new()).unwrap();
    let e = empty.call(&x).unwrap_err();
    assert!(
        e.to_string()
            .contains("[custom_function] the function returned no arrays"),
        "{e}"
    );
    // And everything still works afterwards.
    let g = transforms::grad(sum_of_first(&too_few), &[0])(&[x[0].clone(), x[0].clone()]);
    assert!(g.is_err());
    let ok = custom_function(|x: &[Array]| Ok(vec![&x[0] * 2.0]), CustomRules::new()).unwrap();
    assert_eq!(
        v(&transforms::grad(sum_of_first(&ok), &[0])(&x).unwrap()[0]),
        vec![2.0, 2.0]
    );
}

#[test]
fn custom_functions_are_send_and_sync() {
    let f = custom_function(
        |x: &[Array]| Ok(vec![&x[0] * 2.0]),
        CustomRules::new().with_vjp(|_p, c, _o| Ok(vec![&c[0] * -1.0])),
    )
    .unwrap();
    let out = std::thread::scope(|s| {
        let h = s.spawn(|| {
            let g = transforms::grad(sum_of_first(&f), &[0])(&[mlx::array![1.0]]).unwrap();
            v(&g[0])
        });
        h.join().unwrap()
    });
    assert_eq!(out, vec![-1.0]);
    assert_eq!(
        format!(
            "{:?}",
            CustomRules::new().with_jvp(|_p, t, _a| Ok(t.to_vec()))
        ),
        "CustomRules { vjp: false, jvp: true, vmap: false }"
    );
}

#[test]
fn exported_functions_round_trip_here_and_through_python() {
    let dir = std::env::temp_dir().join(format!("mlx-export-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ours = dir.join("ours.mlxfn");
    let w = common::sample(&[3, 2], 7, -1.0, 1.0)
        .astype(Dtype::Float32)
        .unwrap();
    let captured = w.clone();
    let f = move |x: &[Array]| -> mlx::Result<Vec<Array>> {
        let y = x[0].matmul(&captured)?.tanh()?;
        Ok(vec![&y + &x[1], y.sum(None, false)?])
    };
    let x = common::sample(&[4, 3], 8, -1.0, 1.0)
        .astype(Dtype::Float32)
        .unwrap();
    let b = common::sample(&[2], 9, -1.0, 1.0)
        .astype(Dtype::Float32)
        .unwrap();
    let want = f(&[x.clone(), b.clone()]).unwrap();
    transforms::export_function(&ours, f, &[x.clone(), b.clone()], false).unwrap();
    let g = transforms::import_function(&ours).unwrap();
    let got = g.call(&[x.clone(), b.clone()]).unwrap();
    common::assert_arrays_close(&got[0], &want[0], 1e-6, 1e-6);
    common::assert_arrays_close(&got[1], &want[1], 1e-6, 1e-6);
    // Not shapeless: other shapes are refused with an error.
    let wider = common::sample(&[5, 3], 10, -1.0, 1.0)
        .astype(Dtype::Float32)
        .unwrap();
    assert!(g.call(&[wider.clone(), b.clone()]).is_err());
    assert!(g.call(std::slice::from_ref(&x)).is_err());
    assert!(transforms::import_function(dir.join("missing.mlxfn")).is_err());

    // Shapeless export accepts other batch sizes.
    let shapeless = dir.join("shapeless.mlxfn");
    transforms::export_function(
        &shapeless,
        |x: &[Array]| Ok(vec![x[0].exp()?]),
        std::slice::from_ref(&x),
        true,
    )
    .unwrap();
    let e = transforms::import_function(&shapeless).unwrap();
    common::assert_arrays_close(
        &e.call(std::slice::from_ref(&wider)).unwrap()[0],
        &wider.exp().unwrap(),
        1e-6,
        1e-6,
    );

    // Python reads ours, and writes one we read.
    let theirs = dir.join("theirs.mlxfn");
    let body = format!(
        "f = mx.import_function({ours:?})\nout['y0'], out['y1'] = f(inp['x'], inp['b'])\n\
         def h(a):\n    return [mx.sin(a) * 3 + 1]\n\
         mx.export_function({theirs:?}, h, inp['x'], shapeless=True)"
    );
    if let Some(out) = common::python_mlx(&body, &[("x", &x), ("b", &b)]) {
        common::assert_arrays_close(&out["y0"], &want[0], 1e-6, 1e-6);
        common::assert_arrays_close(&out["y1"], &want[1], 1e-6, 1e-6);
        let h = transforms::import_function(&theirs).unwrap();
        let y = h.call(std::slice::from_ref(&wider)).unwrap();
        let expected = &(&wider.sin().unwrap() * 3.0) + 1.0;
        common::assert_arrays_close(&y[0], &expected, 1e-6, 1e-6);
    }
    std::fs::remove_dir_all(&dir).ok();
}
