//! One decision of the engine. Run with `cargo bench -p verdict --bench decide`.
//!
//! The baseline in the same run is a bare status-table lookup, so the report shows what
//! the rest of the decision costs on top of it.

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderMap, Method};
use url::Url;
use verdict::Catalog;
use verdict::decide::{History, Limits, RequestFacts, ResponseFacts, decide};

fn decisions(c: &mut Criterion) {
    let catalog = Catalog::builtin();
    let webex = catalog.get("webex").unwrap();
    let rc = catalog.get("ringcentral").unwrap();
    let url = Url::parse("https://webexapis.com/v1/rooms/abc").unwrap();
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let limits = Limits::default();
    let history = History::default();
    let empty = HeaderMap::new();
    let mut ra = HeaderMap::new();
    ra.insert("retry-after", "3".parse().unwrap());
    let mut loc = HeaderMap::new();
    loc.insert(
        "location",
        "https://webexapis.com/v1/rooms/def".parse().unwrap(),
    );

    let mut g = c.benchmark_group("decide");
    g.bench_function("baseline: status lookup only", |b| {
        b.iter(|| {
            webex
                .status(black_box(200))
                .map(|s| s.action_for(&Method::GET))
        })
    });
    let req = RequestFacts::new(&Method::GET, &url);
    g.bench_function("200 GET -> Done", |b| {
        b.iter(|| {
            decide(
                webex,
                black_box(&req),
                &ResponseFacts::new(black_box(200), &empty),
                &history,
                &limits,
                now,
                0.5,
            )
        })
    });
    g.bench_function("429 Retry-After: 3 -> Retry", |b| {
        b.iter(|| {
            decide(
                webex,
                black_box(&req),
                &ResponseFacts::new(black_box(429), &ra),
                &history,
                &limits,
                now,
                0.5,
            )
        })
    });
    g.bench_function("500 -> Retry with backoff", |b| {
        b.iter(|| {
            decide(
                rc,
                black_box(&req),
                &ResponseFacts::new(black_box(500), &empty),
                &history,
                &limits,
                now,
                0.5,
            )
        })
    });
    g.bench_function("302 -> Redirect", |b| {
        b.iter(|| {
            decide(
                webex,
                black_box(&req),
                &ResponseFacts::new(black_box(302), &loc),
                &history,
                &limits,
                now,
                0.5,
            )
        })
    });
    g.finish();
}

criterion_group!(benches, decisions);
criterion_main!(benches);
