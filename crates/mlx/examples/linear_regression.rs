//! Linear regression with `grad`: recover known weights from noisy synthetic data.
//!
//! `cargo run --release -p mlx-array --example linear_regression`

use mlx::{Array, Dtype, random, transforms};

fn main() -> mlx::Result<()> {
    let (num_examples, num_features) = (1000, 10);
    random::seed(42)?;
    // y = X · w* + noise
    let w_star = random::normal(&[num_features], Dtype::Float32, None)?;
    let x = random::normal(&[num_examples, num_features], Dtype::Float32, None)?;
    let noise = &random::normal(&[num_examples], Dtype::Float32, None)? * 0.01;
    let y = &x.matmul(&w_star)? + &noise;

    // Mean squared error; `x` and `y` are captured by reference, `w` is the argument.
    let loss = |params: &[Array]| -> mlx::Result<Array> {
        let err = &x.matmul(&params[0])? - &y;
        (&err * &err).mean(None, false)
    };
    let mut loss_and_grad = transforms::value_and_grad(|p: &[Array]| Ok(vec![loss(p)?]), &[0]);

    let mut w = &random::normal(&[num_features], Dtype::Float32, None)? * 0.01;
    let learning_rate = 0.1;
    for step in 0..=100 {
        let (values, grads) = loss_and_grad(std::slice::from_ref(&w))?;
        w = &w - &(&grads[0] * learning_rate);
        w.eval()?; // keep the graph one step long
        if step % 20 == 0 {
            println!("step {step:>3}  loss {:.6}", values[0].item::<f32>()?);
        }
    }
    let error = (&w - &w_star).abs()?.max(None, false)?.item::<f32>()?;
    println!("largest error in the recovered weights: {error:.5}");
    assert!(error < 0.01, "the regression did not converge");
    Ok(())
}
