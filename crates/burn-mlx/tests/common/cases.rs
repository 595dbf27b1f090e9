//! Cases: a computation written once, generic over the backend, run on MLX and on the oracle
//! with every output compared.

use std::fmt::Display;

use burn::tensor::Tensor;
use burn_backend::{AutodiffBackend, Backend, TensorData};

use super::{AM, AN, Cx, M, Nd, Prec, Tol, assert_outputs};

/// A computation written once for every backend; returns the values to compare.
pub trait Case {
    fn run<B: Backend>(&self, cx: &Cx<B>) -> Vec<TensorData>;
}

/// A computation through autodiff; returns values and gradients to compare.
pub trait GradCase {
    fn run<B: AutodiffBackend>(&self, cx: &Cx<B>) -> Vec<TensorData>;
}

/// What a case may return: data, tensors, and tuples or vectors of them.
pub trait Outputs {
    fn collect_into(self, out: &mut Vec<TensorData>);
}

impl Outputs for TensorData {
    fn collect_into(self, out: &mut Vec<TensorData>) {
        out.push(self);
    }
}

impl<T: Outputs> Outputs for Vec<T> {
    fn collect_into(self, out: &mut Vec<TensorData>) {
        for t in self {
            t.collect_into(out);
        }
    }
}

impl<B: Backend, const D: usize, K: burn_backend::tensor::BasicOps<B>> Outputs for Tensor<B, D, K>
where
    K::Elem: burn_backend::Element,
{
    fn collect_into(self, out: &mut Vec<TensorData>) {
        out.push(self.into_data());
    }
}

macro_rules! tuple_outputs {
    ($($t:ident),+) => {
        impl<$($t: Outputs),+> Outputs for ($($t,)+) {
            #[allow(non_snake_case)]
            fn collect_into(self, out: &mut Vec<TensorData>) {
                let ($($t,)+) = self;
                $($t.collect_into(out);)+
            }
        }
    };
}
tuple_outputs!(A);
tuple_outputs!(A, B2);
tuple_outputs!(A, B2, C);
tuple_outputs!(A, B2, C, D2);
tuple_outputs!(A, B2, C, D2, E);

/// Flattens a case's result.
pub fn outputs(o: impl Outputs) -> Vec<TensorData> {
    let mut out = vec![];
    o.collect_into(&mut out);
    out
}

/// A forward [`Case`]: `case!(name: Type = value, ...; |B, cx| body)`. The captures are cloned
/// into each run; the body is generic over the backend `B` and returns [`Outputs`].
macro_rules! case {
    (|$B:ident, $cx:ident| $body:expr) => {
        case!(; |$B, $cx| $body)
    };
    ($($cap:ident : $ty:ty = $val:expr),* ; |$B:ident, $cx:ident| $body:expr) => {{
        struct __Case {
            $($cap: $ty),*
        }
        impl $crate::common::Case for __Case {
            #[allow(unused_variables, clippy::redundant_clone)]
            fn run<$B: burn_backend::Backend>(&self, $cx: &$crate::common::Cx<$B>) -> Vec<burn_backend::TensorData> {
                $(let $cap: $ty = ::core::clone::Clone::clone(&self.$cap);)*
                $crate::common::outputs($body)
            }
        }
        __Case { $($cap: $val),* }
    }};
}
pub(crate) use case;

/// A [`GradCase`]: like [`case!`], with `B: AutodiffBackend`.
macro_rules! grad_case {
    (|$B:ident, $cx:ident| $body:expr) => {
        grad_case!(; |$B, $cx| $body)
    };
    ($($cap:ident : $ty:ty = $val:expr),* ; |$B:ident, $cx:ident| $body:expr) => {{
        struct __Case {
            $($cap: $ty),*
        }
        impl $crate::common::GradCase for __Case {
            #[allow(unused_variables, clippy::redundant_clone)]
            fn run<$B: burn_backend::AutodiffBackend>(&self, $cx: &$crate::common::Cx<$B>) -> Vec<burn_backend::TensorData> {
                $(let $cap: $ty = ::core::clone::Clone::clone(&self.$cap);)*
                $crate::common::outputs($body)
            }
        }
        __Case { $($cap: $val),* }
    }};
}
pub(crate) use grad_case;

/// Runs a case on MLX and on the oracle.
pub fn run_both<C: Case>(prec: Prec, case: &C) -> (Vec<TensorData>, Vec<TensorData>) {
    let mlx = case.run(&Cx::<M>::mlx(prec));
    let nd = case.run(&Cx::<Nd>::oracle(prec));
    (mlx, nd)
}

/// Runs a gradient case on `Autodiff<Mlx>` and `Autodiff<NdArray>`.
pub fn run_both_grad<C: GradCase>(prec: Prec, case: &C) -> (Vec<TensorData>, Vec<TensorData>) {
    let mlx = case.run(&Cx::<AM>::mlx(prec));
    let nd = case.run(&Cx::<AN>::oracle(prec));
    (mlx, nd)
}

/// Runs `case` on both backends at `prec` and compares every output within `prec`'s default
/// tolerance.
pub fn check<C: Case>(label: impl Display, prec: Prec, case: &C) {
    check_tol(label, prec, prec.tol(), case)
}

/// [`check`] with an explicit tolerance.
pub fn check_tol<C: Case>(label: impl Display, prec: Prec, tol: Tol, case: &C) {
    trace(&label, prec);
    let (got, want) = run_both(prec, case);
    assert_outputs(&format!("{label} [{prec:?}]"), prec, tol, &got, &want);
}

/// [`check`] at every precision of `precs`.
pub fn check_precs<C: Case>(label: impl Display, precs: &[Prec], case: &C) {
    for &p in precs {
        check(&label, p, case);
    }
}

/// With `BURN_MLX_TEST_TRACE=1`, names each case on stderr before it runs: where a case crashes
/// or hangs the process (a GPU kernel, say), the last name printed is the culprit.
fn trace(label: &dyn Display, prec: Prec) {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *ON.get_or_init(|| std::env::var("BURN_MLX_TEST_TRACE").is_ok_and(|v| v == "1")) {
        eprintln!("case: {label} [{prec:?}]");
    }
}

/// Runs a gradient case on both autodiff backends and compares values and gradients.
pub fn check_grad<C: GradCase>(label: impl Display, prec: Prec, case: &C) {
    check_grad_tol(label, prec, prec.tol().times(4.0), case)
}

/// [`check_grad`] with an explicit tolerance.
pub fn check_grad_tol<C: GradCase>(label: impl Display, prec: Prec, tol: Tol, case: &C) {
    trace(&label, prec);
    let (got, want) = run_both_grad(prec, case);
    assert_outputs(
        &format!("{label} [{prec:?}, autodiff]"),
        prec,
        tol,
        &got,
        &want,
    );
}

/// Runs a case on MLX only (for ops without an oracle: random sampling, device checks).
pub fn run_mlx<C: Case>(prec: Prec, case: &C) -> Vec<TensorData> {
    case.run(&Cx::<M>::mlx(prec))
}

/// Every reduction of `scatter_nd`, for the float and int tests.
pub const SCATTER_ND_REDUCTIONS: [burn_backend::tensor::IndexingUpdateOp; 5] = {
    use burn_backend::tensor::IndexingUpdateOp::*;
    [Assign, Add, Mul, Min, Max]
};

/// `gather_nd` / `scatter_nd` configurations: (data shape, index batch shape, K).
pub const ND_CONFIGS: &[(&[usize], &[usize], usize)] = &[
    (&[4, 3, 2], &[5], 1),
    (&[4, 3, 2], &[5], 2),
    (&[4, 3, 2], &[2, 3], 3),
    (&[6], &[4], 1),
    (&[3, 4], &[2, 2], 2),
];
