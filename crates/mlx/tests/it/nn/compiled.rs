//! Training steps compiled with their state against the same steps run eagerly.

use mlx::nn::{self, Module};
use mlx::optimizers::{Adam, CompiledStep, Optimizer, cosine_decay};
use mlx::{Array, Parameters, transforms};

use super::*;

#[derive(Parameters, Clone)]
struct Net {
    hidden: nn::Linear,
    dropout: nn::Dropout,
    out: nn::Linear,
}

impl Module for Net {
    fn forward(&self, x: &Array) -> mlx::Result<Array> {
        let h = nn::relu(&self.hidden.forward(x)?)?;
        self.out.forward(&self.dropout.forward(&h)?)
    }
}

fn step(net: &mut Net, opt: &mut Adam, args: &[Array]) -> mlx::Result<Vec<Array>> {
    let loss_of =
        |m: &Net| nn::losses::cross_entropy(&m.forward(&args[0])?, &args[1])?.mean(None, false);
    let (loss, grads) = transforms::value_and_grad_params(net, loss_of)?;
    opt.update(net, &grads)?;
    Ok(vec![loss])
}

fn setup() -> (Net, Adam, Array, Array) {
    mlx::random::seed(11).unwrap();
    let net = Net {
        hidden: nn::Linear::new(6, 32).unwrap(),
        dropout: nn::Dropout::new(0.3).unwrap(),
        out: nn::Linear::new(32, 3).unwrap(),
    };
    let adam = Adam::new(cosine_decay(0.02, 20, 0.001).unwrap()).with_bias_correction(true);
    let x = input(&[24, 6], 70);
    let y = mlx::ops::argmax(&x.matmul(&input(&[6, 3], 71)).unwrap(), Some(-1), false)
        .unwrap()
        .astype(mlx::Dtype::Int32)
        .unwrap();
    (net, adam, x, y)
}

#[test]
fn a_compiled_step_with_dropout_matches_the_eager_one() {
    let (mut eager, mut eager_opt, x, y) = setup();
    let mut eager_losses = Vec::new();
    for _ in 0..8 {
        let l = step(&mut eager, &mut eager_opt, &[x.clone(), y.clone()]).unwrap();
        eager.eval_params().unwrap();
        eager_losses.push(l[0].item::<f32>().unwrap() as f64);
    }

    // Same seed, same draws: the compiled step splits the carried key exactly as the eager one
    // splits the thread's key.
    let (mut net, mut opt, x, y) = setup();
    let compiled = CompiledStep::new(step);
    let mut losses = Vec::new();
    let mut keys = Vec::new();
    for _ in 0..8 {
        let l = compiled
            .call(&mut net, &mut opt, &[x.clone(), y.clone()])
            .unwrap();
        losses.push(l[0].item::<f32>().unwrap() as f64);
        keys.push(values(&mlx::random::state().unwrap()));
    }
    assert_close(
        &Array::from_slice(&losses, &[8]).unwrap(),
        &eager_losses,
        1e-4,
        1e-5,
    );
    for (a, b) in net.flatten_params().iter().zip(eager.flatten_params()) {
        assert_arrays_close(&a.1, &b.1, 1e-4, 1e-5);
    }
    assert_eq!(opt.step().unwrap().item::<u64>().unwrap(), 8);
    assert!(
        keys.windows(2).all(|w| w[0] != w[1]),
        "the random key advances every call"
    );
    assert!(losses.windows(2).all(|w| w[0] != w[1]));
    assert!(losses[7] < losses[0]);

    // In evaluation mode dropout is off; a new structure needs a new step.
    net.eval();
    let frozen_out = compiled.call(&mut net, &mut opt, &[x.clone(), y.clone()]);
    assert!(frozen_out.is_ok());
    let mut other = setup().0;
    other.hidden = nn::Linear::with_bias(6, 32, false).unwrap();
    let err = compiled.call(&mut other, &mut opt, &[x, y]).unwrap_err();
    assert!(
        err.to_string()
            .contains("differ from those of the first call"),
        "{err}"
    );
}
