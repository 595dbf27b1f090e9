//! Function transforms: [`vjp`], [`jvp`], [`grad`], [`value_and_grad`], [`vmap`], [`compile`],
//! [`checkpoint`], [`custom_vjp`] and [`custom_function`].
//!
//! Functions map a slice of arrays to a `Vec` of arrays, as in MLX's C++ API, and may capture
//! anything, arrays included: captured arrays are constants of the function (their gradient is
//! not taken). Two kinds of closures, and the types say which is which:
//!
//! - transforms applied at once ([`vjp`], [`jvp`], and the functions returned by [`grad`],
//!   [`value_and_grad`], [`vmap`]) take `FnMut` closures that may borrow: MLX uses the closure
//!   only during the call;
//! - transforms that keep the function ([`compile`], [`checkpoint`], [`custom_vjp`],
//!   [`custom_function`], which MLX stores in its cache or in the graph and calls later,
//!   possibly from another thread) take `Fn + Send + Sync + 'static` closures, so nothing they
//!   capture can dangle.
//!
//! A closure that returns an error or panics makes the transform return [`Error::Closure`] (the
//! panic does not cross into C++).

use std::ffi::{CString, c_void};
use std::os::raw::c_int;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::NonNull;
use std::sync::Arc;

use mlx_sys as sys;

use crate::array::{Array, ints};
use crate::error::{Error, Result, check};
use crate::vector::{push_all, read_vector, take_vector};

type MutFn<'a> = dyn FnMut(&[Array]) -> Result<Vec<Array>> + 'a;
type SharedFn = dyn Fn(&[Array]) -> Result<Vec<Array>> + Send + Sync;

/// An owned `mlxc_closure`.
struct RawClosure(NonNull<sys::mlxc_closure_s>);

// SAFETY: the closure's payload is either borrowed for one call on one thread (never sent), or a
// `SharedFn`, which is Send + Sync; mlxc serializes calls under its lock.
unsafe impl Send for RawClosure {}
// SAFETY: as above.
unsafe impl Sync for RawClosure {}

impl Drop for RawClosure {
    fn drop(&mut self) {
        // SAFETY: owned handle, freed once.
        unsafe { sys::mlxc_closure_free(self.0.as_ptr()) }
    }
}

impl RawClosure {
    fn from_raw(raw: sys::mlxc_closure) -> RawClosure {
        RawClosure(NonNull::new(raw).expect("mlxc returned a null closure"))
    }

    /// A closure over a borrowed `FnMut`, valid while `f` is borrowed.
    fn borrowed(f: &mut &mut MutFn<'_>) -> Result<RawClosure> {
        let mut raw = std::ptr::null_mut();
        let payload = (f as *mut &mut MutFn<'_>).cast::<c_void>();
        // SAFETY: `payload` outlives every call made while the borrow lasts; no destructor.
        check(unsafe { sys::mlxc_closure_new(&mut raw, Some(call_borrowed), payload, None) })?;
        Ok(RawClosure::from_raw(raw))
    }

    /// A closure owning `f`; the C++ side drops it with its last copy.
    fn owned(f: Box<SharedFn>) -> Result<RawClosure> {
        let payload = Box::into_raw(Box::new(f)).cast::<c_void>();
        let mut raw = std::ptr::null_mut();
        // SAFETY: the payload is a leaked Box<Box<SharedFn>> reclaimed by `drop_owned`.
        let status =
            unsafe { sys::mlxc_closure_new(&mut raw, Some(call_owned), payload, Some(drop_owned)) };
        if status != 0 {
            // SAFETY: mlxc did not take the payload.
            drop(unsafe { Box::from_raw(payload.cast::<Box<SharedFn>>()) });
            return Err(crate::error::last_error());
        }
        Ok(RawClosure::from_raw(raw))
    }

    fn as_raw(&self) -> sys::mlxc_closure {
        self.0.as_ptr()
    }

    fn apply(&self, inputs: &[Array]) -> Result<Vec<Array>> {
        let raws: Vec<_> = inputs.iter().map(Array::as_raw).collect();
        let mut out = std::ptr::null_mut();
        // SAFETY: valid closure and handles.
        check(unsafe { sys::mlxc_closure_apply(&mut out, self.as_raw(), arrays(&raws)) })
            .map_err(closure_error)?;
        Ok(take_vector(out))
    }
}

unsafe extern "C" fn call_borrowed(
    payload: *mut c_void,
    inputs: sys::mlxc_vector_array,
    outputs: sys::mlxc_vector_array,
) -> c_int {
    // SAFETY: `payload` is the `&mut &mut MutFn` given to `RawClosure::borrowed`, still borrowed.
    let f = unsafe { &mut *payload.cast::<&mut MutFn<'_>>() };
    run(|args| f(args), inputs, outputs)
}

unsafe extern "C" fn call_owned(
    payload: *mut c_void,
    inputs: sys::mlxc_vector_array,
    outputs: sys::mlxc_vector_array,
) -> c_int {
    // SAFETY: `payload` is the Box<SharedFn> of `RawClosure::owned`, alive until `drop_owned`.
    let f = unsafe { &*payload.cast::<Box<SharedFn>>() };
    run(|args| f(args), inputs, outputs)
}

unsafe extern "C" fn drop_owned(payload: *mut c_void) {
    // SAFETY: called once by mlxc with the payload of `RawClosure::owned`.
    drop(unsafe { Box::from_raw(payload.cast::<Box<SharedFn>>()) });
}

/// Runs a Rust closure for C++: errors and panics become a status code and a message.
fn run(
    f: impl FnOnce(&[Array]) -> Result<Vec<Array>>,
    inputs: sys::mlxc_vector_array,
    outputs: sys::mlxc_vector_array,
) -> c_int {
    let result = catch_unwind(AssertUnwindSafe(|| {
        let args = read_vector(inputs);
        let outs = f(&args)?;
        push_all(outputs, &outs)
    }));
    let message = match result {
        Ok(Ok(())) => return 0,
        Ok(Err(e)) => e.to_string(),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            format!("the closure panicked: {what}")
        }
    };
    let c = CString::new(message.replace('\0', " ")).unwrap_or_default();
    // SAFETY: valid C string.
    unsafe { sys::mlxc_set_error(c.as_ptr()) };
    1
}

fn closure_error(e: Error) -> Error {
    match e {
        Error::Mlx(m) => Error::Closure(m),
        other => other,
    }
}

fn arrays(raws: &[sys::mlxc_array]) -> sys::mlxc_arrays {
    sys::mlxc_arrays {
        data: raws.as_ptr(),
        len: raws.len(),
    }
}

/// Runs a two-output transform call and collects both vectors.
fn two_outputs(
    call: impl FnOnce(&mut sys::mlxc_vector_array, &mut sys::mlxc_vector_array) -> c_int,
) -> Result<(Vec<Array>, Vec<Array>)> {
    let (mut a, mut b) = (std::ptr::null_mut(), std::ptr::null_mut());
    check(call(&mut a, &mut b)).map_err(closure_error)?;
    Ok((take_vector(a), take_vector(b)))
}

/// Outputs of `f(primals)` and the vector-Jacobian products: for each primal, the sum over
/// outputs of `cotangent · ∂output/∂primal`.
pub fn vjp(
    mut f: impl FnMut(&[Array]) -> Result<Vec<Array>>,
    primals: &[Array],
    cotangents: &[Array],
) -> Result<(Vec<Array>, Vec<Array>)> {
    let mut dynf: &mut MutFn<'_> = &mut f;
    let closure = RawClosure::borrowed(&mut dynf)?;
    let (p, c) = (handles(primals), handles(cotangents));
    two_outputs(|o, v| unsafe { sys::mlxc_vjp(o, v, closure.as_raw(), arrays(&p), arrays(&c)) })
}

/// Outputs of `f(primals)` and the Jacobian-vector products with `tangents`.
pub fn jvp(
    mut f: impl FnMut(&[Array]) -> Result<Vec<Array>>,
    primals: &[Array],
    tangents: &[Array],
) -> Result<(Vec<Array>, Vec<Array>)> {
    let mut dynf: &mut MutFn<'_> = &mut f;
    let closure = RawClosure::borrowed(&mut dynf)?;
    let (p, t) = (handles(primals), handles(tangents));
    two_outputs(|o, v| unsafe { sys::mlxc_jvp(o, v, closure.as_raw(), arrays(&p), arrays(&t)) })
}

/// A function returning `f`'s outputs and the gradients of its first output (a scalar) with
/// respect to the inputs at `argnums` (`&[]` means `&[0]`).
pub fn value_and_grad<'a>(
    mut f: impl FnMut(&[Array]) -> Result<Vec<Array>> + 'a,
    argnums: &[i32],
) -> impl FnMut(&[Array]) -> Result<(Vec<Array>, Vec<Array>)> + 'a {
    let argnums = if argnums.is_empty() {
        vec![0]
    } else {
        argnums.to_vec()
    };
    move |inputs: &[Array]| {
        let mut dynf: &mut MutFn<'_> = &mut f;
        let closure = RawClosure::borrowed(&mut dynf)?;
        let h = handles(inputs);
        two_outputs(|v, g| unsafe {
            sys::mlxc_value_and_grad(v, g, closure.as_raw(), ints(&argnums), arrays(&h))
        })
    }
}

/// A function returning the gradients of the scalar `f` with respect to the inputs at
/// `argnums` (`&[]` means `&[0]`).
pub fn grad<'a>(
    mut f: impl FnMut(&[Array]) -> Result<Array> + 'a,
    argnums: &[i32],
) -> impl FnMut(&[Array]) -> Result<Vec<Array>> + 'a {
    let mut vg = value_and_grad(move |x: &[Array]| Ok(vec![f(x)?]), argnums);
    move |inputs: &[Array]| Ok(vg(inputs)?.1)
}

/// A function applying `f` to slices of its inputs along `in_axes` (one per input; -1 leaves an
/// input unmapped; `&[]` maps axis 0 of all) and stacking the outputs along `out_axes`.
pub fn vmap<'a>(
    mut f: impl FnMut(&[Array]) -> Result<Vec<Array>> + 'a,
    in_axes: &[i32],
    out_axes: &[i32],
) -> impl FnMut(&[Array]) -> Result<Vec<Array>> + 'a {
    let (in_axes, out_axes) = (in_axes.to_vec(), out_axes.to_vec());
    move |inputs: &[Array]| {
        let mut dynf: &mut MutFn<'_> = &mut f;
        let inner = RawClosure::borrowed(&mut dynf)?;
        let mut raw = std::ptr::null_mut();
        check(unsafe {
            sys::mlxc_vmap(&mut raw, inner.as_raw(), ints(&in_axes), ints(&out_axes))
        })?;
        RawClosure::from_raw(raw).apply(inputs)
    }
}

/// A function object made by [`compile`], [`checkpoint`], [`custom_vjp`], [`custom_function`]
/// or [`Function::new`].
/// Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct Function {
    raw: Arc<RawClosure>,
}

impl std::fmt::Debug for Function {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Function")
    }
}

impl Function {
    /// Wraps a closure.
    pub fn new(
        f: impl Fn(&[Array]) -> Result<Vec<Array>> + Send + Sync + 'static,
    ) -> Result<Function> {
        Ok(Function {
            raw: Arc::new(RawClosure::owned(Box::new(f))?),
        })
    }

    /// Calls the function.
    pub fn call(&self, inputs: &[Array]) -> Result<Vec<Array>> {
        self.raw.apply(inputs)
    }

    fn derive(
        &self,
        make: impl FnOnce(&mut sys::mlxc_closure, sys::mlxc_closure) -> c_int,
    ) -> Result<Function> {
        let mut raw = std::ptr::null_mut();
        check(make(&mut raw, self.raw.as_raw()))?;
        Ok(Function {
            raw: Arc::new(RawClosure::from_raw(raw)),
        })
    }
}

/// Compiles `f`: the first call with a given input signature traces it, later calls replay a
/// simplified, fused graph. With `shapeless`, inputs of new shapes (same ranks and dtypes) reuse
/// the trace. `f` must be a pure function of its inputs: captured arrays are baked in as
/// constants.
pub fn compile(
    f: impl Fn(&[Array]) -> Result<Vec<Array>> + Send + Sync + 'static,
    shapeless: bool,
) -> Result<Function> {
    Function::new(f)?.derive(|r, c| unsafe { sys::mlxc_compile(r, c, shapeless) })
}

/// Traces `f` on `args` and writes the traced graph to `path` in MLX's `.mlxfn` format, which
/// [`import_function`] here and `mx.import_function` in Python MLX read back (MLX's
/// `export_function`). With `shapeless`, the stored function accepts inputs of other shapes of
/// the same ranks and dtypes; otherwise it accepts only the shapes of `args`. Arrays `f`
/// captures are stored as constants.
///
/// ```
/// use mlx::{Array, transforms};
///
/// let path = std::env::temp_dir().join(format!("doc-export-{}.mlxfn", std::process::id()));
/// let double_plus = |x: &[Array]| Ok(vec![&(&x[0] * 2.0) + &x[1]]);
/// let args = [mlx::array![1.0f32, 2.0], mlx::array![0.5f32, 0.5]];
/// transforms::export_function(&path, double_plus, &args, false)?;
/// let f = transforms::import_function(&path)?;
/// assert_eq!(f.call(&args)?[0].to_vec::<f32>()?, vec![2.5, 4.5]);
/// # std::fs::remove_file(&path).ok();
/// # Ok::<(), mlx::Error>(())
/// ```
pub fn export_function(
    path: impl AsRef<std::path::Path>,
    f: impl Fn(&[Array]) -> Result<Vec<Array>> + Send + Sync + 'static,
    args: &[Array],
    shapeless: bool,
) -> Result<()> {
    let p = crate::io::c_path(path.as_ref())?;
    let f = Function::new(f)?;
    let h = handles(args);
    // SAFETY: valid C string, closure and array handles, borrowed for the call.
    check(unsafe { sys::mlxc_export_function(p.as_ptr(), f.raw.as_raw(), arrays(&h), shapeless) })
}

/// Loads a function written by [`export_function`] or by Python MLX's `mx.export_function`
/// (MLX's `import_function`). Calling it with inputs the stored trace does not accept (other
/// shapes without `shapeless`, other dtypes, another count) is an error.
pub fn import_function(path: impl AsRef<std::path::Path>) -> Result<Function> {
    let p = crate::io::c_path(path.as_ref())?;
    let mut raw = std::ptr::null_mut();
    // SAFETY: valid C string and out-pointer; the closure is owned by the returned Function.
    check(unsafe { sys::mlxc_import_function(&mut raw, p.as_ptr()) })?;
    Ok(Function {
        raw: Arc::new(RawClosure::from_raw(raw)),
    })
}

/// `f`, with its intermediate values recomputed during the backward pass instead of stored
/// (trades compute for memory).
pub fn checkpoint(
    f: impl Fn(&[Array]) -> Result<Vec<Array>> + Send + Sync + 'static,
) -> Result<Function> {
    Function::new(f)?.derive(|r, c| unsafe { sys::mlxc_checkpoint(r, c) })
}

/// `f` with a hand-written vector-Jacobian product: `vjp(primals, cotangents, outputs)` returns
/// one cotangent per primal.
pub fn custom_vjp(
    f: impl Fn(&[Array]) -> Result<Vec<Array>> + Send + Sync + 'static,
    vjp: impl Fn(&[Array], &[Array], &[Array]) -> Result<Vec<Array>> + Send + Sync + 'static,
) -> Result<Function> {
    let forward = Function::new(f)?;
    // mlxc passes the counts first, then primals, cotangents and outputs (see mlxc.h).
    let backward = Function::new(move |args: &[Array]| {
        let counts = args
            .first()
            .ok_or_else(|| Error::Closure("custom_vjp: missing counts".into()))?
            .to_vec::<i32>()?;
        let (np, nc) = (counts[0] as usize, counts[1] as usize);
        let rest = &args[1..];
        vjp(&rest[..np], &rest[np..np + nc], &rest[np + nc..])
    })?;
    forward.derive(|r, c| unsafe { sys::mlxc_custom_vjp(r, c, backward.raw.as_raw()) })
}

/// Turns compilation on or off for the whole process (off: compiled functions run as traced).
pub fn set_compile_enabled(enabled: bool) -> Result<()> {
    // SAFETY: plain argument.
    check(unsafe { sys::mlxc_set_compile_enabled(enabled) })
}

/// How much MLX's compiler does, for [`compile`] and [`crate::region`] alike (MLX's
/// `CompileMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompileMode {
    /// Compiled functions run uncompiled.
    Disabled,
    /// Traced and fused, without merging common subexpressions.
    NoSimplify,
    /// Traced and simplified, without fused kernels (on the CPU: no C++ compiler runs).
    NoFuse,
    /// Everything (the default).
    Enabled,
}

/// Sets how much MLX's compiler does, for the whole process. Functions already compiled keep
/// what they were compiled with.
pub fn set_compile_mode(mode: CompileMode) -> Result<()> {
    let m = match mode {
        CompileMode::Disabled => sys::mlxc_compile_mode::MLXC_COMPILE_DISABLED,
        CompileMode::NoSimplify => sys::mlxc_compile_mode::MLXC_COMPILE_NO_SIMPLIFY,
        CompileMode::NoFuse => sys::mlxc_compile_mode::MLXC_COMPILE_NO_FUSE,
        CompileMode::Enabled => sys::mlxc_compile_mode::MLXC_COMPILE_ENABLED,
    };
    // SAFETY: plain argument.
    check(unsafe { sys::mlxc_set_compile_mode(m) })
}

fn handles(arrays: &[Array]) -> Vec<sys::mlxc_array> {
    arrays.iter().map(Array::as_raw).collect()
}

/// The value of the scalar loss `f(model)` and its gradient with respect to every trainable
/// leaf of `model`, returned as a tree of the model's own type (so `grads.layers[0].weight` is
/// the gradient of `model.layers[0].weight`). Frozen leaves get zero gradients; skipped fields
/// are cloned from `model`.
///
/// `f` is called with copies of `model` whose trainable leaves are the traced inputs; anything
/// else `f` captures (data, targets) is a constant.
///
/// ```
/// use mlx::{Array, Parameters, transforms::value_and_grad_params};
///
/// #[derive(Parameters)]
/// struct Linear {
///     weight: Array,
///     bias: Array,
/// }
///
/// let model = Linear {
///     weight: mlx::array![[1.0, 2.0], [3.0, 4.0]],
///     bias: mlx::array![0.5, -0.5],
/// };
/// let x = mlx::array![[1.0, 1.0]];
/// // loss = sum(x @ w + b)
/// let (loss, grads) = value_and_grad_params(&model, |m: &Linear| {
///     (x.matmul(&m.weight)? + &m.bias).sum(None, false)
/// })?;
/// assert_eq!(loss.item::<f32>()?, 10.0);
/// assert_eq!(grads.weight.to_vec::<f32>()?, vec![1.0, 1.0, 1.0, 1.0]);
/// assert_eq!(grads.bias.to_vec::<f32>()?, vec![1.0, 1.0]);
///
/// // One step of gradient descent.
/// let mut model = model;
/// model.apply_grads(&grads, |p, g| Ok(p - &(g * 0.1)))?;
/// assert_eq!(model.bias.to_vec::<f32>()?, vec![0.4, -0.6]);
/// # Ok::<(), mlx::Error>(())
/// ```
pub fn value_and_grad_params<M, F>(model: &M, mut f: F) -> Result<(Array, M)>
where
    M: crate::params::Parameters,
    F: FnMut(&M) -> Result<Array>,
{
    use crate::params::ParamPath;

    let inputs: Vec<Array> = model
        .trainable_params()
        .into_iter()
        .map(|(_, a)| a)
        .collect();
    // Copies of `model` with the trainable leaves replaced, in visiting order.
    let with_leaves = |leaves: &[Array], frozen: &mut dyn FnMut(&Array) -> Result<Array>| {
        let mut next = leaves.iter();
        model.map_leaves(&ParamPath::root(), &mut |p, a| {
            if p.is_trainable() {
                next.next().cloned().ok_or_else(|| {
                    Error::InvalidArgument(format!(
                        "[value_and_grad_params] the tree gave more trainable leaves than it \
                         listed (at `{}`)",
                        p.name()
                    ))
                })
            } else {
                frozen(a)
            }
        })
    };
    let zeros = |a: &Array| crate::ops::zeros(a.shape(), a.dtype());
    if inputs.is_empty() {
        let loss = scalar_loss(f(model)?)?;
        return Ok((loss, model.map_params(|_, a| zeros(a))?));
    }
    let argnums: Vec<i32> = (0..inputs.len() as i32).collect();
    let (values, grads) = value_and_grad(
        |leaves: &[Array]| {
            let traced = with_leaves(leaves, &mut |a: &Array| Ok(a.clone()))?;
            Ok(vec![scalar_loss(f(&traced)?)?])
        },
        &argnums,
    )(&inputs)?;
    let loss = values
        .into_iter()
        .next()
        .ok_or_else(|| Error::Closure("value_and_grad returned no value".into()))?;
    Ok((loss, with_leaves(&grads, &mut |a: &Array| zeros(a))?))
}

fn scalar_loss(loss: Array) -> Result<Array> {
    if loss.ndim() != 0 {
        return Err(Error::InvalidArgument(format!(
            "[value_and_grad_params] the loss must be a scalar (0-dimensional) array, got shape \
             {:?}",
            loss.shape()
        )));
    }
    Ok(loss)
}

/// The gradient of the scalar loss `f(model)` with respect to every trainable leaf of `model`,
/// as a tree of the model's type; see [`value_and_grad_params`].
pub fn grad_params<M, F>(model: &M, f: F) -> Result<M>
where
    M: crate::params::Parameters,
    F: FnMut(&M) -> Result<Array>,
{
    Ok(value_and_grad_params(model, f)?.1)
}

/// A vector-Jacobian product rule of [`custom_function`]: `(primals, cotangents, outputs)` →
/// one cotangent per primal.
pub type VjpRule = Box<dyn Fn(&[Array], &[Array], &[Array]) -> Result<Vec<Array>> + Send + Sync>;

/// A Jacobian-vector product rule of [`custom_function`]: `(primals, tangents, argnums)` → one
/// tangent per output. `tangents[k]` belongs to `primals[argnums[k]]`; primals without a
/// tangent (constants of the transform) are not in `argnums`.
pub type JvpRule = Box<dyn Fn(&[Array], &[Array], &[i32]) -> Result<Vec<Array>> + Send + Sync>;

/// A vectorization rule of [`custom_function`]: `(inputs, axes)` → `(outputs, out_axes)`.
/// `axes[i]` is the mapped axis of `inputs[i]` (-1: not mapped); the rule returns the outputs
/// for the whole batch and the axis along which each output is batched.
pub type VmapRule = Box<dyn Fn(&[Array], &[i32]) -> Result<(Vec<Array>, Vec<i32>)> + Send + Sync>;

/// The transformation rules of a [`custom_function`]. A rule left `None` is derived from the
/// function itself, as for any function.
#[derive(Default)]
pub struct CustomRules {
    /// Used by [`vjp`], [`grad`] and [`value_and_grad`].
    pub vjp: Option<VjpRule>,
    /// Used by [`jvp`].
    pub jvp: Option<JvpRule>,
    /// Used by [`vmap`].
    pub vmap: Option<VmapRule>,
}

impl std::fmt::Debug for CustomRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomRules")
            .field("vjp", &self.vjp.is_some())
            .field("jvp", &self.jvp.is_some())
            .field("vmap", &self.vmap.is_some())
            .finish()
    }
}

impl CustomRules {
    /// No rules: everything derived from the function.
    pub fn new() -> CustomRules {
        CustomRules::default()
    }

    /// Sets the vector-Jacobian product rule (see [`VjpRule`]).
    pub fn with_vjp(
        mut self,
        rule: impl Fn(&[Array], &[Array], &[Array]) -> Result<Vec<Array>> + Send + Sync + 'static,
    ) -> CustomRules {
        self.vjp = Some(Box::new(rule));
        self
    }

    /// Sets the Jacobian-vector product rule (see [`JvpRule`]).
    pub fn with_jvp(
        mut self,
        rule: impl Fn(&[Array], &[Array], &[i32]) -> Result<Vec<Array>> + Send + Sync + 'static,
    ) -> CustomRules {
        self.jvp = Some(Box::new(rule));
        self
    }

    /// Sets the vectorization rule (see [`VmapRule`]).
    pub fn with_vmap(
        mut self,
        rule: impl Fn(&[Array], &[i32]) -> Result<(Vec<Array>, Vec<i32>)> + Send + Sync + 'static,
    ) -> CustomRules {
        self.vmap = Some(Box::new(rule));
        self
    }
}

/// The int32 values of the array mlxc passes in front of a rule's arrays.
fn rule_ints(args: &[Array], at: usize, rule: &str) -> Result<Vec<i32>> {
    args.get(at)
        .ok_or_else(|| Error::Closure(format!("custom_function: missing {rule} rule arguments")))?
        .to_vec::<i32>()
}

/// Splits `rest` into consecutive slices of the given lengths.
fn split_lengths<'a>(rest: &'a [Array], lengths: &[i32], rule: &str) -> Result<Vec<&'a [Array]>> {
    let bad = || Error::Closure(format!("custom_function: bad {rule} rule arguments"));
    let mut parts = Vec::with_capacity(lengths.len());
    let mut start = 0usize;
    for &n in lengths {
        let n = usize::try_from(n).map_err(|_| bad())?;
        let end = start
            .checked_add(n)
            .filter(|&end| end <= rest.len())
            .ok_or_else(bad)?;
        parts.push(&rest[start..end]);
        start = end;
    }
    Ok(parts)
}

/// `f` with custom transformation rules: MLX uses `rules.vjp` for vector-Jacobian products
/// (and so gradients), `rules.jvp` for Jacobian-vector products and `rules.vmap` to vectorize,
/// and derives any rule left out from `f`. Calling the result computes `f`.
///
/// A rule that returns the wrong number of arrays (or of output axes) makes the transform return
/// an error.
///
/// ```
/// use mlx::transforms::{CustomRules, custom_function, grad};
/// use mlx::Array;
///
/// // exp(x) whose gradient reuses the output instead of computing exp again.
/// let exp = custom_function(
///     |x: &[Array]| Ok(vec![x[0].exp()?]),
///     CustomRules::new().with_vjp(|_primals, cotangents, outputs| {
///         Ok(vec![&cotangents[0] * &outputs[0]])
///     }),
/// )?;
/// let g = grad(|x: &[Array]| exp.call(x)?[0].sum(None, false), &[0])(&[mlx::array![0.0]])?;
/// assert_eq!(g[0].to_vec::<f32>()?, vec![1.0]);
/// # Ok::<(), mlx::Error>(())
/// ```
pub fn custom_function(
    f: impl Fn(&[Array]) -> Result<Vec<Array>> + Send + Sync + 'static,
    rules: CustomRules,
) -> Result<Function> {
    let forward = Function::new(f)?;
    // mlxc passes the integer arguments first, as int32 arrays (see mlxc.h).
    let vjp = match rules.vjp {
        None => None,
        Some(rule) => Some(Function::new(move |args: &[Array]| {
            let counts = rule_ints(args, 0, "vjp")?;
            let parts = split_lengths(&args[1..], &counts, "vjp")?;
            match parts[..] {
                [primals, cotangents, outputs] => rule(primals, cotangents, outputs),
                _ => Err(Error::Closure(
                    "custom_function: bad vjp rule arguments".into(),
                )),
            }
        })?),
    };
    let jvp = match rules.jvp {
        None => None,
        Some(rule) => Some(Function::new(move |args: &[Array]| {
            let counts = rule_ints(args, 0, "jvp")?;
            let argnums = rule_ints(args, 1, "jvp")?;
            let parts = split_lengths(&args[2..], &counts, "jvp")?;
            match parts[..] {
                [primals, tangents] => rule(primals, tangents, &argnums),
                _ => Err(Error::Closure(
                    "custom_function: bad jvp rule arguments".into(),
                )),
            }
        })?),
    };
    let vmap = match rules.vmap {
        None => None,
        Some(rule) => Some(Function::new(move |args: &[Array]| {
            let axes = rule_ints(args, 0, "vmap")?;
            let (mut outputs, out_axes) = rule(&args[1..], &axes)?;
            outputs.push(Array::from_slice(&out_axes, &[out_axes.len() as i32])?);
            Ok(outputs)
        })?),
    };
    let raw = |rule: &Option<Function>| {
        rule.as_ref()
            .map_or(std::ptr::null_mut(), |r| r.raw.as_raw())
    };
    // SAFETY: valid closures (or NULL for a rule left out); mlxc copies what it keeps.
    forward
        .derive(|r, c| unsafe { sys::mlxc_custom_function(r, c, raw(&vjp), raw(&jvp), raw(&vmap)) })
}
