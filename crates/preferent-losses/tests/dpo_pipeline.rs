//! End to end: causal-LM logits → shift → chunked sequence log-probs → DPO loss → gradients on
//! the logits, on the test lane's backend.

use burn::tensor::{Bool, Int, Tensor, TensorData};
use preferent_losses::logprobs::{sequence_logprobs_chunked, shift_for_next_token};
use preferent_losses::pairwise::{dpo_loss, DpoConfig, DpoLossType, PairwiseBatch};
use preferent_testkit::{assert_close, device, tensor, to_vec, TestAutodiffBackend};

type B = TestAutodiffBackend;

/// Rows 0..2 are chosen, rows 2..4 rejected (TRL's concatenated layout); T = 5, V = 7.
fn inputs() -> (Tensor<B, 3>, Tensor<B, 2, Int>, Tensor<B, 2, Bool>) {
    let d = device();
    let logits: Vec<f64> = (0..4 * 5 * 7)
        .map(|i| ((i * 37 % 23) as f64 - 11.0) / 4.0)
        .collect();
    let ids: Vec<i64> = (0..20).map(|i| (i * 3 % 7) as i64).collect();
    // prompt = first two tokens; one rejected row has a padded last token
    let mask: Vec<bool> = (0..20)
        .map(|i| i % 5 >= 2 && !(i / 5 == 3 && i % 5 == 4))
        .collect();
    (
        tensor::<B, 3>(&logits, [4, 5, 7], &d),
        Tensor::from_data(TensorData::new(ids, [4, 5]), &d),
        Tensor::from_data(TensorData::new(mask, [4, 5]), &d),
    )
}

fn sequence_sums(logits: Tensor<B, 3>) -> (Tensor<B, 1>, Tensor<B, 1>, Tensor<B, 1>, Tensor<B, 1>) {
    let (_, ids, mask) = inputs();
    let a = shift_for_next_token(logits, ids, mask).expect("aligned");
    let lp = sequence_logprobs_chunked(a.scores, a.labels, a.mask, 3).expect("valid");
    (
        lp.sum.clone().narrow(0, 0, 2),
        lp.sum.narrow(0, 2, 2),
        lp.token_counts.clone().narrow(0, 0, 2),
        lp.token_counts.narrow(0, 2, 2),
    )
}

#[test]
fn policy_equal_to_reference_gives_ln2_and_gradients_reach_the_logits() {
    let (logits, _, _) = inputs();
    let policy = logits.clone().require_grad();
    let (pc, pr, lw, ll) = sequence_sums(policy.clone());
    let (rc, rr, _, _) = sequence_sums(logits.detach());
    assert_close(&to_vec(lw.clone()), &[3.0, 3.0], 0.0, 0.0);
    assert_close(&to_vec(ll.clone()), &[3.0, 2.0], 0.0, 0.0);
    let batch = PairwiseBatch::new(pc, pr, rc, rr).with_lengths(lw, ll);
    let config = DpoConfig::new().with_loss_types(vec![DpoLossType::Sigmoid, DpoLossType::Ipo]);
    let out = dpo_loss(&config, batch).expect("valid");
    // sigmoid term = ln 2 and IPO term = (0 − 1/(2β))² = 25 at zero margin
    let terms: Vec<f64> = out.metrics.read().loss_terms.iter().map(|t| t.1).collect();
    assert_close(&terms, &[std::f64::consts::LN_2, 25.0], 1e-6, 1e-6);
    assert_eq!(out.metrics.read().rewards_accuracies, 0.0);
    let grads = out.loss.backward();
    let g = to_vec(policy.grad(&grads).expect("gradient reaches the logits"));
    assert_eq!(g.len(), 4 * 5 * 7);
    // prompt positions (the score at t = 0 predicts prompt token 1) get no gradient
    assert!(g[..7].iter().all(|x| *x == 0.0));
    // completion positions do, and each position's gradient sums to 0 over the vocabulary
    let row: f64 = g[7..14].iter().sum();
    assert!(g[7..14].iter().any(|x| x.abs() > 1e-4));
    assert!(
        row.abs() < 1e-5,
        "softmax gradient rows sum to zero, got {row}"
    );
}
