//! What the middleware does to requests and responses on the wire, apart from deciding:
//! reading bodies within a limit, finding application codes, rewriting requests for a
//! redirect or a poll, and telling kinds of network failure apart.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode, Version, header};
use reqwest::{Request, Response, ResponseBuilderExt};
use url::Url;
use verdict::decide::Failure;
use verdict::{CodeValue, Contract};

use crate::error::Source;

/// The time `wait` after `now`. A server's wait can be as long as `u64::MAX` seconds
/// (`Retry-After: 18446744073709551615`), past what `SystemTime` holds: such a time is cut
/// to the furthest a quota reset goes, which no caller's `max_wait` reaches anyway.
pub(crate) fn later(now: SystemTime, wait: Duration) -> SystemTime {
    now.checked_add(wait)
        .or_else(|| now.checked_add(verdict::headers::MAX_RESET))
        .unwrap_or(now)
}

/// A random number in `[0, 1)` for jitter; quality does not matter, spread does. Every
/// request takes one, so it reads no clock: a counter mixed with a key drawn once per
/// process (so that processes started together do not jitter alike).
pub(crate) fn sample() -> f64 {
    use std::hash::BuildHasher;
    static STATE: AtomicU64 = AtomicU64::new(0);
    static KEY: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let key = *KEY.get_or_init(|| std::collections::hash_map::RandomState::new().hash_one(0u64));
    let mut x = STATE.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed) ^ key;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// A fingerprint of `bytes`, so that keys in a shared store never hold a credential in
/// clear. The same in every process (a fixed seed), since processes share the keys.
pub(crate) fn fingerprint(bytes: &[u8]) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::default().hash_one(bytes)
}

/// A fingerprint of a URL's origin (scheme, host, port), without formatting it. The URL
/// parser drops a scheme's default port, so one origin always gives one fingerprint.
pub(crate) fn origin_fingerprint(url: &Url) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = foldhash::fast::FixedState::default().build_hasher();
    h.write(url.scheme().as_bytes());
    h.write(url.host_str().unwrap_or("").as_bytes());
    h.write_u16(url.port().unwrap_or(0));
    h.finish()
}

/// The parts of a response that survive reading its body.
pub(crate) struct Head {
    pub(crate) status: StatusCode,
    pub(crate) version: Version,
    pub(crate) headers: HeaderMap,
    pub(crate) url: Url,
}

impl Head {
    pub(crate) fn of(r: &Response) -> Head {
        Head {
            status: r.status(),
            version: r.version(),
            headers: r.headers().clone(),
            url: r.url().clone(),
        }
    }

    pub(crate) fn into_response(self, body: Bytes) -> Response {
        let mut b = http::Response::builder()
            .status(self.status)
            .version(self.version)
            .url(self.url);
        if let Some(h) = b.headers_mut() {
            *h = self.headers;
        }
        match b.body(body) {
            Ok(r) => Response::from(r),
            // Status, version and headers come from a response that was valid already.
            Err(_) => unreachable!("rebuilding a valid response"),
        }
    }
}

/// Reads at most `limit` bytes of a body. `Ok(Err(prefix))` when the body is longer;
/// `Err` when it could not be read to its end.
pub(crate) async fn read_limited(
    mut r: Response,
    limit: usize,
) -> Result<Result<Bytes, Bytes>, reqwest::Error> {
    let mut buf = Vec::new();
    loop {
        match r.chunk().await {
            Ok(Some(chunk)) => {
                if buf.len() + chunk.len() > limit {
                    buf.extend_from_slice(&chunk[..limit - buf.len()]);
                    return Ok(Err(Bytes::from(buf)));
                }
                buf.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(Ok(Bytes::from(buf))),
            Err(e) => return Err(e),
        }
    }
}

pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// Whether an error comes from TLS itself (an untrusted certificate, a failed handshake):
/// repeating the request cannot help.
pub(crate) fn is_tls_failure(e: &(dyn std::error::Error + 'static)) -> bool {
    if e.downcast_ref::<rustls::Error>().is_some() {
        return true;
    }
    // `io::Error::source` skips the error it wraps, so look inside it directly.
    if let Some(inner) = e
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
    {
        if is_tls_failure(inner) {
            return true;
        }
    }
    e.source().is_some_and(is_tls_failure)
}

pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            let ct = ct
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            ct == "application/json" || ct.ends_with("+json")
        })
}

pub(crate) fn declared_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The application code at the contract's code pointer (which may lead into an array,
/// `/errors/0/code`): a number, or a string (a string of digits is that number).
pub(crate) fn app_code(contract: &Contract, api: Option<&str>, body: &[u8]) -> Option<CodeValue> {
    let pointer = contract.error_body_for(api).code.as_ref()?;
    let json: serde_json::Value = serde_json::from_slice(body).ok()?;
    CodeValue::from_json(pointer.find(&json)?)
}

/// Request headers that never follow a redirect to another origin.
pub(crate) fn strip_credentials(contract: &Contract, headers: &mut HeaderMap) {
    for name in [
        header::AUTHORIZATION,
        header::COOKIE,
        header::PROXY_AUTHORIZATION,
    ] {
        headers.remove(name);
    }
    for h in &contract.auth.credential_headers {
        headers.remove(h.name());
    }
}

pub(crate) fn without_body(from: &Request, method: Method, url: Url) -> Request {
    let mut r = Request::new(method, url);
    *r.headers_mut() = from.headers().clone();
    for h in [
        header::CONTENT_TYPE,
        header::CONTENT_LENGTH,
        header::CONTENT_ENCODING,
        header::TRANSFER_ENCODING,
    ] {
        r.headers_mut().remove(h);
    }
    if let Some(t) = from.timeout() {
        *r.timeout_mut() = Some(*t);
    }
    r
}

/// A copy of `r` to send, or `None` when its body is a stream. A request without a body
/// is copied field by field: reqwest's `try_clone` makes and drops a map of extensions
/// on every copy (`timeout_mut` inserts one even for no timeout), which costs more than
/// the rest of the copy, and every request of the middleware makes one.
pub(crate) fn copy(r: &Request) -> Option<Request> {
    if r.body().is_some() {
        return r.try_clone();
    }
    let mut c = Request::new(r.method().clone(), r.url().clone());
    *c.headers_mut() = r.headers().clone();
    *c.version_mut() = r.version();
    if let Some(t) = r.timeout() {
        *c.timeout_mut() = Some(*t);
    }
    Some(c)
}

/// A new idempotency key: 128 random bits in hex, as the draft's Structured Field string.
pub(crate) fn idempotency_key() -> http::HeaderValue {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    // `RandomState` is seeded at random per thread and differs on every call.
    let word = |i: u64| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(n);
        h.write_u64(i);
        h.write_u128(nanos);
        h.finish()
    };
    let text = format!("\"{:016x}{:016x}\"", word(0), word(1));
    http::HeaderValue::from_str(&text).expect("hex in quotes is a valid header value")
}

/// What kind of failure a reqwest error is.
pub(crate) fn failure_of(r: &reqwest::Error) -> Failure {
    if is_tls_failure(r) {
        Failure::Tls
    } else if r.is_connect() {
        // Also a connect that timed out: the request never left.
        Failure::Connect
    } else if r.is_timeout() {
        Failure::Timeout
    } else if r.is_body() || r.is_decode() {
        Failure::BodyCut
    } else {
        Failure::Interrupted
    }
}

/// What kind of failure a transport error is, and the error itself to keep as the source.
pub(crate) fn classify(e: reqwest_middleware::Error) -> (Failure, Source) {
    match e {
        reqwest_middleware::Error::Reqwest(r) => (failure_of(&r), Arc::new(r)),
        reqwest_middleware::Error::Middleware(m) => {
            let boxed: Box<dyn std::error::Error + Send + Sync> = m.into();
            (Failure::Interrupted, Arc::from(boxed))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_origin_one_fingerprint() {
        let f = |u: &str| origin_fingerprint(&Url::parse(u).unwrap());
        let origin = f("https://api.example/v1/rooms?max=2");
        assert_eq!(origin, f("https://api.example:443/other"));
        assert_eq!(origin, f("https://user:secret@api.example/"));
        assert_ne!(origin, f("http://api.example/v1/rooms"));
        assert_ne!(origin, f("https://api.example:8443/v1/rooms"));
        assert_ne!(origin, f("https://api.example.org/v1/rooms"));
        assert_eq!(fingerprint(b"Bearer a"), fingerprint(b"Bearer a"));
        assert_ne!(fingerprint(b"Bearer a"), fingerprint(b"Bearer b"));
    }

    #[test]
    fn samples_are_in_range_and_spread() {
        let xs: Vec<f64> = (0..1000).map(|_| sample()).collect();
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        assert!((0.4..0.6).contains(&mean), "{mean}");
    }

    #[test]
    fn app_codes_as_numbers_or_strings() {
        let c = verdict::Catalog::builtin().get("webex-connect").unwrap();
        assert_eq!(
            app_code(c, None, br#"{"code":"7109","description":"User in DnD"}"#),
            Some(7109.into())
        );
        assert_eq!(app_code(c, None, br#"{"code":7500}"#), Some(7500.into()));
        assert_eq!(app_code(c, None, b"not json"), None);
        assert_eq!(app_code(c, None, br#"{"code":true}"#), None);
        assert_eq!(app_code(c, None, br#"{"code":""}"#), None);
        // Text codes are codes too; the contract decides whether it knows them.
        assert_eq!(
            app_code(c, None, br#"{"code":"abc"}"#),
            Some("abc".parse().unwrap())
        );
    }

    #[test]
    fn app_codes_inside_an_array() {
        let mut c = verdict::Catalog::builtin().get("webex").unwrap().clone();
        c.error_body.code = Some("/errors/0/code".parse().unwrap());
        let body = br#"{"errors":[{"code":"already_exists"},{"code":"x"}]}"#;
        assert_eq!(
            app_code(&c, None, body),
            Some("already_exists".parse().unwrap())
        );
        assert_eq!(app_code(&c, None, br#"{"errors":[]}"#), None);
    }
}
