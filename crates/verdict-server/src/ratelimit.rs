//! The IETF draft's quota fields (draft-ietf-httpapi-ratelimit-headers-10) as the emulator
//! writes them, for a contract whose `[rate_limit] fields` asks for them: `RateLimit-Policy`
//! lists every quota in force, `RateLimit` says what is left of the one counted.

use http::{HeaderMap, HeaderValue};
use verdict::emulate::Quota;
use verdict::ratelimit::{RATELIMIT, RATELIMIT_POLICY};

/// The name a quota goes by in both fields, e.g. `600-per-60s`: the same quota always
/// gets the same name, so a client can match a limit to its policy.
fn name(requests: u32, window_s: u32) -> String {
    format!("{requests}-per-{window_s}s")
}

/// Writes both fields: the policies in force, and `remaining` requests left of `counted`
/// with `reset` seconds until its window ends.
pub(crate) fn append(
    headers: &mut HeaderMap,
    in_force: &[Quota],
    counted: &Quota,
    remaining: u32,
    reset: u64,
) {
    let policies: Vec<String> = in_force
        .iter()
        .map(|q| {
            format!(
                "\"{}\";q={};w={}",
                name(q.requests, q.window_s),
                q.requests,
                q.window_s
            )
        })
        .collect();
    if let Ok(v) = HeaderValue::from_str(&policies.join(", ")) {
        if !policies.is_empty() {
            headers.append(RATELIMIT_POLICY, v);
        }
    }
    set_limit(
        headers,
        counted.requests,
        counted.window_s,
        remaining,
        reset,
    );
}

/// Writes (or replaces) the `RateLimit` field for the quota of `requests` per `window_s`.
pub(crate) fn set_limit(
    headers: &mut HeaderMap,
    requests: u32,
    window_s: u32,
    remaining: u32,
    reset: u64,
) {
    let text = format!("\"{}\";r={remaining};t={reset}", name(requests, window_s));
    if let Ok(v) = HeaderValue::from_str(&text) {
        headers.insert(RATELIMIT, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_fields_read_back_as_written() {
        let q = |requests, window_s| Quota {
            requests,
            window_s,
            status: 429,
        };
        let mut h = HeaderMap::new();
        append(&mut h, &[q(10, 1), q(10000, 86400)], &q(10, 1), 0, 1);
        let p = verdict::ratelimit::policies(&h);
        assert_eq!(p.len(), 2);
        assert_eq!(
            (p[1].name.as_str(), p[1].quota),
            ("10000-per-86400s", 10000)
        );
        assert_eq!(p[1].window, Some(Duration::from_secs(86400)));
        let quota = verdict::ratelimit::draft_quota(&h).unwrap();
        assert!(quota.exhausted());
        assert_eq!(quota.limit, Some(10));
        assert_eq!(quota.reset_after, Some(Duration::from_secs(1)));
        set_limit(&mut h, 10, 1, 7, 1);
        assert_eq!(verdict::ratelimit::limits(&h)[0].remaining, 7);
        assert_eq!(h.get_all(RATELIMIT).iter().count(), 1);
    }
}
