//! Burn modules on both backends: the same weights on each (moved as bytes at full precision,
//! so loading them is exact), and every parameter's gradient, named by its path.

use burn::module::{Module, ModuleVisitor, Param};
use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};
use burn::tensor::Tensor;
use burn_backend::{AutodiffBackend, Backend, TensorData};

use super::{Tol, assert_data_close};

type Rec = BinBytesRecorder<FullPrecisionSettings>;

/// A module's weights as bytes.
pub fn module_bytes<B: Backend, Mo: Module<B>>(module: Mo) -> Vec<u8> {
    Recorder::<B>::record(&Rec::default(), module.into_record(), ())
        .expect("serialising the weights")
}

/// `module` (built on `B`) with the weights of [`module_bytes`].
pub fn load_bytes<B: Backend, Mo: Module<B>>(module: Mo, bytes: &[u8], dev: &B::Device) -> Mo {
    let record = Recorder::<B>::load(&Rec::default(), bytes.to_vec(), dev)
        .expect("deserialising the weights");
    module.load_record(record)
}

/// `src` with its parameters initialized, and `dst` (the same module type on another backend)
/// with the same parameters and buffers. Burn initializes parameters lazily, and a clone of an
/// uninitialized module initializes separately: hence the returned `src`.
pub fn transfer<B1: Backend, B2: Backend, M1: Module<B1>, M2: Module<B2>>(
    src: M1,
    dst: M2,
    device: &B2::Device,
) -> (M1, M2) {
    let src = src.clone().load_record(src.into_record());
    let bytes = module_bytes(src.clone());
    (src, load_bytes(dst, &bytes, device))
}

/// Named values (outputs, gradients), compared name by name.
pub type Named = Vec<(String, TensorData)>;

/// Every float parameter's gradient, named by its path in the module. Parameters without one
/// (running statistics) are left out, so both backends must agree on which have one.
pub fn param_grads<B: AutodiffBackend, Mo: Module<B>>(module: &Mo, grads: &B::Gradients) -> Named {
    let mut reader = GradReader::<B> {
        grads,
        path: vec![],
        out: vec![],
    };
    module.visit(&mut reader);
    assert!(
        !reader.out.is_empty() || module.num_params() == 0,
        "no parameter got a gradient"
    );
    reader.out
}

struct GradReader<'a, B: AutodiffBackend> {
    grads: &'a B::Gradients,
    path: Vec<String>,
    out: Named,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for GradReader<'_, B> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(g) = param.grad(self.grads) {
            self.out
                .push((format!("{} grad", self.path.join(".")), g.into_data()));
        }
    }
}

/// Asserts the same names in the same order, and each value within `tol`.
pub fn assert_named_close(label: &str, got: &Named, want: &Named, tol: Tol) {
    let names = |o: &Named| o.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(got), names(want), "{label}: the values produced");
    for ((name, g), (_, w)) in got.iter().zip(want) {
        assert_data_close(&format!("{label}: {name}"), g, w, tol);
    }
}
