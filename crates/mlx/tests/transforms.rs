//! Transforms over Rust closures, including closures that capture arrays, fail or panic.

use mlx::transforms::{self, Function};
use mlx::{Array, Error, ops};

fn v(a: &Array) -> Vec<f32> {
    a.to_vec::<f32>().unwrap()
}

#[test]
fn grad_of_a_quadratic() {
    // f(x) = sum(x * x * 3) → f'(x) = 6x
    let mut df = transforms::grad(|x: &[Array]| (&(&x[0] * &x[0]) * 3.0).sum(&[], false), &[0]);
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
        Ok(vec![(&err * &err).sum(&[], false)?, pred])
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
        |x: &[Array]| Ok(vec![(&x[0] * &x[1]).sum(&[], false)?]),
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
    let mut df = transforms::grad(|x: &[Array]| sq.call(x)?[0].sum(&[], false), &[0]);
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
    let mut dodd = transforms::grad(|x: &[Array]| odd.call(x)?[0].sum(&[], false), &[0]);
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
    let mut ok = transforms::grad(|x: &[Array]| x[0].sum(&[], false), &[0]);
    assert_eq!(v(&ok(&[mlx::array![5.0]]).unwrap()[0]), vec![1.0]);
}
