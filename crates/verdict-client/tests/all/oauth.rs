//! OAuth 2.0 built in, and credential renewals that cannot turn on themselves: against the
//! RingCentral emulator's token endpoint on 127.0.0.1 (what it saw is read from its
//! journal). The client's clock is fake: a token "expires" when the test moves it on.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use reqwest_middleware::ClientWithMiddleware;
use serde_json::{Value, json};
use url::Url;
use verdict_client::oauth::{OAuth2, OAuth2Builder, OAuthError};
use verdict_client::{Attempts, Credentials, ErrorKind, Verdict};
use verdict_testkit::{Reply, Server};

use crate::support::{FakeTimer, builder, client, contract, verdict_error};

/// The longest a test waits for the client; a hang fails the test instead.
const NO_HANG: Duration = Duration::from_secs(20);
const ME: &str = "/restapi/v1.0/account/~/extension/~";
const TOKEN: &str = "/restapi/oauth/token";

async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(NO_HANG, f)
        .await
        .expect("the client hung")
}

/// The RingCentral emulator on 127.0.0.1, stopped when dropped.
struct Emulator {
    origin: String,
    http: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn ringcentral() -> Emulator {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = verdict_server::Config {
        token: "t0".into(),
        seed: 7,
        ..verdict_server::Config::default()
    };
    let em = verdict_server::Emulator::new(contract("ringcentral"), config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(verdict_server::serve(Arc::new(em), listener, async {
        let _ = stopped.await;
    }));
    Emulator {
        origin,
        http: reqwest::Client::new(),
        _stop: stop,
    }
}

impl Emulator {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    /// The client of its token endpoint (the contract's token_path), signing in with the
    /// emulator's user.
    fn oauth(&self) -> OAuth2Builder {
        let origin = Url::parse(&self.origin).unwrap();
        OAuth2::for_contract(
            &contract("ringcentral"),
            Some(&origin),
            "verdict-client-id",
            "verdict-client-secret",
        )
        .unwrap()
        .password("+16505550100", "verdict-password")
    }

    async fn journal(&self) -> Vec<Value> {
        let v: Value = self
            .http
            .get(self.url("/_verdict/journal"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["entries"].as_array().unwrap().clone()
    }

    /// Each token request's grant type and the status it got, in order.
    async fn grants(&self) -> Vec<(String, u64)> {
        self.journal()
            .await
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

    /// The statuses of the requests to `path`, in order.
    async fn statuses(&self, path: &str) -> Vec<u64> {
        self.journal()
            .await
            .iter()
            .filter(|e| e["path"] == path)
            .map(|e| e["status"].as_u64().unwrap())
            .collect()
    }

    async fn admin(&self, path: &str, body: Value) {
        let r = self.http.post(self.url(path)).json(&body).send().await;
        assert!(r.unwrap().status().is_success());
    }
}

fn grants(list: &[(&str, u64)]) -> Vec<(String, u64)> {
    list.iter().map(|(g, s)| (g.to_string(), *s)).collect()
}

async fn get(c: &ClientWithMiddleware, url: &str) -> reqwest::Response {
    within(c.get(url).send()).await.unwrap()
}

#[tokio::test]
async fn the_first_request_signs_in_with_the_password_grant() {
    let em = ringcentral().await;
    let timer = FakeTimer::new();
    let oauth = em.oauth().build().unwrap();
    let c = client(builder("ringcentral", &timer).oauth2(oauth.clone()));
    assert_eq!(get(&c, &em.url(ME)).await.status(), 200);
    assert_eq!(em.grants().await, grants(&[("password", 200)]));
    let journal = em.journal().await;
    let token = journal.iter().find(|e| e["path"] == TOKEN).unwrap();
    // verdict-client-id:verdict-client-secret
    assert_eq!(
        token["headers"]["authorization"][0],
        "Basic dmVyZGljdC1jbGllbnQtaWQ6dmVyZGljdC1jbGllbnQtc2VjcmV0"
    );
    assert_eq!(
        token["headers"]["content-type"][0],
        "application/x-www-form-urlencoded"
    );
    let me = journal.iter().find(|e| e["path"] == ME).unwrap();
    let access = oauth.tokens().unwrap().access_token;
    assert_eq!(
        me["headers"]["authorization"][0],
        format!("Bearer {access}")
    );
    // The next request uses the same token.
    assert_eq!(get(&c, &em.url(ME)).await.status(), 200);
    assert_eq!(em.grants().await.len(), 1);
}

#[tokio::test]
async fn a_token_is_renewed_shortly_before_it_expires() {
    let em = ringcentral().await;
    let timer = FakeTimer::new();
    let oauth = em.oauth().build().unwrap();
    let c = client(builder("ringcentral", &timer).oauth2(oauth.clone()));
    assert_eq!(get(&c, &em.url(ME)).await.status(), 200);
    let first = oauth.tokens().unwrap();
    assert_eq!(first.lifetime, Some(Duration::from_secs(3600)));
    // 59 minutes on, a minute (the margin) before it expires: still the same token.
    timer.advance(Duration::from_secs(3600 - 61));
    assert_eq!(get(&c, &em.url(ME)).await.status(), 200);
    assert_eq!(em.grants().await.len(), 1);
    // Within the margin: renewed with the refresh token before the request, not after a 401.
    timer.advance(Duration::from_secs(2));
    let r = get(&c, &em.url(ME)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.extensions().get::<Attempts>().unwrap().0.len(), 1);
    assert_eq!(
        em.grants().await,
        grants(&[("password", 200), ("refresh_token", 200)])
    );
    assert_eq!(em.statuses(ME).await, vec![200, 200, 200]);
    let second = oauth.tokens().unwrap();
    assert_ne!(second.access_token, first.access_token);
    assert_ne!(second.refresh_token, first.refresh_token, "rotated");
}

#[tokio::test]
async fn a_401_renews_with_the_refresh_grant_and_replays_once() {
    let em = ringcentral().await;
    let timer = FakeTimer::new();
    let c = client(builder("ringcentral", &timer).oauth2(em.oauth().build().unwrap()));
    assert_eq!(get(&c, &em.url(ME)).await.status(), 200);
    em.admin(
        "/_verdict/faults",
        json!({"path": ME, "status": 401, "times": 1}),
    )
    .await;
    let r = get(&c, &em.url(ME)).await;
    assert_eq!(r.status(), 200);
    let attempts = &r.extensions().get::<Attempts>().unwrap().0;
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].status, Some(401));
    assert_eq!(
        em.grants().await,
        grants(&[("password", 200), ("refresh_token", 200)])
    );
    assert_eq!(em.statuses(ME).await, vec![200, 401, 200]);
}

#[tokio::test]
async fn concurrent_requests_share_one_sign_in_and_one_renewal() {
    let em = ringcentral().await;
    let timer = FakeTimer::new();
    let c = client(builder("ringcentral", &timer).oauth2(em.oauth().build().unwrap()));
    let all = |c: &ClientWithMiddleware| {
        let handles: Vec<_> = (0..8)
            .map(|_| tokio::spawn(c.get(em.url(ME)).send()))
            .collect();
        async move {
            for h in handles {
                assert_eq!(within(h).await.unwrap().unwrap().status(), 200);
            }
        }
    };
    all(&c).await;
    assert_eq!(em.grants().await, grants(&[("password", 200)]));
    timer.advance(Duration::from_secs(3590));
    all(&c).await;
    assert_eq!(
        em.grants().await,
        grants(&[("password", 200), ("refresh_token", 200)])
    );
    assert!(em.statuses(ME).await.iter().all(|s| *s == 200));
}

/// Eight concurrent requests from each client; every one must end with 200.
async fn from_both(em: &Emulator, clients: &[&ClientWithMiddleware]) {
    let handles: Vec<_> = clients
        .iter()
        .flat_map(|c| (0..8).map(|_| tokio::spawn(c.get(em.url(ME)).send())))
        .collect();
    for h in handles {
        assert_eq!(within(h).await.unwrap().unwrap().status(), 200);
    }
}

/// Two clients with their own OAuth clients and `store`, as two processes of a fleet.
fn fleet(
    em: &Emulator,
    timer: &Arc<FakeTimer>,
    store: impl Fn() -> Arc<dyn verdict_client::store::Store>,
    share: bool,
) -> (ClientWithMiddleware, ClientWithMiddleware) {
    let one = || {
        let oauth = em.oauth().share_tokens(share).build().unwrap();
        client(builder("ringcentral", timer).oauth2(oauth).store(store()))
    };
    (one(), one())
}

#[tokio::test]
async fn clients_sharing_a_store_sign_in_once_and_renew_once() {
    let em = ringcentral().await;
    let timer = FakeTimer::new();
    let store: Arc<dyn verdict_client::store::Store> =
        Arc::new(verdict_client::store::MemoryStore::default());
    let (a, b) = fleet(&em, &timer, || store.clone(), true);
    from_both(&em, &[&a, &b]).await;
    assert_eq!(em.grants().await, grants(&[("password", 200)]));
    timer.advance(Duration::from_secs(3590));
    from_both(&em, &[&a, &b]).await;
    assert_eq!(
        em.grants().await,
        grants(&[("password", 200), ("refresh_token", 200)])
    );
    // Both went on with the one renewed token (the emulator would refuse a stale one).
    assert!(em.statuses(ME).await.iter().all(|s| *s == 200));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fleet_on_one_redis_renews_once_and_without_sharing_each_signs_in() {
    let Some(redis) = verdict_testkit::RedisServer::start() else {
        return;
    };
    let em = ringcentral().await;
    let timer = FakeTimer::new();
    let on_redis = |prefix: &'static str| {
        let url = redis.url();
        move || -> Arc<dyn verdict_client::store::Store> {
            Arc::new(verdict_client::RedisStore::new(&url, prefix).unwrap())
        }
    };
    let (a, b) = fleet(&em, &timer, on_redis("fleet:"), true);
    from_both(&em, &[&a, &b]).await;
    timer.advance(Duration::from_secs(3590));
    from_both(&em, &[&a, &b]).await;
    assert_eq!(
        em.grants().await,
        grants(&[("password", 200), ("refresh_token", 200)])
    );
    // The same fleet with sharing turned off: each process signs in for itself.
    let (c, d) = fleet(&em, &timer, on_redis("alone:"), false);
    from_both(&em, &[&c, &d]).await;
    let signed_in = em
        .grants()
        .await
        .iter()
        .filter(|(g, _)| g == "password")
        .count();
    assert_eq!(signed_in, 3);
}

#[tokio::test]
async fn an_unanswered_token_request_is_a_timeout_with_reqwests_error_underneath() {
    // A server that takes the connection and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let oauth = OAuth2::builder(Url::parse(&format!("{origin}{TOKEN}")).unwrap(), "id", "s")
        .client_credentials()
        .http(http)
        .build()
        .unwrap();
    let timer = FakeTimer::new();
    let c = client(builder("ringcentral", &timer).oauth2(oauth));
    let e = verdict_error(
        within(c.get(format!("{origin}{ME}")).send())
            .await
            .unwrap_err(),
    );
    assert!(matches!(e.kind(), ErrorKind::OAuth(OAuthError::Network(u)) if u.is_timeout()));
    assert!(e.is_timeout() && !e.is_connect(), "{e}");
    let mut chain = std::iter::successors(std::error::Error::source(&e), |s| s.source());
    assert!(chain.any(|s| s.downcast_ref::<reqwest::Error>().is_some()));
    held.abort();
}

#[tokio::test]
async fn a_token_endpoint_that_refuses_connections_is_a_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let oauth = OAuth2::builder(Url::parse(&format!("{origin}{TOKEN}")).unwrap(), "id", "s")
        .client_credentials()
        .build()
        .unwrap();
    let timer = FakeTimer::new();
    let c = client(builder("ringcentral", &timer).oauth2(oauth));
    let e = verdict_error(
        within(c.get(format!("{origin}{ME}")).send())
            .await
            .unwrap_err(),
    );
    assert!(e.is_connect() && !e.is_timeout(), "{e}");
}

#[tokio::test]
async fn a_revoked_refresh_token_falls_back_to_the_password_grant() {
    let em = ringcentral().await;
    let timer = FakeTimer::new();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let oauth = em
        .oauth()
        .on_tokens(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    let c = client(builder("ringcentral", &timer).oauth2(oauth.clone()));
    assert_eq!(get(&c, &em.url(ME)).await.status(), 200);
    // Revoking the refresh token revokes its access token too.
    let refresh = oauth.tokens().unwrap().refresh_token.unwrap();
    let form = format!("token={refresh}");
    let r = em
        .http
        .post(em.url("/restapi/oauth/revoke"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(get(&c, &em.url(ME)).await.status(), 200);
    assert_eq!(
        em.grants().await,
        grants(&[("password", 200), ("refresh_token", 400), ("password", 200)])
    );
    assert_eq!(em.statuses(ME).await, vec![200, 401, 200]);
    assert_eq!(
        seen.load(Ordering::SeqCst),
        2,
        "each new pair is handed over"
    );
}

#[tokio::test]
async fn an_oauth_error_carries_its_description() {
    let em = ringcentral().await;
    let timer = FakeTimer::new();
    let oauth = em
        .oauth()
        .password("+16505550100", "not-the-password")
        .build()
        .unwrap();
    let c = client(builder("ringcentral", &timer).oauth2(oauth));
    let e = verdict_error(within(c.get(em.url(ME)).send()).await.unwrap_err());
    assert_eq!(
        *e.kind(),
        ErrorKind::OAuth(OAuthError::Refused {
            grant: "password".into(),
            status: 400,
            error: "invalid_grant".into(),
            description: Some("Invalid resource owner credentials.".into()),
        })
    );
    assert_eq!(e.vendor_code(), Some("invalid_grant"));
    let line = e.to_string();
    assert!(
        line.contains("Invalid resource owner credentials."),
        "{line}"
    );
    assert!(e.attempts().is_empty());
    assert!(
        em.statuses(ME).await.is_empty(),
        "nothing sent without a token"
    );
}

/// A fresh path in the temporary directory, removed when dropped.
struct TempPath(std::path::PathBuf);

impl TempPath {
    fn new(name: &str) -> TempPath {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("verdict-oauth-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempPath(dir.join(name))
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn file_json(path: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[tokio::test]
async fn tokens_are_kept_in_the_file_and_shared_through_it() {
    let em = ringcentral().await;
    let file = TempPath::new("tokens.json");
    let first_timer = FakeTimer::new();
    let first = em.oauth().token_file(&file.0).build().unwrap();
    let c1 = client(builder("ringcentral", &first_timer).oauth2(first.clone()));
    assert_eq!(get(&c1, &em.url(ME)).await.status(), 200);
    let saved = file_json(&file.0);
    assert_eq!(saved["token_url"], em.url(TOKEN));
    assert_eq!(saved["access_token"], first.tokens().unwrap().access_token);
    assert!(saved["refresh_token"].is_string() && saved["expires_at"].is_number());
    // A second client (as another process would) starts from the file: no sign-in.
    let second_timer = FakeTimer::new();
    let second = em.oauth().token_file(&file.0).build().unwrap();
    assert_eq!(second.tokens(), first.tokens());
    let c2 = client(builder("ringcentral", &second_timer).oauth2(second.clone()));
    assert_eq!(get(&c2, &em.url(ME)).await.status(), 200);
    assert_eq!(em.grants().await.len(), 1);
    // It renews when the token is about to expire, and rewrites the file ...
    second_timer.advance(Duration::from_secs(3590));
    assert_eq!(get(&c2, &em.url(ME)).await.status(), 200);
    let renewed = second.tokens().unwrap();
    assert_eq!(file_json(&file.0)["access_token"], renewed.access_token);
    // ... where the first finds the new pair instead of spending its used refresh token.
    first_timer.advance(Duration::from_secs(3590));
    assert_eq!(get(&c1, &em.url(ME)).await.status(), 200);
    assert_eq!(first.tokens().unwrap(), renewed);
    assert_eq!(
        em.grants().await,
        grants(&[("password", 200), ("refresh_token", 200)])
    );
    // A file that is not a token file is a clear error.
    std::fs::write(&file.0, "{").unwrap();
    let e = em.oauth().token_file(&file.0).build().unwrap_err();
    assert!(matches!(e, OAuthError::TokenFile { .. }), "{e}");
}

#[tokio::test]
async fn a_header_the_request_sets_is_never_overwritten() {
    let em = ringcentral().await;
    let timer = FakeTimer::new();
    let c = client(builder("ringcentral", &timer).oauth2(em.oauth().build().unwrap()));
    // The emulator's own never-expiring token, set by the caller.
    let r = get_with(&c, &em.url(ME), "Bearer t0").await;
    assert_eq!(r.status(), 200);
    assert!(em.grants().await.is_empty(), "no sign-in for it");
    // A 401 to a caller's own credential is final: the middleware cannot renew it.
    let e = verdict_error(
        within(
            c.get(em.url(ME))
                .header("authorization", "Bearer nope")
                .send(),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(e.status().map(|s| s.as_u16()), Some(401));
    assert_eq!(e.attempts().len(), 1);
    assert!(
        e.attempts()[0]
            .note
            .contains("the request set its own authorization"),
        "{:?}",
        e.attempts()
    );
}

async fn get_with(c: &ClientWithMiddleware, url: &str, auth: &str) -> reqwest::Response {
    within(c.get(url).header("authorization", auth).send())
        .await
        .unwrap()
}

/// A refresh hook that signs in again through `client` with the client secret `secret`.
fn hook_through(
    slot: Arc<OnceLock<ClientWithMiddleware>>,
    token_url: String,
    secret: &'static str,
) -> Credentials {
    Credentials::bearer("expired-token", move || {
        let (slot, token_url) = (slot.clone(), token_url.clone());
        async move {
            let c = slot.get().ok_or("no client yet")?;
            let answer = c
                .post(&token_url)
                .basic_auth("verdict-client-id", Some(secret))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("grant_type=password&username=%2B16505550100&password=verdict-password")
                .send()
                .await?;
            let body: Value = answer.json().await?;
            let token = body["access_token"].as_str().ok_or("no access_token")?;
            Ok(token.to_owned())
        }
    })
    .unwrap()
}

#[tokio::test]
async fn a_refresh_hook_calling_the_token_endpoint_through_the_same_client_returns() {
    // It used to hang: the token request's Basic credentials were replaced by the expired
    // Bearer, the endpoint answered 401, and that 401's refresh waited for the lock the
    // hook's own refresh held.
    let em = ringcentral().await;
    let timer = FakeTimer::new();
    let slot = Arc::new(OnceLock::new());
    let creds = hook_through(slot.clone(), em.url(TOKEN), "verdict-client-secret");
    let c = client(builder("ringcentral", &timer).credentials(creds));
    slot.set(c.clone()).unwrap();
    let r = get(&c, &em.url(ME)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(em.statuses(ME).await, vec![401, 200]);
    assert_eq!(em.grants().await, grants(&[("password", 200)]));
    let journal = em.journal().await;
    let token = journal.iter().find(|e| e["path"] == TOKEN).unwrap();
    let auth = token["headers"]["authorization"][0].as_str().unwrap();
    assert!(auth.starts_with("Basic "), "{auth}");
}

#[tokio::test]
async fn a_token_request_refused_inside_a_hook_fails_instead_of_waiting() {
    let em = ringcentral().await;
    let timer = FakeTimer::new();
    let slot = Arc::new(OnceLock::new());
    let creds = hook_through(slot.clone(), em.url(TOKEN), "wrong-secret");
    let c = client(builder("ringcentral", &timer).credentials(creds));
    slot.set(c.clone()).unwrap();
    let e = verdict_error(within(c.get(em.url(ME)).send()).await.unwrap_err());
    assert_eq!(*e.kind(), ErrorKind::Refresh, "{e}");
    // The hook's own error is the source, and the one line says it.
    let hook = std::error::Error::source(&e).expect("the hook's error");
    assert!(hook.to_string().contains("401"), "{hook}");
    assert!(e.to_string().contains("401"), "{e}");
    // The token request was sent once and not renewed.
    assert_eq!(em.grants().await, grants(&[("password", 401)]));
    assert_eq!(em.statuses(ME).await, vec![401]);
}

#[tokio::test]
async fn waiting_for_a_renewal_is_bounded_by_max_wait() {
    let server = Server::start(|_, _| Reply::status(401)).await;
    let timer = FakeTimer::new();
    // A hook that never ends holds the renewal.
    let creds = Credentials::bearer("stale", std::future::pending).unwrap();
    let c = client(
        Verdict::builder(contract("ringcentral"))
            .timer(timer.clone())
            .credentials(creds)
            .max_wait(Duration::from_millis(300)),
    );
    let handles: Vec<_> = (0..3)
        .map(|i| tokio::spawn(c.get(server.url(&format!("/x/{i}"))).send()))
        .collect();
    for h in handles {
        let e = verdict_error(within(h).await.unwrap().unwrap_err());
        assert_eq!(
            *e.kind(),
            ErrorKind::RefreshTimeout(Duration::from_millis(300)),
            "{e}"
        );
    }
}

/// The grant type of a token request the scripted server saw.
fn grant_of(s: &verdict_testkit::Seen) -> String {
    url::form_urlencoded::parse(&s.body)
        .find(|(k, _)| k == "grant_type")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// A token endpoint at /token answering with `tokens(k)` to its k-th request, and an API
/// at any other path answering `api(authorization)`.
async fn scripted(
    tokens: impl Fn(usize) -> Reply + Send + Sync + 'static,
    api: impl Fn(&str) -> Reply + Send + Sync + 'static,
) -> Server {
    let asked = AtomicUsize::new(0);
    Server::start(move |s, _| {
        if s.path == "/token" {
            return tokens(asked.fetch_add(1, Ordering::SeqCst));
        }
        let auth = s.headers.get("authorization");
        api(auth.and_then(|v| v.to_str().ok()).unwrap_or(""))
    })
    .await
}

#[tokio::test]
async fn the_client_credentials_grant_signs_in_again_when_there_is_no_refresh_token() {
    let server = scripted(
        |k| Reply::status(200).json(json!({"access_token": format!("cc{k}"), "token_type": "Bearer", "expires_in": "100"})),
        |auth| Reply::status(if auth == "Bearer cc0" { 401 } else { 200 }),
    )
    .await;
    let timer = FakeTimer::new();
    let url = Url::parse(&server.url("/token")).unwrap();
    let oauth = OAuth2::builder(url, "my id", "s&cret")
        .client_credentials()
        .scope("read")
        .build()
        .unwrap();
    let c = client(builder("ringcentral", &timer).oauth2(oauth.clone()));
    assert_eq!(get(&c, &server.url("/v1/x")).await.status(), 200);
    let seen = server.seen();
    let tokens: Vec<_> = seen.iter().filter(|s| s.path == "/token").collect();
    assert_eq!(tokens.len(), 2, "signed in, then again after the 401");
    for t in &tokens {
        assert_eq!(&t.body[..], b"grant_type=client_credentials&scope=read");
        // RFC 6749 §2.3.1: id and secret form-encoded, then HTTP Basic: "my+id:s%26cret".
        assert_eq!(t.headers["authorization"], "Basic bXkraWQ6cyUyNmNyZXQ=");
    }
    let t = oauth.tokens().unwrap();
    assert_eq!(t.access_token, "cc1");
    assert_eq!(t.lifetime, Some(Duration::from_secs(100)));
}

#[tokio::test]
async fn a_failed_renewal_before_expiry_keeps_the_working_token_and_tries_later() {
    let server = scripted(
        |k| match k {
            1 => Reply::status(503),
            _ => Reply::status(200).json(json!({"access_token": format!("a{k}"), "refresh_token": format!("r{k}"), "expires_in": 100})),
        },
        |_| Reply::status(200),
    )
    .await;
    let timer = FakeTimer::new();
    let url = Url::parse(&server.url("/token")).unwrap();
    let oauth = OAuth2::builder(url, "id", "secret")
        .password("user", "pw")
        .build()
        .unwrap();
    let c = client(builder("ringcentral", &timer).oauth2(oauth));
    let api = server.url("/v1/x");
    assert_eq!(get(&c, &api).await.status(), 200);
    // 95 s into a 100 s token (margin 10 s): the renewal fails, the token still works.
    timer.advance(Duration::from_secs(95));
    assert_eq!(get(&c, &api).await.status(), 200);
    // The next try waits for half of what was left, rather than every request trying.
    assert_eq!(get(&c, &api).await.status(), 200);
    timer.advance(Duration::from_secs(3));
    assert_eq!(get(&c, &api).await.status(), 200);
    let seen = server.seen();
    let grants: Vec<String> = seen
        .iter()
        .filter(|s| s.path == "/token")
        .map(grant_of)
        .collect();
    assert_eq!(grants, ["password", "refresh_token", "refresh_token"]);
    let sent: Vec<&str> = seen
        .iter()
        .filter(|s| s.path == "/v1/x")
        .map(|s| s.headers["authorization"].to_str().unwrap())
        .collect();
    assert_eq!(sent, ["Bearer a0", "Bearer a0", "Bearer a0", "Bearer a2"]);
}
