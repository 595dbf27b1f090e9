//! The crate's own CPU kernels against references computed here: `ops::window_max_2d` (max
//! pooling), `ops::conv_channel_major` and `ops::exp_vectorized`.

use crate::common;
use common::{assert_close, assert_err, sample, sample_f32, unravel, values};

use mlx::ops::{
    self, ChannelMajorConv, Windows2d, conv_channel_major, exp_vectorized, window_max_2d,
};
use mlx::transforms;
use mlx::{Array, Device, Dtype, Stream};

/// Runs `f` on the CPU stream (the kernel's only device).
fn on_cpu<T>(f: impl FnOnce() -> T) -> T {
    mlx::with_stream(Stream::default_for(Device::cpu()).unwrap(), f)
}

/// The maxima and positions of every window, by the kernel's definition: strictly greater
/// replaces, NaN never does, `-inf` and position 0 where nothing exceeds `-inf`.
fn reference(x: &[f64], shape: [usize; 4], g: &Windows2d) -> (Vec<f64>, Vec<f64>) {
    let [n, c, h, w] = shape;
    let (oh, ow) = (g.out[0] as usize, g.out[1] as usize);
    let (mut best, mut at) = (Vec::new(), Vec::new());
    for i in 0..n * c {
        for y in 0..oh as i64 {
            for z in 0..ow as i64 {
                let (mut m, mut p) = (f64::NEG_INFINITY, 0usize);
                for ky in 0..g.kernel[0] as i64 {
                    for kx in 0..g.kernel[1] as i64 {
                        let row = y * g.stride[0] as i64 - g.padding[0] as i64
                            + ky * g.dilation[0] as i64;
                        let col = z * g.stride[1] as i64 - g.padding[1] as i64
                            + kx * g.dilation[1] as i64;
                        if row < 0 || col < 0 || row >= h as i64 || col >= w as i64 {
                            continue;
                        }
                        let v = x[i * h * w + row as usize * w + col as usize];
                        if v > m {
                            (m, p) = (v, row as usize * w + col as usize);
                        }
                    }
                }
                best.push(m);
                at.push(p as f64);
            }
        }
    }
    (best, at)
}

/// `[2, 3, h, w]` samples with NaN, `-inf` and repeated maxima sprinkled in.
fn awkward_input(h: i32, w: i32, seed: u64) -> Vec<f64> {
    let mut x = values(&sample(&[2, 3, h, w], seed, -2.0, 2.0));
    for (k, v) in x.iter_mut().enumerate() {
        match k % 11 {
            3 => *v = f64::NAN,
            7 => *v = f64::NEG_INFINITY,
            9 => *v = 1.5,
            _ => {}
        }
    }
    x
}

/// The common pooling: 2×2 windows side by side, `out` of them per axis.
fn pool_2x2(out: [i32; 2]) -> Windows2d {
    Windows2d {
        kernel: [2, 2],
        stride: [2, 2],
        padding: [0, 0],
        dilation: [1, 1],
        out,
    }
}

/// Asserts equality, NaN included (maxima are never computed, only chosen).
fn assert_same(got: &Array, want: &[f64]) {
    let g = values(got);
    assert_eq!(g.len(), want.len());
    for (k, (a, b)) in g.iter().zip(want).enumerate() {
        assert!(
            a == b || (a.is_nan() && b.is_nan()),
            "element {k} ({:?}): got {a}, want {b}",
            unravel(k, got.shape())
        );
    }
}

#[test]
fn window_max_2d_matches_the_reference_over_geometries() {
    let cases = [
        // kernel, stride, padding, dilation, extra windows (ceil mode)
        ([2, 2], [2, 2], [0, 0], [1, 1], [0, 0]),
        ([3, 3], [1, 1], [1, 1], [1, 1], [0, 0]),
        ([3, 2], [2, 1], [1, 0], [2, 1], [0, 0]),
        ([2, 3], [3, 2], [0, 1], [1, 2], [1, 1]),
        ([1, 1], [1, 1], [0, 0], [1, 1], [0, 0]),
        ([4, 4], [1, 1], [2, 2], [1, 1], [0, 0]),
    ];
    for (seed, (kernel, stride, padding, dilation, extra)) in cases.into_iter().enumerate() {
        let (h, w) = (7, 9);
        let span = |j: usize, size: i32| {
            (size + 2 * padding[j] - dilation[j] * (kernel[j] - 1) - 1) / stride[j] + 1 + extra[j]
        };
        let g = Windows2d {
            kernel,
            stride,
            padding,
            dilation,
            out: [span(0, h), span(1, w)],
        };
        let data: Vec<f64> = awkward_input(h, w, seed as u64)
            .iter()
            .map(|v| *v as f32 as f64)
            .collect();
        let x = on_cpu(|| Array::from_slice(&data, &[2, 3, h, w])?.astype(Dtype::Float32)).unwrap();
        let (best, at) = on_cpu(|| window_max_2d(&x, &g, true)).unwrap();
        let (want_best, want_at) = reference(&data, [2, 3, h as usize, w as usize], &g);
        assert_eq!(best.shape(), &[2, 3, g.out[0], g.out[1]], "{g:?}");
        assert_eq!(at.as_ref().unwrap().dtype(), Dtype::Int32);
        assert_same(&best, &want_best);
        assert_same(at.as_ref().unwrap(), &want_at);
        let (alone, none) = on_cpu(|| window_max_2d(&x, &g, false)).unwrap();
        assert!(none.is_none());
        assert_same(&alone, &want_best);
    }
}

#[test]
fn window_max_2d_reads_views_and_every_float_dtype() {
    let g = pool_2x2([3, 4]);
    let data = awkward_input(6, 8, 11);
    let x = Array::from_slice(&data, &[2, 3, 6, 8]).unwrap();
    for dtype in [
        Dtype::Float32,
        Dtype::Float64,
        Dtype::Float16,
        Dtype::Bfloat16,
    ] {
        let typed = on_cpu(|| x.astype(dtype)).unwrap();
        let (want, want_at) = reference(&values(&typed), [2, 3, 6, 8], &g);
        // The same values laid out channel-major, handed in as an [N, C, H, W] view.
        let channel_major =
            on_cpu(|| ops::swapaxes(&ops::contiguous(&ops::swapaxes(&typed, 0, 1)?)?, 0, 1))
                .unwrap();
        for input in [&typed, &channel_major] {
            let (best, at) = on_cpu(|| window_max_2d(input, &g, true)).unwrap();
            assert_eq!(best.dtype(), dtype);
            assert_same(&best, &want);
            assert_same(&at.unwrap(), &want_at);
        }
    }
}

#[test]
fn window_max_2d_takes_part_in_lazy_graphs() {
    let g = pool_2x2([2, 2]);
    let x = sample(&[1, 2, 4, 4], 5, -1.0, 1.0);
    let (best, _) = on_cpu(|| {
        let lazy = ops::multiply(&x.astype(Dtype::Float32)?, &Array::scalar(-1.0f32))?;
        window_max_2d(&lazy, &g, false)
    })
    .unwrap();
    let doubled = on_cpu(|| ops::add(&best, &best)).unwrap();
    let negated: Vec<f64> = values(&x).iter().map(|v| -(*v as f32) as f64).collect();
    let (want, _) = reference(&negated, [1, 2, 4, 4], &g);
    assert_same(&doubled, &want.iter().map(|v| v * 2.0).collect::<Vec<_>>());
}

#[test]
fn window_max_2d_work_is_bounded_by_its_input_and_output() {
    // A window count of 2^31 - 1 beside a 0 is an empty result, and a window of 2^30 taps over a
    // 3x3 input visits the 9 that exist: both return at once (they took 36 s and minutes).
    let x = sample_f32(&[3, 1, 3, 3], 41, -1.0, 1.0);
    let empty = Windows2d {
        kernel: [4, 11],
        stride: [34, 2],
        padding: [4, 3],
        dilation: [1, 1],
        out: [i32::MAX, 0],
    };
    let (best, _) = on_cpu(|| window_max_2d(&x, &empty, false)).unwrap();
    assert_eq!(best.shape(), &[3, 1, i32::MAX, 0]);
    assert!(values(&best).is_empty());
    let huge = Windows2d {
        kernel: [1 << 30, 1 << 30],
        stride: [1, 1],
        padding: [0, 0],
        dilation: [1, 1],
        out: [1, 1],
    };
    let (best, at) = on_cpu(|| window_max_2d(&x, &huge, true)).unwrap();
    let xs = values(&x);
    for plane in 0..3 {
        let window = &xs[plane * 9..plane * 9 + 9];
        let (k, m) = window
            .iter()
            .enumerate()
            .fold((0, f64::NEG_INFINITY), |(k, m), (i, v)| {
                if *v > m { (i, *v) } else { (k, m) }
            });
        assert_eq!(values(&best)[plane], m);
        assert_eq!(values(at.as_ref().unwrap())[plane], k as f64);
    }
}

#[test]
fn window_max_2d_rejects_bad_arguments() {
    let good = Windows2d {
        stride: [1, 1],
        ..pool_2x2([2, 2])
    };
    let x = on_cpu(|| sample(&[1, 1, 3, 3], 1, -1.0, 1.0).astype(Dtype::Float32)).unwrap();
    let call = |x: &Array, g: Windows2d| on_cpu(|| window_max_2d(x, &g, true));
    assert_err(
        call(&ops::reshape(&x, &[1, 3, 3]).unwrap(), good),
        "[N, C, H, W]",
    );
    assert_err(
        call(&x.astype(Dtype::Int32).unwrap(), good),
        "floating-point",
    );
    assert_err(
        call(
            &x,
            Windows2d {
                kernel: [0, 2],
                ..good
            },
        ),
        "window size",
    );
    assert_err(
        call(
            &x,
            Windows2d {
                stride: [1, 0],
                ..good
            },
        ),
        "stride",
    );
    assert_err(
        call(
            &x,
            Windows2d {
                padding: [-1, 0],
                ..good
            },
        ),
        "padding",
    );
    assert_err(
        call(
            &x,
            Windows2d {
                dilation: [0, 1],
                ..good
            },
        ),
        "dilation",
    );
    assert_err(
        call(
            &x,
            Windows2d {
                out: [2, -1],
                ..good
            },
        ),
        "output size",
    );
}

// ---- conv_channel_major ----------------------------------------------------------------------

/// The cross-correlation of `x` `[N, C, *S]`, zero-padded, with `w` `[O, C, *K]` plus `bias`,
/// by its definition in float64: `[O, N, *out]` values and that shape.
fn conv_reference(
    x: &Array,
    w: &Array,
    bias: Option<&Array>,
    g: &ChannelMajorConv<'_>,
) -> (Vec<f64>, Vec<i32>) {
    let (xv, wv) = (values(x), values(w));
    let (xs, ws) = (x.shape().to_vec(), w.shape().to_vec());
    let dims = xs.len() - 2;
    let out: Vec<i32> = (0..dims)
        .map(|j| {
            let padded = xs[j + 2] + g.padding_lo[j] + g.padding_hi[j];
            (padded - (ws[j + 2] - 1) * g.dilation[j] - 1) / g.stride[j] + 1
        })
        .collect();
    let mut shape = vec![ws[0], xs[0]];
    shape.extend(&out);
    let count: i32 = shape.iter().product();
    let taps: i32 = ws[2..].iter().product();
    let result = (0..count as usize)
        .map(|k| {
            let at = unravel(k, &shape);
            let (o, n) = (at[0], at[1]);
            let mut sum = bias.map_or(0.0, |b| values(b)[o]);
            for c in 0..xs[1] as usize {
                'taps: for t in 0..taps as usize {
                    let tap = unravel(t, &ws[2..]);
                    let mut xi = n * xs[1] as usize + c;
                    let mut wi = o * ws[1] as usize + c;
                    for j in 0..dims {
                        let pos = (at[2 + j] as i32 * g.stride[j] + tap[j] as i32 * g.dilation[j]
                            - g.padding_lo[j]) as i64;
                        if pos < 0 || pos >= i64::from(xs[2 + j]) {
                            continue 'taps;
                        }
                        xi = xi * xs[2 + j] as usize + pos as usize;
                        wi = wi * ws[2 + j] as usize + tap[j];
                    }
                    sum += xv[xi] * wv[wi];
                }
            }
            sum
        })
        .collect();
    (result, shape)
}

/// A geometry of `stride` and `dilation` without padding.
fn unpadded<'a>(stride: &'a [i32], dilation: &'a [i32]) -> ChannelMajorConv<'a> {
    static ZEROS: [i32; 3] = [0; 3];
    ChannelMajorConv {
        stride,
        padding_lo: &ZEROS[..stride.len().min(3)],
        padding_hi: &ZEROS[..stride.len().min(3)],
        dilation,
    }
}

/// Checks the kernel against [`conv_reference`] on float32 samples of these shapes.
fn check_conv(x_shape: &[i32], w_shape: &[i32], bias: bool, g: &ChannelMajorConv<'_>) {
    let x = sample_f32(x_shape, 11, -1.0, 1.0);
    let w = sample_f32(w_shape, 12, -1.0, 1.0);
    let b = bias.then(|| sample_f32(&[w_shape[0]], 13, -1.0, 1.0));
    let y = on_cpu(|| conv_channel_major(&x, &w, b.as_ref(), g)).unwrap();
    let (want, shape) = conv_reference(&x, &w, b.as_ref(), g);
    assert_eq!(y.shape(), &shape[..], "x {x_shape:?}, w {w_shape:?}, {g:?}");
    assert_eq!(y.dtype(), Dtype::Float32);
    assert_close(&y, &want, 1e-4, 1e-4);
}

#[test]
fn conv_channel_major_matches_the_definition_in_one_to_three_dimensions() {
    // Input, weight, bias, stride, dilation; the last two: a 1x1 kernel, and a kernel as large
    // as the input (one output position).
    type Case = (
        &'static [i32],
        &'static [i32],
        bool,
        &'static [i32],
        &'static [i32],
    );
    let cases: [Case; 5] = [
        (&[2, 3, 11], &[5, 3, 4], false, &[3], &[2]),
        (&[3, 2, 9, 7], &[4, 2, 3, 2], true, &[2, 1], &[1, 2]),
        (
            &[2, 2, 5, 6, 4],
            &[3, 2, 2, 3, 2],
            true,
            &[1, 2, 1],
            &[2, 1, 1],
        ),
        (&[2, 3, 4, 4], &[2, 3, 1, 1], true, &[1, 1], &[1, 1]),
        (&[2, 3, 4, 5], &[2, 3, 4, 5], false, &[1, 1], &[1, 1]),
    ];
    for (x, w, bias, stride, dilation) in cases {
        check_conv(x, w, bias, &unpadded(stride, dilation));
    }
}

#[test]
fn conv_channel_major_pads_with_zeros() {
    // "Same" padding, padding on one side only, padding wider than the kernel's reach (whole
    // rows and columns of zeros) and a kernel that fits only once padded.
    let geometry = |stride, lo, hi, dilation| ChannelMajorConv {
        stride,
        padding_lo: lo,
        padding_hi: hi,
        dilation,
    };
    let same = geometry(&[1, 1], &[1, 1], &[1, 1], &[1, 1]);
    check_conv(&[2, 3, 7, 6], &[4, 3, 3, 3], true, &same);
    let one_side = geometry(&[2, 1], &[2, 0], &[0, 3], &[1, 2]);
    check_conv(&[2, 2, 9, 7], &[3, 2, 3, 2], false, &one_side);
    let wide = geometry(&[3, 2], &[5, 4], &[4, 6], &[1, 1]);
    check_conv(&[1, 2, 4, 5], &[2, 2, 2, 3], true, &wide);
    let fits_padded = geometry(&[1], &[2], &[2], &[1]);
    check_conv(&[2, 3, 2], &[2, 3, 5], false, &fits_padded);
    let volume = geometry(&[1, 2, 1], &[1, 0, 2], &[1, 2, 0], &[1, 1, 2]);
    check_conv(&[1, 2, 4, 5, 6], &[2, 2, 2, 3, 2], true, &volume);
}

#[test]
fn conv_channel_major_over_several_blocks_of_images() {
    // 8 * 9 taps by 100 positions per image: the kernel's 2^18-float blocks hold 36 images,
    // so 40 images take a full block and a partial one.
    let dense = unpadded(&[1, 1], &[1, 1]);
    check_conv(&[40, 8, 12, 12], &[6, 8, 3, 3], true, &dense);
    // One image larger than a block.
    check_conv(&[2, 4, 70, 70], &[3, 4, 3, 3], false, &dense);
}

#[test]
fn conv_channel_major_reads_views_and_takes_part_in_graphs() {
    // The input as a transposed view of channel-major memory (what a previous convolution
    // hands out), and as a lazy result.
    let memory = sample_f32(&[3, 2, 6, 5], 21, -1.0, 1.0);
    let w = sample_f32(&[4, 3, 2, 2], 22, -1.0, 1.0);
    let view = ops::swapaxes(&memory, 0, 1).unwrap();
    let dense = on_cpu(|| ops::contiguous(&view)).unwrap();
    let y = on_cpu(|| conv_channel_major(&view, &w, None, &unpadded(&[1, 2], &[1, 1]))).unwrap();
    let (want, _) = conv_reference(&dense, &w, None, &unpadded(&[1, 2], &[1, 1]));
    assert_close(&y, &want, 1e-4, 1e-4);
    let doubled = on_cpu(|| {
        let lazy = ops::multiply(&view, &Array::scalar(2.0f32))?;
        conv_channel_major(&lazy, &w, None, &unpadded(&[1, 2], &[1, 1]))
    })
    .unwrap();
    let twice: Vec<f64> = want.iter().map(|v| v * 2.0).collect();
    assert_close(&doubled, &twice, 1e-4, 1e-4);
    // An empty batch gives an empty result of the right shape.
    let none = sample_f32(&[0, 3, 6, 5], 23, -1.0, 1.0);
    let y = on_cpu(|| conv_channel_major(&none, &w, None, &unpadded(&[1, 1], &[1, 1]))).unwrap();
    assert_eq!(y.shape(), &[4, 0, 5, 4]);
    assert!(values(&y).is_empty());
    // No input channels: the bias alone.
    let (x0, w0) = (
        sample_f32(&[2, 0, 3, 3], 24, -1.0, 1.0),
        sample_f32(&[2, 0, 2, 2], 25, -1.0, 1.0),
    );
    let b = Array::from_slice(&[1.5f32, -2.0], &[2]).unwrap();
    let y = on_cpu(|| conv_channel_major(&x0, &w0, Some(&b), &unpadded(&[1, 1], &[1, 1]))).unwrap();
    assert_eq!(values(&y), [[1.5; 8], [-2.0; 8]].concat());
    // No gradient in MLX's transforms: an error, not a crash.
    let x = dense.clone();
    let grad = on_cpu(|| {
        transforms::grad(
            |a: &[Array]| {
                let y = conv_channel_major(&a[0], &w, None, &unpadded(&[1, 1], &[1, 1]))?;
                ops::sum(&y, None, false)
            },
            &[0],
        )(std::slice::from_ref(&x))
    });
    assert!(grad.is_err());
}

#[test]
fn conv_channel_major_rejects_bad_arguments() {
    let x = sample_f32(&[2, 3, 5, 5], 31, -1.0, 1.0);
    let w = sample_f32(&[4, 3, 2, 2], 32, -1.0, 1.0);
    let call = |x: &Array, w: &Array, b: Option<&Array>, stride: &[i32], dilation: &[i32]| {
        on_cpu(|| conv_channel_major(x, w, b, &unpadded(stride, dilation)))
    };
    assert_err(call(&x, &w, None, &[1, 1, 1], &[1, 1]), "stride needs 2");
    assert_err(call(&x, &w, None, &[1, 1], &[0, 1]), "dilation");
    assert_err(
        call(&x, &w, None, &[1, 1], &[5, 1]),
        "does not fit spatial axis 0",
    );
    let negative = ChannelMajorConv {
        padding_lo: &[0, -1],
        ..unpadded(&[1, 1], &[1, 1])
    };
    assert_err(
        on_cpu(|| conv_channel_major(&x, &w, None, &negative)),
        "padding before",
    );
    let w5 = sample_f32(&[4, 2, 2, 2], 33, -1.0, 1.0);
    assert_err(
        call(&x, &w5, None, &[1, 1], &[1, 1]),
        "does not fit an input",
    );
    let b3 = sample_f32(&[3], 34, -1.0, 1.0);
    assert_err(call(&x, &w, Some(&b3), &[1, 1], &[1, 1]), "bias");
    let x64 = sample(&[2, 3, 5, 5], 35, -1.0, 1.0);
    assert_err(call(&x64, &w, None, &[1, 1], &[1, 1]), "float32");
    let flat = ops::reshape(&x, &[2, 75]).unwrap();
    assert_err(call(&flat, &w, None, &[1, 1], &[1, 1]), "spatial axes");
}

// ---- exp_vectorized --------------------------------------------------------------------------

/// Asserts `got` within `ulps` float32 units in the last place of `e^x` for every `x`: +inf
/// above the largest float, NaN for NaN, and 0 or the subnormal value below the smallest normal
/// float (MLX's CPU evaluation flushes subnormals to zero by default).
fn assert_exp(got: &Array, xs: &[f32], ulps: f64) {
    for (k, (y, x)) in values(got).iter().zip(xs).enumerate() {
        let want = (*x as f64).exp();
        if x.is_nan() {
            assert!(y.is_nan(), "element {k}: e^NaN gave {y}");
        } else if want > f32::MAX as f64 {
            assert_eq!(*y, f64::INFINITY, "element {k}: e^{x}");
        } else if want < f32::MIN_POSITIVE as f64 {
            assert!(
                *y == 0.0 || (y - want).abs() <= f32::MIN_POSITIVE as f64,
                "element {k}: e^{x} gave {y}"
            );
        } else {
            let ulp = want * f32::EPSILON as f64;
            assert!(
                (y - want).abs() <= ulps * ulp,
                "element {k}: e^{x} gave {y}, want {want}"
            );
        }
    }
}

#[test]
fn exp_vectorized_is_within_two_ulp_over_the_whole_range() {
    // Every 9973rd float32 from -103.9 to 88.7 (about 220,000), stepping through the floats
    // in order: negative ones by their magnitude's bits, then the positive ones.
    let ordered = |x: f32| {
        let bits = i64::from(x.to_bits() & 0x7fff_ffff);
        if x < 0.0 { -bits } else { bits }
    };
    let float = |o: i64| {
        let magnitude = f32::from_bits(o.unsigned_abs() as u32);
        if o < 0 { -magnitude } else { magnitude }
    };
    let xs: Vec<f32> = (ordered(-103.9)..ordered(88.7))
        .step_by(9973)
        .map(float)
        .collect();
    assert!(xs.len() > 200_000 && xs[0] == -103.9 && *xs.last().unwrap() > 88.6);
    let y = on_cpu(|| exp_vectorized(&Array::from_slice(&xs, &[xs.len() as i32])?)).unwrap();
    assert_eq!(y.dtype(), Dtype::Float32);
    assert_exp(&y, &xs, 2.0);
}

#[test]
fn exp_vectorized_at_the_edges_and_on_views() {
    let xs = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        88.72,
        88.73,
        89.0,
        -87.3,
        -103.97,
        -104.0,
        1e-30,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        f32::MAX,
        f32::MIN,
    ];
    let a = Array::from_slice(&xs, &[4, 4]).unwrap();
    // The array, its transpose (dense, other order) and a strided slice of it.
    let y = on_cpu(|| exp_vectorized(&a)).unwrap();
    assert_exp(&y, &xs, 2.0);
    let t = on_cpu(|| exp_vectorized(&ops::transpose(&a, None)?)).unwrap();
    let xt: Vec<f32> = (0..16).map(|k| xs[(k % 4) * 4 + k / 4]).collect();
    assert_exp(&t, &xt, 2.0);
    let s = on_cpu(|| exp_vectorized(&ops::slice(&a, &[0, 1], &[4, 4], &[2, 2])?)).unwrap();
    assert_eq!(s.shape(), &[2, 2]);
    assert_exp(&s, &[xs[1], xs[3], xs[9], xs[11]], 2.0);
}

#[test]
fn exp_vectorized_differentiates_and_maps_like_exp() {
    let x = sample(&[3, 5], 3, -2.0, 2.0);
    let x = on_cpu(|| x.astype(Dtype::Float32)).unwrap();
    let xs: Vec<f32> = values(&x).iter().map(|v| *v as f32).collect();
    let sum_of_exp = |a: &[Array]| ops::sum(&exp_vectorized(&a[0])?, None, false);
    let g = on_cpu(|| transforms::grad(sum_of_exp, &[0])(std::slice::from_ref(&x))).unwrap();
    assert_exp(&g[0], &xs, 2.0);
    let ones = ops::ones(&[3, 5], Dtype::Float32).unwrap();
    let (_, tangent) = on_cpu(|| {
        transforms::jvp(
            |a| Ok(vec![exp_vectorized(&a[0])?]),
            std::slice::from_ref(&x),
            &[ones],
        )
    })
    .unwrap();
    assert_exp(&tangent[0], &xs, 2.0);
    let mapped = on_cpu(|| {
        transforms::vmap(|a| Ok(vec![exp_vectorized(&a[0])?]), &[1], &[1])(std::slice::from_ref(&x))
    })
    .unwrap();
    assert_exp(&mapped[0], &xs, 2.0);
    // Other dtypes go to MLX's exp.
    let halves = on_cpu(|| exp_vectorized(&x.astype(Dtype::Float16)?)).unwrap();
    assert_eq!(halves.dtype(), Dtype::Float16);
}
