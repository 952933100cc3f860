//! The client against servers that try to hurt it: redirect chains that bounce between
//! origins, a redirect from https down to http, absurd waits, broken batches, bodies past
//! the limit (a gzip bomb among them), servers that stop talking. Every server is real and
//! listens on 127.0.0.1; waits go through a fake clock, so nothing sleeps.

use std::io::Write;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::support::{FakeTimer, builder, client, client_on, verdict_error};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use verdict::decide::{Failure, Reason};
use verdict_client::{Attempts, Credentials, Error, ErrorKind};
use verdict_testkit::{Reply, Seen, Server};

/// Every test ends well within this; a hang fails the test instead of stalling the suite.
const NO_HANG: Duration = Duration::from_secs(30);

/// Runs `f` and fails the test if it has not finished within [`NO_HANG`].
async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(NO_HANG, f)
        .await
        .expect("the client hung")
}

const CREDENTIAL_HEADERS: [&str; 4] = ["authorization", "cookie", "proxy-authorization", "key"];

fn carries_credentials(s: &Seen) -> Vec<&'static str> {
    CREDENTIAL_HEADERS
        .into_iter()
        .filter(|h| s.headers.contains_key(*h))
        .collect()
}

/// Two servers on two origins (two ports of 127.0.0.1) whose answers refer to each other:
/// `script(to_a, to_b, path, n)` answers request `n` of a path, where `to_a` and `to_b` are
/// the base URLs of A and B.
async fn two_origins(
    script: impl Fn(&str, &str, &str, usize) -> Reply + Send + Sync + Clone + 'static,
) -> (Server, Server) {
    let base_a: Arc<OnceLock<String>> = Arc::default();
    let b = {
        let (base_a, script) = (base_a.clone(), script.clone());
        let base_b: Arc<OnceLock<String>> = Arc::default();
        let own = base_b.clone();
        let b = Server::start(move |s, n| {
            script(base_a.get().unwrap(), own.get().unwrap(), &s.path, n)
        })
        .await;
        base_b.set(format!("http://{}", b.addr)).unwrap();
        b
    };
    let to_b = format!("http://{}", b.addr);
    let a = {
        let base_a2 = base_a.clone();
        Server::start(move |s, n| script(base_a2.get().unwrap(), &to_b, &s.path, n)).await
    };
    base_a.set(format!("http://{}", a.addr)).unwrap();
    (a, b)
}

#[tokio::test]
async fn credentials_never_reach_another_origin_through_a_redirect_chain() {
    // A -> B -> A -> B with every redirect status, 307 and 308 keeping method and body.
    for (first, second, third) in [
        (307, 308, 307),
        (308, 307, 308),
        (302, 307, 301),
        (303, 308, 302),
    ] {
        let (a, b) = two_origins(move |to_a, to_b, path, _| match path {
            "/start" => Reply::status(first).header("Location", &format!("{to_b}/hop")),
            "/hop" => Reply::status(second).header("Location", &format!("{to_a}/back")),
            "/back" => Reply::status(third).header("Location", &format!("{to_b}/end")),
            _ => Reply::status(200).body("landed"),
        })
        .await;
        let timer = FakeTimer::new();
        let creds = Credentials::bearer("secret", || async { Ok("fresh".to_string()) }).unwrap();
        let c = client(builder("webex", &timer).credentials(creds));
        let r = within(
            c.post(a.url("/start"))
                .header("cookie", "session=1")
                .header("proxy-authorization", "Basic cHJveHk6cHc=")
                .body("payload")
                .send(),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 200, "{first} {second} {third}");
        let (seen_a, seen_b) = (a.seen(), b.seen());
        assert_eq!(seen_a[0].headers["authorization"], "Bearer secret");
        assert_eq!(seen_a[0].headers["cookie"], "session=1");
        assert_eq!(seen_b.len(), 2, "{first} {second} {third}: {seen_b:?}");
        for s in &seen_b {
            assert_eq!(
                carries_credentials(s),
                Vec::<&str>::new(),
                "{first} {second} {third}: {} reached the other origin",
                s.path
            );
        }
        // Once the chain has left the origin, coming back does not bring them back.
        let back = seen_a.iter().find(|s| s.path == "/back").unwrap();
        assert_eq!(carries_credentials(back), Vec::<&str>::new());
        if first == 307 || first == 308 {
            assert_eq!(seen_b[0].method, "POST");
            assert_eq!(&seen_b[0].body[..], b"payload");
        }
    }
}

#[tokio::test]
async fn a_refresh_after_a_cross_origin_redirect_sends_nothing_there() {
    // B answers the redirected request with 401: refreshing would hand the new token to B.
    let (a, b) = two_origins(|_, to_b, path, n| match path {
        "/start" => Reply::status(307).header("Location", &format!("{to_b}/grab")),
        _ if n == 0 => Reply::status(401),
        _ => Reply::status(200),
    })
    .await;
    let timer = FakeTimer::new();
    let creds = Credentials::bearer("secret", || async { Ok("fresh".to_string()) }).unwrap();
    let c = client(builder("webex", &timer).credentials(creds));
    let _ = within(c.get(a.url("/start")).send()).await;
    assert_eq!(a.seen().len(), 1);
    for s in b.seen() {
        assert_eq!(carries_credentials(&s), Vec::<&str>::new(), "{s:?}");
    }
}

#[tokio::test]
async fn a_loop_between_two_origins_ends_with_a_clear_error() {
    let (a, b) = two_origins(|to_a, to_b, path, _| match path {
        "/x" => Reply::status(307).header("Location", &format!("{to_b}/y")),
        _ => Reply::status(308).header("Location", &format!("{to_a}/x")),
    })
    .await;
    let timer = FakeTimer::new();
    let c = client(builder("webex", &timer));
    let e = verdict_error(
        within(c.get(a.url("/x")).bearer_auth("secret").send())
            .await
            .unwrap_err(),
    );
    assert!(
        matches!(e.kind(), ErrorKind::Refused(Reason::RedirectLoop { .. })),
        "{e}"
    );
    assert!(e.to_string().contains("/y was already visited"), "{e}");
    // The first URL is not a hop: the loop is seen when /y comes round again, so /x is
    // asked twice (without credentials the second time) and /y once.
    assert_eq!(e.attempts().len(), 3);
    assert_eq!((a.seen().len(), b.seen().len()), (2, 1));
    assert_eq!(a.seen()[0].headers["authorization"], "Bearer secret");
    assert!(!a.seen()[1].headers.contains_key("authorization"));
    assert!(!b.seen()[0].headers.contains_key("authorization"));
}

#[tokio::test]
async fn an_endless_chain_of_new_urls_stops_at_the_hop_limit() {
    let server = Server::start(|s, _| {
        let n: u64 = s.path.trim_start_matches("/r/").parse().unwrap_or(0);
        Reply::status(307).header("Location", &format!("/r/{}", n + 1))
    })
    .await;
    let timer = FakeTimer::new();
    let e = verdict_error(
        within(
            client(builder("webex", &timer))
                .get(server.url("/r/0"))
                .send(),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(
        *e.kind(),
        ErrorKind::Refused(Reason::TooManyRedirects { max: 10 })
    );
    assert_eq!(server.seen().len(), 11);
}

/// A TLS server on 127.0.0.1 with a certificate made for the test, answering every
/// request with `response` (raw HTTP/1.1); returns its port and the authority to trust.
async fn https_server(response: String) -> (u16, reqwest::Certificate) {
    // The emulator's own per-run authority and certificate for 127.0.0.1.
    let tls = verdict_server::Tls::self_signed().unwrap();
    let (acceptor, ca_pem) = (tls.acceptor, tls.certificate_pem);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, response) = (acceptor.clone(), response.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = tls.write_all(response.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (
        port,
        reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap(),
    )
}

#[tokio::test]
async fn a_redirect_from_https_to_http_is_refused() {
    let plain = Server::start(|_, _| Reply::status(200)).await;
    for status in [301, 302, 303, 307, 308] {
        let (port, ca) = https_server(format!(
            "HTTP/1.1 {status} Moved\r\nLocation: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            plain.url("/landing")
        ))
        .await;
        let timer = FakeTimer::new();
        let c = client_on(
            verdict_client::http_client().tls_certs_only([ca]),
            builder("webex", &timer),
        );
        let e = verdict_error(
            within(
                c.get(format!("https://127.0.0.1:{port}/start"))
                    .bearer_auth("secret")
                    .send(),
            )
            .await
            .unwrap_err(),
        );
        assert!(
            matches!(e.kind(), ErrorKind::Refused(Reason::Downgrade { .. })),
            "{status}: {e}"
        );
        assert!(e.to_string().contains("http://"), "{e}");
    }
    assert!(
        plain.seen().is_empty(),
        "a request went out over plain http"
    );
}

#[tokio::test]
async fn retry_after_that_is_absurd_negative_or_garbage() {
    // Waits far past the caller's limit fail at once with the wait in the error. u64::MAX
    // seconds is past what the system clock holds: it panicked the client before (the time
    // the credential is blocked until overflowed).
    for (value, wait) in [
        ("18446744073709551615", Duration::from_secs(u64::MAX)),
        ("31536000000", Duration::from_secs(31_536_000_000)),
        ("Fri, 31 Dec 9999 23:59:59 GMT", Duration::ZERO),
    ] {
        let server =
            Server::start(move |_, _| Reply::status(429).header("Retry-After", value)).await;
        let timer = FakeTimer::new();
        let c = client(builder("webex", &timer).max_wait(Duration::from_secs(30)));
        let e = verdict_error(
            within(c.get(server.url("/v1/rooms")).bearer_auth("t").send())
                .await
                .unwrap_err(),
        );
        assert!(timer.waits().is_empty(), "{value}: no wait, no hang");
        if wait != Duration::ZERO {
            assert_eq!(e.retry_after(), Some(wait), "{value}");
        }
        assert!(e.to_string().contains("beyond the 30 s"), "{value}: {e}");
        // The demand holds for the credential: the next request fails at once too.
        let e = verdict_error(
            within(c.get(server.url("/v1/rooms")).bearer_auth("t").send())
                .await
                .unwrap_err(),
        );
        assert!(
            matches!(e.kind(), ErrorKind::Refused(Reason::WaitTooLong { .. })),
            "{value}: {e}"
        );
        assert_eq!(server.seen().len(), 1, "{value}");
    }
    // Negative, fractional, too many digits, empty, words: the contract's back-off instead.
    for value in ["-5", "-0", "1.5", "99999999999999999999999", "", "3 hours"] {
        let server = Server::start(move |_, n| {
            if n == 0 {
                Reply::status(503).header("Retry-After", value)
            } else {
                Reply::status(200)
            }
        })
        .await;
        let timer = FakeTimer::new();
        let r = within(
            client(builder("webex", &timer))
                .get(server.url("/v1/rooms"))
                .send(),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 200, "{value:?}");
        let waits = timer.durations();
        assert_eq!(waits.len(), 1, "{value:?}");
        assert!(waits[0] <= Duration::from_secs(60), "{value:?}: {waits:?}");
        let a = &r.extensions().get::<Attempts>().unwrap().0[0];
        assert!(a.note.contains("back-off"), "{value:?}: {}", a.note);
    }
}

#[tokio::test]
async fn a_quota_reset_past_the_clock_does_not_panic() {
    // RingCentral's window of u64::MAX seconds and a Unix reset past the clock's range.
    for (contract_id, headers) in [
        (
            "ringcentral",
            [
                ("X-Rate-Limit-Remaining", "0"),
                ("X-Rate-Limit-Window", "18446744073709551615"),
            ],
        ),
        (
            "webex",
            [
                ("X-RateLimit-Remaining", "0"),
                ("X-RateLimit-Reset", "18446744073709551615"),
            ],
        ),
    ] {
        let server = Server::start(move |_, _| {
            headers
                .iter()
                .fold(Reply::status(200), |r, (k, v)| r.header(k, v))
        })
        .await;
        let timer = FakeTimer::new();
        let c = client(builder(contract_id, &timer).max_wait(Duration::from_secs(30)));
        let r = within(c.get(server.url("/a")).bearer_auth("t").send())
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        // The next request on the credential would wait for decades: refused at once.
        let e = verdict_error(
            within(c.get(server.url("/b")).bearer_auth("t").send())
                .await
                .unwrap_err(),
        );
        assert!(
            matches!(e.kind(), ErrorKind::Refused(Reason::WaitTooLong { .. })),
            "{contract_id}: {e}"
        );
        assert_eq!(server.seen().len(), 1);
    }
}

/// A 207 with `content_type` and `body`, split by `verdict_client::batch`.
async fn split(
    content_type: &'static str,
    body: Vec<u8>,
    limits: &verdict::multipart::Limits,
) -> Result<verdict::multipart::Batch, Error> {
    let server = Server::start(move |_, _| {
        Reply::status(207)
            .header("Content-Type", content_type)
            .body(body.clone())
    })
    .await;
    let timer = FakeTimer::new();
    let r = within(
        client(builder("ringcentral", &timer))
            .get(server.url("/batch"))
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 207);
    within(verdict_client::batch(r, limits)).await
}

#[tokio::test]
async fn broken_batches_are_clear_errors() {
    use verdict::multipart::{BatchError, Limits};
    let status_list =
        "--b\r\nContent-Type: application/json\r\n\r\n{\"response\":[{\"status\":200}]}\r\n";
    // No boundary parameter.
    let e = split("multipart/mixed", status_list.into(), &Limits::default())
        .await
        .unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Batch(BatchError::NoBoundary { .. })),
        "{e}"
    );
    assert!(e.to_string().contains("no boundary"), "{e}");
    // A part past the part limit: the parser stops there, it does not keep the rest.
    let limits = Limits {
        max_part_bytes: 64 << 10,
        ..Limits::default()
    };
    let mut huge = status_list.as_bytes().to_vec();
    huge.extend_from_slice(b"--b\r\nContent-Type: application/json\r\n\r\n\"");
    huge.extend(std::iter::repeat_n(b'x', 4 << 20));
    huge.extend_from_slice(b"\"\r\n--b--\r\n");
    let e = split("multipart/mixed; boundary=b", huge, &limits)
        .await
        .unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Batch(BatchError::PartTooLarge { .. })),
        "{e}"
    );
    assert!(e.to_string().contains("65536-byte limit"), "{e}");
    // A status list that names more parts than there are, and one that is not a list.
    let mismatch = format!("{status_list}--b--\r\n")
        .replace("[{\"status\":200}]", "[{\"status\":200},{\"status\":404}]");
    let e = split(
        "multipart/mixed; boundary=b",
        mismatch.into(),
        &Limits::default(),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("2 entries"), "{e}");
    let not_a_list = "--b\r\n\r\n{\"response\":\"all fine\"}\r\n--b\r\n\r\n{}\r\n--b--\r\n";
    let e = split(
        "multipart/mixed; boundary=b",
        not_a_list.into(),
        &Limits::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Batch(_)), "{e}");
}

#[tokio::test]
async fn a_body_past_the_limit_is_cut_there() {
    const LIMIT: usize = 64 << 10;
    // A JSON answer the middleware reads for an application code (Webex Connect), streamed
    // without a length: cut at the limit with the prefix kept.
    let big = format!("{{\"code\":\"1000\",\"pad\":\"{}\"}}", "x".repeat(4 << 20));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn({
        let big = big.clone();
        async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let big = big.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = s.read(&mut buf).await;
                    let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n";
                    let _ = s.write_all(head.as_bytes()).await;
                    let _ = s.write_all(big.as_bytes()).await;
                });
            }
        }
    });
    let timer = FakeTimer::new();
    let c = client(builder("webex-connect", &timer).body_limit(LIMIT));
    let e = verdict_error(
        within(
            c.get(format!("http://{addr}/resources/v1/messaging/status/x"))
                .send(),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(*e.kind(), ErrorKind::BodyTooLarge { limit: LIMIT }, "{e}");
    assert!(e.to_string().contains("65536-byte limit"), "{e}");
    assert_eq!(e.body().len(), LIMIT);
    server.abort();

    // An error answer of any contract: its body is kept only up to the limit.
    let huge = "y".repeat(4 << 20);
    let server = Server::start(move |_, _| Reply::status(404).body(huge.clone())).await;
    let e = verdict_error(
        within(
            client(builder("webex", &timer).body_limit(LIMIT))
                .get(server.url("/v1/rooms/x"))
                .send(),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(e.status().map(|s| s.as_u16()), Some(404));
    assert_eq!(e.body().len(), LIMIT, "error body kept past the limit");
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

#[tokio::test]
async fn a_gzip_bomb_is_cut_at_the_limit_when_decompression_is_on() {
    // 10 MiB of zeros inside a JSON string, about 10 KiB on the wire.
    let mut json = b"{\"code\":\"1000\",\"pad\":\"".to_vec();
    json.resize(10 << 20, b'0');
    json.extend_from_slice(b"\"}");
    let bomb = gzip(&json);
    assert!(bomb.len() < 64 << 10, "{} bytes compressed", bomb.len());
    let server = Server::start(move |_, _| {
        Reply::status(200)
            .header("Content-Type", "application/json")
            .header("Content-Encoding", "gzip")
            .body(bomb.clone())
    })
    .await;
    let timer = FakeTimer::new();
    const LIMIT: usize = 1 << 20;

    // This test build turns reqwest's gzip on: the middleware sees the decoded stream and
    // stops reading at the limit, so no more than the limit (and one chunk) is held.
    let c = client(builder("webex-connect", &timer).body_limit(LIMIT));
    let e = verdict_error(
        within(c.get(server.url("/resources/v1/messaging/status/x")).send())
            .await
            .unwrap_err(),
    );
    assert_eq!(*e.kind(), ErrorKind::BodyTooLarge { limit: LIMIT }, "{e}");
    assert!(e.to_string().contains("1048576-byte limit"), "{e}");
    assert_eq!(e.body().len(), LIMIT);
    assert!(e.body().starts_with(b"{\"code\":\"1000\""));
    let seen = server.seen();
    assert!(
        seen[0].headers["accept-encoding"]
            .to_str()
            .unwrap()
            .contains("gzip"),
        "decompression is on in this build"
    );

    // With decompression off (as in the crate's own build), the body stays compressed.
    let c = client_on(
        verdict_client::http_client().gzip(false),
        builder("webex-connect", &timer).body_limit(LIMIT),
    );
    let r = within(c.get(server.url("/resources/v1/messaging/status/x")).send())
        .await
        .unwrap();
    let body = r.bytes().await.unwrap();
    assert!(body.len() < 64 << 10, "{} bytes", body.len());
    assert_eq!(&body[..2], [0x1f, 0x8b], "still gzip");
}

#[tokio::test]
async fn a_server_that_stops_mid_body_ends_in_a_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Headers that promise 1000 bytes, one byte, then silence with the connection open.
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            let _ = s
                .write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{",
                )
                .await;
            held.push(s);
        }
    });
    let timer = FakeTimer::new();
    let c = client_on(
        verdict_client::http_client().timeout(Duration::from_millis(300)),
        builder("webex-connect", &timer),
    );
    let e = verdict_error(
        within(
            c.get(format!("http://{addr}/resources/v1/messaging/status/x"))
                .send(),
        )
        .await
        .unwrap_err(),
    );
    // The body stopped short because the attempt's time ran out: both are true of it.
    assert_eq!(*e.kind(), ErrorKind::Network(Failure::BodyCut), "{e}");
    assert!(e.is_timeout(), "{e:?}");
    assert!(e.to_string().contains("body"), "{e}");
    holder.abort();
}
