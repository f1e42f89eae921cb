//! Micro-benchmarks timed with criterion: the Internet checksum next to a byte-at-a-time
//! reference, and the wall-clock cost of one segment through the Endpoint layer for each
//! segcost case (`tcp_tests::bench::segcost`; `scripts/segcost-callgrind` counts the
//! instructions of the same cases). `cargo bench -p tcp-tests --bench micro`; under
//! `cargo test --all-targets` each benchmark runs once, as a test.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;
use tcp_core::wire::Checksum;
use tcp_tests::bench::segcost::{Case, run};

/// RFC 1071's sum one byte at a time: the reference the checksum is compared with.
fn bytewise(data: &[u8]) -> u16 {
    let mut sum = 0u32;
    for (i, &b) in data.iter().enumerate() {
        sum += if i % 2 == 0 {
            u32::from(b) << 8
        } else {
            u32::from(b)
        };
        sum = black_box(sum);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn ours(data: &[u8]) -> u16 {
    let mut c = Checksum::new();
    c.add_bytes(data);
    c.finish()
}

fn checksum(c: &mut Criterion) {
    let data: Vec<u8> = (0..1500u32).map(|i| (i * 7) as u8).collect();
    // The two agree (an odd length too), so the comparison is of equals.
    assert_eq!(ours(&data), bytewise(&data));
    assert_eq!(ours(&data[..1499]), bytewise(&data[..1499]));
    let mut g = c.benchmark_group("checksum");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("ours/1500", |b| b.iter(|| ours(black_box(&data))));
    g.bench_function("bytewise/1500", |b| b.iter(|| bytewise(black_box(&data))));
    g.finish();
}

fn segment(c: &mut Criterion) {
    let mut g = c.benchmark_group("segment");
    g.throughput(Throughput::Elements(1));
    g.measurement_time(Duration::from_secs(3));
    for case in Case::ALL {
        g.bench_function(BenchmarkId::from_parameter(case.name()), |b| {
            // `run` builds its fixture, then times exactly `iters` segments.
            b.iter_custom(|iters| {
                let r = run(case, iters.max(1));
                assert_eq!(r.segments, iters.max(1));
                Duration::from_nanos(u64::try_from(r.nanos).unwrap_or(u64::MAX))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, checksum, segment);
criterion_main!(benches);
