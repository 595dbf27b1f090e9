//! CTC loss on Mlx (native alpha recursion, native beta-recursion backward) against
//! burn-ndarray (Burn's default, differentiated by autodiff), and against hand computations.

use crate::common;

use burn::tensor::activation::log_softmax;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::module::ctc_loss;
use burn::tensor::{DType, Int, Tensor, TensorData};
use common::*;

/// One CTC problem, as data.
struct Problem {
    logits: TensorData,
    targets: TensorData,
    input_lengths: TensorData,
    target_lengths: TensorData,
    blank: usize,
}

impl Problem {
    /// `targets[n]` padded with `pad` to the longest.
    fn new(
        steps: usize,
        classes: usize,
        targets: &[Vec<i64>],
        input_lengths: &[i64],
        blank: usize,
        seed: u64,
    ) -> Problem {
        let batch = targets.len();
        let max_len = targets.iter().map(Vec::len).max().unwrap_or(0);
        let padded: Vec<i64> = targets
            .iter()
            .flat_map(|t| {
                t.iter()
                    .copied()
                    .chain(std::iter::repeat_n(0, max_len - t.len()))
            })
            .collect();
        let logits = TensorData::new(
            values(&floats_unit([steps, batch, classes], seed))
                .iter()
                .map(|v| (2.0 * v) as f32)
                .collect::<Vec<_>>(),
            [steps, batch, classes],
        );
        Problem {
            logits,
            targets: TensorData::new(padded, [batch, max_len]),
            input_lengths: TensorData::new(input_lengths.to_vec(), [batch]),
            target_lengths: TensorData::new(
                targets.iter().map(|t| t.len() as i64).collect::<Vec<_>>(),
                [batch],
            ),
            blank,
        }
    }

    fn log_probs<B: Backend>(&self, device: &B::Device, dtype: DType) -> Tensor<B, 3> {
        log_softmax(
            Tensor::<B, 3>::from_data(self.logits.clone(), (device, dtype)),
            2,
        )
    }

    fn loss<B: Backend>(&self, log_probs: Tensor<B, 3>, int: DType) -> Tensor<B, 1> {
        let device = log_probs.device();
        let int_t = |d: &TensorData| Tensor::<B, 1, Int>::from_data(d.clone(), (&device, int));
        ctc_loss(
            log_probs,
            Tensor::<B, 2, Int>::from_data(self.targets.clone(), (&device, int)),
            int_t(&self.input_lengths),
            int_t(&self.target_lengths),
            self.blank,
        )
    }

    /// Loss, and the gradients of `sum(loss · w)` for the logits (through `log_softmax`) and
    /// for the log-probabilities directly.
    fn grads<B: AutodiffBackend>(
        &self,
        device: &B::Device,
    ) -> (TensorData, TensorData, TensorData) {
        self.grads_in::<B>(device, DType::F32)
    }

    fn grads_in<B: AutodiffBackend>(
        &self,
        device: &B::Device,
        dtype: DType,
    ) -> (TensorData, TensorData, TensorData) {
        let logits = Tensor::<B, 3>::from_data(self.logits.clone(), (device, dtype)).require_grad();
        let loss = self.loss(log_softmax(logits.clone(), 2), DType::I64);
        let w = Tensor::<B, 1>::from_data(self.weights(), (device, dtype));
        let g = (loss.clone() * w.clone()).sum().backward();
        let logits_grad = logits.grad(&g).expect("logits grad").into_data();

        let lp = self.log_probs::<B>(device, dtype).detach().require_grad();
        let loss2 = self.loss(lp.clone(), DType::I64);
        let g = (loss2 * w).sum().backward();
        (
            loss.into_data(),
            logits_grad,
            lp.grad(&g).expect("log_probs grad").into_data(),
        )
    }

    fn weights(&self) -> TensorData {
        let n = self.input_lengths.shape[0];
        TensorData::new(
            (0..n).map(|i| 0.5 + i as f32 * 0.75).collect::<Vec<_>>(),
            [n],
        )
    }
}

fn problems() -> Vec<(&'static str, Problem)> {
    vec![
        (
            "mixed lengths, repeats, empty target",
            Problem::new(
                8,
                5,
                &[vec![1, 2, 2], vec![3, 4], vec![], vec![1, 1, 1, 2]],
                &[8, 6, 5, 8],
                0,
                1,
            ),
        ),
        (
            "blank last",
            Problem::new(7, 4, &[vec![0, 1], vec![2, 2, 0]], &[7, 7], 3, 2),
        ),
        (
            "blank in the middle",
            Problem::new(6, 5, &[vec![1, 3], vec![4]], &[6, 3], 2, 3),
        ),
        (
            "one step",
            Problem::new(1, 3, &[vec![1], vec![]], &[1, 1], 0, 4),
        ),
        (
            "long input",
            Problem::new(
                300,
                6,
                &[vec![1, 2, 3, 3, 4, 5, 1, 1], vec![5; 20]],
                &[300, 250],
                0,
                5,
            ),
        ),
    ]
}

#[test]
fn loss_values_against_ndarray() {
    for (name, p) in problems() {
        for int in [DType::I32, DType::I64] {
            let actual = p.loss(p.log_probs::<M>(&mlx_device(), DType::F32), int);
            let expected = p.loss(p.log_probs::<Nd>(&Default::default(), DType::F32), int);
            assert_tensors_close(
                &format!("ctc loss: {name} {int:?}"),
                actual,
                expected,
                Tol::new(1e-5, 1e-4),
            );
        }
    }
}

#[test]
fn loss_by_hand() {
    // T = 2, classes {blank 0, a 1}, target "a": the paths a a, _ a, a _.
    let lp = [[0.2f64, 0.8], [0.6, 0.4]].map(|r| r.map(f64::ln));
    let data = TensorData::new(
        lp.iter().flatten().map(|v| *v as f32).collect::<Vec<_>>(),
        [2, 1, 2],
    );
    let log_probs = Tensor::<M, 3>::from_data(data, &mlx_device());
    let loss = ctc_loss(
        log_probs,
        Tensor::<M, 2, Int>::from_data([[1i32]], &mlx_device()),
        Tensor::<M, 1, Int>::from_data([2i32], &mlx_device()),
        Tensor::<M, 1, Int>::from_data([1i32], &mlx_device()),
        0,
    );
    let p: f64 = 0.8 * 0.4 + 0.2 * 0.4 + 0.8 * 0.6;
    assert_data_close(
        "hand loss",
        &loss.into_data(),
        &TensorData::new(vec![-p.ln()], [1]),
        Tol::new(1e-6, 1e-6),
    );

    // "aa" needs a blank between the two labels: impossible in 2 steps (+inf), possible in 3.
    let lp = floats_unit([3, 2, 3], 9);
    let lp = log_softmax(Tensor::<M, 3>::from_data(lp, &mlx_device()), 2);
    let loss = ctc_loss(
        lp.clone(),
        Tensor::<M, 2, Int>::from_data([[1i32, 1], [1, 1]], &mlx_device()),
        Tensor::<M, 1, Int>::from_data([2i32, 3], &mlx_device()),
        Tensor::<M, 1, Int>::from_data([2i32, 2], &mlx_device()),
        0,
    );
    let loss = values(&loss.into_data());
    assert_eq!(loss[0], f64::INFINITY);
    let lpv = values(&lp.into_data());
    let at = |t: usize, c: usize| lpv[t * 6 + 3 + c].exp();
    assert!(
        (loss[1] - -(at(0, 1) * at(1, 0) * at(2, 1)).ln()).abs() < 1e-5,
        "{loss:?}"
    );
}

#[test]
fn gradients_against_ndarray() {
    for (name, p) in problems() {
        let (loss, logits_grad, lp_grad) = p.grads::<AM>(&mlx_device());
        // Burn's default in float64: burn-ndarray's float32 run of it is itself off by up to
        // ~5e-5 on some inputs, and not the same from run to run (its multi-threaded
        // reductions), which would leave the comparison to chance.
        let (loss_e, logits_grad_e, lp_grad_e) = p.grads_in::<AN>(&Default::default(), DType::F64);
        assert_data_close(
            &format!("{name}: loss"),
            &loss,
            &loss_e,
            Tol::new(1e-5, 1e-4),
        );
        let atol = 1e-5;
        // Through log_softmax the two conventions agree.
        assert_data_close(
            &format!("{name}: logits gradient"),
            &logits_grad,
            &logits_grad_e,
            Tol::new(1e-4, atol),
        );
        // For log_probs themselves, Burn's native-backward convention (PyTorch's) adds
        // exp(log_probs) · g at every step within the input length.
        let shape = lp_grad_e.shape.to_vec();
        let (steps, batch, classes) = (shape[0], shape[1], shape[2]);
        let lp = values(
            &p.log_probs::<Nd>(&Default::default(), DType::F64)
                .into_data(),
        );
        let w = values(&p.weights());
        let lens = p
            .input_lengths
            .clone()
            .convert::<i64>()
            .to_vec::<i64>()
            .unwrap();
        let true_grad = values(&lp_grad_e);
        let expected: Vec<f64> = (0..steps * batch * classes)
            .map(|i| {
                let (t, n) = (i / (batch * classes), (i / classes) % batch);
                if (t as i64) < lens[n] {
                    true_grad[i] + lp[i].exp() * w[n]
                } else {
                    0.0
                }
            })
            .collect();
        assert_data_close(
            &format!("{name}: log_probs gradient"),
            &lp_grad,
            &TensorData::new(expected, shape),
            Tol::new(1e-4, atol),
        );
    }
}

#[test]
fn impossible_targets_have_zero_gradient() {
    // Sample 0 cannot be aligned (3 labels with a repeat in 3 steps); sample 1 can.
    let p = Problem::new(3, 4, &[vec![1, 2, 2], vec![3]], &[3, 3], 0, 6);
    let lp = p
        .log_probs::<AM>(&mlx_device(), DType::F32)
        .detach()
        .require_grad();
    let loss = p.loss(lp.clone(), DType::I32);
    let g = loss.clone().sum().backward();
    let loss = values(&loss.into_data());
    assert_eq!(loss[0], f64::INFINITY);
    assert!(loss[1].is_finite());
    let grad = values(&lp.grad(&g).unwrap().into_data());
    for t in 0..3 {
        assert!(
            grad[t * 8..t * 8 + 4].iter().all(|v| *v == 0.0),
            "sample 0, step {t}: {grad:?}"
        );
        assert!(
            grad[t * 8 + 4..t * 8 + 8].iter().any(|v| *v != 0.0),
            "sample 1, step {t}: {grad:?}"
        );
    }
}

#[test]
fn dtypes() {
    let (name, p) = problems().remove(0);
    // float64: the same log-probabilities (computed here) on both backends.
    let shape = p.logits.shape.to_vec();
    let classes = shape[2];
    let logits = values(&p.logits);
    let lp: Vec<f64> = logits
        .chunks(classes)
        .flat_map(|row| {
            let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let lse = m + row.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
            row.iter().map(move |v| v - lse).collect::<Vec<_>>()
        })
        .collect();
    let lp = TensorData::new(lp, shape.clone());
    let expected = p.loss(
        Tensor::<Nd, 3>::from_data(lp.clone(), (&Default::default(), DType::F64)),
        DType::I64,
    );
    let actual = p.loss(
        Tensor::<M, 3>::from_data(lp.clone(), (&mlx_device(), DType::F64)),
        DType::I64,
    );
    assert_eq!(actual.dtype(), DType::F64);
    assert_tensors_close(
        &format!("{name} f64"),
        actual,
        expected,
        Tol::new(1e-12, 1e-12),
    );
    // float64 gradients (Burn's native convention: + exp(log_probs) · g within the input length).
    fn lp_grad<B: AutodiffBackend>(p: &Problem, lp: &TensorData, device: &B::Device) -> TensorData {
        let x = Tensor::<B, 3>::from_data(lp.clone(), (device, DType::F64)).require_grad();
        let w = Tensor::<B, 1>::from_data(p.weights(), (device, DType::F64));
        let g = (p.loss(x.clone(), DType::I64) * w).sum().backward();
        x.grad(&g).expect("grad").into_data()
    }
    let actual = lp_grad::<AM>(&p, &lp, &mlx_device());
    let true_grad = values(&lp_grad::<AN>(&p, &lp, &Default::default()));
    let (lpv, w) = (values(&lp), values(&p.weights()));
    let lens = p
        .input_lengths
        .clone()
        .convert::<i64>()
        .to_vec::<i64>()
        .unwrap();
    let (batch, classes) = (shape[1], shape[2]);
    let expected: Vec<f64> = (0..true_grad.len())
        .map(|i| {
            let (t, n) = (i / (batch * classes), (i / classes) % batch);
            if (t as i64) < lens[n] {
                true_grad[i] + lpv[i].exp() * w[n]
            } else {
                0.0
            }
        })
        .collect();
    assert_data_close(
        &format!("{name} f64 gradient"),
        &actual,
        &TensorData::new(expected, shape.clone()),
        Tol::new(1e-10, 1e-12),
    );
    // Half precision: computed in float32 inside, returned in the input's dtype.
    let expected = p.loss(
        p.log_probs::<Nd>(&Default::default(), DType::F32),
        DType::I64,
    );
    for dtype in [DType::F16, DType::BF16] {
        let actual = p.loss(p.log_probs::<M>(&mlx_device(), dtype), DType::I32);
        assert_eq!(actual.dtype(), dtype);
        assert_tensors_close(
            &format!("{name} {dtype:?}"),
            actual,
            expected.clone(),
            Tol::new(0.02, 0.15),
        );
    }
}

#[test]
fn long_input_gradient_accuracy() {
    // Against Burn's default in float64: the rescaled recursions keep float32 close.
    let (_, p) = problems().remove(4);
    let (_, actual, _) = p.grads::<AM>(&mlx_device());
    let (_, truth, _) = p.grads_in::<AN>(&Default::default(), DType::F64);
    assert_data_close(
        "long input, float32 against float64",
        &actual,
        &truth,
        Tol::new(0.0, 1e-5),
    );
}
