//! Losses against Python MLX (every option, in one Python run per test), closed forms and
//! finite-difference gradients.

use mlx::nn::{
    self,
    losses::{self, *},
};
use mlx::{Array, Dtype, ops};

use super::common::{check_grad, err_with};
use super::functional::compare_with_python;
use super::*;

fn ints(data: &[i32], shape: &[i32]) -> Array {
    Array::from_slice(data, shape).unwrap()
}

fn floats(data: &[f32], shape: &[i32]) -> Array {
    Array::from_slice(data, shape).unwrap()
}

fn item(a: &Array) -> f64 {
    values(a)[0]
}

/// A float32 sample in [lo, hi).
fn uniform(shape: &[i32], seed: u64, lo: f64, hi: f64) -> Array {
    sample(shape, seed, lo, hi).astype(Dtype::Float32).unwrap()
}

#[test]
fn cross_entropy_matches_python_for_every_option() {
    let logits = &input(&[4, 5], 10) * 3.0;
    let classes = ints(&[0, 3, 4, 1], &[4]);
    let probs = nn::softmax(&input(&[4, 5], 11), -1).unwrap();
    let w = uniform(&[4], 12, 0.5, 2.0);
    let logits_t = logits.t().unwrap();
    let logits3 = input(&[2, 3, 4], 13);
    let classes3 = ints(&[0, 2, 1, 1, 0, 2, 2, 2], &[2, 4]);
    let ce = CrossEntropy::default;
    let ours = [
        ("plain", losses::cross_entropy(&logits, &classes)),
        ("probs", losses::cross_entropy(&logits, &probs)),
        (
            "weights_mean",
            ce().with_weights(&w)
                .with_reduction(Reduction::Mean)
                .loss(&logits, &classes),
        ),
        (
            "smooth_sum",
            ce().with_label_smoothing(0.2)
                .with_reduction(Reduction::Sum)
                .loss(&logits, &classes),
        ),
        (
            "smooth_probs",
            ce().with_label_smoothing(0.3).loss(&logits, &probs),
        ),
        ("axis0", ce().with_axis(0).loss(&logits_t, &classes)),
        ("axis1_3d", ce().with_axis(1).loss(&logits3, &classes3)),
        (
            "axis1_3d_smooth",
            ce().with_axis(-2)
                .with_label_smoothing(0.1)
                .loss(&logits3, &classes3),
        ),
    ];
    let ours: Vec<(&str, Array)> = ours.into_iter().map(|(k, v)| (k, v.unwrap())).collect();
    assert_eq!(ours[0].1.shape(), &[4]);
    assert_eq!(ours[6].1.shape(), &[2, 4]);
    compare_with_python(
        &ours,
        "ce = nn.losses.cross_entropy\n\
         x, t, p, w = inp['logits'], inp['classes'], inp['probs'], inp['w']\n\
         out['plain'] = ce(x, t)\n\
         out['probs'] = ce(x, p)\n\
         out['weights_mean'] = ce(x, t, weights=w, reduction='mean')\n\
         out['smooth_sum'] = ce(x, t, label_smoothing=0.2, reduction='sum')\n\
         out['smooth_probs'] = ce(x, p, label_smoothing=0.3)\n\
         out['axis0'] = ce(inp['logits_t'], t, axis=0)\n\
         out['axis1_3d'] = ce(inp['logits3'], inp['classes3'], axis=1)\n\
         out['axis1_3d_smooth'] = ce(inp['logits3'], inp['classes3'], axis=-2, label_smoothing=0.1)",
        &[
            ("logits", &logits),
            ("classes", &classes),
            ("probs", &probs),
            ("w", &w),
            ("logits_t", &logits_t),
            ("logits3", &logits3),
            ("classes3", &classes3),
        ],
        1e-5,
    );
}

#[test]
fn cross_entropy_closed_forms_gradient_and_errors() {
    // Uniform logits over 3 classes: ln 3 whatever the class, with or without smoothing.
    let flat = floats(&[0.0, 0.0, 0.0], &[1, 3]);
    let one = ints(&[1], &[1]);
    assert_close(
        &losses::cross_entropy(&flat, &one).unwrap(),
        &[3f64.ln()],
        1e-6,
        1e-6,
    );
    // logits [ln 1, ln 2, ln 5]: softmax (1/8, 2/8, 5/8). Class 2: -ln(5/8). With smoothing s:
    // lse - (1 - s) x_c - s mean(x) = ln 8 - (1 - s) ln 5 - s (ln 10) / 3.
    let x = floats(&[0.0, 2f32.ln(), 5f32.ln()], &[1, 3]);
    let c = ints(&[2], &[1]);
    assert_close(
        &losses::cross_entropy(&x, &c).unwrap(),
        &[-(5.0f64 / 8.0).ln()],
        1e-6,
        1e-6,
    );
    let s = 0.25;
    let want = 8f64.ln() - (1.0 - s) * 5f64.ln() - s * 10f64.ln() / 3.0;
    let got = CrossEntropy::default()
        .with_label_smoothing(s)
        .loss(&x, &c)
        .unwrap();
    assert_close(&got, &[want], 1e-6, 1e-6);
    // Probability targets equal to one-hot give the class-index loss.
    let onehot = floats(&[0.0, 0.0, 1.0], &[1, 3]);
    assert_close(
        &losses::cross_entropy(&x, &onehot).unwrap(),
        &[-(5.0f64 / 8.0).ln()],
        1e-6,
        1e-6,
    );

    // d/dx of mean cross entropy = (softmax(x) - onehot) / n.
    let logits = sample(&[3, 4], 20, -2.0, 2.0);
    let classes = ints(&[1, 0, 3], &[3]);
    let f = |a: &[Array]| {
        CrossEntropy::default()
            .with_label_smoothing(0.1)
            .with_reduction(Reduction::Mean)
            .loss(&a[0], &classes)
    };
    check_grad(f, &[logits], 0, 1e-4, 1e-3);

    let bad = CrossEntropy::default().with_label_smoothing(1.0);
    err_with(bad.loss(&x, &c), &["label_smoothing", "[0, 1)"]);
    let bad = CrossEntropy::default().with_label_smoothing(-0.1);
    err_with(bad.loss(&x, &c), &["label_smoothing"]);
    err_with(
        losses::cross_entropy(&x, &ints(&[1, 2], &[2])),
        &["targets shape", "logits shape"],
    );
    err_with(
        losses::cross_entropy(&x, &floats(&[0.5, 0.5], &[1, 2])),
        &["targets shape"],
    );
    err_with(
        CrossEntropy::default()
            .with_weights(&floats(&[1.0, 2.0], &[2]))
            .loss(&x, &c),
        &["weights shape"],
    );
    err_with(
        CrossEntropy::default().with_axis(2).loss(&x, &c),
        &["axis 2"],
    );
}

#[test]
fn binary_cross_entropy_and_nll_match_python() {
    let logits = &input(&[3, 4], 30) * 4.0;
    let probs = uniform(&[3, 4], 31, 0.01, 0.99);
    let targets = uniform(&[3, 4], 32, 0.0, 1.0);
    let hard = ops::round(&targets, 0).unwrap();
    let w = uniform(&[3, 4], 33, 0.0, 2.0);
    // Probabilities exactly 0 and 1 hit the -100 clip of the logarithms.
    let edge = floats(&[0.0, 1.0, 0.5], &[3]);
    let edge_t = floats(&[1.0, 0.0, 1.0], &[3]);
    let log_probs = nn::log_softmax(&input(&[3, 4], 34), -1).unwrap();
    let classes = ints(&[3, 0, 2], &[3]);
    let bce = BinaryCrossEntropy::default;
    let ours: Vec<(&str, Array)> = [
        ("bce", losses::binary_cross_entropy(&logits, &targets)),
        ("bce_hard", losses::binary_cross_entropy(&logits, &hard)),
        ("bce_probs", bce().with_logits(false).loss(&probs, &targets)),
        (
            "bce_w_none",
            bce()
                .with_weights(&w)
                .with_reduction(Reduction::None)
                .loss(&logits, &targets),
        ),
        (
            "bce_probs_w_sum",
            bce()
                .with_logits(false)
                .with_weights(&w)
                .with_reduction(Reduction::Sum)
                .loss(&probs, &targets),
        ),
        (
            "bce_edge",
            bce()
                .with_logits(false)
                .with_reduction(Reduction::None)
                .loss(&edge, &edge_t),
        ),
        ("nll", losses::nll_loss(&log_probs, &classes)),
        (
            "nll_mean",
            NllLoss::default()
                .with_reduction(Reduction::Mean)
                .loss(&log_probs, &classes),
        ),
        (
            "nll_axis0_sum",
            NllLoss::default()
                .with_axis(0)
                .with_reduction(Reduction::Sum)
                .loss(&log_probs.t().unwrap(), &classes),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.unwrap()))
    .collect();
    assert_eq!(ours[0].1.shape(), &[] as &[i32]);
    assert_close(&ours[5].1, &[100.0, 100.0, 2f64.ln()], 1e-6, 1e-6);
    compare_with_python(
        &ours,
        "bce = nn.losses.binary_cross_entropy\n\
         x, p, t, h, w = inp['logits'], inp['probs'], inp['targets'], inp['hard'], inp['w']\n\
         out['bce'] = bce(x, t)\n\
         out['bce_hard'] = bce(x, h)\n\
         out['bce_probs'] = bce(p, t, with_logits=False)\n\
         out['bce_w_none'] = bce(x, t, weights=w, reduction='none')\n\
         out['bce_probs_w_sum'] = bce(p, t, weights=w, with_logits=False, reduction='sum')\n\
         out['bce_edge'] = bce(inp['edge'], inp['edge_t'], with_logits=False, reduction='none')\n\
         lp, c = inp['log_probs'], inp['classes']\n\
         out['nll'] = nn.losses.nll_loss(lp, c)\n\
         out['nll_mean'] = nn.losses.nll_loss(lp, c, reduction='mean')\n\
         out['nll_axis0_sum'] = nn.losses.nll_loss(lp.T, c, axis=0, reduction='sum')",
        &[
            ("logits", &logits),
            ("probs", &probs),
            ("targets", &targets),
            ("hard", &hard),
            ("w", &w),
            ("edge", &edge),
            ("edge_t", &edge_t),
            ("log_probs", &log_probs),
            ("classes", &classes),
        ],
        1e-5,
    );
}

#[test]
fn binary_cross_entropy_and_nll_closed_forms() {
    // Logit 0 gives ln 2 for any target; logit ln 3 (p = 3/4) with target 1 gives -ln(3/4).
    let x = floats(&[0.0, 3f32.ln()], &[2]);
    let t = floats(&[0.3, 1.0], &[2]);
    let got = BinaryCrossEntropy::default()
        .with_reduction(Reduction::None)
        .loss(&x, &t)
        .unwrap();
    assert_close(&got, &[2f64.ln(), -(0.75f64).ln()], 1e-6, 1e-6);
    // Probability 0.8 with target 0.5: -(0.5 ln 0.8 + 0.5 ln 0.2), averaged with weight 2.
    let p = floats(&[0.8], &[1]);
    let half = floats(&[0.5], &[1]);
    let got = BinaryCrossEntropy::default()
        .with_logits(false)
        .with_weights(&floats(&[2.0], &[1]))
        .loss(&p, &half)
        .unwrap();
    assert_close(&got, &[-(0.8f64.ln() + 0.2f64.ln())], 1e-6, 1e-6);
    // The gradient with logits is sigmoid(x) - t (over n for the mean).
    let logits = sample(&[5], 40, -3.0, 3.0);
    let targets = sample(&[5], 41, 0.0, 1.0);
    check_grad(
        |a| losses::binary_cross_entropy(&a[0], &targets),
        &[logits],
        0,
        1e-4,
        1e-3,
    );
    err_with(
        losses::binary_cross_entropy(&x, &floats(&[1.0], &[1])),
        &["targets shape", "inputs shape"],
    );

    let lp = floats(&[-0.5, -1.5, -2.5, -0.1], &[2, 2]);
    let got = NllLoss::default()
        .with_reduction(Reduction::Sum)
        .loss(&lp, &ints(&[1, 0], &[2]))
        .unwrap();
    assert_close(&got, &[1.5 + 2.5], 1e-6, 1e-6);
    err_with(losses::nll_loss(&lp, &ints(&[1], &[1])), &["targets shape"]);
}

#[test]
fn regression_losses_match_python() {
    let pred = &input(&[4, 3], 50) * 3.0;
    let target = &input(&[4, 3], 51) * 3.0;
    let vars = uniform(&[4, 3], 52, 0.0, 2.0);
    // One variance below eps, to check the clamp.
    let vars = ops::where_(
        &ops::less(&vars, &Array::scalar(0.2f32)).unwrap(),
        &Array::scalar(1e-9f32),
        &vars,
    )
    .unwrap();
    let ours: Vec<(&str, Array)> = [
        ("mse", losses::mse_loss(&pred, &target)),
        (
            "mse_none",
            MseLoss::default()
                .with_reduction(Reduction::None)
                .loss(&pred, &target),
        ),
        ("l1", losses::l1_loss(&pred, &target)),
        (
            "l1_sum",
            L1Loss::default()
                .with_reduction(Reduction::Sum)
                .loss(&pred, &target),
        ),
        ("smooth", losses::smooth_l1_loss(&pred, &target)),
        (
            "smooth_beta",
            SmoothL1Loss::default()
                .with_beta(0.5)
                .with_reduction(Reduction::None)
                .loss(&pred, &target),
        ),
        ("huber", losses::huber_loss(&pred, &target)),
        (
            "huber_delta",
            HuberLoss::default()
                .with_delta(2.0)
                .with_reduction(Reduction::Mean)
                .loss(&pred, &target),
        ),
        ("logcosh", losses::log_cosh_loss(&pred, &target)),
        (
            "logcosh_sum",
            LogCoshLoss::default()
                .with_reduction(Reduction::Sum)
                .loss(&pred, &target),
        ),
        ("gnll", losses::gaussian_nll_loss(&pred, &target, &vars)),
        (
            "gnll_full",
            GaussianNllLoss::default()
                .with_full(true)
                .with_reduction(Reduction::None)
                .loss(&pred, &target, &vars),
        ),
        (
            "gnll_eps_sum",
            GaussianNllLoss::default()
                .with_eps(0.1)
                .with_reduction(Reduction::Sum)
                .loss(&pred, &target, &vars),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.unwrap()))
    .collect();
    compare_with_python(
        &ours,
        "L = nn.losses\n\
         x, t, v = inp['pred'], inp['target'], inp['vars']\n\
         out['mse'] = L.mse_loss(x, t)\n\
         out['mse_none'] = L.mse_loss(x, t, reduction='none')\n\
         out['l1'] = L.l1_loss(x, t)\n\
         out['l1_sum'] = L.l1_loss(x, t, reduction='sum')\n\
         out['smooth'] = L.smooth_l1_loss(x, t)\n\
         out['smooth_beta'] = L.smooth_l1_loss(x, t, beta=0.5, reduction='none')\n\
         out['huber'] = L.huber_loss(x, t)\n\
         out['huber_delta'] = L.huber_loss(x, t, delta=2.0, reduction='mean')\n\
         out['logcosh'] = L.log_cosh_loss(x, t)\n\
         out['logcosh_sum'] = L.log_cosh_loss(x, t, reduction='sum')\n\
         out['gnll'] = L.gaussian_nll_loss(x, t, v)\n\
         out['gnll_full'] = L.gaussian_nll_loss(x, t, v, full=True, reduction='none')\n\
         out['gnll_eps_sum'] = L.gaussian_nll_loss(x, t, v, eps=0.1, reduction='sum')",
        &[("pred", &pred), ("target", &target), ("vars", &vars)],
        1e-5,
    );
}

#[test]
fn regression_losses_closed_forms_gradients_and_errors() {
    let p = floats(&[0.0, 1.0, -3.0], &[3]);
    let t = floats(&[0.5, 1.0, 0.0], &[3]);
    // Differences 0.5, 0, 3.
    assert_close(
        &losses::mse_loss(&p, &t).unwrap(),
        &[(0.25 + 9.0) / 3.0],
        1e-6,
        1e-6,
    );
    assert_close(&losses::l1_loss(&p, &t).unwrap(), &[3.5 / 3.0], 1e-6, 1e-6);
    // beta 1: 0.5 d² below 1, d - 0.5 above.
    assert_close(
        &SmoothL1Loss::default()
            .with_reduction(Reduction::None)
            .loss(&p, &t)
            .unwrap(),
        &[0.125, 0.0, 2.5],
        1e-6,
        1e-6,
    );
    // delta 2: 0.5 e² up to 2, 0.5·4 + 2 (e - 2) beyond.
    let huber = HuberLoss::default().with_delta(2.0).loss(&p, &t).unwrap();
    assert_close(&huber, &[0.125, 0.0, 2.0 + 2.0], 1e-6, 1e-6);
    let lc = losses::log_cosh_loss(&p, &t).unwrap();
    assert_close(
        &lc,
        &[0.5f64.cosh().ln(), 0.0, 3f64.cosh().ln()],
        1e-6,
        1e-6,
    );
    // Gaussian NLL: 0.5 (ln v + d² / v) (+ 0.5 ln 2π when full).
    let v = floats(&[0.25, 1.0, 4.0], &[3]);
    let base = [
        0.5 * (0.25f64.ln() + 0.25 / 0.25),
        0.0,
        0.5 * (4f64.ln() + 9.0 / 4.0),
    ];
    let c = 0.5 * (2.0 * std::f64::consts::PI).ln();
    let full = GaussianNllLoss::default()
        .with_full(true)
        .with_reduction(Reduction::None)
        .loss(&p, &t, &v)
        .unwrap();
    assert_close(&full, &base.map(|b| b + c), 1e-6, 1e-6);
    let mean = losses::gaussian_nll_loss(&p, &t, &v).unwrap();
    assert_close(&mean, &[base.iter().sum::<f64>() / 3.0], 1e-6, 1e-6);

    let a = sample(&[6], 60, -3.0, 3.0);
    let b = sample(&[6], 61, -3.0, 3.0);
    check_grad(
        |x| losses::mse_loss(&x[0], &b),
        std::slice::from_ref(&a),
        0,
        1e-4,
        1e-3,
    );
    check_grad(
        |x| {
            HuberLoss::default()
                .with_delta(0.7)
                .loss(&x[0], &b)?
                .sum(None, false)
        },
        std::slice::from_ref(&a),
        0,
        1e-4,
        1e-3,
    );
    check_grad(
        |x| losses::log_cosh_loss(&x[0], &b)?.sum(None, false),
        std::slice::from_ref(&a),
        0,
        1e-4,
        1e-3,
    );
    let vars = sample(&[6], 62, 0.5, 2.0);
    check_grad(
        |x| losses::gaussian_nll_loss(&b, &a, &x[0]),
        &[vars],
        0,
        1e-4,
        1e-3,
    );

    let short = floats(&[1.0], &[1]);
    err_with(
        losses::mse_loss(&p, &short),
        &["targets shape", "[mse_loss]"],
    );
    err_with(losses::l1_loss(&p, &short), &["targets shape"]);
    err_with(losses::huber_loss(&p, &short), &["targets shape"]);
    err_with(losses::log_cosh_loss(&p, &short), &["targets shape"]);
    err_with(losses::gaussian_nll_loss(&p, &t, &short), &["vars shape"]);
    err_with(
        SmoothL1Loss::default().with_beta(-1.0).loss(&p, &t),
        &["beta", "non-negative"],
    );
    err_with(
        HuberLoss::default().with_delta(-1.0).loss(&p, &t),
        &["delta"],
    );
}

#[test]
fn similarity_and_ranking_losses_match_python() {
    let x1 = input(&[4, 6], 70);
    let x2 = input(&[4, 6], 71);
    let x3 = input(&[4, 6], 72);
    let scores1 = input(&[5], 73);
    let scores2 = input(&[5], 74);
    let signs = floats(&[1.0, -1.0, -1.0, 1.0, 1.0], &[5]);
    let log_p = nn::log_softmax(&input(&[3, 5], 75), -1).unwrap();
    let log_q = nn::log_softmax(&(&input(&[3, 5], 76) * 2.0), -1).unwrap();
    let hinge_t = floats(&[1.0, -1.0, 1.0, -1.0, -1.0], &[5]);
    let ours: Vec<(&str, Array)> = [
        ("cos", losses::cosine_similarity_loss(&x1, &x2)),
        (
            "cos_axis0_mean",
            CosineSimilarityLoss::default()
                .with_axis(0)
                .with_eps(1e-3)
                .with_reduction(Reduction::Mean)
                .loss(&x1, &x2),
        ),
        ("triplet", losses::triplet_loss(&x1, &x2, &x3)),
        (
            "triplet_p1",
            TripletLoss::default()
                .with_p(1)
                .with_margin(0.5)
                .with_eps(1e-3)
                .with_reduction(Reduction::Sum)
                .loss(&x1, &x2, &x3),
        ),
        (
            "triplet_axis0_p3",
            TripletLoss::default()
                .with_axis(0)
                .with_p(3)
                .with_margin(2.0)
                .loss(&x1, &x2, &x3),
        ),
        (
            "triplet_swap",
            TripletLoss::default()
                .with_margin(0.3)
                .with_swap(true)
                .loss(&x1, &x2, &x3),
        ),
        ("hinge", losses::hinge_loss(&scores1, &hinge_t)),
        (
            "hinge_mean",
            HingeLoss::default()
                .with_reduction(Reduction::Mean)
                .loss(&(&scores1 * 3.0), &hinge_t),
        ),
        (
            "mrl",
            losses::margin_ranking_loss(&scores1, &scores2, &signs),
        ),
        (
            "mrl_margin",
            MarginRankingLoss::default()
                .with_margin(0.4)
                .with_reduction(Reduction::Sum)
                .loss(&scores1, &scores2, &signs),
        ),
        ("kl", losses::kl_div_loss(&log_p, &log_q)),
        (
            "kl_axis0_mean",
            KlDivLoss::default()
                .with_axis(0)
                .with_reduction(Reduction::Mean)
                .loss(&log_p, &log_q),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.unwrap()))
    .collect();
    assert_eq!(ours[0].1.shape(), &[4]);
    compare_with_python(
        &ours,
        "L = nn.losses\n\
         a, p, n = inp['x1'], inp['x2'], inp['x3']\n\
         s1, s2, y = inp['s1'], inp['s2'], inp['signs']\n\
         out['cos'] = L.cosine_similarity_loss(a, p)\n\
         out['cos_axis0_mean'] = L.cosine_similarity_loss(a, p, axis=0, eps=1e-3, reduction='mean')\n\
         out['triplet'] = L.triplet_loss(a, p, n)\n\
         out['triplet_p1'] = L.triplet_loss(a, p, n, p=1, margin=0.5, eps=1e-3, reduction='sum')\n\
         out['triplet_axis0_p3'] = L.triplet_loss(a, p, n, axis=0, p=3, margin=2.0)\n\
         # Python MLX has no swap: build it from its own distance formula.\n\
         d = lambda u, v: mx.power(mx.power(mx.abs(u - v), 2).sum(-1) + 1e-6, 0.5)\n\
         out['triplet_swap'] = mx.maximum(d(a, p) - mx.minimum(d(a, n), d(p, n)) + 0.3, 0)\n\
         out['hinge'] = L.hinge_loss(s1, inp['hinge_t'])\n\
         out['hinge_mean'] = L.hinge_loss(s1 * 3.0, inp['hinge_t'], reduction='mean')\n\
         out['mrl'] = L.margin_ranking_loss(s1, s2, y)\n\
         out['mrl_margin'] = L.margin_ranking_loss(s1, s2, y, margin=0.4, reduction='sum')\n\
         out['kl'] = L.kl_div_loss(inp['log_p'], inp['log_q'])\n\
         out['kl_axis0_mean'] = L.kl_div_loss(inp['log_p'], inp['log_q'], axis=0, reduction='mean')",
        &[
            ("x1", &x1),
            ("x2", &x2),
            ("x3", &x3),
            ("s1", &scores1),
            ("s2", &scores2),
            ("signs", &signs),
            ("hinge_t", &hinge_t),
            ("log_p", &log_p),
            ("log_q", &log_q),
        ],
        1e-5,
    );
}

#[test]
fn similarity_and_ranking_closed_forms_gradients_and_errors() {
    // Cosine: parallel rows 1, opposite -1, orthogonal 0 (axis 1 by default).
    let a = floats(&[1.0, 2.0, 1.0, 0.0, 3.0, 4.0], &[3, 2]);
    let b = floats(&[2.0, 4.0, -5.0, 0.0, -4.0, 3.0], &[3, 2]);
    let cos = losses::cosine_similarity_loss(&a, &b).unwrap();
    assert_close(&cos, &[1.0, -1.0, 0.0], 1e-6, 1e-6);
    // Triplet (p = 2, eps = 0 for exactness): d(a, p) = 5, d(a, n) = 1 → 5 - 1 + 1 = 5.
    let anc = floats(&[0.0, 0.0], &[1, 2]);
    let pos = floats(&[3.0, 4.0], &[1, 2]);
    let neg = floats(&[0.0, 1.0], &[1, 2]);
    let t = TripletLoss::default().with_eps(0.0);
    assert_close(&t.loss(&anc, &pos, &neg).unwrap(), &[5.0], 1e-6, 1e-6);
    let near_p = floats(&[3.0, 6.0], &[1, 2]); // d(a, n) = √45, d(p, n) = 2
    let plain = t.clone().loss(&anc, &pos, &near_p).unwrap();
    assert_close(
        &plain,
        &[(5.0 - 45f64.sqrt() + 1.0f64).max(0.0)],
        1e-6,
        1e-6,
    );
    let swapped = t.clone().with_swap(true).loss(&anc, &pos, &near_p).unwrap();
    assert_close(&swapped, &[5.0 - 2.0 + 1.0], 1e-6, 1e-6);
    // p = 1: Manhattan distances 7 and 1.
    let manhattan = t.clone().with_p(1).loss(&anc, &pos, &neg).unwrap();
    assert_close(&manhattan, &[7.0 - 1.0 + 1.0], 1e-6, 1e-6);
    // Hinge: max(1 - x t, 0).
    let x = floats(&[2.0, 0.5, -1.0], &[3]);
    let y = floats(&[1.0, 1.0, 1.0], &[3]);
    assert_close(
        &losses::hinge_loss(&x, &y).unwrap(),
        &[0.0, 0.5, 2.0],
        1e-6,
        1e-6,
    );
    // Margin ranking: max(0, -y (x1 - x2) + m).
    let x2 = floats(&[1.0, 1.0, 1.0], &[3]);
    let y = floats(&[1.0, -1.0, 1.0], &[3]);
    let mrl = MarginRankingLoss::default()
        .with_margin(0.5)
        .loss(&x, &x2, &y)
        .unwrap();
    assert_close(&mrl, &[0.0, 0.0, 2.5], 1e-6, 1e-6);
    // KL between identical distributions is 0; between (1/2, 1/2) and (1/4, 3/4) it is
    // 0.5 ln(0.5/0.25) + 0.5 ln(0.5/0.75).
    let p = floats(&[0.5f32.ln(), 0.5f32.ln()], &[1, 2]);
    let q = floats(&[0.25f32.ln(), 0.75f32.ln()], &[1, 2]);
    assert_close(&losses::kl_div_loss(&p, &p).unwrap(), &[0.0], 1e-6, 1e-6);
    let kl = losses::kl_div_loss(&q, &p).unwrap();
    assert_close(
        &kl,
        &[0.5 * 2f64.ln() + 0.5 * (2.0f64 / 3.0).ln()],
        1e-6,
        1e-6,
    );

    let u = sample(&[2, 3], 80, -1.0, 1.0);
    let v = sample(&[2, 3], 81, -1.0, 1.0);
    let w = sample(&[2, 3], 82, -1.0, 1.0);
    check_grad(
        |x| losses::cosine_similarity_loss(&x[0], &v)?.sum(None, false),
        std::slice::from_ref(&u),
        0,
        1e-4,
        1e-3,
    );
    check_grad(
        |x| {
            TripletLoss::default()
                .with_margin(3.0)
                .with_reduction(Reduction::Sum)
                .loss(&x[0], &v, &w)
        },
        std::slice::from_ref(&u),
        0,
        1e-4,
        1e-3,
    );
    check_grad(
        |x| losses::kl_div_loss(&x[0], &v)?.sum(None, false),
        std::slice::from_ref(&u),
        0,
        1e-4,
        1e-3,
    );

    let short = floats(&[1.0], &[1, 1]);
    err_with(
        losses::cosine_similarity_loss(&a, &short),
        &["x2 shape", "x1 shape"],
    );
    err_with(
        losses::triplet_loss(&anc, &pos, &short),
        &["negatives shape"],
    );
    err_with(
        TripletLoss::default().with_p(0).loss(&anc, &pos, &neg),
        &["p must"],
    );
    err_with(losses::hinge_loss(&x, &short), &["targets shape"]);
    err_with(
        losses::margin_ranking_loss(&x, &x2, &short),
        &["targets shape"],
    );
    err_with(losses::kl_div_loss(&p, &short), &["targets shape"]);
    err_with(
        CosineSimilarityLoss::default().with_axis(-3).loss(&a, &b),
        &["axis -3"],
    );
}

#[test]
fn reductions_reduce_over_every_element() {
    let loss = floats(&[1.0, 2.0, 3.0, 6.0], &[2, 2]);
    assert_close(
        &Reduction::Mean.reduce(loss.clone()).unwrap(),
        &[3.0],
        0.0,
        0.0,
    );
    assert_close(
        &Reduction::Sum.reduce(loss.clone()).unwrap(),
        &[12.0],
        0.0,
        0.0,
    );
    let same = Reduction::None.reduce(loss.clone()).unwrap();
    assert_eq!(same.shape(), &[2, 2]);
    assert_eq!(Reduction::Mean.name(), "mean");
    // Each loss's default reduction is Python MLX's.
    let x = floats(&[0.5, 2.0], &[2]);
    let t = floats(&[1.0, 1.0], &[2]);
    let scalar: &[i32] = &[];
    for (name, l) in [
        ("bce", losses::binary_cross_entropy(&x, &t)),
        ("mse", losses::mse_loss(&x, &t)),
        ("l1", losses::l1_loss(&x, &t)),
        ("smooth_l1", losses::smooth_l1_loss(&x, &t)),
        ("gnll", losses::gaussian_nll_loss(&x, &t, &t)),
    ] {
        assert_eq!(l.unwrap().shape(), scalar, "{name} reduces to the mean");
    }
    for (name, l) in [
        ("huber", losses::huber_loss(&x, &t)),
        ("log_cosh", losses::log_cosh_loss(&x, &t)),
        ("hinge", losses::hinge_loss(&x, &t)),
        ("mrl", losses::margin_ranking_loss(&x, &t, &t)),
    ] {
        assert_eq!(l.unwrap().shape(), &[2], "{name} is unreduced");
    }
    assert!(item(&losses::mse_loss(&x, &t).unwrap()) > 0.0);
}
