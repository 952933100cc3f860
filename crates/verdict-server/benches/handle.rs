//! One request through the emulator's request path, without the network: what
//! `Emulator::handle` costs per request for the cases `bench/emulator.sh` loads over HTTP.
//! Run with `cargo bench -p verdict-server --bench handle`.
//!
//! It runs on mimalloc, the allocator `verdict serve` uses.
//!
//! The baseline in the same run builds the response a minimal server sends (status,
//! content type, a small JSON body), so the report shows what the emulator adds on top of
//! answering at all.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderMap, HeaderValue, Method};
use verdict::Catalog;
use verdict_server::{Config, Emulator, Req};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn request(method: Method, path: &str, headers: &[(&'static str, &str)], body: &str) -> Req {
    let mut map = HeaderMap::new();
    map.insert("host", HeaderValue::from_static("127.0.0.1:8080"));
    for (k, v) in headers {
        map.append(*k, HeaderValue::from_str(v).unwrap());
    }
    Req {
        method,
        path: path.into(),
        query: String::new(),
        headers: map,
        body: Bytes::copy_from_slice(body.as_bytes()),
        https: false,
        local: ([127, 0, 0, 1], 8080).into(),
    }
}

fn handle(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let contract = Catalog::builtin().get("webex").unwrap().clone();
    let config = Config {
        token: "t".into(),
        quotas: Some(vec![verdict::emulate::Quota {
            requests: u32::MAX,
            window_s: 1,
            status: 429,
            group: None,
        }]),
        ..Config::default()
    };
    let em = Emulator::new(contract, config).unwrap();
    let auth = [("authorization", "Bearer t")];
    let create = request(
        Method::POST,
        "/v1/rooms",
        &[
            ("authorization", "Bearer t"),
            ("content-type", "application/json"),
        ],
        r#"{"title":"bench"}"#,
    );
    let created = runtime.block_on(em.handle(&create));
    assert_eq!(created.status(), 200);
    let body: serde_json::Value = serde_json::from_slice(
        &runtime
            .block_on(http_body_util::BodyExt::collect(created.into_body()))
            .unwrap()
            .to_bytes(),
    )
    .unwrap();
    let id = body["id"].as_str().unwrap().to_owned();

    let get = request(Method::GET, &format!("/v1/rooms/{id}"), &auth, "");
    let missing = request(Method::GET, "/v1/rooms/nope", &auth, "");
    let fault = request(
        Method::GET,
        &format!("/v1/rooms/{id}"),
        &[
            ("authorization", "Bearer t"),
            ("x-verdict-fault", "status=429; retry-after=1"),
        ],
        "",
    );

    let mut g = c.benchmark_group("handle");
    g.bench_function("baseline: a fixed 200 with a JSON body", |b| {
        b.iter(|| {
            let mut r = http::Response::new(http_body_util::Full::new(Bytes::from_static(
                br#"{"id":"Y2lzY29zcGFyazovL3VzL1JPT00vYmVuY2g","title":"bench"}"#,
            )));
            r.headers_mut().insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            black_box(r)
        })
    });
    for (name, req, status) in [
        ("webex GET room (200)", &get, 200),
        ("webex GET missing (404)", &missing, 404),
        ("webex GET + fault (429)", &fault, 429),
    ] {
        assert_eq!(runtime.block_on(em.handle(req)).status(), status, "{name}");
        g.bench_function(name, |b| {
            b.iter(|| runtime.block_on(em.handle(black_box(req))))
        });
    }
    g.finish();
}

criterion_group!(benches, handle);
criterion_main!(benches);
