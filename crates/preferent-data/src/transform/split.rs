//! Seeded train/test split.

use crate::error::DataError;
use crate::rng::SplitMix64;

/// Splits `records` into `(train, test)` with `round(n · test_fraction)` test records.
///
/// ```text
/// perm = SplitMix64(seed).shuffle(0..n);  test = perm[..n_test];  train = the rest
/// ```
/// Both parts keep the input order. Deterministic for a given seed.
pub fn train_test_split<T>(
    records: Vec<T>,
    test_fraction: f64,
    seed: u64,
) -> Result<(Vec<T>, Vec<T>), DataError> {
    if !(0.0..=1.0).contains(&test_fraction) {
        return Err(DataError::InvalidConfig(format!(
            "test fraction must be in [0, 1], got {test_fraction}"
        )));
    }
    let n = records.len();
    let n_test = ((n as f64) * test_fraction).round() as usize;
    let mut perm: Vec<usize> = (0..n).collect();
    SplitMix64::new(seed).shuffle(&mut perm);
    let mut is_test = vec![false; n];
    for &i in &perm[..n_test] {
        is_test[i] = true;
    }
    let (mut train, mut test) = (Vec::with_capacity(n - n_test), Vec::with_capacity(n_test));
    for (r, t) in records.into_iter().zip(is_test) {
        if t {
            test.push(r);
        } else {
            train.push(r);
        }
    }
    Ok((train, test))
}
