//! The IETF draft's quota fields and what a client reads beside them: the Structured Field
//! list parser (`verdict::sf`), `RateLimit` / `RateLimit-Policy` (`verdict::ratelimit`),
//! the waits in milliseconds and `x-should-retry` (`verdict::headers`), and the pause a
//! client takes (`headers::pause`) under every built-in contract.
//!
//! Input layout: bytes 0..8 are the current time (seconds since 1970, little-endian, cut to
//! the year ~2500); the rest is lines whose first byte picks a header name from `NAMES`
//! (modulo its length) and whose other bytes are the value. A line HTTP would not carry is
//! skipped; every line is also parsed on its own as a list.
//!
//! Checked: nothing panics; a parsed item prints as text that parses to the same value;
//! limits and resets are bounded by `MAX_RESET`; a pause only follows a used-up quota and
//! its end is a time the clock can hold.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use verdict::headers::{MAX_RESET, pause, retry_after_header, should_retry};
use verdict::ratelimit::{limits, policies, standard_quota};
use verdict::sf::{Member, parse_list};

const NAMES: [&str; 9] = [
    "ratelimit",
    "ratelimit-policy",
    "ratelimit-remaining",
    "ratelimit-reset",
    "x-ratelimit-remaining",
    "retry-after",
    "retry-after-ms",
    "x-ms-retry-after-ms",
    "x-should-retry",
];

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let (clock, rest) = data.split_at(8);
    let secs = u64::from_le_bytes(clock.try_into().unwrap()) % 16_725_225_600;
    let now = UNIX_EPOCH + Duration::from_secs(secs);

    let mut headers = HeaderMap::new();
    for line in rest.split(|b| *b == b'\n').take(32) {
        let Some((&pick, value)) = line.split_first() else {
            continue;
        };
        if let Ok(list) = parse_list(value) {
            for member in &list {
                if let Member::Item(item) = member {
                    let printed = item.value.to_string();
                    let again = parse_list(printed.as_bytes()).expect("printed values parse");
                    assert_eq!(again[0].item().map(|i| &i.value), Some(&item.value));
                }
            }
        }
        let name = HeaderName::from_static(NAMES[usize::from(pick) % NAMES.len()]);
        if let Ok(v) = HeaderValue::from_bytes(value) {
            headers.append(name, v);
        }
    }

    let _ = policies(&headers);
    for l in limits(&headers) {
        assert!(l.reset.is_none_or(|r| r <= MAX_RESET));
    }
    if let Some(q) = standard_quota(&headers, now) {
        assert!(q.reset_after.is_none_or(|r| r <= MAX_RESET));
    }
    for contract in verdict::Catalog::builtin().contracts() {
        let _ = should_retry(contract, &headers);
        let _ = retry_after_header(&headers, &contract.headers.retry_after, now);
        if let Some((q, wait)) = pause(contract, &headers, now) {
            assert!(q.exhausted());
            assert!(wait <= MAX_RESET);
            assert!(now.checked_add(wait).is_some());
        }
    }
});
