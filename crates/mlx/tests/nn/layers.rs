//! Layers against Python MLX and closed forms.

use mlx::nn::{self, Module};
use mlx::{Array, Parameters, ops};

use super::*;

#[test]
fn linear_matches_python_and_the_closed_form() {
    mlx::random::seed(1).unwrap();
    let layer = nn::Linear::new(5, 3).unwrap();
    assert_eq!(layer.weight.shape(), &[3, 5]);
    let x = input(&[4, 5], 1);
    let y = check_against_python(&layer, "nn.Linear(5, 3)", &x, false, 1e-5);
    let want = &x.matmul(&layer.weight.t().unwrap()).unwrap() + layer.bias.as_ref().unwrap();
    assert_arrays_close(&y, &want, 1e-6, 1e-6);
    // The default init is uniform(-1/sqrt(5), 1/sqrt(5)).
    let bound = 1.0 / 5f64.sqrt();
    assert!(values(&layer.weight).iter().all(|w| w.abs() <= bound));

    let no_bias = nn::Linear::with_bias(5, 3, false).unwrap();
    assert_eq!(no_bias.param_names(), ["weight"]);
    check_against_python(&no_bias, "nn.Linear(5, 3, bias=False)", &x, false, 1e-5);
    assert!(nn::Linear::new(0, 3).is_err());
}

#[test]
fn bilinear_matches_python() {
    mlx::random::seed(2).unwrap();
    let layer = nn::Bilinear::new(3, 4, 2, true).unwrap();
    let (x1, x2) = (input(&[2, 5, 3], 2), input(&[2, 5, 4], 3));
    let y = layer.forward(&x1, &x2).unwrap();
    assert_eq!(y.shape(), &[2, 5, 2]);
    // Closed form for one element: x1 W[k] x2 + b[k].
    let w = values(&layer.weight);
    let (a, b) = (values(&x1), values(&x2));
    let bias = values(layer.bias.as_ref().unwrap());
    for k in 0..2 {
        let mut s = bias[k];
        for i in 0..3 {
            for j in 0..4 {
                s += a[i] * w[k * 12 + j * 3 + i] * b[j];
            }
        }
        assert!(
            (values(&y)[k] - s).abs() < 1e-5,
            "k={k}: {} vs {s}",
            values(&y)[k]
        );
    }
    let params = named_params(&layer, "m");
    let mut inputs: Vec<(&str, &Array)> = params.iter().map(|(k, v)| (k.as_str(), v)).collect();
    inputs.extend([("x1", &x1), ("x2", &x2)]);
    if let Some(out) = python_mlx(
        "m = load(nn.Bilinear(3, 4, 2), 'm')\nout['y'] = m(inp['x1'], inp['x2'])",
        &inputs,
    ) {
        assert_arrays_close(&y, &out["y"], 1e-5, 1e-5);
    }
}

#[test]
fn identity_passes_through() {
    let x = input(&[2, 3], 4);
    let y = nn::Identity::new().forward(&x).unwrap();
    assert!(
        ops::array_equal(&x, &y, false)
            .unwrap()
            .item::<bool>()
            .unwrap()
    );
}

#[derive(Parameters, Clone)]
struct Two {
    a: nn::Linear,
    b: Vec<nn::Linear>,
}

#[test]
fn train_eval_and_freeze_reach_every_layer() {
    let mut m = Two {
        a: nn::Linear::new(2, 2).unwrap(),
        b: vec![
            nn::Linear::new(2, 2).unwrap(),
            nn::Linear::new(2, 2).unwrap(),
        ],
    };
    assert!(m.training());
    m.eval();
    assert!(!m.training() && !m.b[1].training());
    m.train(true);
    assert!(m.b[1].training());

    assert_eq!(m.trainable_params().len(), 6);
    m.freeze();
    assert!(m.trainable_params().is_empty());
    m.unfreeze();
    m.freeze_keys(&["bias"]);
    let names: Vec<String> = m.trainable_params().into_iter().map(|(k, _)| k).collect();
    assert_eq!(names, ["a.weight", "b.0.weight", "b.1.weight"]);
    m.unfreeze_keys(&["bias"]);
    m.b[0].freeze();
    let names: Vec<String> = m.trainable_params().into_iter().map(|(k, _)| k).collect();
    assert_eq!(names, ["a.weight", "a.bias", "b.1.weight", "b.1.bias"]);
    // A frozen layer gets no gradient (zeros) and the others do.
    let x = input(&[3, 2], 5);
    let (_, grads) = mlx::transforms::value_and_grad_params(&m, |m: &Two| {
        let h = m.a.forward(&x)?;
        m.b[1].forward(&m.b[0].forward(&h)?)?.sum(&[], false)
    })
    .unwrap();
    assert!(values(&grads.b[0].weight).iter().all(|g| *g == 0.0));
    assert!(values(&grads.a.weight).iter().any(|g| *g != 0.0));
}
