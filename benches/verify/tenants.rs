//! `tenants`: cold and warm verification with 1 and 10,000 tenants registered.

use std::hint::black_box;

use criterion::Criterion;

use crate::fixture::{auth, fixture, now};

pub fn tenants(c: &mut Criterion) {
    let f = fixture();
    let mut group = c.benchmark_group("tenants");
    for extra in [0usize, 9_999] {
        let n = extra + 1;
        let warm = auth(&f, extra, 100_000);
        group.bench_function(format!("warm_{n}"), |b| {
            b.iter(|| now(warm.verify(black_box(&f.token))).unwrap())
        });
        let cold = auth(&f, extra, 0);
        group.bench_function(format!("cold_{n}"), |b| {
            b.iter(|| now(cold.verify(black_box(&f.token))).unwrap())
        });
    }
    group.finish();
}
