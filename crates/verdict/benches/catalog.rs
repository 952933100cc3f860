//! Catalog lookups: (contract, api, code) to an entry.
//!
//! Run with `cargo bench -p verdict --bench catalog`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use http::Method;
use verdict::Catalog;

fn lookups(c: &mut Criterion) {
    let catalog = Catalog::builtin();
    let mut g = c.benchmark_group("catalog");
    g.bench_function("status (webex, 429)", |b| {
        b.iter(|| {
            catalog
                .get(black_box("webex"))
                .and_then(|w| w.status(black_box(429)))
        })
    });
    g.bench_function("action for method (ringcentral, 404, DELETE)", |b| {
        b.iter(|| {
            let s = catalog
                .get(black_box("ringcentral"))
                .and_then(|r| r.status(black_box(404)));
            s.map(|s| s.action_for(black_box(&Method::DELETE)))
        })
    });
    g.bench_function("app code (webex-connect, transaction-status, 7109)", |b| {
        b.iter(|| {
            catalog.app_code(
                black_box("webex-connect"),
                black_box("transaction-status"),
                black_box(7109),
            )
        })
    });
    g.bench_function(
        "app code, last of its API (webex-connect, messaging, 7643)",
        |b| {
            b.iter(|| {
                catalog.app_code(
                    black_box("webex-connect"),
                    black_box("messaging"),
                    black_box(7643),
                )
            })
        },
    );
    g.bench_function("explain entry (webex-connect, 7109, all APIs)", |b| {
        b.iter(|| catalog.explain(black_box("webex-connect"), black_box(7109), None, None))
    });
    g.finish();
}

criterion_group!(benches, lookups);
criterion_main!(benches);
