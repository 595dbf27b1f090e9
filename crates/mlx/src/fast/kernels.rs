//! Custom GPU kernels written as source strings and compiled by MLX at run time (MLX's
//! `fast::cuda_kernel`, compiled with NVRTC, and `fast::metal_kernel`).

use std::ffi::CString;

use mlx_sys as sys;

use crate::array::{Array, ints};
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::ops::call_vec;

/// The GPU back-end a kernel's source is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelBackend {
    /// CUDA C++ (MLX's CUDA build).
    Cuda,
    /// Metal Shading Language (MLX on Apple silicon).
    Metal,
}

/// A template argument of a kernel: `template <typename T>` gets a dtype, `template <int N>` an
/// integer, `template <bool B>` a boolean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateArg {
    /// An integer.
    Int(i32),
    /// A boolean.
    Bool(bool),
    /// A type, as the dtype's C++ type.
    Dtype(Dtype),
}

/// A kernel: its name, the names its source uses for the inputs and outputs, and the source of
/// the kernel's body (MLX writes the signature: each input and output becomes a pointer
/// parameter of its name, plus `<name>_shape`, `<name>_strides` and `<name>_ndim` for inputs
/// whose shapes the body reads).
///
/// ```
/// use mlx::fast::{CustomKernel, KernelLaunch};
/// use mlx::{Array, Dtype};
///
/// let source = "unsigned int i = blockIdx.x * blockDim.x + threadIdx.x;\n\
///               if (i < inp_shape[0]) { out[i] = exp(inp[i]); }";
/// let kernel = CustomKernel::cuda("exp_kernel", &["inp"], &["out"], source)?;
/// let x = mlx::array![0.0f32, 1.0, 2.0];
/// let launch = KernelLaunch::new([3, 1, 1], [32, 1, 1]);
/// match kernel.apply(&[&x], &[(&[3], Dtype::Float32)], &launch) {
///     Ok(out) => assert!((out[0].to_vec::<f32>()?[1] - 1f32.exp()).abs() < 1e-5),
///     // Without MLX's CUDA back-end (a CPU or Metal build), the call is an error.
///     Err(e) => assert!(e.to_string().contains("No CUDA back-end"), "{e}"),
/// }
/// # Ok::<(), mlx::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct CustomKernel {
    backend: KernelBackend,
    name: CString,
    input_names: Vec<CString>,
    output_names: Vec<CString>,
    source: CString,
    header: CString,
    ensure_row_contiguous: bool,
    shared_memory: i32,
    atomic_outputs: bool,
}

fn c_string(what: &str, s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| {
        Error::InvalidArgument(format!(
            "[custom_kernel] the {what} contains a NUL character"
        ))
    })
}

fn c_strings(what: &str, names: &[&str]) -> Result<Vec<CString>> {
    names.iter().map(|n| c_string(what, n)).collect()
}

fn strings(v: &[CString]) -> (Vec<*const std::os::raw::c_char>, usize) {
    (v.iter().map(|s| s.as_ptr()).collect(), v.len())
}

impl CustomKernel {
    fn new(
        backend: KernelBackend,
        name: &str,
        input_names: &[&str],
        output_names: &[&str],
        source: &str,
    ) -> Result<CustomKernel> {
        Ok(CustomKernel {
            backend,
            name: c_string("name", name)?,
            input_names: c_strings("input names", input_names)?,
            output_names: c_strings("output names", output_names)?,
            source: c_string("source", source)?,
            header: CString::default(),
            ensure_row_contiguous: true,
            shared_memory: 0,
            atomic_outputs: false,
        })
    }

    /// A CUDA kernel (MLX's `fast::cuda_kernel`).
    pub fn cuda(
        name: &str,
        input_names: &[&str],
        output_names: &[&str],
        source: &str,
    ) -> Result<CustomKernel> {
        CustomKernel::new(KernelBackend::Cuda, name, input_names, output_names, source)
    }

    /// A Metal kernel (MLX's `fast::metal_kernel`).
    pub fn metal(
        name: &str,
        input_names: &[&str],
        output_names: &[&str],
        source: &str,
    ) -> Result<CustomKernel> {
        CustomKernel::new(
            KernelBackend::Metal,
            name,
            input_names,
            output_names,
            source,
        )
    }

    /// Code placed before the kernel (helper functions, includes). MLX pastes it in front of
    /// its own code, so a final newline is added where the header lacks one (a header ending in
    /// a `//` comment or a preprocessor line would otherwise swallow what follows).
    pub fn with_header(mut self, header: &str) -> Result<Self> {
        let mut header = header.to_string();
        if !header.is_empty() && !header.ends_with('\n') {
            header.push('\n');
        }
        self.header = c_string("header", &header)?;
        Ok(self)
    }

    /// Whether inputs are copied to row-major layout first (true by default); when false the
    /// body must use the strides.
    pub fn with_ensure_row_contiguous(mut self, ensure_row_contiguous: bool) -> Self {
        self.ensure_row_contiguous = ensure_row_contiguous;
        self
    }

    /// Bytes of dynamic shared memory per block (CUDA only).
    pub fn with_shared_memory(mut self, bytes: i32) -> Self {
        self.shared_memory = bytes;
        self
    }

    /// Whether outputs are declared atomic (Metal only).
    pub fn with_atomic_outputs(mut self, atomic_outputs: bool) -> Self {
        self.atomic_outputs = atomic_outputs;
        self
    }

    /// The back-end the source is written for.
    pub fn backend(&self) -> KernelBackend {
        self.backend
    }

    /// Runs the kernel on `inputs` (one per input name) into outputs of the given shapes and
    /// dtypes (one per output name). An error on a build without the kernel's back-end, and
    /// for a source the compiler rejects (with its log).
    pub fn apply(
        &self,
        inputs: &[&Array],
        outputs: &[(&[i32], Dtype)],
        launch: &KernelLaunch,
    ) -> Result<Vec<Array>> {
        let backend = match self.backend {
            KernelBackend::Cuda => c"cuda",
            KernelBackend::Metal => c"metal",
        };
        let (in_names, n_in) = strings(&self.input_names);
        let (out_names, n_out) = strings(&self.output_names);
        let handles: Vec<sys::mlxc_array> = inputs.iter().map(|a| a.as_raw()).collect();
        let shapes: Vec<i32> = outputs
            .iter()
            .flat_map(|(s, _)| s.iter().copied())
            .collect();
        let ndims: Vec<i32> = outputs.iter().map(|(s, _)| s.len() as i32).collect();
        let dtypes: Vec<i32> = outputs.iter().map(|(_, d)| d.to_sys().0 as i32).collect();
        let template_names = launch
            .template
            .iter()
            .map(|(n, _)| c_string("template argument name", n))
            .collect::<Result<Vec<_>>>()?;
        let (t_names, n_t) = strings(&template_names);
        let (kinds, values): (Vec<i32>, Vec<i32>) = launch
            .template
            .iter()
            .map(|(_, v)| match v {
                TemplateArg::Int(i) => (0, *i),
                TemplateArg::Bool(b) => (1, *b as i32),
                TemplateArg::Dtype(d) => (2, d.to_sys().0 as i32),
            })
            .unzip();
        let init = sys::mlxc_opt_float {
            has: launch.init_value.is_some(),
            value: launch.init_value.unwrap_or(0.0),
        };
        // SAFETY: every pointer stays valid for the call (the vectors and strings above).
        call_vec(|r, s| unsafe {
            sys::mlxc_fast_custom_kernel(
                r,
                backend.as_ptr(),
                self.name.as_ptr(),
                sys::mlxc_strings {
                    data: in_names.as_ptr(),
                    len: n_in,
                },
                sys::mlxc_strings {
                    data: out_names.as_ptr(),
                    len: n_out,
                },
                self.source.as_ptr(),
                self.header.as_ptr(),
                self.ensure_row_contiguous,
                self.shared_memory,
                self.atomic_outputs,
                sys::mlxc_arrays {
                    data: handles.as_ptr(),
                    len: handles.len(),
                },
                ints(&shapes),
                ints(&ndims),
                ints(&dtypes),
                ints(&launch.grid),
                ints(&launch.threadgroup),
                sys::mlxc_strings {
                    data: t_names.as_ptr(),
                    len: n_t,
                },
                ints(&kinds),
                ints(&values),
                init,
                launch.verbose,
                s,
            )
        })
    }
}

/// How a [`CustomKernel`] is launched: the grid (total threads per dimension, as MLX counts
/// it), the threads per block, template arguments, an optional value every output is filled
/// with first, and whether MLX prints the generated source.
#[derive(Debug, Clone, PartialEq)]
pub struct KernelLaunch {
    /// Threads in each of the three dimensions.
    pub grid: [i32; 3],
    /// Threads per block (CUDA) or threadgroup (Metal).
    pub threadgroup: [i32; 3],
    /// Template arguments by name.
    pub template: Vec<(String, TemplateArg)>,
    /// The value outputs hold before the kernel runs (uninitialized when `None`).
    pub init_value: Option<f32>,
    /// Print the full generated source.
    pub verbose: bool,
}

impl KernelLaunch {
    /// A launch of `grid` threads in blocks of `threadgroup`, without template arguments.
    pub fn new(grid: [i32; 3], threadgroup: [i32; 3]) -> Self {
        KernelLaunch {
            grid,
            threadgroup,
            template: Vec::new(),
            init_value: None,
            verbose: false,
        }
    }

    /// Adds a template argument.
    pub fn with_template(mut self, name: &str, value: TemplateArg) -> Self {
        self.template.push((name.to_string(), value));
        self
    }

    /// Sets [`KernelLaunch::init_value`].
    pub fn with_init_value(mut self, value: f32) -> Self {
        self.init_value = Some(value);
        self
    }

    /// Sets [`KernelLaunch::verbose`].
    pub fn with_verbose(mut self, verbose: bool) -> Self {
        self.verbose = verbose;
        self
    }
}
