//! `explain` and the client cannot disagree: for every built-in contract, every status it
//! knows, every method, with and without an idempotency key, what `explain --method`
//! reports (`Entry::applied`) is what the middleware does with that answer on its first
//! attempt, over real HTTP.

use std::sync::Arc;

use http::Method;
use verdict::decide::{DecisionKind, EXPLAIN_LOCATION};
use verdict::{Asked, Catalog};
use verdict_client::store::{BudgetConfig, MemoryStore};
use verdict_client::{Attempts, Credentials, Verdict};
use verdict_testkit::{Reply, Server};

use crate::support::FakeTimer;

const METHODS: [Method; 7] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::OPTIONS,
];

/// Answers `/status/N` (any query) with N (redirects point at the explain location, which answers
/// 200), so the client sees the facts `explain` assumes.
async fn server() -> Server {
    Server::start(|seen, _| {
        let path = seen.path.split('?').next().unwrap_or("");
        let Some(code) = path.strip_prefix("/status/") else {
            return Reply::status(200);
        };
        let code: u16 = code.parse().unwrap();
        let reply = Reply::status(code);
        if (300..400).contains(&code) && code != 304 {
            reply.header("location", EXPLAIN_LOCATION)
        } else {
            reply
        }
    })
    .await
}

/// What the middleware did with the first answer.
async fn first_attempt(
    client: &reqwest_middleware::ClientWithMiddleware,
    url: &str,
    method: &Method,
    key: Option<&str>,
) -> DecisionKind {
    let mut req = client.request(method.clone(), url);
    if let Some(name) = key {
        req = req.header(name, "\"explain-walk\"");
    }
    let attempts = match req.send().await {
        Ok(r) => r.extensions().get::<Attempts>().unwrap().0.clone(),
        Err(e) => crate::support::verdict_error(e).attempts().to_vec(),
    };
    attempts[0].kind
}

#[tokio::test]
async fn explain_says_what_the_middleware_does_for_every_status_and_method() {
    let server = server().await;
    let mut compared = 0;
    for contract in Catalog::builtin().contracts() {
        let key_header = contract
            .retry
            .idempotency_header
            .as_ref()
            .map(|h| h.name().to_string());
        for key in [false, true] {
            if key && key_header.is_none() {
                continue;
            }
            // A fresh client per contract and key: the retry budget never runs out, and
            // credentials can be refreshed (a 401 asks for it).
            let store = MemoryStore::with_budget(BudgetConfig {
                ratio: 100.0,
                per_second: 1e6,
                cap: 1e9,
            });
            let creds = Credentials::bearer("token", || async { Ok("fresh".to_owned()) }).unwrap();
            let middleware = Verdict::builder(contract.clone())
                .timer(FakeTimer::new())
                .store(Arc::new(store))
                .credentials(creds)
                .cache(0, 0)
                .build();
            let client = verdict_client::client(middleware).unwrap();
            for status in contract.statuses.iter().filter(|s| s.code >= 200) {
                for method in &METHODS {
                    let asked = Asked {
                        method,
                        idempotency_key: key,
                    };
                    let entries = Catalog::builtin()
                        .explain(&contract.id, u32::from(status.code), None, Some(asked))
                        .unwrap();
                    let said = entries[0].applied.as_ref().unwrap().decision;
                    // One URL per method: a permanent move the client remembers for one
                    // request must not change the next one's facts.
                    let url = server.url(&format!("/status/{}?method={method}", status.code));
                    let did = first_attempt(
                        &client,
                        &url,
                        method,
                        key.then(|| key_header.as_deref().unwrap()),
                    )
                    .await;
                    assert_eq!(
                        said, did,
                        "{} {} {method} (key: {key}): explain says {said}, the client did {did}",
                        contract.id, status.code
                    );
                    compared += 1;
                }
            }
        }
    }
    assert!(compared > 2000, "only {compared} cases compared");
}
