//! A first end-to-end check: Burn's tensor API and autodiff on the MLX backend.

use burn::tensor::{Tensor, TensorData, Tolerance};
use burn_mlx::{Mlx, MlxAutodiff, MlxDevice};

#[test]
fn tensor_api_on_mlx() {
    let device = MlxDevice::Cpu;
    let a = Tensor::<Mlx, 2>::from_data([[1.0, 2.0], [3.0, 4.0]], &device);
    let b = Tensor::<Mlx, 2>::from_data([[0.5, -1.0], [2.0, 0.0]], &device);
    let c = (a.clone().matmul(b.clone()) + a.clone().exp() * 2.0).sum_dim(1);
    let expected = [[1.0 * 0.5 + 2.0 * 2.0, -1.0], [3.0 * 0.5 + 4.0 * 2.0, -3.0]];
    let expected: Vec<f32> = (0..2)
        .map(|i| {
            let row = expected[i];
            let e: f32 = [1.0f32, 2.0, 3.0, 4.0][i * 2..i * 2 + 2]
                .iter()
                .map(|x| x.exp() * 2.0)
                .sum();
            row[0] + row[1] + e
        })
        .collect();
    c.into_data()
        .assert_approx_eq::<f32>(&TensorData::new(expected, [2, 1]), Tolerance::default());
    let sliced = a.clone().slice([0..2, 1..2]);
    sliced
        .into_data()
        .assert_eq(&TensorData::from([[2.0f32], [4.0]]), true);
    let argmax = b.argmax(1);
    argmax
        .into_data()
        .assert_eq(&TensorData::from([[0i32], [0]]), true);
}

#[test]
fn autodiff_on_mlx() {
    let device = MlxDevice::Cpu;
    let x = Tensor::<MlxAutodiff, 1>::from_data([1.0, -2.0, 3.0], &device).require_grad();
    let y = (x.clone() * x.clone()).sum() * 3.0;
    let grads = y.backward();
    let g = x.grad(&grads).unwrap();
    g.into_data().assert_approx_eq::<f32>(
        &TensorData::from([6.0f32, -12.0, 18.0]),
        Tolerance::default(),
    );
}
