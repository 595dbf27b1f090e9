//! Optimizers and schedules against Python MLX and closed forms.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use mlx::nn::{self, Module};
use mlx::optimizers::{
    AdaDelta, Adafactor, Adagrad, Adam, AdamW, Adamax, Lion, MultiOptimizer, Muon, Optimizer,
    RMSprop, SGD, Schedule, State, clip_grad_norm, cosine_decay, exponential_decay, join_schedules,
    linear_schedule, step_decay,
};
use mlx::{Array, Dtype, Parameters};

use super::*;

/// A model with a tall matrix, a vector and a 3-D leaf (Muon flattens it; Adafactor factors
/// it).
#[derive(Parameters, Clone)]
struct Small {
    w: Array,
    b: Array,
    k: Array,
}

const LEAVES: [&str; 3] = ["w", "b", "k"];
const STEPS: usize = 3;

fn small(seed: u64) -> Small {
    Small {
        w: input(&[4, 3], seed),
        b: input(&[3], seed + 1),
        k: input(&[2, 3, 2], seed + 2),
    }
}

/// The initial model and one gradient tree per step (all different).
fn fixture() -> (Small, Vec<Small>) {
    (
        small(10),
        (0..STEPS as u64).map(|s| small(100 + 10 * s)).collect(),
    )
}

/// Inputs for the Python side: `p.<leaf>` and `g<step>.<leaf>`.
fn fixture_inputs(p: &Small, grads: &[Small]) -> Vec<(String, Array)> {
    let mut out = named_params(p, "p");
    for (s, g) in grads.iter().enumerate() {
        out.extend(named_params(g, &format!("g{s}")));
    }
    out
}

/// Python helper: runs `opt` for every step from the fixture, storing the parameters after
/// step `s` as `<name>.<s>.<leaf>`.
const PY_RUN: &str = "
LEAVES = ('w', 'b', 'k')
def run(name, opt, steps):
    p = {k: inp['p.' + k] for k in LEAVES}
    for s in range(steps):
        g = {k: inp[f'g{s}.' + k] for k in LEAVES}
        p = opt.apply_gradients(g, p)
        for k in LEAVES:
            out[f'{name}.{s}.{k}'] = p[k]
    return opt
";

fn as_inputs(v: &[(String, Array)]) -> Vec<(&str, &Array)> {
    v.iter().map(|(k, a)| (k.as_str(), a)).collect()
}

/// Runs every optimizer here and in Python (one Python call) on the fixture and compares the
/// parameters after each step.
fn check_against_python(cases: Vec<(&str, Box<dyn Optimizer>, &str)>, tol: f64) {
    let (p0, grads) = fixture();
    let mut ours = HashMap::new();
    let mut body = String::from(PY_RUN);
    for (name, mut opt, python) in cases {
        let mut p = p0.clone();
        for (s, g) in grads.iter().enumerate() {
            opt.update(&mut p, g).unwrap();
            for (k, a) in p.flatten_params() {
                ours.insert(format!("{name}.{s}.{k}"), a);
            }
        }
        // Every step changed every leaf.
        for (k, a) in p.flatten_params() {
            let before = values(
                &p0.flatten_params()
                    .into_iter()
                    .find(|x| x.0 == k)
                    .unwrap()
                    .1,
            );
            assert_ne!(values(&a), before, "{name}: leaf {k} did not move");
        }
        assert_eq!(opt.step().unwrap().item::<u64>().unwrap(), STEPS as u64);
        body.push_str(&format!("run('{name}', {python}, {STEPS})\n"));
    }
    let inputs = fixture_inputs(&p0, &grads);
    let Some(out) = python_mlx(&body, &as_inputs(&inputs)) else {
        return;
    };
    assert_eq!(out.len(), ours.len());
    for (key, want) in &out {
        let got = &ours[key];
        let g = values(got);
        let w = values(want);
        assert_eq!(got.shape(), want.shape(), "{key}");
        for (i, (x, y)) in g.iter().zip(&w).enumerate() {
            assert!(
                (x - y).abs() <= tol * (1.0 + y.abs()),
                "{key}[{i}]: ours {x}, Python {y}\n ours   {g:?}\n Python {w:?}"
            );
        }
    }
}

#[test]
fn sgd_variants_match_python() {
    check_against_python(
        vec![
            ("plain", Box::new(SGD::new(0.1)), "optim.SGD(0.1)"),
            (
                "momentum",
                Box::new(SGD::new(0.1).with_momentum(0.9)),
                "optim.SGD(0.1, momentum=0.9)",
            ),
            (
                "nesterov",
                Box::new(SGD::new(0.1).with_momentum(0.9).with_nesterov(true)),
                "optim.SGD(0.1, momentum=0.9, nesterov=True)",
            ),
            (
                "dampened",
                Box::new(
                    SGD::new(0.05)
                        .with_momentum(0.8)
                        .with_dampening(0.3)
                        .with_weight_decay(0.1),
                ),
                "optim.SGD(0.05, momentum=0.8, dampening=0.3, weight_decay=0.1)",
            ),
            (
                "decay_only",
                Box::new(SGD::new(0.1).with_weight_decay(0.5)),
                "optim.SGD(0.1, weight_decay=0.5)",
            ),
        ],
        1e-6,
    );
}

#[test]
fn adam_family_matches_python() {
    check_against_python(
        vec![
            ("adam", Box::new(Adam::new(0.01)), "optim.Adam(0.01)"),
            (
                "adam_bc",
                Box::new(Adam::new(0.01).with_bias_correction(true)),
                "optim.Adam(0.01, bias_correction=True)",
            ),
            (
                "adam_betas",
                Box::new(Adam::new(0.02).with_betas(0.8, 0.99).with_eps(1e-3)),
                "optim.Adam(0.02, betas=[0.8, 0.99], eps=1e-3)",
            ),
            ("adamw", Box::new(AdamW::new(0.01)), "optim.AdamW(0.01)"),
            (
                "adamw_bc",
                Box::new(
                    AdamW::new(0.01)
                        .with_weight_decay(0.2)
                        .with_bias_correction(true),
                ),
                "optim.AdamW(0.01, weight_decay=0.2, bias_correction=True)",
            ),
            ("adamax", Box::new(Adamax::new(0.01)), "optim.Adamax(0.01)"),
            (
                "adamax_betas",
                Box::new(Adamax::new(0.05).with_betas(0.5, 0.9).with_eps(1e-4)),
                "optim.Adamax(0.05, betas=[0.5, 0.9], eps=1e-4)",
            ),
        ],
        1e-6,
    );
}

#[test]
fn adaptive_optimizers_match_python() {
    check_against_python(
        vec![
            (
                "rmsprop",
                Box::new(RMSprop::new(0.01)),
                "optim.RMSprop(0.01)",
            ),
            (
                "rmsprop_alpha",
                Box::new(RMSprop::new(0.02).with_alpha(0.7).with_eps(1e-4)),
                "optim.RMSprop(0.02, alpha=0.7, eps=1e-4)",
            ),
            ("adagrad", Box::new(Adagrad::new(0.1)), "optim.Adagrad(0.1)"),
            (
                "adagrad_eps",
                Box::new(Adagrad::new(0.1).with_eps(0.5)),
                "optim.Adagrad(0.1, eps=0.5)",
            ),
            (
                "adadelta",
                Box::new(AdaDelta::new(1.0)),
                "optim.AdaDelta(1.0)",
            ),
            (
                "adadelta_rho",
                Box::new(AdaDelta::new(0.5).with_rho(0.7).with_eps(1e-3)),
                "optim.AdaDelta(0.5, rho=0.7, eps=1e-3)",
            ),
        ],
        1e-6,
    );
}

#[test]
fn adafactor_matches_python() {
    check_against_python(
        vec![
            ("default", Box::new(Adafactor::new()), "optim.Adafactor()"),
            (
                "lr_beta_decay",
                Box::new(
                    Adafactor::new()
                        .with_learning_rate(0.01)
                        .with_relative_step(false)
                        .with_beta_1(0.9)
                        .with_weight_decay(0.1),
                ),
                "optim.Adafactor(learning_rate=0.01, relative_step=False, beta_1=0.9, \
                 weight_decay=0.1)",
            ),
            (
                "warmup_unscaled",
                Box::new(
                    Adafactor::new()
                        .with_warmup_init(true)
                        .with_scale_parameter(false)
                        .with_clip_threshold(0.5)
                        .with_decay_rate(-0.5)
                        .with_eps(1e-20, 1e-2),
                ),
                "optim.Adafactor(warmup_init=True, scale_parameter=False, clip_threshold=0.5, \
                 decay_rate=-0.5, eps=(1e-20, 1e-2))",
            ),
        ],
        1e-5,
    );
    // Factored second moments: a row and a column average per matrix, one average otherwise.
    let mut opt = Adafactor::new();
    opt.init(&small(1)).unwrap();
    let state = opt.state();
    let keys: Vec<&str> = state.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "b.exp_avg_sq",
            "k.exp_avg_sq_col",
            "k.exp_avg_sq_row",
            "step",
            "w.exp_avg_sq_col",
            "w.exp_avg_sq_row"
        ]
    );
    assert_eq!(state["k.exp_avg_sq_row"].shape(), &[2, 3]);
    assert_eq!(state["k.exp_avg_sq_col"].shape(), &[2, 2]);
    assert_eq!(state["w.exp_avg_sq_col"].shape(), &[3]);
    assert!(opt.learning_rate().is_err());
}

#[test]
fn lion_muon_and_multi_match_python() {
    let multi = MultiOptimizer::new(
        vec![
            Box::new(SGD::new(0.1).with_momentum(0.9)),
            Box::new(Adam::new(0.01).with_bias_correction(true)),
            Box::new(Muon::new(0.02)),
        ],
        vec![
            Box::new(|name: &str, _: &Array| name == "b"),
            Box::new(|_: &str, g: &Array| g.ndim() == 3),
        ],
    )
    .unwrap();
    check_against_python(
        vec![
            ("lion", Box::new(Lion::new(0.01)), "optim.Lion(0.01)"),
            (
                "lion_decay",
                Box::new(Lion::new(0.01).with_betas(0.8, 0.95).with_weight_decay(0.5)),
                "optim.Lion(0.01, betas=[0.8, 0.95], weight_decay=0.5)",
            ),
            ("muon", Box::new(Muon::new(0.02)), "optim.Muon(0.02)"),
            (
                "muon_plain",
                Box::new(
                    Muon::new(0.05)
                        .with_momentum(0.9)
                        .with_nesterov(false)
                        .with_weight_decay(0.0)
                        .with_ns_steps(3),
                ),
                "optim.Muon(0.05, momentum=0.9, nesterov=False, weight_decay=0.0, ns_steps=3)",
            ),
            (
                "multi",
                Box::new(multi),
                "optim.MultiOptimizer([optim.SGD(0.1, momentum=0.9), \
                 optim.Adam(0.01, bias_correction=True), optim.Muon(0.02)], \
                 [lambda n, g: n == 'b', lambda n, g: g.ndim == 3])",
            ),
        ],
        1e-5,
    );
}

#[test]
fn scheduled_learning_rates_match_python() {
    check_against_python(
        vec![
            (
                "sgd_exp",
                Box::new(SGD::new(exponential_decay(0.1, 0.5))),
                "optim.SGD(optim.exponential_decay(0.1, 0.5))",
            ),
            (
                "adam_join",
                Box::new(
                    Adam::new(
                        join_schedules(
                            vec![
                                linear_schedule(0.0, 0.1, 2).unwrap(),
                                cosine_decay(0.1, 5, 0.01).unwrap(),
                            ],
                            &[1],
                        )
                        .unwrap(),
                    )
                    .with_bias_correction(true),
                ),
                "optim.Adam(optim.join_schedules([optim.linear_schedule(0.0, 0.1, 2), \
                 optim.cosine_decay(0.1, 5, 0.01)], [1]), bias_correction=True)",
            ),
            (
                "lion_step",
                Box::new(Lion::new(step_decay(0.1, 0.5, 2).unwrap())),
                "optim.Lion(optim.step_decay(0.1, 0.5, 2))",
            ),
        ],
        1e-6,
    );
    // Update n uses the schedule's value at step n - 1, and the state shows the last one used.
    let mut opt = SGD::new(exponential_decay(1.0, 0.5));
    assert_eq!(opt.learning_rate().unwrap().item::<f32>().unwrap(), 1.0);
    let mut w = mlx::array![0.0];
    for _ in 0..3 {
        opt.update(&mut w, &mlx::array![1.0]).unwrap();
    }
    assert_eq!(w.item::<f32>().unwrap(), -(1.0 + 0.5 + 0.25));
    assert_eq!(opt.learning_rate().unwrap().item::<f32>().unwrap(), 0.25);
    // A plain value replaces the schedule.
    opt.set_learning_rate(2.0).unwrap();
    opt.update(&mut w, &mlx::array![1.0]).unwrap();
    assert_eq!(w.item::<f32>().unwrap(), -3.75);
    // The state can be edited in place: a zero learning rate stops the updates.
    opt.state_mut()
        .insert("learning_rate".into(), Array::scalar(0.0f32));
    opt.update(&mut w, &mlx::array![1.0]).unwrap();
    assert_eq!(w.item::<f32>().unwrap(), -3.75);
    assert_eq!(opt.step().unwrap().item::<u64>().unwrap(), 5);
}

#[test]
fn schedules_match_python_and_closed_forms() {
    let schedules: Vec<(&str, Schedule, &str)> = vec![
        (
            "exp",
            exponential_decay(0.1, 0.9),
            "optim.exponential_decay(0.1, 0.9)",
        ),
        (
            "step",
            step_decay(0.1, 0.9, 3).unwrap(),
            "optim.step_decay(0.1, 0.9, 3)",
        ),
        (
            "cos",
            cosine_decay(0.1, 8, 0.0).unwrap(),
            "optim.cosine_decay(0.1, 8)",
        ),
        (
            "cos_end",
            cosine_decay(1.0, 5, 0.2).unwrap(),
            "optim.cosine_decay(1.0, 5, 0.2)",
        ),
        (
            "lin",
            linear_schedule(0.0, 0.1, 6).unwrap(),
            "optim.linear_schedule(0.0, 0.1, 6)",
        ),
        (
            "join",
            join_schedules(
                vec![
                    linear_schedule(0.0, 0.1, 4).unwrap(),
                    cosine_decay(0.1, 6, 0.0).unwrap(),
                    exponential_decay(0.05, 0.5),
                ],
                &[4, 9],
            )
            .unwrap(),
            "optim.join_schedules([optim.linear_schedule(0.0, 0.1, 4), optim.cosine_decay(0.1, \
             6), optim.exponential_decay(0.05, 0.5)], [4, 9])",
        ),
    ];
    const N: u64 = 13;
    let mut body = String::new();
    for (name, _, python) in &schedules {
        body.push_str(&format!(
            "s = {python}\nout['{name}'] = mx.stack([s(mx.array(i, mx.uint64)) for i in \
             range({N})])\n"
        ));
    }
    // Closed forms.
    let pi = std::f64::consts::PI;
    let close =
        |got: f32, want: f64| assert!((f64::from(got) - want).abs() < 1e-6, "{got} vs {want}");
    for i in 0..N {
        let t = i as f64;
        close(schedules[0].1.value_at(i).unwrap(), 0.1 * 0.9f64.powf(t));
        close(
            schedules[1].1.value_at(i).unwrap(),
            0.1 * 0.9f64.powi((i / 3) as i32),
        );
        close(
            schedules[2].1.value_at(i).unwrap(),
            0.05 * (1.0 + (pi * t.min(8.0) / 8.0).cos()),
        );
        close(schedules[4].1.value_at(i).unwrap(), 0.1 * t.min(6.0) / 6.0);
    }
    let join: Vec<f32> = (0..N)
        .map(|i| schedules[5].1.value_at(i).unwrap())
        .collect();
    close(join[2], 0.05);
    close(join[4], 0.1);
    close(join[9], 0.05);
    close(join[12], 0.05 * 0.125);
    assert!(step_decay(0.1, 0.9, 0).is_err());
    assert!(join_schedules(vec![exponential_decay(0.1, 0.9)], &[3]).is_err());

    if let Some(out) = python_mlx(&body, &[]) {
        for (name, s, _) in &schedules {
            let ours: Vec<f64> = (0..N).map(|i| f64::from(s.value_at(i).unwrap())).collect();
            assert_close(&out[*name], &ours, 1e-6, 1e-7);
        }
    }
}

#[test]
fn clip_grad_norm_matches_python_and_the_closed_form() {
    let g = small(7);
    let norm: f64 = g
        .leaves()
        .iter()
        .flat_map(|a| values(a))
        .map(|x| x * x)
        .sum::<f64>()
        .sqrt();
    let (clipped, total) = clip_grad_norm(&g, 1.0).unwrap();
    assert_close(&total, &[norm], 1e-6, 0.0);
    let scale = 1.0 / (norm + 1e-6);
    for (a, b) in clipped.leaves().iter().zip(g.leaves()) {
        let want: Vec<f64> = values(b).iter().map(|x| x * scale).collect();
        assert_close(a, &want, 1e-5, 1e-7);
    }
    // Below the bound nothing changes.
    let (same, _) = clip_grad_norm(&g, 100.0).unwrap();
    for (a, b) in same.leaves().iter().zip(g.leaves()) {
        assert_arrays_close(a, b, 0.0, 0.0);
    }
    assert!(clip_grad_norm(&g, -1.0).is_err());

    let inputs = named_params(&g, "g");
    let body = "g = {k: inp['g.' + k] for k in ('w', 'b', 'k')}\n\
                for m in (1.0, 100.0):\n    \
                    c, n = optim.clip_grad_norm(g, m)\n    \
                    out[f'n{m}'] = n\n    \
                    for k in c: out[f'{m}.{k}'] = c[k]\n";
    if let Some(out) = python_mlx(body, &as_inputs(&inputs)) {
        assert_arrays_close(&total, &out["n1.0"], 1e-6, 0.0);
        for (k, a) in clipped.flatten_params() {
            assert_arrays_close(&a, &out[&format!("1.0.{k}")], 1e-6, 1e-7);
        }
        for (k, a) in same.flatten_params() {
            assert_arrays_close(&a, &out[&format!("100.0.{k}")], 0.0, 0.0);
        }
    }
}

/// Steps `opt` through the fixture's gradients `range`, from `p`.
fn run_steps(opt: &mut impl Optimizer, p: &mut Small, grads: &[Small]) {
    for g in grads {
        opt.update(p, g).unwrap();
    }
}

fn assert_same_model(a: &Small, b: &Small, what: &str) {
    for ((k, x), (_, y)) in a.flatten_params().into_iter().zip(b.flatten_params()) {
        assert_eq!(values(&x), values(&y), "{what}: leaf {k}");
    }
}

fn scheduled_adam() -> Adam {
    Adam::new(cosine_decay(0.05, 10, 0.0).unwrap()).with_bias_correction(true)
}

fn tmp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("mlx-optim-{}-{name}", std::process::id()))
}

#[test]
fn saved_state_resumes_exactly_here_and_in_python() {
    let (p0, grads) = fixture();
    // Uninterrupted: three steps.
    let mut full = p0.clone();
    let mut opt = scheduled_adam();
    run_steps(&mut opt, &mut full, &grads);

    // One step, save, a fresh optimizer loads the state and does the other two.
    let mut resumed = p0.clone();
    let mut first = scheduled_adam();
    run_steps(&mut first, &mut resumed, &grads[..1]);
    let path = tmp("adam.safetensors");
    first.save_state(&path).unwrap();
    let state = first.state();
    let keys: Vec<&str> = state.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "b.m",
            "b.v",
            "k.m",
            "k.v",
            "learning_rate",
            "step",
            "w.m",
            "w.v"
        ]
    );
    assert_eq!(state["step"].dtype(), Dtype::Uint64);
    let mut second = scheduled_adam();
    second.load_state(&path).unwrap();
    assert_eq!(second.step().unwrap().item::<u64>().unwrap(), 1);
    run_steps(&mut second, &mut resumed, &grads[1..]);
    assert_same_model(&full, &resumed, "resumed Adam");

    // The same for a MultiOptimizer (nested state keys).
    let multi = || {
        MultiOptimizer::new(
            vec![
                Box::new(SGD::new(0.1).with_momentum(0.9)),
                Box::new(AdamW::new(0.01)),
            ],
            vec![Box::new(|n: &str, _: &Array| n == "b")],
        )
        .unwrap()
    };
    let mut full_m = p0.clone();
    run_steps(&mut multi(), &mut full_m, &grads);
    let mut resumed_m = p0.clone();
    let mut a = multi();
    run_steps(&mut a, &mut resumed_m, &grads[..2]);
    let multi_at_two = resumed_m.clone();
    let multi_path = tmp("multi.safetensors");
    a.save_state(&multi_path).unwrap();
    let mut b = multi();
    b.load_state(&multi_path).unwrap();
    run_steps(&mut b, &mut resumed_m, &grads[2..]);
    assert_same_model(&full_m, &resumed_m, "resumed MultiOptimizer");
    assert!(a.state().contains_key("states.0.b.v"));
    assert!(a.state().contains_key("states.1.w.m"));

    // Python loads our state after one step and continues; and Python's own state after one
    // step, loaded here, continues like ours.
    let mut inputs = fixture_inputs(&p0, &grads);
    inputs.extend(named_params(&resumed_at_one(&p0, &grads), "p1"));
    inputs.extend(named_params(&multi_at_two, "p2"));
    let body = format!(
        "{PY_RUN}\n\
         opt = optim.Adam(optim.cosine_decay(0.05, 10), bias_correction=True)\n\
         opt.state = tree_unflatten(list(mx.load('{}').items()))\n\
         p = {{k: inp['p1.' + k] for k in LEAVES}}\n\
         for s in (1, 2):\n    \
             p = opt.apply_gradients({{k: inp[f'g{{s}}.' + k] for k in LEAVES}}, p)\n\
         for k in LEAVES: out['py_resumed.' + k] = p[k]\n\
         opt = run('own', optim.Adam(optim.cosine_decay(0.05, 10), bias_correction=True), 1)\n\
         for k, v in tree_flatten(opt.state): out['state.' + k] = v\n\
         opt = optim.MultiOptimizer([optim.SGD(0.1, momentum=0.9), optim.AdamW(0.01)], \
         [lambda n, g: n == 'b'])\n\
         opt.state = tree_unflatten(list(mx.load('{}').items()))\n\
         p = opt.apply_gradients({{k: inp['g2.' + k] for k in LEAVES}}, \
         {{k: inp['p2.' + k] for k in LEAVES}})\n\
         for k in LEAVES: out['py_multi.' + k] = p[k]\n",
        path.display(),
        multi_path.display()
    );
    if let Some(out) = python_mlx(&body, &as_inputs(&inputs)) {
        for (k, a) in full.flatten_params() {
            assert_arrays_close(&out[&format!("py_resumed.{k}")], &a, 1e-6, 1e-7);
        }
        for (k, a) in full_m.flatten_params() {
            assert_arrays_close(&out[&format!("py_multi.{k}")], &a, 1e-6, 1e-7);
        }
        let py_state: State = out
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("state.")?.to_string(), v.clone())))
            .collect();
        let py_keys: Vec<&String> = py_state.keys().collect();
        let our_keys: Vec<&String> = state.keys().collect();
        assert_eq!(py_keys, our_keys);
        assert_eq!(py_state["step"].dtype(), Dtype::Uint64);
        let mut from_python = scheduled_adam();
        from_python.set_state(py_state).unwrap();
        let mut p = p0
            .rebuild_params(
                LEAVES
                    .iter()
                    .map(|k| (k.to_string(), out[&format!("own.0.{k}")].clone())),
            )
            .unwrap();
        run_steps(&mut from_python, &mut p, &grads[1..]);
        assert_same_model_close(&full, &p);
    }
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_file(multi_path);
}

fn resumed_at_one(p0: &Small, grads: &[Small]) -> Small {
    let mut p = p0.clone();
    run_steps(&mut scheduled_adam(), &mut p, &grads[..1]);
    p
}

fn assert_same_model_close(a: &Small, b: &Small) {
    for ((_, x), (_, y)) in a.flatten_params().into_iter().zip(b.flatten_params()) {
        assert_arrays_close(&y, &x, 1e-6, 1e-7);
    }
}

#[derive(Parameters, Clone)]
struct WithFrozen {
    w: Array,
    #[param(frozen)]
    f: Array,
    layer: nn::Linear,
}

#[test]
fn frozen_leaves_are_untouched_and_get_no_state() {
    mlx::random::seed(3).unwrap();
    let mut m = WithFrozen {
        w: input(&[2, 2], 1),
        f: input(&[2], 2),
        layer: nn::Linear::new(2, 2).unwrap(),
    };
    m.layer.freeze_keys(&["bias"]);
    let before = m.clone();
    let x = input(&[3, 2], 3);
    let (_, grads) = mlx::transforms::value_and_grad_params(&m, |m: &WithFrozen| {
        let h = m.layer.forward(&x.matmul(&m.w)?)?;
        (&h * &m.f).sum(None, false)
    })
    .unwrap();
    // Gradients that are not zero on the frozen leaves must be ignored as well.
    let grads = grads.map_params(|_, g| Ok(g + 1.0)).unwrap();
    let mut opt = Adam::new(0.1);
    opt.update(&mut m, &grads).unwrap();
    assert_eq!(values(&m.f), values(&before.f));
    assert_eq!(
        values(m.layer.bias.as_ref().unwrap()),
        values(before.layer.bias.as_ref().unwrap())
    );
    assert_ne!(values(&m.w), values(&before.w));
    assert_ne!(values(&m.layer.weight), values(&before.layer.weight));
    let state = opt.state();
    let keys: Vec<&str> = state.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "layer.weight.m",
            "layer.weight.v",
            "learning_rate",
            "step",
            "w.m",
            "w.v"
        ]
    );
}

#[test]
fn invalid_settings_and_gradients_are_reported() {
    let mut w = mlx::array![1.0, 2.0];
    let g = mlx::array![1.0, 1.0];
    let err = |r: mlx::Result<()>, part: &str| {
        let m = r.expect_err("expected an error").to_string();
        assert!(m.contains(part), "{m:?} does not mention {part:?}");
    };
    err(
        SGD::new(0.1).with_nesterov(true).update(&mut w, &g),
        "Nesterov",
    );
    err(
        Adam::new(0.1).with_betas(1.0, 0.9).update(&mut w, &g),
        "beta1",
    );
    err(
        RMSprop::new(0.1).with_eps(0.0).update(&mut w, &g),
        "epsilon",
    );
    err(
        Adafactor::new()
            .with_relative_step(false)
            .update(&mut w, &g),
        "learning rate",
    );
    let mut flat = State::new();
    flat.insert("w".into(), mlx::array![1.0]);
    let mut grads = State::new();
    grads.insert("w".into(), mlx::array![1.0, 2.0]);
    assert!(SGD::new(0.1).apply_gradients(&grads, &flat).is_err());
    assert!(
        SGD::new(0.1)
            .apply_gradients(&grads, &State::new())
            .is_err()
    );
    assert!(
        MultiOptimizer::new(
            vec![Box::new(SGD::new(0.1))],
            vec![Box::new(|_: &str, _: &Array| true)]
        )
        .is_err()
    );
    assert_eq!(values(&w), [1.0, 2.0]);
}

#[test]
fn compiled_step_sees_the_step_and_schedule_change() {
    let (p0, grads) = fixture();
    let mut eager = p0.clone();
    let mut reference = scheduled_adam();
    run_steps(&mut reference, &mut eager, &grads);

    let mut opt = scheduled_adam();
    opt.init(&p0).unwrap();
    let keys: Vec<String> = opt.state().keys().cloned().collect();
    let n_state = keys.len();
    let shared = Arc::new(Mutex::new(opt));
    let inner = shared.clone();
    let names = keys.clone();
    // Inputs: the state (in key order), then params and grads of w, b, k.
    let step = mlx::transforms::compile(
        move |inputs: &[Array]| {
            let mut opt = inner.lock().unwrap();
            opt.set_state(
                names
                    .iter()
                    .cloned()
                    .zip(inputs[..n_state].iter().cloned())
                    .collect(),
            )?;
            let rest = &inputs[n_state..];
            let params: State = LEAVES
                .iter()
                .map(|k| k.to_string())
                .zip(rest[..3].iter().cloned())
                .collect();
            let grads: State = LEAVES
                .iter()
                .map(|k| k.to_string())
                .zip(rest[3..].iter().cloned())
                .collect();
            let new = opt.apply_gradients(&grads, &params)?;
            let mut out: Vec<Array> = opt.state().into_values().collect();
            out.extend(LEAVES.iter().map(|k| new[*k].clone()));
            Ok(out)
        },
        false,
    )
    .unwrap();
    let mut state: Vec<Array> = shared.lock().unwrap().state().into_values().collect();
    let mut params: Vec<Array> = p0.flatten_params().into_iter().map(|x| x.1).collect();
    for g in &grads {
        let mut inputs = state.clone();
        inputs.extend(params.iter().cloned());
        inputs.extend(g.flatten_params().into_iter().map(|x| x.1));
        let mut out = step.call(&inputs).unwrap();
        params = out.split_off(n_state);
        state = out;
    }
    let compiled = p0
        .rebuild_params(LEAVES.iter().map(|k| k.to_string()).zip(params))
        .unwrap();
    assert_same_model_close(&eager, &compiled);
    let step_index = keys.iter().position(|k| k == "step").unwrap();
    assert_eq!(state[step_index].item::<u64>().unwrap(), STEPS as u64);
}

#[test]
fn adam_trains_a_linear_layer() {
    mlx::random::seed(4).unwrap();
    let mut model = nn::Linear::new(3, 1).unwrap();
    let x = input(&[32, 3], 5);
    let y = x.matmul(&mlx::array![[0.5], [-1.0], [2.0]]).unwrap();
    let loss = |m: &nn::Linear| (m.forward(&x)? - &y).square()?.mean(None, false);
    let first = loss(&model).unwrap().item::<f32>().unwrap();
    let mut opt = Adam::new(0.05).with_bias_correction(true);
    let mut last = first;
    for _ in 0..150 {
        let (l, grads) = mlx::transforms::value_and_grad_params(&model, loss).unwrap();
        opt.update(&mut model, &grads).unwrap();
        model.eval_params().unwrap();
        last = l.item::<f32>().unwrap();
    }
    assert!(last < 1e-2 * first, "loss {first} -> {last}");
    assert_close(&model.weight, &[0.5, -1.0, 2.0], 0.0, 0.1);
}
