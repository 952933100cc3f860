//! `verdict call --client-id …`: signing in, renewing and keeping tokens in a file,
//! against the RingCentral emulator on 127.0.0.1 with access tokens that live 3 s.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::call::{args, stderr, verdict};

const ME: &str = "/restapi/v1.0/account/~/extension/~";
const TOKEN: &str = "/restapi/oauth/token";
const TTL: Duration = Duration::from_secs(3);

struct Emulator {
    origin: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn ringcentral() -> Emulator {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let c = verdict::Catalog::builtin()
        .get("ringcentral")
        .unwrap()
        .clone();
    let mut config = verdict_server::Config {
        token: "t0".into(),
        seed: 7,
        ..Default::default()
    };
    config.oauth.access_ttl = Some(TTL);
    let em = Arc::new(verdict_server::Emulator::new(c, config).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(verdict_server::serve(em, listener, std::future::pending()));
    Emulator { origin, task }
}

impl Emulator {
    /// Each token request's grant type and status, in order.
    async fn grants(&self) -> Vec<(String, u64)> {
        let journal: Value = reqwest::get(format!("{}/_verdict/journal", self.origin))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        journal["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["path"] == TOKEN)
            .map(|e| {
                let body = e["body"].as_str().unwrap().as_bytes();
                let grant = url::form_urlencoded::parse(body)
                    .find(|(k, _)| k == "grant_type")
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                (grant, e["status"].as_u64().unwrap())
            })
            .collect()
    }
}

fn grants(list: &[(&str, u64)]) -> Vec<(String, u64)> {
    list.iter().map(|(g, s)| (g.to_string(), *s)).collect()
}

fn login(em: &Emulator, password: &str, file: &std::path::Path) -> Vec<String> {
    let mut a = args(&[
        "call",
        "--contract",
        "ringcentral",
        "--client-id",
        "verdict-client-id",
        "--client-secret",
        "verdict-client-secret",
        "--username",
        "+16505550100",
        "--password",
        password,
        "--token-file",
    ]);
    a.push(file.display().to_string());
    a.push(format!("{}{ME}", em.origin));
    a
}

fn access_token(file: &std::path::Path) -> String {
    let v: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    v["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn call_signs_in_keeps_the_tokens_and_renews_them_after_they_expire() {
    let em = ringcentral().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tokens.json");

    let o = verdict(login(&em, "verdict-password", &file)).await;
    assert!(o.status.success(), "{}", stderr(&o));
    let me: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(me["name"], "Verdict Emulator");
    assert_eq!(em.grants().await, grants(&[("password", 200)]));
    let first = access_token(&file);

    // A later call finds a live token in the file and sends it as it is.
    let o = verdict(login(&em, "verdict-password", &file)).await;
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(em.grants().await.len(), 1);

    // Once it has expired, the next call renews it with the refresh token first.
    tokio::time::sleep(TTL + Duration::from_millis(100)).await;
    let o = verdict(login(&em, "verdict-password", &file)).await;
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        em.grants().await,
        grants(&[("password", 200), ("refresh_token", 200)])
    );
    assert_ne!(access_token(&file), first, "the file holds the new pair");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_sign_in_shows_the_endpoints_description() {
    let em = ringcentral().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tokens.json");
    let mut a = login(&em, "wrong", &file);
    a.insert(1, "--json".into());
    let o = verdict(a).await;
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("Invalid resource owner credentials."), "{err}");
    assert!(err.contains("--password"), "advice: {err}");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["error"]["kind"], "oauth");
    assert_eq!(v["error"]["vendor_code"], "invalid_grant");
    assert!(!file.exists(), "nothing to keep");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_401_without_sign_in_flags_points_at_them() {
    let em = ringcentral().await;
    let o = verdict(args(&[
        "call",
        "--contract",
        "ringcentral",
        &format!("{}{ME}", em.origin),
    ]))
    .await;
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("--client-id"), "{err}");
}
