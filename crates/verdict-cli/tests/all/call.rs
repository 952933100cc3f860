//! `verdict call` as a process, against scripted servers and the emulator on 127.0.0.1.

use std::io::Write;
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use verdict_testkit::{Reply, Server};

/// Runs `verdict` with `args`, `stdin` and extra environment variables; at most two
/// minutes, so that a hang fails the test instead of holding it.
async fn run(args: Vec<String>, stdin: Vec<u8>, env: Vec<(&'static str, &'static str)>) -> Output {
    let child = tokio::task::spawn_blocking(move || {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_verdict"))
            .args(&args)
            .envs(env)
            .env_remove("NO_COLOR")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&stdin).unwrap();
        child.wait_with_output().unwrap()
    });
    tokio::time::timeout(Duration::from_secs(120), child)
        .await
        .expect("verdict call ended within two minutes")
        .unwrap()
}

pub(crate) async fn verdict(args: Vec<String>) -> Output {
    run(args, Vec::new(), Vec::new()).await
}

pub(crate) fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The position of each needle in `text`, which must be found in this order.
fn in_order(text: &str, needles: &[&str]) {
    let mut from = 0;
    for n in needles {
        match text[from..].find(n) {
            Some(i) => from += i + n.len(),
            None => panic!("{n:?} not found after byte {from} in:\n{text}"),
        }
    }
}

/// A server that accepts connections and never answers.
async fn silent_server() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    (format!("http://{addr}/slow"), task)
}

/// An emulator of `contract` on 127.0.0.1 (over TLS when asked), stopped when dropped.
struct Emulator {
    origin: String,
    ca_pem: Option<String>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn emulator(contract: &str, tls: bool) -> Emulator {
    let c = verdict::Catalog::builtin().get(contract).unwrap().clone();
    emulator_of(c, tls).await
}

/// An emulator of `c` (a contract of any origin) on 127.0.0.1, as [`emulator`].
async fn emulator_of(c: verdict::Contract, tls: bool) -> Emulator {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = verdict_server::Config {
        token: "t0".into(),
        seed: 7,
        ..Default::default()
    };
    let em = Arc::new(verdict_server::Emulator::new(c, config).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let tls = tls.then(|| verdict_server::Tls::self_signed().unwrap());
    let ca_pem = tls.as_ref().map(|t| t.certificate_pem.clone());
    let scheme = if tls.is_some() { "https" } else { "http" };
    let task = tokio::spawn(verdict_server::serve_with(
        em,
        listener,
        tls,
        verdict_server::ServerLimits::default(),
        std::future::pending(),
    ));
    Emulator {
        origin: format!("{scheme}://{addr}"),
        ca_pem,
        task,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn body_to_stdout_trace_to_stderr_after_a_retry() {
    let server = Server::start(|_, n| {
        if n == 0 {
            Reply::status(503).header("Retry-After", "1")
        } else {
            Reply::status(200).json(serde_json::json!({"items": []}))
        }
    })
    .await;
    let o = verdict(args(&[
        "call",
        "--contract",
        "webex",
        &server.url("/v1/rooms"),
    ]))
    .await;
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "{\"items\":[]}");
    let err = stderr(&o);
    in_order(
        &err,
        &[
            "* attempt 1: GET",
            "(answer due within 30 s)",
            "* attempt 1: 503 Service Unavailable -> retry in 1 s (Retry-After)",
            "waiting 1 s",
            "before attempt 2",
            "* attempt 2: GET",
            "* attempt 2: 200 OK -> done",
        ],
    );
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert!(seen[1].at.duration_since(seen[0].at) >= Duration::from_secs(1));
}

#[tokio::test(flavor = "multi_thread")]
async fn verbose_prints_every_head_as_it_happens_with_credentials_masked() {
    let server = Server::start(|_, n| {
        if n == 0 {
            Reply::status(302).header("Location", "/v1/next")
        } else {
            Reply::status(200).header("X-Thing", "a").body("ok")
        }
    })
    .await;
    let o = verdict(args(&[
        "call",
        "-v",
        "-c",
        "webex",
        "-H",
        "Authorization: Bearer abcdefghijklmnopqrstuvwxyz",
        &server.url("/v1/first?x=1"),
    ]))
    .await;
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    in_order(
        &err,
        &[
            "* attempt 1: GET",
            "> GET /v1/first?x=1 HTTP/1.1",
            "> Host: 127.0.0.1:",
            "> Authorization: Bearer abcd…",
            "> Accept: */*",
            "< HTTP/1.1 302 Found",
            "< Location: /v1/next",
            "* attempt 1: 302 Found -> redirect: GET",
            "* attempt 2: GET",
            "> GET /v1/next HTTP/1.1",
            "< HTTP/1.1 200 OK",
            "< X-Thing: a",
            "* attempt 2: 200 OK -> done",
        ],
    );
    assert!(!err.contains("efghijklmnop"), "{err}");
    assert!(
        !err.contains("DEBUG"),
        "one -v shows heads, not the log: {err}"
    );
    let seen = server.seen();
    assert_eq!(
        seen[0].headers["authorization"],
        "Bearer abcdefghijklmnopqrstuvwxyz"
    );
    assert!(
        seen[0].headers["user-agent"]
            .to_str()
            .unwrap()
            .starts_with("verdict/")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn user_sends_basic_credentials() {
    let server = Server::start(|_, _| Reply::status(200)).await;
    let o = verdict(args(&["call", "-u", "user:pass", &server.url("/")])).await;
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        server.seen()[0].headers["authorization"],
        "Basic dXNlcjpwYXNz"
    );
    let o = verdict(args(&["call", "-u", "user", &server.url("/")])).await;
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("USER:PASSWORD"));
}

#[tokio::test(flavor = "multi_thread")]
async fn json_output_has_status_headers_body_and_attempts() {
    let server = Server::start(|s, _| {
        assert_eq!(s.method, "PATCH");
        assert_eq!(s.headers["content-type"], "application/json");
        assert_eq!(s.headers["x-extra"], "1");
        Reply::status(200)
            .header("X-Thing", "a")
            .json(serde_json::json!({"name": "x"}))
    })
    .await;
    let o = verdict(args(&[
        "call",
        "-c",
        "token-api",
        "-X",
        "patch",
        "-H",
        "X-Extra: 1",
        "-d",
        "{\"name\":\"x\"}",
        "--json",
        &server.url("/v1/items/1"),
    ]))
    .await;
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["status"], 200);
    assert_eq!(v["body"]["name"], "x");
    assert_eq!(v["encoding"], "json");
    assert_eq!(v["headers"]["x-thing"][0], "a");
    assert_eq!(v["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(v["error"], Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn json_carries_binary_bodies_as_base64() {
    let server = Server::start(|s, _| match s.path.as_str() {
        "/bin" => Reply::status(200).body(vec![0xff, 0x00, 0x80, 0x41]),
        _ => Reply::status(200).body("plain text é"),
    })
    .await;
    let o = verdict(args(&["call", "--json", &server.url("/bin")])).await;
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["encoding"], "base64");
    assert_eq!(v["body"], "/wCAQQ==");
    let o = verdict(args(&["call", "--json", &server.url("/text")])).await;
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["encoding"], "utf-8");
    assert_eq!(v["body"], "plain text é");
}

#[tokio::test(flavor = "multi_thread")]
async fn distinct_exit_codes() {
    let client_error = Server::start(|_, _| Reply::status(404).json(serde_json::json!({"message": "The requested resource could not be found.", "trackingId": "T1"}))).await;
    let o = verdict(args(&[
        "call",
        "-c",
        "webex",
        &client_error.url("/v1/rooms/x"),
    ]))
    .await;
    assert_eq!(o.status.code(), Some(3));
    let err = stderr(&o);
    assert!(
        err.contains("404") && err.contains("could not be found") && err.contains("T1"),
        "{err}"
    );

    let server_error = Server::start(|_, _| Reply::status(500)).await;
    let o = verdict(args(&[
        "call",
        "-c",
        "ringcentral",
        "--max-wait",
        "60",
        &server_error.url("/x"),
    ]))
    .await;
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert_eq!(server_error.seen().len(), 4);
    assert!(stderr(&o).contains("4 attempts in "), "{}", stderr(&o));

    let app = Server::start(|_, _| {
        Reply::status(200).json(serde_json::json!({"code": "7109", "description": "User in DnD"}))
    })
    .await;
    let o = verdict(args(&[
        "call",
        "-c",
        "webex-connect",
        "--api",
        "transaction-status",
        &app.url("/status"),
    ]))
    .await;
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("User in DnD"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wait_beyond_max_wait_says_how_to_allow_it() {
    let too_long = Server::start(|_, _| Reply::status(429).header("Retry-After", "120")).await;
    let o = verdict(args(&[
        "call",
        "-c",
        "webex",
        "--max-wait",
        "5",
        &too_long.url("/x"),
    ]))
    .await;
    assert_eq!(o.status.code(), Some(5));
    assert!(stderr(&o).contains("advice: the server asks for a wait of 120 s"));
    assert!(stderr(&o).contains("--max-wait 120"), "{}", stderr(&o));
    let o = verdict(args(&[
        "call",
        "-c",
        "webex",
        "--json",
        &too_long.url("/x"),
        "-m",
        "10",
    ]))
    .await;
    assert_eq!(o.status.code(), Some(5), "--max-time also bounds the waits");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["error"]["wait_demanded_s"], 120.0);
    assert!(
        v["error"]["advice"]
            .as_str()
            .unwrap()
            .contains("--max-wait 120 --max-time 150")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_connection_is_a_network_failure() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let o = verdict(args(&[
        "call",
        "-c",
        "http",
        "--max-wait",
        "10",
        &format!("http://{addr}/"),
    ]))
    .await;
    assert_eq!(o.status.code(), Some(6), "{}", stderr(&o));
}

#[tokio::test(flavor = "multi_thread")]
async fn max_time_bounds_the_whole_call() {
    let (url, _server) = silent_server().await;
    let o = verdict(args(&["call", "-m", "2", &url])).await;
    assert_eq!(o.status.code(), Some(6), "{}", stderr(&o));
    let err = stderr(&o);
    in_order(
        &err,
        &[
            "* attempt 1: GET",
            "(answer due within ",
            " s (--max-time))",
            "cut off: --max-time 2 s has passed",
            "advice: the call did not finish within --max-time 2",
            "verdict: no complete answer within --max-time 2 s (1 attempt in 2.",
        ],
    );
    let o = verdict(args(&["call", "--json", "--max-time", "1", &url])).await;
    assert_eq!(o.status.code(), Some(6));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["error"]["exit_code"], 6);
    assert!(v["elapsed_s"].as_f64().unwrap() >= 1.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn each_attempt_has_its_own_timeout() {
    let (url, _server) = silent_server().await;
    let o = verdict(args(&[
        "call",
        "--timeout",
        "1",
        "--connect-timeout",
        "5",
        "-m",
        "60",
        &url,
    ]))
    .await;
    assert_eq!(o.status.code(), Some(6), "{}", stderr(&o));
    let err = stderr(&o);
    in_order(
        &err,
        &[
            "* attempt 1: GET",
            "(answer due within 1 s)",
            "* attempt 1: no answer -> retry after timed out",
            "* attempt 2: GET",
            "verdict: http: GET",
        ],
    );
    // The summary counts the time the attempts took, not just the waits between them.
    let summary = err.lines().last().unwrap();
    let secs: f64 = summary
        .rsplit_once(" attempts in ")
        .and_then(|(_, t)| t.split(' ').next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("{summary}"));
    assert!(secs >= 2.0, "{summary}");
}

#[tokio::test(flavor = "multi_thread")]
async fn output_file_silent_and_fail() {
    let server = Server::start(|s, _| match s.path.as_str() {
        "/missing" => Reply::status(404).body("no such thing"),
        "/moved" => Reply::status(302).header("Location", "/body"),
        _ => Reply::status(200).body("the body"),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.txt");
    let o = verdict(args(&[
        "call",
        "-s",
        "-L",
        "-o",
        file.to_str().unwrap(),
        &server.url("/moved"),
    ]))
    .await;
    assert!(o.status.success());
    assert!(o.stdout.is_empty() && o.stderr.is_empty(), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "the body");

    let o = verdict(args(&["call", &server.url("/missing")])).await;
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "no such thing\n");
    let o = verdict(args(&["call", "-f", "-s", &server.url("/missing")])).await;
    assert_eq!(o.status.code(), Some(3));
    assert!(o.stdout.is_empty());
    assert_eq!(
        stderr(&o).lines().count(),
        1,
        "only the error line: {}",
        stderr(&o)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn head_and_include_print_the_status_line_and_headers() {
    let server = Server::start(|_, _| Reply::status(200).header("X-Thing", "a").body("body")).await;
    let o = verdict(args(&["call", "-I", &server.url("/h")])).await;
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.starts_with("HTTP/1.1 200 OK\n") && out.contains("x-thing: a\n"),
        "{out}"
    );
    assert!(!out.contains("body"));
    assert_eq!(server.seen()[0].method, "HEAD");

    let o = verdict(args(&["call", "-i", &server.url("/i")])).await;
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.starts_with("HTTP/1.1 200 OK\n") && out.ends_with("\n\nbody"),
        "{out}"
    );
    assert_eq!(server.seen()[1].method, "GET");
}

#[tokio::test(flavor = "multi_thread")]
async fn compressed_asks_for_and_decodes_gzip_deflate_and_br() {
    use flate2::write::{GzEncoder, ZlibEncoder};
    let text = b"squeezed and restored\n".to_vec();
    let plain = text.clone();
    let server = Server::start(move |s, _| {
        let mut out = Vec::new();
        let encoding = match s.path.as_str() {
            "/gzip" => {
                let mut e = GzEncoder::new(&mut out, flate2::Compression::default());
                e.write_all(&plain).unwrap();
                e.finish().unwrap();
                "gzip"
            }
            "/deflate" => {
                let mut e = ZlibEncoder::new(&mut out, flate2::Compression::default());
                e.write_all(&plain).unwrap();
                e.finish().unwrap();
                "deflate"
            }
            _ => {
                let mut e = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                e.write_all(&plain).unwrap();
                drop(e);
                "br"
            }
        };
        Reply::status(200)
            .header("Content-Encoding", encoding)
            .body(out)
    })
    .await;
    for path in ["/gzip", "/deflate", "/br"] {
        let o = verdict(args(&["call", "--compressed", &server.url(path)])).await;
        assert!(o.status.success(), "{path}: {}", stderr(&o));
        assert_eq!(o.stdout, text, "{path}");
    }
    assert_eq!(
        server.seen()[0].headers["accept-encoding"],
        "gzip, deflate, br"
    );
    let o = verdict(args(&["call", &server.url("/gzip")])).await;
    assert_eq!(
        &o.stdout[..2],
        &[0x1f, 0x8b],
        "without --compressed the body is as sent"
    );
    assert!(server.seen()[3].headers.get("accept-encoding").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn data_forms_raw_data_and_scheme_less_urls() {
    let server = Server::start(|_, _| Reply::status(200)).await;
    let bare = server.url("/form").trim_start_matches("http://").to_owned();
    let o = verdict(args(&["call", "-d", "a=1", "-d", "b=2", &bare])).await;
    assert!(o.status.success(), "{}", stderr(&o));
    let o = verdict(args(&[
        "call",
        "--data-raw",
        "@not-a-file",
        &server.url("/raw"),
    ]))
    .await;
    assert!(o.status.success(), "{}", stderr(&o));
    let seen = server.seen();
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].path, "/form");
    assert_eq!(&seen[0].body[..], b"a=1&b=2");
    assert_eq!(
        seen[0].headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(&seen[1].body[..], b"@not-a-file");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_body_is_streamed_and_cannot_be_repeated() {
    let server = Server::start(|s, _| match s.path.as_str() {
        "/flaky" => Reply::status(503),
        _ => Reply::status(200),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("body.json");
    std::fs::write(&file, "{\"big\": true}\n").unwrap();
    let at = format!("@{}", file.display());
    let o = verdict(args(&["call", "-d", &at, &server.url("/ok")])).await;
    assert!(o.status.success(), "{}", stderr(&o));
    let seen = server.seen();
    assert_eq!(&seen[0].body[..], b"{\"big\": true}\n");
    assert_eq!(seen[0].headers["content-length"], "14");
    assert_eq!(seen[0].headers["content-type"], "application/json");

    let o = verdict(args(&[
        "call",
        "-X",
        "PUT",
        "-d",
        &at,
        &server.url("/flaky"),
    ]))
    .await;
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("cannot be sent again") && err.contains("-d @- < FILE"),
        "{err}"
    );
    assert_eq!(server.seen().len(), 2, "sent once");

    // Through standard input the body is kept in memory, and repeated.
    let o = run(
        args(&[
            "call",
            "-X",
            "PUT",
            "-d",
            "@-",
            "-m",
            "60",
            &server.url("/flaky"),
        ]),
        b"{\"big\": true}".to_vec(),
        Vec::new(),
    )
    .await;
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(server.seen().len() > 3);
    assert!(
        server
            .seen()
            .iter()
            .skip(2)
            .all(|s| &s.body[..] == b"{\"big\": true}")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn redirect_failures_get_advice_that_fits() {
    let server = Server::start(|s, _| match s.path.as_str() {
        "/loop" => Reply::status(302).header("Location", "/loop2"),
        "/loop2" => Reply::status(302).header("Location", "/loop"),
        p if p.starts_with("/hop") => {
            let n: u32 = p[4..].parse().unwrap_or(0);
            Reply::status(302).header("Location", &format!("/hop{}", n + 1))
        }
        _ => Reply::status(502),
    })
    .await;
    let o = verdict(args(&["call", "-L", &server.url("/loop")])).await;
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
    let advice = stderr(&o);
    assert!(
        advice.contains("redirect loop") && advice.contains("go round in a loop"),
        "{advice}"
    );
    assert!(!advice.contains("follow Location"), "{advice}");

    let o = verdict(args(&["call", &server.url("/hop0")])).await;
    let advice = stderr(&o);
    assert!(advice.contains("more than 10 redirects"), "{advice}");
    assert!(!advice.contains("follow Location"), "{advice}");

    let o = verdict(args(&["call", "-d", "{}", &server.url("/post")])).await;
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    let advice = stderr(&o);
    assert!(advice.contains("POST was not repeated"), "{advice}");
    assert!(
        !advice.contains("try again") && !advice.contains("back off"),
        "{advice}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn poll_follows_an_accepted_answer() {
    let server = Server::start(|s, _| match s.path.as_str() {
        "/jobs" => Reply::status(202)
            .header("Location", "/jobs/1")
            .header("Retry-After", "0"),
        _ => Reply::status(200).body("finished"),
    })
    .await;
    let o = verdict(args(&["call", "--poll", "-d", "{}", &server.url("/jobs")])).await;
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "finished");
    assert_eq!(server.seen()[1].path, "/jobs/1");
    // A body from a file is polled after too (it is read into memory for that).
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("job.json");
    std::fs::write(&file, "{\"job\": 1}").unwrap();
    let at = format!("@{}", file.display());
    let o = verdict(args(&["call", "--poll", "-d", &at, &server.url("/jobs")])).await;
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(&server.seen()[2].body[..], b"{\"job\": 1}");
    assert_eq!(server.seen()[3].path, "/jobs/1");
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_with_cacert_or_insecure_and_refused_otherwise() {
    let em = emulator("token-api", true).await;
    let url = format!("{}/_verdict/openapi.json", em.origin);
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, em.ca_pem.as_ref().unwrap()).unwrap();
    let o = verdict(args(&[
        "call",
        "-s",
        "--cacert",
        ca.to_str().unwrap(),
        &url,
    ]))
    .await;
    assert!(o.status.success(), "{}", stderr(&o));
    let o = verdict(args(&["call", "-s", "-k", &url])).await;
    assert!(o.status.success(), "{}", stderr(&o));
    let o = verdict(args(&["call", "-s", &url])).await;
    assert_eq!(o.status.code(), Some(6), "{}", stderr(&o));

    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let key = dir.path().join("key.pem");
    std::fs::write(
        &key,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    for bad in [&empty, &key] {
        let o = verdict(args(&["call", "--cacert", bad.to_str().unwrap(), &url])).await;
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("holds no certificate"),
            "{}",
            stderr(&o)
        );
    }
}

/// Two extensions in the RingCentral emulator; their ids.
async fn two_extensions(em: &Emulator) -> Vec<String> {
    let http = reqwest::Client::new();
    let mut ids = Vec::new();
    for n in ["101", "102"] {
        let r = http
            .post(format!("{}/restapi/v1.0/account/~/extension", em.origin))
            .bearer_auth("t0")
            .json(&serde_json::json!({"extensionNumber": n, "name": format!("ext {n}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        ids.push(v["id"].as_str().unwrap().to_owned());
    }
    ids
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_is_split_into_its_parts() {
    let em = emulator("ringcentral", false).await;
    let ids = two_extensions(&em).await;
    let url = |list: &str| format!("{}/restapi/v1.0/account/~/extension/{list}", em.origin);
    let call = |list: &str, json: bool| {
        let mut a = args(&[
            "call",
            "-c",
            "ringcentral",
            "-H",
            "Authorization: Bearer t0",
        ]);
        if json {
            a.push("--json".into());
        }
        a.push(url(list));
        a
    };
    let o = verdict(call(&format!("{},{}", ids[0], ids[1]), false)).await;
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let parts: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(parts[1]["extensionNumber"], "102");
    in_order(
        &stderr(&o),
        &["-> done", "* part 1: 200 OK", "* part 2: 200 OK"],
    );

    let o = verdict(call(&format!("{},999999", ids[0]), true)).await;
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    in_order(
        &stderr(&o),
        &[
            "* part 2: 404 Not Found",
            "1 of the 2 parts of the batch failed",
        ],
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["status"], 207);
    let parts = v["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0]["status"], 200);
    assert_eq!(parts[0]["encoding"], "json");
    assert_eq!(parts[0]["body"]["extensionNumber"], "101");
    assert_eq!(parts[1]["status"], 404);
    assert_eq!(parts[1]["body"]["errorCode"], "CMN-102");
    assert_eq!(v["error"]["exit_code"], 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_colours_through_a_pipe() {
    // An unusable Retry-After makes the client log a warning as well as the trace.
    let server = Server::start(|_, n| {
        if n == 0 {
            Reply::status(503).header("Retry-After", "soon")
        } else {
            Reply::status(200)
        }
    })
    .await;
    let o = verdict(args(&["call", "-v", &server.url("/x")])).await;
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("WARN"), "{}", stderr(&o));
    assert!(!o.stderr.contains(&0x1b), "{}", stderr(&o));
}

#[tokio::test(flavor = "multi_thread")]
async fn colours_on_a_terminal_unless_no_color() {
    // `script` gives the command a terminal; without it there is nothing to check.
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        return;
    }
    let server = Server::start(|_, _| Reply::status(404)).await;
    let line = format!(
        "{} call {}",
        env!("CARGO_BIN_EXE_verdict"),
        server.url("/x")
    );
    let on_terminal = move |no_color: bool| {
        let mut c = std::process::Command::new("script");
        c.args(["-qec", &line, "/dev/null"])
            .env_remove("NO_COLOR")
            .stdin(Stdio::null());
        if no_color {
            c.env("NO_COLOR", "1");
        }
        c.output().unwrap()
    };
    let o = tokio::task::spawn_blocking(move || (on_terminal(false), on_terminal(true)))
        .await
        .unwrap();
    let coloured = String::from_utf8_lossy(&o.0.stdout);
    assert!(coloured.contains("\x1b[33m404 Not Found"), "{coloured}");
    let plain = String::from_utf8_lossy(&o.1.stdout);
    assert!(
        plain.contains("404 Not Found") && !plain.contains('\x1b'),
        "{plain}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_api_is_refused_before_sending() {
    let server = Server::start(|_, _| Reply::status(200)).await;
    let o = verdict(args(&[
        "call",
        "-c",
        "webex-connect",
        "--api",
        "mesaging",
        &server.url("/x"),
    ]))
    .await;
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("did you mean messaging"),
        "{}",
        stderr(&o)
    );
    assert!(server.seen().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_a_usage_error() {
    for a in [
        vec!["call", "not a url"],
        vec!["call", "ftp://127.0.0.1/x"],
        vec!["call", "-H", "no colon", "http://127.0.0.1:1/"],
        vec![
            "call",
            "-d",
            "@/nonexistent/body.json",
            "http://127.0.0.1:1/",
        ],
        vec!["call", "--max-wait", "-1", "http://127.0.0.1:1/"],
        vec!["call", "--max-time", "0", "http://127.0.0.1:1/"],
        vec!["call", "--timeout", "nan", "http://127.0.0.1:1/"],
        vec!["call", "--connect-timeout", "0", "http://127.0.0.1:1/"],
        vec!["call", "-c", "nope", "http://127.0.0.1:1/"],
        vec![
            "call",
            "--api",
            "nosuch",
            "-c",
            "webex-connect",
            "http://127.0.0.1:1/",
        ],
        vec!["call", "-I", "-d", "x", "http://127.0.0.1:1/"],
    ] {
        let o = verdict(args(&a)).await;
        assert_eq!(o.status.code(), Some(2), "{a:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(!err.contains("panicked"));
        if a.contains(&"-I") {
            continue; // clap's own message, with its usage lines
        }
        assert_eq!(err.trim().lines().count(), 1, "{a:?}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_processes_share_a_back_off_through_redis() {
    let Some(redis) = verdict_testkit::RedisServer::start() else {
        return;
    };
    let server = Server::start(|_, _| Reply::status(429).header("Retry-After", "30")).await;
    let call = |path: &str| {
        args(&[
            "call",
            "-c",
            "webex",
            "--store",
            &redis.url(),
            "--max-wait",
            "2",
            "-H",
            "Authorization: Bearer shared",
            &server.url(path),
        ])
    };
    let first = verdict(call("/one")).await;
    assert_eq!(first.status.code(), Some(5), "{}", stderr(&first));
    let second = verdict(call("/two")).await;
    assert_eq!(second.status.code(), Some(5), "{}", stderr(&second));
    assert_eq!(
        server.seen().len(),
        1,
        "the second process waited on the first one's Retry-After without sending"
    );
    let o = verdict(args(&[
        "call",
        "--store",
        "http://x",
        "http://127.0.0.1:1/",
    ]))
    .await;
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn help_examples_are_whole_commands_on_80_columns() {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_verdict"))
        .args(["call", "--help"])
        .env("COLUMNS", "80")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&o.stdout);
    let examples = help.split_once("Examples:\n").expect("examples").1;
    let mut continued = false;
    for line in examples.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            line.starts_with("  verdict call ") || (continued && line.starts_with("      ")),
            "an example was wrapped:\n{examples}"
        );
        continued = line.ends_with('\\');
    }
    for flag in [
        "--user",
        "--output",
        "--silent",
        "--head",
        "--insecure",
        "--compressed",
        "--fail",
        "--data-raw",
        "--location",
        "--max-time",
        "--timeout",
        "--connect-timeout",
        "--client-id",
        "--client-secret",
        "--username",
        "--password",
        "--token-file",
    ] {
        assert!(help.contains(flag), "{flag} in the help");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn json_errors_carry_problem_details() {
    let server = Server::start(|_, _| {
        Reply::status(404)
            .header("content-type", "application/problem+json")
            .body(
                r#"{"type":"https://api.example/problems/missing","title":"Not here","status":404,"detail":"Item 7 does not exist.","instance":"/v1/items/7","hint":"list the items"}"#,
            )
    })
    .await;
    let o = verdict(args(&["call", "--json", &server.url("/v1/items/7")])).await;
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let p = &v["error"]["problem"];
    assert_eq!(p["type"], "https://api.example/problems/missing", "{v}");
    assert_eq!(p["detail"], "Item 7 does not exist.");
    assert_eq!(p["instance"], "/v1/items/7");
    assert_eq!(p["hint"], "list the items");
}

/// The GitHub example contract's 403: a rate limit when it carries Retry-After (waited,
/// then repeated), a permission refusal otherwise (fails at once).
#[tokio::test(flavor = "multi_thread")]
async fn a_github_403_is_waited_out_when_a_rate_limit_and_fails_when_a_refusal() {
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/contracts/github.toml"
    );
    let text = std::fs::read_to_string(file).unwrap();
    let (catalog, id) = verdict::Catalog::builtin()
        .with_file(verdict::SourceFile::new("github.toml", &text))
        .unwrap();
    let em = emulator_of(catalog.get(&id).unwrap().clone(), false).await;
    let http = reqwest::Client::new();
    let admin =
        |path: &str, body: Value| http.post(format!("{}{path}", em.origin)).json(&body).send();
    let queued = admin(
        "/_verdict/faults",
        serde_json::json!({"path": "/repos/octo/hello/issues", "status": 403, "retry_after": 1}),
    )
    .await
    .unwrap();
    assert!(queued.status().is_success());
    let url = format!("{}/repos/octo/hello/issues", em.origin);
    let call = || {
        verdict(args(&[
            "call",
            "--contract",
            file,
            "-H",
            "Authorization: token t0",
            &url,
        ]))
    };
    let o = call().await;
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "[]");
    in_order(
        &stderr(&o),
        &[
            "* attempt 1: 403 Forbidden -> retry in 1 s (Retry-After)",
            "* attempt 2: 200 OK -> done",
        ],
    );
    // The emulator's own quota refusal, not a fault: a 403 with the primary limit's headers
    // (remaining 0, a Unix reset) and Retry-After, read as the rate-limit variant.
    let quota = serde_json::json!([{"requests": 1, "window_s": 2, "status": 403, "group": "core"}]);
    let set = http
        .put(format!("{}/_verdict/quotas", em.origin))
        .json(&quota)
        .send()
        .await
        .unwrap();
    assert!(set.status().is_success());
    let first = call().await;
    assert!(first.status.success(), "{}", stderr(&first));
    let second = call().await;
    assert!(second.status.success(), "{}", stderr(&second));
    in_order(
        &stderr(&second),
        &[
            "* attempt 1: 403 Forbidden -> retry in",
            "(Retry-After)",
            "200 OK -> done",
        ],
    );
    admin(
        "/_verdict/tokens",
        serde_json::json!({"token": "ro", "read_only": true}),
    )
    .await
    .unwrap();
    let o = verdict(args(&[
        "call",
        "--contract",
        file,
        "-H",
        "Authorization: token ro",
        "-H",
        "Content-Type: application/json",
        "-d",
        "{\"name\": \"bug\"}",
        &format!("{}/repos/octo/hello/labels", em.origin),
    ]))
    .await;
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("403") && !err.contains("attempt 2"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slack_ok_false_fails_with_its_code_and_a_success_is_done() {
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/contracts/slack.toml"
    );
    let text = std::fs::read_to_string(file).unwrap();
    let (catalog, id) = verdict::Catalog::builtin()
        .with_file(verdict::SourceFile::new("slack.toml", &text))
        .unwrap();
    let em = emulator_of(catalog.get(&id).unwrap().clone(), false).await;
    let post = |channel: &str| {
        let body = format!("{{\"channel\": \"{channel}\", \"text\": \"hi\"}}");
        let url = format!("{}/api/chat.postMessage", em.origin);
        let file = file.to_owned();
        async move {
            verdict(args(&[
                "call",
                "--contract",
                &file,
                "--json",
                "-H",
                "Authorization: Bearer t0",
                "-H",
                "Content-Type: application/json",
                "-d",
                &body,
                &url,
            ]))
            .await
        }
    };
    let o = post("C0GENERAL").await;
    assert!(o.status.success(), "{}", stderr(&o));
    let out: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(out["status"], 200, "{out}");

    // A 200 whose ok is false is a failure, with Slack's code, and it is not repeated.
    let o = post("C_NOWHERE").await;
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let out: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(out["error"]["app_code"], "channel_not_found", "{out}");
    assert!(!stderr(&o).contains("attempt 2"), "{}", stderr(&o));
}
