//! Stable 64-bit content fingerprints (FNV-1a) of records and datasets.

use crate::records::Record;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// Incremental 64-bit FNV-1a hash.
///
/// ```text
/// h ← 0xcbf29ce484222325;  for each byte b: h ← (h ⊕ b) · 0x100000001b3  (mod 2⁶⁴)
/// ```
///
/// # References
/// Fowler–Noll–Vo, IETF draft-eastlake-fnv.
#[derive(Debug, Clone)]
pub struct Fnv1a64 {
    hash: u64,
}

impl Default for Fnv1a64 {
    fn default() -> Self {
        Self { hash: FNV_OFFSET }
    }
}

impl Fnv1a64 {
    /// A fresh hasher.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.hash = (self.hash ^ u64::from(b)).wrapping_mul(FNV_PRIME);
        }
    }

    /// The hash so far.
    pub fn finish(&self) -> u64 {
        self.hash
    }
}

/// FNV-1a of one byte string.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h = Fnv1a64::new();
    h.update(bytes);
    h.finish()
}

/// Fingerprint of a dataset: FNV-1a over, for each record in order, its canonical JSON bytes
/// ([`Record::write_canonical`]) preceded by their length as a little-endian `u64`, after the
/// record kind name and the record count.
///
/// Any change of content, id, tags, metadata or order changes the fingerprint.
pub fn dataset_fingerprint<T: Record>(records: &[T]) -> u64 {
    let mut h = Fnv1a64::new();
    h.update(T::KIND.as_bytes());
    h.update(&(records.len() as u64).to_le_bytes());
    let mut buf = Vec::new();
    for r in records {
        buf.clear();
        r.write_canonical(&mut buf);
        h.update(&(buf.len() as u64).to_le_bytes());
        h.update(&buf);
    }
    h.finish()
}
