//! Fast Fourier transforms (`mlx.core.fft`).
//!
//! Transforms compute in `complex64`: real inputs of any dtype are converted (float64 too, so
//! results are single precision). The complex transforms ([`fft`], [`fftn`], …) return
//! `complex64`; [`rfft`] takes real input and keeps the non-negative frequencies
//! (`n / 2 + 1` of them along the last transformed axis); [`irfft`] returns `float32`.
//!
//! Sizes: `n` (or `s`, one per axis) pads the input with zeros or crops it along each
//! transformed axis before transforming; `None` keeps the input's sizes (for the inverse real
//! transforms, `2 * (m - 1)` along the last axis, where `m` is the input's size there).
//!
//! MLX's CUDA backend has no FFT: under CUDA, the transforms ([`fft`] … [`irfftn`], [`stft`],
//! [`istft`]) run on the CPU's default stream (see [`crate::linalg`]); Metal and the CPU run them
//! on the current stream.
//!
//! Every transform takes a [`FftNorm`], as NumPy's `norm`: `FftNorm::Backward` (the default:
//! the forward transform is unscaled and the inverse divides by `n`) matches Python's calls
//! without `norm`.

use mlx_sys as sys;

use crate::array::{Array, ints};
use crate::error::{Result, invalid};
use crate::ops::call;

/// Scaling of a transform, as NumPy's `norm` argument.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum FftNorm {
    /// The forward transform is unscaled; the inverse is scaled by `1/n`.
    #[default]
    Backward,
    /// Both directions are scaled by `1/sqrt(n)` (unitary transforms).
    Ortho,
    /// The forward transform is scaled by `1/n`; the inverse is unscaled.
    Forward,
}

impl FftNorm {
    fn to_c(self) -> i32 {
        match self {
            FftNorm::Backward => 0,
            FftNorm::Ortho => 1,
            FftNorm::Forward => 2,
        }
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Fft,
    Ifft,
    Rfft,
    Irfft,
}

/// The n-dimensional transform of `kind` with optional sizes and axes.
fn transform(
    kind: Kind,
    a: &Array,
    s: Option<&[i32]>,
    axes: Option<&[i32]>,
    norm: FftNorm,
) -> Result<Array> {
    crate::linalg::on_cpu_under_cuda(|| transform_here(kind, a, s, axes, norm))
}

fn transform_here(
    kind: Kind,
    a: &Array,
    s: Option<&[i32]>,
    axes: Option<&[i32]>,
    norm: FftNorm,
) -> Result<Array> {
    let norm = norm.to_c();
    let a = a.as_raw();
    // As NumPy: sizes without axes apply to the last `s.len()` axes.
    let last_axes: Vec<i32>;
    let axes = match (s, axes) {
        (Some(s), None) => {
            let n = i32::try_from(s.len()).unwrap_or(i32::MAX);
            last_axes = (-n..0).collect();
            Some(&last_axes[..])
        }
        _ => axes,
    };
    match (s, axes) {
        (Some(s), Some(axes)) => {
            let (s, axes) = (ints(s), ints(axes));
            call(|r, st| unsafe {
                match kind {
                    Kind::Fft => sys::mlxc_fft_fftn(r, a, s, axes, norm, st),
                    Kind::Ifft => sys::mlxc_fft_ifftn(r, a, s, axes, norm, st),
                    Kind::Rfft => sys::mlxc_fft_rfftn(r, a, s, axes, norm, st),
                    Kind::Irfft => sys::mlxc_fft_irfftn(r, a, s, axes, norm, st),
                }
            })
        }
        (_, Some(axes)) => {
            let axes = ints(axes);
            call(|r, st| unsafe {
                match kind {
                    Kind::Fft => sys::mlxc_fft_fftn_axes(r, a, axes, norm, st),
                    Kind::Ifft => sys::mlxc_fft_ifftn_axes(r, a, axes, norm, st),
                    Kind::Rfft => sys::mlxc_fft_rfftn_axes(r, a, axes, norm, st),
                    Kind::Irfft => sys::mlxc_fft_irfftn_axes(r, a, axes, norm, st),
                }
            })
        }
        (_, None) => call(|r, st| unsafe {
            match kind {
                Kind::Fft => sys::mlxc_fft_fftn_all(r, a, norm, st),
                Kind::Ifft => sys::mlxc_fft_ifftn_all(r, a, norm, st),
                Kind::Rfft => sys::mlxc_fft_rfftn_all(r, a, norm, st),
                Kind::Irfft => sys::mlxc_fft_irfftn_all(r, a, norm, st),
            }
        }),
    }
}

fn one_d(kind: Kind, a: &Array, n: Option<i32>, axis: i32, norm: FftNorm) -> Result<Array> {
    let n = n.map(|n| [n]);
    transform(kind, a, n.as_ref().map(|n| &n[..]), Some(&[axis]), norm)
}

fn two_d(
    kind: Kind,
    a: &Array,
    s: Option<&[i32]>,
    axes: Option<&[i32]>,
    norm: FftNorm,
) -> Result<Array> {
    transform(kind, a, s, Some(axes.unwrap_or(&[-2, -1])), norm)
}

// ---- complex transforms -------------------------------------------------------------------------

/// One-dimensional discrete Fourier transform along `axis`, of size `n` (default: the axis's
/// size; the input is cropped or zero-padded).
pub fn fft(a: &Array, n: Option<i32>, axis: i32, norm: FftNorm) -> Result<Array> {
    one_d(Kind::Fft, a, n, axis, norm)
}

/// Inverse of [`fft`].
pub fn ifft(a: &Array, n: Option<i32>, axis: i32, norm: FftNorm) -> Result<Array> {
    one_d(Kind::Ifft, a, n, axis, norm)
}

/// Two-dimensional transform over `axes` (default `[-2, -1]`), with sizes `s`.
pub fn fft2(a: &Array, s: Option<&[i32]>, axes: Option<&[i32]>, norm: FftNorm) -> Result<Array> {
    two_d(Kind::Fft, a, s, axes, norm)
}

/// Inverse of [`fft2`].
pub fn ifft2(a: &Array, s: Option<&[i32]>, axes: Option<&[i32]>, norm: FftNorm) -> Result<Array> {
    two_d(Kind::Ifft, a, s, axes, norm)
}

/// N-dimensional transform over `axes` (default: every axis, or the last `s.len()` when `s` is
/// given), with sizes `s`.
pub fn fftn(a: &Array, s: Option<&[i32]>, axes: Option<&[i32]>, norm: FftNorm) -> Result<Array> {
    transform(Kind::Fft, a, s, axes, norm)
}

/// Inverse of [`fftn`].
pub fn ifftn(a: &Array, s: Option<&[i32]>, axes: Option<&[i32]>, norm: FftNorm) -> Result<Array> {
    transform(Kind::Ifft, a, s, axes, norm)
}

// ---- real transforms ----------------------------------------------------------------------------

/// Transform of real input along `axis`, keeping the `n / 2 + 1` non-negative frequencies
/// (complex input is reduced to its real part).
pub fn rfft(a: &Array, n: Option<i32>, axis: i32, norm: FftNorm) -> Result<Array> {
    one_d(Kind::Rfft, a, n, axis, norm)
}

/// Inverse of [`rfft`]: a real signal of size `n` (default `2 * (m - 1)`, `m` the input's size
/// along `axis`) from its non-negative frequencies.
pub fn irfft(a: &Array, n: Option<i32>, axis: i32, norm: FftNorm) -> Result<Array> {
    one_d(Kind::Irfft, a, n, axis, norm)
}

/// Two-dimensional [`rfftn`] over `axes` (default `[-2, -1]`).
pub fn rfft2(a: &Array, s: Option<&[i32]>, axes: Option<&[i32]>, norm: FftNorm) -> Result<Array> {
    two_d(Kind::Rfft, a, s, axes, norm)
}

/// Inverse of [`rfft2`].
pub fn irfft2(a: &Array, s: Option<&[i32]>, axes: Option<&[i32]>, norm: FftNorm) -> Result<Array> {
    two_d(Kind::Irfft, a, s, axes, norm)
}

/// N-dimensional transform of real input: complex transforms over all `axes` but the last, and
/// a real one (keeping `n / 2 + 1` frequencies) over the last.
pub fn rfftn(a: &Array, s: Option<&[i32]>, axes: Option<&[i32]>, norm: FftNorm) -> Result<Array> {
    transform(Kind::Rfft, a, s, axes, norm)
}

/// Inverse of [`rfftn`]; `s` gives the output sizes (the last one defaults to `2 * (m - 1)`).
pub fn irfftn(a: &Array, s: Option<&[i32]>, axes: Option<&[i32]>, norm: FftNorm) -> Result<Array> {
    transform(Kind::Irfft, a, s, axes, norm)
}

// ---- helpers ------------------------------------------------------------------------------------

/// The sample frequencies of an `n`-point [`fft`] with sample spacing `d`:
/// `[0, 1, …, ⌈n/2⌉-1, -⌊n/2⌋, …, -1] / (d n)` (float32).
pub fn fftfreq(n: i32, d: f64) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_fft_fftfreq(r, n, d, s) })
}

/// The sample frequencies of an `n`-point [`rfft`]: `[0, 1, …, ⌊n/2⌋] / (d n)` (float32).
pub fn rfftfreq(n: i32, d: f64) -> Result<Array> {
    call(|r, s| unsafe { sys::mlxc_fft_rfftfreq(r, n, d, s) })
}

/// Moves the zero-frequency term to the center: rolls each of `axes` (default: all) by half its
/// size (`⌊n/2⌋`).
pub fn fftshift(a: &Array, axes: Option<&[i32]>) -> Result<Array> {
    match axes {
        Some(axes) => call(|r, s| unsafe { sys::mlxc_fft_fftshift(r, a.as_raw(), ints(axes), s) }),
        None => call(|r, s| unsafe { sys::mlxc_fft_fftshift_all(r, a.as_raw(), s) }),
    }
}

/// Inverse of [`fftshift`] (rolls by `-⌊n/2⌋`; differs from it for odd sizes).
pub fn ifftshift(a: &Array, axes: Option<&[i32]>) -> Result<Array> {
    match axes {
        Some(axes) => call(|r, s| unsafe { sys::mlxc_fft_ifftshift(r, a.as_raw(), ints(axes), s) }),
        None => call(|r, s| unsafe { sys::mlxc_fft_ifftshift_all(r, a.as_raw(), s) }),
    }
}

// ---- short-time transforms ----------------------------------------------------------------------

/// Padding used by [`stft`] when `center` is set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum PadMode {
    /// Mirror the signal without repeating the edge sample (`"reflect"`).
    #[default]
    Reflect,
    /// Zeros (`"constant"`).
    Constant,
    /// Repeat the edge sample (`"edge"`).
    Edge,
}

/// Options of [`stft`] and [`istft`]. `Default` gives Python's defaults (except `n_fft`, which
/// [`stft`] reads as 2048 when `None`).
#[derive(Debug, Clone, Default)]
pub struct StftOptions {
    /// Frame length (the FFT size). `None`: 2048 for [`stft`]; for [`istft`], inferred from the
    /// input.
    pub n_fft: Option<i32>,
    /// Step between frames. `None`: `n_fft / 4`.
    pub hop_length: Option<i32>,
    /// Window length (at most `n_fft`; the window is zero-padded to `n_fft`). `None`: `n_fft`.
    pub win_length: Option<i32>,
    /// A one-dimensional window of `win_length` samples, centered and zero-padded to `n_fft`.
    /// `None`: a rectangular window.
    pub window: Option<Array>,
    /// Whether the signal is padded by `n_fft / 2` on both sides so frame `t` is centered at
    /// `t * hop_length`. Python's default is `true`: set it with [`StftOptions::new`].
    pub center: bool,
    /// Padding used when `center` is set ([`stft`] only).
    pub pad_mode: PadMode,
    /// Scaling of the transforms.
    pub norm: FftNorm,
    /// Only the non-negative frequencies. `None`: for [`stft`], one-sided for real input and
    /// two-sided for complex input; for [`istft`], one-sided.
    pub onesided: Option<bool>,
    /// Trim or zero-pad the reconstructed signal to this length ([`istft`] only). `None`: as
    /// the frames give.
    pub length: Option<i32>,
}

impl StftOptions {
    /// Python's defaults: centered frames, reflect padding, backward scaling.
    pub fn new() -> StftOptions {
        StftOptions {
            center: true,
            ..StftOptions::default()
        }
    }

    /// Sets [`StftOptions::n_fft`].
    pub fn with_n_fft(mut self, n_fft: i32) -> Self {
        self.n_fft = Some(n_fft);
        self
    }

    /// Sets [`StftOptions::hop_length`].
    pub fn with_hop_length(mut self, hop_length: i32) -> Self {
        self.hop_length = Some(hop_length);
        self
    }

    /// Sets [`StftOptions::win_length`].
    pub fn with_win_length(mut self, win_length: i32) -> Self {
        self.win_length = Some(win_length);
        self
    }

    /// Sets [`StftOptions::window`].
    pub fn with_window(mut self, window: Array) -> Self {
        self.window = Some(window);
        self
    }

    /// Sets [`StftOptions::center`].
    pub fn with_center(mut self, center: bool) -> Self {
        self.center = center;
        self
    }

    /// Sets [`StftOptions::pad_mode`].
    pub fn with_pad_mode(mut self, pad_mode: PadMode) -> Self {
        self.pad_mode = pad_mode;
        self
    }

    /// Sets [`StftOptions::norm`].
    pub fn with_norm(mut self, norm: FftNorm) -> Self {
        self.norm = norm;
        self
    }

    /// Sets [`StftOptions::onesided`].
    pub fn with_onesided(mut self, onesided: bool) -> Self {
        self.onesided = Some(onesided);
        self
    }

    /// Sets [`StftOptions::length`].
    pub fn with_length(mut self, length: i32) -> Self {
        self.length = Some(length);
        self
    }
}

fn opt_int(v: Option<i32>) -> sys::mlxc_opt_int {
    sys::mlxc_opt_int {
        has: v.is_some(),
        value: v.unwrap_or(0),
    }
}

fn opt_bool(v: Option<bool>) -> i32 {
    match v {
        None => -1,
        Some(false) => 0,
        Some(true) => 1,
    }
}

/// Short-time Fourier transform of the last axis of `x`: frames of `n_fft` samples every
/// `hop_length`, windowed, each transformed. The result is `[..., n_freq, n_frames]`
/// (complex64), with `n_freq = n_fft / 2 + 1` when one-sided.
pub fn stft(x: &Array, options: &StftOptions) -> Result<Array> {
    let pad_mode = match options.pad_mode {
        PadMode::Reflect => c"reflect",
        PadMode::Constant => c"constant",
        PadMode::Edge => c"edge",
    };
    let n_fft = options.n_fft.unwrap_or(2048);
    if options.length.is_some() {
        return invalid("[stft] `length` applies to istft only");
    }
    crate::linalg::on_cpu_under_cuda(|| {
        call(|r, s| unsafe {
            sys::mlxc_fft_stft(
                r,
                x.as_raw(),
                n_fft,
                opt_int(options.hop_length),
                opt_int(options.win_length),
                crate::linalg::opt_raw(options.window.as_ref()),
                options.center,
                pad_mode.as_ptr(),
                options.norm.to_c(),
                opt_bool(options.onesided),
                s,
            )
        })
    })
}

/// Inverse of [`stft`] by overlap-add (normalized by the squared-window envelope): a signal from
/// `[..., n_freq, n_frames]`, with the options of the forward transform (`n_fft` inferred from
/// `n_freq` when `None`, assuming an even size) and [`StftOptions::length`] to trim or pad.
pub fn istft(stft_matrix: &Array, options: &StftOptions) -> Result<Array> {
    crate::linalg::on_cpu_under_cuda(|| {
        call(|r, s| unsafe {
            sys::mlxc_fft_istft(
                r,
                stft_matrix.as_raw(),
                opt_int(options.n_fft),
                opt_int(options.hop_length),
                opt_int(options.win_length),
                crate::linalg::opt_raw(options.window.as_ref()),
                options.center,
                options.norm.to_c(),
                opt_bool(options.onesided),
                opt_int(options.length),
                s,
            )
        })
    })
}
