//! A Burn model trained on `Autodiff<Mlx>`, saved with Burn's store (safetensors, PyTorch
//! layout), loaded into an `mlx::nn` model of the same structure and compared: the two crates
//! compute the same function from the same file.

use burn::module::AutodiffModule;
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams, Optimizer as _};
use burn::tensor::{Distribution, Tensor};
use burn_mlx::{MlxAutodiff, MlxDevice};
use burn_store::{BurnToPyTorchAdapter, ModuleSnapshot, SafetensorsStore};
use mlx::Parameters;
use mlx::nn::Module as _;

#[derive(burn::module::Module, Debug)]
struct BurnNet<B: burn::tensor::backend::Backend> {
    fc1: Linear<B>,
    norm: LayerNorm<B>,
    fc2: Linear<B>,
}

impl<B: burn::tensor::backend::Backend> BurnNet<B> {
    fn new(device: &B::Device) -> Self {
        BurnNet {
            fc1: LinearConfig::new(6, 16).init(device),
            norm: LayerNormConfig::new(16).init(device),
            fc2: LinearConfig::new(16, 3).init(device),
        }
    }

    fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        let h = burn::tensor::activation::relu(self.fc1.forward(x));
        self.fc2.forward(self.norm.forward(h))
    }
}

/// The same network in `mlx::nn`, with Python MLX's (and PyTorch's) parameter names.
#[derive(Parameters, Clone)]
struct MlxNet {
    fc1: mlx::nn::Linear,
    norm: mlx::nn::LayerNorm,
    fc2: mlx::nn::Linear,
}

impl mlx::nn::Module for MlxNet {
    fn forward(&self, x: &mlx::Array) -> mlx::Result<mlx::Array> {
        let h = mlx::nn::relu(&self.fc1.forward(x)?)?;
        self.fc2.forward(&self.norm.forward(&h)?)
    }
}

#[test]
fn a_burn_model_trained_on_mlx_loads_into_mlx_nn_and_computes_the_same() {
    type B = MlxAutodiff;
    let device = MlxDevice::Cpu;
    <B as burn::tensor::backend::Backend>::seed(&device, 3);
    let mut model = BurnNet::<B>::new(&device);
    let mut adam = AdamConfig::new().init();
    let x = Tensor::<B, 2>::random([32, 6], Distribution::Normal(0.0, 1.0), &device);
    let target = Tensor::<B, 2>::random([32, 3], Distribution::Normal(0.0, 1.0), &device);
    let mut first = None;
    let mut last = 0.0;
    for _ in 0..30 {
        let loss = (model.forward(x.clone()) - target.clone())
            .powi_scalar(2)
            .mean();
        last = loss.clone().into_scalar();
        first.get_or_insert(last);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = adam.step(1e-2, model, grads);
    }
    assert!(
        last < first.unwrap(),
        "training lowers the loss ({first:?} -> {last})"
    );

    let dir = std::env::temp_dir().join(format!("burn-to-mlx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("net.safetensors");
    let mut store = SafetensorsStore::from_file(&path).with_to_adapter(BurnToPyTorchAdapter);
    model
        .valid()
        .save_into(&mut store)
        .expect("saving with burn-store");

    let mut net = MlxNet {
        fc1: mlx::nn::Linear::new(6, 16).unwrap(),
        norm: mlx::nn::LayerNorm::new(16).unwrap(),
        fc2: mlx::nn::Linear::new(16, 3).unwrap(),
    };
    net.load_safetensors(&path)
        .expect("the file has exactly the mlx model's leaves");
    std::fs::remove_dir_all(&dir).ok();

    let input = model.valid().forward(x.clone().inner());
    let burn_out = input.into_data().to_vec::<f32>().unwrap();
    let xs = x.inner().into_data();
    let mx = mlx::Array::from_slice(&xs.to_vec::<f32>().unwrap(), &[32, 6]).unwrap();
    let mlx_out = net.forward(&mx).unwrap().to_vec::<f32>().unwrap();
    assert_eq!(burn_out.len(), mlx_out.len());
    for (i, (a, b)) in burn_out.iter().zip(&mlx_out).enumerate() {
        assert!(
            (a - b).abs() <= 1e-4 * (1.0 + a.abs()),
            "output {i}: burn {a} vs mlx {b}"
        );
    }
    // And the weights are Burn's, transposed to MLX's [out, in].
    let w = model.fc1.weight.val().inner().into_data();
    let burn_w: Vec<f32> = w.to_vec().unwrap(); // [in, out]
    let mlx_w = net.fc1.weight.to_vec::<f32>().unwrap(); // [out, in]
    assert_eq!(mlx_w[6 + 2], burn_w[2 * 16 + 1]); // (out 1, in 2)
}
