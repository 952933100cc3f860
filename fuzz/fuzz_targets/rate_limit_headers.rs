//! The rate-limit headers a client reads to learn its quota (`verdict::headers::quota`):
//! `X-RateLimit-*` of the HTTP baseline, RingCentral's `X-Rate-Limit-*` (with its window
//! and group), under every built-in contract.
//!
//! Input layout: bytes 0..8 are the current time (seconds since 1970, little-endian, cut to
//! the year ~2500). The rest is lines `N value`: N (one byte) picks the header name, one of
//! the quota names of the contracts or, past them, the name written in the line as
//! `name:value`; the value is raw bytes (obs-text and invalid UTF-8 included). A line whose
//! name or value HTTP would not carry is skipped.
//!
//! Checked against an independent reading of the same headers: limit, remaining and group
//! are the first header's trimmed text, the reset is bounded (`MAX_RESET`), a small reset
//! is taken as seconds, and adding the reset to the clock never overflows (the client
//! blocks the credential until then).
#![no_main]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use verdict::headers::{MAX_RESET, quota};

const NAMES: [&str; 10] = [
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "x-rate-limit-limit",
    "x-rate-limit-remaining",
    "x-rate-limit-window",
    "x-rate-limit-group",
    "X-RateLimit-Reset",
    "retry-after",
    "x-rate-limit-reset",
];

/// The first value of `name`, trimmed, if it is text.
fn text<'a>(headers: &'a HeaderMap, name: Option<&verdict::Header>) -> Option<&'a str> {
    headers
        .get(name?.name())
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

fn number(headers: &HeaderMap, name: Option<&verdict::Header>) -> Option<u64> {
    text(headers, name).and_then(|s| s.parse().ok())
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let (clock, rest) = data.split_at(8);
    let secs = u64::from_le_bytes(clock.try_into().unwrap()) % 16_725_225_600; // < year 2500
    let now = UNIX_EPOCH + Duration::from_secs(secs);

    let mut headers = HeaderMap::new();
    for line in rest.split(|b| *b == b'\n').take(32) {
        let Some((&pick, line)) = line.split_first() else {
            continue;
        };
        let (name, value) = match NAMES.get(usize::from(pick)) {
            Some(n) => (HeaderName::from_bytes(n.as_bytes()).ok(), line),
            None => match line.iter().position(|b| *b == b':') {
                Some(i) => match HeaderName::from_bytes(&line[..i]) {
                    Ok(n) => (Some(n), &line[i + 1..]),
                    Err(_) => continue,
                },
                None => continue,
            },
        };
        let (Some(name), Ok(value)) = (name, HeaderValue::from_bytes(value)) else {
            continue;
        };
        headers.append(name, value);
    }

    for contract in verdict::Catalog::builtin().contracts() {
        let names = &contract.rate_limit;
        let Some(q) = quota(names, &headers, now) else {
            // Nothing readable: no header the contract names carries a number or a group.
            assert_eq!(number(&headers, names.limit.as_ref()), None);
            assert_eq!(number(&headers, names.remaining.as_ref()), None);
            assert_eq!(number(&headers, names.reset.as_ref()), None);
            assert_eq!(number(&headers, names.window.as_ref()), None);
            assert_eq!(text(&headers, names.group.as_ref()), None);
            continue;
        };
        assert_eq!(q.limit, number(&headers, names.limit.as_ref()));
        assert_eq!(q.remaining, number(&headers, names.remaining.as_ref()));
        assert_eq!(q.group.as_deref(), text(&headers, names.group.as_ref()));
        assert_eq!(q.exhausted(), q.remaining == Some(0));
        let reset = number(&headers, names.reset.as_ref());
        let window = number(&headers, names.window.as_ref());
        assert_eq!(q.reset_after.is_some(), reset.is_some() || window.is_some());
        if let Some(after) = q.reset_after {
            assert!(after <= MAX_RESET, "reset {after:?} beyond {MAX_RESET:?}");
            // The client blocks the credential until now + reset: that must be a time.
            assert!(now.checked_add(after).is_some());
            let _: SystemTime = now + after;
        }
        match (reset, window) {
            (Some(n), _) if n <= 1_000_000_000 => {
                assert_eq!(q.reset_after, Some(Duration::from_secs(n)));
            }
            (None, Some(n)) => {
                assert_eq!(q.reset_after, Some(Duration::from_secs(n).min(MAX_RESET)));
            }
            _ => {}
        }
    }
});
