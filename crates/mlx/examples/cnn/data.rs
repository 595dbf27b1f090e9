//! The handwritten digits of scikit-learn (1,797 images of 8×8 pixels, UCI's optical digits):
//! `sklearn/datasets/data/digits.csv.gz` out of scikit-learn's wheel, fetched once with pip.

use std::io::Read;

use flate2::read::GzDecoder;

use crate::pypi::WheelFile;

/// The pinned wheel and the data file inside it.
const DIGITS: WheelFile = WheelFile {
    requirement: "scikit-learn==1.5.2",
    pip_args: &[
        "--platform",
        "manylinux2014_x86_64",
        "--python-version",
        "311",
    ],
    wheel: "scikit_learn-1.5.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    wheel_sha256: "f8b0ccd4a902836493e026c03256e8b206656f91fbcc4fde28c57a5b752561f1",
    member: "sklearn/datasets/data/digits.csv.gz",
    member_sha256: "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22",
    cache_subdir: "digits",
    size_hint: "about 13 MB",
};

/// Pixels per image.
pub const PIXELS: usize = 64;

/// The images (row-major, 0 to 16 scaled to 0 to 1) and their labels.
pub struct Digits {
    pub images: Vec<f32>,
    pub labels: Vec<i32>,
}

impl Digits {
    pub fn len(&self) -> usize {
        self.labels.len()
    }
}

/// Reads the cached CSV (fetching it first): 64 pixel values then the label, per line.
pub fn load() -> Result<Digits, String> {
    let path = DIGITS.path()?;
    let file = std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut text = String::new();
    GzDecoder::new(file)
        .read_to_string(&mut text)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut digits = Digits {
        images: Vec::new(),
        labels: Vec::new(),
    };
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.is_empty()) {
        let values: Vec<f32> = line
            .split(',')
            .map(|v| v.trim().parse::<f32>())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("line {}: {e}", n + 1))?;
        if values.len() != PIXELS + 1 {
            return Err(format!(
                "line {}: {} values, expected 65",
                n + 1,
                values.len()
            ));
        }
        digits
            .images
            .extend(values[..PIXELS].iter().map(|v| v / 16.0));
        digits.labels.push(values[PIXELS] as i32);
    }
    Ok(digits)
}
