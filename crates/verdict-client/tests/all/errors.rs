//! The error type itself: its accessors and source chain against real failures on
//! loopback, the conversions that take it out of a middleware error, advice that follows
//! why the request stopped, and waits shared on a credential told as such.

use std::error::Error as _;
use std::time::Duration;

use reqwest_middleware::ClientWithMiddleware;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use verdict::decide::{DecisionKind, Failure, Reason, WaitCause};
use verdict_client::{Error, ErrorKind, RequestOptions, VerdictErrorExt};
use verdict_testkit::{Reply, Server};

use crate::support::{FakeTimer, builder, client, client_on, verdict_error};

/// A port where nothing listens.
async fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

/// A server that reads each request and never answers.
async fn silent_server() -> (u16, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            held.push(s);
        }
    });
    (port, task)
}

/// The first reqwest error in `e`'s chain of sources.
fn reqwest_source(e: &Error) -> &reqwest::Error {
    let mut next = e.source();
    while let Some(s) = next {
        if let Some(r) = s.downcast_ref::<reqwest::Error>() {
            return r;
        }
        next = s.source();
    }
    panic!("no reqwest error under {e:?}")
}

#[tokio::test]
async fn a_silent_server_is_a_timeout_with_reqwests_error_as_the_source() {
    let (port, task) = silent_server().await;
    let timer = FakeTimer::new();
    let http = verdict_client::http_client().timeout(Duration::from_millis(200));
    let c = client_on(http, builder("webex", &timer));
    let e = verdict_error(
        c.post(format!("http://127.0.0.1:{port}/v1/messages"))
            .body("{}")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(*e.kind(), ErrorKind::Network(Failure::Timeout), "{e}");
    assert!(e.is_timeout() && !e.is_connect(), "{e:?}");
    assert!(reqwest_source(&e).is_timeout());
    // Why it was not sent again, and advice that does not say to try again.
    assert!(
        matches!(e.reason(), Some(Reason::NotRepeatable { .. })),
        "{e}"
    );
    let advice = e.advice().unwrap();
    assert!(advice.starts_with("POST was not repeated"), "{advice}");
    assert_eq!(e.status(), None);
    assert_eq!(e.url().unwrap().port(), Some(port));
    task.abort();
}

#[tokio::test]
async fn a_closed_port_is_a_connect_failure() {
    let port = closed_port().await;
    let timer = FakeTimer::new();
    let e = verdict_error(
        client(builder("webex", &timer))
            .get(format!("http://127.0.0.1:{port}/v1/rooms"))
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(*e.kind(), ErrorKind::Network(Failure::Connect), "{e}");
    assert!(e.is_connect() && !e.is_timeout(), "{e:?}");
    assert!(reqwest_source(&e).is_connect());
    assert!(matches!(e.reason(), Some(Reason::RetriesExhausted { .. })));
    let advice = e.advice().unwrap();
    assert!(advice.contains("no complete answer came after"), "{advice}");
    assert!(
        e.to_string().contains("network failure: could not connect"),
        "{e}"
    );
}

#[tokio::test]
async fn what_the_server_said_is_read_through_accessors() {
    let server = Server::start(|_, _| {
        Reply::status(404).json(serde_json::json!({
            "message": "The requested resource could not be found.",
            "trackingId": "ROUTER_1",
            "errors": [{"description": "no such room"}]
        }))
    })
    .await;
    let timer = FakeTimer::new();
    let e = verdict_error(
        client(builder("webex", &timer))
            .get(server.url("/v1/rooms/x"))
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(e.status(), Some(http::StatusCode::NOT_FOUND));
    assert_eq!(e.contract(), Some("webex"));
    assert_eq!(e.method(), Some(&http::Method::GET));
    assert_eq!(
        e.vendor_message(),
        Some("The requested resource could not be found.")
    );
    assert_eq!(e.tracking_id(), Some("ROUTER_1"));
    let json = e.body_json().expect("the body is JSON");
    assert_eq!(json["errors"][0]["description"], "no such room");
    assert!(!e.body().is_empty() && e.meaning().is_some());
    assert_eq!(e.reason(), Some(&Reason::Final));
    // A final answer keeps the contract's advice.
    assert!(e.advice().is_some());
    assert_eq!(e.attempts().len(), 1);
    assert_eq!(e.attempts()[0].kind, DecisionKind::Fail);
    assert!(e.attempts()[0].sent);
    assert!(e.source().is_none(), "nothing underneath a final answer");
    assert_eq!(e.retry_after(), None);
}

#[tokio::test]
async fn a_post_500_not_repeated_is_not_told_to_back_off_and_try_again() {
    let server = Server::start(|_, _| Reply::status(500)).await;
    let timer = FakeTimer::new();
    let c = client(builder("webex", &timer));
    let e = verdict_error(
        c.post(server.url("/v1/messages"))
            .body("{}")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(server.seen().len(), 1);
    assert!(
        matches!(e.kind(), ErrorKind::Refused(Reason::NotRepeatable { .. })),
        "{e}"
    );
    let advice = e.advice().unwrap();
    assert!(advice.starts_with("POST was not repeated"), "{advice}");
    let lower = advice.to_lowercase();
    assert!(
        !lower.contains("try again") && !lower.contains("back off"),
        "{advice}"
    );
    // A GET of the same status, repeated until the contract's repeats ran out, says so.
    let e = verdict_error(c.get(server.url("/v1/rooms")).send().await.unwrap_err());
    let advice = e.advice().unwrap();
    assert!(
        advice.contains("still failed after 3 repeat(s)"),
        "{advice}"
    );
}

#[tokio::test]
async fn a_wait_learned_by_another_request_is_an_attempts_shared_wait() {
    let server = Server::start(|s, _| {
        if s.path == "/first" {
            Reply::status(429).header("Retry-After", "4")
        } else {
            Reply::status(404)
        }
    })
    .await;
    let timer = FakeTimer::new();
    let c = client(builder("webex", &timer));
    let short = RequestOptions::new().max_wait(Duration::from_secs(2));
    // The first request may not wait 4 s; the server's demand holds for the credential.
    let e = verdict_error(
        c.get(server.url("/first"))
            .bearer_auth("t")
            .with_extension(short.clone())
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(e.retry_after(), Some(Duration::from_secs(4)));
    assert!(
        e.to_string().contains("the server asks for a wait of 4 s"),
        "{e}"
    );
    timer.advance(Duration::from_millis(10));

    // Another request with as little time is held back at once, and told why.
    let e = verdict_error(
        c.get(server.url("/second"))
            .bearer_auth("t")
            .with_extension(short)
            .send()
            .await
            .unwrap_err(),
    );
    let Some(Reason::WaitTooLong { cause, wait, .. }) = e.reason() else {
        panic!("{e}")
    };
    assert_eq!(*cause, WaitCause::Shared);
    assert_eq!(*wait, Duration::from_millis(3990));
    let text = e.to_string();
    assert!(
        text.contains("held back for 4 s more by a wait learned earlier")
            && !text.contains("server asks"),
        "{text}"
    );
    assert_eq!(e.attempts().len(), 1);
    assert!(!e.attempts()[0].sent, "{:?}", e.attempts());
    assert!(e.advice().unwrap().contains("held back for 4 s more"));
    assert_eq!(server.seen().len(), 1);

    // One that may wait waits it out, and the wait is on record: 3.99 s shown as 4 s.
    let e = verdict_error(
        c.get(server.url("/third"))
            .bearer_auth("t")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(e.status(), Some(http::StatusCode::NOT_FOUND));
    let attempt = &e.attempts()[0];
    assert_eq!(attempt.shared_wait, Some(Duration::from_millis(3990)));
    assert_eq!(attempt.wait, None);
    assert_eq!(e.waited(), Duration::from_millis(3990));
    let text = e.to_string();
    assert!(
        text.ends_with("1 attempt, waited 4 s for a wait shared on this credential)"),
        "{text}"
    );
}

#[tokio::test]
async fn question_mark_takes_the_error_out_of_the_middlewares() {
    async fn fetch(c: &ClientWithMiddleware, url: &str) -> Result<String, Error> {
        Ok(c.get(url).send().await?.text().await?)
    }
    let server = Server::start(|_, _| Reply::status(404)).await;
    let timer = FakeTimer::new();
    let c = client(builder("webex", &timer));
    let e = fetch(&c, &server.url("/v1/rooms/x")).await.unwrap_err();
    assert_eq!(e.status(), Some(http::StatusCode::NOT_FOUND));

    // In place, without taking it.
    let raw = c.get(server.url("/v1/rooms/x")).send().await.unwrap_err();
    assert_eq!(
        raw.verdict_error().map(|v| v.status()),
        Some(Some(http::StatusCode::NOT_FOUND))
    );

    // A request reqwest cannot build never reaches the middleware.
    let raw = c.get("not a url").send().await.unwrap_err();
    assert!(raw.verdict_error().is_none());
    let e = Error::from(raw);
    assert_eq!(*e.kind(), ErrorKind::InvalidRequest);
    assert!(reqwest_source(&e).is_builder());
    assert_eq!(e.contract(), None);

    // Without the middleware, a plain reqwest failure keeps its kind.
    let plain = reqwest_middleware::ClientBuilder::new(reqwest::Client::new()).build();
    let port = closed_port().await;
    let e = fetch(&plain, &format!("http://127.0.0.1:{port}/"))
        .await
        .unwrap_err();
    assert_eq!(*e.kind(), ErrorKind::Network(Failure::Connect), "{e}");
    assert!(e.is_connect() && e.attempts().is_empty());

    // And the error goes on into a `Box<dyn Error>` with `?`.
    fn boxed(e: Error) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        Err(e)?
    }
    assert!(
        boxed(e)
            .unwrap_err()
            .to_string()
            .contains("could not connect")
    );
}

#[tokio::test]
async fn a_token_endpoints_refusal_is_read_as_the_vendors_message() {
    // RingCentral's token endpoint: RFC 6749's members beside its own error list.
    let server = Server::start(|_, _| {
        Reply::status(400).json(serde_json::json!({
            "error": "invalid_grant",
            "errors": [{"errorCode": "OAU-211", "message": "Refresh token is not valid"}],
            "error_description": "Refresh token is not valid"
        }))
    })
    .await;
    let timer = FakeTimer::new();
    let e = verdict_error(
        client(builder("ringcentral", &timer))
            .post(server.url("/restapi/oauth/token"))
            .body("grant_type=refresh_token&refresh_token=x")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(e.vendor_message(), Some("Refresh token is not valid"));
    assert_eq!(e.vendor_code(), Some("invalid_grant"));
    assert!(
        e.to_string().contains("\"Refresh token is not valid\""),
        "{e}"
    );
}
