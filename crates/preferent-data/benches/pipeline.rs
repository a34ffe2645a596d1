//! Run with: cargo bench -p preferent-data --bench pipeline
//!
//! Throughput of parse (JSONL) + tokenise (byte-level) + collate (host `[2B, T]` batches of 64)
//! on a generated file of pairs: 10k pairs by default, 100k with `PREFERENT_BENCH_FULL=1`.
//! Criterion reports elements (pairs) per second.

// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use preferent_data::{
    ByteTokenizer, ChatMlTemplate, CollatorConfig, Encoder, JsonlReader, JsonlReaderConfig,
    PairCollator, PairRecord,
};

fn generate(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n * 260);
    for i in 0..n {
        out.extend_from_slice(
            format!(
                "{{\"id\": \"{i}\", \"prompt\": \"Question {i}: explain why the sky looks blue at noon but red at dusk.\", \
                 \"chosen\": \"Rayleigh scattering favours short wavelengths; at dusk light crosses more air ({i}).\", \
                 \"rejected\": \"Because the ocean reflects onto the sky, which is a common misconception #{i}.\", \
                 \"tags\": {{\"topic\": \"physics\"}}}}\n"
            )
            .as_bytes(),
        );
    }
    out
}

fn pipeline(data: &[u8], collator: &PairCollator<ByteTokenizer, ChatMlTemplate>) -> usize {
    let reader = JsonlReader::<_, PairRecord>::new(data, "bench", JsonlReaderConfig::new());
    let mut batch = Vec::with_capacity(64);
    let mut rows = 0;
    for rec in reader {
        batch.push(
            collator
                .encoder
                .pair(&rec.expect("generated records are valid"))
                .expect("the byte tokenizer never fails"),
        );
        if batch.len() == 64 {
            rows += collator.collate_encoded(&batch).unwrap().sequences.rows;
            batch.clear();
        }
    }
    if !batch.is_empty() {
        rows += collator.collate_encoded(&batch).unwrap().sequences.rows;
    }
    rows
}

fn bench(c: &mut Criterion) {
    let n = if std::env::var("PREFERENT_BENCH_FULL").as_deref() == Ok("1") {
        100_000
    } else {
        10_000
    };
    let data = generate(n);
    let collator = PairCollator::new(
        Encoder::new(ByteTokenizer::default(), ChatMlTemplate),
        CollatorConfig::new(),
    );
    let mut group = c.benchmark_group("pairs");
    group.sample_size(10);
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function(format!("parse_tokenise_collate/{n}"), |b| {
        b.iter(|| pipeline(&data, &collator))
    });
    group.bench_function(format!("parse_only/{n}"), |b| {
        b.iter(|| {
            JsonlReader::<_, PairRecord>::new(&data[..], "bench", JsonlReaderConfig::new()).count()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
