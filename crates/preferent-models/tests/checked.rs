//! The checked entry points: typed errors instead of panics on user data, and a tokenizer's
//! batches (through burn's `DataLoader`) fed to a model built for its vocabulary.

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataloader::DataLoaderBuilder;
use burn::module::AutodiffModule;
use burn::optim::{AdamWConfig, GradientsParams, Optimizer};
use burn::tensor::{Int, Tensor, TensorData};
use preferent_data::{
    ByteTokenizer, ChatMlTemplate, CollatorConfig, DataError, Encoder, PairBatch, PairCollator,
    PairRecord, PreferenceDataset, Tokenizer,
};
use preferent_models::{
    ByteLm, ByteLmConfig, Error, MlpClassifierConfig, MlpDenoiserConfig, RewardModelConfig,
    UNetConfig,
};
use preferent_testkit::{device, TestAutodiffBackend as AB, TestBackend as B};

fn tokens<Bk: burn::tensor::backend::Backend>(
    rows: &[&[i64]],
    d: &Bk::Device,
) -> Tensor<Bk, 2, Int> {
    let t = rows[0].len();
    let v: Vec<i64> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    Tensor::from_data(TensorData::new(v, [rows.len(), t]), d)
}

fn tiny(vocab: usize) -> ByteLm<B> {
    ByteLmConfig::tiny()
        .with_vocab_size(vocab)
        .with_n_layers(1)
        .init::<B>(&device())
        .unwrap()
}

#[test]
fn lm_loss_with_a_mask_of_length_t_is_a_shape_error() {
    let d = device();
    let lm = tiny(256);
    let x = tokens::<B>(&[&[50, 52, 49, 51, 61, 49, 50, 51, 52, 10]], &d);
    // The classic off-by-one: the mask must be [1, 9] (position i scores token i + 1).
    let err = lm
        .lm_loss(x.clone(), Tensor::<B, 2>::ones([1, 10], &d))
        .expect_err("a [1, 10] mask must be rejected");
    assert!(
        matches!(&err, Error::Shape { what: "loss_mask", got, .. } if got == &vec![1, 10]),
        "{err}"
    );
    assert!(err.to_string().contains("[1, 9]"), "{err}");
    let ok = lm.lm_loss(x, Tensor::<B, 2>::ones([1, 9], &d)).unwrap();
    assert!(ok.into_scalar().is_finite());
}

#[test]
fn a_single_token_cannot_be_scored_but_can_be_run() {
    let d = device();
    let lm = tiny(256);
    let one = tokens::<B>(&[&[7], &[9]], &d);
    assert!(
        matches!(
            lm.check_tokens(&one),
            Err(Error::Shape { what: "tokens", .. })
        ),
        "T = 1 has nothing to score"
    );
    assert!(matches!(
        lm.try_token_log_probs(one.clone()),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(
        lm.lm_loss(one.clone(), Tensor::<B, 2>::ones([2, 0], &d)),
        Err(Error::Shape { .. })
    ));
    assert_eq!(lm.try_forward(one).unwrap().dims(), [2, 1, 256]);
    let two = tokens::<B>(&[&[7, 8]], &d);
    assert!(lm.check_tokens(&two).is_ok());
    assert_eq!(lm.try_token_log_probs(two).unwrap().dims(), [1, 1]);
    // Too long, and an empty batch.
    let long = Tensor::<B, 2, Int>::zeros([1, 33], &d);
    assert!(matches!(lm.try_forward(long), Err(Error::Shape { .. })));
    let empty = Tensor::<B, 2, Int>::zeros([0, 4], &d);
    assert!(matches!(lm.try_forward(empty), Err(Error::Shape { .. })));
}

#[test]
fn out_of_vocabulary_ids_are_named_not_panicked_on() {
    let d = device();
    let lm = tiny(256);
    let x = tokens::<B>(&[&[1, 2, 3], &[4, 256, 5]], &d);
    let err = lm
        .try_forward(x.clone())
        .expect_err("id 256 is outside 0..256");
    assert!(
        matches!(
            err,
            Error::TokenOutOfRange {
                id: 256,
                row: 1,
                position: 1,
                vocab_size: 256
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("token id 256"), "{err}");
    assert!(matches!(
        lm.try_token_log_probs(x.clone()),
        Err(Error::TokenOutOfRange { .. })
    ));
    assert!(matches!(
        lm.lm_loss(x, Tensor::<B, 2>::ones([2, 2], &d)),
        Err(Error::TokenOutOfRange { .. })
    ));
    let neg = tokens::<B>(&[&[1, -1]], &d);
    assert!(matches!(
        lm.try_hidden(neg),
        Err(Error::TokenOutOfRange { id: -1, .. })
    ));
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0);
    assert!(matches!(
        lm.generate(&[vec![1, 300]], 2, 0.0, None, &mut rng, &d),
        Err(Error::TokenOutOfRange {
            id: 300,
            row: 0,
            position: 1,
            ..
        })
    ));
}

fn pair_records() -> Vec<PairRecord> {
    (0..8)
        .map(|i| {
            let a = i % 5;
            PairRecord::new(
                format!("{a}+1="),
                format!("{}", a + 1),
                format!("{}", (a + 3) % 10),
            )
        })
        .collect()
}

fn byte_collator() -> PairCollator<ByteTokenizer, ChatMlTemplate> {
    PairCollator::new(
        Encoder::new(ByteTokenizer::default(), ChatMlTemplate),
        CollatorConfig::new(),
    )
}

/// The completion mask shifted to score positions: `mask[r, i] = completion[r, i + 1]`.
fn score_mask<Bk: burn::tensor::backend::Backend>(batch: &PairBatch<Bk>) -> Tensor<Bk, 2> {
    let [rows, t] = batch.completion_mask.dims();
    batch.completion_mask.clone().slice([0..rows, 1..t]).float()
}

#[test]
fn a_byte_tokenizer_batch_needs_a_model_built_for_its_vocabulary() {
    let d = device();
    let collator = byte_collator();
    let batch: PairBatch<B> =
        Batcher::<B, PairRecord, _>::batch(&collator, pair_records(), &d).unwrap();
    // BOS = 256 opens every row: a default 256-entry model names it instead of panicking.
    let err = tiny(256)
        .try_forward(batch.input_ids.clone())
        .expect_err("BOS/EOS/PAD lie outside a 256-entry embedding");
    assert!(
        matches!(err, Error::TokenOutOfRange { id, vocab_size: 256, .. } if id >= 256),
        "{err}"
    );
    // Built from the tokenizer's vocabulary, the same batch runs.
    let vocab = collator.encoder.tokenizer.vocab_size();
    assert_eq!(ByteLmConfig::for_vocab(vocab).vocab_size, 259);
    let lm = tiny(vocab);
    let logits = lm.try_forward(batch.input_ids.clone()).unwrap();
    assert_eq!(logits.dims()[2], 259);
    let loss = lm
        .lm_loss(batch.input_ids.clone(), score_mask(&batch))
        .unwrap();
    assert!(loss.into_scalar().is_finite());
}

#[test]
fn trains_through_burns_data_loader_with_workers_and_shuffling() {
    let d = device();
    let collator = byte_collator();
    let vocab = collator.encoder.tokenizer.vocab_size();
    let records = pair_records();
    let loader = DataLoaderBuilder::<AB, PairRecord, Result<PairBatch<AB>, DataError>>::new(
        collator.clone(),
    )
    .batch_size(2)
    .shuffle(7)
    .num_workers(2)
    .build(PreferenceDataset::new(records.clone()));

    let full: PairBatch<AB> = Batcher::<AB, PairRecord, _>::batch(&collator, records, &d).unwrap();
    let eval = |lm: &ByteLm<AB>| -> f32 {
        lm.valid()
            .lm_loss(full.input_ids.clone().inner(), score_mask(&full).inner())
            .unwrap()
            .into_scalar()
    };
    let mut lm = ByteLmConfig::tiny()
        .with_vocab_size(vocab)
        .with_n_layers(1)
        .init::<AB>(&d)
        .unwrap();
    let mut optim = AdamWConfig::new().init();
    let before = eval(&lm);
    let mut steps = 0;
    for _epoch in 0..3 {
        let mut pairs = 0;
        for batch in loader.iter() {
            let batch = batch.expect("every record collates");
            pairs += batch.num_pairs;
            let loss = lm
                .lm_loss(batch.input_ids.clone(), score_mask(&batch))
                .unwrap();
            let grads = GradientsParams::from_grads(loss.backward(), &lm);
            lm = optim.step(1e-2, lm, grads);
            steps += 1;
        }
        assert_eq!(pairs, 8, "each epoch sees every pair once");
    }
    assert_eq!(steps, 12);
    let after = eval(&lm);
    assert!(after < before, "loss {before} -> {after}");
}

#[test]
fn reward_model_checks_lengths_and_tokens() {
    let d = device();
    let rm = RewardModelConfig::new(ByteLmConfig::tiny().with_n_layers(1))
        .init::<B>(&d)
        .unwrap();
    let x = tokens::<B>(&[&[1, 2, 3], &[4, 5, 6]], &d);
    let len =
        |v: Vec<i64>| Tensor::<B, 1, Int>::from_data(TensorData::new(v.clone(), [v.len()]), &d);
    assert_eq!(
        rm.try_forward(x.clone(), len(vec![3, 1])).unwrap().dims(),
        [2]
    );
    for bad in [vec![0, 2], vec![4, 2]] {
        assert!(matches!(
            rm.try_forward(x.clone(), len(bad)),
            Err(Error::Sequence(_))
        ));
    }
    assert!(matches!(
        rm.try_forward(x.clone(), len(vec![3])),
        Err(Error::Shape {
            what: "lengths",
            ..
        })
    ));
    let oov = tokens::<B>(&[&[1, 999]], &d);
    assert!(matches!(
        rm.try_forward(oov, len(vec![2])),
        Err(Error::TokenOutOfRange { id: 999, .. })
    ));
}

#[test]
fn denoisers_and_classifier_reject_wrong_shapes() {
    let d = device();
    let mlp = MlpDenoiserConfig::new(3)
        .with_hidden(8)
        .init::<B>(&d)
        .unwrap();
    let t = Tensor::<B, 1>::zeros([4], &d);
    assert_eq!(
        mlp.try_forward(Tensor::zeros([4, 3], &d), t.clone())
            .unwrap()
            .dims(),
        [4, 3]
    );
    assert!(matches!(
        mlp.try_forward(Tensor::zeros([4, 2], &d), t.clone()),
        Err(Error::Shape { what: "x", .. })
    ));
    assert!(matches!(
        mlp.try_forward(Tensor::zeros([4, 3], &d), Tensor::zeros([3], &d)),
        Err(Error::Shape { what: "t", .. })
    ));

    let clf = MlpClassifierConfig::new(5).init::<B>(&d).unwrap();
    assert_eq!(
        clf.try_forward(Tensor::zeros([2, 5], &d)).unwrap().dims(),
        [2, 10]
    );
    assert!(matches!(
        clf.try_forward(Tensor::zeros([2, 4], &d)),
        Err(Error::Shape { what: "x", .. })
    ));
    assert!(matches!(
        clf.try_features(Tensor::zeros([2, 6], &d)),
        Err(Error::Shape { what: "x", .. })
    ));

    let unet = UNetConfig::new()
        .with_base_channels(8)
        .with_groups(4)
        .with_time_dim(8)
        .with_context_dim(Some(5))
        .init::<B>(&d)
        .unwrap();
    let t2 = Tensor::<B, 1>::zeros([2], &d);
    let x = || Tensor::<B, 4>::zeros([2, 1, 8, 8], &d);
    let ctx = |b: usize, w: usize| Some(Tensor::<B, 3>::zeros([b, 3, w], &d));
    assert_eq!(
        unet.try_forward(x(), t2.clone(), ctx(2, 5)).unwrap().dims(),
        [2, 1, 8, 8]
    );
    assert!(matches!(
        unet.try_forward(Tensor::zeros([2, 3, 8, 8], &d), t2.clone(), ctx(2, 5)),
        Err(Error::Shape { what: "x", .. })
    ));
    assert!(matches!(
        unet.try_forward(x(), t2.clone(), ctx(2, 4)),
        Err(Error::Shape {
            what: "context",
            ..
        })
    ));
    assert!(matches!(
        unet.try_forward(x(), t2, ctx(1, 5)),
        Err(Error::Shape {
            what: "context",
            ..
        })
    ));
}

#[test]
fn bradley_terry_and_generate_reject_bad_arguments() {
    use preferent_models::try_bradley_terry_loss;
    let d = device();
    let r = |n: usize| Tensor::<B, 1>::zeros([n], &d);
    let ln2 = try_bradley_terry_loss(r(3), r(3)).unwrap().into_scalar();
    assert!((ln2 - std::f32::consts::LN_2).abs() < 1e-6);
    use preferent_losses::LossError;
    assert!(matches!(
        try_bradley_terry_loss(r(3), r(2)),
        Err(Error::Loss(LossError::ShapeMismatch {
            name: "rewards_rejected",
            ..
        }))
    ));
    assert!(matches!(
        try_bradley_terry_loss(r(0), r(0)),
        Err(Error::Loss(LossError::EmptyBatch { .. }))
    ));
    let lm = tiny(256);
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0);
    assert!(matches!(
        lm.generate(&[vec![1, 2]], 2, f64::NAN, None, &mut rng, &d),
        Err(Error::InvalidConfig {
            field: "temperature",
            ..
        })
    ));
    assert_eq!(
        lm.generate(&[vec![1, 2]], 2, 0.0, None, &mut rng, &d)
            .unwrap()[0]
            .len(),
        2
    );
}
