//! Differential tests of `IntTensorOps` on `Mlx` against `NdArray`: every method, over the int
//! dtypes (I64 to U8), broadcast operands, non-contiguous layouts and edge sizes.
//!
//! Value ranges are chosen per op and dtype so that no result overflows: Burn leaves integer
//! overflow undefined, and ndarray's checked conversions panic on it. Where ndarray gives no
//! usable answer (an unimplemented op, an unstable sort, a wrong output dtype), the expectation
//! is computed by hand on the host instead, and the reason is given at that place.

use crate::common;
use common::*;

/// Every int dtype Burn has.
const INT_DTYPES: [DType; 8] = [
    DType::I64,
    DType::I32,
    DType::I16,
    DType::I8,
    DType::U64,
    DType::U32,
    DType::U16,
    DType::U8,
];

/// The int dtype both backends default to (`Mlx<f32, i32>`, `NdArray<f32, i32>`): the dtype
/// of index outputs that take no dtype argument.
const IDX: DType = DType::I32;

// ---- inputs ----------------------------------------------------------------------------------

/// The values `dtype` can hold, inclusive.
fn range_of(dtype: DType) -> (i128, i128) {
    match dtype {
        DType::I64 => (i64::MIN as i128, i64::MAX as i128),
        DType::I32 => (i32::MIN as i128, i32::MAX as i128),
        DType::I16 => (i16::MIN as i128, i16::MAX as i128),
        DType::I8 => (i8::MIN as i128, i8::MAX as i128),
        DType::U64 => (0, u64::MAX as i128),
        DType::U32 => (0, u32::MAX as i128),
        DType::U16 => (0, u16::MAX as i128),
        DType::U8 => (0, u8::MAX as i128),
        d => panic!("not an int dtype: {d:?}"),
    }
}

/// The width of `dtype` in bits.
fn bits(dtype: DType) -> u32 {
    dtype.size() as u32 * 8
}

/// Data of `dtype` holding `values` (each must fit).
fn typed(values: &[i128], shape: &[usize], dtype: DType) -> TensorData {
    macro_rules! conv {
        ($t:ty) => {
            TensorData::new(
                values
                    .iter()
                    .map(|v| {
                        <$t>::try_from(*v).unwrap_or_else(|_| panic!("{v} overflows {dtype:?}"))
                    })
                    .collect::<Vec<$t>>(),
                shape.to_vec(),
            )
        };
    }
    match dtype {
        DType::I64 => conv!(i64),
        DType::I32 => conv!(i32),
        DType::I16 => conv!(i16),
        DType::I8 => conv!(i8),
        DType::U64 => conv!(u64),
        DType::U32 => conv!(u32),
        DType::U16 => conv!(u16),
        DType::U8 => conv!(u8),
        d => panic!("not an int dtype: {d:?}"),
    }
}

/// The values of int data, widened.
fn wide(data: &TensorData) -> Vec<i128> {
    match data.dtype {
        DType::U64 => data.iter::<u64>().map(i128::from).collect(),
        _ => data.iter::<i64>().map(i128::from).collect(),
    }
}

/// `n` integers uniform in `[lo, hi]` (inclusive, any width).
fn uniform(n: usize, seed: u64, lo: i128, hi: i128) -> Vec<i128> {
    let mut rng = Rng::new(seed);
    let span = (hi - lo + 1) as u128;
    (0..n)
        .map(|_| {
            let r = ((rng.next_u64() as u128) << 64) | rng.next_u64() as u128;
            lo + (r % span) as i128
        })
        .collect()
}

/// Integers uniform in `[lo, hi]` cut to what `dtype` holds (so `-50..=50` gives `0..=50` for
/// unsigned dtypes).
fn rand_in(shape: &[usize], seed: u64, dtype: DType, lo: i128, hi: i128) -> TensorData {
    let (min, max) = range_of(dtype);
    let v = uniform(shape.iter().product(), seed, lo.max(min), hi.min(max));
    typed(&v, shape, dtype)
}

/// Integers over the whole range of `dtype`.
fn full_range(shape: &[usize], seed: u64, dtype: DType) -> TensorData {
    let (lo, hi) = range_of(dtype);
    rand_in(shape, seed, dtype, lo, hi)
}

/// Non-zero integers with `1 <= |v| <= max`, either sign for signed dtypes (divisors).
fn nonzero(shape: &[usize], seed: u64, dtype: DType, max: i128) -> TensorData {
    let mut rng = Rng::new(seed ^ 0xD1D);
    let v: Vec<i128> = uniform(shape.iter().product(), seed, 1, max)
        .into_iter()
        .map(|m| {
            if dtype.is_int() && rng.next_u64() & 1 == 1 {
                -m
            } else {
                m
            }
        })
        .collect();
    typed(&v, shape, dtype)
}

/// Integers picked from `choices` (ties, products that stay small).
fn pick(shape: &[usize], seed: u64, dtype: DType, choices: &[i128]) -> TensorData {
    let idx = uniform(shape.iter().product(), seed, 0, choices.len() as i128 - 1);
    let v: Vec<i128> = idx.iter().map(|i| choices[*i as usize]).collect();
    typed(&v, shape, dtype)
}

/// Signed choices, or their non-negative part for unsigned dtypes.
fn choices_for(dtype: DType, signed: &[i128]) -> Vec<i128> {
    if dtype.is_int() {
        signed.to_vec()
    } else {
        signed.iter().copied().filter(|v| *v >= 0).collect()
    }
}

/// Both operands expanded to their broadcast shape on the oracle: some of ndarray's int kernels
/// (remainder, powi, shifts) do not broadcast both operands, while the backend under test must
/// broadcast itself, as Burn's tensor API relies on it.
fn oracle_expand<B: Backend>(
    cx: &Cx<B>,
    a: IntTensor<B>,
    b: IntTensor<B>,
) -> (IntTensor<B>, IntTensor<B>) {
    let (sa, sb) = (a.shape(), b.shape());
    if !cx.oracle || sa == sb {
        return (a, b);
    }
    let shape = Shape::from(broadcast_shape(sa.as_slice(), sb.as_slice()));
    (B::int_expand(a, shape.clone()), B::int_expand(b, shape))
}

/// Runs a case on MLX only and compares with expectations computed by hand (exact).
fn expect<C: Case>(label: &str, case: &C, want: &[TensorData]) {
    let got = run_mlx(Prec::F32, case);
    assert_outputs(label, Prec::F32, Tol::EXACT, &got, want);
}

/// Every layout for the default dtype; for the others one layout per shape, rotating, so that
/// each dtype still meets every layout without multiplying the case count.
fn layouts_for(dtype: DType, i: usize) -> Vec<Layout> {
    if dtype == IDX {
        LAYOUTS.to_vec()
    } else {
        vec![LAYOUTS[i % LAYOUTS.len()]]
    }
}

fn s(start: isize, end: Option<isize>, step: isize) -> Slice {
    Slice::new(start, end, step)
}

fn shape(dims: &[usize]) -> Shape {
    Shape::from(dims.to_vec())
}

// ---- element-wise binary ops -----------------------------------------------------------------

/// A binary int op by name, on either backend.
fn binary_op<B: Backend>(op: &str, a: IntTensor<B>, b: IntTensor<B>) -> TensorData {
    match op {
        "add" => ri::<B>(B::int_add(a, b)),
        "sub" => ri::<B>(B::int_sub(a, b)),
        "mul" => ri::<B>(B::int_mul(a, b)),
        "div" => ri::<B>(B::int_div(a, b)),
        "remainder" => ri::<B>(B::int_remainder(a, b)),
        "powi" => ri::<B>(B::int_powi(a, b)),
        "and" => ri::<B>(B::bitwise_and(a, b)),
        "or" => ri::<B>(B::bitwise_or(a, b)),
        "xor" => ri::<B>(B::bitwise_xor(a, b)),
        "shl" => ri::<B>(B::bitwise_left_shift(a, b)),
        "shr" => ri::<B>(B::bitwise_right_shift(a, b)),
        "equal" => rb::<B>(B::int_equal(a, b, BOOL_OUT)),
        "not_equal" => rb::<B>(B::int_not_equal(a, b, BOOL_OUT)),
        "greater" => rb::<B>(B::int_greater(a, b, BOOL_OUT)),
        "greater_equal" => rb::<B>(B::int_greater_equal(a, b, BOOL_OUT)),
        "lower" => rb::<B>(B::int_lower(a, b, BOOL_OUT)),
        "lower_equal" => rb::<B>(B::int_lower_equal(a, b, BOOL_OUT)),
        op => panic!("unknown op {op}"),
    }
}

/// A tensor-scalar int op by name, on either backend.
fn scalar_op<B: Backend>(op: &str, a: IntTensor<B>, v: Scalar) -> TensorData {
    match op {
        "add" => ri::<B>(B::int_add_scalar(a, v)),
        "sub" => ri::<B>(B::int_sub_scalar(a, v)),
        "mul" => ri::<B>(B::int_mul_scalar(a, v)),
        "div" => ri::<B>(B::int_div_scalar(a, v)),
        "remainder" => ri::<B>(B::int_remainder_scalar(a, v)),
        "powi" => ri::<B>(B::int_powi_scalar(a, v)),
        "powi_impl" => ri::<B>(B::int_powi_scalar_impl(a, v)),
        "and" => ri::<B>(B::bitwise_and_scalar(a, v)),
        "or" => ri::<B>(B::bitwise_or_scalar(a, v)),
        "xor" => ri::<B>(B::bitwise_xor_scalar(a, v)),
        "shl" => ri::<B>(B::bitwise_left_shift_scalar(a, v)),
        "shr" => ri::<B>(B::bitwise_right_shift_scalar(a, v)),
        "clamp_min" => ri::<B>(B::int_clamp_min(a, v)),
        "clamp_max" => ri::<B>(B::int_clamp_max(a, v)),
        "equal" => rb::<B>(B::int_equal_elem(a, v, BOOL_OUT)),
        "not_equal" => rb::<B>(B::int_not_equal_elem(a, v, BOOL_OUT)),
        "greater" => rb::<B>(B::int_greater_elem(a, v, BOOL_OUT)),
        "greater_equal" => rb::<B>(B::int_greater_equal_elem(a, v, BOOL_OUT)),
        "lower" => rb::<B>(B::int_lower_elem(a, v, BOOL_OUT)),
        "lower_equal" => rb::<B>(B::int_lower_equal_elem(a, v, BOOL_OUT)),
        op => panic!("unknown op {op}"),
    }
}

/// Operand generator of a binary sweep: shape, seed, dtype.
type IntGen = fn(&[usize], u64, DType) -> TensorData;

/// A binary op over [`BROADCAST_PAIRS`] (both orders) and [`EMPTY_SHAPES`], for each dtype,
/// each operand through a layout (see [`layouts_for`]).
fn sweep_binary(op: &'static str, ga: IntGen, gb: IntGen, dtypes: &[DType]) {
    for (di, &dtype) in dtypes.iter().enumerate() {
        for (i, (sa, sb)) in BROADCAST_PAIRS.iter().enumerate() {
            for (k, (sa, sb)) in [(sa, sb), (sb, sa)].into_iter().enumerate() {
                for la in layouts_for(dtype, 2 * i + k + di) {
                    let lb = LAYOUTS[(LAYOUTS.iter().position(|l| *l == la).unwrap() + 2) % 5];
                    let seed = 1000 * di as u64 + 10 * i as u64 + k as u64;
                    let case = case!(op: &'static str = op, a: TensorData = ga(sa, seed, dtype), b: TensorData = gb(sb, seed + 5, dtype), la: Layout = la, lb: Layout = lb; |B, cx| {
                        let (a, b) = oracle_expand(cx, cx.il(&a, la), cx.il(&b, lb));
                        binary_op::<B>(op, a, b)
                    });
                    check(
                        format!("{op} {dtype:?} {sa:?} x {sb:?} {la:?}/{lb:?}"),
                        Prec::F32,
                        &case,
                    );
                }
            }
        }
        for (i, sh) in EMPTY_SHAPES.iter().enumerate() {
            let case = case!(op: &'static str = op, a: TensorData = ga(sh, 90 + i as u64, dtype), b: TensorData = gb(sh, 95 + i as u64, dtype); |B, cx| {
                binary_op::<B>(op, cx.i(&a), cx.i(&b))
            });
            check(format!("{op} {dtype:?} {sh:?} (empty)"), Prec::F32, &case);
        }
    }
}

/// A tensor-scalar op over [`SHAPES`] and [`EMPTY_SHAPES`] for each dtype, with the scalar
/// `v(dtype)`.
fn sweep_scalar(op: &'static str, g: IntGen, v: fn(DType) -> Scalar, dtypes: &[DType]) {
    for (di, &dtype) in dtypes.iter().enumerate() {
        for (i, sh) in SHAPES.iter().chain(EMPTY_SHAPES).enumerate() {
            for layout in layouts_for(dtype, i + di) {
                let seed = 2000 + 100 * di as u64 + i as u64;
                let case = case!(op: &'static str = op, x: TensorData = g(sh, seed, dtype), v: Scalar = v(dtype), layout: Layout = layout; |B, cx| {
                    scalar_op::<B>(op, cx.il(&x, layout), v)
                });
                check(
                    format!("{op}_scalar {dtype:?} {sh:?} {layout:?} {:?}", v(dtype)),
                    Prec::F32,
                    &case,
                );
            }
        }
    }
}

// Operand generators, each safe from overflow in every dtype for its op.

/// `|a| <= 60`: sums and differences stay within i8 (unsigned: `0..=120`, sums within u8).
fn small_add(sh: &[usize], seed: u64, d: DType) -> TensorData {
    if d.is_int() {
        rand_in(sh, seed, d, -60, 60)
    } else {
        rand_in(sh, seed, d, 0, 120)
    }
}

/// Minuends of unsigned subtraction lie above every subtrahend (`small_add`'s unsigned range),
/// so nothing goes below zero.
fn minuend(sh: &[usize], seed: u64, d: DType) -> TensorData {
    if d.is_int() {
        rand_in(sh, seed, d, -60, 60)
    } else {
        rand_in(sh, seed, d, 120, 250)
    }
}

/// `|a| <= 11`: products stay within i8 (unsigned `0..=15`: within u8).
fn small_mul(sh: &[usize], seed: u64, d: DType) -> TensorData {
    if d.is_int() {
        rand_in(sh, seed, d, -11, 11)
    } else {
        rand_in(sh, seed, d, 0, 15)
    }
}

/// Dividends over most of the i8 / u8 range.
fn dividend(sh: &[usize], seed: u64, d: DType) -> TensorData {
    rand_in(sh, seed, d, -127, 250)
}

/// Divisors `1 <= |b| <= 12`.
fn divisor(sh: &[usize], seed: u64, d: DType) -> TensorData {
    nonzero(sh, seed, d, 12)
}

/// Bases of powers, `-3..=3` (unsigned `0..=5`).
fn base(sh: &[usize], seed: u64, d: DType) -> TensorData {
    if d.is_int() {
        rand_in(sh, seed, d, -3, 3)
    } else {
        rand_in(sh, seed, d, 0, 5)
    }
}

/// Exponents `0..=3`: at most 5^3 = 125.
fn exponent(sh: &[usize], seed: u64, d: DType) -> TensorData {
    rand_in(sh, seed, d, 0, 3)
}

fn any_value(sh: &[usize], seed: u64, d: DType) -> TensorData {
    full_range(sh, seed, d)
}

/// Few distinct values, so that comparisons meet many ties.
fn tied(sh: &[usize], seed: u64, d: DType) -> TensorData {
    rand_in(sh, seed, d, -2, 3)
}

/// Values whose left shift by up to 3 stays in range (`|a| <= 8`, unsigned `0..=15`).
fn shiftable(sh: &[usize], seed: u64, d: DType) -> TensorData {
    if d.is_int() {
        rand_in(sh, seed, d, -8, 7)
    } else {
        rand_in(sh, seed, d, 0, 15)
    }
}

fn small_shift(sh: &[usize], seed: u64, d: DType) -> TensorData {
    rand_in(sh, seed, d, 0, 3)
}

/// Values over the whole range, except the upper half of u64: ndarray's bitwise kernels (but
/// for its SIMD paths) compute in i64 and panic on converting such values. The upper half is
/// checked by hand in [`bitwise_u64_high_bits`].
fn bit_value(sh: &[usize], seed: u64, d: DType) -> TensorData {
    if d == DType::U64 {
        rand_in(sh, seed, d, 0, i64::MAX as i128)
    } else {
        full_range(sh, seed, d)
    }
}

/// Shift amounts below the width of the dtype (wider shifts are undefined).
fn any_shift(sh: &[usize], seed: u64, d: DType) -> TensorData {
    rand_in(sh, seed, d, 0, bits(d) as i128 - 1)
}

#[test]
fn binary_arithmetic() {
    sweep_binary("add", small_add, small_add, &INT_DTYPES);
    sweep_binary("sub", minuend, small_add, &INT_DTYPES);
    sweep_binary("mul", small_mul, small_mul, &INT_DTYPES);
    sweep_binary("div", dividend, divisor, &INT_DTYPES);
    sweep_binary("remainder", dividend, divisor, &INT_DTYPES);
    sweep_binary("powi", base, exponent, &INT_DTYPES);
}

#[test]
fn binary_arithmetic_wide_values() {
    // Values only the wider dtypes hold: sums near the limits, products of 31-bit halves.
    for dtype in [DType::I64, DType::U64, DType::I32, DType::U32] {
        let (lo, hi) = range_of(dtype);
        let (half_lo, half_hi) = (lo / 2, hi / 2);
        let a = rand_in(&[4, 9], 1, dtype, half_lo, half_hi);
        let b = rand_in(&[4, 9], 2, dtype, half_lo, half_hi);
        let root = 1i128 << (bits(dtype) / 2 - 2);
        let (ma, mb) = (
            rand_in(&[4, 9], 3, dtype, -root, root),
            rand_in(&[4, 9], 4, dtype, -root, root),
        );
        let d = nonzero(&[4, 9], 5, dtype, 1 << 20);
        let case = case!(a: TensorData = a.clone(), b: TensorData = b, ma: TensorData = ma, mb: TensorData = mb, d: TensorData = d.clone(); |B, cx| {
            vec![
                ri::<B>(B::int_add(cx.i(&a), cx.i(&b))),
                ri::<B>(B::int_mul(cx.i(&ma), cx.i(&mb))),
                ri::<B>(B::int_div(cx.i(&a), cx.i(&d))),
                ri::<B>(B::int_div_scalar(cx.i(&a), Scalar::Int(1_000_003))),
                ri::<B>(B::int_remainder_scalar(cx.i(&a), Scalar::Int(1_000_003))),
                ri::<B>(B::int_add_scalar(cx.i(&a), Scalar::Int(7))),
                ri::<B>(B::int_mul_scalar(cx.i(&ma), Scalar::Int(3))),
            ]
        });
        check(format!("wide arithmetic {dtype:?}"), Prec::F32, &case);
        // ndarray computes the tensor remainder through f64 (`a - b * floor(a / b)`), which is
        // inexact beyond 2^53: the floored remainder is computed exactly on the host instead.
        let want: Vec<i128> = wide(&a)
            .iter()
            .zip(wide(&d))
            .map(|(x, v)| ((x % v) + v) % v)
            .collect();
        expect(
            &format!("wide remainder {dtype:?}"),
            &case!(a: TensorData = a.clone(), d: TensorData = d.clone(); |B, cx| ri::<B>(B::int_remainder(cx.i(&a), cx.i(&d)))),
            &[typed(&want, &[4, 9], dtype)],
        );
    }
}

#[test]
fn division_and_remainder_signs() {
    // Division truncates towards zero (ndarray: Rust's `/`); the remainder takes the sign of
    // the divisor (ndarray: `a - b * floor(a / b)`), as for floats. Checked against the oracle
    // and against the values by hand.
    let a: Vec<i128> = vec![7, -7, 7, -7, 6, -6, 0, 1, -1, 13, -13];
    let b: Vec<i128> = vec![2, 2, -2, -2, 3, -3, 5, -5, 5, 4, 4];
    let div: Vec<i128> = vec![3, -3, -3, 3, 2, 2, 0, 0, 0, 3, -3];
    let rem: Vec<i128> = vec![1, 1, -1, -1, 0, 0, 0, -4, 4, 1, 3];
    for dtype in [DType::I64, DType::I32, DType::I16, DType::I8] {
        let n = [a.len()];
        let (ta, tb) = (typed(&a, &n, dtype), typed(&b, &n, dtype));
        let case = case!(a: TensorData = ta, b: TensorData = tb; |B, cx| vec![
            ri::<B>(B::int_div(cx.i(&a), cx.i(&b))),
            ri::<B>(B::int_remainder(cx.i(&a), cx.i(&b))),
        ]);
        check(format!("div/remainder signs {dtype:?}"), Prec::F32, &case);
        expect(
            &format!("div/remainder signs by hand {dtype:?}"),
            &case,
            &[typed(&div, &n, dtype), typed(&rem, &n, dtype)],
        );
        // The same with a scalar divisor of each sign.
        for v in [3i64, -3] {
            let case = case!(a: TensorData = typed(&a, &n, dtype), v: i64 = v; |B, cx| vec![
                ri::<B>(B::int_div_scalar(cx.i(&a), Scalar::Int(v))),
                ri::<B>(B::int_remainder_scalar(cx.i(&a), Scalar::Int(v))),
            ]);
            check(
                format!("div/remainder scalar {v} signs {dtype:?}"),
                Prec::F32,
                &case,
            );
            let v = v as i128;
            let want_div: Vec<i128> = a.iter().map(|x| x / v).collect();
            // Floored modulo: the sign of the divisor.
            let want_rem: Vec<i128> = a.iter().map(|x| ((x % v) + v) % v).collect();
            expect(
                &format!("div/remainder scalar {v} by hand {dtype:?}"),
                &case,
                &[typed(&want_div, &n, dtype), typed(&want_rem, &n, dtype)],
            );
        }
    }
}

#[test]
fn scalar_arithmetic() {
    sweep_scalar("add", small_add, |_| Scalar::Int(57), &INT_DTYPES);
    sweep_scalar("add", small_add, |_| Scalar::UInt(9), &INT_DTYPES);
    sweep_scalar("sub", minuend, |_| Scalar::Int(57), &INT_DTYPES);
    sweep_scalar(
        "mul",
        small_mul,
        |_| Scalar::Int(-9),
        &[DType::I64, DType::I32, DType::I16, DType::I8],
    );
    sweep_scalar("mul", small_mul, |_| Scalar::Int(11), &INT_DTYPES);
    sweep_scalar("div", dividend, |_| Scalar::Int(7), &INT_DTYPES);
    sweep_scalar(
        "div",
        dividend,
        |_| Scalar::Int(-4),
        &[DType::I64, DType::I32, DType::I16, DType::I8],
    );
    sweep_scalar("remainder", dividend, |_| Scalar::Int(7), &INT_DTYPES);
    sweep_scalar(
        "remainder",
        dividend,
        |_| Scalar::Int(-4),
        &[DType::I64, DType::I32, DType::I16, DType::I8],
    );
    // A float scalar takes the tensor's int type (truncated), in both backends.
    sweep_scalar(
        "mul",
        small_mul,
        |_| Scalar::Float(3.0),
        &[DType::I32, DType::U8],
    );
}

#[test]
fn scalar_arithmetic_wide_scalars() {
    // Scalars beyond f64's 53-bit mantissa must reach the tensor's type exactly.
    let big = (1i64 << 60) + 3;
    for (dtype, v) in [
        (DType::I64, Scalar::Int(big)),
        (DType::I64, Scalar::UInt(big as u64)),
        (DType::U64, Scalar::UInt(big as u64)),
        (DType::U64, Scalar::Int(big)),
    ] {
        let x = rand_in(&[3, 5], 1, dtype, -1000, 1000);
        let case = case!(x: TensorData = x, v: Scalar = v; |B, cx| vec![
            ri::<B>(B::int_add_scalar(cx.i(&x), v)),
            ri::<B>(B::int_sub_scalar(B::int_add_scalar(cx.i(&x), v), v)),
            ri::<B>(B::bitwise_xor_scalar(cx.i(&x), v)),
            rb::<B>(B::int_equal_elem(B::int_add_scalar(cx.i(&x), v), v, BOOL_OUT)),
        ]);
        check(format!("wide scalar {dtype:?} {v:?}"), Prec::F32, &case);
    }
    // A u64 scalar above i64::MAX on a u64 tensor.
    const TOP: u64 = u64::MAX - 5;
    let x = typed(&[0, 1, 2, 5, 3], &[5], DType::U64);
    let case = case!(x: TensorData = x; |B, cx| vec![
        ri::<B>(B::int_add_scalar(cx.i(&x), Scalar::UInt(TOP))),
        rb::<B>(B::int_lower_elem(cx.i(&x), Scalar::UInt(TOP), BOOL_OUT)),
    ]);
    check("u64 scalar above i64::MAX", Prec::F32, &case);
}

#[test]
fn powers() {
    sweep_scalar("powi", base, |_| Scalar::Int(3), &INT_DTYPES);
    // 0, 1 and 2 take Burn's shortcuts in the default `int_powi_scalar`.
    for e in 0..=2 {
        let v = Scalar::Int(e);
        for dtype in INT_DTYPES {
            let x = base(&[4, 5], 7 + e as u64, dtype);
            let case = case!(x: TensorData = x, v: Scalar = v; |B, cx| vec![
                ri::<B>(B::int_powi_scalar(cx.il(&x, Layout::Transposed), v)),
                ri::<B>(B::int_powi_scalar_impl(cx.il(&x, Layout::Reversed), v)),
            ]);
            check(format!("powi_scalar {e} {dtype:?}"), Prec::F32, &case);
        }
    }
    sweep_scalar("powi_impl", base, |_| Scalar::Int(3), &INT_DTYPES);
    // Negative exponents: Burn's default goes through floats and truncates, so 1 / x^n is 0
    // for |x| >= 2 and ±1 for x = ±1 (ndarray's tensor power cannot take them: by hand).
    for dtype in [DType::I64, DType::I32, DType::I16, DType::I8] {
        let x = typed(&[-3, -2, -1, 1, 2, 3, 1, -1], &[2, 4], dtype);
        for e in [-1i64, -2, -3] {
            let want: Vec<i128> = wide(&x)
                .iter()
                .map(|b| {
                    if b.abs() == 1 {
                        b.pow(e.unsigned_abs() as u32)
                    } else {
                        0
                    }
                })
                .collect();
            let exps = typed(&[e as i128; 8], &[2, 4], dtype);
            let case = case!(x: TensorData = x.clone(), exps: TensorData = exps, e: i64 = e; |B, cx| vec![
                ri::<B>(B::int_powi_scalar(cx.i(&x), Scalar::Int(e))),
                ri::<B>(B::int_powi_scalar_impl(cx.il(&x, Layout::Transposed), Scalar::Int(e))),
                ri::<B>(B::int_powi(cx.i(&x), cx.i(&exps))),
            ]);
            let want = typed(&want, &[2, 4], dtype);
            expect(
                &format!("powi negative exponent {e} {dtype:?}"),
                &case,
                &[want.clone(), want.clone(), want],
            );
        }
    }
    // Larger powers in the wide dtypes.
    for dtype in [DType::I64, DType::I32, DType::U32, DType::U64] {
        let (x, e) = (
            rand_in(&[6, 7], 3, dtype, -40, 40),
            rand_in(&[6, 7], 4, dtype, 0, 5),
        );
        let case = case!(x: TensorData = x.clone(), e: TensorData = e.clone(); |B, cx| vec![
            ri::<B>(B::int_powi(cx.i(&x), cx.i(&e))),
        ]);
        check(format!("powi wide {dtype:?}"), Prec::F32, &case);
        // ndarray's scalar power goes through f32 (`f32::powi`), which rounds results above
        // 2^24: the exact powers are computed on the host.
        let case = case!(x: TensorData = x.clone(); |B, cx| vec![
            ri::<B>(B::int_powi_scalar(cx.i(&x), Scalar::Int(5))),
            ri::<B>(B::int_powi_scalar_impl(cx.i(&x), Scalar::Int(4))),
        ]);
        let pow = |k: u32| -> TensorData {
            let v: Vec<i128> = wide(&x).iter().map(|b| b.pow(k)).collect();
            typed(&v, &[6, 7], dtype)
        };
        expect(
            &format!("powi_scalar wide {dtype:?}"),
            &case,
            &[pow(5), pow(4)],
        );
    }
}

#[test]
fn unary_neg_abs_sign() {
    for (di, dtype) in INT_DTYPES.into_iter().enumerate() {
        for (i, sh) in SHAPES.iter().chain(EMPTY_SHAPES).enumerate() {
            for layout in layouts_for(dtype, i + di) {
                // Avoid the minimum of signed types: its negation and absolute value overflow.
                let (lo, hi) = range_of(dtype);
                let x = rand_in(sh, 3000 + i as u64, dtype, lo + 1, hi);
                let case = case!(x: TensorData = x.clone(), layout: Layout = layout; |B, cx| {
                    let x = cx.il(&x, layout);
                    vec![ri::<B>(B::int_abs(x.clone())), ri::<B>(B::int_max_abs(x))]
                });
                let label = format!("abs {dtype:?} {sh:?} {layout:?}");
                if sh.iter().product::<usize>() == 0 {
                    // max_abs of nothing is undefined (ndarray panics): abs alone.
                    check(
                        &label,
                        Prec::F32,
                        &case!(x: TensorData = x.clone(), layout: Layout = layout; |B, cx| ri::<B>(B::int_abs(cx.il(&x, layout)))),
                    );
                } else {
                    check(&label, Prec::F32, &case);
                }
                if dtype.is_int() {
                    let case = case!(x: TensorData = x.clone(), layout: Layout = layout; |B, cx| vec![
                        ri::<B>(B::int_neg(cx.il(&x, layout))),
                        ri::<B>(B::int_sign(cx.il(&x, layout))),
                    ]);
                    check(
                        format!("neg/sign {dtype:?} {sh:?} {layout:?}"),
                        Prec::F32,
                        &case,
                    );
                } else {
                    // ndarray's int_sign returns a bool tensor for unsigned dtypes; Burn's
                    // contract is a tensor of x's dtype: 1 where x > 0, else 0.
                    let want: Vec<i128> = wide(&x).iter().map(|v| (*v > 0) as i128).collect();
                    expect(
                        &format!("sign {dtype:?} {sh:?} {layout:?}"),
                        &case!(x: TensorData = x.clone(), layout: Layout = layout; |B, cx| ri::<B>(B::int_sign(cx.il(&x, layout)))),
                        &[typed(&want, sh, dtype)],
                    );
                }
            }
        }
    }
    // Zeros and small values of both signs, by hand.
    let x = typed(&[-3, 0, 5, -1, 1, 0], &[6], DType::I32);
    expect(
        "neg/abs/sign by hand",
        &case!(x: TensorData = x; |B, cx| vec![
            ri::<B>(B::int_neg(cx.i(&x))),
            ri::<B>(B::int_abs(cx.i(&x))),
            ri::<B>(B::int_sign(cx.i(&x))),
        ]),
        &[
            typed(&[3, 0, -5, 1, -1, 0], &[6], DType::I32),
            typed(&[3, 0, 5, 1, 1, 0], &[6], DType::I32),
            typed(&[-1, 0, 1, -1, 1, 0], &[6], DType::I32),
        ],
    );
}

#[test]
fn clamping() {
    sweep_scalar("clamp_min", tied, |_| Scalar::Int(1), &INT_DTYPES);
    sweep_scalar("clamp_max", tied, |_| Scalar::Int(1), &INT_DTYPES);
    sweep_scalar(
        "clamp_min",
        any_value,
        |d| Scalar::Int(if d.is_int() { -100 } else { 100 }),
        &INT_DTYPES,
    );
    sweep_scalar("clamp_max", any_value, |_| Scalar::Int(100), &INT_DTYPES);
    for (di, dtype) in INT_DTYPES.into_iter().enumerate() {
        for (i, sh) in SHAPES.iter().chain(EMPTY_SHAPES).enumerate() {
            for layout in layouts_for(dtype, i + di) {
                let x = rand_in(sh, 3100 + i as u64, dtype, -10, 20);
                let (lo, hi) = if dtype.is_int() { (-4, 6) } else { (3, 12) };
                let case = case!(x: TensorData = x, layout: Layout = layout, lo: i64 = lo, hi: i64 = hi; |B, cx| {
                    ri::<B>(B::int_clamp(cx.il(&x, layout), Scalar::Int(lo), Scalar::Int(hi)))
                });
                check(
                    format!("clamp {dtype:?} {sh:?} {layout:?}"),
                    Prec::F32,
                    &case,
                );
            }
        }
    }
    // Bounds at the limits of the dtype leave the values as they are.
    for dtype in INT_DTYPES {
        let (lo, hi) = range_of(dtype);
        let x = full_range(&[40], 5, dtype);
        let to_scalar = |v: i128| {
            if v > i64::MAX as i128 {
                Scalar::UInt(v as u64)
            } else {
                Scalar::Int(v as i64)
            }
        };
        let case = case!(x: TensorData = x.clone(), lo: Scalar = to_scalar(lo), hi: Scalar = to_scalar(hi); |B, cx| vec![
            ri::<B>(B::int_clamp(cx.i(&x), lo, hi)),
            ri::<B>(B::int_clamp_min(cx.i(&x), lo)),
            ri::<B>(B::int_clamp_max(cx.i(&x), hi)),
        ]);
        expect(
            &format!("clamp at the limits {dtype:?}"),
            &case,
            &[x.clone(), x.clone(), x],
        );
    }
}

// ---- comparisons -------------------------------------------------------------------------------

const COMPARISONS: [&str; 6] = [
    "equal",
    "not_equal",
    "greater",
    "greater_equal",
    "lower",
    "lower_equal",
];

#[test]
fn comparisons() {
    for op in COMPARISONS {
        // Ties (few distinct values), then values over the whole range.
        sweep_binary(op, tied, tied, &INT_DTYPES);
        sweep_binary(
            op,
            any_value,
            any_value,
            &[DType::I64, DType::U64, DType::I8, DType::U8],
        );
        sweep_scalar(op, tied, |_| Scalar::Int(1), &INT_DTYPES);
        sweep_scalar(
            op,
            any_value,
            |d| Scalar::Int(if d.is_int() { -7 } else { 1 << 6 }),
            &INT_DTYPES,
        );
    }
}

// ---- bitwise -----------------------------------------------------------------------------------

#[test]
fn bitwise() {
    for op in ["and", "or", "xor"] {
        sweep_binary(op, bit_value, bit_value, &INT_DTYPES);
        sweep_scalar(op, bit_value, |_| Scalar::Int(0x5A), &INT_DTYPES);
        sweep_scalar(
            op,
            bit_value,
            |d| Scalar::Int(if d.is_int() { -0x3C } else { 0x3C }),
            &INT_DTYPES,
        );
    }
    sweep_binary("shl", shiftable, small_shift, &INT_DTYPES);
    sweep_binary("shr", bit_value, any_shift, &INT_DTYPES);
    sweep_scalar("shl", shiftable, |_| Scalar::Int(3), &INT_DTYPES);
    sweep_scalar("shr", bit_value, |_| Scalar::Int(3), &INT_DTYPES);
    sweep_scalar(
        "shr",
        bit_value,
        |d| Scalar::Int(bits(d) as i64 - 1),
        &INT_DTYPES,
    );
    for (di, dtype) in INT_DTYPES.into_iter().enumerate() {
        for (i, sh) in SHAPES.iter().chain(EMPTY_SHAPES).enumerate() {
            for layout in layouts_for(dtype, i + di) {
                let x = full_range(sh, 3200 + i as u64, dtype);
                let case = case!(x: TensorData = x.clone(), layout: Layout = layout; |B, cx| ri::<B>(B::bitwise_not(cx.il(&x, layout))));
                let label = format!("bitwise_not {dtype:?} {sh:?} {layout:?}");
                if dtype.is_int() {
                    check(label, Prec::F32, &case);
                } else {
                    // ndarray's fallback computes `!x` in i64 and panics converting the negative
                    // result back to an unsigned type: by hand, `!x = MAX - x`.
                    let max = range_of(dtype).1;
                    let want: Vec<i128> = wide(&x).iter().map(|v| max - v).collect();
                    expect(&label, &case, &[typed(&want, sh, dtype)]);
                }
            }
        }
    }
    // Wider shifts that stay in range in the wide dtypes; and a one shifted into the sign bit
    // of an i64 (two's complement, as ndarray computes in i64).
    for dtype in [DType::I64, DType::I32, DType::U32] {
        let half = bits(dtype) as i128 / 2 - 1;
        let x = rand_in(&[5, 8], 1, dtype, -(1 << half), 1 << half);
        let sh = rand_in(&[5, 8], 2, dtype, 0, half);
        let case = case!(x: TensorData = x, sh: TensorData = sh; |B, cx| vec![
            ri::<B>(B::bitwise_left_shift(cx.i(&x), cx.i(&sh))),
            ri::<B>(B::bitwise_right_shift(cx.i(&x), cx.i(&sh))),
        ]);
        check(format!("wide shifts {dtype:?}"), Prec::F32, &case);
    }
    let x = typed(&[1, 1, -1, 3], &[4], DType::I64);
    let n = typed(&[63, 62, 63, 61], &[4], DType::I64);
    let case = case!(x: TensorData = x, n: TensorData = n; |B, cx| vec![
        ri::<B>(B::bitwise_left_shift(cx.i(&x), cx.i(&n))),
        ri::<B>(B::bitwise_right_shift(B::bitwise_left_shift(cx.i(&x), cx.i(&n)), cx.i(&n))),
    ]);
    check("shifts into the sign bit", Prec::F32, &case);
    expect(
        "shifts into the sign bit by hand",
        &case,
        &[
            typed(
                &[i64::MIN as i128, 1 << 62, i64::MIN as i128, 3 << 61],
                &[4],
                DType::I64,
            ),
            typed(&[-1, 1, -1, 3], &[4], DType::I64),
        ],
    );
}

#[test]
fn bitwise_u64_high_bits() {
    // Values with the top bit set, which ndarray's i64 fallback cannot take: by hand.
    let a: Vec<i128> = uniform(24, 1, 1 << 63, u64::MAX as i128);
    let b: Vec<i128> = uniform(24, 2, 0, u64::MAX as i128);
    let (ta, tb) = (
        typed(&a, &[4, 6], DType::U64),
        typed(&b, &[4, 6], DType::U64),
    );
    const M: u64 = 0xF0F0_0000_FFFF_0001;
    let case = case!(a: TensorData = ta, b: TensorData = tb; |B, cx| vec![
        ri::<B>(B::bitwise_and(cx.il(&a, Layout::Transposed), cx.i(&b))),
        ri::<B>(B::bitwise_or(cx.i(&a), cx.il(&b, Layout::Reversed))),
        ri::<B>(B::bitwise_xor(cx.i(&a), cx.i(&b))),
        ri::<B>(B::bitwise_not(cx.il(&a, Layout::Stepped))),
        ri::<B>(B::bitwise_and_scalar(cx.i(&a), Scalar::UInt(M))),
        ri::<B>(B::bitwise_or_scalar(cx.i(&a), Scalar::UInt(M))),
        ri::<B>(B::bitwise_xor_scalar(cx.i(&a), Scalar::UInt(M))),
        ri::<B>(B::bitwise_right_shift_scalar(cx.i(&a), Scalar::Int(60))),
        // Below 2^60, so that the shift by 4 reaches the top bit without overflowing.
        ri::<B>(B::bitwise_left_shift_scalar(B::bitwise_right_shift_scalar(cx.i(&b), Scalar::Int(4)), Scalar::Int(4))),
    ]);
    let (ua, ub): (Vec<u64>, Vec<u64>) = (
        a.iter().map(|v| *v as u64).collect(),
        b.iter().map(|v| *v as u64).collect(),
    );
    let out = |f: &dyn Fn(u64, u64) -> u64| {
        TensorData::new(
            ua.iter()
                .zip(&ub)
                .map(|(x, y)| f(*x, *y))
                .collect::<Vec<u64>>(),
            [4, 6],
        )
    };
    expect(
        "u64 high bits",
        &case,
        &[
            out(&|x, y| x & y),
            out(&|x, y| x | y),
            out(&|x, y| x ^ y),
            out(&|x, _| !x),
            out(&|x, _| x & M),
            out(&|x, _| x | M),
            out(&|x, _| x ^ M),
            out(&|x, _| x >> 60),
            out(&|_, y| (y >> 4) << 4),
        ],
    );
}

// ---- reductions --------------------------------------------------------------------------------

/// Values whose products stay in range for `dtype`, however they are grouped: mostly ±1 and
/// zeros, with at most `limit` entries of magnitude 2 in the whole tensor.
fn prod_safe(sh: &[usize], seed: u64, dtype: DType) -> TensorData {
    let limit = bits(dtype) as usize - 2;
    let choices = choices_for(dtype, &[-1, 1, 2, -2, 1, -1, 0, 1, 2]);
    let mut twos = 0;
    let v: Vec<i128> = wide(&pick(sh, seed, DType::I64, &choices))
        .into_iter()
        .map(|v| {
            if v.abs() == 2 {
                twos += 1;
                if twos > limit {
                    return v.signum();
                }
            }
            v
        })
        .collect();
    typed(&v, sh, dtype)
}

/// Values whose sum (of all of them, so of any part too) stays within the dtype: at most
/// `max / n` in magnitude, and at most 9.
fn sum_safe(sh: &[usize], seed: u64, dtype: DType) -> TensorData {
    let n = sh.iter().product::<usize>().max(1) as i128;
    let m = (range_of(dtype).1 / n).clamp(1, 9);
    rand_in(sh, seed, dtype, -m, m)
}

/// Every dim of `sh`.
fn dims(sh: &[usize]) -> std::ops::Range<usize> {
    0..sh.len()
}

#[test]
fn sum_prod_mean() {
    for (di, dtype) in INT_DTYPES.into_iter().enumerate() {
        for (i, sh) in SHAPES.iter().chain(EMPTY_SHAPES).enumerate() {
            let empty = sh.iter().product::<usize>() == 0;
            for layout in layouts_for(dtype, i + di) {
                let seed = 4000 + 10 * i as u64 + di as u64;
                let (x, p) = (sum_safe(sh, seed, dtype), prod_safe(sh, seed + 1, dtype));
                let case = case!(x: TensorData = x.clone(), p: TensorData = p, layout: Layout = layout; |B, cx| {
                    let (x, p) = (cx.il(&x, layout), cx.il(&p, layout));
                    let mut out = vec![ri::<B>(B::int_sum(x.clone())), ri::<B>(B::int_prod(p.clone()))];
                    for d in 0..x.shape().num_dims() {
                        out.push(ri::<B>(B::int_sum_dim(x.clone(), d)));
                        out.push(ri::<B>(B::int_prod_dim(p.clone(), d)));
                    }
                    out
                });
                check(
                    format!("sum/prod {dtype:?} {sh:?} {layout:?}"),
                    Prec::F32,
                    &case,
                );
                // The mean of nothing divides by zero (ndarray panics): no empty tensors.
                if !empty {
                    // Negative sums check that the integer mean truncates towards zero.
                    let m = sum_safe(sh, seed + 2, dtype);
                    let case = case!(m: TensorData = m, layout: Layout = layout; |B, cx| {
                        let m = cx.il(&m, layout);
                        let mut out = vec![ri::<B>(B::int_mean(m.clone()))];
                        for d in 0..m.shape().num_dims() {
                            out.push(ri::<B>(B::int_mean_dim(m.clone(), d)));
                        }
                        out
                    });
                    check(
                        format!("mean {dtype:?} {sh:?} {layout:?}"),
                        Prec::F32,
                        &case,
                    );
                }
            }
        }
    }
    // Sums and products of nothing, by hand: 0 and 1.
    for dtype in INT_DTYPES {
        let x = typed(&[], &[3, 0], dtype);
        expect(
            &format!("empty sum/prod {dtype:?}"),
            &case!(x: TensorData = x; |B, cx| vec![
                ri::<B>(B::int_sum(cx.i(&x))),
                ri::<B>(B::int_prod(cx.i(&x))),
                ri::<B>(B::int_sum_dim(cx.i(&x), 1)),
                ri::<B>(B::int_prod_dim(cx.i(&x), 1)),
            ]),
            &[
                typed(&[0], &[1], dtype),
                typed(&[1], &[1], dtype),
                typed(&[0, 0, 0], &[3, 1], dtype),
                typed(&[1, 1, 1], &[3, 1], dtype),
            ],
        );
    }
    // Means of negative values truncate towards zero: -7 / 2 = -3, 5 / 2 = 2, -2 / 4 = 0.
    let x = typed(&[-4, -3, 2, 3], &[2, 2], DType::I32);
    expect(
        "mean truncates by hand",
        &case!(x: TensorData = x; |B, cx| vec![
            ri::<B>(B::int_mean_dim(cx.i(&x), 1)),
            ri::<B>(B::int_mean(cx.i(&x))),
        ]),
        &[
            typed(&[-3, 2], &[2, 1], DType::I32),
            typed(&[0], &[1], DType::I32),
        ],
    );
    // Large sums in the wide dtypes.
    for dtype in [DType::I64, DType::U64, DType::I32, DType::U32] {
        let (lo, hi) = range_of(dtype);
        let x = rand_in(&[7, 9], 3, dtype, lo / 64, hi / 64);
        let case = case!(x: TensorData = x; |B, cx| vec![
            ri::<B>(B::int_sum(cx.i(&x))),
            ri::<B>(B::int_sum_dim(cx.i(&x), 0)),
            ri::<B>(B::int_sum_dim(cx.il(&x, Layout::Transposed), 1)),
            ri::<B>(B::int_mean_dim(cx.i(&x), 1)),
        ]);
        check(format!("wide sums {dtype:?}"), Prec::F32, &case);
    }
}

#[test]
fn max_min_and_arg_extremes() {
    for (di, dtype) in INT_DTYPES.into_iter().enumerate() {
        for (i, sh) in SHAPES.iter().enumerate() {
            for layout in layouts_for(dtype, i + di) {
                let seed = 4100 + 10 * i as u64 + di as u64;
                // Ties: the first index wins, in both backends. Over the whole range: the
                // extremes of the dtype (but the minimum of signed types, whose absolute value
                // overflows in max_abs).
                let (lo, hi) = range_of(dtype);
                for (what, x) in [
                    ("tied", tied(sh, seed, dtype)),
                    ("wide", rand_in(sh, seed, dtype, lo + 1, hi)),
                ] {
                    let case = case!(x: TensorData = x, layout: Layout = layout; |B, cx| {
                        let x = cx.il(&x, layout);
                        let mut out = vec![
                            ri::<B>(B::int_max(x.clone())),
                            ri::<B>(B::int_min(x.clone())),
                            ri::<B>(B::int_max_abs(x.clone())),
                        ];
                        for d in 0..x.shape().num_dims() {
                            let (mv, mi) = B::int_max_dim_with_indices(x.clone(), d);
                            let (nv, ni) = B::int_min_dim_with_indices(x.clone(), d);
                            out.extend([
                                ri::<B>(B::int_max_dim(x.clone(), d)),
                                ri::<B>(B::int_min_dim(x.clone(), d)),
                                ri::<B>(B::int_max_abs_dim(x.clone(), d)),
                                ri::<B>(B::int_argmax(x.clone(), d)),
                                ri::<B>(B::int_argmin(x.clone(), d)),
                                ri::<B>(mv),
                                ri::<B>(mi),
                                ri::<B>(nv),
                                ri::<B>(ni),
                            ]);
                        }
                        out
                    });
                    check(
                        format!("max/min {what} {dtype:?} {sh:?} {layout:?}"),
                        Prec::F32,
                        &case,
                    );
                }
            }
        }
    }
    // By hand: ties go to the first index, and indices come in the default int dtype whatever
    // the input's dtype.
    for dtype in [DType::I64, DType::U8, DType::I16] {
        let x = typed(&[1, 3, 3, 0, 0, 2, 3, 0], &[2, 4], dtype);
        expect(
            &format!("arg extremes by hand {dtype:?}"),
            &case!(x: TensorData = x; |B, cx| vec![
                ri::<B>(B::int_argmax(cx.i(&x), 1)),
                ri::<B>(B::int_argmin(cx.i(&x), 1)),
                ri::<B>(B::int_argmax(cx.i(&x), 0)),
                ri::<B>(B::int_max_dim_with_indices(cx.i(&x), 1).1),
                ri::<B>(B::int_min_dim_with_indices(cx.i(&x), 0).1),
            ]),
            &[
                typed(&[1, 2], &[2, 1], IDX),
                typed(&[3, 0], &[2, 1], IDX),
                typed(&[0, 0, 0, 0], &[1, 4], IDX),
                typed(&[1, 2], &[2, 1], IDX),
                typed(&[1, 1, 0, 0], &[1, 4], IDX),
            ],
        );
    }
    // Large values that differ in their lowest bits only (beyond f32 and f64 precision):
    // extremes, their indices, sorting and scans must stay exact.
    for dtype in [DType::I64, DType::U64] {
        let base = 1i128 << 62;
        let x = rand_in(&[5, 6], 11, dtype, base - 4, base + 4);
        let case = case!(x: TensorData = x; |B, cx| {
            let x = cx.il(&x, Layout::Transposed);
            vec![
                ri::<B>(B::int_max(x.clone())),
                ri::<B>(B::int_min_dim(x.clone(), 1)),
                ri::<B>(B::int_argmax(x.clone(), 0)),
                ri::<B>(B::int_argmin(x.clone(), 1)),
                ri::<B>(B::int_max_abs_dim(x.clone(), 0)),
                ri::<B>(B::int_sort(x.clone(), 1, false)),
                ri::<B>(B::int_topk(x.clone(), 1, 2)),
                ri::<B>(B::int_cummax(x.clone(), 1)),
                ri::<B>(B::int_cummin(x.clone(), 0)),
                ri::<B>(B::int_clamp(x.clone(), Scalar::Int((1 << 62) - 1), Scalar::Int((1 << 62) + 2))),
                rb::<B>(B::int_greater_elem(x.clone(), Scalar::Int(1 << 62), BOOL_OUT)),
                rb::<B>(B::int_equal(x.clone(), B::int_flip(x, &[0]), BOOL_OUT)),
            ]
        });
        check(format!("close large values {dtype:?}"), Prec::F32, &case);
    }
    // The signed minimum as an extreme (max_abs left out: |MIN| overflows).
    for dtype in [DType::I64, DType::I32, DType::I16, DType::I8] {
        let (lo, hi) = range_of(dtype);
        let x = typed(&[0, lo, hi, -1, lo, hi], &[2, 3], dtype);
        let case = case!(x: TensorData = x; |B, cx| vec![
            ri::<B>(B::int_max(cx.i(&x))),
            ri::<B>(B::int_min(cx.i(&x))),
            ri::<B>(B::int_argmax(cx.i(&x), 1)),
            ri::<B>(B::int_argmin(cx.i(&x), 0)),
        ]);
        check(
            format!("extremes at the limits {dtype:?}"),
            Prec::F32,
            &case,
        );
    }
}

#[test]
fn any_all() {
    for (di, dtype) in INT_DTYPES.into_iter().enumerate() {
        for (i, sh) in SHAPES.iter().chain(EMPTY_SHAPES).enumerate() {
            for layout in layouts_for(dtype, i + di) {
                let seed = 4200 + 10 * i as u64 + di as u64;
                // Mostly zeros; mostly non-zero; all non-zero (all -> true).
                for (what, x) in [
                    (
                        "sparse",
                        pick(sh, seed, dtype, &choices_for(dtype, &[0, 0, 0, 5, -1])),
                    ),
                    (
                        "dense",
                        pick(sh, seed, dtype, &choices_for(dtype, &[0, 1, 7, -3, 2, 9])),
                    ),
                    ("nonzero", nonzero(sh, seed, dtype, 100)),
                    ("zeros", typed(&vec![0; sh.iter().product()], sh, dtype)),
                ] {
                    let case = case!(x: TensorData = x, layout: Layout = layout; |B, cx| {
                        let x = cx.il(&x, layout);
                        let mut out = vec![
                            rb::<B>(B::int_any(x.clone(), BOOL_OUT)),
                            rb::<B>(B::int_all(x.clone(), BOOL_OUT)),
                        ];
                        for d in 0..x.shape().num_dims() {
                            out.push(rb::<B>(B::int_any_dim(x.clone(), d, BOOL_OUT)));
                            out.push(rb::<B>(B::int_all_dim(x.clone(), d, BOOL_OUT)));
                        }
                        out
                    });
                    check(
                        format!("any/all {what} {dtype:?} {sh:?} {layout:?}"),
                        Prec::F32,
                        &case,
                    );
                }
            }
        }
    }
    // Of nothing: any is false, all is true.
    let x = typed(&[], &[0, 3], DType::I32);
    expect(
        "any/all of nothing",
        &case!(x: TensorData = x; |B, cx| vec![
            rb::<B>(B::int_any(cx.i(&x), BOOL_OUT)),
            rb::<B>(B::int_all(cx.i(&x), BOOL_OUT)),
            rb::<B>(B::int_any_dim(cx.i(&x), 0, BOOL_OUT)),
            rb::<B>(B::int_all_dim(cx.i(&x), 0, BOOL_OUT)),
        ]),
        &[
            TensorData::new(vec![false], [1]),
            TensorData::new(vec![true], [1]),
            TensorData::new(vec![false; 3], [1, 3]),
            TensorData::new(vec![true; 3], [1, 3]),
        ],
    );
}

// ---- cumulative --------------------------------------------------------------------------------

#[test]
fn cumulative() {
    for (di, dtype) in INT_DTYPES.into_iter().enumerate() {
        for (i, sh) in SHAPES.iter().chain(EMPTY_SHAPES).enumerate() {
            for layout in layouts_for(dtype, i + di) {
                let seed = 4300 + 10 * i as u64 + di as u64;
                let (x, p, w) = (
                    sum_safe(sh, seed, dtype),
                    prod_safe(sh, seed + 1, dtype),
                    full_range(sh, seed + 2, dtype),
                );
                let case = case!(x: TensorData = x, p: TensorData = p, w: TensorData = w, layout: Layout = layout; |B, cx| {
                    let (x, p, w) = (cx.il(&x, layout), cx.il(&p, layout), cx.il(&w, layout));
                    let mut out = vec![];
                    for d in 0..x.shape().num_dims() {
                        out.extend([
                            ri::<B>(B::int_cumsum(x.clone(), d)),
                            ri::<B>(B::int_cumprod(p.clone(), d)),
                            ri::<B>(B::int_cummin(w.clone(), d)),
                            ri::<B>(B::int_cummax(w.clone(), d)),
                        ]);
                    }
                    out
                });
                check(
                    format!("cumulative {dtype:?} {sh:?} {layout:?}"),
                    Prec::F32,
                    &case,
                );
            }
        }
    }
    let x = typed(&[3, -1, 4, -1, 5, -9], &[2, 3], DType::I32);
    expect(
        "cumulative by hand",
        &case!(x: TensorData = x; |B, cx| vec![
            ri::<B>(B::int_cumsum(cx.i(&x), 1)),
            ri::<B>(B::int_cumprod(cx.i(&x), 0)),
            ri::<B>(B::int_cummin(cx.i(&x), 1)),
            ri::<B>(B::int_cummax(cx.i(&x), 0)),
        ]),
        &[
            typed(&[3, 2, 6, -1, 4, -5], &[2, 3], DType::I32),
            typed(&[3, -1, 4, -3, -5, -36], &[2, 3], DType::I32),
            typed(&[3, -1, -1, -1, -1, -9], &[2, 3], DType::I32),
            typed(&[3, -1, 4, 3, 5, 4], &[2, 3], DType::I32),
        ],
    );
}

// ---- sorting -----------------------------------------------------------------------------------

/// The flat indices of each line along `dim` of a row-major shape.
fn lines(sh: &[usize], dim: usize) -> Vec<Vec<usize>> {
    let inner: usize = sh[dim + 1..].iter().product();
    let outer: usize = sh[..dim].iter().product();
    let mut out = vec![];
    for o in 0..outer {
        for i in 0..inner {
            out.push(
                (0..sh[dim])
                    .map(|k| (o * sh[dim] + k) * inner + i)
                    .collect(),
            );
        }
    }
    out
}

/// A stable sort along `dim` on the host (equal values keep their order in either
/// direction): the sorted values and their source indices.
fn stable_sort(v: &[i128], sh: &[usize], dim: usize, descending: bool) -> (Vec<i128>, Vec<i128>) {
    let (mut values, mut indices) = (vec![0; v.len()], vec![0; v.len()]);
    for line in lines(sh, dim) {
        let mut order: Vec<usize> = (0..line.len()).collect();
        order.sort_by(|&a, &b| {
            let (x, y) = (v[line[a]], v[line[b]]);
            if descending { y.cmp(&x) } else { x.cmp(&y) }
        });
        for (pos, k) in order.into_iter().enumerate() {
            values[line[pos]] = v[line[k]];
            indices[line[pos]] = k as i128;
        }
    }
    (values, indices)
}

/// The first `k` entries along `dim` of data shaped `sh`.
fn first_k(v: &[i128], sh: &[usize], dim: usize, k: usize) -> (Vec<i128>, Vec<usize>) {
    let mut out_sh = sh.to_vec();
    out_sh[dim] = k;
    let mut out = vec![0; out_sh.iter().product()];
    let (src, dst) = (lines(sh, dim), lines(&out_sh, dim));
    for (s, d) in src.iter().zip(&dst) {
        for j in 0..k {
            out[d[j]] = v[s[j]];
        }
    }
    (out, out_sh)
}

/// Distinct values in random order.
fn distinct(sh: &[usize], seed: u64, dtype: DType) -> TensorData {
    let n: usize = sh.iter().product();
    let offset = if dtype.is_int() { n as i128 / 2 } else { 0 };
    let mut v: Vec<i128> = (0..n as i128).map(|k| 3 * (k - offset)).collect();
    let mut rng = Rng::new(seed);
    for i in (1..n).rev() {
        v.swap(i, rng.int(0, i as i64 + 1) as usize);
    }
    typed(&v, sh, dtype)
}

const SORT_SHAPES: &[&[usize]] = &[
    &[6],
    &[1],
    &[40],
    &[3, 7],
    &[7, 3],
    &[2, 5, 4],
    &[1, 9, 1],
    &[0],
    &[3, 0],
];

#[test]
fn sorting() {
    for (di, dtype) in INT_DTYPES.into_iter().enumerate() {
        for (i, sh) in SORT_SHAPES.iter().enumerate() {
            for layout in layouts_for(dtype, i + di) {
                // Reversed and Stepped views cannot take empty dims apart from the first.
                let layout = if sh.contains(&0) {
                    Layout::Contiguous
                } else {
                    layout
                };
                for desc in [false, true] {
                    let seed = 5000 + 10 * i as u64 + di as u64;
                    // Distinct values: values and indices are unique, ndarray is the oracle.
                    let x = distinct(sh, seed, dtype);
                    let case = case!(x: TensorData = x, layout: Layout = layout, desc: bool = desc; |B, cx| {
                        let x = cx.il(&x, layout);
                        let mut out = vec![];
                        for d in 0..x.shape().num_dims() {
                            let (v, idx) = B::int_sort_with_indices(x.clone(), d, desc);
                            out.extend([
                                ri::<B>(B::int_sort(x.clone(), d, desc)),
                                ri::<B>(v),
                                ri::<B>(idx),
                                ri::<B>(B::int_argsort(x.clone(), d, desc)),
                            ]);
                        }
                        out
                    });
                    let label = format!("sort {dtype:?} {sh:?} {layout:?} desc={desc}");
                    check(&label, Prec::F32, &case);
                    // Ties: ndarray's sort is unstable, so its indices may come in any order
                    // among equal values; Burn's backends sort stably (equal values keep their
                    // order, in both directions), checked against a stable sort on the host.
                    // The extremes of the dtype are among the values.
                    let (lo, hi) = range_of(dtype);
                    let x = pick(
                        sh,
                        seed + 1,
                        dtype,
                        &choices_for(dtype, &[lo, -2, 0, 0, 1, 1, 5, hi]),
                    );
                    let case = case!(x: TensorData = x.clone(), layout: Layout = layout, desc: bool = desc; |B, cx| {
                        let x = cx.il(&x, layout);
                        let mut out = vec![];
                        for d in 0..x.shape().num_dims() {
                            let (v, idx) = B::int_sort_with_indices(x.clone(), d, desc);
                            out.extend([
                                ri::<B>(B::int_sort(x.clone(), d, desc)),
                                ri::<B>(v),
                                ri::<B>(idx),
                                ri::<B>(B::int_argsort(x.clone(), d, desc)),
                            ]);
                        }
                        out
                    });
                    let mut want = vec![];
                    for d in dims(sh) {
                        let (v, idx) = stable_sort(&wide(&x), sh, d, desc);
                        // Indices come in the input's dtype (Burn's default for these ops).
                        want.extend([
                            typed(&v, sh, dtype),
                            typed(&v, sh, dtype),
                            typed(&idx, sh, dtype),
                            typed(&idx, sh, dtype),
                        ]);
                    }
                    expect(&format!("{label} (ties)"), &case, &want);
                }
            }
        }
    }
}

#[test]
fn topk() {
    for (di, dtype) in INT_DTYPES.into_iter().enumerate() {
        for (i, sh) in SORT_SHAPES.iter().enumerate() {
            if sh.contains(&0) {
                continue;
            }
            let layout = layouts_for(dtype, i + di)[0];
            let seed = 5500 + 10 * i as u64 + di as u64;
            let (lo, hi) = range_of(dtype);
            let x = pick(
                sh,
                seed,
                dtype,
                &choices_for(dtype, &[lo, -2, 0, 0, 1, 1, 5, hi]),
            );
            for d in dims(sh) {
                for k in [1, sh[d].div_ceil(2), sh[d]] {
                    let case = case!(x: TensorData = x.clone(), layout: Layout = layout, d: usize = d, k: usize = k; |B, cx| {
                        ri::<B>(B::int_topk(cx.il(&x, layout), d, k))
                    });
                    let label = format!("topk {dtype:?} {sh:?} dim {d} k {k} {layout:?}");
                    check(&label, Prec::F32, &case);
                    // ndarray has no argtopk: the first k indices of a stable descending sort
                    // (Burn: equal values ordered by lowest index), in the default int dtype.
                    let (v, idx) = stable_sort(&wide(&x), sh, d, true);
                    let (v, out_sh) = first_k(&v, sh, d, k);
                    let (idx, _) = first_k(&idx, sh, d, k);
                    let case = case!(x: TensorData = x.clone(), layout: Layout = layout, d: usize = d, k: usize = k; |B, cx| vec![
                        ri::<B>(B::int_topk(cx.il(&x, layout), d, k)),
                        ri::<B>(B::int_argtopk(cx.il(&x, layout), d, k)),
                    ]);
                    expect(
                        &format!("arg{label}"),
                        &case,
                        &[typed(&v, &out_sh, dtype), typed(&idx, &out_sh, IDX)],
                    );
                }
            }
        }
    }
}

// ---- gather / scatter / select -----------------------------------------------------------------

/// Operands small enough that up to seven of them add to a base value within i8 / u8.
fn small(sh: &[usize], seed: u64, dtype: DType) -> TensorData {
    rand_in(sh, seed, dtype, -10, 10)
}

#[test]
fn gather_scatter_select() {
    for (di, dtype) in INT_DTYPES.into_iter().enumerate() {
        for idx_dtype in [DType::I32, DType::I64] {
            for (k, (sh, dim)) in [
                (&[4usize, 5][..], 0usize),
                (&[4, 5], 1),
                (&[3, 4, 2], 1),
                (&[3, 4, 2], 2),
                (&[6], 0),
                (&[1, 3], 0),
            ]
            .into_iter()
            .enumerate()
            {
                let layout = LAYOUTS[(k + di) % LAYOUTS.len()];
                // More index rows than the source has along `dim`: repeated targets add up.
                let mut ish = sh.to_vec();
                ish[dim] = sh[dim] + 2;
                let seed = 6000 + 10 * k as u64 + di as u64;
                let x = small(sh, seed, dtype);
                let idx = rand_in(&ish, seed + 1, idx_dtype, 0, sh[dim] as i128 - 1);
                let v = small(&ish, seed + 2, dtype);
                let case = case!(x: TensorData = x.clone(), idx: TensorData = idx, v: TensorData = v, dim: usize = dim, layout: Layout = layout; |B, cx| {
                    let x = cx.il(&x, layout);
                    let idx_t = cx.il(&idx, layout);
                    // Fewer index rows than the source along `dim`.
                    let mut two = vec![s(0, None, 1); idx.shape.num_dims()];
                    two[dim] = s(0, Some(2), 1);
                    vec![
                        ri::<B>(B::int_gather(dim, x.clone(), idx_t.clone())),
                        ri::<B>(B::int_gather(dim, x.clone(), B::int_slice(idx_t.clone(), &two))),
                        ri::<B>(B::int_scatter_add(dim, x, idx_t, cx.il(&v, layout))),
                    ]
                });
                check(
                    format!(
                        "gather/scatter_add {dtype:?} {sh:?} dim {dim} {idx_dtype:?} {layout:?}"
                    ),
                    Prec::F32,
                    &case,
                );
                for n in [1, 3, 7] {
                    let sel = rand_in(&[n], seed + n as u64, idx_dtype, 0, sh[dim] as i128 - 1);
                    let mut vsh = sh.to_vec();
                    vsh[dim] = n;
                    let v = small(&vsh, seed + 3, dtype);
                    let case = case!(x: TensorData = x.clone(), sel: TensorData = sel, v: TensorData = v, dim: usize = dim, layout: Layout = layout; |B, cx| {
                        let x = cx.il(&x, layout);
                        vec![
                            ri::<B>(B::int_select(x.clone(), dim, cx.i(&sel))),
                            ri::<B>(B::int_select_add(x, dim, cx.i(&sel), cx.il(&v, layout))),
                        ]
                    });
                    check(
                        format!(
                            "select/select_add {dtype:?} {sh:?} dim {dim} n {n} {idx_dtype:?} {layout:?}"
                        ),
                        Prec::F32,
                        &case,
                    );
                }
            }
        }
    }
    // By hand: repeated indices accumulate.
    let x = typed(&[1, 2, 3, 4], &[4], DType::I32);
    let idx = typed(&[0, 0, 3, 0], &[4], DType::I32);
    let v = typed(&[10, 20, 30, 40], &[4], DType::I32);
    expect(
        "scatter_add/select_add repeated by hand",
        &case!(x: TensorData = x, idx: TensorData = idx, v: TensorData = v; |B, cx| vec![
            ri::<B>(B::int_scatter_add(0, cx.i(&x), cx.i(&idx), cx.i(&v))),
            ri::<B>(B::int_select_add(cx.i(&x), 0, cx.i(&idx), cx.i(&v))),
            ri::<B>(B::int_gather(0, cx.i(&x), cx.i(&idx))),
            ri::<B>(B::int_select(cx.i(&x), 0, cx.i(&idx))),
        ]),
        &[
            typed(&[71, 2, 3, 34], &[4], DType::I32),
            typed(&[71, 2, 3, 34], &[4], DType::I32),
            typed(&[1, 1, 4, 1], &[4], DType::I32),
            typed(&[1, 1, 4, 1], &[4], DType::I32),
        ],
    );
}

#[test]
fn gather_nd_scatter_nd() {
    let (reductions, configs) = (SCATTER_ND_REDUCTIONS, ND_CONFIGS);
    for (di, dtype) in INT_DTYPES.into_iter().enumerate() {
        for (i, (dsh, batch, k)) in configs.iter().enumerate() {
            let seed = 6500 + 10 * i as u64 + di as u64;
            let data = rand_in(dsh, seed, dtype, -3, 3);
            // Every index row of the first K dims, shuffled.
            let count: usize = dsh[..*k].iter().product();
            let mut rows: Vec<Vec<i128>> = (0..count)
                .map(|mut f| {
                    let mut r = vec![0; *k];
                    for j in (0..*k).rev() {
                        r[j] = (f % dsh[j]) as i128;
                        f /= dsh[j];
                    }
                    r
                })
                .collect();
            let mut rng = Rng::new(seed);
            for j in (1..rows.len()).rev() {
                rows.swap(j, rng.int(0, j as i64 + 1) as usize);
            }
            let n: usize = batch.iter().product();
            let mut ish = batch.to_vec();
            ish.push(*k);
            let mut vsh = batch.to_vec();
            vsh.extend_from_slice(&dsh[*k..]);
            // Updates of magnitude <= 2, at most three to a row: products stay within i8.
            let values = rand_in(&vsh, seed + 1, dtype, -2, 2);
            for op in reductions {
                // Assign needs distinct rows (the winner of a repeated row is unspecified);
                // the reductions get rows that repeat.
                let flat: Vec<i128> = if op == IndexingUpdateOp::Assign {
                    if n > rows.len() {
                        continue;
                    }
                    (0..n).flat_map(|r| rows[r].clone()).collect()
                } else {
                    (0..n)
                        .flat_map(|r| rows[r % 2.min(rows.len())].clone())
                        .collect()
                };
                let idx = typed(&flat, &ish, DType::I32);
                let case = case!(data: TensorData = data.clone(), idx: TensorData = idx, values: TensorData = values.clone(), op: IndexingUpdateOp = op; |B, cx| vec![
                    ri::<B>(B::int_gather_nd(cx.il(&data, Layout::Reversed), cx.i(&idx))),
                    ri::<B>(B::int_scatter_nd(cx.il(&data, Layout::Transposed), cx.i(&idx), cx.i(&values), op)),
                ]);
                check(
                    format!("gather_nd/scatter_nd {dtype:?} {dsh:?} batch {batch:?} K {k} {op:?}"),
                    Prec::F32,
                    &case,
                );
            }
        }
    }
}

// ---- slicing and masking -----------------------------------------------------------------------

/// Slices of a [6, 7, 5] tensor: steps, negative steps, negative indices, open ends, size 1.
fn slice_cases() -> Vec<Vec<Slice>> {
    vec![
        vec![s(0, None, 1)],
        vec![s(1, Some(4), 1), s(2, None, 1)],
        vec![s(0, None, 2), s(1, Some(7), 3), s(0, Some(5), 2)],
        vec![s(0, None, -1)],
        vec![s(1, Some(5), -1), s(0, None, -2)],
        vec![s(0, None, -3), s(2, Some(6), -2), s(1, Some(4), -1)],
        vec![s(-4, Some(-1), 1), s(-3, None, 1)],
        vec![s(-5, None, 2), s(0, Some(-2), -2)],
        vec![s(0, Some(1), 1), s(6, Some(7), 1), s(4, None, 1)],
        vec![s(5, None, -1), s(0, None, 7)],
        vec![s(0, None, 1), s(0, None, 1), s(-1, None, -1)],
    ]
}

fn sliced_shape(sh: &[usize], slices: &[Slice]) -> Vec<usize> {
    sh.iter()
        .enumerate()
        .map(|(d, n)| slices.get(d).map(|s| s.output_size(*n)).unwrap_or(*n))
        .collect()
}

#[test]
fn slice_and_slice_assign() {
    let sh = [6usize, 7, 5];
    for (di, dtype) in INT_DTYPES.into_iter().enumerate() {
        for (i, slices) in slice_cases().into_iter().enumerate() {
            let layout = LAYOUTS[(i + di) % LAYOUTS.len()];
            let x = full_range(&sh, 7000 + i as u64, dtype);
            let v = full_range(&sliced_shape(&sh, &slices), 7100 + i as u64, dtype);
            let case = case!(x: TensorData = x, v: TensorData = v, sl: Vec<Slice> = slices.clone(), layout: Layout = layout; |B, cx| {
                let x = cx.il(&x, layout);
                vec![
                    ri::<B>(B::int_slice(x.clone(), &sl)),
                    ri::<B>(B::int_slice_assign(x, &sl, cx.il(&v, Layout::Transposed))),
                ]
            });
            check(
                format!("slice/slice_assign {dtype:?} {slices:?} {layout:?}"),
                Prec::F32,
                &case,
            );
        }
    }
    // By hand, on a vector: negative steps read backwards from the end of the range.
    let x = typed(&(0..8).collect::<Vec<_>>(), &[8], DType::I64);
    let v = typed(&[-1, -2, -3], &[3], DType::I64);
    expect(
        "negative steps by hand",
        &case!(x: TensorData = x, v: TensorData = v; |B, cx| vec![
            ri::<B>(B::int_slice(cx.i(&x), &[s(2, Some(8), -2)])),
            ri::<B>(B::int_slice(cx.i(&x), &[s(-3, None, -1)])),
            ri::<B>(B::int_slice_assign(cx.i(&x), &[s(2, Some(8), -2)], cx.i(&v))),
        ]),
        &[
            typed(&[7, 5, 3], &[3], DType::I64),
            typed(&[7, 6, 5], &[3], DType::I64),
            typed(&[0, 1, 2, -3, 4, -2, 6, -1], &[8], DType::I64),
        ],
    );
}

#[test]
fn masking() {
    for (di, dtype) in INT_DTYPES.into_iter().enumerate() {
        for (i, sh) in SHAPES.iter().chain(EMPTY_SHAPES).enumerate() {
            for layout in layouts_for(dtype, i + di) {
                let seed = 7200 + 10 * i as u64 + di as u64;
                let (x, v, m) = (
                    full_range(sh, seed, dtype),
                    full_range(sh, seed + 1, dtype),
                    bools(sh, seed + 2),
                );
                let fill = if dtype.is_int() {
                    Scalar::Int(-77)
                } else {
                    Scalar::Int(77)
                };
                let case = case!(x: TensorData = x, v: TensorData = v, m: TensorData = m, layout: Layout = layout, fill: Scalar = fill; |B, cx| {
                    let x = cx.il(&x, layout);
                    vec![
                        ri::<B>(B::int_mask_where(x.clone(), cx.bl(&m, layout), cx.il(&v, Layout::Reversed))),
                        ri::<B>(B::int_mask_fill(x, cx.bl(&m, Layout::Stepped), fill)),
                    ]
                });
                check(
                    format!("mask_where/mask_fill {dtype:?} {sh:?} {layout:?}"),
                    Prec::F32,
                    &case,
                );
            }
        }
    }
    // A mask broadcast over the tensor, and the largest u64 as the fill value.
    let (x, v, m) = (
        full_range(&[3, 4], 1, DType::U64),
        full_range(&[3, 4], 2, DType::U64),
        bools([1, 4], 3),
    );
    let case = case!(x: TensorData = x, v: TensorData = v, m: TensorData = m; |B, cx| {
        let m = B::bool_expand(cx.b(&m), shape(&[3, 4]));
        vec![
            ri::<B>(B::int_mask_where(cx.i(&x), m.clone(), cx.i(&v))),
            ri::<B>(B::int_mask_fill(cx.i(&x), m, Scalar::UInt(u64::MAX))),
        ]
    });
    check("mask broadcast mask, u64::MAX fill", Prec::F32, &case);
}

// ---- shape ops ---------------------------------------------------------------------------------

#[test]
fn shape_ops() {
    for (di, dtype) in INT_DTYPES.into_iter().enumerate() {
        for layout in layouts_for(dtype, di) {
            let x = full_range(&[2, 3, 4], 1 + di as u64, dtype);
            let y = full_range(&[2, 5, 4], 2 + di as u64, dtype);
            let case = case!(x: TensorData = x, y: TensorData = y, layout: Layout = layout; |B, cx| {
                let x = cx.il(&x, layout);
                let y = cx.il(&y, Layout::Reversed);
                vec![
                    ri::<B>(B::int_cat(vec![x.clone(), y, x.clone()], 1)),
                    ri::<B>(B::int_cat(vec![x.clone(), x.clone()], 0)),
                    ri::<B>(B::int_cat(vec![x.clone(), x.clone()], 2)),
                    ri::<B>(B::int_cat(vec![x.clone()], 2)),
                    ri::<B>(B::int_repeat_dim(x.clone(), 0, 3)),
                    ri::<B>(B::int_repeat_dim(x.clone(), 2, 2)),
                    ri::<B>(B::int_repeat_dim(x.clone(), 1, 1)),
                    ri::<B>(B::int_flip(x.clone(), &[0])),
                    ri::<B>(B::int_flip(x.clone(), &[1, 2])),
                    ri::<B>(B::int_flip(x.clone(), &[])),
                    ri::<B>(B::int_permute(x.clone(), &[2, 0, 1])),
                    ri::<B>(B::int_swap_dims(x.clone(), 0, 2)),
                    ri::<B>(B::int_transpose(x.clone())),
                    ri::<B>(B::int_reshape(x.clone(), shape(&[6, 4]))),
                    ri::<B>(B::int_reshape(x.clone(), shape(&[24]))),
                    ri::<B>(B::int_reshape(x.clone(), shape(&[4, 1, 3, 2]))),
                    ri::<B>(B::int_expand(B::int_slice(x.clone(), &[s(0, Some(1), 1)]), shape(&[3, 3, 4]))),
                    ri::<B>(B::int_expand(x.clone(), shape(&[2, 2, 3, 4]))),
                    ri::<B>(B::int_unfold(x.clone(), 2, 2, 1)),
                    ri::<B>(B::int_unfold(x.clone(), 1, 2, 2)),
                    ri::<B>(B::int_unfold(x.clone(), 2, 4, 3)),
                    ri::<B>(B::int_unfold(x, 0, 1, 1)),
                ]
            });
            check(format!("shape ops {dtype:?} {layout:?}"), Prec::F32, &case);
        }
    }
    // Edge sizes: size-1 dims expanded, empty tensors reshaped and permuted.
    let (x, e) = (
        full_range(&[3, 1], 2, DType::I16),
        typed(&[], &[0, 2, 3], DType::I16),
    );
    let case = case!(x: TensorData = x, e: TensorData = e; |B, cx| vec![
        ri::<B>(B::int_expand(cx.i(&x), shape(&[3, 5]))),
        ri::<B>(B::int_expand(cx.i(&x), shape(&[2, 3, 1]))),
        ri::<B>(B::int_transpose(cx.i(&x))),
        ri::<B>(B::int_reshape(cx.i(&e), shape(&[2, 0, 3]))),
        ri::<B>(B::int_permute(cx.i(&e), &[2, 0, 1])),
        ri::<B>(B::int_flip(cx.i(&e), &[0, 2])),
        ri::<B>(B::int_repeat_dim(cx.i(&e), 1, 2)),
        ri::<B>(B::int_cat(vec![cx.i(&e), cx.i(&e)], 1)),
    ]);
    check("shape ops edge sizes", Prec::F32, &case);
    // ndarray panics on these; checked by hand: a vector's transpose is itself, and a window
    // longer than the dim gives no windows.
    let v = typed(&[4, -1, 7], &[3], DType::I32);
    expect(
        "transpose 1-d, unfold without windows",
        &case!(v: TensorData = v.clone(); |B, cx| vec![
            ri::<B>(B::int_transpose(cx.i(&v))),
            ri::<B>(B::int_unfold(cx.i(&v), 0, 4, 1)),
        ]),
        &[v, typed(&[], &[0, 4], DType::I32)],
    );
}

// ---- matmul ------------------------------------------------------------------------------------

const MATMUL_SHAPES: &[(&[usize], &[usize])] = &[
    (&[3, 4], &[4, 5]),
    (&[1, 4], &[4, 1]),
    (&[5, 1], &[1, 3]),
    (&[17, 33], &[33, 9]),
    (&[2, 3, 4], &[2, 4, 5]),
    (&[1, 3, 4], &[2, 4, 5]),
    (&[2, 3, 4], &[1, 4, 5]),
    (&[2, 1, 3, 4], &[1, 3, 4, 2]),
];

#[test]
fn matmul() {
    for (di, dtype) in INT_DTYPES.into_iter().enumerate() {
        for (i, (sa, sb)) in MATMUL_SHAPES.iter().enumerate() {
            // Operands bounded so that no sum of k products overflows: |v| <= sqrt(max / k).
            let k = sa[sa.len() - 1] as i128;
            let max = range_of(dtype).1.min(1 << 20);
            let m = ((max / k) as f64).sqrt().floor().clamp(1.0, 9.0) as i128;
            let a = rand_in(sa, 8000 + i as u64, dtype, -m, m);
            let b = rand_in(sb, 8100 + i as u64, dtype, -m, m);
            let (la, lb) = (LAYOUTS[(i + di) % 5], LAYOUTS[(i + di + 1) % 5]);
            let case = case!(a: TensorData = a, b: TensorData = b, la: Layout = la, lb: Layout = lb; |B, cx| {
                ri::<B>(B::int_matmul(cx.il(&a, la), cx.il(&b, lb)))
            });
            check(
                format!("matmul {dtype:?} {sa:?} x {sb:?} {la:?}/{lb:?}"),
                Prec::F32,
                &case,
            );
        }
    }
    // Products beyond f32 and f64 precision: an exact integer product is needed.
    for dtype in [DType::I64, DType::U64] {
        let a = rand_in(&[2, 3, 4], 1, dtype, -(1 << 28), 1 << 28);
        let b = rand_in(&[1, 4, 5], 2, dtype, -(1 << 28), 1 << 28);
        let case = case!(a: TensorData = a, b: TensorData = b; |B, cx| ri::<B>(B::int_matmul(cx.i(&a), cx.il(&b, Layout::Transposed))));
        check(format!("matmul wide {dtype:?}"), Prec::F32, &case);
    }
    // By hand, as ndarray divides by zero on empty matrices: a shared dimension of 0 gives
    // zeros, no rows give no rows.
    let (a, b) = (
        typed(&[], &[3, 0], DType::I32),
        typed(&[], &[2, 0, 4], DType::I32),
    );
    expect(
        "matmul over an empty shared dim",
        &case!(a: TensorData = a, b: TensorData = b; |B, cx| ri::<B>(B::int_matmul(B::int_reshape(cx.i(&a), shape(&[1, 3, 0])), cx.i(&b)))),
        &[typed(&[0; 24], &[2, 3, 4], DType::I32)],
    );
    let a = typed(&[], &[0, 3], DType::I32);
    let b = typed(&[1, 2, 3, 4, 5, 6], &[3, 2], DType::I32);
    expect(
        "matmul without rows",
        &case!(a: TensorData = a, b: TensorData = b; |B, cx| ri::<B>(B::int_matmul(cx.i(&a), cx.i(&b)))),
        &[typed(&[], &[0, 2], DType::I32)],
    );
    let a = typed(&[1, -2, 3, 4, 0, -1], &[2, 3], DType::I64);
    let b = typed(&[2, 1, 0, -1, 5, 3], &[3, 2], DType::I64);
    expect(
        "matmul by hand",
        &case!(a: TensorData = a, b: TensorData = b; |B, cx| ri::<B>(B::int_matmul(cx.i(&a), cx.i(&b)))),
        &[typed(&[17, 12, 3, 1], &[2, 2], DType::I64)],
    );
}

// ---- casts -------------------------------------------------------------------------------------

#[test]
fn casts() {
    for (si, src) in INT_DTYPES.into_iter().enumerate() {
        for (ti, dst) in INT_DTYPES.into_iter().enumerate() {
            // Values both dtypes hold (a value that does not fit has no defined result), the
            // limits of that range among them.
            let ((sl, sh), (dl, dh)) = (range_of(src), range_of(dst));
            let (lo, hi) = (sl.max(dl), sh.min(dh));
            let mut v = uniform(15, 9000 + 10 * si as u64 + ti as u64, lo, hi);
            v[0] = lo;
            v[7] = hi;
            v[11] = 0;
            let x = typed(&v, &[3, 5], src);
            let layout = LAYOUTS[(si + ti) % LAYOUTS.len()];
            let case = case!(x: TensorData = x, layout: Layout = layout, dst: DType = dst; |B, cx| {
                ri::<B>(B::int_cast(cx.il(&x, layout), dst.into()))
            });
            let label = format!("cast {src:?} -> {dst:?} {layout:?}");
            check(&label, Prec::F32, &case);
            expect(&label, &case, &[typed(&v, &[3, 5], dst)]);
        }
    }
    // Empty tensors keep their shape.
    let e = typed(&[], &[0, 3], DType::I64);
    check(
        "cast empty",
        Prec::F32,
        &case!(e: TensorData = e; |B, cx| ri::<B>(B::int_cast(cx.i(&e), IntDType::U8))),
    );
}

#[test]
fn into_float() {
    for prec in ALL_PRECS {
        for (si, src) in INT_DTYPES.into_iter().enumerate() {
            // Half precisions hold integers exactly up to 256 (bf16); wider ones get the whole
            // range, rounded to nearest in both backends.
            let x = if prec.is_half() {
                rand_in(&[4, 6], 9500 + si as u64, src, -256, 256)
            } else {
                full_range(&[4, 6], 9500 + si as u64, src)
            };
            let layout = LAYOUTS[si % LAYOUTS.len()];
            let case = case!(x: TensorData = x, layout: Layout = layout; |B, cx| {
                let t = B::int_into_float(cx.il(&x, layout), cx.fdtype());
                vec![rf::<B>(t.clone()), TensorData::new(vec![t.dtype() == cx.dtype()], [1])]
            });
            check(format!("into_float {src:?} {layout:?}"), prec, &case);
        }
    }
    let e = typed(&[], &[2, 0], DType::I16);
    check(
        "into_float empty",
        Prec::F32,
        &case!(e: TensorData = e; |B, cx| rf::<B>(B::int_into_float(cx.i(&e), FloatDType::F32))),
    );
}

// ---- creation, data, devices -------------------------------------------------------------------

#[test]
fn data_and_creation() {
    for (di, dtype) in INT_DTYPES.into_iter().enumerate() {
        for (i, sh) in SHAPES.iter().chain(EMPTY_SHAPES).enumerate() {
            for layout in layouts_for(dtype, i + di) {
                let x = full_range(sh, 9700 + i as u64, dtype);
                let case = case!(x: TensorData = x.clone(), layout: Layout = layout; |B, cx| ri::<B>(cx.il(&x, layout)));
                let label = format!("from_data/into_data {dtype:?} {sh:?} {layout:?}");
                check(&label, Prec::F32, &case);
                expect(&label, &case, &[x]);
            }
            let (lo, hi) = range_of(dtype);
            let big = if hi > i64::MAX as i128 {
                Scalar::UInt(hi as u64)
            } else {
                Scalar::Int(hi as i64)
            };
            let small = Scalar::Int(if dtype.is_int() { lo as i64 } else { 3 });
            let case = case!(sh: Shape = shape(sh), dtype: DType = dtype, big: Scalar = big, small: Scalar = small; |B, cx| {
                let d: IntDType = dtype.into();
                let empty = B::int_empty(sh.clone(), &cx.dev, d);
                vec![
                    ri::<B>(B::int_zeros(sh.clone(), &cx.dev, d)),
                    ri::<B>(B::int_ones(sh.clone(), &cx.dev, d)),
                    ri::<B>(B::int_full(sh.clone(), big, &cx.dev, d)),
                    ri::<B>(B::int_full(sh.clone(), small, &cx.dev, d)),
                    // Only the shape and dtype of an empty tensor are defined.
                    TensorData::zeros::<i64, _>(empty.shape()).convert_dtype(empty.dtype()),
                ]
            });
            check(
                format!("zeros/ones/full/empty {dtype:?} {sh:?}"),
                Prec::F32,
                &case,
            );
        }
    }
    // Device queries and moves.
    let dev = mlx_device();
    let t = M::int_from_data(full_range(&[2, 3], 1, DType::I64), &dev);
    assert_eq!(M::int_device(&t), dev);
    let moved = M::int_to_device(t.clone(), &MlxDevice::Cpu);
    assert_eq!(M::int_device(&moved), MlxDevice::Cpu);
    assert_data_close("to_device", &ri::<M>(moved), &ri::<M>(t), Tol::EXACT);
    let case = case!(|B, cx| {
        let t = cx.i(&full_range(&[4, 2], 2, DType::U16));
        ri::<B>(B::int_to_device(
            t,
            &B::int_device(&cx.i(&full_range(&[1], 3, DType::I8))),
        ))
    });
    check("to_device", Prec::F32, &case);
}

#[test]
fn arange() {
    let ranges: &[(i64, i64)] = &[(0, 10), (-5, 7), (3, 4), (3, 3), (5, 2), (-9, -1)];
    for dtype in INT_DTYPES {
        for &(start, end) in ranges {
            // ndarray builds the values in its i32 element first: unsigned dtypes take
            // non-negative ranges only.
            if !dtype.is_int() && start < 0 {
                continue;
            }
            for step in [1usize, 2, 3, 7, 20] {
                let case = case!(start: i64 = start, end: i64 = end, step: usize = step, dtype: DType = dtype; |B, cx| vec![
                    ri::<B>(B::int_arange_step(start..end, step, &cx.dev, dtype.into())),
                    ri::<B>(B::int_arange(start..end, &cx.dev, dtype.into())),
                ]);
                let label = format!("arange {start}..{end} step {step} {dtype:?}");
                check(&label, Prec::F32, &case);
                let want: Vec<i128> = (start..end).step_by(step).map(i128::from).collect();
                let all: Vec<i128> = (start..end).map(i128::from).collect();
                expect(
                    &label,
                    &case,
                    &[
                        typed(&want, &[want.len()], dtype),
                        typed(&all, &[all.len()], dtype),
                    ],
                );
            }
        }
    }
    // Values beyond i32 (where ndarray's default panics) and beyond f64's exact integers.
    const BIG: i64 = (1 << 53) + 1;
    let want: Vec<i128> = (BIG..BIG + 9).step_by(4).map(i128::from).collect();
    expect(
        "arange of large i64",
        &case!(|B, cx| ri::<B>(B::int_arange_step(BIG..BIG + 9, 4, &cx.dev, IntDType::I64))),
        &[typed(&want, &[3], DType::I64)],
    );
}

// ---- random ------------------------------------------------------------------------------------

/// Mean, min and max of int data.
fn int_stats(data: &TensorData) -> (f64, i128, i128) {
    let v = wide(data);
    let mean = v.iter().map(|x| *x as f64).sum::<f64>() / v.len() as f64;
    (mean, *v.iter().min().unwrap(), *v.iter().max().unwrap())
}

/// Random ints have no oracle (the backends' generators differ): MLX alone is checked for
/// dtype, shape, bounds and a loose mean, and for reproducibility under `Backend::seed`. All of
/// it in one test, as the generator's state is global.
#[test]
fn random() {
    let dev = mlx_device();
    let n = [100, 500];
    let draw = |d: Distribution, dtype: DType| {
        let t = M::int_random(shape(&n), d, &dev, dtype.into());
        assert_eq!(t.dtype(), dtype, "random dtype");
        assert_eq!(t.shape().as_slice(), &n, "random shape");
        ri::<M>(t)
    };
    for dtype in INT_DTYPES {
        // Default: [0, 255), as ndarray draws it (i8 cannot hold it: ndarray panics).
        if dtype != DType::I8 {
            let (mean, min, max) = int_stats(&draw(Distribution::Default, dtype));
            assert!(min == 0 && max == 254, "default {dtype:?}: [{min}, {max}]");
            // sd ~73.6, standard error ~0.33.
            assert!((mean - 127.0).abs() < 2.0, "default {dtype:?}: mean {mean}");
        }
        let (low, high) = if dtype.is_int() { (-20, 30) } else { (10, 50) };
        let (mean, min, max) =
            int_stats(&draw(Distribution::Uniform(low as f64, high as f64), dtype));
        assert!(
            min == low && max == high - 1,
            "uniform {dtype:?}: [{min}, {max}]"
        );
        let want = (low + high - 1) as f64 / 2.0;
        assert!((mean - want).abs() < 0.5, "uniform {dtype:?}: mean {mean}");
        let b = draw(Distribution::Bernoulli(0.3), dtype);
        let (mean, min, max) = int_stats(&b);
        assert!(min == 0 && max == 1, "bernoulli {dtype:?}: [{min}, {max}]");
        assert!(
            (mean - 0.3).abs() < 0.02,
            "bernoulli {dtype:?}: mean {mean}"
        );
        // Normal samples are truncated to integers: about half a unit below the mean.
        let (mean, _, _) = int_stats(&draw(Distribution::Normal(20.0, 3.0), dtype));
        assert!((mean - 19.5).abs() < 0.15, "normal {dtype:?}: mean {mean}");
    }
    // Bounds beyond i32.
    for (dtype, low, high) in [
        (DType::I64, -(1i64 << 40), 1i64 << 40),
        (DType::U32, 0, 3_000_000_000),
        (DType::U64, 1 << 45, 1 << 46),
    ] {
        let (mean, min, max) =
            int_stats(&draw(Distribution::Uniform(low as f64, high as f64), dtype));
        let span = (high - low) as f64;
        assert!(
            min >= low as i128 && max < high as i128,
            "uniform {dtype:?} [{low}, {high}): [{min}, {max}]"
        );
        // The extremes come near both bounds, the mean near the middle (se ~ span / 775).
        assert!(
            (min - low as i128) as f64 / span < 0.01 && (high as i128 - max) as f64 / span < 0.01,
            "uniform {dtype:?} [{low}, {high}): [{min}, {max}]"
        );
        let mid = (low as f64 + high as f64) / 2.0;
        assert!(
            (mean - mid).abs() / span < 0.01,
            "uniform {dtype:?}: mean {mean}"
        );
    }
    // Uniform bounds are truncated to integers, as ndarray does.
    let (_, min, max) = int_stats(&draw(Distribution::Uniform(-3.7, 4.9), DType::I32));
    assert!(
        min == -3 && max == 3,
        "uniform truncated bounds: [{min}, {max}]"
    );
    // Empty shapes.
    let e = M::int_random(shape(&[0, 4]), Distribution::Default, &dev, IntDType::I32);
    assert_eq!(e.shape().as_slice(), &[0, 4]);
    // The seed makes draws reproducible.
    let sample = || {
        draw(Distribution::Uniform(0.0, 1000.0), DType::I64)
            .to_vec::<i64>()
            .unwrap()
    };
    M::seed(&dev, 42);
    let (a, b) = (sample(), sample());
    M::seed(&dev, 42);
    let (c, d) = (sample(), sample());
    M::seed(&dev, 43);
    let e = sample();
    assert_eq!((&a, &b), (&c, &d), "same seed, same draws");
    assert_ne!(a, b, "successive draws differ");
    assert_ne!(a, e, "another seed, other draws");
}

// ---- inputs that used to kill the process or panic without a reason ---------------------------

#[test]
fn division_overflow_and_by_zero_are_defined() {
    let device = MlxDevice::Cpu;
    // MIN / -1 wraps to MIN (it trapped with SIGFPE), as in two's complement; MIN % -1 is 0.
    let t = Tensor::<M, 1, Int>::from_ints([i32::MIN, 7, -7], &device);
    let q = (t.clone() / -1).into_data();
    assert_eq!(q.to_vec::<i32>().unwrap(), vec![i32::MIN, -7, 7]);
    let r = t.clone().remainder_scalar(-1).into_data();
    assert_eq!(r.to_vec::<i32>().unwrap(), vec![0, 0, 0]);
    // Division by 0 gives 0, whatever the sign of the dividend.
    let z = Tensor::<M, 1, Int>::from_ints([0, 0, 0], &device);
    let q = (t / z).into_data();
    assert_eq!(q.to_vec::<i32>().unwrap(), vec![0, 0, 0]);
}

#[test]
fn bad_arguments_panic_with_the_op_and_reason() {
    let device = MlxDevice::Cpu;
    let x = Tensor::<M, 2>::ones([2, 3], &device);
    assert_panics(
        "repeat_dim",
        "repeat_dim: dimension 5 is out of range",
        || x.clone().repeat_dim(5, 2),
    );
    assert_panics(
        "arange_step",
        "arange_step: the step must be positive",
        || Tensor::<M, 1, Int>::arange_step(0..5, 0, &device),
    );
    assert_panics("huge zeros", "out of memory", || {
        Tensor::<M, 2>::zeros([1_000_000, 1_000_000], &device)
            .sum()
            .into_data()
    });
}
