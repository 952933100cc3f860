//! `verdict serve` as a process: it prints where it is, serves, and stops on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread")]
async fn serve_prints_its_address_serves_and_stops_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_verdict"))
        .args([
            "serve",
            "token-api",
            "--port",
            "0",
            "--token",
            "tok",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info: serde_json::Value = serde_json::from_str(&line).unwrap();
    let base = info["base_url"].as_str().unwrap().to_owned();
    assert!(
        base.starts_with("http://127.0.0.1:") && base.ends_with("/v1"),
        "{base}"
    );
    assert_eq!(info["token"], "tok");
    assert_eq!(info["credentials"][0], "Authorization: Bearer tok");

    let http = verdict_client::http_client().build().unwrap();
    let r = http
        .post(format!("{base}/items"))
        .bearer_auth("tok")
        .json(&serde_json::json!({"name": "a"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = http
        .get(info["openapi"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still running after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.contains("stopped"), "{err}");
}

#[test]
fn serve_refuses_what_it_cannot_do() {
    for (args, needle) in [
        (vec!["serve", "http", "--port", "0"], "no [emulator] table"),
        (
            vec!["serve", "webex", "--port", "0", "--fault-rate", "2"],
            "fault rate",
        ),
        (
            vec!["serve", "webex", "--port", "0", "--latency-ms", "9..1"],
            "latency",
        ),
        (
            vec!["serve", "webex", "--port", "0", "--quota", "ten"],
            "--quota",
        ),
        (vec!["serve", "nope"], "unknown contract"),
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_verdict"))
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}
