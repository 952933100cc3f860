//! The IETF RateLimit fields and the older quota conventions: what a client reads from
//! any bytes a server may send, and what it makes of well-formed fields.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;
use verdict::Catalog;
use verdict::headers::{MAX_RESET, QuotaSource, pause};
use verdict::ratelimit::{draft_quota, limits, policies, standard_quota};
use verdict::sf::{BareItem, Member, parse_list};

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

const NAMES: [&str; 10] = [
    "ratelimit",
    "ratelimit-policy",
    "ratelimit-remaining",
    "ratelimit-reset",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "x-rate-limit-remaining",
    "retry-after",
    "retry-after-ms",
    "x-rate-limit-window",
];

/// Text that often looks like a structured field and sometimes is one.
fn field_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~]{0,60}",
        r#"("?[a-z]{1,6}"?(;[a-z]{1,2}(=(-?[0-9]{1,17}(\.[0-9]{0,4})?|"[a-z]{0,4}"|\?[01]|:[a-z=]{0,6}:|[a-z]{1,4}))?){0,4}(, ?)?){0,4}"#,
    ]
}

proptest! {
    /// Arbitrary text never panics the parser, and what parses prints back to something
    /// that parses to the same list.
    #[test]
    fn any_text_parses_or_is_refused(text in field_text()) {
        if let Ok(list) = parse_list(text.as_bytes()) {
            for m in &list {
                if let Member::Item(item) = m {
                    let mut printed = item.value.to_string();
                    for (k, v) in item.params.iter() {
                        printed.push_str(&format!(";{k}={v}"));
                    }
                    let again = parse_list(printed.as_bytes());
                    prop_assert!(again.is_ok(), "{printed:?} from {text:?}");
                    let again = again.unwrap();
                    prop_assert_eq!(again[0].item().map(|i| &i.value), Some(&item.value));
                }
            }
        }
    }

    /// Any quota headers, well-formed or not, under every built-in contract: no panic,
    /// resets are bounded and can be added to the clock, and a pause only follows a quota
    /// that is used up.
    #[test]
    fn any_quota_headers_are_read_safely(
        lines in prop::collection::vec((0usize..NAMES.len(), field_text()), 0..8),
        secs in 0u64..16_000_000_000,
    ) {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
        let mut h = HeaderMap::new();
        for (i, text) in &lines {
            if let Ok(v) = HeaderValue::from_bytes(text.as_bytes()) {
                h.append(HeaderName::from_static(NAMES[*i]), v);
            }
        }
        let _ = policies(&h);
        for l in limits(&h) {
            prop_assert!(l.reset.is_none_or(|r| r <= MAX_RESET));
        }
        if let Some(q) = standard_quota(&h, now) {
            prop_assert!(q.reset_after.is_none_or(|r| r <= MAX_RESET && now.checked_add(r).is_some()));
        }
        for c in Catalog::builtin().contracts() {
            if let Some((q, wait)) = pause(c, &h, now) {
                prop_assert!(q.exhausted());
                prop_assert!(wait <= MAX_RESET);
                prop_assert!(now.checked_add(wait).is_some());
            }
        }
    }
}

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(*k, v.parse().unwrap());
    }
    h
}

#[test]
fn the_drafts_own_examples() {
    let h = headers(&[
        (
            "ratelimit-policy",
            r#""burst";q=100;w=60, "daily";q=1000;w=86400"#,
        ),
        ("ratelimit", r#""default";r=0;t=30"#),
    ]);
    let p = policies(&h);
    assert_eq!(p.len(), 2);
    assert_eq!(p[0].quota, 100);
    assert_eq!(p[0].window, Some(Duration::from_secs(60)));
    let q = draft_quota(&h).unwrap();
    assert!(q.exhausted());
    assert_eq!(q.group.as_deref(), Some("default"));
    assert_eq!(q.limit, None, "no policy is named \"default\"");
    assert_eq!(q.reset_after, Some(Duration::from_secs(30)));
    assert_eq!(q.source, QuotaSource::Draft);
    // A partition key sent as a byte sequence.
    let h = headers(&[("ratelimit", r#""default";r=5;t=1;pk=:cHJvamVjdC0x:"#)]);
    assert_eq!(
        draft_quota(&h).unwrap().partition.as_deref(),
        Some("cHJvamVjdC0x")
    );
    assert_eq!(
        parse_list(br#""a";q=1"#).unwrap()[0]
            .item()
            .unwrap()
            .params
            .get("q"),
        Some(&BareItem::Integer(1))
    );
}

#[test]
fn a_contract_pauses_on_whatever_quota_fields_the_answer_carries() {
    let catalog = Catalog::builtin();
    let webex = catalog.get("webex").unwrap();
    let rc = catalog.get("ringcentral").unwrap();
    // The contract's own names come first: RingCentral says it has quota left, so the
    // draft field beside it is not read.
    let h = headers(&[
        ("x-rate-limit-remaining", "4"),
        ("ratelimit", r#""default";r=0;t=30"#),
    ]);
    assert_eq!(pause(rc, &h, now()), None);
    // Without them, the draft's field paces.
    let h = headers(&[("ratelimit", r#""default";r=0;t=30"#)]);
    let (q, wait) = pause(rc, &h, now()).unwrap();
    assert_eq!(
        (q.source, wait),
        (QuotaSource::Draft, Duration::from_secs(30))
    );
    // Quota left: no pause.
    let h = headers(&[("ratelimit", r#""default";r=1;t=30"#)]);
    assert_eq!(pause(webex, &h, now()), None);
    // Retry-After takes precedence over the reset, in seconds or milliseconds.
    let h = headers(&[("ratelimit", r#""default";r=0;t=30"#), ("retry-after", "7")]);
    assert_eq!(pause(webex, &h, now()).unwrap().1, Duration::from_secs(7));
    let h = headers(&[
        ("ratelimit", r#""default";r=0;t=30"#),
        ("retry-after-ms", "700"),
    ]);
    assert_eq!(
        pause(webex, &h, now()).unwrap().1,
        Duration::from_millis(700)
    );
    // The earlier drafts' fields and RingCentral's live X-Rate-Limit-* under webex.
    let h = headers(&[("ratelimit-remaining", "0"), ("ratelimit-reset", "12")]);
    assert_eq!(pause(webex, &h, now()).unwrap().1, Duration::from_secs(12));
    let h = headers(&[("x-rate-limit-remaining", "0"), ("x-rate-limit-reset", "3")]);
    assert_eq!(pause(webex, &h, now()).unwrap().1, Duration::from_secs(3));
    // Used up but no reset and no wait: nothing to pace by.
    let h = headers(&[("ratelimit", r#""default";r=0"#)]);
    assert_eq!(pause(webex, &h, now()), None);
    // A malformed draft field is ignored.
    let h = headers(&[("ratelimit", r#"default;r=0;t=30;"#)]);
    assert_eq!(pause(webex, &h, now()), None);
}
