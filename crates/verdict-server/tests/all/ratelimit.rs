//! A contract that asks for the IETF draft's quota fields (`[rate_limit] fields`): the
//! emulator answers with `RateLimit` and `RateLimit-Policy`, and the verdict client is paced
//! by them.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::support::{Running, serve_emulator};
use serde_json::json;
use verdict::emulate::Quota;
use verdict::{Catalog, Contract, SourceFile};
use verdict_client::timer::{Timer, Wait, WaitReason};
use verdict_server::{Config, Emulator, ServerLimits};

/// token-api under another id, sending `fields` quota fields.
fn contract(fields: &str) -> Contract {
    let text = include_str!("../../../../contracts/token-api.toml").replacen(
        "id = \"token-api\"",
        "id = \"token-api-draft\"",
        1,
    ) + &format!(
        "\n[rate_limit]\nfields = \"{fields}\"\nlimit = \"X-RateLimit-Limit\"\nremaining = \"X-RateLimit-Remaining\"\nreset = \"X-RateLimit-Reset\"\n"
    );
    let (catalog, id) = Catalog::builtin()
        .with_file(SourceFile::new("token-api-draft.toml", text))
        .unwrap();
    catalog.get(&id).unwrap().clone()
}

/// Two quotas: 2 requests a minute and 1000 a day.
fn quotas() -> Vec<Quota> {
    vec![
        Quota {
            requests: 2,
            window_s: 60,
            status: 429,
            group: None,
        },
        Quota {
            requests: 1000,
            window_s: 86400,
            status: 429,
            group: None,
        },
    ]
}

async fn start(c: Contract) -> Running {
    let config = Config {
        token: "t0".into(),
        quotas: Some(quotas()),
        ..Config::default()
    };
    serve_emulator(
        Emulator::new(c, config).unwrap(),
        "t0".into(),
        false,
        ServerLimits::default(),
    )
    .await
}

#[tokio::test]
async fn the_emulator_sends_the_draft_fields_the_contract_asks_for() {
    let s = start(contract("ietf-draft")).await;
    let r = s.get_as("/v1/items", "t0").await;
    assert_eq!(r.status(), 200);
    let h = r.headers();
    assert_eq!(
        h["ratelimit-policy"],
        r#""2-per-60s";q=2;w=60, "1000-per-86400s";q=1000;w=86400"#
    );
    let limit = h["ratelimit"].to_str().unwrap();
    assert!(limit.starts_with(r#""2-per-60s";r=1;t="#), "{limit}");
    assert!(
        !h.contains_key("x-ratelimit-remaining"),
        "only the draft's fields"
    );
    let policies = verdict::ratelimit::policies(h);
    assert_eq!(policies.len(), 2);
    assert_eq!(policies[1].window, Some(Duration::from_secs(86400)));

    // Used up: r=0 on the last allowed answer, and the refusal says so too.
    let r = s.get_as("/v1/items", "t0").await;
    let q = verdict::ratelimit::draft_quota(r.headers()).unwrap();
    assert!(q.exhausted());
    assert_eq!(q.limit, Some(2));
    let r = s.get_as("/v1/items", "t0").await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let q = verdict::ratelimit::draft_quota(r.headers()).unwrap();
    assert!(q.exhausted());
    // An injected 429 carries them as well.
    let r = s
        .http
        .get(s.url("/v1/items"))
        .bearer_auth("t1")
        .header("X-Verdict-Fault", "status=429; retry-after=3")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let q = verdict::ratelimit::draft_quota(r.headers()).unwrap();
    assert_eq!(
        (q.remaining, q.reset_after),
        (Some(0), Some(Duration::from_secs(3)))
    );
}

#[tokio::test]
async fn both_sets_or_the_named_ones_alone() {
    let s = start(contract("both")).await;
    let r = s.get_as("/v1/items", "t0").await;
    assert!(r.headers().contains_key("ratelimit"));
    assert_eq!(r.headers()["x-ratelimit-remaining"], "1");
    // The built-in token-api names its headers only.
    let s = crate::support::start("token-api").await;
    let r = s.get_as("/v1/items", "t0").await;
    assert!(r.headers().contains_key("x-ratelimit-remaining"));
    assert!(!r.headers().contains_key("ratelimit"));
    assert!(!r.headers().contains_key("ratelimit-policy"));
}

/// A clock for the client that does not sleep. The emulator keeps the wall clock, so a
/// wait for a quota window is carried out by clearing the emulator's windows (what the
/// passing of the window would do) through its admin API.
struct WindowTimer {
    now: Mutex<SystemTime>,
    waits: Mutex<Vec<Wait>>,
    admin: String,
}

#[async_trait::async_trait]
impl Timer for WindowTimer {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap()
    }

    async fn sleep(&self, wait: &Wait) {
        *self.now.lock().unwrap() += wait.duration;
        self.waits.lock().unwrap().push(wait.clone());
        let r = reqwest::Client::new()
            .put(&self.admin)
            .json(&json!(
                quotas()
                    .iter()
                    .map(|q| json!({"requests": q.requests, "window_s": q.window_s}))
                    .collect::<Vec<_>>()
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
}

#[tokio::test]
async fn the_client_is_paced_by_the_draft_fields_and_never_refused() {
    let c = contract("ietf-draft");
    let s = start(c.clone()).await;
    let timer = Arc::new(WindowTimer {
        now: Mutex::new(SystemTime::now()),
        waits: Mutex::default(),
        admin: s.url("/_verdict/quotas"),
    });
    let client = verdict_client::client(
        verdict_client::Verdict::builder(c)
            .timer(timer.clone())
            .build(),
    )
    .unwrap();
    for n in 0..5 {
        let r = client
            .get(s.url("/v1/items"))
            .bearer_auth("t0")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "request {n}");
    }
    // Two requests a minute: the third and the fifth wait for the window, and nothing else.
    let waits = timer.waits.lock().unwrap().clone();
    assert_eq!(waits.len(), 2, "{waits:?}");
    for w in &waits {
        assert_eq!(w.reason, WaitReason::Blocked);
        // A sliding window: the next request may fit only some way into the next window.
        assert!(
            w.duration > Duration::ZERO && w.duration <= Duration::from_secs(120),
            "{w:?}"
        );
    }
    let journal = s.journal().await;
    let statuses: Vec<_> = journal
        .iter()
        .filter(|e| e["path"] == "/v1/items")
        .map(|e| e["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [200; 5], "the emulator never had to refuse");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_shared_state_the_draft_fields_count_the_groups_requests() {
    let Some(redis) = verdict_testkit::RedisServer::start() else {
        return;
    };
    let mut group = Vec::new();
    for _ in 0..2 {
        let store = verdict_server::RedisState::connect(&redis.url(), "draft")
            .await
            .unwrap();
        let config = Config {
            token: "t0".into(),
            quotas: Some(quotas()),
            ..Config::default()
        };
        let em = Emulator::shared(contract("ietf-draft"), config, store)
            .await
            .unwrap();
        group.push(serve_emulator(em, "t0".into(), false, ServerLimits::default()).await);
    }
    let mut left = Vec::new();
    for at in [&group[0], &group[1]] {
        let r = at.get_as("/v1/items", "t0").await;
        assert_eq!(r.status(), 200);
        left.push(verdict::ratelimit::limits(r.headers())[0].remaining);
    }
    assert_eq!(
        left,
        [1, 0],
        "the second emulator counts the first's request"
    );
    assert_eq!(group[0].get_as("/v1/items", "t0").await.status(), 429);
}

#[tokio::test]
async fn on_the_real_clock_the_reset_it_sends_is_when_the_next_request_fits() {
    // Two requests a second; the client sleeps for real (about a second and a half).
    let c = contract("ietf-draft");
    let config = Config {
        token: "t0".into(),
        quotas: Some(vec![Quota {
            requests: 2,
            window_s: 1,
            status: 429,
            group: None,
        }]),
        ..Config::default()
    };
    let s = serve_emulator(
        Emulator::new(c.clone(), config).unwrap(),
        "t0".into(),
        false,
        ServerLimits::default(),
    )
    .await;
    let client = verdict_client::client(verdict_client::Verdict::builder(c).build()).unwrap();
    for n in 0..3 {
        let r = client
            .get(s.url("/v1/items"))
            .bearer_auth("t0")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "request {n}");
    }
    let statuses: Vec<_> = s
        .journal()
        .await
        .iter()
        .map(|e| e["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [200; 3], "waiting for the reset was enough");
}

/// A contract extending webex whose quota reset is written as `format` says.
async fn webex_with_reset(format: &str) -> crate::support::Running {
    let text = format!(
        "[contract]\nid = \"resets\"\nname = \"Resets\"\nextends = \"webex\"\n\n[rate_limit]\nlimit = \"X-RateLimit-Limit\"\nremaining = \"X-RateLimit-Remaining\"\nreset = \"X-RateLimit-Reset\"\nreset_format = \"{format}\"\n"
    );
    let contract = crate::support::contract_from("resets.toml", &text);
    crate::support::start_contract(contract).await
}

#[tokio::test]
async fn the_reset_is_sent_in_the_contracts_format() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for format in ["seconds", "unix", "http-date"] {
        let s = webex_with_reset(format).await;
        let r = s
            .http
            .get(s.url("/v1/rooms"))
            .bearer_auth("t0")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let reset = r.headers()["x-ratelimit-reset"]
            .to_str()
            .unwrap()
            .to_owned();
        // Read back in the same format, it is within the 60 s window.
        let f: verdict::ResetFormat = format.parse().unwrap();
        let after = f.read(&reset, std::time::SystemTime::now()).unwrap();
        assert!(after.as_secs() <= 61, "{format}: {reset}");
        match format {
            "unix" => {
                let n: u64 = reset.parse().unwrap();
                assert!(n >= now && n <= now + 62, "{reset}");
            }
            "http-date" => assert!(reset.ends_with(" GMT"), "{reset}"),
            _ => assert!(reset.parse::<u64>().unwrap() <= 60, "{reset}"),
        }
    }
}
