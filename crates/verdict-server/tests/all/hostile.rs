//! The emulator against clients that try to hurt it: bytes trickled to hold connections,
//! huge headers and bodies, JSON nested 100 000 deep, invalid UTF-8 in the body, the path
//! and a header, path traversal in ids, and the admin API without its token. Every case
//! runs beside a well-behaved client that must keep getting answers, and checks the
//! status and the body the hostile client gets. Hostile requests go over raw TCP where an
//! HTTP client would clean them up (dot segments, invalid bytes).

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::support::{Running, start_with};
use reqwest::Method;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use verdict_server::{Config, ServerLimits};

/// Every hostile exchange ends within this, or the test fails as a hang.
const NO_HANG: Duration = Duration::from_secs(30);

fn config() -> Config {
    Config {
        token: "t0".into(),
        seed: 7,
        ..Config::default()
    }
}

async fn webex(limits: ServerLimits) -> Running {
    start_with("webex", config(), false, limits).await
}

fn addr(s: &Running) -> String {
    s.origin.trim_start_matches("http://").to_owned()
}

/// Runs `hostile` while a well-behaved client lists rooms over and over; every one of its
/// requests must succeed, at least one while `hostile` is under way, and one after.
async fn while_serving<T>(s: &Running, hostile: impl Future<Output = T>) -> T {
    let finished = AtomicBool::new(false);
    let hostile = async {
        let out = tokio::time::timeout(NO_HANG, hostile)
            .await
            .expect("the hostile exchange did not end");
        finished.store(true, Ordering::SeqCst);
        out
    };
    let good = async {
        let mut served = 0;
        loop {
            let r = tokio::time::timeout(NO_HANG, s.get_as("/v1/rooms", "t0"))
                .await
                .expect("the well-behaved client was not answered");
            assert_eq!(r.status(), 200, "the well-behaved client was refused");
            served += 1;
            if finished.load(Ordering::SeqCst) {
                return served;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let (out, served) = tokio::join!(hostile, good);
    assert!(served >= 1);
    assert_eq!(s.get_as("/v1/rooms", "t0").await.status(), 200);
    out
}

/// What came back on a raw connection.
#[derive(Debug)]
struct Raw {
    /// The status, if a status line arrived.
    status: Option<u16>,
    head: String,
    body: Vec<u8>,
}

impl Raw {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not a JSON body ({e}): {} {}",
                self.head,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// Reads until the server closes the connection, then splits head and body.
async fn read_answer(conn: &mut TcpStream) -> Raw {
    let mut buf = Vec::new();
    let _ = conn.read_to_end(&mut buf).await;
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(buf.len(), |i| i + 4);
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let status = head
        .strip_prefix("HTTP/1.1 ")
        .and_then(|r| r.get(..3))
        .and_then(|c| c.parse().ok());
    Raw {
        status,
        head,
        body: buf[split..].to_vec(),
    }
}

/// Sends `request` as it is on a new connection and reads the answer. The server may stop
/// reading (and answer) before all of it is sent: a failed write is not an error here.
async fn raw(s: &Running, request: &[u8]) -> Raw {
    let mut conn = TcpStream::connect(addr(s)).await.unwrap();
    let _ = conn.write_all(request).await;
    read_answer(&mut conn).await
}

/// A request with `target`, `extra` header lines, and `body` (with its length).
fn request(method: &str, target: &[u8], extra: &[u8], body: &[u8]) -> Vec<u8> {
    let mut r = Vec::new();
    r.extend_from_slice(method.as_bytes());
    r.push(b' ');
    r.extend_from_slice(target);
    r.extend_from_slice(b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    r.extend_from_slice(extra);
    if !body.is_empty() {
        r.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    r.extend_from_slice(b"\r\n");
    r.extend_from_slice(body);
    r
}

const AUTH: &[u8] = b"Authorization: Bearer t0\r\n";
const JSON_AUTH: &[u8] = b"Authorization: Bearer t0\r\nContent-Type: application/json\r\n";

/// The message of a Webex error body.
fn message(body: &Value) -> &str {
    body["message"].as_str().unwrap_or_else(|| panic!("{body}"))
}

#[tokio::test]
async fn trickled_headers_are_cut_off_while_others_are_served() {
    let s = webex(ServerLimits {
        header_timeout: Duration::from_millis(800),
        ..Default::default()
    })
    .await;
    // Twenty connections, each sending its headers one byte every 100 ms, forever.
    let trickle = async {
        let mut conns = Vec::new();
        for _ in 0..20 {
            let mut c = TcpStream::connect(addr(&s)).await.unwrap();
            c.write_all(b"GET /v1/rooms HTTP/1.1\r\nHost: x\r\n")
                .await
                .unwrap();
            conns.push(c);
        }
        let mut open = conns.len();
        let mut closed = vec![false; conns.len()];
        let mut sent = 0usize;
        while open > 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            for (c, done) in conns.iter_mut().zip(closed.iter_mut()) {
                if *done {
                    continue;
                }
                let byte = [b"X-Slow: a\r\n"[sent % 11]];
                if c.write_all(&byte).await.is_err() {
                    *done = true;
                    open -= 1;
                    continue;
                }
                // A closed connection reads EOF (or the server's last words) at once.
                let mut buf = [0u8; 256];
                if let Ok(Ok(n)) =
                    tokio::time::timeout(Duration::from_millis(1), c.read(&mut buf)).await
                {
                    assert!(
                        n == 0 || buf.starts_with(b"HTTP/1.1 408"),
                        "{:?}",
                        &buf[..n]
                    );
                    *done = true;
                    open -= 1;
                }
            }
            sent += 1;
        }
        sent
    };
    let bytes = while_serving(&s, trickle).await;
    assert!(
        bytes < 100,
        "trickled connections stayed open for {bytes} bytes"
    );
}

#[tokio::test]
async fn huge_headers_get_431_while_others_are_served() {
    let s = webex(ServerLimits::default()).await;
    for size in [256 << 10, 1 << 20] {
        let r = while_serving(&s, async {
            let big = format!("X-Big: {}\r\n", "a".repeat(size));
            raw(
                &s,
                &request("GET", b"/v1/rooms", &[AUTH, big.as_bytes()].concat(), b""),
            )
            .await
        })
        .await;
        assert_eq!(r.status, Some(431), "{size}: {r:?}");
    }
    // Many small headers: past the hundred the HTTP layer takes.
    let many: Vec<u8> = (0..150)
        .flat_map(|i| format!("X-H{i}: a\r\n").into_bytes())
        .collect();
    let r = while_serving(&s, async {
        raw(
            &s,
            &request("GET", b"/v1/rooms", &[AUTH, &many[..]].concat(), b""),
        )
        .await
    })
    .await;
    assert_eq!(r.status, Some(431), "{r:?}");
    // Headers that stay under the cap are fine.
    let r = s
        .http
        .get(s.url("/v1/rooms"))
        .bearer_auth("t0")
        .header("x-big", "a".repeat(16 << 10))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// Every limit README names is answered as it says: a request target over the limit 414,
/// a head too large or with too many fields 431, a head that cannot be parsed 400, a head
/// not finished in time 408, each with a JSON body in the contract's error shape and the
/// connection closed; a connection idle or silent for the deadline is closed unanswered.
#[tokio::test]
async fn every_limit_is_answered_as_the_readme_says() {
    let s = webex(ServerLimits {
        header_timeout: Duration::from_millis(500),
        ..Default::default()
    })
    .await;
    let long_target = format!("/v1/rooms?q={}", "a".repeat(70_000));
    let many: Vec<u8> = (0..3000)
        .flat_map(|i| format!("X-H{i}: a\r\n").into_bytes())
        .collect();
    let big = format!("X-Big: {}\r\n", "a".repeat(300 << 10));
    let cases: [(Vec<u8>, u16, &str); 4] = [
        (
            request("GET", long_target.as_bytes(), AUTH, b""),
            414,
            "65534-byte limit",
        ),
        (
            request("GET", b"/v1/rooms", &[AUTH, &many[..]].concat(), b""),
            431,
            "100 header fields",
        ),
        (
            request("GET", b"/v1/rooms", &[AUTH, big.as_bytes()].concat(), b""),
            431,
            "65536-byte limit",
        ),
        (
            b"GET /v1/rooms HTTP/1.1\r\nHost x\r\n\r\n".to_vec(),
            400,
            "not well-formed",
        ),
    ];
    for (req, status, says) in cases {
        let r = while_serving(&s, async { raw(&s, &req).await }).await;
        assert_eq!(r.status, Some(status), "{r:?}");
        assert!(message(&r.json()).contains(says), "{status}: {r:?}");
        assert!(r.head.contains("trackingid: VERDICT_"), "{r:?}");
        assert!(r.head.contains("content-type: application/json"), "{r:?}");
    }
    // Headers begun but not finished in time: 408, then the connection ends.
    let mut conn = TcpStream::connect(addr(&s)).await.unwrap();
    conn.write_all(b"GET /v1/rooms HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let r = tokio::time::timeout(NO_HANG, read_answer(&mut conn))
        .await
        .unwrap();
    assert_eq!(r.status, Some(408), "{r:?}");
    assert!(
        message(&r.json()).contains("did not arrive within 0.5 s"),
        "{r:?}"
    );
    // A silent connection, and one idle after an answer, are closed without a word.
    let mut silent = TcpStream::connect(addr(&s)).await.unwrap();
    let r = tokio::time::timeout(NO_HANG, read_answer(&mut silent))
        .await
        .unwrap();
    assert!(r.head.is_empty() && r.body.is_empty(), "{r:?}");
    let mut idle = TcpStream::connect(addr(&s)).await.unwrap();
    idle.write_all(b"GET /v1/rooms HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t0\r\n\r\n")
        .await
        .unwrap();
    let r = tokio::time::timeout(NO_HANG, read_answer(&mut idle))
        .await
        .unwrap();
    assert_eq!(r.status, Some(200));
    assert_eq!(r.head.matches("HTTP/1.1").count(), 1, "{r:?}");
}

/// A head over the cap gets the emulator's 431 with a JSON body, whether it fits the HTTP
/// layer's read buffer (four times the cap) or the HTTP layer refuses it first.
#[tokio::test]
async fn refusals_of_the_http_layer_are_clear_where_the_emulator_sees_them() {
    let s = webex(ServerLimits::default()).await;
    let big = format!("X-Big: {}\r\n", "a".repeat(200 << 10));
    let r = raw(
        &s,
        &request("GET", b"/v1/rooms", &[AUTH, big.as_bytes()].concat(), b""),
    )
    .await;
    assert_eq!(r.status, Some(431));
    assert!(message(&r.json()).contains("65536-byte limit"), "{r:?}");
    let huge = format!("X-Big: {}\r\n", "a".repeat(300 << 10));
    let r = raw(
        &s,
        &request("GET", b"/v1/rooms", &[AUTH, huge.as_bytes()].concat(), b""),
    )
    .await;
    assert_eq!(r.status, Some(431));
    assert!(message(&r.json()).contains("65536-byte limit"), "{r:?}");
    let r = raw(&s, &request("GET", b"/v1/rooms/\xff\xfe", AUTH, b"")).await;
    assert_eq!(r.status, Some(400));
    assert!(message(&r.json()).contains("not well-formed"), "{r:?}");
}

#[tokio::test]
async fn huge_bodies_get_413_while_others_are_served() {
    let s = webex(ServerLimits {
        body_limit: 64 << 10,
        ..Default::default()
    })
    .await;
    // A declared length over the limit, sent in full.
    let r = while_serving(&s, async {
        s.http
            .post(s.url("/v1/rooms"))
            .bearer_auth("t0")
            .header("content-type", "application/json")
            .body(vec![b' '; 8 << 20])
            .send()
            .await
            .unwrap()
    })
    .await;
    assert_eq!(r.status(), 413);
    let body: Value = r.json().await.unwrap();
    assert!(
        message(&body).contains("larger than the 65536-byte limit"),
        "{body}"
    );
    // A chunked body with no length that never ends: refused once past the limit.
    let r = while_serving(&s, async {
        let mut conn = TcpStream::connect(addr(&s)).await.unwrap();
        conn.write_all(
            b"POST /v1/rooms HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t0\r\n\
              Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        )
        .await
        .unwrap();
        let chunk = format!("{:x}\r\n{}\r\n", 4096, " ".repeat(4096));
        // Up to 4 MiB; the server stops reading long before.
        for _ in 0..1024 {
            if conn.write_all(chunk.as_bytes()).await.is_err() {
                break;
            }
        }
        read_answer(&mut conn).await
    })
    .await;
    assert_eq!(r.status, Some(413), "{r:?}");
    assert!(message(&r.json()).contains("65536-byte limit"));
    // A length of 10 GB, announced only.
    let r = while_serving(&s, async {
        let mut conn = TcpStream::connect(addr(&s)).await.unwrap();
        conn.write_all(
            b"POST /v1/rooms HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t0\r\n\
              Content-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n",
        )
        .await
        .unwrap();
        let block = vec![b' '; 64 << 10];
        for _ in 0..64 {
            if conn.write_all(&block).await.is_err() {
                break;
            }
        }
        read_answer(&mut conn).await
    })
    .await;
    assert_eq!(r.status, Some(413), "{r:?}");
}

/// The head is capped at 64 KiB (`max_header_bytes`), as the README says.
#[tokio::test]
async fn a_head_just_over_64_kib_is_refused() {
    let s = webex(ServerLimits::default()).await;
    let big = format!("X-Big: {}\r\n", "a".repeat(100 << 10));
    let r = raw(
        &s,
        &request("GET", b"/v1/rooms", &[AUTH, big.as_bytes()].concat(), b""),
    )
    .await;
    assert_eq!(r.status, Some(431), "{r:?}");
}

/// A body that never arrives: the headers promise bytes that are never sent.
#[tokio::test]
async fn a_body_that_never_arrives_is_cut_off() {
    let s = webex(ServerLimits {
        header_timeout: Duration::from_millis(500),
        ..Default::default()
    })
    .await;
    let mut conn = TcpStream::connect(addr(&s)).await.unwrap();
    conn.write_all(
        b"POST /v1/rooms HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t0\r\n\
          Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
    )
    .await
    .unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(15), read_answer(&mut conn)).await;
    let answer = answer.expect("the connection is still open after 15 s");
    assert_eq!(answer.status, Some(408), "{answer:?}");
    assert!(
        message(&answer.json()).contains("did not arrive"),
        "{answer:?}"
    );
}

#[tokio::test]
async fn a_stalled_body_does_not_stop_others_being_served() {
    let s = webex(ServerLimits::default()).await;
    let mut stalled = Vec::new();
    for _ in 0..20 {
        let mut conn = TcpStream::connect(addr(&s)).await.unwrap();
        conn.write_all(
            b"POST /v1/rooms HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t0\r\n\
              Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
        )
        .await
        .unwrap();
        stalled.push(conn);
    }
    while_serving(&s, tokio::time::sleep(Duration::from_millis(500))).await;
}

#[tokio::test]
async fn deeply_nested_json_is_a_400_while_others_are_served() {
    let s = webex(ServerLimits::default()).await;
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let open = "[".repeat(100_000);
    let objects = format!("{}{}", "{\"a\":".repeat(50_000), "}".repeat(50_000));
    for body in [deep.clone(), open, objects] {
        let r = while_serving(&s, async {
            raw(
                &s,
                &request("POST", b"/v1/rooms", JSON_AUTH, body.as_bytes()),
            )
            .await
        })
        .await;
        assert_eq!(r.status, Some(400), "{r:?}");
        let msg = r.json()["message"].as_str().unwrap_or("").to_owned();
        assert!(msg.to_lowercase().contains("json"), "{msg}");
    }
    // The admin API reads JSON too.
    let r = raw(
        &s,
        &request(
            "POST",
            b"/_verdict/faults",
            b"Content-Type: application/json\r\n",
            deep.as_bytes(),
        ),
    )
    .await;
    assert_eq!(r.status, Some(400), "{r:?}");
    assert!(r.json().is_object());
    // And Webex Connect answers it with its code for invalid JSON.
    let connect = start_with("webex-connect", config(), false, Default::default()).await;
    let r = raw(
        &connect,
        &request(
            "POST",
            b"/resources/v1/messaging",
            b"key: t0\r\nContent-Type: application/json\r\n",
            deep.as_bytes(),
        ),
    )
    .await;
    assert_eq!(r.json()["code"], "7000", "{r:?}");
}

#[tokio::test]
async fn invalid_utf8_in_the_body_path_and_headers() {
    let s = webex(ServerLimits::default()).await;
    // In the body, bare and inside a JSON string.
    for body in [&b"\xff\xfe{"[..], b"{\"title\": \"\xc3\x28\"}"] {
        let r = while_serving(&s, async {
            raw(&s, &request("POST", b"/v1/rooms", JSON_AUTH, body)).await
        })
        .await;
        assert_eq!(r.status, Some(400), "{r:?}");
        assert!(!message(&r.json()).is_empty());
    }
    // In the path: refused by the HTTP layer (400) before the emulator sees it.
    let r = while_serving(&s, async {
        raw(&s, &request("GET", b"/v1/rooms/\xff\xfe", AUTH, b"")).await
    })
    .await;
    assert_eq!(r.status, Some(400), "{r:?}");
    // Percent-encoded invalid UTF-8 reaches the emulator: an id that is not there.
    let r = raw(&s, &request("GET", b"/v1/rooms/%ff%fe", AUTH, b"")).await;
    assert_eq!(r.status, Some(404), "{r:?}");
    assert!(!message(&r.json()).is_empty());
    // In a header that does not matter, and in the credential.
    let r = while_serving(&s, async {
        raw(
            &s,
            &request(
                "GET",
                b"/v1/rooms",
                &[AUTH, b"X-Probe: \xff\xfe\r\n"].concat(),
                b"",
            ),
        )
        .await
    })
    .await;
    assert_eq!(r.status, Some(200), "{r:?}");
    let r = raw(
        &s,
        &request(
            "GET",
            b"/v1/rooms",
            b"Authorization: Bearer \xff\xfe\r\n",
            b"",
        ),
    )
    .await;
    assert_eq!(r.status, Some(401), "{r:?}");
    assert!(!message(&r.json()).is_empty());
    // The journal still reads as JSON with such a header in it.
    let journal = s.journal().await;
    assert!(journal.iter().any(|e| e["path"] == "/v1/rooms"));
}

#[tokio::test]
async fn path_traversal_in_ids_finds_nothing() {
    let s = webex(ServerLimits::default()).await;
    let room = s.create_room("kept").await;
    let id = room["id"].as_str().unwrap().to_owned();
    let targets: Vec<Vec<u8>> = vec![
        b"/v1/rooms/..%2F..%2Fetc%2Fpasswd".to_vec(),
        b"/v1/rooms/../../x".to_vec(),
        b"/v1/rooms/%2e%2e/%2e%2e/etc/passwd".to_vec(),
        b"/v1/rooms/..%5C..%5Cwindows".to_vec(),
        format!("/v1/rooms/x/../{id}").into_bytes(),
        format!("/v1/rooms/{id}%2F..%2F..").into_bytes(),
        b"/v1/rooms/%00".to_vec(),
    ];
    for target in targets {
        let r = while_serving(&s, async {
            raw(&s, &request("GET", &target, AUTH, b"")).await
        })
        .await;
        let shown = String::from_utf8_lossy(&target);
        assert_eq!(r.status, Some(404), "{shown}: {r:?}");
        assert!(message(&r.json()).starts_with("No "), "{shown}");
        // DELETE through a traversal removes nothing.
        let r = raw(&s, &request("DELETE", &target, AUTH, b"")).await;
        assert_eq!(r.status, Some(404), "{shown}: {r:?}");
    }
    let r = s.get_as(&format!("/v1/rooms/{id}"), "t0").await;
    assert_eq!(r.status(), 200, "the room is still there");
}

#[tokio::test]
async fn the_admin_api_refuses_a_missing_or_wrong_token() {
    let s = start_with(
        "webex",
        Config {
            admin_token: Some("adm-secret".into()),
            ..config()
        },
        false,
        Default::default(),
    )
    .await;
    s.create_room("kept").await;
    let wrong: [&[u8]; 7] = [
        b"",
        b"X-Verdict-Admin-Token: wrong\r\n",
        b"X-Verdict-Admin-Token: adm-secret-and-more\r\n",
        b"X-Verdict-Admin-Token: adm\r\n",
        b"Authorization: Bearer wrong\r\n",
        b"Authorization: Bearer t0\r\n",
        b"Authorization: Basic YWRtLXNlY3JldA==\r\n",
    ];
    for header in wrong {
        let shown = String::from_utf8_lossy(header).into_owned();
        for (method, target) in [
            ("GET", &b"/_verdict/journal"[..]),
            ("POST", b"/_verdict/reset"),
            ("PUT", b"/_verdict/maintenance"),
            ("POST", b"/_verdict/tokens"),
        ] {
            let body: &[u8] = if method == "GET" {
                b""
            } else if target == b"/_verdict/tokens" {
                br#"{"token": "stolen"}"#
            } else {
                br#"{"on": true}"#
            };
            let headers = [header, b"Content-Type: application/json\r\n"].concat();
            let r = while_serving(&s, async {
                raw(&s, &request(method, target, &headers, body)).await
            })
            .await;
            assert_eq!(r.status, Some(401), "{shown} {method}: {r:?}");
            let body = r.json();
            let text = body.to_string();
            assert!(text.contains("admin token"), "{text}");
            assert!(
                !text.contains("adm-secret"),
                "the answer gives the token away"
            );
        }
    }
    // Paths that look like the admin API's from another angle.
    for target in [
        &b"/v1/../_verdict/journal"[..],
        b"//_verdict/journal",
        b"/_verdict/./journal",
        b"/_VERDICT/journal",
        b"/_verdict%2Fjournal",
        b"/%5Fverdict/journal",
    ] {
        let r = raw(&s, &request("GET", target, b"", b"")).await;
        let shown = String::from_utf8_lossy(target);
        assert_ne!(r.status, Some(200), "{shown}: {r:?}");
        assert!(
            !String::from_utf8_lossy(&r.body).contains("entries"),
            "{shown} read the journal"
        );
    }
    // Nothing of the above took effect: not the reset, maintenance or the new token.
    assert_eq!(s.get_as("/v1/rooms", "stolen").await.status(), 401);
    let rooms: Value = s.get_as("/v1/rooms", "t0").await.json().await.unwrap();
    assert_eq!(rooms["items"].as_array().unwrap().len(), 1, "{rooms}");
    // The right token works, in either header.
    let r = s
        .http
        .get(s.url("/_verdict/journal"))
        .header("x-verdict-admin-token", "adm-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = s
        .http
        .request(Method::GET, s.url("/_verdict/journal"))
        .bearer_auth("adm-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
