//! Parameter trees: the derive, flattening, rebuilding, mapping and gradients of models.

use crate::common;

use std::collections::{BTreeMap, HashMap};

use common::{assert_arrays_close, assert_close, sample, values};
use mlx::params::ParamPath;
use mlx::transforms::{grad_params, value_and_grad_params};
use mlx::{Array, Error, Parameters};

fn filled(shape: &[i32], start: f64) -> Array {
    let n: i32 = shape.iter().product();
    let data: Vec<f64> = (0..n).map(|i| start + f64::from(i)).collect();
    Array::from_slice(&data, shape).unwrap()
}

#[derive(Parameters, Clone, Debug)]
struct Linear {
    weight: Array,
    bias: Option<Array>,
}

#[derive(Parameters, Clone, Debug)]
struct Net {
    layers: Vec<Linear>,
    head: Linear,
    #[param(frozen)]
    norm: Array,
    #[param(skip)]
    name: String,
    #[param(rename = "emb")]
    embedding: Box<Array>,
}

fn net() -> Net {
    Net {
        layers: vec![
            Linear {
                weight: filled(&[2, 3], 0.0),
                bias: Some(filled(&[3], 10.0)),
            },
            Linear {
                weight: filled(&[3, 3], 20.0),
                bias: None,
            },
        ],
        head: Linear {
            weight: filled(&[3, 1], 30.0),
            bias: Some(filled(&[1], 40.0)),
        },
        norm: filled(&[3], 50.0),
        name: "net".into(),
        embedding: Box::new(filled(&[4, 2], 60.0)),
    }
}

const NET_NAMES: [&str; 7] = [
    "layers.0.weight",
    "layers.0.bias",
    "layers.1.weight",
    "head.weight",
    "head.bias",
    "norm",
    "emb",
];

fn err_message(e: Error) -> String {
    match e {
        Error::InvalidArgument(m) => m,
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
}

#[test]
fn flatten_names_order_and_values() {
    let n = net();
    assert_eq!(n.param_names(), NET_NAMES);
    let flat = n.flatten_params();
    let names: Vec<&str> = flat.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, NET_NAMES);
    // The leaves are the model's own arrays (same graph nodes), in order.
    let own = [
        &n.layers[0].weight,
        n.layers[0].bias.as_ref().unwrap(),
        &n.layers[1].weight,
        &n.head.weight,
        n.head.bias.as_ref().unwrap(),
        &n.norm,
        &*n.embedding,
    ];
    for ((_, leaf), own) in flat.iter().zip(own) {
        assert!(leaf.same_node(own));
    }
    for (leaf, own) in n.leaves().into_iter().zip(own) {
        assert!(leaf.same_node(own));
    }
    assert_eq!(n.num_params(), 6 + 3 + 9 + 3 + 1 + 3 + 8);
    let trainable: Vec<String> = n.trainable_params().into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        trainable,
        [
            "layers.0.weight",
            "layers.0.bias",
            "layers.1.weight",
            "head.weight",
            "head.bias",
            "emb"
        ]
    );
}

#[derive(Parameters)]
struct Pair(Array, #[param(skip)] u8, Option<Array>);

#[derive(Parameters)]
struct Empty;

#[derive(Parameters)]
struct Containers {
    fixed: [Array; 2],
    tuple: (Array, Vec<Array>),
    sorted: BTreeMap<String, Array>,
    hashed: HashMap<String, Linear>,
    #[param(frozen)]
    frozen_list: Vec<Option<Array>>,
}

#[test]
fn standard_containers_tuples_and_empty_structs() {
    let p = Pair(Array::scalar(1.0f32), 7, Some(Array::scalar(2.0f32)));
    assert_eq!(p.param_names(), ["0", "2"]);
    let p = Pair(Array::scalar(1.0f32), 7, None);
    assert_eq!(p.param_names(), ["0"]);
    assert!(Empty.param_names().is_empty());
    assert_eq!(Empty.num_params(), 0);

    let mut hashed = HashMap::new();
    // Inserted out of order: visiting sorts the keys.
    for key in ["zeta", "alpha", "mid"] {
        hashed.insert(
            key.to_string(),
            Linear {
                weight: Array::scalar(0.0f32),
                bias: None,
            },
        );
    }
    let mut sorted = BTreeMap::new();
    sorted.insert("b".to_string(), Array::scalar(1.0f32));
    sorted.insert("a".to_string(), Array::scalar(2.0f32));
    let c = Containers {
        fixed: [Array::scalar(1.0f32), Array::scalar(2.0f32)],
        tuple: (Array::scalar(3.0f32), vec![Array::scalar(4.0f32); 3]),
        sorted,
        hashed,
        frozen_list: vec![None, Some(Array::scalar(5.0f32))],
    };
    let expected = [
        "fixed.0",
        "fixed.1",
        "tuple.0",
        "tuple.1.0",
        "tuple.1.1",
        "tuple.1.2",
        "sorted.a",
        "sorted.b",
        "hashed.alpha.weight",
        "hashed.mid.weight",
        "hashed.zeta.weight",
        "frozen_list.1",
    ];
    assert_eq!(c.param_names(), expected);
    assert_eq!(c.trainable_params().len(), expected.len() - 1);
    // Values follow the names.
    let sorted_values: Vec<f32> = c
        .flatten_params()
        .iter()
        .filter(|(k, _)| k.starts_with("sorted"))
        .map(|(_, a)| a.item::<f32>().unwrap())
        .collect();
    assert_eq!(sorted_values, [2.0, 1.0]);
    // Mapping rebuilds every container with the same keys.
    let doubled = c.map_params(|_, a| Ok(a * 2.0)).unwrap();
    assert_eq!(doubled.param_names(), expected);
    let got: Vec<f32> = doubled
        .leaves()
        .iter()
        .map(|a| a.item::<f32>().unwrap())
        .collect();
    let want: Vec<f32> = c
        .leaves()
        .iter()
        .map(|a| 2.0 * a.item::<f32>().unwrap())
        .collect();
    assert_eq!(got, want);
    // A single array is a tree with one unnamed leaf.
    let a = Array::scalar(3.0f32);
    assert_eq!(a.param_names(), [""]);
}

#[derive(Parameters, Clone)]
struct Stack<L: Clone, C: Clone> {
    blocks: Vec<L>,
    #[param(skip)]
    config: C,
}

#[test]
fn generic_structs_derive() {
    let s = Stack {
        blocks: vec![
            Linear {
                weight: Array::scalar(1.0f32),
                bias: None,
            };
            2
        ],
        config: (3usize, "x"),
    };
    assert_eq!(s.param_names(), ["blocks.0.weight", "blocks.1.weight"]);
    let m = s.map_params(|_, a| Ok(a + 1.0)).unwrap();
    assert_eq!(m.config, (3, "x"));
    assert_eq!(m.blocks[1].weight.item::<f32>().unwrap(), 2.0);
}

#[test]
fn paths_join_names_and_carry_frozen() {
    let root = ParamPath::root();
    assert_eq!(root.name(), "");
    assert!(root.is_trainable());
    let child = root.child("layers").child(3).frozen().child("w");
    assert_eq!(child.name(), "layers.3.w");
    assert_eq!(child.to_string(), "layers.3.w");
    assert!(!child.is_trainable());
}

fn renamed(n: &Net, scale: f64) -> Vec<(String, Array)> {
    n.flatten_params()
        .into_iter()
        .map(|(k, a)| (k, &a * scale))
        .collect()
}

#[test]
fn update_replaces_every_leaf() {
    let mut n = net();
    let before = n.flatten_params();
    n.update_params(renamed(&n, 2.0)).unwrap();
    for ((k, old), (k2, new)) in before.iter().zip(n.flatten_params()) {
        assert_eq!(k, &k2);
        let want: Vec<f64> = values(old).iter().map(|v| 2.0 * v).collect();
        assert_close(&new, &want, 0.0, 0.0);
    }
    assert_eq!(n.name, "net");
    // Also from a map.
    let map: HashMap<String, Array> = renamed(&n, 0.5).into_iter().collect();
    n.update_params(map).unwrap();
    assert_close(&n.head.bias.clone().unwrap(), &[40.0], 0.0, 0.0);
}

#[test]
fn update_errors_leave_the_tree_unchanged() {
    let mut n = net();
    let original = values(&n.layers[0].weight);

    // Missing leaf.
    let mut leaves = renamed(&n, 2.0);
    leaves.retain(|(k, _)| k != "head.bias");
    let e = err_message(n.update_params(leaves).unwrap_err());
    assert!(e.contains("no array given for the leaf `head.bias`"), "{e}");

    // Unknown name.
    let mut leaves = renamed(&n, 2.0);
    leaves.push(("head.scale".into(), Array::scalar(1.0)));
    let e = err_message(n.update_params(leaves).unwrap_err());
    assert!(e.contains("no leaves named [\"head.scale\"]"), "{e}");

    // Shape mismatch.
    let mut leaves = renamed(&n, 2.0);
    leaves[2].1 = Array::zeros::<f64>(&[3, 2]).unwrap();
    let e = err_message(n.update_params(leaves).unwrap_err());
    assert!(
        e.contains(
            "shape mismatch for `layers.1.weight`: the tree has [3, 3], the given array [3, 2]"
        ),
        "{e}"
    );

    // A name given twice.
    let mut leaves = renamed(&n, 2.0);
    leaves.push(("norm".into(), Array::zeros::<f64>(&[3]).unwrap()));
    let e = err_message(n.update_params(leaves).unwrap_err());
    assert!(e.contains("`norm` is given twice"), "{e}");

    assert_close(&n.layers[0].weight, &original, 0.0, 0.0);
}

#[test]
fn partial_update_and_rebuild() {
    let mut n = net();
    n.update_params_partial(vec![(
        "layers.0.bias".to_string(),
        Array::from_slice(&[1.0, 2.0, 3.0], &[3]).unwrap(),
    )])
    .unwrap();
    assert_close(
        n.layers[0].bias.as_ref().unwrap(),
        &[1.0, 2.0, 3.0],
        0.0,
        0.0,
    );
    assert_close(&n.norm, &[50.0, 51.0, 52.0], 0.0, 0.0);
    let e = err_message(
        n.update_params_partial(vec![("layers.2.weight".into(), Array::scalar(0.0))])
            .unwrap_err(),
    );
    assert!(e.contains("\"layers.2.weight\""), "{e}");
    let e = err_message(
        n.update_params_partial(vec![("norm".into(), Array::scalar(0.0))])
            .unwrap_err(),
    );
    assert!(e.contains("shape mismatch for `norm`"), "{e}");

    let rebuilt = n.rebuild_params(renamed(&n, -1.0)).unwrap();
    assert_close(&rebuilt.norm, &[-50.0, -51.0, -52.0], 0.0, 0.0);
    assert_close(&rebuilt.embedding, &values(&(-&*n.embedding)), 0.0, 0.0);
    assert!(rebuilt.layers[1].bias.is_none());
    assert_eq!(rebuilt.name, "net");
    // The source is untouched.
    assert_close(&n.norm, &[50.0, 51.0, 52.0], 0.0, 0.0);
    let mut short = renamed(&n, 1.0);
    short.pop();
    let e = err_message(n.rebuild_params(short).unwrap_err());
    assert!(e.contains("no array given for the leaf `emb`"), "{e}");
}

#[test]
fn map_zip_and_apply_grads() {
    let n = net();
    let names = std::cell::RefCell::new(Vec::new());
    let negated = n
        .map_params(|k, a| {
            names.borrow_mut().push(k.to_string());
            Ok(-a)
        })
        .unwrap();
    assert_eq!(names.into_inner(), NET_NAMES);
    assert_close(&negated.norm, &[-50.0, -51.0, -52.0], 0.0, 0.0);

    let only_trainable = n.map_trainable_params(|_, a| Ok(a * 0.0)).unwrap();
    assert_close(&only_trainable.head.weight, &[0.0; 3], 0.0, 0.0);
    assert_close(&only_trainable.norm, &[50.0, 51.0, 52.0], 0.0, 0.0);

    let sums = n.zip_params(&negated, |_, a, b| Ok(a + b)).unwrap();
    for leaf in sums.leaves() {
        assert!(values(leaf).iter().all(|v| *v == 0.0));
    }

    // p - lr * g on trainable leaves; the frozen `norm` is untouched.
    let grads = n.map_params(|_, a| Ok(a * 0.0 + 1.0)).unwrap();
    let mut stepped = n.clone();
    stepped
        .apply_grads(&grads, |p, g| Ok(p - &(g * 0.5)))
        .unwrap();
    assert_close(&stepped.head.bias.clone().unwrap(), &[39.5], 0.0, 0.0);
    assert_close(
        &stepped.layers[0].weight,
        &[-0.5, 0.5, 1.5, 2.5, 3.5, 4.5],
        0.0,
        0.0,
    );
    assert_close(&stepped.norm, &[50.0, 51.0, 52.0], 0.0, 0.0);
    stepped.eval_params().unwrap();
    for leaf in stepped.leaves() {
        assert_eq!(leaf.status(), mlx::Status::Available);
    }

    // Trees of different structure do not pair up.
    let mut other = n.clone();
    other.layers.pop();
    let e = err_message(n.zip_params(&other, |_, a, _| Ok(a.clone())).unwrap_err());
    assert!(e.contains("no leaf `layers.1.weight`"), "{e}");
    let e = err_message(other.zip_params(&n, |_, a, _| Ok(a.clone())).unwrap_err());
    assert!(
        e.contains("leaves this one lacks: [\"layers.1.weight\"]"),
        "{e}"
    );
    let e = err_message(
        stepped
            .apply_grads(&other, |p, _| Ok(p.clone()))
            .unwrap_err(),
    );
    assert!(e.contains("no leaf `layers.1.weight`"), "{e}");
}

#[test]
fn map_errors_propagate() {
    let n = net();
    let e = n
        .map_params(|k, a| {
            if k == "head.weight" {
                Err(Error::InvalidArgument("stop here".into()))
            } else {
                Ok(a.clone())
            }
        })
        .unwrap_err();
    assert_eq!(e, Error::InvalidArgument("stop here".into()));
    // A real MLX failure inside the map.
    let e = n.map_params(|_, a| a.reshape(&[5])).unwrap_err();
    assert!(
        matches!(&e, Error::Mlx(m) if m.contains("reshape")),
        "{e:?}"
    );
}

// ---- gradients ---------------------------------------------------------------------------

#[derive(Parameters, Clone, Debug)]
struct Dense {
    w: Array,
    b: Array,
}

#[derive(Parameters, Clone, Debug)]
struct TwoLayer {
    hidden: Dense,
    out: Dense,
    #[param(frozen)]
    out_scale: Array,
    #[param(skip)]
    batch: i32,
}

impl TwoLayer {
    fn new(seed: u64) -> TwoLayer {
        TwoLayer {
            hidden: Dense {
                w: sample(&[3, 4], seed, -1.0, 1.0),
                b: sample(&[4], seed + 1, -0.5, 0.5),
            },
            out: Dense {
                w: sample(&[4, 2], seed + 2, -1.0, 1.0),
                b: sample(&[2], seed + 3, -0.5, 0.5),
            },
            out_scale: sample(&[2], seed + 4, 0.5, 1.5),
            batch: 5,
        }
    }

    /// mean over the batch of sum((out_scale * ((x W1 + b1)^2 W2 + b2) - y)^2)
    fn loss(&self, x: &Array, y: &Array) -> mlx::Result<Array> {
        let h = &x.matmul(&self.hidden.w)? + &self.hidden.b;
        let h = &h * &h;
        let o = &(&h.matmul(&self.out.w)? + &self.out.b) * &self.out_scale;
        let d = &o - y;
        Ok(&(&d * &d).sum(None, false)? / f64::from(self.batch))
    }
}

/// Central finite differences of `loss` with respect to every element of every leaf.
fn numeric_grads(model: &TwoLayer, loss: impl Fn(&TwoLayer) -> f64, eps: f64) -> Vec<Vec<f64>> {
    let flat = model.flatten_params();
    let mut out = Vec::new();
    for (i, (_, leaf)) in flat.iter().enumerate() {
        let base = values(leaf);
        let mut g = Vec::new();
        for j in 0..base.len() {
            let at = |delta: f64| {
                let mut moved = base.clone();
                moved[j] += delta;
                let mut leaves = flat.clone();
                leaves[i].1 = Array::from_slice(&moved, leaf.shape()).unwrap();
                loss(&model.rebuild_params(leaves).unwrap())
            };
            g.push((at(eps) - at(-eps)) / (2.0 * eps));
        }
        out.push(g);
    }
    out
}

#[test]
fn value_and_grad_params_matches_finite_differences() {
    let model = TwoLayer::new(11);
    let x = sample(&[5, 3], 1, -1.0, 1.0);
    let y = sample(&[5, 2], 2, -1.0, 1.0);
    let (loss, grads) = value_and_grad_params(&model, |m: &TwoLayer| m.loss(&x, &y)).unwrap();
    let direct = model.loss(&x, &y).unwrap().item::<f64>().unwrap();
    assert_close(&loss, &[direct], 1e-12, 0.0);

    assert_eq!(grads.param_names(), model.param_names());
    assert_eq!(grads.batch, 5);
    let scalar_loss = |m: &TwoLayer| m.loss(&x, &y).unwrap().item::<f64>().unwrap();
    let numeric = numeric_grads(&model, scalar_loss, 1e-6);
    for ((name, g), num) in grads.flatten_params().iter().zip(&numeric) {
        assert_eq!(
            g.shape(),
            model
                .flatten_params()
                .iter()
                .find(|(k, _)| k == name)
                .unwrap()
                .1
                .shape()
        );
        if name == "out_scale" {
            // Frozen: zero gradient, although the loss depends on it.
            assert!(num.iter().any(|v| v.abs() > 1e-3));
            assert_close(g, &vec![0.0; num.len()], 0.0, 0.0);
        } else {
            assert_close(g, num, 1e-6, 1e-7);
        }
    }

    // grad_params gives the same tree.
    let only = grad_params(&model, |m: &TwoLayer| m.loss(&x, &y)).unwrap();
    for (a, b) in only.leaves().iter().zip(grads.leaves()) {
        assert_close(a, &values(b), 0.0, 0.0);
    }
}

#[test]
fn value_and_grad_params_agrees_with_check_grad_on_flat_leaves() {
    // The same loss written over the flat leaf list, checked with the shared helper; then the
    // tree gradient must equal MLX's gradient over that list.
    let model = TwoLayer::new(3);
    let x = sample(&[5, 3], 4, -1.0, 1.0);
    let y = sample(&[5, 2], 5, -1.0, 1.0);
    let names = model.param_names();
    let flat_loss = |leaves: &[Array]| {
        let m = model.rebuild_params(names.iter().cloned().zip(leaves.iter().cloned()))?;
        m.loss(&x, &y)
    };
    let leaves: Vec<Array> = model.leaves().into_iter().cloned().collect();
    for i in 0..4 {
        common::check_grad(flat_loss, &leaves, i, 1e-6, 1e-6);
    }
    let tree = grad_params(&model, |m: &TwoLayer| m.loss(&x, &y)).unwrap();
    let flat = mlx::transforms::grad(flat_loss, &[0, 1, 2, 3])(&leaves).unwrap();
    for (g, want) in tree.leaves().into_iter().take(4).zip(&flat) {
        assert_close(g, &values(want), 1e-12, 0.0);
    }
}

#[test]
fn training_steps_reduce_the_loss() {
    // Fit y = 2x + 1 with a single dense layer: the loss must fall and the weights approach
    // the known solution.
    let mut model = Dense {
        w: Array::zeros::<f64>(&[1, 1]).unwrap(),
        b: Array::zeros::<f64>(&[1]).unwrap(),
    };
    let x = Array::from_slice(&[-1.0, 0.0, 1.0, 2.0], &[4, 1]).unwrap();
    let y = &(&x * 2.0) + 1.0;
    let loss_of = |m: &Dense| -> mlx::Result<Array> {
        let d = &(&x.matmul(&m.w)? + &m.b) - &y;
        Ok(&(&d * &d).sum(None, false)? / 4.0)
    };
    let mut losses = Vec::new();
    for _ in 0..200 {
        let (loss, grads) = value_and_grad_params(&model, loss_of).unwrap();
        losses.push(loss.item::<f64>().unwrap());
        model
            .apply_grads(&grads, |p, g| Ok(p - &(g * 0.1)))
            .unwrap();
        model.eval_params().unwrap();
    }
    // First step by hand: loss = mean(y^2) = (1 + 1 + 9 + 25) / 4.
    assert_eq!(losses[0], 9.0);
    assert!(losses.windows(2).all(|w| w[1] <= w[0]));
    assert_close(&model.w, &[2.0], 1e-6, 0.0);
    assert_close(&model.b, &[1.0], 1e-6, 0.0);
}

#[test]
fn first_gradient_by_hand() {
    // loss = sum(x w + b) with x = [[1, 2], [3, 4]]: dL/dw = column sums of x, dL/db = batch.
    let model = Dense {
        w: Array::from_slice(&[0.5, -1.0], &[2, 1]).unwrap(),
        b: Array::from_slice(&[0.25], &[1]).unwrap(),
    };
    let x = Array::from_slice(&[1.0, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    let (loss, g) = value_and_grad_params(&model, |m: &Dense| {
        (&x.matmul(&m.w)? + &m.b).sum(None, false)
    })
    .unwrap();
    // x w = [0.5 - 2, 1.5 - 4] = [-1.5, -2.5]; + 0.25 each.
    assert_close(&loss, &[-3.5], 0.0, 0.0);
    assert_close(&g.w, &[4.0, 6.0], 0.0, 0.0);
    assert_close(&g.b, &[2.0], 0.0, 0.0);
}

#[test]
fn value_and_grad_params_edge_cases() {
    // Everything frozen: the loss is computed, every gradient is zero.
    #[derive(Parameters)]
    struct AllFrozen {
        #[param(frozen)]
        w: Array,
    }
    let m = AllFrozen {
        w: Array::from_slice(&[1.0, 2.0], &[2]).unwrap(),
    };
    let (loss, g) =
        value_and_grad_params(&m, |m: &AllFrozen| (&m.w * &m.w).sum(None, false)).unwrap();
    assert_close(&loss, &[5.0], 0.0, 0.0);
    assert_close(&g.w, &[0.0, 0.0], 0.0, 0.0);

    // A failing loss function reports its error.
    let model = TwoLayer::new(1);
    let e = value_and_grad_params(&model, |m: &TwoLayer| m.hidden.w.reshape(&[7])).unwrap_err();
    assert!(
        matches!(&e, Error::Closure(m) if m.contains("reshape")),
        "{e:?}"
    );

    // A loss that is not 0-dimensional is rejected.
    let e = value_and_grad_params(&model, |m: &TwoLayer| Ok(m.out.b.clone())).unwrap_err();
    assert!(
        e.message()
            .contains("must be a scalar (0-dimensional) array, got shape [2]"),
        "{e:?}"
    );
    let e = value_and_grad_params(&model, |m: &TwoLayer| m.out.b.sum(None, true)).unwrap_err();
    assert!(e.message().contains("got shape [1]"), "{e:?}");
}

// ---- safetensors -------------------------------------------------------------------------

fn temp_file(tag: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "mlx-params-{}-{tag}.safetensors",
        std::process::id()
    ))
}

/// `net()` in float32 (MLX's safetensors writer has no float64).
fn net32() -> Net {
    net()
        .map_params(|_, a| a.astype(mlx::Dtype::Float32))
        .unwrap()
}

fn zeroed(n: &Net) -> Net {
    n.map_params(|_, a| mlx::ops::zeros(a.shape(), a.dtype()))
        .unwrap()
}

#[test]
fn safetensors_round_trip() {
    let path = temp_file("round-trip");
    let original = net32();
    original.save_safetensors(&path).unwrap();

    // The file holds every leaf (frozen included) under its dotted name.
    let (arrays, _) = mlx::io::load_safetensors(&path).unwrap();
    let mut names: Vec<&String> = arrays.keys().collect();
    names.sort();
    let mut want: Vec<&str> = NET_NAMES.to_vec();
    want.sort();
    assert_eq!(names, want);

    let mut loaded = zeroed(&original);
    loaded.load_safetensors(&path).unwrap();
    for ((k, a), (k2, b)) in loaded
        .flatten_params()
        .iter()
        .zip(original.flatten_params())
    {
        assert_eq!(k, &k2);
        assert_eq!(a.dtype(), b.dtype());
        assert_arrays_close(a, &b, 0.0, 0.0);
    }
    assert_eq!(loaded.name, "net");

    // Mixed dtypes survive.
    let mut typed = Linear {
        weight: Array::from_slice(&[1.5f32, -2.0], &[2]).unwrap(),
        bias: Some(Array::from_slice(&[7i32], &[1]).unwrap()),
    };
    typed.save_safetensors(&path).unwrap();
    typed.weight = Array::zeros::<f32>(&[2]).unwrap();
    typed.bias = Some(Array::zeros::<i32>(&[1]).unwrap());
    typed.load_safetensors(&path).unwrap();
    assert_eq!(typed.weight.to_vec::<f32>().unwrap(), [1.5, -2.0]);
    assert_eq!(typed.bias.unwrap().to_vec::<i32>().unwrap(), [7]);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn safetensors_load_checks_names_and_shapes() {
    let path = temp_file("mismatch");
    let n = net32();
    n.save_safetensors(&path).unwrap();

    // The model has a leaf the file lacks.
    let mut bigger = zeroed(&n);
    bigger.layers[1].bias = Some(Array::zeros::<f32>(&[3]).unwrap());
    let e = err_message(bigger.load_safetensors(&path).unwrap_err());
    assert!(
        e.contains("[load_safetensors] no array given for the leaf `layers.1.bias`"),
        "{e}"
    );

    // The file has a leaf the model lacks.
    let mut smaller = zeroed(&n);
    smaller.head.bias = None;
    let e = err_message(smaller.load_safetensors(&path).unwrap_err());
    assert!(e.contains("no leaves named [\"head.bias\"]"), "{e}");

    // Same names, another shape; nothing is changed.
    let mut reshaped = zeroed(&n);
    *reshaped.embedding = Array::zeros::<f32>(&[2, 4]).unwrap();
    let e = err_message(reshaped.load_safetensors(&path).unwrap_err());
    assert!(
        e.contains("shape mismatch for `emb`: the tree has [2, 4], the given array [4, 2]"),
        "{e}"
    );
    assert!(values(&reshaped.norm).iter().all(|v| *v == 0.0));

    // A missing file.
    std::fs::remove_file(&path).unwrap();
    let e = reshaped.load_safetensors(&path).unwrap_err();
    assert!(matches!(e, Error::Io(_)), "{e:?}");

    // MLX cannot write float64 to safetensors; the error is MLX's.
    let e = net().save_safetensors(&path).unwrap_err();
    assert!(
        matches!(&e, Error::Mlx(m) if m.contains("invalid dtype")),
        "{e:?}"
    );
    let _ = std::fs::remove_file(&path);
}
