//! What `verdict call` prints once the call has ended: the body (or the parts of a batch)
//! on standard output or in -o FILE, or one JSON object; the advice and the summary of a
//! failure on standard error; the exit code.

use std::io::Write;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use base64::Engine;
use http::{HeaderMap, StatusCode, Version};
use serde_json::{Value, json};
use verdict::multipart::Batch;
use verdict_client::Attempt;

use super::trace::Trace;
use super::{CallArgs, advice, code, exit_code};
use crate::{Failure, Outcome};

/// The head of the final answer.
pub(crate) struct Head {
    pub status: StatusCode,
    pub version: Version,
    pub headers: HeaderMap,
}

/// A call that got an answer the contract accepts.
pub(crate) enum Answer {
    /// One body.
    Whole {
        head: Head,
        attempts: Vec<Attempt>,
        revalidated: bool,
        body: bytes::Bytes,
    },
    /// A 207 multipart batch, split into its parts.
    Batch {
        head: Head,
        attempts: Vec<Attempt>,
        batch: Batch,
    },
}

/// A body for JSON: parsed JSON, UTF-8 text, or base64 for anything else; and which.
pub(crate) fn body_json(body: &[u8]) -> (Value, &'static str) {
    if let Ok(v) = serde_json::from_slice(body) {
        return (v, "json");
    }
    match std::str::from_utf8(body) {
        Ok(text) => (text.into(), "utf-8"),
        Err(_) => (
            base64::engine::general_purpose::STANDARD
                .encode(body)
                .into(),
            "base64",
        ),
    }
}

fn headers_json(h: &HeaderMap) -> Value {
    let mut map = serde_json::Map::new();
    for (k, v) in h {
        let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
        match map.get_mut(k.as_str()) {
            Some(Value::Array(items)) => items.push(v.into()),
            _ => {
                map.insert(k.as_str().to_owned(), json!([v]));
            }
        }
    }
    Value::Object(map)
}

/// Writes the outcome of one call.
pub(crate) struct Output<'a> {
    pub args: &'a CallArgs,
    pub contract: String,
    pub trace: Arc<Trace>,
    pub advice: advice::Context,
}

impl Output<'_> {
    /// Standard output, or the -o file (created only when something is written).
    fn sink(&self) -> Result<Box<dyn Write>, Failure> {
        Ok(match &self.args.output {
            Some(path) => Box::new(
                std::fs::File::create(path)
                    .with_context(|| format!("cannot write to {}", path.display()))?,
            ),
            None => Box::new(std::io::stdout().lock()),
        })
    }

    fn write(&self, bytes: &[u8]) -> Outcome {
        let mut out = self.sink()?;
        out.write_all(bytes)
            .and_then(|()| out.flush())
            .context("cannot write the output")?;
        Ok(())
    }

    /// The JSON object every --json output shares; the caller adds `error` and `parts`.
    fn document(
        &self,
        status: Option<StatusCode>,
        headers: &HeaderMap,
        body: Option<&[u8]>,
        attempts: &[Attempt],
    ) -> serde_json::Map<String, Value> {
        let (body, encoding) = match body.map(body_json) {
            Some((b, e)) => (b, Value::from(e)),
            None => (Value::Null, Value::Null),
        };
        let v = json!({
            "contract": self.contract,
            "status": status.map(|s| s.as_u16()),
            "headers": headers_json(headers),
            "body": body,
            "encoding": encoding,
            "revalidated": false,
            "attempts": attempts,
            "elapsed_s": millis(self.trace.elapsed()),
            "waited_s": millis(self.trace.waited()),
            "error": null,
        });
        match v {
            Value::Object(m) => m,
            _ => unreachable!("json! of an object"),
        }
    }

    fn write_json(&self, doc: serde_json::Map<String, Value>) -> Outcome {
        let mut text =
            serde_json::to_string_pretty(&Value::Object(doc)).context("cannot encode JSON")?;
        text.push('\n');
        self.write(text.as_bytes())
    }

    /// The status line and headers, as -i and -I print them.
    fn head_text(status: StatusCode, version: Version, headers: &HeaderMap) -> String {
        let mut s = format!("{version:?} {status}\n");
        for (k, v) in headers {
            s.push_str(&format!("{k}: {}\n", String::from_utf8_lossy(v.as_bytes())));
        }
        s.push('\n');
        s
    }

    /// The plain output: the head with -i or -I, then the body unless -I or held back.
    fn plain(
        &self,
        head: Option<(StatusCode, Version, &HeaderMap)>,
        body: &[u8],
        show: bool,
    ) -> Outcome {
        let mut text = Vec::new();
        if let (Some((s, v, h)), true) = (head, self.args.include || self.args.head) {
            text.extend_from_slice(Self::head_text(s, v, h).as_bytes());
        }
        if show && !self.args.head {
            text.extend_from_slice(body);
        }
        if text.is_empty() {
            return Ok(());
        }
        self.write(&text)
    }

    pub fn answer(&self, answer: Answer) -> Outcome {
        match answer {
            Answer::Whole {
                head,
                attempts,
                revalidated,
                body,
            } => {
                if self.args.json {
                    let mut doc =
                        self.document(Some(head.status), &head.headers, Some(&body), &attempts);
                    doc.insert("revalidated".into(), revalidated.into());
                    return self.write_json(doc);
                }
                self.plain(
                    Some((head.status, head.version, &head.headers)),
                    &body,
                    true,
                )
            }
            Answer::Batch {
                head,
                attempts,
                batch,
            } => self.batch(&head, &attempts, &batch),
        }
    }

    fn batch(&self, head: &Head, attempts: &[Attempt], batch: &Batch) -> Outcome {
        let mut failed = Vec::new();
        let mut parts = Vec::new();
        let mut bodies = Vec::new();
        for (i, (status, part)) in batch.iter().enumerate() {
            self.trace.line(&format!(
                "* part {}: {}",
                i + 1,
                self.trace.status(Some(status.as_u16()))
            ));
            if !status.is_success() {
                failed.push((i + 1, status));
            }
            let (body, encoding) = body_json(&part.body);
            parts.push(json!({
                "status": status.as_u16(),
                "headers": headers_json(&part.headers),
                "body": body,
                "encoding": encoding,
            }));
            if !self.args.fail || status.is_success() {
                bodies.extend_from_slice(&part.body);
                if !part.body.ends_with(b"\n") {
                    bodies.push(b'\n');
                }
            }
        }
        let outcome = batch_outcome(&failed, batch.parts.len());
        if self.args.json {
            let mut doc = self.document(Some(head.status), &head.headers, None, attempts);
            doc.insert("parts".into(), parts.into());
            if let Err(f) = &outcome {
                doc.insert(
                    "error".into(),
                    json!({"message": format!("{:#}", f.error), "exit_code": f.code}),
                );
            }
            self.write_json(doc)?;
        } else {
            self.plain(
                Some((head.status, head.version, &head.headers)),
                &bodies,
                true,
            )?;
        }
        outcome
    }

    pub fn error(&self, e: &verdict_client::Error) -> Outcome {
        let advice = advice::advice(e, &self.advice);
        let code = exit_code(e);
        if self.args.json {
            let mut doc = self.document(e.status(), e.headers(), Some(e.body()), e.attempts());
            let message = summary(e, &self.trace);
            doc.insert(
                "error".into(),
                error_json(e, message, advice.as_deref(), code),
            );
            self.write_json(doc)?;
        } else {
            let head = e.status().map(|s| (s, Version::HTTP_11, e.headers()));
            let mut body = e.body().to_vec();
            if self.args.output.is_none() && !body.is_empty() && !body.ends_with(b"\n") {
                body.push(b'\n');
            }
            self.plain(head, &body, !self.args.fail)?;
        }
        // The application code the body carried, and what the contract says it means.
        if let (Some(app), Some(meaning)) = (e.app_code(), e.meaning()) {
            self.trace.line(&format!("  code {app}: {meaning}"));
        }
        if let Some(a) = advice {
            self.trace.line(&format!("  advice: {a}"));
        }
        Err(Failure {
            code,
            error: anyhow!("{}", summary(e, &self.trace)),
        })
    }

    /// The whole call ran out of --max-time.
    pub fn out_of_time(&self, max_time: f64) -> Outcome {
        let n = self.trace.sent();
        if n > 0 {
            self.trace.line(&format!(
                "* attempt {n}: cut off: --max-time {max_time} s has passed"
            ));
        }
        let message = format!(
            "no complete answer within --max-time {max_time} s ({})",
            self.trace.timing()
        );
        let advice = advice::out_of_time(max_time);
        if self.args.json {
            let mut doc = self.document(None, &HeaderMap::new(), None, &self.trace.attempts());
            doc.insert(
                "error".into(),
                json!({"message": message, "advice": advice, "exit_code": code::NETWORK}),
            );
            self.write_json(doc)?;
        }
        self.trace.line(&format!("  advice: {advice}"));
        Err(Failure {
            code: code::NETWORK,
            error: anyhow!("{message}"),
        })
    }
}

/// Seconds, to the millisecond.
fn millis(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

fn error_json(e: &verdict_client::Error, message: String, advice: Option<&str>, code: u8) -> Value {
    json!({
        "message": message,
        "kind": kind_name(e.kind()),
        "failure": match e.kind() {
            verdict_client::ErrorKind::Network(f) => Some(failure_name(*f)),
            _ => None,
        },
        "vendor_code": e.vendor_code(),
        "app_code": e.app_code(),
        "vendor_message": e.vendor_message(),
        "tracking_id": e.tracking_id(),
        "field_errors": e.field_errors(),
        "problem": e.problem(),
        "meaning": e.meaning(),
        "advice": advice,
        "category": e.category(),
        "wait_demanded_s": e.retry_after().map(|d| d.as_secs_f64()),
        "exit_code": code,
    })
}

fn kind_name(k: &verdict_client::ErrorKind) -> &'static str {
    use verdict::decide::Failure;
    use verdict_client::ErrorKind as K;
    match k {
        K::Refused(_) => "refused",
        K::BudgetExhausted => "budget_exhausted",
        K::Network(Failure::BodyCut) | K::BodyTooLarge { .. } => "body",
        K::Network(_) => "network",
        K::Batch(_) => "batch",
        K::NotReplayable => "not_replayable",
        K::RedirectedByClient { .. } => "redirected_by_client",
        K::Refresh => "refresh",
        K::CircuitOpen { .. } => "circuit_open",
        K::OAuth(_) => "oauth",
        K::RefreshTimeout(_) => "refresh_timeout",
        K::InvalidRequest => "invalid_request",
        _ => "other",
    }
}

/// The kind of a failure without an answer, as `--json` names it.
fn failure_name(f: verdict::decide::Failure) -> &'static str {
    use verdict::decide::Failure;
    match f {
        Failure::Connect => "connect",
        Failure::Tls => "tls",
        Failure::Timeout => "timeout",
        Failure::Interrupted => "interrupted",
        Failure::BodyCut => "body_cut",
    }
}

/// Exit 0 when every part succeeded; else 4 when a part is a 5xx, 3 otherwise.
pub(crate) fn batch_outcome(failed: &[(usize, StatusCode)], parts: usize) -> Outcome {
    if failed.is_empty() {
        return Ok(());
    }
    let code = if failed.iter().any(|(_, s)| s.is_server_error()) {
        code::SERVER_ERROR
    } else {
        code::CLIENT_ERROR
    };
    let list: Vec<String> = failed
        .iter()
        .map(|(i, s)| format!("part {i}: {s}"))
        .collect();
    Err(Failure {
        code,
        error: anyhow!(
            "{} of the {parts} parts of the batch failed ({})",
            failed.len(),
            list.join(", ")
        ),
    })
}

/// The error's one line, with the time the call really took in place of the count of
/// attempts and the planned waits.
fn summary(e: &verdict_client::Error, trace: &Trace) -> String {
    // The alternate form leaves the attempts out; its notes end in `)`.
    let line = format!("{e:#}");
    match line.strip_suffix(')') {
        Some(head) => format!("{head}; {})", trace.timing()),
        None => format!("{line} ({})", trace.timing()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_say_how_they_are_carried() {
        assert_eq!(body_json(b"{\"a\":1}"), (json!({"a": 1}), "json"));
        assert_eq!(body_json("héllo".as_bytes()), (json!("héllo"), "utf-8"));
        assert_eq!(body_json(b""), (json!(""), "utf-8"));
        assert_eq!(body_json(&[0xff, 0x00, 0x80]), (json!("/wCA"), "base64"));
    }

    #[test]
    fn a_batch_succeeds_only_when_every_part_does() {
        assert!(batch_outcome(&[], 3).is_ok());
        let e = batch_outcome(&[(3, StatusCode::NOT_FOUND)], 3).unwrap_err();
        assert_eq!(e.code, code::CLIENT_ERROR);
        assert!(e.error.to_string().contains("part 3: 404 Not Found"));
        let e = batch_outcome(
            &[(1, StatusCode::NOT_FOUND), (2, StatusCode::BAD_GATEWAY)],
            2,
        )
        .unwrap_err();
        assert_eq!(e.code, code::SERVER_ERROR);
    }
}
