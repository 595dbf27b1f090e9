//! Sweeps: a float op over a list of shapes, broadcast pairs and layouts, at each precision,
//! forward and through autodiff.

use burn_backend::tensor::FloatTensor;
use burn_backend::{AutodiffBackend, Backend, Shape, TensorData, TensorMetadata};

use super::{
    Case, Cx, Gen, GradCase, LAYOUTS, Layout, Prec, Tol, check, check_grad, check_tol, rf,
};

/// Shapes every element-wise op is swept over: ranks 1 to 4, size-1 dims, odd sizes (vector
/// tails).
pub const SHAPES: &[&[usize]] = &[
    &[1],
    &[6],
    &[33],
    &[1, 1],
    &[3, 4],
    &[4, 1],
    &[5, 17],
    &[2, 3, 4],
    &[2, 1, 3],
    &[1, 2, 3, 2],
];

/// Shapes with an empty dimension.
pub const EMPTY_SHAPES: &[&[usize]] = &[&[0], &[3, 0], &[0, 2, 2]];

/// Operand shapes of binary ops: equal, broadcasting one side, both sides, size-1 everywhere.
pub const BROADCAST_PAIRS: &[(&[usize], &[usize])] = &[
    (&[7], &[7]),
    (&[1], &[5]),
    (&[3, 4], &[3, 4]),
    (&[3, 4], &[1, 4]),
    (&[3, 1], &[1, 4]),
    (&[4, 1], &[4, 3]),
    (&[2, 3, 4], &[2, 1, 4]),
    (&[1, 1, 1], &[2, 3, 4]),
    (&[2, 1, 5], &[1, 3, 1]),
    (&[2, 3, 1, 2], &[1, 3, 4, 2]),
];

/// The shape both operands of a broadcasting binary op produce.
pub fn broadcast_shape(a: &[usize], b: &[usize]) -> Vec<usize> {
    a.iter()
        .zip(b)
        .map(|(x, y)| if *x == 1 { *y } else { *x })
        .collect()
}

/// A float -> float op, generic over the backend; see [`float_fn!`].
pub trait FloatFn {
    fn apply<B: Backend>(&self, x: FloatTensor<B>) -> FloatTensor<B>;
}

/// A (float, float) -> float op; see [`float_fn2!`].
pub trait FloatFn2 {
    fn apply<B: Backend>(&self, a: FloatTensor<B>, b: FloatTensor<B>) -> FloatTensor<B>;
}

/// `float_fn!(captures; |B, x| body)`: a [`FloatFn`].
macro_rules! float_fn {
    (|$B:ident, $x:ident| $body:expr) => {
        float_fn!(; |$B, $x| $body)
    };
    ($($cap:ident : $ty:ty = $val:expr),* ; |$B:ident, $x:ident| $body:expr) => {{
        struct __Fn {
            $($cap: $ty),*
        }
        impl $crate::common::FloatFn for __Fn {
            #[allow(unused_variables, clippy::redundant_clone)]
            fn apply<$B: burn_backend::Backend>(&self, $x: burn_backend::tensor::FloatTensor<$B>) -> burn_backend::tensor::FloatTensor<$B> {
                $(let $cap: $ty = ::core::clone::Clone::clone(&self.$cap);)*
                $body
            }
        }
        __Fn { $($cap: $val),* }
    }};
}
pub(crate) use float_fn;

/// `float_fn2!(captures; |B, a, b| body)`: a [`FloatFn2`].
macro_rules! float_fn2 {
    (|$B:ident, $a:ident, $b:ident| $body:expr) => {
        float_fn2!(; |$B, $a, $b| $body)
    };
    ($($cap:ident : $ty:ty = $val:expr),* ; |$B:ident, $a:ident, $b:ident| $body:expr) => {{
        struct __Fn {
            $($cap: $ty),*
        }
        impl $crate::common::FloatFn2 for __Fn {
            #[allow(unused_variables, clippy::redundant_clone)]
            fn apply<$B: burn_backend::Backend>(
                &self,
                $a: burn_backend::tensor::FloatTensor<$B>,
                $b: burn_backend::tensor::FloatTensor<$B>,
            ) -> burn_backend::tensor::FloatTensor<$B> {
                $(let $cap: $ty = ::core::clone::Clone::clone(&self.$cap);)*
                $body
            }
        }
        __Fn { $($cap: $val),* }
    }};
}
pub(crate) use float_fn2;

struct Unary<'a, F> {
    f: &'a F,
    x: TensorData,
    layout: Layout,
}

impl<F: FloatFn> Case for Unary<'_, F> {
    fn run<B: Backend>(&self, cx: &Cx<B>) -> Vec<TensorData> {
        vec![rf::<B>(self.f.apply::<B>(cx.fl(&self.x, self.layout)))]
    }
}

impl<F: FloatFn> GradCase for Unary<'_, F> {
    fn run<B: AutodiffBackend>(&self, cx: &Cx<B>) -> Vec<TensorData> {
        let (leaf, view) = cx.fgl(&self.x, self.layout);
        let y = self.f.apply::<B>(view);
        let grads = cx.backward(y.clone(), 7);
        vec![rf::<B>(y), cx.grad_l(&leaf, &grads)]
    }
}

struct Binary<'a, F> {
    f: &'a F,
    a: TensorData,
    b: TensorData,
    layouts: (Layout, Layout),
}

/// The oracle broadcasts the operands explicitly first: ndarray's kernels for some element-wise
/// ops do not broadcast (the backend under test must, as Burn's tensor API relies on it).
fn oracle_broadcast<B: Backend>(
    cx: &Cx<B>,
    a: FloatTensor<B>,
    b: FloatTensor<B>,
) -> (FloatTensor<B>, FloatTensor<B>) {
    let (sa, sb) = (a.shape(), b.shape());
    if !cx.oracle || sa == sb {
        return (a, b);
    }
    let shape = Shape::from(broadcast_shape(sa.as_slice(), sb.as_slice()));
    (B::float_expand(a, shape.clone()), B::float_expand(b, shape))
}

impl<F: FloatFn2> Case for Binary<'_, F> {
    fn run<B: Backend>(&self, cx: &Cx<B>) -> Vec<TensorData> {
        let (a, b) = oracle_broadcast(
            cx,
            cx.fl(&self.a, self.layouts.0),
            cx.fl(&self.b, self.layouts.1),
        );
        vec![rf::<B>(self.f.apply::<B>(a, b))]
    }
}

impl<F: FloatFn2> GradCase for Binary<'_, F> {
    fn run<B: AutodiffBackend>(&self, cx: &Cx<B>) -> Vec<TensorData> {
        let (la, a) = cx.fgl(&self.a, self.layouts.0);
        let (lb, b) = cx.fgl(&self.b, self.layouts.1);
        let (a, b) = oracle_broadcast(cx, a, b);
        let y = self.f.apply::<B>(a, b);
        let grads = cx.backward(y.clone(), 11);
        vec![rf::<B>(y), cx.grad_l(&la, &grads), cx.grad_l(&lb, &grads)]
    }
}

/// Forward of a unary float op over [`SHAPES`] x [`LAYOUTS`] (plus [`EMPTY_SHAPES`]) at each
/// precision, inputs from `gen`.
pub fn sweep_unary<F: FloatFn>(label: &str, f: &F, generator: &Gen, precs: &[Prec]) {
    sweep_unary_tol(label, f, generator, precs, None)
}

/// [`sweep_unary`] with a tolerance for every precision (`None`: each precision's default).
pub fn sweep_unary_tol<F: FloatFn>(
    label: &str,
    f: &F,
    generator: &Gen,
    precs: &[Prec],
    tol: Option<Tol>,
) {
    for &prec in precs {
        for (i, shape) in SHAPES.iter().chain(EMPTY_SHAPES).enumerate() {
            for layout in LAYOUTS {
                let case = Unary {
                    f,
                    x: generator(shape, 100 + i as u64),
                    layout,
                };
                check_tol(
                    format!("{label} {shape:?} {layout:?}"),
                    prec,
                    tol.unwrap_or(prec.tol()),
                    &case,
                );
            }
        }
    }
}

/// Backward of a unary float op through autodiff over [`SHAPES`] (contiguous and transposed).
pub fn sweep_unary_grad<F: FloatFn>(label: &str, f: &F, generator: &Gen, precs: &[Prec]) {
    for &prec in precs {
        for (i, shape) in SHAPES.iter().enumerate() {
            for layout in [Layout::Contiguous, Layout::Transposed] {
                let case = Unary {
                    f,
                    x: generator(shape, 200 + i as u64),
                    layout,
                };
                check_grad(format!("{label} {shape:?} {layout:?}"), prec, &case);
            }
        }
    }
}

/// Forward of a binary float op over [`BROADCAST_PAIRS`] (both orders), each operand through
/// each layout in turn.
pub fn sweep_binary<F: FloatFn2>(label: &str, f: &F, gen_a: &Gen, gen_b: &Gen, precs: &[Prec]) {
    sweep_binary_tol(label, f, gen_a, gen_b, precs, None)
}

pub fn sweep_binary_tol<F: FloatFn2>(
    label: &str,
    f: &F,
    gen_a: &Gen,
    gen_b: &Gen,
    precs: &[Prec],
    tol: Option<Tol>,
) {
    for &prec in precs {
        for (i, (sa, sb)) in BROADCAST_PAIRS.iter().enumerate() {
            for (sa, sb) in [(sa, sb), (sb, sa)] {
                for (j, layout) in LAYOUTS.iter().enumerate() {
                    let other = LAYOUTS[(j + 2) % LAYOUTS.len()];
                    let seed = 300 + 10 * i as u64;
                    let case = Binary {
                        f,
                        a: gen_a(sa, seed),
                        b: gen_b(sb, seed + 1),
                        layouts: (*layout, other),
                    };
                    let label = format!("{label} {sa:?} x {sb:?} {layout:?}/{other:?}");
                    check_tol(label, prec, tol.unwrap_or(prec.tol()), &case);
                }
            }
        }
        // Empty operands.
        for (i, shape) in EMPTY_SHAPES.iter().enumerate() {
            let case = Binary {
                f,
                a: gen_a(shape, 400 + i as u64),
                b: gen_b(shape, 410 + i as u64),
                layouts: (Layout::Contiguous, Layout::Contiguous),
            };
            check(format!("{label} {shape:?} (empty)"), prec, &case);
        }
    }
}

/// Backward of a binary float op over [`BROADCAST_PAIRS`] (gradients reduced over broadcast dims).
pub fn sweep_binary_grad<F: FloatFn2>(
    label: &str,
    f: &F,
    gen_a: &Gen,
    gen_b: &Gen,
    precs: &[Prec],
) {
    for &prec in precs {
        for (i, (sa, sb)) in BROADCAST_PAIRS.iter().enumerate() {
            for (sa, sb) in [(sa, sb), (sb, sa)] {
                let seed = 500 + 10 * i as u64;
                let case = Binary {
                    f,
                    a: gen_a(sa, seed),
                    b: gen_b(sb, seed + 1),
                    layouts: (Layout::Contiguous, Layout::Transposed),
                };
                check_grad(format!("{label} {sa:?} x {sb:?}"), prec, &case);
            }
        }
    }
}
