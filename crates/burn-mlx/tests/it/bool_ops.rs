//! Differential tests of `BoolTensorOps` on `Mlx` against `NdArray`: every method, over
//! broadcasting operands, non-contiguous views and empty tensors; the OR-reductions
//! (`scatter_or`, `select_or`) also against values computed here.

use crate::common;
use common::*;

const INT_DTYPES: [IntDType; 8] = [
    IntDType::I64,
    IntDType::I32,
    IntDType::I16,
    IntDType::I8,
    IntDType::U64,
    IntDType::U32,
    IntDType::U16,
    IntDType::U8,
];

/// Every shape the element-wise sweeps use, empty ones included.
fn all_shapes() -> impl Iterator<Item = (usize, &'static [usize])> {
    SHAPES.iter().chain(EMPTY_SHAPES).copied().enumerate()
}

/// Bools that are mostly `value` (one element in eight flipped), for `any`/`all` on inputs
/// where the answer hinges on a few elements.
fn mostly(shape: &[usize], seed: u64, value: bool) -> TensorData {
    let mut rng = Rng::new(seed);
    let v: Vec<bool> = (0..shape.iter().product::<usize>())
        .map(|_| rng.next_u64().is_multiple_of(8) ^ value)
        .collect();
    TensorData::new(v, shape.to_vec())
}

/// The oracle gets both operands broadcast explicitly (as the float harness does): only the
/// backend under test is asked to broadcast by itself.
fn bcast<B: Backend>(
    cx: &Cx<B>,
    a: BoolTensor<B>,
    b: BoolTensor<B>,
) -> (BoolTensor<B>, BoolTensor<B>) {
    let (sa, sb) = (a.shape(), b.shape());
    if !cx.oracle || sa == sb {
        return (a, b);
    }
    let shape = Shape::from(broadcast_shape(sa.as_slice(), sb.as_slice()));
    (B::bool_expand(a, shape.clone()), B::bool_expand(b, shape))
}

fn bool_values(d: &TensorData) -> Vec<bool> {
    d.clone().convert_dtype(BOOL).to_vec::<bool>().unwrap()
}

/// Row-major multi-index of a flat position.
fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        idx[d] = flat % shape[d];
        flat /= shape[d];
    }
    idx
}

fn ravel(idx: &[usize], shape: &[usize]) -> usize {
    idx.iter().zip(shape).fold(0, |acc, (i, n)| acc * n + i)
}

// ---- creation, data, devices ----------------------------------------------------------------

#[test]
fn creation_data_and_devices() {
    for (i, shape) in all_shapes() {
        for layout in LAYOUTS {
            let x = bools(shape, i as u64);
            check(
                format!("from_data/into_data {shape:?} {layout:?}"),
                Prec::F32,
                &case!(x: TensorData = x, layout: Layout = layout; |B, cx| rb::<B>(cx.bl(&x, layout))),
            );
        }
        for store in [BoolStore::Native, BoolStore::U8, BoolStore::U32] {
            let shape = Shape::from(shape.to_vec());
            check(
                format!("zeros/ones/empty {shape:?} {store:?}"),
                Prec::F32,
                &case!(shape: Shape = shape, store: BoolDType = store; |B, cx| {
                    let empty = B::bool_empty(shape.clone(), &cx.dev, store);
                    assert!(empty.dtype().is_bool(), "bool_empty dtype {:?}", empty.dtype());
                    vec![
                        rb::<B>(B::bool_zeros(shape.clone(), &cx.dev, store)),
                        rb::<B>(B::bool_ones(shape.clone(), &cx.dev, store)),
                        // Only the shape of an empty tensor is defined, not its values.
                        TensorData::new(vec![false; empty.shape().num_elements()], empty.shape()),
                    ]
                }),
            );
        }
    }
    // Data in Burn's packed bool stores reads back as the same truth values.
    let x = bools([3, 5], 9);
    for store in [BoolStore::U8, BoolStore::U32] {
        let packed = x.clone().convert_dtype(DType::Bool(store));
        let got = rb::<M>(M::bool_from_data(packed, &mlx_device()));
        assert_eq!(bool_values(&got), bool_values(&x), "from_data {store:?}");
        assert_eq!(got.shape, x.shape);
    }
    // Devices: the tensor reports where it lives, and moving keeps the values.
    let dev = mlx_device();
    let t = M::bool_from_data(x.clone(), &dev);
    assert_eq!(M::bool_device(&t), dev);
    let moved = M::bool_to_device(t, &MlxDevice::Cpu);
    assert_eq!(M::bool_device(&moved), MlxDevice::Cpu);
    assert_eq!(bool_values(&rb::<M>(moved)), bool_values(&x));
    let nd = Nd::bool_to_device(
        Nd::bool_from_data(x.clone(), &Default::default()),
        &Default::default(),
    );
    assert_eq!(bool_values(&rb::<Nd>(nd)), bool_values(&x));
}

#[test]
fn casts_to_int_and_float() {
    for (i, shape) in all_shapes() {
        for layout in [
            Layout::Contiguous,
            Layout::Transposed,
            Layout::Reversed,
            Layout::Stepped,
        ] {
            let x = bools(shape, 20 + i as u64);
            for out in INT_DTYPES {
                check(
                    format!("into_int {shape:?} {layout:?} {out:?}"),
                    Prec::F32,
                    &case!(x: TensorData = x.clone(), layout: Layout = layout, out: IntDType = out;
                        |B, cx| ri::<B>(B::bool_into_int(cx.bl(&x, layout), out))),
                );
            }
            for prec in ALL_PRECS {
                // `cx.fdtype()` is F16/BF16 on MLX and F32 on the oracle (which has neither).
                check(
                    format!("into_float {shape:?} {layout:?}"),
                    prec,
                    &case!(x: TensorData = x.clone(), layout: Layout = layout;
                        |B, cx| rf::<B>(B::bool_into_float(cx.bl(&x, layout), cx.fdtype()))),
                );
            }
        }
    }
    // Exact values and dtypes of the half-precision casts (no oracle has them).
    let x = bools([4, 3], 5);
    let want: Vec<f32> = bool_values(&x).iter().map(|b| *b as u8 as f32).collect();
    for out in [
        FloatDType::F16,
        FloatDType::BF16,
        FloatDType::F32,
        FloatDType::F64,
        FloatDType::Flex32,
    ] {
        let got = rf::<M>(M::bool_into_float(
            M::bool_from_data(x.clone(), &mlx_device()),
            out,
        ));
        // Flex32 computes as f32.
        let want_dtype = match out {
            FloatDType::Flex32 => DType::F32,
            out => DType::from(out),
        };
        assert_eq!(got.dtype, want_dtype, "into_float dtype");
        assert_eq!(
            got.iter::<f32>().collect::<Vec<_>>(),
            want,
            "into_float {out:?}"
        );
    }
}

// ---- logic and comparisons ------------------------------------------------------------------

#[test]
fn logic_and_comparisons_broadcast() {
    for (i, (sa, sb)) in BROADCAST_PAIRS.iter().enumerate() {
        for (sa, sb) in [(sa, sb), (sb, sa)] {
            for (j, layout) in LAYOUTS.iter().enumerate() {
                let other = LAYOUTS[(j + 2) % LAYOUTS.len()];
                let (a, b) = (bools(sa, 40 + i as u64), bools(sb, 60 + i as u64));
                let case = case!(a: TensorData = a, b: TensorData = b, l: (Layout, Layout) = (*layout, other); |B, cx| {
                    let (a, b) = bcast(cx, cx.bl(&a, l.0), cx.bl(&b, l.1));
                    vec![
                        rb::<B>(B::bool_and(a.clone(), b.clone())),
                        rb::<B>(B::bool_or(a.clone(), b.clone())),
                        rb::<B>(B::bool_xor(a.clone(), b.clone())),
                        rb::<B>(B::bool_equal(a.clone(), b.clone())),
                        rb::<B>(B::bool_not_equal(a, b)),
                    ]
                });
                check(
                    format!("and/or/xor/equal/not_equal {sa:?} x {sb:?} {layout:?}/{other:?}"),
                    Prec::F32,
                    &case,
                );
            }
        }
    }
    for (i, shape) in all_shapes() {
        for layout in LAYOUTS {
            let (a, b) = (bools(shape, 80 + i as u64), bools(shape, 90 + i as u64));
            let case = case!(a: TensorData = a, b: TensorData = b, layout: Layout = layout; |B, cx| {
                let (a, b) = (cx.bl(&a, layout), cx.b(&b));
                let mut out = vec![
                    rb::<B>(B::bool_not(a.clone())),
                    rb::<B>(B::bool_and(a.clone(), b.clone())),
                    rb::<B>(B::bool_xor(b.clone(), a.clone())),
                ];
                // Scalars as bools, and as the integers 0 and 1 Burn also passes.
                for s in [Scalar::Bool(true), Scalar::Bool(false), Scalar::Int(1), Scalar::Int(0)] {
                    out.push(rb::<B>(B::bool_equal_elem(a.clone(), s)));
                    out.push(rb::<B>(B::bool_not_equal_elem(a.clone(), s)));
                }
                out
            });
            check(format!("not/elem {shape:?} {layout:?}"), Prec::F32, &case);
        }
    }
    // A chain of logic ops deeper than the backend's graph depth bound (evaluated part-way).
    let (a, b) = (bools([5, 9], 1), bools([1, 9], 2));
    let case = case!(a: TensorData = a, b: TensorData = b; |B, cx| {
        let b = B::bool_expand(cx.b(&b), Shape::from(vec![5, 9]));
        let mut x = cx.b(&a);
        for i in 0..400 {
            x = match i % 4 {
                0 => B::bool_not(x),
                1 => B::bool_xor(x, b.clone()),
                2 => B::bool_or(B::bool_and(x.clone(), b.clone()), B::bool_flip(x, &[0])),
                _ => B::bool_equal(x, B::bool_not(b.clone())),
            };
        }
        rb::<B>(x)
    });
    check("deep chain of logic ops", Prec::F32, &case);
    // The truth tables, written out.
    let a = TensorData::new(vec![false, false, true, true], [4]);
    let b = TensorData::new(vec![false, true, false, true], [4]);
    let got = run_mlx(
        Prec::F32,
        &case!(a: TensorData = a, b: TensorData = b; |B, cx| {
            let (a, b) = (cx.b(&a), cx.b(&b));
            vec![
                rb::<B>(B::bool_and(a.clone(), b.clone())),
                rb::<B>(B::bool_or(a.clone(), b.clone())),
                rb::<B>(B::bool_xor(a.clone(), b.clone())),
                rb::<B>(B::bool_equal(a.clone(), b.clone())),
                rb::<B>(B::bool_not_equal(a.clone(), b)),
                rb::<B>(B::bool_not(a)),
            ]
        }),
    );
    let tables: [[bool; 4]; 6] = [
        [false, false, false, true],
        [false, true, true, true],
        [false, true, true, false],
        [true, false, false, true],
        [false, true, true, false],
        [true, true, false, false],
    ];
    for (g, want) in got.iter().zip(tables) {
        assert_eq!(bool_values(g), want);
    }
}

// ---- shape ops ------------------------------------------------------------------------------

#[test]
fn reshape_transpose_permute_flip_expand() {
    for (i, shape) in all_shapes() {
        for layout in LAYOUTS {
            let x = bools(shape, 100 + i as u64);
            let case = case!(x: TensorData = x, layout: Layout = layout; |B, cx| {
                let x = cx.bl(&x, layout);
                let shape = x.shape();
                let rank = shape.num_dims();
                let n = shape.num_elements();
                let mut out = vec![
                    rb::<B>(B::bool_reshape(x.clone(), Shape::from(vec![n]))),
                    rb::<B>(B::bool_flip(x.clone(), &[rank - 1])),
                    rb::<B>(B::bool_flip(x.clone(), &(0..rank).collect::<Vec<_>>())),
                    // Flipping no axis is the identity.
                    rb::<B>(B::bool_flip(x.clone(), &[])),
                    // Broadcasting to a higher rank, directly and through a unit dim.
                    rb::<B>(B::bool_expand(x.clone(), Shape::from([&[2usize][..], shape.as_slice()].concat()))),
                    rb::<B>(B::bool_expand(
                        B::bool_reshape(x.clone(), Shape::from([&[1usize][..], shape.as_slice()].concat())),
                        Shape::from([&[3usize][..], shape.as_slice()].concat()),
                    )),
                ];
                if rank >= 2 {
                    let mut rev = shape.as_slice().to_vec();
                    rev.reverse();
                    out.push(rb::<B>(B::bool_transpose(x.clone())));
                    out.push(rb::<B>(B::bool_swap_dims(x.clone(), 0, rank - 1)));
                    out.push(rb::<B>(B::bool_permute(x.clone(), &(0..rank).rev().collect::<Vec<_>>())));
                    out.push(rb::<B>(B::bool_reshape(x.clone(), Shape::from(rev))));
                    out.push(rb::<B>(B::bool_flip(x.clone(), &[0, rank - 1])));
                }
                out
            });
            check(format!("shape ops {shape:?} {layout:?}"), Prec::F32, &case);
        }
    }
}

#[test]
fn repeat_dim_and_cat() {
    for (i, shape) in all_shapes() {
        let rank = shape.len();
        for dim in 0..rank {
            for layout in [Layout::Contiguous, Layout::Transposed, Layout::Stepped] {
                let x = bools(shape, 120 + i as u64);
                // Other operands of cat: the same shape, and one twice as long along `dim`.
                let mut long = shape.to_vec();
                long[dim] = (long[dim] * 2).max(1);
                let (y, z) = (bools(shape, 130 + i as u64), bools(&long, 140 + i as u64));
                let case = case!(x: TensorData = x, y: TensorData = y, z: TensorData = z, dim: usize = dim, layout: Layout = layout; |B, cx| {
                    let x = cx.bl(&x, layout);
                    let mut out = vec![
                        rb::<B>(B::bool_repeat_dim(x.clone(), dim, 1)),
                        rb::<B>(B::bool_repeat_dim(x.clone(), dim, 3)),
                        rb::<B>(B::bool_repeat_dim(x.clone(), dim, 0)),
                    ];
                    // Burn filters operands that are empty along the cat dim before the backend.
                    if x.shape()[dim] > 0 {
                        out.push(rb::<B>(B::bool_cat(
                            vec![x.clone(), cx.bl(&y, Layout::Reversed), cx.b(&z)],
                            dim,
                        )));
                        out.push(rb::<B>(B::bool_cat(vec![x], dim)));
                    }
                    out
                });
                check(
                    format!("repeat_dim/cat {shape:?} dim {dim} {layout:?}"),
                    Prec::F32,
                    &case,
                );
            }
        }
    }
}

#[test]
fn unfold_windows() {
    // (shape, dim, size, step): overlapping, disjoint, gapped, exact fit, one window.
    let cases: &[(&[usize], usize, usize, usize)] = &[
        (&[10], 0, 3, 1),
        (&[10], 0, 3, 3),
        (&[10], 0, 2, 4),
        (&[10], 0, 10, 1),
        (&[9], 0, 4, 5),
        (&[4, 7], 1, 3, 2),
        (&[7, 4], 0, 2, 2),
        (&[2, 6, 3], 1, 4, 1),
        (&[2, 6, 3], 2, 1, 1),
    ];
    for (i, (shape, dim, size, step)) in cases.iter().enumerate() {
        for layout in [Layout::Contiguous, Layout::Transposed, Layout::Reversed] {
            let x = bools(shape, 150 + i as u64);
            let case = case!(x: TensorData = x, p: (usize, usize, usize) = (*dim, *size, *step), layout: Layout = layout;
                |B, cx| rb::<B>(B::bool_unfold(cx.bl(&x, layout), p.0, p.1, p.2)));
            check(
                format!("unfold {shape:?} dim {dim} size {size} step {step} {layout:?}"),
                Prec::F32,
                &case,
            );
        }
    }
    // A window wider than the dim gives none: [3, 0, 3]. Checked here only, as ndarray panics
    // concatenating zero windows.
    let got = run_mlx(
        Prec::F32,
        &case!(|B, cx| rb::<B>(B::bool_unfold(cx.b(&bools([3, 2], 1)), 1, 3, 1))),
    );
    assert_eq!(got[0].shape.as_slice(), &[3, 0, 3]);
    // Windows written out: [t f t t f] with size 2, step 2 -> [[t f] [t t]].
    let x = TensorData::new(vec![true, false, true, true, false], [5]);
    let got = run_mlx(
        Prec::F32,
        &case!(x: TensorData = x; |B, cx| rb::<B>(B::bool_unfold(cx.b(&x), 0, 2, 2))),
    );
    assert_eq!(got[0].shape.as_slice(), &[2, 2]);
    assert_eq!(bool_values(&got[0]), vec![true, false, true, true]);
}

// ---- slicing and masking --------------------------------------------------------------------

/// Slices of a [6, 7, 5] tensor: steps, negative steps and indices, open ends (never empty:
/// Burn's tensor API handles empty slices before the backend).
fn slice_cases() -> Vec<Vec<Slice>> {
    let s = Slice::new;
    vec![
        vec![s(0, None, 1)],
        vec![s(1, Some(4), 1), s(2, None, 1)],
        vec![s(0, None, 2), s(1, Some(7), 3), s(0, Some(5), 2)],
        vec![s(0, None, -1)],
        vec![s(1, Some(5), -1), s(0, None, -2)],
        vec![s(0, None, -3), s(2, Some(6), -2), s(1, Some(4), -1)],
        vec![s(-4, Some(-1), 1), s(-3, None, 1)],
        vec![s(-5, None, 2), s(0, Some(-2), -2)],
        vec![s(5, None, -1), s(0, None, 7), s(4, Some(5), 1)],
        vec![s(0, None, 4), s(-1, None, -3), s(0, None, -1)],
    ]
}

fn sliced_shape(shape: &[usize], slices: &[Slice]) -> Vec<usize> {
    shape
        .iter()
        .enumerate()
        .map(|(d, n)| slices.get(d).map(|s| s.output_size(*n)).unwrap_or(*n))
        .collect()
}

#[test]
fn slice_and_slice_assign_with_steps() {
    let shape = [6usize, 7, 5];
    for (i, slices) in slice_cases().into_iter().enumerate() {
        for layout in [
            Layout::Contiguous,
            Layout::Permuted,
            Layout::Stepped,
            Layout::Reversed,
        ] {
            let x = bools(shape, 200 + i as u64);
            let v = bools(sliced_shape(&shape, &slices), 220 + i as u64);
            let case = case!(x: TensorData = x, v: TensorData = v, s: Vec<Slice> = slices.clone(), layout: Layout = layout; |B, cx| {
                let x = cx.bl(&x, layout);
                vec![
                    rb::<B>(B::bool_slice(x.clone(), &s)),
                    rb::<B>(B::bool_slice_assign(x, &s, cx.bl(&v, Layout::Transposed))),
                ]
            });
            check(
                format!("slice/slice_assign {slices:?} {layout:?}"),
                Prec::F32,
                &case,
            );
        }
    }
    // Written out: a negative step walks 1..5 from its end, so [t f] lands on positions 4, 2.
    let got = run_mlx(
        Prec::F32,
        &case!(|B, cx| rb::<B>(B::bool_slice_assign(
            B::bool_zeros(Shape::from(vec![5]), &cx.dev, BOOL_OUT),
            &[Slice::new(1, None, -2)],
            cx.b(&TensorData::new(vec![true, false], [2])),
        ))),
    );
    assert_eq!(bool_values(&got[0]), vec![false, false, false, false, true]);
}

#[test]
fn mask_where_and_mask_fill() {
    for (i, shape) in all_shapes() {
        for layout in LAYOUTS {
            let (x, v, m) = (
                bools(shape, 240 + i as u64),
                bools(shape, 250 + i as u64),
                bools(shape, 260 + i as u64),
            );
            let case = case!(x: TensorData = x, v: TensorData = v, m: TensorData = m, layout: Layout = layout; |B, cx| {
                let x = cx.bl(&x, layout);
                vec![
                    rb::<B>(B::bool_mask_where(x.clone(), cx.bl(&m, Layout::Reversed), cx.bl(&v, layout))),
                    rb::<B>(B::bool_mask_fill(x.clone(), cx.bl(&m, layout), Scalar::Bool(true))),
                    rb::<B>(B::bool_mask_fill(x.clone(), cx.b(&m), Scalar::Bool(false))),
                    rb::<B>(B::bool_mask_fill(x, cx.b(&m), Scalar::Int(1))),
                ]
            });
            check(
                format!("mask_where/mask_fill {shape:?} {layout:?}"),
                Prec::F32,
                &case,
            );
        }
    }
    // Masks and values reached through a broadcast view.
    let (x, v, m) = (bools([3, 4], 1), bools([1, 4], 2), bools([3, 1], 3));
    let case = case!(x: TensorData = x, v: TensorData = v, m: TensorData = m; |B, cx| {
        let shape = Shape::from(vec![3, 4]);
        let (m, v) = (B::bool_expand(cx.b(&m), shape.clone()), B::bool_expand(cx.b(&v), shape));
        vec![
            rb::<B>(B::bool_mask_where(cx.b(&x), m.clone(), v)),
            rb::<B>(B::bool_mask_fill(cx.b(&x), m, Scalar::Bool(true))),
        ]
    });
    check("mask_where/mask_fill expanded", Prec::F32, &case);
    // Written out: the mask picks the value, elsewhere the tensor stays.
    let got = run_mlx(
        Prec::F32,
        &case!(|B, cx| {
            let t = cx.b(&TensorData::new(vec![true, true, false, false], [4]));
            let m = cx.b(&TensorData::new(vec![true, false, true, false], [4]));
            let v = cx.b(&TensorData::new(vec![false, false, true, true], [4]));
            vec![
                rb::<B>(B::bool_mask_where(t.clone(), m.clone(), v)),
                rb::<B>(B::bool_mask_fill(t, m, Scalar::Bool(false))),
            ]
        }),
    );
    assert_eq!(bool_values(&got[0]), vec![false, true, true, false]);
    assert_eq!(bool_values(&got[1]), vec![false, true, false, false]);
}

// ---- gather / scatter / select --------------------------------------------------------------

/// `tensor` with `value[p]` OR-ed into position `p` with `p[dim]` replaced by `indices[p]`.
fn host_scatter_or(
    dim: usize,
    tensor: &TensorData,
    indices: &TensorData,
    value: &TensorData,
) -> TensorData {
    let shape = tensor.shape.as_slice().to_vec();
    let mut out = bool_values(tensor);
    let idx: Vec<i64> = indices.iter::<i64>().collect();
    let ishape = indices.shape.as_slice();
    for (flat, v) in bool_values(value).into_iter().enumerate() {
        let mut p = unravel(flat, ishape);
        p[dim] = idx[flat] as usize;
        out[ravel(&p, &shape)] |= v;
    }
    TensorData::new(out, shape)
}

/// `tensor` with slice `i` of `value` along `dim` OR-ed into slice `indices[i]`.
fn host_select_or(
    tensor: &TensorData,
    dim: usize,
    indices: &TensorData,
    value: &TensorData,
) -> TensorData {
    let shape = tensor.shape.as_slice().to_vec();
    let mut out = bool_values(tensor);
    let idx: Vec<i64> = indices.iter::<i64>().collect();
    let vshape = value.shape.as_slice();
    for (flat, v) in bool_values(value).into_iter().enumerate() {
        let mut p = unravel(flat, vshape);
        p[dim] = idx[p[dim]] as usize;
        out[ravel(&p, &shape)] |= v;
    }
    TensorData::new(out, shape)
}

/// (tensor shape, dim) pairs for the indexing ops.
const INDEXED: &[(&[usize], usize)] = &[
    (&[4, 5], 0),
    (&[4, 5], 1),
    (&[3, 4, 2], 1),
    (&[3, 4, 2], 2),
    (&[6], 0),
];

#[test]
fn gather_and_scatter_or() {
    for idx_dtype in [DType::I32, DType::I64] {
        for (i, (shape, dim)) in INDEXED.iter().enumerate() {
            let (shape, dim) = (*shape, *dim);
            // More index rows than the tensor has along `dim` (so targets repeat), and fewer.
            for extra in [2usize, 0] {
                let mut ishape = shape.to_vec();
                ishape[dim] = if extra == 0 { 1 } else { shape[dim] + extra };
                let x = bools(shape, 300 + i as u64);
                let idx = ints(&ishape, 310 + i as u64, 0, shape[dim] as i64, idx_dtype);
                let v = bools(&ishape, 320 + i as u64);
                for layout in [Layout::Contiguous, Layout::Transposed, Layout::Reversed] {
                    let case = case!(x: TensorData = x.clone(), idx: TensorData = idx.clone(), v: TensorData = v.clone(), dim: usize = dim, layout: Layout = layout; |B, cx| {
                        let x = cx.bl(&x, layout);
                        vec![
                            rb::<B>(B::bool_gather(dim, x.clone(), cx.il(&idx, layout))),
                            rb::<B>(B::bool_scatter_or(dim, x, cx.il(&idx, layout), cx.bl(&v, layout))),
                        ]
                    });
                    let label = format!(
                        "gather/scatter_or {shape:?} dim {dim} {ishape:?} {idx_dtype:?} {layout:?}"
                    );
                    check(&label, Prec::F32, &case);
                    // The OR semantics, computed here: a `true` already present or scattered
                    // by any duplicate index stays `true`.
                    let got = run_mlx(Prec::F32, &case);
                    assert_data_close(
                        &format!("{label} (host)"),
                        &got[1],
                        &host_scatter_or(dim, &x, &idx, &v),
                        Tol::EXACT,
                    );
                }
            }
        }
    }
    // Written out: every index hits slot 1 of [f f f]; only one value is true.
    let got = run_mlx(
        Prec::F32,
        &case!(|B, cx| rb::<B>(B::bool_scatter_or(
            0,
            B::bool_zeros(Shape::from(vec![3]), &cx.dev, BOOL_OUT),
            cx.i(&TensorData::new(vec![1i32, 1, 1, 1], [4])),
            cx.b(&TensorData::new(vec![false, true, false, false], [4])),
        ))),
    );
    assert_eq!(bool_values(&got[0]), vec![false, true, false]);
}

#[test]
fn select_and_select_or() {
    for idx_dtype in [DType::I32, DType::I64] {
        for (i, (shape, dim)) in INDEXED.iter().enumerate() {
            let (shape, dim) = (*shape, *dim);
            // From no index at all to more indices than the dim has (so some repeat).
            for n in [0usize, 1, 3, 7] {
                let x = bools(shape, 400 + i as u64);
                let idx = ints([n], 410 + (i * n) as u64, 0, shape[dim] as i64, idx_dtype);
                let mut vshape = shape.to_vec();
                vshape[dim] = n;
                let v = bools(&vshape, 420 + i as u64);
                for layout in [Layout::Contiguous, Layout::Permuted, Layout::Reversed] {
                    let case = case!(x: TensorData = x.clone(), idx: TensorData = idx.clone(), v: TensorData = v.clone(), dim: usize = dim, layout: Layout = layout; |B, cx| {
                        let x = cx.bl(&x, layout);
                        vec![
                            rb::<B>(B::bool_select(x.clone(), dim, cx.il(&idx, layout))),
                            rb::<B>(B::bool_select_or(x, dim, cx.il(&idx, layout), cx.bl(&v, layout))),
                        ]
                    });
                    let label = format!(
                        "select/select_or {shape:?} dim {dim} n {n} {idx_dtype:?} {layout:?}"
                    );
                    check(&label, Prec::F32, &case);
                    let got = run_mlx(Prec::F32, &case);
                    assert_data_close(
                        &format!("{label} (host)"),
                        &got[1],
                        &host_select_or(&x, dim, &idx, &v),
                        Tol::EXACT,
                    );
                }
            }
        }
    }
}

// ---- reductions and argwhere ----------------------------------------------------------------

#[test]
fn any_all() {
    for (i, shape) in all_shapes() {
        for layout in LAYOUTS {
            for (k, x) in [
                bools(shape, 500 + i as u64),
                mostly(shape, 510 + i as u64, true),
                mostly(shape, 520 + i as u64, false),
                TensorData::new(vec![true; shape.iter().product()], shape.to_vec()),
                TensorData::new(vec![false; shape.iter().product()], shape.to_vec()),
            ]
            .into_iter()
            .enumerate()
            {
                let case = case!(x: TensorData = x, layout: Layout = layout; |B, cx| {
                    let x = cx.bl(&x, layout);
                    let mut out = vec![rb::<B>(B::bool_any(x.clone())), rb::<B>(B::bool_all(x.clone()))];
                    for d in 0..x.shape().num_dims() {
                        out.push(rb::<B>(B::bool_any_dim(x.clone(), d)));
                        out.push(rb::<B>(B::bool_all_dim(x.clone(), d)));
                    }
                    out
                });
                check(
                    format!("any/all {shape:?} {layout:?} input {k}"),
                    Prec::F32,
                    &case,
                );
            }
        }
    }
    // Over nothing, `any` is false and `all` is true (shape [1]); along an empty dim likewise.
    let got = run_mlx(
        Prec::F32,
        &case!(|B, cx| {
            let x = cx.b(&bools([3, 0], 1));
            vec![
                rb::<B>(B::bool_any(x.clone())),
                rb::<B>(B::bool_all(x.clone())),
                rb::<B>(B::bool_any_dim(x.clone(), 1)),
                rb::<B>(B::bool_all_dim(x, 1)),
            ]
        }),
    );
    assert_eq!(got[0].shape.as_slice(), &[1]);
    assert_eq!(bool_values(&got[0]), vec![false]);
    assert_eq!(bool_values(&got[1]), vec![true]);
    assert_eq!(got[2].shape.as_slice(), &[3, 1]);
    assert_eq!(bool_values(&got[2]), vec![false; 3]);
    assert_eq!(bool_values(&got[3]), vec![true; 3]);
}

#[test]
fn argwhere() {
    for (i, shape) in all_shapes() {
        for layout in LAYOUTS {
            for out in [IntDType::I64, IntDType::I32] {
                for x in [
                    bools(shape, 600 + i as u64),
                    TensorData::new(vec![false; shape.iter().product()], shape.to_vec()),
                    TensorData::new(vec![true; shape.iter().product()], shape.to_vec()),
                ] {
                    let case = case!(x: TensorData = x, layout: Layout = layout, out: IntDType = out;
                        |B, cx| ri::<B>(burn_backend::read_sync(B::bool_argwhere(cx.bl(&x, layout), out))));
                    check(
                        format!("argwhere {shape:?} {layout:?} {out:?}"),
                        Prec::F32,
                        &case,
                    );
                }
            }
        }
    }
    // Written out: coordinates in row-major order, one row per true element.
    let x = TensorData::new(vec![false, true, false, true, true, false], [2, 3]);
    let got = run_mlx(
        Prec::F32,
        &case!(x: TensorData = x; |B, cx| ri::<B>(burn_backend::read_sync(B::bool_argwhere(cx.bl(&x, Layout::Transposed), IntDType::I64)))),
    );
    assert_eq!(got[0].shape.as_slice(), &[3, 2]);
    assert_eq!(got[0].to_vec::<i64>().unwrap(), vec![0, 1, 1, 0, 1, 1]);
}

// ---- through Autodiff -----------------------------------------------------------------------

#[test]
fn bool_ops_steer_gradients_through_autodiff() {
    // Bool tensors pass through Autodiff untracked; masks built from them must still select
    // which elements get a gradient.
    let case = grad_case!(x: TensorData = floats([4, 6], 1), a: TensorData = bools([4, 6], 2), b: TensorData = bools([1, 6], 3); |B, cx| {
        let x = cx.fg(&x);
        let b = B::bool_expand(cx.b(&b), Shape::from(vec![4, 6]));
        let a = cx.bl(&a, Layout::Transposed);
        let m = B::bool_or(B::bool_and(a.clone(), B::bool_not(b.clone())), B::bool_xor(a, b));
        let m = B::bool_flip(B::bool_slice_assign(m, &[Slice::new(0, Some(2), 1)], B::bool_ones(Shape::from(vec![2, 6]), &cx.dev, BOOL_OUT)), &[1]);
        let y = B::float_mask_fill(x.clone(), m.clone(), Scalar::Float(0.0));
        let g = cx.backward(y.clone(), 4);
        (rf::<B>(y), cx.grad(&x, &g), rb::<B>(m))
    });
    check_grad("masked gradient", Prec::F32, &case);
}
