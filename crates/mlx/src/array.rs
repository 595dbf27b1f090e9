//! [`Array`]: a handle to a node of MLX's lazy graph.

use std::fmt;
use std::ptr::NonNull;

use mlx_sys as sys;

use crate::device::take_string;
use crate::dtype::{ArrayElement, Dtype};
use crate::error::{Error, Result, check, invalid};

/// An n-dimensional array.
///
/// MLX is lazy: ops record a graph and compute nothing until the array is evaluated, by
/// [`Array::eval`], [`crate::eval`], or by reading its data ([`Array::to_vec`],
/// [`Array::as_slice`], [`Array::item`], printing). Cloning is cheap: the clone is a second
/// handle to the same node.
///
/// # Threads
///
/// `Array` is `Send` and `Sync`. MLX does not promise that building or evaluating graphs is
/// thread-safe, so every such call goes through one process-wide lock inside the C layer;
/// releasing a handle and reading shape or dtype touch only immutable or atomically counted
/// state and take no lock. Arrays can be shared freely between threads; work from several threads
/// is serialized, not parallel.
pub struct Array {
    raw: NonNull<sys::mlxc_array_s>,
}

// SAFETY: see the type's documentation: every access that could race goes through mlxc's lock,
// and the handle itself (a heap `mlx::core::array`, i.e. a shared_ptr) may move between threads.
unsafe impl Send for Array {}
// SAFETY: `&Array` only allows the same lock-protected or immutable accesses.
unsafe impl Sync for Array {}

impl Drop for Array {
    fn drop(&mut self) {
        // SAFETY: we own the handle and free it once.
        unsafe { sys::mlxc_array_free(self.raw.as_ptr()) }
    }
}

impl Clone for Array {
    fn clone(&self) -> Self {
        let mut res = std::ptr::null_mut();
        // SAFETY: valid handle and out-pointer.
        let status = unsafe { sys::mlxc_array_copy(&mut res, self.as_raw()) };
        assert_eq!(status, 0, "mlxc_array_copy failed: out of memory");
        // SAFETY: success means a valid new handle.
        unsafe { Array::from_raw(res) }
    }
}

/// Evaluation state of an array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Only the graph exists; nothing was computed.
    Unscheduled,
    /// Scheduled for evaluation; the data may not be ready yet.
    Scheduled,
    /// The data is ready.
    Available,
}

impl Array {
    /// Wraps a handle returned by mlxc.
    ///
    /// # Safety
    /// `raw` must be a valid, owned, non-null `mlxc_array`.
    pub(crate) unsafe fn from_raw(raw: sys::mlxc_array) -> Array {
        Array {
            raw: NonNull::new(raw).expect("mlxc returned a null array handle"),
        }
    }

    /// The raw handle, borrowed.
    pub(crate) fn as_raw(&self) -> sys::mlxc_array {
        self.raw.as_ptr()
    }

    // ---- construction --------------------------------------------------------------------------

    /// An array of `shape` holding a copy of `data` (row-major).
    ///
    /// Fails when `data.len()` differs from the product of `shape`, or a dimension is negative.
    pub fn from_slice<T: ArrayElement>(data: &[T], shape: &[i32]) -> Result<Array> {
        let expected = checked_size(shape)?;
        if expected != data.len() {
            return invalid(format!(
                "[array] shape {shape:?} needs {expected} elements but {} were given",
                data.len()
            ));
        }
        // SAFETY: `data` is valid for `len` elements of T, whose layout matches T::DTYPE.
        unsafe { Array::from_raw_data(data.as_ptr().cast(), shape, T::DTYPE) }
    }

    /// Like [`Array::from_slice`], taking the data by value.
    pub fn from_vec<T: ArrayElement>(data: Vec<T>, shape: &[i32]) -> Result<Array> {
        Array::from_slice(&data, shape)
    }

    /// A one-dimensional array of `data`.
    // Not `FromIterator`: building an array can fail, and that trait cannot say so.
    #[allow(clippy::should_implement_trait)]
    pub fn from_iter<T: ArrayElement, I: IntoIterator<Item = T>>(data: I) -> Result<Array> {
        let data: Vec<T> = data.into_iter().collect();
        let len = i32::try_from(data.len())
            .map_err(|_| Error::InvalidArgument("[array] too many elements".into()))?;
        Array::from_slice(&data, &[len])
    }

    /// A zero-dimensional array holding `value`.
    pub fn scalar<T: ArrayElement>(value: T) -> Array {
        // SAFETY: one valid element of T.
        unsafe { Array::from_raw_data((&value as *const T).cast(), &[], T::DTYPE) }
            .expect("allocating a scalar failed")
    }

    /// A copy of raw row-major bytes.
    ///
    /// # Safety
    /// `data` must point to `prod(shape) * dtype.size()` readable bytes holding valid values.
    pub(crate) unsafe fn from_raw_data(
        data: *const std::ffi::c_void,
        shape: &[i32],
        dtype: Dtype,
    ) -> Result<Array> {
        let mut res = std::ptr::null_mut();
        // SAFETY: guaranteed by the caller; mlxc copies the bytes.
        check(unsafe { sys::mlxc_array_from_data(&mut res, data, ints(shape), dtype.to_sys()) })?;
        // SAFETY: success means a valid handle.
        Ok(unsafe { Array::from_raw(res) })
    }

    /// Builds an array from raw little-endian bytes of `dtype` (row-major).
    pub fn from_bytes(bytes: &[u8], shape: &[i32], dtype: Dtype) -> Result<Array> {
        let expected = checked_size(shape)? * dtype.size();
        if bytes.len() != expected {
            return invalid(format!(
                "[array] shape {shape:?} of {dtype} needs {expected} bytes but {} were given",
                bytes.len()
            ));
        }
        if dtype == Dtype::Bool && bytes.iter().any(|b| *b > 1) {
            return invalid("[array] bool data must be 0 or 1");
        }
        // SAFETY: length checked; every bit pattern is valid for non-bool dtypes.
        unsafe { Array::from_raw_data(bytes.as_ptr().cast(), shape, dtype) }
    }

    // ---- metadata (never evaluates) ------------------------------------------------------------

    /// The shape (MLX uses `i32` dimensions).
    pub fn shape(&self) -> &[i32] {
        let n = self.ndim();
        if n == 0 {
            return &[];
        }
        // SAFETY: the pointer stays valid while `self` lives; the shape never changes.
        unsafe { std::slice::from_raw_parts(sys::mlxc_array_shape(self.as_raw()), n) }
    }

    /// The size of one dimension; negative `axis` counts from the end.
    pub fn dim(&self, axis: i32) -> Result<i32> {
        let n = self.ndim() as i32;
        let a = if axis < 0 { axis + n } else { axis };
        if a < 0 || a >= n {
            return invalid(format!(
                "[dim] axis {axis} is out of bounds for an array of {n} dimensions"
            ));
        }
        Ok(self.shape()[a as usize])
    }

    /// Number of dimensions.
    pub fn ndim(&self) -> usize {
        // SAFETY: valid handle.
        unsafe { sys::mlxc_array_ndim(self.as_raw()) }
    }

    /// Number of elements.
    pub fn size(&self) -> usize {
        // SAFETY: valid handle.
        unsafe { sys::mlxc_array_size(self.as_raw()) }
    }

    /// Bytes of one element.
    pub fn itemsize(&self) -> usize {
        // SAFETY: valid handle.
        unsafe { sys::mlxc_array_itemsize(self.as_raw()) }
    }

    /// Bytes of all elements (`size * itemsize`).
    pub fn nbytes(&self) -> usize {
        // SAFETY: valid handle.
        unsafe { sys::mlxc_array_nbytes(self.as_raw()) }
    }

    /// The element type.
    pub fn dtype(&self) -> Dtype {
        // SAFETY: valid handle.
        Dtype::from_sys(unsafe { sys::mlxc_array_dtype(self.as_raw()) })
    }

    /// Whether two handles refer to the same graph node.
    pub fn same_node(&self, other: &Array) -> bool {
        // SAFETY: valid handles.
        unsafe { sys::mlxc_array_id(self.as_raw()) == sys::mlxc_array_id(other.as_raw()) }
    }

    /// How far evaluation has got.
    pub fn status(&self) -> Status {
        let mut s = sys::mlxc_status::MLXC_UNSCHEDULED;
        // SAFETY: valid handle and out-pointer.
        if check(unsafe { sys::mlxc_array_status(&mut s, self.as_raw()) }).is_err() {
            return Status::Unscheduled;
        }
        match s {
            sys::mlxc_status::MLXC_AVAILABLE => Status::Available,
            sys::mlxc_status::MLXC_EVALUATED => Status::Scheduled,
            _ => Status::Unscheduled,
        }
    }

    /// The longest chain of not-yet-evaluated ops ending at this array (0 once it is computed
    /// or scheduled), counted up to `cap` (a result of `cap` means at least that many). Walks the
    /// pending graph, so it costs time in proportion to it.
    pub fn pending_depth(&self, cap: u32) -> Result<u32> {
        let mut d = 0u32;
        // SAFETY: valid handle and out-pointer.
        check(unsafe { sys::mlxc_array_pending_depth(&mut d, self.as_raw(), cap) })?;
        Ok(d)
    }

    // ---- evaluation and data -------------------------------------------------------------------

    /// Computes the array (and what it depends on) and waits for the result.
    pub fn eval(&self) -> Result<()> {
        eval([self])
    }

    /// Starts computing the array and returns at once; reading the data waits for it.
    pub fn async_eval(&self) -> Result<()> {
        async_eval([self])
    }

    /// The elements in row-major order, copied out. `T` must match the dtype (see
    /// [`Array::astype`] to convert first).
    pub fn to_vec<T: ArrayElement>(&self) -> Result<Vec<T>> {
        self.check_dtype::<T>("to_vec")?;
        self.with_row_major(|source| {
            let n = source.size();
            let ptr = source.data_ptr()?;
            if T::DTYPE == Dtype::Bool {
                // Read bytes and map, so no invalid `bool` is ever formed.
                // SAFETY: `n` bytes are readable while `source` lives.
                let bytes = unsafe { elements::<u8>(ptr, n) };
                let bools: Vec<bool> = bytes.iter().map(|b| *b != 0).collect();
                // SAFETY: T is bool here (checked by dtype).
                return Ok(unsafe { std::mem::transmute::<Vec<bool>, Vec<T>>(bools) });
            }
            // SAFETY: evaluated, row-contiguous data of n elements of T.
            Ok(unsafe { elements::<T>(ptr, n) }.to_vec())
        })
    }

    /// The raw bytes of the elements in row-major order (native endianness), copied out.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        self.with_row_major(|source| {
            let ptr = source.data_ptr()?;
            // SAFETY: evaluated, row-contiguous data of `nbytes` bytes, alive while `source` is.
            Ok(unsafe { elements::<u8>(ptr, source.nbytes()) }.to_vec())
        })
    }

    /// Runs `f` on this array, or on a compact row-major copy when its data has another layout
    /// or, in CUDA device memory, is a view into a larger buffer (which reading in place would
    /// move to unified memory whole: a one-element slice of a 256 MB result, 256 MB).
    fn with_row_major<R>(&self, f: impl FnOnce(&Array) -> Result<R>) -> Result<R> {
        let mut in_place = false;
        // SAFETY: valid handle and out-pointer.
        check(unsafe { sys::mlxc_array_reads_in_place(&mut in_place, self.as_raw()) })?;
        if in_place {
            f(self)
        } else if self.dtype() == Dtype::Float64 {
            // MLX refuses float64 on a GPU stream, even for a copy: float64 data is copied on
            // the CPU, where it was computed.
            f(&crate::linalg::on_cpu(|| crate::ops::contiguous(self))?)
        } else {
            f(&crate::ops::contiguous(self)?)
        }
    }

    /// The elements, borrowed. Evaluates the array; fails unless it is stored row-major without
    /// gaps (results of transpose, broadcast or strided slices may not be: use
    /// [`Array::to_vec`] or [`crate::ops::contiguous`] then). With a CUDA GPU, borrowing a view
    /// into a larger result moves that whole result into unified memory; [`Array::to_vec`]
    /// copies only the view.
    pub fn as_slice<T: ArrayElement>(&self) -> Result<&[T]> {
        self.check_dtype::<T>("as_slice")?;
        let n = self.size();
        let ptr = self.data_ptr()?;
        if T::DTYPE == Dtype::Bool {
            // SAFETY: n readable bytes.
            let bytes = unsafe { elements::<u8>(ptr, n) };
            if bytes.iter().any(|b| *b > 1) {
                return invalid("[as_slice] bool data holds values other than 0 and 1");
            }
        }
        // SAFETY: evaluated row-contiguous data of n valid elements of T, immutable while `self`
        // (which keeps the buffer alive) is borrowed.
        Ok(unsafe { elements::<T>(ptr, n) })
    }

    /// The single element of a one-element array.
    pub fn item<T: ArrayElement>(&self) -> Result<T> {
        if self.size() != 1 {
            return invalid(format!(
                "[item] only one-element arrays have an item; this one has shape {:?}",
                self.shape()
            ));
        }
        Ok(self.to_vec::<T>()?[0])
    }

    /// Evaluates and tells whether the data is stored row-major without gaps.
    pub fn is_row_contiguous(&self) -> Result<bool> {
        let mut res = false;
        // SAFETY: valid handle and out-pointer.
        check(unsafe { sys::mlxc_array_is_row_contiguous(&mut res, self.as_raw()) })?;
        Ok(res)
    }

    /// The address of the evaluated data: null for an empty array on some devices (MLX's CUDA
    /// backend allocates no buffer for it), so read it through [`elements`].
    fn data_ptr(&self) -> Result<*const std::ffi::c_void> {
        let mut ptr = std::ptr::null();
        // SAFETY: valid handle and out-pointer.
        check(unsafe { sys::mlxc_array_data(&mut ptr, self.as_raw()) })?;
        Ok(ptr)
    }

    fn check_dtype<T: ArrayElement>(&self, what: &str) -> Result<()> {
        if self.dtype() != T::DTYPE {
            return invalid(format!(
                "[{what}] the array is {} but {} was requested; convert with astype first",
                self.dtype(),
                T::DTYPE
            ));
        }
        Ok(())
    }
}

/// Evaluates several arrays at once (sharing their common subgraphs).
pub fn eval<'a>(arrays: impl IntoIterator<Item = &'a Array>) -> Result<()> {
    let raws: Vec<sys::mlxc_array> = arrays.into_iter().map(Array::as_raw).collect();
    // SAFETY: handles valid for the call.
    check(unsafe {
        sys::mlxc_eval(sys::mlxc_arrays {
            data: raws.as_ptr(),
            len: raws.len(),
        })
    })
}

/// Schedules evaluation of several arrays and returns at once.
pub fn async_eval<'a>(arrays: impl IntoIterator<Item = &'a Array>) -> Result<()> {
    let raws: Vec<sys::mlxc_array> = arrays.into_iter().map(Array::as_raw).collect();
    // SAFETY: handles valid for the call.
    check(unsafe {
        sys::mlxc_async_eval(sys::mlxc_arrays {
            data: raws.as_ptr(),
            len: raws.len(),
        })
    })
}

/// The pending graph behind `arrays` in Graphviz DOT form, as `mx.export_to_dot`: one
/// rectangle per primitive still to compute, labelled with its name (`[label ="Add", ...]`).
/// Useful to see, and count, the ops an evaluation will run.
///
/// ```
/// let a = mlx::Array::ones::<f32>(&[3])?;
/// let dot = mlx::export_to_dot([&(&mlx::ops::exp(&a)? * 2.0)])?;
/// assert!(dot.contains("label =\"Exp\""));
/// # Ok::<(), mlx::Error>(())
/// ```
pub fn export_to_dot<'a>(arrays: impl IntoIterator<Item = &'a Array>) -> Result<String> {
    let raws: Vec<sys::mlxc_array> = arrays.into_iter().map(Array::as_raw).collect();
    let mut s = std::ptr::null_mut();
    // SAFETY: handles valid for the call; valid out-pointer; the string is freed by take_string.
    check(unsafe {
        sys::mlxc_export_to_dot(
            &mut s,
            sys::mlxc_arrays {
                data: raws.as_ptr(),
                len: raws.len(),
            },
        )
    })?;
    Ok(take_string(s))
}

/// Borrowed `mlxc_ints` view of a slice.
pub(crate) fn ints(v: &[i32]) -> sys::mlxc_ints {
    sys::mlxc_ints {
        data: v.as_ptr(),
        len: v.len(),
    }
}

fn checked_size(shape: &[i32]) -> Result<usize> {
    let mut n: usize = 1;
    for &d in shape {
        if d < 0 {
            return invalid(format!("[array] negative dimension in shape {shape:?}"));
        }
        n = n.checked_mul(d as usize).ok_or_else(|| {
            Error::InvalidArgument(format!("[array] shape {shape:?} is too large"))
        })?;
    }
    Ok(n)
}

impl fmt::Display for Array {
    /// MLX's printed form (evaluates the array).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = std::ptr::null_mut();
        // SAFETY: valid handle and out-pointer; the string is taken below.
        match check(unsafe { sys::mlxc_array_tostring(&mut s, self.as_raw()) }) {
            Ok(()) => f.write_str(&take_string(s)),
            Err(e) => write!(f, "<array {:?} {}: {e}>", self.shape(), self.dtype()),
        }
    }
}

impl fmt::Debug for Array {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl<T: ArrayElement> From<T> for Array {
    fn from(value: T) -> Self {
        Array::scalar(value)
    }
}

/// `n` elements of `T` at `ptr`, or no elements without touching `ptr` (which may be null for
/// an empty array).
///
/// # Safety
/// When `n > 0`, `ptr` points to `n` valid, aligned elements of `T` that outlive `'a`.
unsafe fn elements<'a, T>(ptr: *const std::ffi::c_void, n: usize) -> &'a [T] {
    if n == 0 {
        &[]
    } else {
        // SAFETY: the caller's guarantee.
        unsafe { std::slice::from_raw_parts(ptr.cast::<T>(), n) }
    }
}
