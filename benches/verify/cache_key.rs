//! `cache_key`: the two ways to key the verified-token cache on this token: SHA-256 of the
//! whole token, and the GMAC tag under a secret key that the crate uses.

use std::hint::black_box;

use criterion::Criterion;

use crate::fixture::fixture;

pub fn cache_key(c: &mut Criterion) {
    use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    use aws_lc_rs::digest::{SHA256, digest};
    let f = fixture();
    let token = f.token.as_bytes();
    let mut group = c.benchmark_group("cache_key");
    group.bench_function("sha256", |b| b.iter(|| digest(&SHA256, black_box(token))));
    let mac = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7; 32]).unwrap());
    group.bench_function("gmac", |b| {
        b.iter(|| {
            mac.seal_in_place_separate_tag(
                Nonce::assume_unique_for_key([9; 12]),
                Aad::from(black_box(token)),
                &mut [],
            )
            .unwrap()
        })
    });
    group.finish();
}
