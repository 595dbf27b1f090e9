//! The bar chart PNG: for every case, each peer's time divided by native MLX eager's, on a log
//! scale around 1 (bars up: slower than MLX eager; bars down: faster).
//!
//! Drawn pixel by pixel into an RGB buffer and written with the `png` crate; text uses the
//! bitmap font of burn-mlx's digit-recognition example (shared, not copied), so no font file is
//! needed on the machine.

use std::path::Path;

use crate::report::{BASELINE, Results, title};

#[allow(dead_code)] // the font module has items only the example's plot uses
#[path = "../../burn-mlx/examples/mnist/font.rs"]
mod font;

type Rgb = [u8; 3];

const BACKGROUND: Rgb = [255, 255, 255];
const INK: Rgb = [30, 30, 30];
const GRID: Rgb = [225, 225, 225];
const BASELINE_INK: Rgb = [90, 90, 90];

/// Bar colours, by peer key.
const COLORS: [(&str, Rgb); 6] = [
    ("burn-mlx", [31, 95, 168]),
    ("burn-mlx-compiled", [107, 174, 214]),
    ("mlx-compiled", [102, 166, 30]),
    ("burn-ndarray", [217, 95, 2]),
    ("burn-cuda", [117, 112, 179]),
    ("torch", [200, 40, 120]),
];

const BAR: usize = 36;
const GROUP_GAP: usize = 28;
const RIGHT: usize = 30;
const TOP: usize = 110;
const PLOT_HEIGHT: usize = 380;
const BOTTOM: usize = 60;

/// Writes the chart of `results` to `path` (creating its folder); `heading` goes on top.
pub fn write_png(path: &Path, heading: &str, results: &Results) -> Result<(), String> {
    let image = draw(heading, results);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let bytes = image
        .encode()
        .map_err(|e| format!("cannot encode the chart: {e}"))?;
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// The peers drawn as bars: every peer that ran except the baseline, in column order.
fn bar_peers(results: &Results) -> Vec<(&'static str, Rgb)> {
    let peers = results.peers();
    COLORS
        .iter()
        .filter(|(key, _)| peers.contains(key))
        .copied()
        .collect()
}

fn draw(heading: &str, results: &Results) -> Image {
    let peers = bar_peers(results);
    let labels: Vec<String> = results.cases.iter().map(|c| c.id.clone()).collect();
    let label_width = labels
        .iter()
        .map(|l| font::text_width(l) * 2)
        .max()
        .unwrap_or(0);
    let group = (peers.len().max(1) * BAR).max(label_width) + GROUP_GAP;

    // The y range: whole decades around every ratio, at least 0.1 to 10.
    let ratios: Vec<f64> = results
        .cases
        .iter()
        .flat_map(|c| {
            peers
                .iter()
                .filter_map(|(p, _)| results.ratio(c, p, BASELINE))
        })
        .filter(|r| r.is_finite() && *r > 0.0)
        .collect();
    let lo = ratios
        .iter()
        .fold(0.1_f64, |a, &r| a.min(r))
        .log10()
        .floor() as i32;
    let hi = ratios
        .iter()
        .fold(10.0_f64, |a, &r| a.max(r))
        .log10()
        .ceil() as i32;
    let decades: Vec<(i32, String)> = (lo..=hi).map(|k| (k, decade_label(k))).collect();
    let left = 30
        + decades
            .iter()
            .map(|(_, l)| font::text_width(l) * 2)
            .max()
            .unwrap_or(0);

    let subtitle = "time / native MLX eager time, log scale: up = slower, down = faster";
    let text_width = font::text_width(heading).max(font::text_width(subtitle)) * 2;
    let width = (left + group * labels.len().max(1) + RIGHT).max(text_width + 40);
    let height = TOP + PLOT_HEIGHT + BOTTOM;
    let mut image = Image::new(width, height);

    image.text(20, 16, heading, 2, INK);
    image.text(20, 44, subtitle, 2, INK);
    // Legend.
    let mut x = 20;
    for (key, color) in &peers {
        image.fill(x, 74, 16, 16, *color);
        image.text(x + 22, 75, title(key), 2, INK);
        x += 22 + font::text_width(title(key)) * 2 + 30;
    }

    let y_of = |ratio: f64| {
        let t = (ratio.log10() - f64::from(lo)) / f64::from(hi - lo);
        TOP + PLOT_HEIGHT - (t * PLOT_HEIGHT as f64).round() as usize
    };
    let plot_right = width - RIGHT;
    for (k, label) in &decades {
        let y = y_of(10f64.powi(*k));
        image.fill(left, y, plot_right - left, 1, GRID);
        let w = font::text_width(label) * 2;
        image.text(left - 10 - w, y.saturating_sub(7), label, 2, INK);
    }
    let one = y_of(1.0);
    image.fill(left, one, plot_right - left, 2, BASELINE_INK);
    image.fill(left, TOP, 1, PLOT_HEIGHT + 1, BASELINE_INK);

    for (i, case) in results.cases.iter().enumerate() {
        let group_left = left + GROUP_GAP / 2 + i * group;
        let bars_width = peers.len() * BAR;
        let first_bar = group_left + (group - GROUP_GAP - bars_width) / 2;
        for (j, (peer, color)) in peers.iter().enumerate() {
            let Some(ratio) = results.ratio(case, peer, BASELINE) else {
                continue;
            };
            let x = first_bar + j * BAR;
            let y = y_of(ratio);
            let (top, bottom) = if y < one { (y, one) } else { (one, y) };
            image.fill(x + 2, top, BAR - 4, (bottom - top).max(1), *color);
            let value = trim_number(ratio);
            let w = font::text_width(&value);
            let text_y = if y < one {
                top.saturating_sub(10)
            } else {
                bottom + 3
            };
            image.text(x + BAR / 2 - w / 2, text_y, &value, 1, INK);
        }
        let w = font::text_width(&labels[i]) * 2;
        let center = group_left + (group - GROUP_GAP) / 2;
        image.text(center - w / 2, TOP + PLOT_HEIGHT + 20, &labels[i], 2, INK);
    }
    image
}

/// The label of gridline 10^`k`: `0.01x`, `1x`, `100x`.
fn decade_label(k: i32) -> String {
    let decimals = (-k).max(0) as usize;
    format!("{:.decimals$}x", 10f64.powi(k))
}

/// A ratio for a label: two significant digits (`0.031`, `0.45`, `1.5`, `12`, `340`).
fn trim_number(v: f64) -> String {
    if v >= 10.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        let decimals = (-v.log10().floor()) as usize + 1;
        format!("{v:.decimals$}")
    }
}

/// An RGB picture.
struct Image {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
}

impl Image {
    fn new(width: usize, height: usize) -> Self {
        Image {
            width,
            height,
            rgb: BACKGROUND.repeat(width * height),
        }
    }

    fn set(&mut self, x: usize, y: usize, color: Rgb) {
        if x < self.width && y < self.height {
            let at = 3 * (y * self.width + x);
            self.rgb[at..at + 3].copy_from_slice(&color);
        }
    }

    /// A `w`×`h` rectangle with its top-left corner at `(x, y)`.
    fn fill(&mut self, x: usize, y: usize, w: usize, h: usize, color: Rgb) {
        for row in y..y + h {
            for col in x..x + w {
                self.set(col, row, color);
            }
        }
    }

    /// `text` with the top-left of its first glyph at `(x, y)`, each font pixel `scale`² pixels.
    fn text(&mut self, x: usize, y: usize, text: &str, scale: usize, color: Rgb) {
        font::for_each_pixel(text, |fx, fy| {
            self.fill(x + fx * scale, y + fy * scale, scale, scale, color)
        });
    }

    fn encode(&self) -> Result<Vec<u8>, png::EncodingError> {
        let mut bytes = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut bytes, self.width as u32, self.height as u32);
            encoder.set_color(png::ColorType::Rgb);
            encoder.set_depth(png::BitDepth::Eight);
            encoder.write_header()?.write_image_data(&self.rgb)?;
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::burn_cases::Timing;
    use crate::cases::{Target, cases};
    use crate::report::Outcome;

    #[test]
    fn ratio_labels() {
        assert_eq!(trim_number(340.2), "340");
        assert_eq!(trim_number(1.53), "1.5");
        assert_eq!(trim_number(0.45), "0.45");
        assert_eq!(trim_number(0.031), "0.031");
        assert_eq!(decade_label(-3), "0.001x");
        assert_eq!(decade_label(0), "1x");
        assert_eq!(decade_label(2), "100x");
    }

    #[test]
    fn draws_a_png_with_a_bar_per_peer() {
        let all = cases(Target::Cpu);
        let mut results = Results {
            cases: all[..2].to_vec(),
            ..Results::default()
        };
        let timed = |s: f64| {
            Outcome::Timed(Timing {
                times: vec![s],
                value: 0.0,
            })
        };
        for (case, peer, s) in [
            ("mlp", "mlx-eager", 1.0),
            ("mlp", "burn-mlx", 3.0),
            ("mlp", "mlx-compiled", 0.5),
            ("cnn", "mlx-eager", 1.0),
            ("cnn", "burn-ndarray", 250.0),
        ] {
            results.insert(case, peer, timed(s));
        }
        let image = draw("test", &results);
        // A burn-mlx bar (blue) rises above the 1x line.
        assert!(image.rgb.chunks(3).any(|p| p == COLORS[0].1));
        let dir = std::env::temp_dir().join(format!("mlx-bench-{}", std::process::id()));
        let path = dir.join("chart.png");
        write_png(&path, "test", &results).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
