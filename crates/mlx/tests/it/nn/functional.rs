//! Activations and initializers against Python MLX and closed forms.

use mlx::nn::init::{self, FanMode};
use mlx::nn::{self, GELU, GeluApprox, Module, PReLU};
use mlx::{Array, Dtype, ops};

use super::common::{check_grad, err_with};
use super::*;

/// Runs `body` in Python MLX on `inputs` and compares each of `ours` with the output of the
/// same name (Python must produce exactly these names).
pub fn compare_with_python(
    ours: &[(&str, Array)],
    body: &str,
    inputs: &[(&str, &Array)],
    tol: f64,
) {
    let Some(out) = python_mlx(body, inputs) else {
        return;
    };
    let mut names: Vec<&str> = out.keys().map(String::as_str).collect();
    names.sort_unstable();
    let mut want: Vec<&str> = ours.iter().map(|(k, _)| *k).collect();
    want.sort_unstable();
    assert_eq!(names, want, "Python produced other outputs");
    for (name, a) in ours {
        println!("comparing {name}");
        assert_eq!(a.dtype(), out[*name].dtype(), "{name}: dtype");
        assert_arrays_close(a, &out[*name], tol, tol);
    }
}

/// A float32 input in [-4, 4] that includes the break points of the piecewise activations.
fn activation_input() -> Array {
    let mut v: Vec<f64> = values(&sample(&[24], 90, -4.0, 4.0));
    v[..10].copy_from_slice(&[0.0, 0.5, -0.5, 1.0, -1.0, 3.0, -3.0, 6.0, -6.0, 0.3]);
    Array::from_slice(&v, &[3, 8])
        .unwrap()
        .astype(Dtype::Float32)
        .unwrap()
}

const PYTHON_ACTIVATIONS: &str = "\
x = inp['x']
for name in ['relu', 'relu6', 'relu2', 'leaky_relu', 'elu', 'celu', 'selu', 'gelu',
             'gelu_approx', 'gelu_fast_approx', 'silu', 'sigmoid', 'log_sigmoid', 'softplus',
             'softsign', 'softshrink', 'hard_shrink', 'hard_tanh', 'hardswish', 'mish', 'tanh',
             'step']:
    out[name] = getattr(nn, name)(x)
out['leaky_relu_with'] = nn.leaky_relu(x, 0.2)
out['elu_with'] = nn.elu(x, 0.5)
out['celu_with'] = nn.celu(x, 2.0)
out['softshrink_with'] = nn.softshrink(x, 1.0)
out['hard_shrink_with'] = nn.hard_shrink(x, 1.0)
out['hard_tanh_with'] = nn.hard_tanh(x, -0.5, 2.0)
out['step_with'] = nn.step(x, 0.3)
out['prelu'] = nn.prelu(x, inp['alpha'])
out['glu_last'] = nn.glu(x, -1)
out['glu_first'] = nn.glu(inp['x4'], 0)
out['softmax'] = nn.softmax(x, -1)
out['softmax_0'] = nn.softmax(x, 0)
out['log_softmax'] = nn.log_softmax(x, -1)
out['log_softmax_0'] = nn.log_softmax(x, 0)
out['softmin'] = nn.softmin(x, -1)
out['softmin_0'] = nn.softmin(x, 0)
";

type Activation = fn(&Array) -> mlx::Result<Array>;

fn all_activations(x: &Array, alpha: &Array, x4: &Array) -> Vec<(&'static str, Array)> {
    let plain: [(&str, Activation); 22] = [
        ("relu", nn::relu),
        ("relu6", nn::relu6),
        ("relu2", nn::relu2),
        ("leaky_relu", nn::leaky_relu),
        ("elu", nn::elu),
        ("celu", nn::celu),
        ("selu", nn::selu),
        ("gelu", nn::gelu),
        ("gelu_approx", nn::gelu_approx),
        ("gelu_fast_approx", nn::gelu_fast_approx),
        ("silu", nn::silu),
        ("sigmoid", nn::sigmoid),
        ("log_sigmoid", nn::log_sigmoid),
        ("softplus", nn::softplus),
        ("softsign", nn::softsign),
        ("softshrink", nn::softshrink),
        ("hard_shrink", nn::hard_shrink),
        ("hard_tanh", nn::hard_tanh),
        ("hardswish", nn::hardswish),
        ("mish", nn::mish),
        ("tanh", nn::tanh),
        ("step", nn::step),
    ];
    let mut ours: Vec<(&str, Array)> = plain
        .iter()
        .map(|(name, f)| (*name, f(x).unwrap()))
        .collect();
    let with = [
        ("leaky_relu_with", nn::leaky_relu_with(x, 0.2)),
        ("elu_with", nn::elu_with(x, 0.5)),
        ("celu_with", nn::celu_with(x, 2.0)),
        ("softshrink_with", nn::softshrink_with(x, 1.0)),
        ("hard_shrink_with", nn::hard_shrink_with(x, 1.0)),
        ("hard_tanh_with", nn::hard_tanh_with(x, -0.5, 2.0)),
        ("step_with", nn::step_with(x, 0.3)),
        ("prelu", nn::prelu(x, alpha)),
        ("glu_last", nn::glu(x, -1)),
        ("glu_first", nn::glu(x4, 0)),
        ("softmax", nn::softmax(x, -1)),
        ("softmax_0", nn::softmax(x, 0)),
        ("log_softmax", nn::log_softmax(x, -1)),
        ("log_softmax_0", nn::log_softmax(x, 0)),
        ("softmin", nn::softmin(x, -1)),
        ("softmin_0", nn::softmin(x, 0)),
    ];
    ours.extend(with.into_iter().map(|(k, v)| (k, v.unwrap())));
    ours
}

#[test]
fn every_activation_matches_python() {
    let x = activation_input();
    let alpha = sample(&[8], 91, 0.0, 0.5).astype(Dtype::Float32).unwrap();
    let x4 = input(&[4, 3], 92);
    let ours = all_activations(&x, &alpha, &x4);
    assert_eq!(ours.len(), 38);
    compare_with_python(
        &ours,
        PYTHON_ACTIVATIONS,
        &[("x", &x), ("alpha", &alpha), ("x4", &x4)],
        1e-5,
    );
}

#[test]
fn activations_keep_float16_as_python_does() {
    let x = activation_input().astype(Dtype::Float16).unwrap();
    let alpha = sample(&[8], 91, 0.0, 0.5).astype(Dtype::Float16).unwrap();
    let x4 = input(&[4, 3], 92).astype(Dtype::Float16).unwrap();
    let ours = all_activations(&x, &alpha, &x4);
    for (name, a) in &ours {
        let want = if *name == "step" || *name == "step_with" {
            Dtype::Int32
        } else {
            Dtype::Float16
        };
        assert_eq!(a.dtype(), want, "{name}");
    }
    compare_with_python(
        &ours,
        PYTHON_ACTIVATIONS,
        &[("x", &x), ("alpha", &alpha), ("x4", &x4)],
        5e-3,
    );
}

#[test]
fn activations_closed_forms() {
    let x = Array::from_slice(&[-2.0f32, -0.5, 0.0, 0.5, 2.0, 7.0], &[6]).unwrap();
    let e = std::f64::consts::E;
    let check =
        |got: mlx::Result<Array>, want: &[f64]| assert_close(&got.unwrap(), want, 1e-6, 1e-6);
    check(nn::relu(&x), &[0.0, 0.0, 0.0, 0.5, 2.0, 7.0]);
    check(nn::relu6(&x), &[0.0, 0.0, 0.0, 0.5, 2.0, 6.0]);
    check(nn::relu2(&x), &[0.0, 0.0, 0.0, 0.25, 4.0, 49.0]);
    check(nn::leaky_relu(&x), &[-0.02, -0.005, 0.0, 0.5, 2.0, 7.0]);
    check(
        nn::leaky_relu_with(&x, 0.1),
        &[-0.2, -0.05, 0.0, 0.5, 2.0, 7.0],
    );
    let em2 = (-2f64).exp() - 1.0;
    check(
        nn::elu_with(&x, 2.0),
        &[2.0 * em2, 2.0 * ((-0.5f64).exp() - 1.0), 0.0, 0.5, 2.0, 7.0],
    );
    // celu with alpha 2 at -2: 2 (e^-1 - 1).
    check(nn::celu_with(&at(&x, 0), 2.0), &[2.0 * (1.0 / e - 1.0)]);
    let selu_neg = 1.0507 * 1.67326 * em2;
    check(nn::selu(&at(&x, 0)), &[selu_neg]);
    // gelu(x) = x Φ(x): Φ(2) = 0.977249868...
    let phi2 = 0.977_249_868_051_820_8;
    check(nn::gelu(&at(&x, 4)), &[2.0 * phi2]);
    let t = ((2.0 / std::f64::consts::PI).sqrt() * (2.0 + 0.044715 * 8.0)).tanh();
    check(nn::gelu_approx(&at(&x, 4)), &[(1.0 + t)]);
    let s = |v: f64| 1.0 / (1.0 + (-v).exp());
    check(nn::gelu_fast_approx(&at(&x, 4)), &[2.0 * s(1.702 * 2.0)]);
    check(nn::silu(&at(&x, 4)), &[2.0 * s(2.0)]);
    check(nn::sigmoid(&at(&x, 2)), &[0.5]);
    check(nn::log_sigmoid(&at(&x, 2)), &[-(2f64.ln())]);
    check(nn::softplus(&at(&x, 2)), &[2f64.ln()]);
    check(
        nn::softsign(&x),
        &[-2.0 / 3.0, -0.5 / 1.5, 0.0, 0.5 / 1.5, 2.0 / 3.0, 7.0 / 8.0],
    );
    check(nn::softshrink(&x), &[-1.5, 0.0, 0.0, 0.0, 1.5, 6.5]);
    check(nn::hard_shrink(&x), &[-2.0, 0.0, 0.0, 0.0, 2.0, 7.0]);
    check(nn::hard_tanh(&x), &[-1.0, -0.5, 0.0, 0.5, 1.0, 1.0]);
    check(
        nn::hard_tanh_with(&x, 0.0, 3.0),
        &[0.0, 0.0, 0.0, 0.5, 2.0, 3.0],
    );
    check(
        nn::hardswish(&x),
        &[
            -2.0 / 6.0,
            -0.5 * 2.5 / 6.0,
            0.0,
            0.5 * 3.5 / 6.0,
            2.0 * 5.0 / 6.0,
            7.0,
        ],
    );
    check(
        nn::mish(&at(&x, 4)),
        &[2.0 * (1.0 + 2f64.exp()).ln().tanh()],
    );
    check(nn::tanh(&at(&x, 4)), &[2f64.tanh()]);
    check(nn::step(&x), &[0.0, 0.0, 1.0, 1.0, 1.0, 1.0]);
    check(nn::step_with(&x, 1.0), &[0.0, 0.0, 0.0, 0.0, 1.0, 1.0]);
    let alpha = Array::scalar(0.1f32);
    check(nn::prelu(&x, &alpha), &[-0.2, -0.05, 0.0, 0.5, 2.0, 7.0]);
    // glu of [a, b] = a sigmoid(b).
    let pair = Array::from_slice(&[3.0f32, 0.0], &[2]).unwrap();
    check(nn::glu(&pair, 0), &[1.5]);
    let three = Array::from_slice(&[0.0f32, 2f32.ln(), 5f32.ln()], &[3]).unwrap();
    check(nn::softmax(&three, 0), &[0.125, 0.25, 0.625]);
    check(
        nn::log_softmax(&three, -1),
        &[-(8f64.ln()), (0.25f64).ln(), (0.625f64).ln()],
    );
    check(
        nn::softmin(&three, 0),
        &[10.0 / 17.0, 5.0 / 17.0, 2.0 / 17.0],
    );
    assert!(nn::glu(&Array::ones::<f32>(&[3]).unwrap(), 0).is_err());
}

#[test]
fn activation_gradients_match_finite_differences() {
    let x = sample(&[7], 95, -3.0, 3.0);
    let fs: [(&str, Activation); 6] = [
        ("gelu", nn::gelu),
        ("gelu_approx", nn::gelu_approx),
        ("mish", nn::mish),
        ("elu", nn::elu),
        ("selu", nn::selu),
        ("log_sigmoid", nn::log_sigmoid),
    ];
    for (name, f) in fs {
        println!("gradient of {name}");
        check_grad(
            |a| f(&a[0])?.sum(None, false),
            std::slice::from_ref(&x),
            0,
            1e-4,
            1e-3,
        );
    }
    let m = sample(&[2, 4], 96, -2.0, 2.0);
    let weights = sample(&[2, 4], 97, -1.0, 1.0);
    check_grad(
        |a| ops::multiply(&nn::log_softmax(&a[0], -1)?, &weights)?.sum(None, false),
        std::slice::from_ref(&m),
        0,
        1e-4,
        1e-3,
    );
    check_grad(
        |a| ops::multiply(&nn::glu(&a[0], -1)?, &weights.split(2, -1)?[0])?.sum(None, false),
        &[m],
        0,
        1e-4,
        1e-3,
    );
}

#[test]
fn prelu_and_gelu_layers_match_python() {
    let x = input(&[2, 3, 4], 100);
    let mut layer = PReLU::new(4).unwrap();
    assert_eq!(layer.weight.shape(), &[4]);
    assert_close(&layer.weight, &[0.25; 4], 0.0, 0.0);
    assert_eq!(layer.param_names(), ["weight"]);
    layer.weight = Array::from_slice(&[0.1f32, -0.2, 0.3, 0.5], &[4]).unwrap();
    let y = check_against_python(&layer, "nn.PReLU(4)", &x, false, 1e-6);
    let want = nn::prelu(&x, &layer.weight).unwrap();
    assert_arrays_close(&y, &want, 0.0, 0.0);
    let one = PReLU::with_init(1, 0.5).unwrap();
    let y = check_against_python(&one, "nn.PReLU(1, 0.5)", &x, false, 1e-6);
    assert_arrays_close(&y, &nn::leaky_relu_with(&x, 0.5).unwrap(), 1e-7, 1e-7);
    assert!(PReLU::new(0).is_err());

    for (approx, python) in [
        (GeluApprox::None, "nn.GELU()"),
        (GeluApprox::Precise, "nn.GELU('precise')"),
        (GeluApprox::from_name("tanh").unwrap(), "nn.GELU('tanh')"),
        (GeluApprox::Fast, "nn.GELU('fast')"),
    ] {
        let layer = GELU::new(approx);
        assert!(layer.param_names().is_empty());
        assert_eq!(layer.approx(), approx);
        check_against_python(&layer, python, &x, false, 1e-6);
    }
    assert_eq!(GELU::default().approx(), GeluApprox::None);
    assert_arrays_close(
        &GELU::new(GeluApprox::Fast).forward(&x).unwrap(),
        &nn::gelu_fast_approx(&x).unwrap(),
        0.0,
        0.0,
    );
    err_with(GeluApprox::from_name("erf"), &["approx", "\"erf\""]);
}

// ---- initializers -------------------------------------------------------------------------------

/// Mean and (population) standard deviation of the values.
fn mean_std(a: &Array) -> (f64, f64) {
    let v = values(a);
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

fn assert_stats(a: &Array, mean: f64, std: f64) {
    let (m, s) = mean_std(a);
    let n = a.size() as f64;
    // Five standard errors of the mean; 2% of the standard deviation.
    assert!(
        (m - mean).abs() <= 5.0 * std / n.sqrt(),
        "mean {m}, want {mean}"
    );
    assert!((s - std).abs() <= 0.02 * std, "std {s}, want {std}");
}

#[test]
fn constant_identity_and_fans() {
    let c = init::constant(&[2, 3], 1.5, Dtype::Float32).unwrap();
    assert_eq!(c.shape(), &[2, 3]);
    assert_close(&c, &[1.5; 6], 0.0, 0.0);
    let ci = init::constant(&[4], 7.0, Dtype::Int32).unwrap();
    assert_eq!(ci.dtype(), Dtype::Int32);
    assert_eq!(ci.to_vec::<i32>().unwrap(), [7; 4]);
    let id = init::identity(&[3, 3], Dtype::Float16).unwrap();
    assert_eq!(id.dtype(), Dtype::Float16);
    assert_close(
        &id,
        &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
        0.0,
        0.0,
    );
    err_with(
        init::identity(&[3, 4], Dtype::Float32),
        &["square", "[3, 4]"],
    );
    err_with(init::identity(&[3], Dtype::Float32), &["square"]);

    assert_eq!(init::fan_in_fan_out(&[5, 3]).unwrap(), (3, 5));
    // A conv weight [out, kh, kw, in]: receptive field 3 · 2.
    assert_eq!(init::fan_in_fan_out(&[16, 3, 2, 8]).unwrap(), (48, 96));
    err_with(init::fan_in_fan_out(&[5]), &["at least 2"]);
    err_with(
        init::glorot_normal(&[5], 1.0, Dtype::Float32),
        &["at least 2"],
    );
}

#[test]
fn random_initializers_have_the_right_statistics() {
    mlx::random::seed(7).unwrap();
    let shape = [300, 400];
    let n = init::normal(&shape, 2.0, 0.5, Dtype::Float32).unwrap();
    assert_eq!(n.dtype(), Dtype::Float32);
    assert_stats(&n, 2.0, 0.5);
    let u = init::uniform(&shape, -1.0, 3.0, Dtype::Float32).unwrap();
    let uv = values(&u);
    assert!(uv.iter().all(|v| (-1.0..3.0).contains(v)));
    assert_stats(&u, 1.0, 4.0 / 12f64.sqrt());

    // fan_in 400, fan_out 300.
    let g = init::glorot_normal(&shape, 2.0, Dtype::Float32).unwrap();
    assert_stats(&g, 0.0, 2.0 * (2.0f64 / 700.0).sqrt());
    let limit = 0.5 * (6.0f64 / 700.0).sqrt();
    let gu = init::glorot_uniform(&shape, 0.5, Dtype::Float32).unwrap();
    assert!(values(&gu).iter().all(|v| v.abs() <= limit));
    assert_stats(&gu, 0.0, limit / 3f64.sqrt());

    let h = init::he_normal(&shape, FanMode::FanIn, 1.0, Dtype::Float32).unwrap();
    assert_stats(&h, 0.0, 1.0 / 400f64.sqrt());
    let h = init::he_normal(&shape, FanMode::FanOut, 3.0, Dtype::Float32).unwrap();
    assert_stats(&h, 0.0, 3.0 / 300f64.sqrt());
    let limit = (3.0f64 / 400.0).sqrt();
    let hu = init::he_uniform(&shape, FanMode::default(), 1.0, Dtype::Float32).unwrap();
    assert!(values(&hu).iter().all(|v| v.abs() <= limit));
    assert_stats(&hu, 0.0, limit / 3f64.sqrt());
    // Convolution weights: fan_in = 8 · 3 · 3.
    let conv = init::he_uniform(&[32, 3, 3, 8], FanMode::FanOut, 1.0, Dtype::Float16).unwrap();
    assert_eq!(conv.dtype(), Dtype::Float16);
    let limit = (3.0f64 / (32.0 * 9.0)).sqrt();
    assert!(values(&conv).iter().all(|v| v.abs() <= limit * 1.001));
    let (_, s) = mean_std(&conv);
    assert!((s - limit / 3f64.sqrt()).abs() < 0.1 * limit, "std {s}");
}

#[test]
fn sparse_zeroes_the_requested_fraction_of_each_row() {
    mlx::random::seed(8).unwrap();
    let (rows, cols) = (50, 40);
    let a = init::sparse(&[rows, cols], 0.3, 1.0, 2.0, Dtype::Float32).unwrap();
    assert_eq!(a.shape(), &[rows, cols]);
    let v = values(&a);
    // ceil(0.3 · 40) = 12 zeros in every row; the normal draws are never exactly zero.
    for r in 0..rows as usize {
        let zeros = v[r * 40..(r + 1) * 40]
            .iter()
            .filter(|x| **x == 0.0)
            .count();
        assert_eq!(zeros, 12, "row {r}");
    }
    // The rows differ in where their zeros are.
    let first: Vec<bool> = v[..40].iter().map(|x| *x == 0.0).collect();
    assert!((1..rows as usize).any(|r| {
        v[r * 40..(r + 1) * 40]
            .iter()
            .map(|x| *x == 0.0)
            .collect::<Vec<_>>()
            != first
    }));
    let nonzero: Vec<f64> = v.into_iter().filter(|x| *x != 0.0).collect();
    let mean = nonzero.iter().sum::<f64>() / nonzero.len() as f64;
    assert!((mean - 1.0).abs() < 0.15, "mean {mean}");
    let none = init::sparse(&[4, 5], 0.0, 0.0, 1.0, Dtype::Float32).unwrap();
    assert!(values(&none).iter().all(|x| *x != 0.0));
    let all = init::sparse(&[4, 5], 1.0, 0.0, 1.0, Dtype::Float32).unwrap();
    assert!(values(&all).iter().all(|x| *x == 0.0));
    err_with(
        init::sparse(&[4, 5], 1.5, 0.0, 1.0, Dtype::Float32),
        &["sparsity"],
    );
    err_with(
        init::sparse(&[4, 5, 6], 0.5, 0.0, 1.0, Dtype::Float32),
        &["2-d"],
    );
}

#[test]
fn orthogonal_is_orthogonal() {
    mlx::random::seed(9).unwrap();
    for (rows, cols, gain) in [(6, 6, 1.0), (8, 3, 2.0), (3, 8, 0.5)] {
        let q = init::orthogonal(&[rows, cols], gain, Dtype::Float32).unwrap();
        assert_eq!(q.shape(), &[rows, cols]);
        // QᵀQ = gain² I for tall matrices, Q Qᵀ = gain² I for wide ones.
        let gram = if rows >= cols {
            q.t().unwrap().matmul(&q).unwrap()
        } else {
            q.matmul(&q.t().unwrap()).unwrap()
        };
        let k = rows.min(cols);
        let eye = &Array::eye::<f32>(k).unwrap() * (gain * gain);
        assert_arrays_close(&gram, &eye, 1e-5, 1e-5);
    }
    let half = init::orthogonal(&[4, 4], 1.0, Dtype::Float16).unwrap();
    assert_eq!(half.dtype(), Dtype::Float16);
    err_with(init::orthogonal(&[4], 1.0, Dtype::Float32), &["2-d"]);
}

#[test]
fn random_initializers_draw_what_python_draws_with_the_same_seed() {
    let draw = |seed: u64, f: &dyn Fn() -> mlx::Result<Array>| {
        mlx::random::seed(seed).unwrap();
        f().unwrap()
    };
    let f32 = Dtype::Float32;
    let ours = vec![
        ("normal", draw(1, &|| init::normal(&[3, 4], 0.5, 2.0, f32))),
        (
            "uniform",
            draw(2, &|| init::uniform(&[3, 4], -2.0, 1.0, f32)),
        ),
        (
            "glorot_normal",
            draw(3, &|| init::glorot_normal(&[4, 2, 3], 1.5, f32)),
        ),
        (
            "glorot_uniform",
            draw(4, &|| init::glorot_uniform(&[5, 3], 1.0, f32)),
        ),
        (
            "he_normal",
            draw(5, &|| init::he_normal(&[5, 3], FanMode::FanOut, 2.0, f32)),
        ),
        (
            "he_uniform",
            draw(6, &|| {
                init::he_uniform(&[5, 2, 3], FanMode::FanIn, 1.0, f32)
            }),
        ),
        (
            "sparse",
            draw(7, &|| init::sparse(&[4, 6], 0.5, 1.0, 0.1, f32)),
        ),
        (
            "orthogonal",
            draw(8, &|| init::orthogonal(&[5, 3], 1.5, f32)),
        ),
    ];
    compare_with_python(
        &ours,
        "I = nn.init\n\
         def draw(seed, f, shape, *args):\n    \
             mx.random.seed(seed)\n    \
             return f(mx.zeros(shape), *args)\n\
         out['normal'] = draw(1, I.normal(0.5, 2.0), (3, 4))\n\
         out['uniform'] = draw(2, I.uniform(-2.0, 1.0), (3, 4))\n\
         out['glorot_normal'] = draw(3, I.glorot_normal(), (4, 2, 3), 1.5)\n\
         out['glorot_uniform'] = draw(4, I.glorot_uniform(), (5, 3))\n\
         out['he_normal'] = draw(5, I.he_normal(), (5, 3), 'fan_out', 2.0)\n\
         out['he_uniform'] = draw(6, I.he_uniform(), (5, 2, 3), 'fan_in', 1.0)\n\
         out['sparse'] = draw(7, I.sparse(0.5, 1.0, 0.1), (4, 6))\n\
         out['orthogonal'] = draw(8, I.orthogonal(1.5), (5, 3))",
        &[],
        1e-5,
    );
}

/// Element `i` of a 1-d array, as a scalar array.
fn at(x: &Array, i: i32) -> Array {
    ops::take_index(x, i, None).unwrap()
}

/// A layer under test with its Python constructor.
type NamedLayer = (&'static str, Box<dyn Fn(&Array) -> mlx::Result<Array>>);

#[test]
fn activation_layers_match_python_classes() {
    let x = &input(&[3, 8], 90) * 3.0;
    let layers: Vec<NamedLayer> = vec![
        ("ReLU()", Box::new(|x| nn::ReLU::new().forward(x))),
        ("ReLU6()", Box::new(|x| nn::ReLU6::new().forward(x))),
        ("ReLU2()", Box::new(|x| nn::ReLU2::new().forward(x))),
        ("SELU()", Box::new(|x| nn::SELU::new().forward(x))),
        ("SiLU()", Box::new(|x| nn::SiLU::new().forward(x))),
        ("Sigmoid()", Box::new(|x| nn::Sigmoid::new().forward(x))),
        (
            "LogSigmoid()",
            Box::new(|x| nn::LogSigmoid::new().forward(x)),
        ),
        ("Softplus()", Box::new(|x| nn::Softplus::new().forward(x))),
        ("Softsign()", Box::new(|x| nn::Softsign::new().forward(x))),
        ("Mish()", Box::new(|x| nn::Mish::new().forward(x))),
        ("Tanh()", Box::new(|x| nn::Tanh::new().forward(x))),
        ("Hardswish()", Box::new(|x| nn::Hardswish::new().forward(x))),
        ("HardTanh()", Box::new(|x| nn::HardTanh::new().forward(x))),
        (
            "LeakyReLU(0.2)",
            Box::new(|x| nn::LeakyReLU::new(0.2).forward(x)),
        ),
        (
            "LeakyReLU()",
            Box::new(|x| nn::LeakyReLU::default().forward(x)),
        ),
        ("ELU(0.5)", Box::new(|x| nn::ELU::new(0.5).forward(x))),
        ("CELU(2.0)", Box::new(|x| nn::CELU::new(2.0).forward(x))),
        (
            "Softshrink(0.7)",
            Box::new(|x| nn::Softshrink::new(0.7).forward(x)),
        ),
        (
            "HardShrink()",
            Box::new(|x| nn::HardShrink::default().forward(x)),
        ),
        ("Step(0.3)", Box::new(|x| nn::Step::new(0.3).forward(x))),
        ("GLU()", Box::new(|x| nn::GLU::default().forward(x))),
        ("Softmax()", Box::new(|x| nn::Softmax::default().forward(x))),
        (
            "LogSoftmax()",
            Box::new(|x| nn::LogSoftmax::default().forward(x)),
        ),
        ("Softmin()", Box::new(|x| nn::Softmin::default().forward(x))),
    ];
    let body: String = layers
        .iter()
        .enumerate()
        .map(|(i, (py, _))| format!("out['{i}'] = nn.{py}(inp['x'])\n"))
        .collect();
    let ours: Vec<Array> = layers.iter().map(|(_, f)| f(&x).unwrap()).collect();
    assert_arrays_close(
        &ours[0],
        &mlx::ops::maximum(&x, &Array::scalar(0.0f32)).unwrap(),
        0.0,
        0.0,
    );
    if let Some(out) = python_mlx(&body, &[("x", &x)]) {
        for (i, (py, _)) in layers.iter().enumerate() {
            let theirs = &out[&i.to_string()];
            assert_eq!(ours[i].dtype(), theirs.dtype(), "{py}");
            assert_arrays_close(&ours[i], theirs, 1e-5, 1e-6);
        }
    }
}
