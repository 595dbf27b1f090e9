//! Attention, Transformer stacks, positional encodings and recurrent layers against Python MLX.

use mlx::nn::{self, Module};
use mlx::{Array, Dtype, Parameters};

use super::*;

/// Runs `body` in Python with `layer`'s parameters loaded into `m` (built by `python_layer`)
/// and the given extra inputs.
fn python_with(
    layer: &impl Parameters,
    python_layer: &str,
    body: &str,
    extra: &[(&str, &Array)],
) -> Option<std::collections::HashMap<String, Array>> {
    let params = named_params(layer, "m");
    let mut inputs: Vec<(&str, &Array)> = params.iter().map(|(k, v)| (k.as_str(), v)).collect();
    inputs.extend_from_slice(extra);
    python_mlx(&format!("m = load({python_layer}, 'm')\n{body}"), &inputs)
}

#[test]
fn multi_head_attention_matches_python_with_and_without_masks() {
    mlx::random::seed(40).unwrap();
    let mha = nn::MultiHeadAttention::new(16, 4).unwrap();
    let (q, kv) = (input(&[2, 5, 16], 40), input(&[2, 7, 16], 41));
    let plain = mha.forward(&q, &kv, &kv, None).unwrap();
    let causal = nn::MultiHeadAttention::create_additive_causal_mask(5, Dtype::Float32).unwrap();
    let self_att = mha.forward(&q, &q, &q, Some(&causal)).unwrap();
    assert_eq!(plain.shape(), &[2, 5, 16]);
    let body = "out['plain'] = m(inp['q'], inp['kv'], inp['kv'])\n\
                mask = nn.MultiHeadAttention.create_additive_causal_mask(5)\n\
                out['mask'] = mask\n\
                out['causal'] = m(inp['q'], inp['q'], inp['q'], mask)";
    if let Some(out) = python_with(
        &mha,
        "nn.MultiHeadAttention(16, 4)",
        body,
        &[("q", &q), ("kv", &kv)],
    ) {
        assert_arrays_close(&plain, &out["plain"], 1e-4, 1e-4);
        assert_arrays_close(&causal, &out["mask"], 0.0, 0.0);
        assert_arrays_close(&self_att, &out["causal"], 1e-4, 1e-4);
    }
    // With biases and different widths.
    let wide = nn::MultiHeadAttention::with_dims(8, 2, [6, 5, 4, 10, 3], true).unwrap();
    let (q, k, v) = (
        input(&[1, 3, 6], 42),
        input(&[1, 4, 5], 43),
        input(&[1, 4, 4], 44),
    );
    let y = wide.forward(&q, &k, &v, None).unwrap();
    assert_eq!(y.shape(), &[1, 3, 3]);
    let python = "nn.MultiHeadAttention(8, 2, query_input_dims=6, key_input_dims=5, \
                  value_input_dims=4, value_dims=10, value_output_dims=3, bias=True)";
    if let Some(out) = python_with(
        &wide,
        python,
        "out['y'] = m(inp['q'], inp['k'], inp['v'])",
        &[("q", &q), ("k", &k), ("v", &v)],
    ) {
        assert_arrays_close(&y, &out["y"], 1e-4, 1e-4);
    }
    assert!(nn::MultiHeadAttention::new(10, 4).is_err());
}

#[test]
fn transformer_stacks_match_python() {
    mlx::random::seed(41).unwrap();
    let x = input(&[2, 6, 16], 45);
    let mem = input(&[2, 4, 16], 46);
    let mask = nn::MultiHeadAttention::create_additive_causal_mask(6, Dtype::Float32).unwrap();
    let options = nn::TransformerOptions {
        mlp_dims: Some(24),
        ..Default::default()
    };
    let enc = nn::TransformerEncoder::new(2, 16, 4, options).unwrap();
    let post = nn::TransformerOptions {
        norm_first: false,
        activation: nn::relu,
        ..options
    };
    let enc_post = nn::TransformerEncoder::new(1, 16, 4, post).unwrap();
    let dec = nn::TransformerDecoder::new(2, 16, 4, options).unwrap();
    let dec_post = nn::TransformerDecoder::new(1, 16, 2, post).unwrap();
    let y_enc = enc.forward(&x, Some(&mask)).unwrap();
    let y_enc_post = enc_post.forward(&x, None).unwrap();
    let y_dec = dec.forward(&x, &mem, Some(&mask), None).unwrap();
    let y_dec_post = dec_post.forward(&x, &mem, Some(&mask), None).unwrap();
    let full = nn::Transformer::new(16, 2, 1, 2, options).unwrap();
    let y_full = full.forward(&mem, &x, None, Some(&mask), None).unwrap();
    let mut inputs: Vec<(String, Array)> = Vec::new();
    for (prefix, tree) in [("e", &enc), ("ep", &enc_post)] {
        inputs.extend(named_params(tree, prefix));
    }
    for (prefix, tree) in [("d", &dec), ("dp", &dec_post)] {
        inputs.extend(named_params(tree, prefix));
    }
    inputs.extend(named_params(&full, "t"));
    let mut refs: Vec<(&str, &Array)> = inputs.iter().map(|(k, v)| (k.as_str(), v)).collect();
    refs.extend([("x", &x), ("mem", &mem), ("mask", &mask)]);
    let body = "e = load(nn.TransformerEncoder(2, 16, 4, mlp_dims=24), 'e')\n\
                ep = load(nn.TransformerEncoder(1, 16, 4, mlp_dims=24, norm_first=False), 'ep')\n\
                d = load(nn.TransformerDecoder(2, 16, 4, mlp_dims=24), 'd')\n\
                dp = load(nn.TransformerDecoder(1, 16, 2, mlp_dims=24, norm_first=False), 'dp')\n\
                x, mem, mask = inp['x'], inp['mem'], inp['mask']\n\
                out['enc'] = e(x, mask)\nout['enc_post'] = ep(x, None)\n\
                out['dec'] = d(x, mem, mask, None)\nout['dec_post'] = dp(x, mem, mask, None)\n\
                t = load(nn.Transformer(16, 2, 1, 2, mlp_dims=24), 't')\n\
                out['full'] = t(mem, x, None, mask, None)";
    if let Some(out) = python_mlx(body, &refs) {
        assert_arrays_close(&y_enc, &out["enc"], 1e-4, 1e-4);
        assert_arrays_close(&y_enc_post, &out["enc_post"], 1e-4, 1e-4);
        assert_arrays_close(&y_dec, &out["dec"], 1e-4, 1e-4);
        assert_arrays_close(&y_dec_post, &out["dec_post"], 1e-4, 1e-4);
        assert_arrays_close(&y_full, &out["full"], 1e-4, 1e-4);
    }
    // Causality: changing the last position does not change earlier outputs.
    let moved = mlx::ops::concatenate(
        &[
            mlx::ops::slice(&x, &[0, 0, 0], &[2, 5, 16], &[1, 1, 1]).unwrap(),
            input(&[2, 1, 16], 47),
        ],
        Some(1),
    )
    .unwrap();
    let y2 = enc.forward(&moved, Some(&mask)).unwrap();
    let head = |a: &Array| mlx::ops::slice(a, &[0, 0, 0], &[2, 5, 16], &[1, 1, 1]).unwrap();
    assert_arrays_close(&head(&y2), &head(&y_enc), 1e-5, 1e-5);
}

#[test]
fn positional_encodings_match_python() {
    let x = input(&[2, 3, 6, 8], 50);
    let rope = nn::RoPE::new(8);
    let trad = nn::RoPE::with_options(6, true, 500.0, 0.5);
    let y = rope.forward(&x).unwrap();
    let y_off = rope.forward_at(&x, 3).unwrap();
    let y_trad = trad.forward(&x).unwrap();
    let pos = input(&[4, 5], 51);
    let sin = nn::SinusoidalPositionalEncoding::new(8).unwrap();
    let sin2 = nn::SinusoidalPositionalEncoding::with_options(6, 1e-3, 2.0, Some(1.0), true, true)
        .unwrap();
    let scores = input(&[2, 5, 4, 6], 52);
    let alibi = nn::ALiBi::new();
    let y_sin = sin.forward(&pos).unwrap();
    let y_sin2 = sin2.forward(&pos).unwrap();
    let y_alibi = alibi.forward(&scores).unwrap();
    let y_alibi_off = alibi.forward_at(&scores, 2, None).unwrap();
    let body = "x = inp['x']\n\
                out['rope'] = nn.RoPE(8)(x)\nout['rope_off'] = nn.RoPE(8)(x, offset=3)\n\
                out['trad'] = nn.RoPE(6, traditional=True, base=500, scale=0.5)(x)\n\
                out['sin'] = nn.SinusoidalPositionalEncoding(8)(inp['pos'])\n\
                out['sin2'] = nn.SinusoidalPositionalEncoding(6, min_freq=1e-3, max_freq=2.0, scale=1.0, cos_first=True, full_turns=True)(inp['pos'])\n\
                out['alibi'] = nn.ALiBi()(inp['s'])\n\
                out['alibi_off'] = nn.ALiBi()(inp['s'], offset=2)";
    if let Some(out) = python_mlx(body, &[("x", &x), ("pos", &pos), ("s", &scores)]) {
        assert_arrays_close(&y, &out["rope"], 1e-5, 1e-5);
        assert_arrays_close(&y_off, &out["rope_off"], 1e-5, 1e-5);
        assert_arrays_close(&y_trad, &out["trad"], 1e-5, 1e-5);
        assert_arrays_close(&y_sin, &out["sin"], 1e-5, 1e-5);
        assert_arrays_close(&y_sin2, &out["sin2"], 1e-5, 1e-5);
        assert_arrays_close(&y_alibi, &out["alibi"], 1e-5, 1e-5);
        assert_arrays_close(&y_alibi_off, &out["alibi_off"], 1e-5, 1e-5);
    }
    // Closed forms: RoPE leaves position 0 unchanged; ALiBi slopes for 8 heads are 2^-1..2^-8.
    let first =
        |a: &Array| mlx::ops::slice(a, &[0, 0, 0, 0], &[2, 3, 1, 8], &[1, 1, 1, 1]).unwrap();
    assert_arrays_close(&first(&y), &first(&x), 1e-6, 1e-6);
    let slopes = values(&nn::ALiBi::slopes(8, Dtype::Float32).unwrap());
    let want: Vec<f64> = (1..=8).map(|i| 0.5f64.powi(i)).collect();
    assert_close(
        &nn::ALiBi::slopes(8, Dtype::Float32).unwrap(),
        &want,
        1e-6,
        0.0,
    );
    assert_eq!(slopes.len(), 8);
    assert!(nn::SinusoidalPositionalEncoding::new(5).is_err());
}

#[test]
fn recurrent_layers_match_python() {
    mlx::random::seed(42).unwrap();
    let x = input(&[2, 5, 3], 60);
    let h0 = input(&[2, 4], 61);
    let c0 = input(&[2, 4], 62);
    let rnn = nn::RNN::new(3, 4).unwrap();
    assert_eq!(rnn.param_names(), ["Wxh", "Whh", "bias"]);
    let rnn_relu = nn::RNN::with_options(3, 4, false, nn::relu).unwrap();
    let gru = nn::GRU::new(3, 4, true).unwrap();
    let gru_nb = nn::GRU::new(3, 4, false).unwrap();
    let lstm = nn::LSTM::new(3, 4, true).unwrap();
    let y_rnn = rnn.forward(&x).unwrap();
    let y_rnn_h = rnn.forward_with(&x, Some(&h0)).unwrap();
    let y_relu = rnn_relu.forward(&x).unwrap();
    let y_gru = gru.forward(&x).unwrap();
    let y_gru_h = gru.forward_with(&x, Some(&h0)).unwrap();
    let y_gru_nb = gru_nb.forward_with(&x, Some(&h0)).unwrap();
    let (lh, lc) = lstm.forward_with(&x, Some(&h0), Some(&c0)).unwrap();
    let y_lstm = lstm.forward(&x).unwrap();
    let mut params = Vec::new();
    params.extend(named_params(&rnn, "r"));
    params.extend(named_params(&rnn_relu, "rr"));
    params.extend(named_params(&gru, "g"));
    params.extend(named_params(&gru_nb, "gn"));
    params.extend(named_params(&lstm, "l"));
    let mut refs: Vec<(&str, &Array)> = params.iter().map(|(k, v)| (k.as_str(), v)).collect();
    refs.extend([("x", &x), ("h0", &h0), ("c0", &c0)]);
    let body = "x, h0, c0 = inp['x'], inp['h0'], inp['c0']\n\
                r = load(nn.RNN(3, 4), 'r')\nrr = load(nn.RNN(3, 4, bias=False, nonlinearity=nn.relu), 'rr')\n\
                g = load(nn.GRU(3, 4), 'g')\ngn = load(nn.GRU(3, 4, bias=False), 'gn')\nl = load(nn.LSTM(3, 4), 'l')\n\
                out['rnn'] = r(x)\nout['rnn_h'] = r(x, h0)\nout['relu'] = rr(x)\n\
                out['gru'] = g(x)\nout['gru_h'] = g(x, h0)\nout['gru_nb'] = gn(x, h0)\n\
                out['lh'], out['lc'] = l(x, h0, c0)\nout['lstm'] = l(x)[0]";
    if let Some(out) = python_mlx(body, &refs) {
        assert_arrays_close(&y_rnn, &out["rnn"], 1e-5, 1e-5);
        assert_arrays_close(&y_rnn_h, &out["rnn_h"], 1e-5, 1e-5);
        assert_arrays_close(&y_relu, &out["relu"], 1e-5, 1e-5);
        assert_arrays_close(&y_gru, &out["gru"], 1e-5, 1e-5);
        assert_arrays_close(&y_gru_h, &out["gru_h"], 1e-5, 1e-5);
        assert_arrays_close(&y_gru_nb, &out["gru_nb"], 1e-5, 1e-5);
        assert_arrays_close(&lh, &out["lh"], 1e-5, 1e-5);
        assert_arrays_close(&lc, &out["lc"], 1e-5, 1e-5);
        assert_arrays_close(&y_lstm, &out["lstm"], 1e-5, 1e-5);
    }
    // Closed form of the first RNN step: tanh(x_0 Wxhᵀ + b).
    let x0 = mlx::ops::take_index(&x, 0, Some(1)).unwrap();
    let want = (&x0.matmul(&rnn.wxh.t().unwrap()).unwrap() + rnn.bias.as_ref().unwrap())
        .tanh()
        .unwrap();
    let got = mlx::ops::take_index(&y_rnn, 0, Some(1)).unwrap();
    assert_arrays_close(&got, &want, 1e-6, 1e-6);
    assert!(nn::LSTM::new(0, 4, true).is_err());
}
