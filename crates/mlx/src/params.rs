//! Parameter trees: models as plain structs of arrays.
//!
//! A type implementing [`Parameters`] holds arrays (its *leaves*), each with a dotted name made
//! of the field names and indices leading to it (`layers.0.weight`, `head.bias`). The trait
//! flattens a tree to named leaves, rebuilds or updates it from them, maps over them (to make a
//! gradient tree of the same type, an updated model, ...), evaluates them and saves or loads
//! them as safetensors ([`Parameters::save_safetensors`], [`Parameters::load_safetensors`]).
//! [`crate::transforms::value_and_grad_params`] differentiates a loss with respect to every
//! trainable leaf and returns the gradients as a tree of the model's type.
//!
//! Implement it with `#[derive(Parameters)]` (from the `mlx` crate, which must be a dependency
//! under that name: the generated code refers to `::mlx`):
//!
//! ```
//! use mlx::{Array, Parameters};
//!
//! #[derive(Parameters, Clone)]
//! struct Linear {
//!     weight: Array,
//!     bias: Option<Array>,
//! }
//!
//! #[derive(Parameters, Clone)]
//! struct Mlp {
//!     layers: Vec<Linear>,
//!     #[param(frozen)]
//!     scale: Array,
//!     #[param(skip)]
//!     activation: String,
//! }
//!
//! let linear = |i, o, bias: bool| -> mlx::Result<Linear> {
//!     Ok(Linear {
//!         weight: Array::zeros::<f32>(&[i, o])?,
//!         bias: if bias { Some(Array::zeros::<f32>(&[o])?) } else { None },
//!     })
//! };
//! let model = Mlp {
//!     layers: vec![linear(4, 8, true)?, linear(8, 2, false)?],
//!     scale: Array::ones::<f32>(&[2])?,
//!     activation: "relu".into(),
//! };
//! assert_eq!(
//!     model.param_names(),
//!     ["layers.0.weight", "layers.0.bias", "layers.1.weight", "scale"]
//! );
//! assert_eq!(model.trainable_params().len(), 3);
//! assert_eq!(model.num_params(), 4 * 8 + 8 + 8 * 2 + 2);
//! # Ok::<(), mlx::Error>(())
//! ```
//!
//! Field options of the derive, written `#[param(...)]`: `skip` (not a parameter; the field is
//! cloned into trees built from the model, so its type must be `Clone`), `frozen` (a parameter
//! that is not trained) and `rename = "name"` (the name used in paths). The derive accepts
//! structs with named fields, tuple structs (fields named `0`, `1`, ...) and unit structs, with
//! generic parameters; enums and unions are rejected:
//!
//! ```compile_fail
//! #[derive(mlx::Parameters)]
//! enum Choice { A(mlx::Array), B(mlx::Array) }
//! ```
//!
//! ```compile_fail
//! #[derive(mlx::Parameters)]
//! struct Bad { #[param(skip, frozen)] a: mlx::Array }
//! ```
//!
//! Every field that is not skipped must itself implement `Parameters`:
//!
//! ```compile_fail
//! #[derive(mlx::Parameters)]
//! struct Bad { a: mlx::Array, width: usize }
//! ```
//!
//! Implementations for standard types: [`Array`] (a single leaf, named by its position),
//! `Vec<T>`, `[T; N]` and tuples of up to four elements (children named by index),
//! `Option<T>` and `Box<T>` (transparent: `None` has no leaves, `Some(x)` the leaves of `x` under
//! the same names), and `BTreeMap<String, T>` / `HashMap<String, T>` (children named by key;
//! hash maps are visited in key order so the order is deterministic).
//!
//! Leaves come in a fixed order: fields in declaration order, sequences by index, maps by key.
//! That order is the tree's structure, not the names' lexicographic order (`layers.10` comes
//! after `layers.9`).

use std::collections::{HashMap, HashSet};
use std::fmt;

use crate::array::Array;
use crate::error::{Error, Result};

mod std_impls;

/// Where a node sits in a parameter tree: its dotted name, and whether it is trainable (nothing
/// on the way to it was marked frozen).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParamPath {
    name: String,
    frozen: bool,
}

impl ParamPath {
    /// The root of a tree: empty name, trainable.
    pub fn root() -> ParamPath {
        ParamPath::default()
    }

    /// The path of a child named `key` (`parent.key`, or `key` under the root).
    pub fn child(&self, key: impl fmt::Display) -> ParamPath {
        let name = if self.name.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.name)
        };
        ParamPath {
            name,
            frozen: self.frozen,
        }
    }

    /// The same path, marked frozen (its leaves are not trained).
    pub fn frozen(self) -> ParamPath {
        ParamPath {
            frozen: true,
            ..self
        }
    }

    /// The dotted name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether leaves under this path are trained.
    pub fn is_trainable(&self) -> bool {
        !self.frozen
    }
}

impl fmt::Display for ParamPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// The run-time state of a module: whether it is in training mode, and which of its fields are
/// frozen by [`Parameters::freeze`]. A struct holds one in a field marked `#[param(state)]`;
/// the derive then consults it for its children's paths and sets it through
/// [`Parameters::train`], [`Parameters::freeze`] and [`Parameters::unfreeze`]. Cloned into
/// trees built from the module (gradients, updated copies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleState {
    training: bool,
    frozen: std::collections::BTreeSet<String>,
}

impl Default for ModuleState {
    fn default() -> Self {
        ModuleState {
            training: true,
            frozen: Default::default(),
        }
    }
}

impl ModuleState {
    /// A module in training mode with nothing frozen (as MLX's modules start).
    pub fn new() -> ModuleState {
        ModuleState::default()
    }

    /// Whether the module is in training mode.
    pub fn training(&self) -> bool {
        self.training
    }

    /// Sets training mode.
    pub fn set_training(&mut self, training: bool) {
        self.training = training;
    }

    /// Whether the field named `name` (its parameter name) is frozen at run time.
    pub fn is_frozen(&self, name: &str) -> bool {
        self.frozen.contains(name)
    }

    /// Freezes (`true`) or unfreezes the field named `name`.
    pub fn set_frozen(&mut self, name: &str, frozen: bool) {
        if frozen {
            self.frozen.insert(name.to_string());
        } else {
            self.frozen.remove(name);
        }
    }

    /// `path` (the child `name`'s path), marked frozen when this state freezes `name`. Used by
    /// the derive.
    pub fn child_path(&self, path: ParamPath, name: &str) -> ParamPath {
        if self.is_frozen(name) {
            path.frozen()
        } else {
            path
        }
    }
}

/// A tree of arrays with named leaves. Usually derived: see the [module documentation](self).
///
/// The three required methods walk the tree; every other method is built on them. Hand-written
/// implementations must visit the same leaves in the same order in all three, and give each
/// child the path `path.child(name)` (or `path.child(name).frozen()`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a parameter tree (it does not implement `mlx::Parameters`)",
    note = "fields of a `#[derive(Parameters)]` struct must hold arrays; mark fields that are \
            not parameters `#[param(skip)]`"
)]
pub trait Parameters: Sized {
    /// Calls `f` on every leaf, in order, with its path below `path`.
    fn visit_leaves<'a>(&'a self, path: &ParamPath, f: &mut dyn FnMut(&ParamPath, &'a Array));

    /// Calls `f` on every leaf, in order, with mutable access; stops at the first error.
    fn visit_leaves_mut(
        &mut self,
        path: &ParamPath,
        f: &mut dyn FnMut(&ParamPath, &mut Array) -> Result<()>,
    ) -> Result<()>;

    /// A tree of the same structure whose leaves are `f`'s results, in order; non-parameter
    /// parts (skipped fields) are cloned.
    fn map_leaves(
        &self,
        path: &ParamPath,
        f: &mut dyn FnMut(&ParamPath, &Array) -> Result<Array>,
    ) -> Result<Self>;

    /// Calls `f` on every [`ModuleState`] in the tree (parents before children), with the
    /// parameter names of the fields of the struct holding it. Derived; types holding no
    /// module state keep the default, which visits nothing.
    fn visit_states(&self, f: &mut dyn FnMut(&ModuleState, &[&str])) {
        let _ = f;
    }

    /// Mutable form of [`Parameters::visit_states`].
    fn visit_states_mut(&mut self, f: &mut dyn FnMut(&mut ModuleState, &[&str])) {
        let _ = f;
    }

    /// Calls `f` on every struct of the tree that derives `Parameters` (children before their
    /// parent), as `&mut dyn Any` with its path, so that code can find layers of a given type
    /// and change them in place (e.g. [`crate::nn::quantize`]); stops at the first error.
    /// Containers pass through to their elements; leaves visit nothing.
    fn visit_modules_mut(
        &mut self,
        path: &ParamPath,
        f: &mut dyn FnMut(&ParamPath, &mut dyn std::any::Any) -> Result<()>,
    ) -> Result<()>
    where
        Self: 'static,
    {
        let _ = (path, f);
        Ok(())
    }

    /// Sets training mode (`true`) or evaluation mode on every module in the tree, as Python
    /// MLX's `Module.train(mode)`. Layers such as dropout and batch normalization read it.
    fn train(&mut self, training: bool) {
        self.visit_states_mut(&mut |s, _| s.set_training(training));
    }

    /// Evaluation mode on every module: `train(false)`.
    fn eval(&mut self) {
        self.train(false)
    }

    /// Whether the tree is in training mode: that of its first module state (`true` when it
    /// holds none).
    fn training(&self) -> bool {
        let mut mode = None;
        self.visit_states(&mut |s, _| {
            mode.get_or_insert(s.training());
        });
        mode.unwrap_or(true)
    }

    /// Freezes every parameter of every module in the tree (gradients are no longer taken
    /// with respect to them and optimizers leave them alone), as Python MLX's
    /// `Module.freeze()`. Only structs with a `#[param(state)]` field record this: arrays held
    /// directly by a struct without one stay trainable.
    fn freeze(&mut self) {
        self.visit_states_mut(&mut |s, names| names.iter().for_each(|n| s.set_frozen(n, true)));
    }

    /// Unfreezes everything [`Parameters::freeze`] froze (fields marked `#[param(frozen)]`
    /// stay frozen), as Python MLX's `Module.unfreeze()`.
    fn unfreeze(&mut self) {
        self.visit_states_mut(&mut |s, names| names.iter().for_each(|n| s.set_frozen(n, false)));
    }

    /// Freezes the fields with these parameter names in every module of the tree, as Python
    /// MLX's `Module.freeze(keys=...)` (e.g. `&["bias"]` freezes every bias).
    fn freeze_keys(&mut self, keys: &[&str]) {
        self.visit_states_mut(&mut |s, names| {
            names
                .iter()
                .filter(|n| keys.contains(n))
                .for_each(|n| s.set_frozen(n, true))
        });
    }

    /// Unfreezes the fields with these parameter names in every module of the tree.
    fn unfreeze_keys(&mut self, keys: &[&str]) {
        self.visit_states_mut(&mut |s, names| {
            names
                .iter()
                .filter(|n| keys.contains(n))
                .for_each(|n| s.set_frozen(n, false))
        });
    }

    /// Every leaf with its name, in order (the arrays are cheap handle clones).
    fn flatten_params(&self) -> Vec<(String, Array)> {
        let mut out = Vec::new();
        self.visit_leaves(&ParamPath::root(), &mut |p, a| {
            out.push((p.name().to_string(), a.clone()))
        });
        out
    }

    /// The trainable leaves (those not under a frozen field) with their names, in order.
    fn trainable_params(&self) -> Vec<(String, Array)> {
        let mut out = Vec::new();
        self.visit_leaves(&ParamPath::root(), &mut |p, a| {
            if p.is_trainable() {
                out.push((p.name().to_string(), a.clone()))
            }
        });
        out
    }

    /// The leaves' names, in order.
    fn param_names(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.visit_leaves(&ParamPath::root(), &mut |p, _| {
            out.push(p.name().to_string())
        });
        out
    }

    /// Borrows every leaf, in order.
    fn leaves(&self) -> Vec<&Array> {
        let mut out = Vec::new();
        self.visit_leaves(&ParamPath::root(), &mut |_, a| out.push(a));
        out
    }

    /// The total number of elements over all leaves.
    fn num_params(&self) -> usize {
        let mut n = 0;
        self.visit_leaves(&ParamPath::root(), &mut |_, a| n += a.size());
        n
    }

    /// Evaluates every leaf (in one call, sharing common subgraphs).
    fn eval_params(&self) -> Result<()> {
        crate::eval(self.leaves())
    }

    /// Replaces the leaves by the named arrays. Strict: every leaf must be given exactly once,
    /// with its current shape, and no unknown name may appear; otherwise nothing is changed and
    /// the error names the offending leaf. Dtypes may differ (the new arrays are taken as
    /// they are).
    fn update_params(&mut self, leaves: impl IntoIterator<Item = (String, Array)>) -> Result<()> {
        replace(self, leaves, true, "update_params")
    }

    /// Like [`Parameters::update_params`], but leaves that are not given keep their value
    /// (unknown names and shape mismatches are still errors).
    fn update_params_partial(
        &mut self,
        leaves: impl IntoIterator<Item = (String, Array)>,
    ) -> Result<()> {
        replace(self, leaves, false, "update_params_partial")
    }

    /// A new tree shaped like this one, with the leaves taken from the named arrays (same checks
    /// as [`Parameters::update_params`]).
    fn rebuild_params(&self, leaves: impl IntoIterator<Item = (String, Array)>) -> Result<Self> {
        let mut given = by_name(leaves, "rebuild_params")?;
        check_names(self, &given, true, "rebuild_params")?;
        self.map_leaves(&ParamPath::root(), &mut |p, _| {
            Ok(given.remove(p.name()).expect("names were checked"))
        })
    }

    /// A new tree whose leaves are `f(name, leaf)` (all leaves, frozen ones included).
    fn map_params(&self, mut f: impl FnMut(&str, &Array) -> Result<Array>) -> Result<Self> {
        self.map_leaves(&ParamPath::root(), &mut |p, a| f(p.name(), a))
    }

    /// A new tree whose trainable leaves are `f(name, leaf)`; frozen leaves are kept.
    fn map_trainable_params(
        &self,
        mut f: impl FnMut(&str, &Array) -> Result<Array>,
    ) -> Result<Self> {
        self.map_leaves(&ParamPath::root(), &mut |p, a| {
            if p.is_trainable() {
                f(p.name(), a)
            } else {
                Ok(a.clone())
            }
        })
    }

    /// A new tree whose leaves are `f(name, mine, theirs)`, pairing each leaf with the leaf of
    /// the same name in `other`. Fails when the two trees do not have the same leaf names (say,
    /// vectors of different lengths).
    fn zip_params(
        &self,
        other: &Self,
        mut f: impl FnMut(&str, &Array, &Array) -> Result<Array>,
    ) -> Result<Self> {
        let mut theirs = other_leaves(self, other, "zip_params")?;
        self.map_leaves(&ParamPath::root(), &mut |p, a| {
            let b = theirs.remove(p.name()).expect("names were checked");
            f(p.name(), a, &b)
        })
    }

    /// Writes every leaf (frozen ones included) to a safetensors file at `path`, each under its
    /// dotted name; see [`crate::io::save_safetensors`]. MLX's writer rejects float64 leaves:
    /// convert them first, e.g. `model.map_params(|_, a| a.astype(Dtype::Float32))?`.
    fn save_safetensors(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        let leaves = by_name(self.flatten_params(), "save_safetensors")?;
        crate::io::save_safetensors(path, &leaves, &HashMap::new())
    }

    /// Replaces the leaves by the arrays of a safetensors file (such as one written by
    /// [`Parameters::save_safetensors`]). Strict, as [`Parameters::update_params`]: the file must
    /// hold exactly the tree's leaf names with the same shapes, or nothing is changed. The
    /// arrays keep the dtypes stored in the file.
    fn load_safetensors(&mut self, path: impl AsRef<std::path::Path>) -> Result<()> {
        let (arrays, _metadata) = crate::io::load_safetensors(path)?;
        replace(self, arrays, true, "load_safetensors")
    }

    /// Updates every trainable leaf in place to `f(leaf, grad)`, with `grad` the leaf of the same
    /// name in `grads` (typically from [`crate::transforms::value_and_grad_params`]); frozen
    /// leaves are left alone. For plain gradient descent:
    /// `model.apply_grads(&grads, |p, g| Ok(p - &(g * lr)))`.
    fn apply_grads(
        &mut self,
        grads: &Self,
        mut f: impl FnMut(&Array, &Array) -> Result<Array>,
    ) -> Result<()> {
        let mut theirs = other_leaves(self, grads, "apply_grads")?;
        self.visit_leaves_mut(&ParamPath::root(), &mut |p, a| {
            let g = theirs.remove(p.name()).expect("names were checked");
            if p.is_trainable() {
                *a = f(a, &g)?;
            }
            Ok(())
        })
    }
}

/// The leaves of `other` by name, after checking they are named exactly as `mine`'s.
fn other_leaves<P: Parameters>(mine: &P, other: &P, what: &str) -> Result<HashMap<String, Array>> {
    let theirs = by_name(other.flatten_params(), what)?;
    let names = mine.param_names();
    unique(&names, what)?;
    for name in &names {
        if !theirs.contains_key(name) {
            return Err(Error::InvalidArgument(format!(
                "[{what}] the other tree has no leaf `{name}`"
            )));
        }
    }
    if theirs.len() != names.len() {
        let mine: HashSet<&String> = names.iter().collect();
        let mut extra: Vec<&String> = theirs.keys().filter(|k| !mine.contains(k)).collect();
        extra.sort();
        return Err(Error::InvalidArgument(format!(
            "[{what}] the other tree has leaves this one lacks: {extra:?}"
        )));
    }
    Ok(theirs)
}

fn unique(names: &[String], what: &str) -> Result<()> {
    let mut seen = HashSet::new();
    for n in names {
        if !seen.insert(n.as_str()) {
            return Err(Error::InvalidArgument(format!(
                "[{what}] the tree has two leaves named `{n}`"
            )));
        }
    }
    Ok(())
}

fn by_name(
    leaves: impl IntoIterator<Item = (String, Array)>,
    what: &str,
) -> Result<HashMap<String, Array>> {
    let mut map = HashMap::new();
    for (name, array) in leaves {
        if map.contains_key(&name) {
            return Err(Error::InvalidArgument(format!(
                "[{what}] `{name}` is given twice"
            )));
        }
        map.insert(name, array);
    }
    Ok(map)
}

/// Checks the given arrays against the tree: names (all of them when `strict`), no unknown
/// ones, matching shapes.
fn check_names<P: Parameters>(
    tree: &P,
    given: &HashMap<String, Array>,
    strict: bool,
    what: &str,
) -> Result<()> {
    let mut problem = None;
    let mut names = Vec::new();
    tree.visit_leaves(&ParamPath::root(), &mut |p, a| {
        names.push(p.name().to_string());
        if problem.is_some() {
            return;
        }
        match given.get(p.name()) {
            None if strict => {
                problem = Some(format!(
                    "[{what}] no array given for the leaf `{}`",
                    p.name()
                ))
            }
            Some(new) if new.shape() != a.shape() => {
                problem = Some(format!(
                    "[{what}] shape mismatch for `{}`: the tree has {:?}, the given array {:?}",
                    p.name(),
                    a.shape(),
                    new.shape()
                ))
            }
            _ => {}
        }
    });
    if let Some(message) = problem {
        return Err(Error::InvalidArgument(message));
    }
    unique(&names, what)?;
    let known: HashSet<&str> = names.iter().map(String::as_str).collect();
    let mut unknown: Vec<&String> = given
        .keys()
        .filter(|k| !known.contains(k.as_str()))
        .collect();
    if !unknown.is_empty() {
        unknown.sort();
        return Err(Error::InvalidArgument(format!(
            "[{what}] the tree has no leaves named {unknown:?}"
        )));
    }
    Ok(())
}

fn replace<P: Parameters>(
    tree: &mut P,
    leaves: impl IntoIterator<Item = (String, Array)>,
    strict: bool,
    what: &str,
) -> Result<()> {
    let mut given = by_name(leaves, what)?;
    check_names(tree, &given, strict, what)?;
    tree.visit_leaves_mut(&ParamPath::root(), &mut |p, a| {
        if let Some(new) = given.remove(p.name()) {
            *a = new;
        }
        Ok(())
    })
}
