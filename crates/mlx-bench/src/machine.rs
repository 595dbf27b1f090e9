//! What the benchmark ran on, printed above the table.

use serde::Serialize;

/// The machine and the library versions of a run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Machine {
    /// CPU model (from /proc/cpuinfo on Linux).
    pub cpu: String,
    /// Cores this process may use.
    pub cores: usize,
    /// The GPU's name as MLX reports it, if MLX has a GPU here.
    pub gpu: Option<String>,
    /// The MLX library this binary runs on.
    pub mlx: String,
    /// The BLAS behind MLX's CPU path in this binary.
    pub blas: String,
    /// The process's malloc (`mlx::build_info::allocator`).
    pub allocator: String,
    /// Python MLX's version, if its script ran.
    pub python_mlx: Option<String>,
    /// PyTorch's version and device, if its script ran.
    pub torch: Option<String>,
}

impl Machine {
    /// Collects what this process can see; the Python versions are filled in later.
    pub fn detect() -> Self {
        let gpu = mlx::Device::gpu();
        let gpu = gpu.is_available().then(|| {
            let name = gpu
                .info()
                .unwrap_or_default()
                .into_iter()
                .find(|(k, _)| k == "device_name")
                .map(|(_, v)| v);
            let backend = match mlx::gpu_backend() {
                Some(mlx::GpuBackend::Cuda) => "CUDA",
                Some(mlx::GpuBackend::Metal) => "Metal",
                None => "GPU",
            };
            match name {
                Some(name) => format!("{name} ({backend})"),
                None => backend.to_string(),
            }
        });
        Machine {
            cpu: cpu_model().unwrap_or_else(|| std::env::consts::ARCH.to_string()),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            gpu,
            mlx: mlx::version(),
            blas: mlx::build_info::blas(),
            allocator: mlx::build_info::allocator(),
            python_mlx: None,
            torch: None,
        }
    }

    /// A few lines for the top of the output.
    pub fn describe(&self) -> String {
        let mut s = format!("machine: {}, {} cores", self.cpu, self.cores);
        if let Some(gpu) = &self.gpu {
            s.push_str(&format!("; GPU: {gpu}"));
        }
        s.push_str(&format!(
            "\nMLX {} (CPU BLAS: {}; malloc: {})",
            self.mlx, self.blas, self.allocator
        ));
        if let Some(v) = &self.python_mlx {
            s.push_str(&format!("; Python MLX {v}"));
        }
        if let Some(v) = &self.torch {
            s.push_str(&format!("; PyTorch {v}"));
        }
        s
    }
}

fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
}
