//! Shape, causality, determinism and tiny-overfit tests of the reference networks.

use burn::module::{AutodiffModule, Module};
use burn::optim::{AdamWConfig, GradientsParams, Optimizer};
use burn::tensor::{Int, Tensor, TensorData};
use preferent_models::{
    bradley_terry_loss, ByteLmConfig, MlpClassifierConfig, MlpDenoiserConfig, RewardModelConfig,
    UNetConfig,
};
use preferent_testkit::{
    assert_close, device, tensor, to_vec, TestAutodiffBackend as AB, TestBackend as B,
};
use rand::SeedableRng;

fn tokens<Bk: burn::tensor::backend::Backend>(
    rows: &[&[u8]],
    d: &Bk::Device,
) -> Tensor<Bk, 2, Int> {
    let t = rows[0].len();
    let v: Vec<i64> = rows
        .iter()
        .flat_map(|r| r.iter().map(|&x| x as i64))
        .collect();
    Tensor::from_data(TensorData::new(v, [rows.len(), t]), d)
}

/// Runs `steps` AdamW steps on a fixed loss and returns (first loss, last loss).
fn overfit<M: AutodiffModule<AB>>(
    mut model: M,
    steps: usize,
    lr: f64,
    loss: impl Fn(&M) -> Tensor<AB, 1>,
) -> (f64, f64) {
    let mut optim = AdamWConfig::new().with_weight_decay(0.0).init();
    let first = to_vec(loss(&model))[0];
    for _ in 0..steps {
        let grads = GradientsParams::from_grads(loss(&model).backward(), &model);
        model = optim.step(lr, model, grads);
    }
    (first, to_vec(loss(&model))[0])
}

#[test]
fn lm_shapes_and_log_probs_match_log_softmax() {
    let d = device();
    let lm = ByteLmConfig::tiny().init::<B>(&d).unwrap();
    let x = tokens::<B>(&[b"3142=1234\n", b"hello wor\n"], &d);
    let logits = lm.forward(x.clone());
    assert_eq!(logits.dims(), [2, 10, 256]);
    let lp = lm.token_log_probs(x.clone());
    assert_eq!(lp.dims(), [2, 9]);
    // Host reference: log_softmax of the logits, read at the next token.
    let l = to_vec(logits);
    let toks: Vec<u8> = [b"3142=1234\n".as_slice(), b"hello wor\n"].concat();
    let mut expected = Vec::new();
    for b in 0..2 {
        for i in 0..9 {
            let row = &l[(b * 10 + i) * 256..(b * 10 + i + 1) * 256];
            let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let lse = m + row.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
            expected.push(row[toks[b * 10 + i + 1] as usize] - lse);
        }
    }
    assert_close(&to_vec(lp), &expected, 1e-4, 1e-4);
}

#[test]
fn lm_is_causal() {
    let d = device();
    let lm = ByteLmConfig::tiny().init::<B>(&d).unwrap();
    let a = to_vec(lm.forward(tokens::<B>(&[b"12345678"], &d)));
    let b = to_vec(lm.forward(tokens::<B>(&[b"12349999"], &d)));
    // Positions 0..=3 see only "1234" in both sequences.
    assert_close(&b[..4 * 256], &a[..4 * 256], 1e-5, 1e-5);
    // Position 4 sees the change, so the test can fail.
    let diff: f64 = a[4 * 256..5 * 256]
        .iter()
        .zip(&b[4 * 256..5 * 256])
        .map(|(x, y)| (x - y).abs())
        .sum();
    assert!(diff > 1e-3, "logits at the changed position did not move");
}

#[test]
fn lm_forward_is_deterministic_and_survives_a_record_round_trip() {
    let d = device();
    let lm = ByteLmConfig::tiny().init::<B>(&d).unwrap();
    let x = tokens::<B>(&[b"0123456789"], &d);
    let a = to_vec(lm.forward(x.clone()));
    assert_eq!(a, to_vec(lm.forward(x.clone())));
    let other = ByteLmConfig::tiny().init::<B>(&d).unwrap();
    assert_ne!(
        a,
        to_vec(other.forward(x.clone())),
        "fresh init should differ"
    );
    let copy = other.load_record(lm.clone().into_record());
    assert_eq!(a, to_vec(copy.forward(x)));
}

#[test]
fn lm_rejects_bad_input_and_bad_config() {
    let d = device();
    let lm = ByteLmConfig::tiny()
        .with_vocab_size(16)
        .init::<B>(&d)
        .unwrap();
    assert!(lm.check_tokens(&tokens::<B>(&[&[1, 2, 3]], &d)).is_ok());
    assert!(lm.check_tokens(&tokens::<B>(&[&[1, 200, 3]], &d)).is_err());
    assert!(lm.check_tokens(&tokens::<B>(&[&[1u8; 40]], &d)).is_err());
    assert!(ByteLmConfig::tiny().with_n_heads(3).init::<B>(&d).is_err());
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    assert!(lm
        .generate(&[vec![1, 2], vec![1]], 3, 1.0, None, &mut rng, &d)
        .is_err());
    assert!(lm
        .generate(&[vec![1, 2]], 40, 1.0, None, &mut rng, &d)
        .is_err());
}

#[test]
fn lm_parameter_count_matches_architecture() {
    // Hand count for the tiny config (V=256, d=64, L=2, ff=256, ctx=32):
    // embeddings 256·64 + 32·64; per block: 4 attention linears 4·(64·64+64), two LayerNorms 2·128,
    // FFN 64·256+256 + 256·64+64; final LayerNorm 128; head 64·256 (no bias).
    let per_block = 4 * (64 * 64 + 64) + 2 * 128 + (64 * 256 + 256) + (256 * 64 + 64);
    let expected = 256 * 64 + 32 * 64 + 2 * per_block + 128 + 64 * 256;
    let lm = ByteLmConfig::tiny().init::<B>(&device()).unwrap();
    assert_eq!(lm.num_params(), expected);
}

#[test]
fn lm_greedy_generation_is_deterministic_and_stops() {
    let d = device();
    let lm = ByteLmConfig::tiny().init::<B>(&d).unwrap();
    let prompts = vec![b"12=".iter().map(|&b| b as u32).collect::<Vec<_>>(); 3];
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let a = lm
        .generate(&prompts, 6, 0.0, Some(10), &mut rng, &d)
        .unwrap();
    let b = lm
        .generate(&prompts, 6, 0.0, Some(10), &mut rng, &d)
        .unwrap();
    assert_eq!(a, b);
    assert!(a.iter().all(|c| !c.is_empty() && c.len() <= 6));
    assert_eq!(a[0], a[1]);
}

#[test]
fn lm_overfits_a_fixed_batch() {
    let d = device();
    let lm = ByteLmConfig::tiny()
        .with_n_layers(1)
        .init::<AB>(&d)
        .unwrap();
    let x = tokens::<AB>(&[b"3142=1234\n", b"9071=0179\n"], &d);
    let mask = Tensor::<AB, 2>::ones([2, 9], &d);
    let (first, last) = overfit(lm, 30, 3e-3, |m| {
        m.lm_loss(x.clone(), mask.clone()).unwrap()
    });
    assert!(last < 0.5 * first, "loss {first} -> {last}");
}

#[test]
fn reward_reads_the_last_real_token_and_bt_loss_is_ln2_at_ties() {
    let d = device();
    let rm = RewardModelConfig::new(ByteLmConfig::tiny())
        .init::<B>(&d)
        .unwrap();
    let len = Tensor::<B, 1, Int>::from_data(TensorData::new(vec![4i64, 6], [2]), &d);
    let r1 = to_vec(rm.forward(tokens::<B>(&[b"1234\0\0\0", b"123456\0"], &d), len.clone()));
    let r2 = to_vec(rm.forward(tokens::<B>(&[b"1234zzz", b"123456y"], &d), len));
    assert_eq!(r1.len(), 2);
    assert_close(&r2, &r1, 1e-5, 1e-5);
    let r = tensor::<B, 1>(&[0.3, -1.0], [2], &d);
    assert_close(
        &to_vec(bradley_terry_loss(r.clone(), r)),
        &[std::f64::consts::LN_2],
        1e-6,
        1e-6,
    );
}

#[test]
fn bradley_terry_loss_matches_numpy() {
    // python3: import numpy as np; c=np.array([1.5,-0.2,3.0]); r=np.array([0.5,0.4,-2.0])
    // print(np.mean(np.logaddexp(0, -(c-r))))
    let d = device();
    let c = tensor::<B, 1>(&[1.5, -0.2, 3.0], [3], &d);
    let r = tensor::<B, 1>(&[0.5, 0.4, -2.0], [3], &d);
    assert_close(
        &to_vec(bradley_terry_loss(c, r)),
        &[0.4524883288310755],
        1e-5,
        1e-6,
    );
}

#[test]
fn reward_model_learns_a_preference() {
    let d = device();
    let rm = RewardModelConfig::new(ByteLmConfig::tiny().with_n_layers(1))
        .init::<AB>(&d)
        .unwrap();
    let chosen = tokens::<AB>(&[b"12=12", b"31=13"], &d);
    let rejected = tokens::<AB>(&[b"12=21", b"31=31"], &d);
    let len = Tensor::<AB, 1, Int>::full([2], 5, &d);
    let (first, last) = overfit(rm, 20, 3e-3, |m| {
        bradley_terry_loss(
            m.forward(chosen.clone(), len.clone()),
            m.forward(rejected.clone(), len.clone()),
        )
    });
    assert!(last < 0.5 * first, "loss {first} -> {last}");
}

#[test]
fn mlp_denoiser_shapes_time_dependence_and_overfit() {
    let d = device();
    let net = MlpDenoiserConfig::new(2)
        .with_hidden(32)
        .init::<AB>(&d)
        .unwrap();
    let x = tensor::<AB, 2>(&[0.5, -1.0, 2.0, 0.1, -0.3, 0.7, 1.1, 1.2], [4, 2], &d);
    let t = tensor::<AB, 1>(&[0.0, 10.0, 500.0, 999.0], [4], &d);
    let t2 = tensor::<AB, 1>(&[1.0, 10.0, 500.0, 999.0], [4], &d);
    let y = net.forward(x.clone(), t.clone());
    assert_eq!(y.dims(), [4, 2]);
    let (a, b) = (to_vec(y), to_vec(net.forward(x.clone(), t2)));
    assert_ne!(a[..2], b[..2], "output must depend on t");
    assert_close(&a[2..], &b[2..], 1e-6, 1e-6);
    let target = tensor::<AB, 2>(&[1.0, 0.0, -1.0, 0.5, 0.2, 0.2, -0.4, 0.9], [4, 2], &d);
    let (first, last) = overfit(net, 40, 1e-2, |m| {
        (m.forward(x.clone(), t.clone()) - target.clone())
            .powi_scalar(2)
            .mean()
    });
    assert!(last < 0.1 * first, "loss {first} -> {last}");
    assert!(MlpDenoiserConfig::new(0).init::<B>(&d).is_err());
}

#[test]
fn unet_shapes_conditioning_and_errors() {
    let d = device();
    let x8 = Tensor::<B, 4>::zeros([2, 1, 8, 8], &d) + 0.3;
    let x16 = Tensor::<B, 4>::zeros([1, 1, 16, 16], &d) - 0.2;
    let t = tensor::<B, 1>(&[3.0, 40.0], [2], &d);
    let plain = UNetConfig::new()
        .with_base_channels(8)
        .with_groups(4)
        .init::<B>(&d)
        .unwrap();
    assert_eq!(
        plain.forward(x8.clone(), t.clone(), None).dims(),
        [2, 1, 8, 8]
    );
    assert_eq!(
        plain
            .forward(x16.clone(), tensor::<B, 1>(&[5.0], [1], &d), None)
            .dims(),
        [1, 1, 16, 16]
    );
    let cond = UNetConfig::new()
        .with_base_channels(8)
        .with_groups(4)
        .with_context_dim(Some(6))
        .with_n_heads(2)
        .init::<B>(&d)
        .unwrap();
    let c1 = Tensor::<B, 3>::zeros([2, 3, 6], &d);
    let c2 = Tensor::<B, 3>::ones([2, 3, 6], &d);
    let y1 = to_vec(
        cond.try_forward(x8.clone(), t.clone(), Some(c1.clone()))
            .unwrap(),
    );
    let y2 = to_vec(cond.forward(x8.clone(), t.clone(), Some(c2)));
    assert_eq!(y1.len(), 128);
    assert!(
        y1.iter().zip(&y2).any(|(a, b)| (a - b).abs() > 1e-4),
        "context must matter"
    );
    assert!(cond.try_forward(x8.clone(), t.clone(), None).is_err());
    assert!(plain.try_forward(x8.clone(), t.clone(), Some(c1)).is_err());
    let odd = Tensor::<B, 4>::zeros([2, 1, 7, 7], &d);
    assert!(plain.try_forward(odd, t, None).is_err());
    assert!(UNetConfig::new()
        .with_base_channels(10)
        .with_groups(4)
        .init::<B>(&d)
        .is_err());
}

#[test]
fn unet_overfits_one_batch() {
    let d = device();
    let net = UNetConfig::new()
        .with_base_channels(8)
        .with_groups(4)
        .init::<AB>(&d)
        .unwrap();
    let vals: Vec<f64> = (0..128)
        .map(|i| ((i * 7 % 13) as f64 / 6.0) - 1.0)
        .collect();
    let x = tensor::<AB, 4>(&vals, [2, 1, 8, 8], &d);
    let t = tensor::<AB, 1>(&[3.0, 40.0], [2], &d);
    let target = x.clone().flip([3]);
    let (first, last) = overfit(net, 25, 1e-2, |m| {
        (m.forward(x.clone(), t.clone(), None) - target.clone())
            .powi_scalar(2)
            .mean()
    });
    assert!(last < 0.5 * first, "loss {first} -> {last}");
}

#[test]
fn classifier_shapes_and_overfit() {
    let d = device();
    let clf = MlpClassifierConfig::new(4)
        .with_classes(3)
        .with_hidden(16)
        .with_features(8)
        .init::<AB>(&d)
        .unwrap();
    let x = tensor::<AB, 2>(
        &[1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0],
        [3, 4],
        &d,
    );
    assert_eq!(clf.features(x.clone()).dims(), [3, 8]);
    let y = Tensor::<AB, 1, Int>::from_data(TensorData::new(vec![0i64, 1, 2], [3]), &d);
    let loss = burn::nn::loss::CrossEntropyLossConfig::new().init(&d);
    let (first, last) = overfit(clf, 80, 1e-2, |m| {
        loss.forward(m.forward(x.clone()), y.clone())
    });
    assert!(last < 0.3 * first, "loss {first} -> {last}");
}
