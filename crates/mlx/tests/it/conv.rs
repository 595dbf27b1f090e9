//! Convolutions against a naive reference implemented here, dtypes, layouts, errors and
//! finite-difference gradients.

use crate::common;
use common::mlx_message;

use common::{assert_close, check_grad, sample, values};

/// A deterministic float32 input (MLX's CPU convolutions compute in float32 precision; see
/// `float64_is_not_computed_in_double_precision`).
fn sample32(shape: &[i32], seed: u64) -> Array {
    sample(shape, seed, -1.0, 1.0)
        .astype(Dtype::Float32)
        .unwrap()
}
use mlx::ops::Idx;
use mlx::ops::{
    self, ConvGeneralOptions, ConvOptions, ConvTransposeOptions, conv_general, conv_transpose1d,
    conv_transpose2d, conv_transpose3d, conv1d, conv2d, conv3d,
};
use mlx::{Array, Dtype, Error};

// ---- naive references -------------------------------------------------------------------------

/// Row-major offset of `idx` in `shape`.
fn offset(idx: &[usize], shape: &[usize]) -> usize {
    idx.iter().zip(shape).fold(0, |acc, (i, n)| acc * n + i)
}

/// Calls `f` with every multi-index of `shape`, in row-major order.
fn for_each_index(shape: &[usize], mut f: impl FnMut(&[usize])) {
    if shape.contains(&0) {
        return;
    }
    let mut idx = vec![0; shape.len()];
    loop {
        f(&idx);
        let mut d = shape.len();
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
}

#[derive(Clone)]
struct General {
    stride: Vec<i64>,
    pad_lo: Vec<i64>,
    pad_hi: Vec<i64>,
    kernel_dilation: Vec<i64>,
    input_dilation: Vec<i64>,
    groups: usize,
    flip: bool,
}

impl General {
    fn plain(d: usize) -> General {
        General {
            stride: vec![1; d],
            pad_lo: vec![0; d],
            pad_hi: vec![0; d],
            kernel_dilation: vec![1; d],
            input_dilation: vec![1; d],
            groups: 1,
            flip: false,
        }
    }
}

/// Cross-correlation of `x` [N, S…, C] with `w` [O, K…, C / groups], straight from the
/// definition: the input is dilated, then padded, then the (dilated, maybe flipped) kernel slides
/// over it.
fn ref_conv(
    x: &[f64],
    xs: &[usize],
    w: &[f64],
    ws: &[usize],
    p: &General,
) -> (Vec<f64>, Vec<usize>) {
    let d = xs.len() - 2;
    let (n, c) = (xs[0], xs[d + 1]);
    let (o, cg) = (ws[0], ws[d + 1]);
    assert_eq!(c, cg * p.groups);
    let og = o / p.groups;
    let mut out_shape = vec![n];
    for j in 0..d {
        let dilated = (xs[1 + j] as i64 - 1) * p.input_dilation[j] + 1;
        let padded = dilated + p.pad_lo[j] + p.pad_hi[j];
        let extent = (ws[1 + j] as i64 - 1) * p.kernel_dilation[j] + 1;
        out_shape.push(((padded - extent) / p.stride[j] + 1) as usize);
    }
    out_shape.push(o);
    let mut out = vec![0.0; out_shape.iter().product()];
    let kshape = &ws[1..=d];
    for_each_index(&out_shape, |oi| {
        let (b, oc) = (oi[0], oi[d + 1]);
        let g = oc / og;
        let mut acc = 0.0;
        for_each_index(kshape, |k| {
            let mut xi = vec![b];
            for j in 0..d {
                let pos = oi[1 + j] as i64 * p.stride[j] + k[j] as i64 * p.kernel_dilation[j]
                    - p.pad_lo[j];
                if pos < 0 || pos % p.input_dilation[j] != 0 {
                    return;
                }
                let src = pos / p.input_dilation[j];
                if src >= xs[1 + j] as i64 {
                    return;
                }
                xi.push(src as usize);
            }
            let kk: Vec<usize> = (0..d)
                .map(|j| if p.flip { kshape[j] - 1 - k[j] } else { k[j] })
                .collect();
            for ci in 0..cg {
                let mut xfull = xi.clone();
                xfull.push(g * cg + ci);
                let mut wfull = vec![oc];
                wfull.extend_from_slice(&kk);
                wfull.push(ci);
                acc += x[offset(&xfull, xs)] * w[offset(&wfull, ws)];
            }
        });
        out[offset(oi, &out_shape)] = acc;
    });
    (out, out_shape)
}

struct Transposed<'a> {
    stride: &'a [i64],
    padding: &'a [i64],
    dilation: &'a [i64],
    output_padding: &'a [i64],
    groups: usize,
}

/// Transposed convolution of `x` [N, S…, C_in] with `w` [O, K…, C_in / groups] from its
/// definition: every input element adds `x · w[:, k]` at output position
/// `i·stride + k·dilation - padding`; the output has
/// `(L - 1)·stride - 2·padding + dilation·(K - 1) + 1 + output_padding` elements per axis.
fn ref_conv_transpose(
    x: &[f64],
    xs: &[usize],
    w: &[f64],
    ws: &[usize],
    t: &Transposed<'_>,
) -> (Vec<f64>, Vec<usize>) {
    let Transposed {
        stride,
        padding,
        dilation,
        output_padding,
        groups,
    } = t;
    let groups = *groups;
    let d = xs.len() - 2;
    let (c, o, cg) = (xs[d + 1], ws[0], ws[d + 1]);
    assert_eq!(c, cg * groups);
    let og = o / groups;
    let mut out_shape = vec![xs[0]];
    for j in 0..d {
        let l = (xs[1 + j] as i64 - 1) * stride[j] - 2 * padding[j]
            + dilation[j] * (ws[1 + j] as i64 - 1)
            + 1
            + output_padding[j];
        out_shape.push(l as usize);
    }
    out_shape.push(o);
    let mut out = vec![0.0; out_shape.iter().product()];
    let kshape = ws[1..=d].to_vec();
    for_each_index(xs, |xi| {
        let ci = xi[d + 1];
        let g = ci / cg;
        let xv = x[offset(xi, xs)];
        for_each_index(&kshape, |k| {
            let mut oi = vec![xi[0]];
            for j in 0..d {
                let pos = xi[1 + j] as i64 * stride[j] + k[j] as i64 * dilation[j] - padding[j];
                if pos < 0 || pos >= out_shape[1 + j] as i64 {
                    return;
                }
                oi.push(pos as usize);
            }
            for oc in g * og..(g + 1) * og {
                let mut wi = vec![oc];
                wi.extend_from_slice(k);
                wi.push(ci - g * cg);
                let mut full = oi.clone();
                full.push(oc);
                out[offset(&full, &out_shape)] += xv * w[offset(&wi, ws)];
            }
        });
    });
    (out, out_shape)
}

fn dims(a: &Array) -> Vec<usize> {
    a.shape().iter().map(|&d| d as usize).collect()
}

fn shape_i32(s: &[usize]) -> Vec<i32> {
    s.iter().map(|&d| d as i32).collect()
}

fn check_against(got: &Array, want: &(Vec<f64>, Vec<usize>), tol: f64) {
    assert_eq!(got.shape(), shape_i32(&want.1).as_slice());
    assert_close(got, &want.0, tol, tol);
}

// ---- forward values -----------------------------------------------------------------------------

#[test]
fn conv1d_matches_reference() {
    let cases: Vec<(ConvOptions<1>, usize, usize)> = vec![
        // (options, C_in, C_out)
        (ConvOptions::new(), 3, 2),
        (ConvOptions::new().with_stride(2), 3, 2),
        (ConvOptions::new().with_padding(2), 2, 1),
        (ConvOptions::new().with_dilation(2).with_padding(1), 2, 3),
        (ConvOptions::new().with_groups(2), 4, 6),
        (
            ConvOptions::new()
                .with_groups(3)
                .with_stride(3)
                .with_padding(1)
                .with_dilation(2),
            3,
            3,
        ),
    ];
    for (k, (o, cin, cout)) in cases.into_iter().enumerate() {
        let x = sample32(&[2, 9, cin as i32], 10 + k as u64);
        let w = sample32(
            &[cout as i32, 3, (cin / o.groups as usize) as i32],
            20 + k as u64,
        );
        let mut p = General::plain(1);
        p.stride = vec![o.stride[0].into()];
        p.pad_lo = vec![o.padding[0].into()];
        p.pad_hi = p.pad_lo.clone();
        p.kernel_dilation = vec![o.dilation[0].into()];
        p.groups = o.groups as usize;
        let want = ref_conv(&values(&x), &dims(&x), &values(&w), &dims(&w), &p);
        check_against(&conv1d(&x, &w, o).unwrap(), &want, 1e-5);
    }
}

#[test]
fn conv2d_matches_reference() {
    let cases: Vec<(ConvOptions<2>, usize, usize)> = vec![
        (ConvOptions::new(), 2, 3),
        (
            ConvOptions::new().with_stride([2, 1]).with_padding([1, 2]),
            2,
            2,
        ),
        (ConvOptions::new().with_dilation([1, 2]), 1, 2),
        (
            ConvOptions::new()
                .with_groups(2)
                .with_stride(2)
                .with_padding(1),
            4,
            2,
        ),
    ];
    for (k, (o, cin, cout)) in cases.into_iter().enumerate() {
        let x = sample32(&[2, 6, 5, cin as i32], 30 + k as u64);
        let w = sample32(
            &[cout as i32, 3, 2, (cin / o.groups as usize) as i32],
            40 + k as u64,
        );
        let mut p = General::plain(2);
        p.stride = o.stride.iter().map(|&v| v.into()).collect();
        p.pad_lo = o.padding.iter().map(|&v| v.into()).collect();
        p.pad_hi = p.pad_lo.clone();
        p.kernel_dilation = o.dilation.iter().map(|&v| v.into()).collect();
        p.groups = o.groups as usize;
        let want = ref_conv(&values(&x), &dims(&x), &values(&w), &dims(&w), &p);
        check_against(&conv2d(&x, &w, o).unwrap(), &want, 1e-5);
    }
}

#[test]
fn conv3d_matches_reference() {
    let cases: Vec<ConvOptions<3>> = vec![
        ConvOptions::new(),
        ConvOptions::new()
            .with_stride([1, 2, 1])
            .with_padding([1, 0, 2]),
        ConvOptions::new().with_dilation([2, 1, 1]).with_padding(1),
    ];
    for (k, o) in cases.into_iter().enumerate() {
        let x = sample32(&[1, 5, 4, 4, 2], 50 + k as u64);
        let w = sample32(&[3, 2, 2, 3, 2], 60 + k as u64);
        let mut p = General::plain(3);
        p.stride = o.stride.iter().map(|&v| v.into()).collect();
        p.pad_lo = o.padding.iter().map(|&v| v.into()).collect();
        p.pad_hi = p.pad_lo.clone();
        p.kernel_dilation = o.dilation.iter().map(|&v| v.into()).collect();
        let want = ref_conv(&values(&x), &dims(&x), &values(&w), &dims(&w), &p);
        check_against(&conv3d(&x, &w, o).unwrap(), &want, 1e-5);
    }
}

#[test]
fn transposed_convolutions_match_reference() {
    // 1-D: stride, padding, dilation, output padding, groups.
    let cases: Vec<(ConvTransposeOptions<1>, usize, usize)> = vec![
        (ConvTransposeOptions::new(), 2, 3),
        (ConvTransposeOptions::new().with_stride(2), 2, 1),
        (
            ConvTransposeOptions::new()
                .with_stride(3)
                .with_padding(1)
                .with_output_padding(2),
            1,
            2,
        ),
        (
            ConvTransposeOptions::new().with_dilation(2).with_padding(2),
            3,
            2,
        ),
        (
            ConvTransposeOptions::new()
                .with_groups(2)
                .with_stride(2)
                .with_output_padding(1),
            4,
            4,
        ),
    ];
    for (k, (o, cin, cout)) in cases.into_iter().enumerate() {
        let x = sample32(&[2, 4, cin as i32], 70 + k as u64);
        let w = sample32(
            &[cout as i32, 3, (cin / o.groups as usize) as i32],
            80 + k as u64,
        );
        let want = ref_conv_transpose(
            &values(&x),
            &dims(&x),
            &values(&w),
            &dims(&w),
            &Transposed {
                stride: &[o.stride[0].into()],
                padding: &[o.padding[0].into()],
                dilation: &[o.dilation[0].into()],
                output_padding: &[o.output_padding[0].into()],
                groups: o.groups as usize,
            },
        );
        check_against(&conv_transpose1d(&x, &w, o).unwrap(), &want, 1e-5);
    }
    // 2-D with groups and per-axis parameters.
    let o = ConvTransposeOptions::<2>::new()
        .with_stride([2, 1])
        .with_padding([1, 0])
        .with_dilation([1, 2])
        .with_output_padding([1, 0])
        .with_groups(2);
    let x = sample32(&[1, 3, 4, 4], 90);
    let w = sample32(&[2, 3, 2, 2], 91);
    let want = ref_conv_transpose(
        &values(&x),
        &dims(&x),
        &values(&w),
        &dims(&w),
        &Transposed {
            stride: &[2, 1],
            padding: &[1, 0],
            dilation: &[1, 2],
            output_padding: &[1, 0],
            groups: 2,
        },
    );
    check_against(&conv_transpose2d(&x, &w, o).unwrap(), &want, 1e-5);
    let o = ConvTransposeOptions::<2>::new()
        .with_stride(2)
        .with_padding([3, 1]);
    let x = sample32(&[1, 4, 4, 4], 94);
    let w = sample32(&[3, 2, 2, 4], 95);
    let want = ref_conv_transpose(
        &values(&x),
        &dims(&x),
        &values(&w),
        &dims(&w),
        &Transposed {
            stride: &[2, 2],
            padding: &[3, 1],
            dilation: &[1, 1],
            output_padding: &[0, 0],
            groups: 1,
        },
    );
    check_against(&conv_transpose2d(&x, &w, o).unwrap(), &want, 1e-5);
    // 3-D.
    let o = ConvTransposeOptions::<3>::new()
        .with_stride([2, 1, 2])
        .with_padding([0, 1, 1])
        .with_output_padding([1, 0, 0]);
    let x = sample32(&[1, 2, 3, 3, 2], 92);
    let w = sample32(&[2, 2, 3, 2, 2], 93);
    let want = ref_conv_transpose(
        &values(&x),
        &dims(&x),
        &values(&w),
        &dims(&w),
        &Transposed {
            stride: &[2, 1, 2],
            padding: &[0, 1, 1],
            dilation: &[1, 1, 1],
            output_padding: &[1, 0, 0],
            groups: 1,
        },
    );
    check_against(&conv_transpose3d(&x, &w, o).unwrap(), &want, 1e-5);
}

#[test]
fn conv_general_matches_reference() {
    let x = sample32(&[2, 5, 4, 2], 100);
    let w = sample32(&[3, 2, 3, 2], 101);
    let o = ConvGeneralOptions::new()
        .with_stride(&[2, 1])
        .with_padding_lo_hi(&[1, 0], &[0, 2])
        .with_kernel_dilation(&[1, 2])
        .with_input_dilation(&[2, 1])
        .with_flip(true);
    let p = General {
        stride: vec![2, 1],
        pad_lo: vec![1, 0],
        pad_hi: vec![0, 2],
        kernel_dilation: vec![1, 2],
        input_dilation: vec![2, 1],
        groups: 1,
        flip: true,
    };
    let want = ref_conv(&values(&x), &dims(&x), &values(&w), &dims(&w), &p);
    check_against(&conv_general(&x, &w, o).unwrap(), &want, 1e-5);
    // One value for every dimension, and negative padding (crops the input).
    let o = ConvGeneralOptions::new()
        .with_padding(&[-1])
        .with_stride(&[1]);
    let w = sample32(&[3, 2, 2, 2], 104);
    let cropped = x
        .index((.., Idx::slice(1, -1, 1), Idx::slice(1, -1, 1)))
        .unwrap();
    let want = ref_conv(
        &values(&cropped),
        &dims(&cropped),
        &values(&w),
        &dims(&w),
        &General::plain(2),
    );
    check_against(&conv_general(&x, &w, o).unwrap(), &want, 1e-5);
    // Groups.
    let x = sample32(&[1, 6, 4], 102);
    let w = sample32(&[2, 2, 2], 103);
    let mut p = General::plain(1);
    p.groups = 2;
    let want = ref_conv(&values(&x), &dims(&x), &values(&w), &dims(&w), &p);
    check_against(
        &conv_general(&x, &w, ConvGeneralOptions::new().with_groups(2)).unwrap(),
        &want,
        1e-5,
    );
}

#[test]
fn layouts_views_dtypes_and_empty_batches() {
    // Channels-last by hand: one position, two input channels, three output channels.
    let x = mlx::array![[[1.0, 2.0]]]; // [N=1, L=1, C=2]
    let w = mlx::array![[[1.0, 0.0]], [[0.0, 1.0]], [[1.0, 1.0]]]; // [O=3, K=1, C=2]
    assert_eq!(
        values(&conv1d(&x, &w, ConvOptions::new()).unwrap()),
        vec![1.0, 2.0, 3.0]
    );

    // A non-contiguous input (transposed from [N, C, L]) gives the same result as its copy.
    let ncl = sample32(&[2, 3, 7], 110);
    let nlc = ncl.transpose(Some(&[0, 2, 1])).unwrap();
    assert!(!nlc.is_row_contiguous().unwrap());
    let w = sample32(&[4, 3, 3], 111);
    let want = ref_conv(
        &values(&nlc),
        &dims(&nlc),
        &values(&w),
        &dims(&w),
        &General::plain(1),
    );
    check_against(&conv1d(&nlc, &w, ConvOptions::new()).unwrap(), &want, 1e-5);
    // A non-contiguous weight too (a strided slice).
    let wide = sample32(&[4, 6, 3], 112);
    let w2 = wide.index(mlx::idx![.., ..;2]).unwrap();
    let want = ref_conv(
        &values(&nlc),
        &dims(&nlc),
        &values(&w2),
        &dims(&w2),
        &General::plain(1),
    );
    check_against(&conv1d(&nlc, &w2, ConvOptions::new()).unwrap(), &want, 1e-5);

    // float16, bfloat16: same values within their precision; mixed types promote.
    let x = sample32(&[1, 6, 6, 2], 113);
    let w = sample32(&[2, 3, 3, 2], 114);
    let want = ref_conv(
        &values(&x),
        &dims(&x),
        &values(&w),
        &dims(&w),
        &General::plain(2),
    );
    for (dtype, tol) in [
        (Dtype::Float16, 2e-2),
        (Dtype::Bfloat16, 8e-2),
        (Dtype::Float32, 1e-5),
    ] {
        let got = conv2d(
            &x.astype(dtype).unwrap(),
            &w.astype(dtype).unwrap(),
            ConvOptions::new(),
        );
        let got = got.unwrap();
        assert_eq!(got.dtype(), dtype);
        check_against(&got, &want, tol);
    }
    let mixed = conv2d(
        &x.astype(Dtype::Float16).unwrap(),
        &w.astype(Dtype::Float32).unwrap(),
        ConvOptions::new(),
    );
    assert_eq!(mixed.unwrap().dtype(), Dtype::Float32);

    // An empty batch.
    let e = Array::zeros::<f32>(&[0, 5, 2]).unwrap();
    let w = Array::ones::<f32>(&[3, 2, 2]).unwrap();
    let y = conv1d(&e, &w, ConvOptions::new()).unwrap();
    assert_eq!(y.shape(), &[0, 4, 3]);
    assert_eq!(y.size(), 0);
}

#[test]
fn convolution_errors() {
    let x = Array::ones::<f32>(&[1, 5, 4]).unwrap();
    let w = Array::ones::<f32>(&[2, 3, 4]).unwrap();
    let m = mlx_message(
        conv1d(
            &x,
            &Array::ones::<f32>(&[2, 3, 3]).unwrap(),
            ConvOptions::new(),
        )
        .unwrap_err(),
    );
    assert!(
        m.contains("Expect the input channels in the input and weight array to match"),
        "{m}"
    );
    let m = mlx_message(
        conv1d(
            &x,
            &Array::ones::<f32>(&[3, 3, 2]).unwrap(),
            ConvOptions::new().with_groups(2),
        )
        .unwrap_err(),
    );
    assert!(
        m.contains("the output channels must be divisible by the number of groups"),
        "{m}"
    );
    let m = mlx_message(conv1d(&x, &w, ConvOptions::new().with_groups(3)).unwrap_err());
    assert!(
        m.contains("The input channels must be divisible by the number of groups"),
        "{m}"
    );
    let m =
        mlx_message(conv1d(&x.astype(Dtype::Int32).unwrap(), &w, ConvOptions::new()).unwrap_err());
    assert!(
        m.contains("Convolution currently only supports floating point types"),
        "{m}"
    );
    let m = mlx_message(conv2d(&x, &w, ConvOptions::new()).unwrap_err());
    assert!(
        m.contains("[conv] Invalid strides (1,1) for 1D convolution"),
        "{m}"
    );
    let m = mlx_message(
        conv2d(&x.reshape(&[1, 5, 2, 2]).unwrap(), &w, ConvOptions::new()).unwrap_err(),
    );
    assert!(
        m.contains("Invalid weight array with 3 dimensions for 2D convolution"),
        "{m}"
    );
    let m = mlx_message(
        conv1d(
            &x,
            &Array::ones::<f32>(&[2, 6, 4]).unwrap(),
            ConvOptions::new(),
        )
        .unwrap_err(),
    );
    assert!(
        m.contains("cannot be smaller than weight spatial dimensions"),
        "{m}"
    );
    let m = mlx_message(conv1d(&x, &w, ConvOptions::new().with_stride(0)).unwrap_err());
    assert!(m.contains("Stride sizes must be positive"), "{m}");
    let m = mlx_message(conv1d(&x, &w, ConvOptions::new().with_dilation(0)).unwrap_err());
    assert!(m.contains("Kernel dilation sizes must be positive"), "{m}");
    let x3 = Array::ones::<f32>(&[1, 3, 3, 3, 4]).unwrap();
    let w3 = Array::ones::<f32>(&[2, 1, 1, 1, 2]).unwrap();
    let m = mlx_message(conv3d(&x3, &w3, ConvOptions::new().with_groups(2)).unwrap_err());
    assert!(
        m.contains("Can only handle groups != 1 in 1D or 2D convolutions"),
        "{m}"
    );
    // MLX would divide by a zero group count; rejected before reaching it.
    let e = conv1d(&x, &w, ConvOptions::new().with_groups(0)).unwrap_err();
    assert!(
        matches!(&e, Error::InvalidArgument(m) if m.contains("groups must be positive")),
        "{e:?}"
    );
    let e = conv_general(&x, &w, ConvGeneralOptions::new().with_groups(-1)).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)));
    let m = mlx_message(
        conv_general(&x, &w, ConvGeneralOptions::new().with_input_dilation(&[0])).unwrap_err(),
    );
    assert!(m.contains("[conv]"), "{m}");
}

#[test]
fn float64_is_not_computed_in_double_precision() {
    // MLX 0.32's CPU convolutions accept float64 and return float64, but compute in float32
    // precision, and the transposed / input-dilated path rejects float64 when evaluating.
    let x = sample(&[1, 7, 2], 140, -1.0, 1.0);
    let w = sample(&[2, 3, 2], 141, -1.0, 1.0);
    let want = ref_conv(
        &values(&x),
        &dims(&x),
        &values(&w),
        &dims(&w),
        &General::plain(1),
    );
    let got = conv1d(&x, &w, ConvOptions::new()).unwrap();
    assert_eq!(got.dtype(), Dtype::Float64);
    check_against(&got, &want, 1e-5);
    let worst = values(&got)
        .iter()
        .zip(&want.0)
        .map(|(g, w)| (g - w).abs())
        .fold(0.0, f64::max);
    assert!(
        worst > 1e-12,
        "float64 convolution became exact ({worst}): use float64 in the tests"
    );
    let t = conv_transpose1d(&x, &w, ConvTransposeOptions::new().with_stride(2)).unwrap();
    let m = mlx_message(t.eval().unwrap_err());
    assert!(m.contains("unsupported data type"), "{m}");
}

// ---- gradients --------------------------------------------------------------------------------

fn weighted_sum(y: &Array) -> mlx::Result<Array> {
    let w = ops::arange(1.0, y.size() as f64 + 1.0, 1.0, Dtype::Float64)?.reshape(y.shape())?;
    (&(y * &w) * &(y * 0.5 + 1.0)).sum(None, false)
}

fn grads_both(f: impl Fn(&[Array]) -> mlx::Result<Array> + Copy, x: &Array, w: &Array) {
    let inputs = [x.clone(), w.clone()];
    check_grad(move |v| weighted_sum(&f(v)?), &inputs, 0, 1e-3, 1e-2);
    check_grad(move |v| weighted_sum(&f(v)?), &inputs, 1, 1e-3, 1e-2);
}

#[test]
fn gradients_of_convolutions() {
    let x = sample32(&[1, 6, 2], 120);
    let w = sample32(&[2, 3, 1], 121);
    grads_both(
        |v| {
            conv1d(
                &v[0],
                &v[1],
                ConvOptions::new()
                    .with_stride(2)
                    .with_padding(1)
                    .with_groups(2),
            )
        },
        &x,
        &w,
    );
    let x = sample32(&[1, 4, 3, 2], 122);
    let w = sample32(&[2, 2, 2, 2], 123);
    grads_both(
        |v| {
            conv2d(
                &v[0],
                &v[1],
                ConvOptions::new()
                    .with_padding([1, 0])
                    .with_dilation([1, 2]),
            )
        },
        &x,
        &w,
    );
    let x = sample32(&[1, 3, 3, 2, 1], 124);
    let w = sample32(&[2, 2, 2, 1, 1], 125);
    grads_both(
        |v| conv3d(&v[0], &v[1], ConvOptions::new().with_stride([2, 1, 1])),
        &x,
        &w,
    );
}

#[test]
fn gradients_of_transposed_convolutions() {
    let x = sample32(&[1, 3, 2], 130);
    let w = sample32(&[2, 3, 2], 131);
    grads_both(
        |v| {
            conv_transpose1d(
                &v[0],
                &v[1],
                ConvTransposeOptions::new()
                    .with_stride(2)
                    .with_padding(1)
                    .with_dilation(2),
            )
        },
        &x,
        &w,
    );
    // With output padding (MLX's own gradient is wrong there; the wrapper avoids it).
    for (l, k, stride, padding, dilation, output_padding) in [
        (2, 1, 2, 0, 1, 1),
        (3, 2, 3, 1, 1, 2),
        (2, 3, 2, 1, 2, 1),
        (4, 2, 2, 2, 1, 1),
    ] {
        let x = sample32(&[1, l, 2], 140 + l as u64);
        let w = sample32(&[2, k, 2], 150 + k as u64);
        let o = ConvTransposeOptions::new()
            .with_stride(stride)
            .with_padding(padding)
            .with_dilation(dilation)
            .with_output_padding(output_padding);
        let want = ref_conv_transpose(
            &values(&x),
            &dims(&x),
            &values(&w),
            &dims(&w),
            &Transposed {
                stride: &[stride.into()],
                padding: &[padding.into()],
                dilation: &[dilation.into()],
                output_padding: &[output_padding.into()],
                groups: 1,
            },
        );
        check_against(&conv_transpose1d(&x, &w, o).unwrap(), &want, 1e-5);
        let inputs = [x, w];
        let f = move |v: &[Array]| weighted_sum(&conv_transpose1d(&v[0], &v[1], o)?);
        check_grad(f, &inputs, 0, 1e-3, 1e-2);
        check_grad(f, &inputs, 1, 1e-3, 1e-2);
    }
    let x = sample32(&[1, 2, 3, 2], 132);
    let w = sample32(&[2, 2, 2, 1], 133);
    grads_both(
        |v| {
            conv_transpose2d(
                &v[0],
                &v[1],
                ConvTransposeOptions::new()
                    .with_stride([2, 1])
                    .with_output_padding([1, 0])
                    .with_groups(2),
            )
        },
        &x,
        &w,
    );
    let x = sample32(&[1, 2, 2, 2, 1], 134);
    let w = sample32(&[1, 2, 1, 2, 1], 135);
    grads_both(
        |v| {
            conv_transpose3d(
                &v[0],
                &v[1],
                ConvTransposeOptions::new()
                    .with_stride(2)
                    .with_padding([0, 1, 0])
                    .with_output_padding([0, 1, 1]),
            )
        },
        &x,
        &w,
    );
    let x = sample32(&[1, 4, 1], 136);
    let w = sample32(&[1, 2, 1], 137);
    grads_both(
        |v| {
            conv_general(
                &v[0],
                &v[1],
                ConvGeneralOptions::new()
                    .with_input_dilation(&[2])
                    .with_padding(&[1])
                    .with_flip(true),
            )
        },
        &x,
        &w,
    );
}
