//! The loss-curve PNG: training loss per step (log scale) on the left, accuracy per epoch on the
//! right. Drawn into an RGB buffer with anti-aliased lines and the built-in bitmap font.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use crate::data::Result;
use crate::font;
use crate::train::History;

const WIDTH: usize = 1200;
const HEIGHT: usize = 560;

type Rgb = [u8; 3];
const WHITE: Rgb = [255, 255, 255];
const TEXT: Rgb = [34, 34, 34];
const AXIS: Rgb = [80, 80, 80];
const GRID: Rgb = [228, 228, 228];
const EPOCH_LINE: Rgb = [200, 200, 200];
const RAW_LOSS: Rgb = [158, 202, 225];
const SMOOTH_LOSS: Rgb = [31, 95, 168];
const ACCURACY: Rgb = [217, 95, 2];

/// Scale of the bitmap font for the title, and for every other text.
const TITLE_SCALE: usize = 3;
const TEXT_SCALE: usize = 2;

/// Writes the plot of `history` to `path`. `test_name` names the evaluation set.
pub fn write_png(path: &Path, title: &str, test_name: &str, history: &History) -> Result<()> {
    let mut canvas = Canvas::new(WIDTH, HEIGHT);
    // Long titles (a long backend name) drop to the text size rather than run off the image.
    let scale = if font::text_width(title) * TITLE_SCALE + 16 <= WIDTH {
        TITLE_SCALE
    } else {
        TEXT_SCALE
    };
    let title_x = (WIDTH.saturating_sub(font::text_width(title) * scale) / 2) as f64;
    canvas.text(title_x, 16.0, title, scale, TEXT);

    let loss_area = Rect {
        left: 100.0,
        top: 96.0,
        right: 770.0,
        bottom: 470.0,
    };
    let accuracy_area = Rect {
        left: 900.0,
        top: 96.0,
        right: 1170.0,
        bottom: 470.0,
    };
    draw_loss_panel(&mut canvas, loss_area, history);
    draw_accuracy_panel(&mut canvas, accuracy_area, test_name, history);

    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    canvas
        .save(path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()).into())
}

#[derive(Clone, Copy)]
struct Rect {
    left: f64,
    top: f64,
    right: f64,
    bottom: f64,
}

impl Rect {
    fn width(&self) -> f64 {
        self.right - self.left
    }
    fn height(&self) -> f64 {
        self.bottom - self.top
    }
    fn center_x(&self) -> f64 {
        (self.left + self.right) / 2.0
    }
    fn center_y(&self) -> f64 {
        (self.top + self.bottom) / 2.0
    }
}

/// Maps data coordinates into a plot rectangle, optionally with a logarithmic y axis.
struct Axes {
    area: Rect,
    x: (f64, f64),
    y: (f64, f64),
    log_y: bool,
}

impl Axes {
    fn px(&self, x: f64) -> f64 {
        self.area.left + (x - self.x.0) / (self.x.1 - self.x.0) * self.area.width()
    }
    fn py(&self, y: f64) -> f64 {
        let (y, lo, hi) = if self.log_y {
            (y.log10(), self.y.0.log10(), self.y.1.log10())
        } else {
            (y, self.y.0, self.y.1)
        };
        self.area.bottom - (y - lo) / (hi - lo) * self.area.height()
    }

    /// Grid lines, ticks and labels, then the frame.
    fn draw(&self, canvas: &mut Canvas, x_ticks: &[(f64, String)], y_ticks: &[(f64, String)]) {
        let a = self.area;
        for (x, label) in x_ticks {
            let px = self.px(*x).round();
            canvas.fill_rect(px, a.top, 1.0, a.height(), GRID);
            canvas.fill_rect(px, a.bottom, 1.0, 6.0, AXIS);
            canvas.text_centered(px, a.bottom + 12.0, label, TEXT_SCALE, TEXT);
        }
        for (y, label) in y_ticks {
            let py = self.py(*y).round();
            canvas.fill_rect(a.left, py, a.width(), 1.0, GRID);
            canvas.fill_rect(a.left - 6.0, py, 6.0, 1.0, AXIS);
            let width = (font::text_width(label) * TEXT_SCALE) as f64;
            let glyph_middle = (font::CAP_HEIGHT * TEXT_SCALE) as f64 / 2.0;
            canvas.text(
                a.left - 12.0 - width,
                py - glyph_middle,
                label,
                TEXT_SCALE,
                TEXT,
            );
        }
        canvas.frame(a, AXIS);
    }

    /// Panel heading above the frame and axis names below and to the left of it.
    fn labels(&self, canvas: &mut Canvas, heading: &str, x_label: &str, y_label: &str) {
        let a = self.area;
        canvas.text_centered(a.center_x(), a.top - 30.0, heading, TEXT_SCALE, TEXT);
        canvas.text_centered(a.center_x(), a.bottom + 44.0, x_label, TEXT_SCALE, TEXT);
        let label_width = (font::text_width(y_label) * TEXT_SCALE) as f64;
        canvas.text_vertical(
            a.left - 94.0,
            a.center_y() + label_width / 2.0,
            y_label,
            TEXT_SCALE,
            TEXT,
        );
    }
}

fn draw_loss_panel(canvas: &mut Canvas, area: Rect, history: &History) {
    let losses: Vec<f64> = history
        .step_losses
        .iter()
        .map(|&l| f64::from(l).max(1e-6))
        .filter(|l| l.is_finite())
        .collect();
    if losses.is_empty() {
        return;
    }
    let steps = losses.len() as f64;
    let min = losses.iter().copied().fold(f64::INFINITY, f64::min);
    let max = losses.iter().copied().fold(0.0, f64::max);
    let (y_lo, y_hi) = log_bounds(min, max);
    let axes = Axes {
        area,
        x: (0.0, steps.max(1.0)),
        y: (y_lo, y_hi),
        log_y: true,
    };
    axes.draw(canvas, &linear_ticks(0.0, steps, 6), &log_ticks(y_lo, y_hi));
    axes.labels(
        canvas,
        "training loss per step (log scale)",
        "step",
        "cross-entropy loss",
    );

    // Faint dashed lines where each epoch ends.
    let steps_per_epoch = history.step_losses.len() / history.epochs.len().max(1);
    for epoch in 1..history.epochs.len() {
        let px = axes.px((epoch * steps_per_epoch) as f64).round();
        let mut y = area.top;
        while y < area.bottom {
            canvas.fill_rect(px, y, 1.0, 4.0_f64.min(area.bottom - y), EPOCH_LINE);
            y += 8.0;
        }
    }

    let window = (losses.len() / 40).max(1);
    let raw: Vec<(f64, f64)> = losses
        .iter()
        .enumerate()
        .map(|(i, &l)| (axes.px(i as f64 + 1.0), axes.py(l)))
        .collect();
    let smooth: Vec<(f64, f64)> = moving_average(&losses, window)
        .into_iter()
        .enumerate()
        .map(|(i, l)| (axes.px(i as f64 + 1.0), axes.py(l)))
        .collect();
    // With few steps there is nothing to smooth: draw the raw curve in the strong colour.
    let smoothing = window > 1;
    if smoothing {
        canvas.polyline(&raw, 1.0, RAW_LOSS);
        canvas.polyline(&smooth, 2.5, SMOOTH_LOSS);
    } else {
        canvas.polyline(&raw, 2.5, SMOOTH_LOSS);
    }

    // Legend in the top-right corner.
    let entries = if smoothing {
        vec![
            ("loss of each step".to_string(), RAW_LOSS, 1.0),
            (format!("mean of last {window} steps"), SMOOTH_LOSS, 2.5),
        ]
    } else {
        vec![("loss of each step".to_string(), SMOOTH_LOSS, 2.5)]
    };
    let box_height = 10.0 + 26.0 * entries.len() as f64;
    let text_width = entries
        .iter()
        .map(|(label, _, _)| font::text_width(label) * TEXT_SCALE)
        .max()
        .unwrap_or(0) as f64;
    let box_width = text_width + 64.0;
    let (x0, y0) = (area.right - box_width - 12.0, area.top + 12.0);
    canvas.fill_rect(x0, y0, box_width, box_height, WHITE);
    canvas.frame(
        Rect {
            left: x0,
            top: y0,
            right: x0 + box_width,
            bottom: y0 + box_height,
        },
        GRID,
    );
    for (i, (label, color, width)) in entries.iter().enumerate() {
        let y = y0 + 18.0 + 26.0 * i as f64;
        canvas.polyline(&[(x0 + 10.0, y), (x0 + 42.0, y)], *width, *color);
        canvas.text(x0 + 52.0, y - 7.0, label, TEXT_SCALE, TEXT);
    }
}

fn draw_accuracy_panel(canvas: &mut Canvas, area: Rect, test_name: &str, history: &History) {
    let percents: Vec<f64> = history
        .epochs
        .iter()
        .map(|e| f64::from(e.accuracy) * 100.0)
        .collect();
    if percents.is_empty() {
        return;
    }
    let epochs = percents.len() as f64;
    let min = percents.iter().copied().fold(100.0, f64::min);
    let y_step = nice_step((100.0 - min).max(1.0), 5);
    let y_lo = ((min - y_step / 2.0) / y_step).floor() * y_step;
    let y_hi = 100.0_f64.max(y_lo + y_step);
    let axes = Axes {
        area,
        x: (0.5, epochs + 0.5),
        y: (y_lo.max(0.0), y_hi),
        log_y: false,
    };
    let x_step = nice_step(epochs, 6).max(1.0);
    let x_ticks: Vec<(f64, String)> = (1..=percents.len())
        .map(|e| e as f64)
        .filter(|e| (e % x_step).abs() < 1e-9 || epochs <= 6.0)
        .map(|e| (e, format!("{e}")))
        .collect();
    axes.draw(canvas, &x_ticks, &linear_ticks(axes.y.0, axes.y.1, 5));
    axes.labels(
        canvas,
        &format!("{test_name} accuracy"),
        "epoch",
        "accuracy (%)",
    );

    let points: Vec<(f64, f64)> = percents
        .iter()
        .enumerate()
        .map(|(i, &p)| (axes.px(i as f64 + 1.0), axes.py(p)))
        .collect();
    canvas.polyline(&points, 2.5, ACCURACY);
    for &(x, y) in &points {
        canvas.dot(x, y, 5.0, ACCURACY);
    }
    if let (Some(&(x, y)), Some(last)) = (points.last(), percents.last()) {
        let label = format!("{last:.2}%");
        let width = (font::text_width(&label) * TEXT_SCALE) as f64;
        let x = (x - width / 2.0).clamp(area.left + 4.0, area.right - width - 4.0);
        canvas.text(x, y + 14.0, &label, TEXT_SCALE, TEXT);
    }
}

/// Mean of the last `window` values (fewer at the start).
fn moving_average(values: &[f64], window: usize) -> Vec<f64> {
    let mut sum = 0.0;
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            sum += v;
            if i >= window {
                sum -= values[i - window];
            }
            sum / (i + 1).min(window) as f64
        })
        .collect()
}

/// A step of 1, 2 or 5 times a power of ten that cuts `range` into about `count` pieces.
fn nice_step(range: f64, count: usize) -> f64 {
    let raw = range / count as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let fraction = raw / magnitude;
    let nice = if fraction <= 1.0 {
        1.0
    } else if fraction <= 2.0 {
        2.0
    } else if fraction <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

/// Labelled ticks at multiples of a nice step within `[lo, hi]`.
fn linear_ticks(lo: f64, hi: f64, count: usize) -> Vec<(f64, String)> {
    let step = nice_step(hi - lo, count);
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    let mut ticks = Vec::new();
    let mut k = (lo / step).ceil();
    while k * step <= hi + step * 1e-9 {
        let value = k * step;
        ticks.push((value, format!("{value:.decimals$}")));
        k += 1.0;
    }
    ticks
}

/// The values 1, 2, 5 × 10^k.
fn log_grid(k: i32) -> [f64; 3] {
    let p = 10f64.powi(k);
    [p, 2.0 * p, 5.0 * p]
}

/// Tightest `[lo, hi]` made of values 1, 2, 5 × 10^k that contains `[min, max]`.
fn log_bounds(min: f64, max: f64) -> (f64, f64) {
    let k_lo = min.log10().floor() as i32;
    let lo = log_grid(k_lo)
        .into_iter()
        .filter(|&v| v <= min * (1.0 + 1e-9))
        .fold(10f64.powi(k_lo), f64::max);
    let k_hi = max.log10().floor() as i32;
    let hi = log_grid(k_hi)
        .into_iter()
        .chain([10f64.powi(k_hi + 1)])
        .find(|&v| v >= max * (1.0 - 1e-9))
        .unwrap_or(10f64.powi(k_hi + 1));
    if hi > lo { (lo, hi) } else { (lo, lo * 10.0) }
}

/// Ticks at 1, 2, 5 × 10^k inside `[lo, hi]`; only powers of ten when the range is wide.
fn log_ticks(lo: f64, hi: f64) -> Vec<(f64, String)> {
    let decades = (hi / lo).log10();
    let mut ticks = Vec::new();
    for k in (lo.log10().floor() as i32)..=(hi.log10().ceil() as i32) {
        for (i, value) in log_grid(k).into_iter().enumerate() {
            let inside = value >= lo * (1.0 - 1e-9) && value <= hi * (1.0 + 1e-9);
            if inside && (i == 0 || decades <= 3.5) {
                let decimals = (-k).max(0) as usize;
                ticks.push((value, format!("{value:.decimals$}")));
            }
        }
    }
    ticks
}

/// An RGB image being drawn.
struct Canvas {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

impl Canvas {
    fn new(width: usize, height: usize) -> Self {
        Self {
            width,
            height,
            pixels: vec![255; width * height * 3],
        }
    }

    /// Mixes `color` into pixel `(x, y)` with opacity `alpha` in [0, 1].
    fn blend(&mut self, x: i64, y: i64, color: Rgb, alpha: f64) {
        if x < 0 || y < 0 || x >= self.width as i64 || y >= self.height as i64 || alpha <= 0.0 {
            return;
        }
        let i = (y as usize * self.width + x as usize) * 3;
        let alpha = alpha.min(1.0);
        for (channel, &c) in self.pixels[i..i + 3].iter_mut().zip(&color) {
            *channel = (f64::from(*channel) * (1.0 - alpha) + f64::from(c) * alpha).round() as u8;
        }
    }

    fn fill_rect(&mut self, x: f64, y: f64, width: f64, height: f64, color: Rgb) {
        let (x0, y0) = (x.round() as i64, y.round() as i64);
        let (x1, y1) = ((x + width).round() as i64, (y + height).round() as i64);
        for py in y0..y1 {
            for px in x0..x1 {
                self.blend(px, py, color, 1.0);
            }
        }
    }

    fn frame(&mut self, r: Rect, color: Rgb) {
        self.fill_rect(r.left, r.top, r.width() + 1.0, 1.0, color);
        self.fill_rect(r.left, r.bottom, r.width() + 1.0, 1.0, color);
        self.fill_rect(r.left, r.top, 1.0, r.height(), color);
        self.fill_rect(r.right, r.top, 1.0, r.height(), color);
    }

    /// An anti-aliased line through `points`, `width` pixels wide. Coverage is accumulated
    /// with `max` before blending, so joints are not darker than the rest of the line.
    fn polyline(&mut self, points: &[(f64, f64)], width: f64, color: Rgb) {
        let half = width / 2.0;
        let mut coverage = vec![0f32; self.width * self.height];
        let segments: Vec<_> = if points.len() == 1 {
            vec![(points[0], points[0])]
        } else {
            points.windows(2).map(|w| (w[0], w[1])).collect()
        };
        for ((ax, ay), (bx, by)) in segments {
            let x0 = (ax.min(bx) - half - 1.0).floor().max(0.0) as usize;
            let x1 = ((ax.max(bx) + half + 1.0).ceil() as usize).min(self.width - 1);
            let y0 = (ay.min(by) - half - 1.0).floor().max(0.0) as usize;
            let y1 = ((ay.max(by) + half + 1.0).ceil() as usize).min(self.height - 1);
            let (dx, dy) = (bx - ax, by - ay);
            let length2 = dx * dx + dy * dy;
            for py in y0..=y1 {
                for px in x0..=x1 {
                    let (cx, cy) = (px as f64 + 0.5, py as f64 + 0.5);
                    let t = if length2 > 0.0 {
                        (((cx - ax) * dx + (cy - ay) * dy) / length2).clamp(0.0, 1.0)
                    } else {
                        0.0
                    };
                    let distance = (cx - ax - t * dx).hypot(cy - ay - t * dy);
                    let c = (half + 0.5 - distance).clamp(0.0, 1.0) as f32;
                    let cell = &mut coverage[py * self.width + px];
                    *cell = cell.max(c);
                }
            }
        }
        for (i, &c) in coverage.iter().enumerate() {
            if c > 0.0 {
                let (x, y) = ((i % self.width) as i64, (i / self.width) as i64);
                self.blend(x, y, color, f64::from(c));
            }
        }
    }

    /// A filled anti-aliased disc of diameter `size` centred on `(x, y)`.
    fn dot(&mut self, x: f64, y: f64, size: f64, color: Rgb) {
        let radius = size / 2.0;
        let reach = radius.ceil() as i64 + 1;
        let (cx, cy) = (x.floor() as i64, y.floor() as i64);
        for py in cy - reach..=cy + reach {
            for px in cx - reach..=cx + reach {
                let distance = (px as f64 + 0.5 - x).hypot(py as f64 + 0.5 - y);
                self.blend(px, py, color, (radius + 0.5 - distance).clamp(0.0, 1.0));
            }
        }
    }

    /// Text with the top-left corner of its first glyph cell at `(x, y)`.
    fn text(&mut self, x: f64, y: f64, text: &str, scale: usize, color: Rgb) {
        let (x, y) = (x.round() as i64, y.round() as i64);
        let s = scale as i64;
        font::for_each_pixel(text, |fx, fy| {
            for dy in 0..s {
                for dx in 0..s {
                    self.blend(x + fx as i64 * s + dx, y + fy as i64 * s + dy, color, 1.0);
                }
            }
        });
    }

    /// Text centred horizontally on `x`, with the top of its cells at `y`.
    fn text_centered(&mut self, x: f64, y: f64, text: &str, scale: usize, color: Rgb) {
        let width = (font::text_width(text) * scale) as f64;
        self.text(x - width / 2.0, y, text, scale, color);
    }

    /// Text turned a quarter to the left, read from bottom to top; `(x, y)` is where the top-left
    /// corner of the first glyph cell ends up (its bottom-left on screen).
    fn text_vertical(&mut self, x: f64, y: f64, text: &str, scale: usize, color: Rgb) {
        let (x, y) = (x.round() as i64, y.round() as i64);
        let s = scale as i64;
        font::for_each_pixel(text, |fx, fy| {
            for du in 0..s {
                for dv in 0..s {
                    self.blend(x + fy as i64 * s + dv, y - (fx as i64 * s + du), color, 1.0);
                }
            }
        });
    }

    fn save(&self, path: &Path) -> std::result::Result<(), png::EncodingError> {
        let file = BufWriter::new(File::create(path)?);
        let mut encoder = png::Encoder::new(file, self.width as u32, self.height as u32);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&self.pixels)?;
        writer.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_and_bounds() {
        assert_eq!(nice_step(1000.0, 6), 200.0);
        assert_eq!(nice_step(4.0, 5), 1.0);
        assert_eq!(log_bounds(0.013, 2.4), (0.01, 5.0));
        assert_eq!(log_bounds(0.05, 0.9), (0.05, 1.0));
        let labels: Vec<String> = log_ticks(0.01, 5.0).into_iter().map(|t| t.1).collect();
        assert_eq!(
            labels,
            ["0.01", "0.02", "0.05", "0.1", "0.2", "0.5", "1", "2", "5"]
        );
        let labels: Vec<String> = linear_ticks(96.0, 100.0, 5)
            .into_iter()
            .map(|t| t.1)
            .collect();
        assert_eq!(labels, ["96", "97", "98", "99", "100"]);
        assert_eq!(
            moving_average(&[1.0, 3.0, 5.0, 7.0], 2),
            [1.0, 2.0, 4.0, 6.0]
        );
    }
}
