//! Pooling and upsampling layers against Python MLX and closed forms.

use mlx::nn::{self, Module, Upsample, UpsampleMode};
use mlx::{Array, Dtype, Parameters};

use super::common::{check_grad, err_with};
use super::*;

/// Layers run here and in Python MLX on their own inputs, compared after one Python call.
struct Batch {
    cases: Vec<(String, Array, Array)>,
}

impl Batch {
    fn new() -> Batch {
        Batch { cases: Vec::new() }
    }

    /// Adds `layer` on `x`; `python` builds the same layer in Python MLX.
    fn layer(&mut self, layer: &impl Module, python: &str, x: &Array) {
        let y = layer.forward(x).unwrap();
        self.cases.push((python.to_string(), x.clone(), y));
    }

    /// Adds a Python expression of `x` (the input, bound as `x`) and this side's result.
    fn expr(&mut self, python: &str, x: &Array, y: Array) {
        self.cases
            .push((format!("lambda x: {python}"), x.clone(), y));
    }

    /// Runs every case in one Python process and compares shapes, dtypes and values.
    fn check(&self, tol: f64) {
        let names: Vec<String> = (0..self.cases.len()).map(|i| format!("x{i}")).collect();
        let inputs: Vec<(&str, &Array)> = names
            .iter()
            .zip(&self.cases)
            .map(|(n, (_, x, _))| (n.as_str(), x))
            .collect();
        let body: String = self
            .cases
            .iter()
            .enumerate()
            .map(|(i, (py, _, _))| format!("out['y{i}'] = ({py})(inp['x{i}'])\n"))
            .collect();
        let Some(out) = python_mlx(&body, &inputs) else {
            return;
        };
        for (i, (py, _, y)) in self.cases.iter().enumerate() {
            let want = &out[&format!("y{i}")];
            assert_eq!(y.dtype(), want.dtype(), "{py}: dtype");
            assert_eq!(y.shape(), want.shape(), "{py}: shape");
            let (g, w) = (values(y), values(want));
            for (k, (a, b)) in g.iter().zip(&w).enumerate() {
                assert!(
                    a == b || (a - b).abs() <= tol * (1.0 + b.abs()),
                    "{py}, element {k}: got {a}, want {b}"
                );
            }
        }
    }
}

/// `0, 1, 2, ...` as float32 of the given shape.
fn ramp(shape: &[i32]) -> Array {
    let n: i32 = shape.iter().product();
    Array::from_iter((0..n).map(|v| v as f32))
        .unwrap()
        .reshape(shape)
        .unwrap()
}

// ---- pooling ------------------------------------------------------------------------------------

#[test]
fn pooling_a_ramp_by_hand() {
    // 4x4 ramp: rows 0..4, 4..8, 8..12, 12..16.
    let x = ramp(&[1, 4, 4, 1]);
    let max = nn::MaxPool2d::new(2).unwrap().forward(&x).unwrap();
    assert_eq!(max.shape(), &[1, 2, 2, 1]);
    assert_close(&max, &[5.0, 7.0, 13.0, 15.0], 0.0, 0.0);
    let avg = nn::AvgPool2d::new(2).unwrap().forward(&x).unwrap();
    assert_close(&avg, &[2.5, 4.5, 10.5, 12.5], 0.0, 0.0);

    // Overlapping 3x3 windows with stride 1 on the same ramp: the window maxima are the
    // bottom-right corners, the means the centers.
    let max3 = nn::MaxPool2d::new(3)
        .unwrap()
        .with_stride(1)
        .unwrap()
        .forward(&x)
        .unwrap();
    assert_close(&max3, &[10.0, 11.0, 14.0, 15.0], 0.0, 0.0);
    let avg3 = nn::AvgPool2d::new(3)
        .unwrap()
        .with_stride(1)
        .unwrap()
        .forward(&x)
        .unwrap();
    assert_close(&avg3, &[5.0, 6.0, 9.0, 10.0], 0.0, 1e-6);

    // 1-D with padding 1: max pads with -inf (the edges win), average with zeros that count.
    let x1 = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0], &[1, 4, 1]).unwrap();
    let padded_max = nn::MaxPool1d::new(2)
        .unwrap()
        .with_padding(1)
        .unwrap()
        .forward(&x1)
        .unwrap();
    assert_close(&padded_max, &[1.0, 3.0, 4.0], 0.0, 0.0);
    let padded_avg = nn::AvgPool1d::new(2)
        .unwrap()
        .with_padding(1)
        .unwrap()
        .forward(&x1)
        .unwrap();
    assert_close(&padded_avg, &[0.5, 2.5, 2.0], 0.0, 0.0);

    // Channels and batch items pool separately; integers keep their dtype.
    let xi = Array::from_iter(0..16)
        .unwrap()
        .reshape(&[2, 4, 2])
        .unwrap();
    let yi = nn::MaxPool1d::new(2).unwrap().forward(&xi).unwrap();
    assert_eq!(yi.dtype(), Dtype::Int32);
    assert_eq!(yi.to_vec::<i32>().unwrap(), [2, 3, 6, 7, 10, 11, 14, 15]);

    // 3-D: the 2x2x2 maximum of a 2x2x2 ramp is its last element, the mean its middle.
    let x3 = ramp(&[1, 2, 2, 2, 1]);
    let y3 = nn::MaxPool3d::new(2).unwrap().forward(&x3).unwrap();
    assert_eq!(y3.shape(), &[1, 1, 1, 1, 1]);
    assert_close(&y3, &[7.0], 0.0, 0.0);
    let a3 = nn::AvgPool3d::new(2).unwrap().forward(&x3).unwrap();
    assert_close(&a3, &[3.5], 0.0, 0.0);
}

#[test]
fn pool_sizes_and_defaults() {
    let p = nn::MaxPool2d::new([3, 2]).unwrap();
    assert_eq!(p.kernel_size(), [3, 2]);
    assert_eq!(p.stride(), [3, 2], "stride defaults to the kernel size");
    assert_eq!(p.padding(), [0, 0]);
    let p = p.with_stride([1, 2]).unwrap().with_padding(1).unwrap();
    assert_eq!(p.stride(), [1, 2]);
    assert_eq!(p.padding(), [1, 1]);
    // No parameters, like Python's pooling layers.
    assert!(p.param_names().is_empty());
    // (7 + 2 - 3) / 1 + 1 = 7 rows, (5 + 2 - 2) / 2 + 1 = 3 columns.
    let y = p.forward(&input(&[2, 7, 5, 3], 1)).unwrap();
    assert_eq!(y.shape(), &[2, 7, 3, 3]);
    let p3 = nn::AvgPool3d::new([1, 2, 3]).unwrap();
    assert_eq!(p3.stride(), [1, 2, 3]);
    let y3 = p3.forward(&input(&[1, 3, 5, 7, 2], 2)).unwrap();
    assert_eq!(y3.shape(), &[1, 3, 2, 2, 2]);
}

#[test]
fn pools_match_python() {
    let mut b = Batch::new();
    let (x1, x1b) = (input(&[2, 8, 3], 10), input(&[2, 9, 3], 11));
    b.layer(&nn::MaxPool1d::new(2).unwrap(), "nn.MaxPool1d(2)", &x1);
    // 8 is not a multiple of 3: the strided path, the last two elements unused.
    b.layer(&nn::MaxPool1d::new(3).unwrap(), "nn.MaxPool1d(3)", &x1);
    let p = nn::MaxPool1d::new(3).unwrap().with_stride(2).unwrap();
    b.layer(
        &p.with_padding(1).unwrap(),
        "nn.MaxPool1d(3, stride=2, padding=1)",
        &x1b,
    );
    let p = nn::AvgPool1d::new([3]).unwrap().with_stride([1]).unwrap();
    b.layer(&p, "nn.AvgPool1d((3,), stride=(1,))", &x1b);
    let p = nn::AvgPool1d::new(2).unwrap().with_padding(1).unwrap();
    b.layer(&p, "nn.AvgPool1d(2, padding=1)", &x1);

    let (x2, x2b) = (input(&[2, 6, 6, 3], 12), input(&[2, 7, 5, 3], 13));
    b.layer(&nn::MaxPool2d::new(2).unwrap(), "nn.MaxPool2d(2)", &x2);
    let p = nn::MaxPool2d::new([3, 2])
        .unwrap()
        .with_stride([2, 1])
        .unwrap()
        .with_padding([1, 0])
        .unwrap();
    b.layer(
        &p,
        "nn.MaxPool2d((3, 2), stride=(2, 1), padding=(1, 0))",
        &x2b,
    );
    let p = nn::MaxPool2d::new(3).unwrap().with_stride(2).unwrap();
    b.layer(&p, "nn.MaxPool2d(3, stride=2)", &x2b);
    let p = nn::AvgPool2d::new(2).unwrap().with_stride(1).unwrap();
    b.layer(
        &p.with_padding(1).unwrap(),
        "nn.AvgPool2d(2, stride=1, padding=1)",
        &x2,
    );
    b.layer(
        &nn::AvgPool2d::new([2, 3]).unwrap(),
        "nn.AvgPool2d((2, 3))",
        &x2,
    );
    // Half precision stays half precision.
    let x2h = x2.astype(Dtype::Float16).unwrap();
    let p = nn::AvgPool2d::new(3).unwrap().with_stride(1).unwrap();
    b.layer(&p, "nn.AvgPool2d(3, stride=1)", &x2h);
    let p = nn::MaxPool2d::new(2).unwrap().with_padding(1).unwrap();
    b.layer(&p, "nn.MaxPool2d(2, padding=1)", &x2h);
    // Integers: max padding is -inf cast to the dtype; the average is float32.
    let xi = Array::from_iter(0..40)
        .unwrap()
        .reshape(&[2, 5, 4])
        .unwrap();
    let p = nn::MaxPool1d::new(2).unwrap().with_padding(1).unwrap();
    b.layer(&p, "nn.MaxPool1d(2, padding=1)", &xi);
    let p = nn::AvgPool1d::new(2).unwrap().with_padding(1).unwrap();
    b.layer(&p, "nn.AvgPool1d(2, padding=1)", &xi);

    let (x3, x3b) = (input(&[2, 4, 4, 4, 2], 14), input(&[1, 5, 6, 4, 2], 15));
    b.layer(&nn::MaxPool3d::new(2).unwrap(), "nn.MaxPool3d(2)", &x3);
    let p = nn::MaxPool3d::new([2, 3, 2])
        .unwrap()
        .with_stride([1, 2, 2])
        .unwrap()
        .with_padding([1, 1, 0])
        .unwrap();
    b.layer(
        &p,
        "nn.MaxPool3d((2, 3, 2), stride=(1, 2, 2), padding=(1, 1, 0))",
        &x3b,
    );
    let p = nn::AvgPool3d::new(2).unwrap().with_stride(1).unwrap();
    b.layer(&p, "nn.AvgPool3d(2, stride=1)", &x3b);
    let p = nn::AvgPool3d::new([1, 2, 2])
        .unwrap()
        .with_padding([0, 1, 1])
        .unwrap();
    b.layer(&p, "nn.AvgPool3d((1, 2, 2), padding=(0, 1, 1))", &x3);
    b.check(1e-6);
}

#[test]
fn pool_gradients_flow() {
    // Non-overlapping max pooling: the gradient of the sum is 1 at each window's maximum, 0
    // elsewhere.
    let x = input(&[1, 4, 4, 2], 20);
    let pool = nn::MaxPool2d::new(2).unwrap();
    let g = mlx::transforms::grad(|a: &[Array]| pool.forward(&a[0])?.sum(None, false), &[0])(
        std::slice::from_ref(&x),
    )
    .unwrap();
    let g = values(&g[0]);
    let xs = values(&x);
    assert_eq!(g.iter().filter(|v| **v == 1.0).count(), 8);
    assert!(g.iter().all(|v| *v == 0.0 || *v == 1.0));
    for (i, gi) in g.iter().enumerate() {
        // Element i is at (row, col, channel); its window is (row / 2, col / 2).
        let (r, c, ch) = (i / 8, (i / 2) % 4, i % 2);
        let window_max = (0..2)
            .flat_map(|dr| (0..2).map(move |dc| ((r / 2 * 2 + dr) * 4 + c / 2 * 2 + dc) * 2 + ch))
            .map(|k| xs[k])
            .fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(*gi == 1.0, xs[i] == window_max, "element {i}");
    }

    // Overlapping windows with padding (the strided path) against finite differences, in
    // float64; a pooled-then-weighted sum so every output matters differently.
    let x = sample(&[1, 5, 4, 1], 21, -1.0, 1.0);
    for max in [true, false] {
        let f = |a: &[Array]| {
            let y = if max {
                let p = nn::MaxPool2d::new(3).unwrap().with_stride([2, 1]).unwrap();
                p.with_padding(1).unwrap().forward(&a[0])?
            } else {
                let p = nn::AvgPool2d::new(3).unwrap().with_stride([2, 1]).unwrap();
                p.with_padding(1).unwrap().forward(&a[0])?
            };
            let w = sample(y.shape(), 22, 0.5, 1.5);
            (&y * &w).sum(None, false)
        };
        check_grad(f, std::slice::from_ref(&x), 0, 1e-6, 1e-6);
        let g = mlx::transforms::grad(f, &[0])(std::slice::from_ref(&x)).unwrap();
        let g = values(&g[0]);
        assert!(g.iter().all(|v| v.is_finite()));
        if !max {
            // Every input is in some window of an average pool.
            assert!(g.iter().all(|v| *v > 0.0));
        }
    }
}

#[test]
fn bad_pool_configurations_are_errors() {
    err_with(
        nn::MaxPool2d::new(0),
        &["MaxPool2d", "kernel_size", "positive"],
    );
    err_with(nn::AvgPool1d::new(-2), &["AvgPool1d", "kernel_size"]);
    err_with(nn::MaxPool3d::new([2, 0, 2]), &["MaxPool3d", "kernel_size"]);
    let p = nn::MaxPool2d::new(2).unwrap();
    err_with(p.clone().with_stride([1, 0]), &["stride", "positive"]);
    err_with(p.clone().with_padding(-1), &["padding", "non-negative"]);
    // Wrong rank: 2-D pooling wants [batch, height, width, channels].
    err_with(
        p.forward(&input(&[4, 4, 1], 1)),
        &["MaxPool2d", "4 dimensions"],
    );
    err_with(p.forward(&input(&[1, 4, 4, 4, 1], 1)), &["4 dimensions"]);
    err_with(
        nn::AvgPool1d::new(2).unwrap().forward(&input(&[4, 1], 1)),
        &["AvgPool1d", "3 dimensions"],
    );
    // A window larger than the (padded) input.
    err_with(
        nn::MaxPool1d::new(5)
            .unwrap()
            .forward(&input(&[1, 4, 1], 1)),
        &["smaller than the kernel"],
    );
    let padded = nn::MaxPool1d::new(5).unwrap().with_padding(1).unwrap();
    assert_eq!(
        padded.forward(&input(&[1, 4, 1], 1)).unwrap().shape(),
        &[1, 1, 1]
    );
}

// ---- upsampling ---------------------------------------------------------------------------------

#[test]
fn nearest_upsampling_repeats_values() {
    let x = Array::from_slice(&[1, 2, 3, 4], &[1, 2, 2, 1]).unwrap();
    let y = Upsample::new(2, UpsampleMode::Nearest)
        .unwrap()
        .forward(&x)
        .unwrap();
    assert_eq!(y.dtype(), Dtype::Int32);
    assert_eq!(y.shape(), &[1, 4, 4, 1]);
    assert_eq!(
        y.to_vec::<i32>().unwrap(),
        [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]
    );
    // One factor per axis: rows kept, columns tripled.
    let y = Upsample::new([1.0, 3.0], UpsampleMode::Nearest)
        .unwrap()
        .forward(&x)
        .unwrap();
    assert_eq!(
        y.to_vec::<i32>().unwrap(),
        [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]
    );
    // Halving keeps every other element; 1.5 on length 2 gives 3 samples: 0, 0 (rounded
    // from 0.5 to even), 1.
    let x1 = Array::from_slice(&[10, 20, 30, 40], &[1, 4, 1]).unwrap();
    let half = nn::upsample_nearest(&x1, &[0.5]).unwrap();
    assert_eq!(half.to_vec::<i32>().unwrap(), [10, 30]);
    let x2 = Array::from_slice(&[10, 20], &[1, 2, 1]).unwrap();
    let y = nn::upsample_nearest(&x2, &[1.5]).unwrap();
    assert_eq!(y.to_vec::<i32>().unwrap(), [10, 10, 20]);
}

#[test]
fn linear_and_cubic_closed_forms() {
    let x = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0], &[1, 2, 2, 1]).unwrap();
    // Python's documented examples.
    let y = Upsample::new(2.0, UpsampleMode::Linear)
        .unwrap()
        .forward(&x)
        .unwrap();
    #[rustfmt::skip]
    let want = [
        1.0, 1.25, 1.75, 2.0,
        1.5, 1.75, 2.25, 2.5,
        2.5, 2.75, 3.25, 3.5,
        3.0, 3.25, 3.75, 4.0,
    ];
    assert_close(&y, &want, 1e-6, 1e-6);
    let y = Upsample::new(2.0, UpsampleMode::Linear)
        .unwrap()
        .with_align_corners(true)
        .unwrap()
        .forward(&x)
        .unwrap();
    let t = 1.0 / 3.0;
    #[rustfmt::skip]
    let want = [
        1.0, 1.0 + t, 1.0 + 2.0 * t, 2.0,
        1.0 + 2.0 * t, 2.0, 2.0 + t, 2.0 + 2.0 * t,
        2.0 + t, 2.0 + 2.0 * t, 3.0, 3.0 + t,
        3.0, 3.0 + t, 3.0 + 2.0 * t, 4.0,
    ];
    assert_close(&y, &want, 1e-6, 1e-6);

    // Integer inputs interpolate in float32.
    let xi = Array::from_slice(&[0, 4], &[1, 2, 1]).unwrap();
    let y = nn::upsample_linear(&xi, &[2.0], true, false).unwrap();
    assert_eq!(y.dtype(), Dtype::Float32);
    assert_close(&y, &[0.0, 4.0 / 3.0, 8.0 / 3.0, 4.0], 1e-6, 1e-6);

    // Cubic, corners aligned: 4 inputs to 7 outputs at positions 0, 0.5, ..., 3. Integer
    // positions give the input exactly; half-way ones weigh the two nearest inputs by
    // k(0.5) = 0.59375 and the next two (clamped at the borders) by k(1.5) = -0.09375 (the
    // Keys kernel with a = -0.75).
    let xc = Array::from_slice(&[1.0f32, 2.0, 4.0, 8.0], &[1, 4, 1]).unwrap();
    let y = nn::upsample_cubic(&xc, &[1.75], true, false).unwrap();
    let (near, far) = (0.59375, -0.09375);
    let want = [
        1.0,
        near * (1.0 + 2.0) + far * (1.0 + 4.0),
        2.0,
        near * (2.0 + 4.0) + far * (1.0 + 8.0),
        4.0,
        near * (4.0 + 8.0) + far * (2.0 + 8.0),
        8.0,
    ];
    assert_close(&y, &want, 1e-6, 1e-6);
    // Constant inputs stay constant in every mode, also with antialiasing when shrinking.
    let c = Array::full::<f32>(&[1, 6, 5, 1], 2.5).unwrap();
    for mode in [UpsampleMode::Linear, UpsampleMode::Cubic] {
        for antialias in [false, true] {
            let up = Upsample::new([0.5, 1.7], mode).unwrap();
            let y = up.with_antialias(antialias).unwrap().forward(&c).unwrap();
            assert_eq!(y.shape(), &[1, 3, 8, 1]);
            assert!(
                values(&y).iter().all(|v| (v - 2.5).abs() < 1e-5),
                "{mode:?}"
            );
        }
    }
}

#[test]
fn upsampling_matches_python() {
    let mut b = Batch::new();
    let x1 = input(&[2, 5, 3], 30);
    let x2 = input(&[2, 4, 5, 3], 31);
    let x3 = input(&[1, 3, 4, 2, 2], 32);
    let xi = Array::from_iter((0..40).map(|v| (v * 7) % 11))
        .unwrap()
        .reshape(&[1, 5, 4, 2])
        .unwrap();
    let modes = [
        (UpsampleMode::Nearest, "nearest"),
        (UpsampleMode::Linear, "linear"),
        (UpsampleMode::Cubic, "cubic"),
    ];
    for (mode, name) in modes {
        let corners: &[bool] = if mode == UpsampleMode::Nearest {
            &[false]
        } else {
            &[false, true]
        };
        for &ac in corners {
            let py_ac = if ac { "True" } else { "False" };
            let mut add = |scale: nn::ScaleFactor, py_scale: &str, x: &Array| {
                let up = Upsample::new(scale, mode)
                    .unwrap()
                    .with_align_corners(ac)
                    .unwrap();
                let py = format!("nn.Upsample({py_scale}, mode='{name}', align_corners={py_ac})");
                b.layer(&up, &py, x);
            };
            add(2.0.into(), "2", &x1);
            add(2.5.into(), "2.5", &x1);
            add(0.6.into(), "0.6", &x1);
            add(2.0.into(), "2.0", &x2);
            add([1.5, 0.8].into(), "(1.5, 0.8)", &x2);
            add([3.0, 1.0].into(), "(3, 1)", &x2);
            add(1.75.into(), "1.75", &x2);
            add(2.into(), "2", &xi);
            add([1.3, 2.0, 2.5].into(), "(1.3, 2.0, 2.5)", &x3);
            add(2.0.into(), "2", &x3);
        }
    }
    // Half precision: nearest keeps the dtype, interpolation gives float32.
    let xh = x2.astype(Dtype::Float16).unwrap();
    let xb = x1.astype(Dtype::Bfloat16).unwrap();
    for (mode, name, x) in [
        (UpsampleMode::Nearest, "nearest", &xh),
        (UpsampleMode::Linear, "linear", &xh),
        (UpsampleMode::Cubic, "cubic", &xb),
    ] {
        let up = Upsample::new(1.5, mode).unwrap();
        b.layer(&up, &format!("nn.Upsample(1.5, mode='{name}')"), x);
    }
    // Antialiased shrinking and growing (no align_corners there).
    for (mode, name) in &modes[1..] {
        for (scale, py_scale, x) in [
            (nn::ScaleFactor::from(0.5), "0.5", &x2),
            ([0.4, 0.75].into(), "(0.4, 0.75)", &x2),
            (0.3.into(), "0.3", &x1),
            (1.5.into(), "1.5", &x1),
            ([0.5, 1.0, 0.5].into(), "(0.5, 1.0, 0.5)", &x3),
        ] {
            let up = Upsample::new(scale, *mode)
                .unwrap()
                .with_antialias(true)
                .unwrap();
            let py = format!("nn.Upsample({py_scale}, mode='{name}', antialias=True)");
            b.layer(&up, &py, x);
        }
    }
    // The functional forms.
    let fns = "mlx.nn.layers.upsample";
    b.expr(
        &format!("__import__('{fns}', fromlist=['x']).upsample_nearest(x, (1.5, 2.0))"),
        &x2,
        nn::upsample_nearest(&x2, &[1.5, 2.0]).unwrap(),
    );
    b.expr(
        &format!("__import__('{fns}', fromlist=['x']).upsample_linear(x, (2.0,), True)"),
        &x1,
        nn::upsample_linear(&x1, &[2.0], true, false).unwrap(),
    );
    b.expr(
        &format!("__import__('{fns}', fromlist=['x']).upsample_cubic(x, (0.5, 1.5), False, True)"),
        &x2,
        nn::upsample_cubic(&x2, &[0.5, 1.5], false, true).unwrap(),
    );
    b.check(2e-6);
}

#[test]
fn upsampling_gradients_flow() {
    let x = sample(&[1, 3, 4, 1], 40, -1.0, 1.0);
    for (mode, align_corners, antialias) in [
        (UpsampleMode::Nearest, false, false),
        (UpsampleMode::Linear, false, false),
        (UpsampleMode::Linear, true, false),
        (UpsampleMode::Cubic, false, false),
        (UpsampleMode::Cubic, true, false),
        (UpsampleMode::Linear, false, true),
        (UpsampleMode::Cubic, false, true),
    ] {
        for scale in [[1.5, 2.0], [0.7, 1.3]] {
            let up = Upsample::new(scale, mode)
                .unwrap()
                .with_align_corners(align_corners)
                .unwrap()
                .with_antialias(antialias)
                .unwrap();
            let f = |a: &[Array]| {
                let y = up.forward(&a[0])?;
                let w = sample(y.shape(), 41, 0.5, 1.5);
                (&y * &w).sum(None, false)
            };
            check_grad(f, std::slice::from_ref(&x), 0, 1e-6, 1e-5);
            let g = mlx::transforms::grad(f, &[0])(std::slice::from_ref(&x)).unwrap();
            let g = values(&g[0]);
            assert!(g.iter().all(|v| v.is_finite()));
            assert!(g.iter().any(|v| *v != 0.0), "{mode:?} {scale:?}");
        }
    }
}

#[test]
fn bad_upsample_configurations_are_errors() {
    for bad in [0.0, -2.0, f64::NAN, f64::INFINITY] {
        err_with(Upsample::new(bad, UpsampleMode::Linear), &["positive"]);
    }
    err_with(
        Upsample::new([2.0, 0.0], UpsampleMode::Nearest),
        &["positive"],
    );
    err_with(
        Upsample::new(2.0, UpsampleMode::Nearest)
            .unwrap()
            .with_antialias(true),
        &["nearest"],
    );
    err_with(
        Upsample::new(0.5, UpsampleMode::Linear)
            .unwrap()
            .with_align_corners(true)
            .unwrap()
            .with_antialias(true),
        &["align_corners"],
    );
    err_with(
        Upsample::new(0.5, UpsampleMode::Cubic)
            .unwrap()
            .with_antialias(true)
            .unwrap()
            .with_align_corners(true),
        &["align_corners"],
    );
    let up = Upsample::new(2.0, UpsampleMode::Linear).unwrap();
    assert!(up.param_names().is_empty());
    err_with(up.forward(&input(&[4, 3], 1)), &["at least one spatial"]);
    let per_axis = Upsample::new([2.0, 2.0], UpsampleMode::Nearest).unwrap();
    err_with(per_axis.forward(&input(&[1, 4, 3], 1)), &["one scale per"]);
    // A factor that leaves nothing of an axis.
    err_with(
        Upsample::new(0.1, UpsampleMode::Nearest)
            .unwrap()
            .forward(&input(&[1, 4, 3], 1)),
        &["scale factor 0.1"],
    );
    err_with(
        nn::upsample_linear(&input(&[1, 4, 3], 1), &[2.0, 2.0], false, false),
        &["one scale per"],
    );
    err_with(
        nn::upsample_cubic(&input(&[1, 4, 3], 1), &[2.0], true, true),
        &["align_corners"],
    );
    err_with(
        nn::upsample_nearest(&input(&[1, 4, 3], 1), &[-1.0]),
        &["positive"],
    );
}
