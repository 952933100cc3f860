//! Attempts that get no complete answer: a connection refused, a server that never
//! answers, a body cut short. What happens next is the engine's `decide_failure`, with the
//! same repeatability rule as for answers.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use verdict_client::timer::WaitReason;
use verdict_client::{Attempts, ErrorKind, RequestOptions};
use verdict_testkit::{Reply, Server};

use crate::support::{FakeTimer, builder, client, client_on, contract, verdict_error};

/// A port where nothing listens.
async fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

/// A server that reads each request and never answers; counts connections.
async fn silent_server() -> (
    u16,
    tokio::task::JoinHandle<()>,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = count.clone();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut s, _)) = listener.accept().await {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            held.push(s);
        }
    });
    (port, task, count)
}

#[tokio::test]
async fn a_refused_connection_is_repeated_whatever_the_method() {
    let port = closed_port().await;
    let timer = FakeTimer::new();
    let max = contract("webex").retry.max_retries as usize;
    let e = verdict_error(
        client(builder("webex", &timer))
            .post(format!("http://127.0.0.1:{port}/v1/messages"))
            .body("{}")
            .send()
            .await
            .unwrap_err(),
    );
    assert!(matches!(e.kind(), ErrorKind::Network(_)), "{e}");
    assert_eq!(e.attempts().len(), max + 1, "{:#?}", e.attempts());
    assert!(
        e.attempts()[0]
            .note
            .starts_with("retry after could not connect"),
        "{:?}",
        e.attempts()[0]
    );
    assert!(
        timer
            .waits()
            .iter()
            .all(|w| w.reason == WaitReason::Network)
    );
    let last = &e.attempts()[max].note;
    assert!(last.contains("gave up after 3 repeat(s)"), "{last}");
}

#[tokio::test]
async fn a_silent_server_times_out_and_only_safe_methods_are_repeated() {
    let (port, task, count) = silent_server().await;
    let timer = FakeTimer::new();
    let http = verdict_client::http_client().timeout(Duration::from_millis(200));
    let c = client_on(http, builder("webex", &timer));
    let url = format!("http://127.0.0.1:{port}/v1/rooms");

    let e = verdict_error(c.get(&url).send().await.unwrap_err());
    assert_eq!(e.attempts().len(), 4, "{:#?}", e.attempts());
    assert!(
        e.attempts()[0].note.starts_with("retry after timed out"),
        "{:?}",
        e.attempts()[0]
    );
    assert!(
        e.attempts()[3].note.contains("gave up after 3 repeat(s)"),
        "{:?}",
        e.attempts()[3]
    );

    let before = count.load(std::sync::atomic::Ordering::SeqCst);
    let e = verdict_error(c.post(&url).body("{}").send().await.unwrap_err());
    assert_eq!(e.attempts().len(), 1, "{:#?}", e.attempts());
    assert!(
        e.attempts()[0].note.contains("POST is not safe to repeat"),
        "{:?}",
        e.attempts()[0]
    );
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), before + 1);
    task.abort();
}

#[tokio::test]
async fn a_timed_out_post_with_an_idempotency_key_is_repeated() {
    let (port, task, _) = silent_server().await;
    let timer = FakeTimer::new();
    let http = verdict_client::http_client().timeout(Duration::from_millis(200));
    let c = client_on(http, builder("webex", &timer));
    let e = verdict_error(
        c.post(format!("http://127.0.0.1:{port}/v1/messages"))
            .header("Idempotency-Key", "\"k1\"")
            .body("{}")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(e.attempts().len(), 4, "{:#?}", e.attempts());
    task.abort();
}

#[tokio::test]
async fn a_body_cut_short_is_asked_again_for_a_get() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // The first answer promises 100 bytes and closes after 10; the second is whole.
    let task = tokio::spawn(async move {
        for i in 0.. {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            let reply: &[u8] = if i == 0 {
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"code\":\"7"
            } else {
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
            };
            let _ = s.write_all(reply).await;
            let _ = s.shutdown().await;
        }
    });
    let timer = FakeTimer::new();
    let r = client(builder("webex-connect", &timer))
        .get(format!(
            "http://127.0.0.1:{port}/resources/v1/messaging/status/x"
        ))
        .send()
        .await
        .unwrap();
    let attempts = r.extensions().get::<Attempts>().unwrap().0.clone();
    assert_eq!(attempts.len(), 2, "{attempts:#?}");
    assert!(
        attempts[0].note.starts_with("retry after body cut short"),
        "{:?}",
        attempts[0]
    );
    assert_eq!(r.text().await.unwrap(), "{}");
    task.abort();
}

#[tokio::test]
async fn a_get_accepted_without_location_is_asked_again_until_final() {
    let server = Server::start(|_, n| {
        if n < 2 {
            Reply::status(202).header("retry-after", "2")
        } else {
            Reply::status(200).json(serde_json::json!({"state": "done"}))
        }
    })
    .await;
    let timer = FakeTimer::new();
    let r = client(builder("whispir", &timer))
        .get(server.url("/messages/1"))
        .with_extension(RequestOptions::new().poll(true))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(timer.durations(), [Duration::from_secs(2); 2]);
    assert!(timer.waits().iter().all(|w| w.reason == WaitReason::Poll));
    assert_eq!(server.seen().len(), 3);
}

#[tokio::test]
async fn a_streamed_post_accepted_for_polling_is_a_clear_error() {
    let server = Server::start(|_, _| Reply::status(202).header("location", "/status/1")).await;
    let timer = FakeTimer::new();
    let chunks = futures_util::stream::iter([Ok::<_, std::io::Error>("{}")]);
    let e = verdict_error(
        client(builder("whispir", &timer))
            .post(server.url("/messages"))
            .body(reqwest::Body::wrap_stream(chunks))
            .with_extension(RequestOptions::new().poll(true))
            .send()
            .await
            .unwrap_err(),
    );
    assert!(matches!(e.kind(), ErrorKind::NotReplayable), "{e}");
    assert_eq!(server.seen().len(), 1);
}
