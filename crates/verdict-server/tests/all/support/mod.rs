//! Starts an emulator on 127.0.0.1 for a test and stops it when dropped.

#![allow(dead_code)]

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::oneshot;
use verdict_server::{Config, Emulator, ServerLimits, Tls};

pub struct Running {
    pub origin: String,
    pub token: String,
    pub http: reqwest::Client,
    pub ca_pem: Option<String>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

pub async fn start(contract: &str) -> Running {
    start_with(
        contract,
        Config {
            token: "t0".into(),
            seed: 7,
            ..Config::default()
        },
        false,
        ServerLimits::default(),
    )
    .await
}

/// A contract written as `text` (as the file `name`), loaded over the built-in ones.
pub fn contract_from(name: &str, text: &str) -> verdict::Contract {
    let (catalog, id) = verdict::Catalog::builtin()
        .with_file(verdict::SourceFile::new(name, text))
        .unwrap();
    catalog.get(&id).unwrap().clone()
}

/// An emulator of `contract` on 127.0.0.1 that accepts the token `t0`.
pub async fn start_contract(contract: verdict::Contract) -> Running {
    let config = Config {
        token: "t0".into(),
        seed: 7,
        ..Config::default()
    };
    let em = Emulator::new(contract, config).unwrap();
    serve_emulator(em, "t0".into(), false, ServerLimits::default()).await
}

/// An emulator of `contract` as its document has it served: over TLS where plain HTTP is
/// refused (Whispir), else as [`start`].
pub async fn start_served(contract: &str) -> Running {
    let config = Config {
        token: "t0".into(),
        seed: 7,
        ..Config::default()
    };
    let tls = contract == "whispir";
    start_with(contract, config, tls, ServerLimits::default()).await
}

pub async fn start_with(
    contract: &str,
    config: Config,
    tls: bool,
    limits: ServerLimits,
) -> Running {
    let c = verdict::Catalog::builtin().get(contract).unwrap().clone();
    let token = config.token.clone();
    serve_emulator(Emulator::new(c, config).unwrap(), token, tls, limits).await
}

/// An emulator of `contract` whose state lives in the Redis at `url`, shared by `group`.
pub async fn start_shared(contract: &str, url: &str, group: &str) -> Running {
    let c = verdict::Catalog::builtin().get(contract).unwrap().clone();
    start_shared_contract(c, url, group).await
}

/// An emulator of `c` whose state lives in the Redis at `url`, shared with its `group`.
pub async fn start_shared_contract(c: verdict::Contract, url: &str, group: &str) -> Running {
    let config = Config {
        token: "t0".into(),
        seed: 7,
        ..Config::default()
    };
    let store = verdict_server::RedisState::connect(url, group)
        .await
        .unwrap();
    let em = Emulator::shared(c, config, store).await.unwrap();
    serve_emulator(em, "t0".into(), false, ServerLimits::default()).await
}

pub async fn serve_emulator(
    em: Emulator,
    token: String,
    tls: bool,
    limits: ServerLimits,
) -> Running {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let em = Arc::new(em);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let tls = tls.then(|| Tls::self_signed().unwrap());
    let ca_pem = tls.as_ref().map(|t| t.certificate_pem.clone());
    let scheme = if tls.is_some() { "https" } else { "http" };
    let task = tokio::spawn(verdict_server::serve_with(
        em,
        listener,
        tls,
        limits,
        async {
            let _ = rx.await;
        },
    ));
    let mut http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    if let Some(pem) = &ca_pem {
        http = http.tls_certs_only([reqwest::Certificate::from_pem(pem.as_bytes()).unwrap()]);
    }
    Running {
        origin: format!("{scheme}://{addr}"),
        token,
        http: http.build().unwrap(),
        ca_pem,
        stop: Some(tx),
        task: Some(task),
    }
}

/// Waits, when the wall clock is within `margin` of the end of a `window`-long window
/// aligned to the epoch (as the emulator's quota windows are), until the next one has
/// begun: a test that counts a quota down then stays within one window, where the
/// previous window's count cannot weigh in.
pub async fn away_from_window_edge(window: std::time::Duration, margin: std::time::Duration) {
    let (window, margin) = (window.as_millis(), margin.as_millis());
    let into = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        % window;
    if into + margin > window {
        let wait = (window - into + 100) as u64;
        tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
    }
}

impl Running {
    /// The OpenAPI document it serves at `/_verdict/openapi.json`.
    pub async fn openapi(&self) -> Value {
        let r = self
            .http
            .get(self.url("/_verdict/openapi.json"))
            .send()
            .await;
        r.unwrap().json().await.unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> reqwest::Response {
        self.http
            .request(method, self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// A request with this emulator's credentials as `contract` takes them (a bearer
    /// token; Whispir's API key beside it; Webex Connect's `key` header) and a JSON body;
    /// the status and the body as JSON (`null` when it is not JSON).
    pub async fn send(
        &self,
        contract: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut r = self.http.request(method, self.url(path));
        r = match contract {
            "webex-connect" => r.header("key", &self.token),
            "whispir" => r.bearer_auth(&self.token).header("x-api-key", &self.token),
            _ => r.bearer_auth(&self.token),
        };
        if let Some(b) = body {
            let media = match (contract, path) {
                ("whispir", p) if p.starts_with("/contacts") => {
                    "application/vnd.whispir.contact-v1+json"
                }
                ("whispir", _) => "application/vnd.whispir.message-v1+json",
                _ => "application/json",
            };
            r = r.header("content-type", media).body(b.to_string());
        }
        let r = r.send().await.unwrap();
        let status = r.status().as_u16();
        let bytes = r.bytes().await.unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// Creates a Webex room titled `title` with this emulator's token; its JSON.
    pub async fn create_room(&self, title: &str) -> Value {
        let r = self
            .http
            .post(self.url("/v1/rooms"))
            .bearer_auth(&self.token)
            .json(&serde_json::json!({ "title": title }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    /// A GET of `path` with a bearer token.
    pub async fn get_as(&self, path: &str, token: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// The answer to `send` once the quota (one request a minute) is used up by a first
    /// `send`; the emulator is reset afterwards.
    pub async fn over_quota(&self, send: impl AsyncFn() -> reqwest::Response) -> reqwest::Response {
        self.admin(
            reqwest::Method::PUT,
            "/_verdict/quotas",
            serde_json::json!([{"requests": 1, "window_s": 60}]),
        )
        .await;
        send().await;
        let r = send().await;
        self.admin(
            reqwest::Method::POST,
            "/_verdict/reset",
            serde_json::json!({}),
        )
        .await;
        r
    }

    /// The answer to `send` in maintenance mode with `retry_after`; maintenance ends after.
    pub async fn in_maintenance(
        &self,
        retry_after: u64,
        send: impl AsyncFn() -> reqwest::Response,
    ) -> reqwest::Response {
        self.admin(
            reqwest::Method::PUT,
            "/_verdict/maintenance",
            serde_json::json!({"on": true, "retry_after": retry_after}),
        )
        .await;
        let r = send().await;
        self.admin(
            reqwest::Method::PUT,
            "/_verdict/maintenance",
            serde_json::json!({"on": false}),
        )
        .await;
        r
    }

    pub async fn journal(&self) -> Vec<Value> {
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
}

/// How a walk produced a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// A real condition of the API.
    Condition,
    /// The X-Verdict-Fault header.
    Injection,
}

/// Produces every documented status of `contract`: through `condition` where it has a
/// recipe, else by injecting the status on a GET of `path` with `headers`. Asserts each
/// answer's status, prints the table, and returns how many came from real conditions.
pub async fn walk(
    s: &Running,
    contract: &str,
    path: &str,
    headers: &[(&str, &str)],
    condition: impl AsyncFn(u16) -> Option<reqwest::Response>,
) -> usize {
    let mut rows = Vec::new();
    for status in verdict::Catalog::builtin()
        .get(contract)
        .unwrap()
        .documented_statuses()
    {
        let (r, how) = match condition(status.code).await {
            Some(r) => (r, How::Condition),
            None => {
                let mut r = s
                    .http
                    .get(s.url(path))
                    .header("X-Verdict-Fault", format!("status={}", status.code));
                for (k, v) in headers {
                    r = r.header(*k, *v);
                }
                (r.send().await.unwrap(), How::Injection)
            }
        };
        assert_eq!(
            r.status().as_u16(),
            status.code,
            "{contract} {} by {how:?}",
            status.code
        );
        rows.push((status.code, how));
    }
    let real = rows.iter().filter(|r| r.1 == How::Condition).count();
    println!(
        "{contract}: {} statuses, {real} by a real condition, {} by injection",
        rows.len(),
        rows.len() - real
    );
    for (code, how) in &rows {
        println!("  {code}  {how:?}");
    }
    real
}

/// An answer read off a raw connection, byte for byte as the server sent it.
#[derive(Debug)]
pub struct RawAnswer {
    /// The status, if a status line arrived.
    pub status: Option<u16>,
    /// The header lines (names in lower case), in order.
    pub headers: Vec<(String, String)>,
    /// Every byte after the head.
    pub body: Vec<u8>,
}

impl RawAnswer {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON; panics with the answer when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }
}

impl Running {
    /// Sends `method target` with `headers` on a new plain connection that the server is
    /// asked to close, and reads everything it sends back.
    pub async fn raw(&self, method: &str, target: &str, headers: &[(&str, &str)]) -> RawAnswer {
        let mut request =
            format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
        for (k, v) in headers {
            request.push_str(&format!("{k}: {v}\r\n"));
        }
        request.push_str("\r\n");
        self.raw_bytes(request.as_bytes()).await
    }

    /// Sends `request` as it is on a new plain connection and reads until the server
    /// closes it (a write the server stopped reading is not an error).
    pub async fn raw_bytes(&self, request: &[u8]) -> RawAnswer {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = self.origin.trim_start_matches("http://");
        let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
        let _ = conn.write_all(request).await;
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(30),
            conn.read_to_end(&mut buf),
        )
        .await
        .expect("the server neither answered nor closed the connection");
        parse_raw(&buf)
    }
}

/// Splits what a server sent into status, headers and body.
pub fn parse_raw(buf: &[u8]) -> RawAnswer {
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(buf.len(), |i| i + 4);
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.strip_prefix("HTTP/1.1 "))
        .and_then(|r| r.get(..3))
        .and_then(|c| c.parse().ok());
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    RawAnswer {
        status,
        headers,
        body: buf[split..].to_vec(),
    }
}
