//! The quota fields of draft-ietf-httpapi-ratelimit-headers-10, `RateLimit` and
//! `RateLimit-Policy`, and the older conventions still common in the wild: the earlier
//! drafts' `RateLimit-Limit`, `-Remaining` and `-Reset`, and `X-RateLimit-*` /
//! `X-Rate-Limit-*`. A client reads these when a response does not carry the quota
//! headers its contract names (see [`crate::headers::pause`]).
//!
//! Both draft fields are Structured Field lists (RFC 9651): each member names a policy and
//! carries parameters.
//!
//! ```
//! use http::HeaderMap;
//! use std::time::Duration;
//! use verdict::ratelimit::{limits, policies};
//! let mut h = HeaderMap::new();
//! h.insert("ratelimit-policy", r#""burst";q=100;w=60, "daily";q=1000;w=86400"#.parse().unwrap());
//! h.insert("ratelimit", r#""burst";r=0;t=30"#.parse().unwrap());
//! let p = policies(&h);
//! assert_eq!((p[1].name.as_str(), p[1].quota), ("daily", 1000));
//! let l = limits(&h);
//! assert_eq!((l[0].remaining, l[0].reset), (0, Some(Duration::from_secs(30))));
//! ```
//!
//! A field that is not a valid list is ignored as a whole; a member without its required
//! parameter (`q` for a policy, `r` for a limit), or with a negative or mistyped number, is
//! skipped. Nothing here fails or panics on what a server sends.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderName};

use crate::headers::{MAX_RESET, Quota, QuotaSource, quota};
use crate::model::RateLimitHeaders;
use crate::sf::{BareItem, Item, Params, parse_list_lines};

/// The field that carries the current service limits.
pub const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
/// The field that advertises the quota policies.
pub const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");

/// One policy of a `RateLimit-Policy` field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The policy's name (the member's string or token).
    pub name: String,
    /// `q`: the quota, in `unit`s.
    pub quota: u64,
    /// `qu`: what the quota counts (`requests` when absent; also `content-bytes`,
    /// `concurrent-requests`).
    pub unit: Option<String>,
    /// `w`: the window the quota applies to.
    pub window: Option<Duration>,
    /// `pk`: the partition key (the base64 text of a byte sequence, or a string).
    pub partition: Option<String>,
}

/// One member of a `RateLimit` field: how much of a policy is left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    /// The policy's name.
    pub name: String,
    /// `r`: quota units left.
    pub remaining: u64,
    /// `t`: how long until the quota resets.
    pub reset: Option<Duration>,
    /// `pk`: the partition key.
    pub partition: Option<String>,
}

/// The members of every line of `name`, when the field is present and a valid list.
fn members(headers: &HeaderMap, name: &HeaderName) -> Vec<Item> {
    let lines = headers.get_all(name);
    if lines.iter().next().is_none() {
        return Vec::new();
    }
    match parse_list_lines(lines.iter().map(|v| v.as_bytes())) {
        Ok(list) => list.into_iter().filter_map(|m| m.item().cloned()).collect(),
        Err(_) => Vec::new(),
    }
}

/// A non-negative integer parameter; `Err` when present with another type or sign.
fn count(params: &Params, key: &str) -> Result<Option<u64>, ()> {
    match params.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_integer()
            .and_then(|n| u64::try_from(n).ok())
            .map(Some)
            .ok_or(()),
    }
}

fn seconds(params: &Params, key: &str) -> Result<Option<Duration>, ()> {
    count(params, key).map(|n| n.map(|s| Duration::from_secs(s).min(MAX_RESET)))
}

fn partition(params: &Params) -> Option<String> {
    match params.get("pk")? {
        BareItem::Bytes(b) => Some(b.clone()),
        other => other.as_text().map(str::to_owned),
    }
}

/// The policies a response advertises in `RateLimit-Policy` (none when the field is
/// absent or malformed).
pub fn policies(headers: &HeaderMap) -> Vec<Policy> {
    members(headers, &RATELIMIT_POLICY)
        .into_iter()
        .filter_map(|item| {
            let name = item.value.as_text()?.to_owned();
            Some(Policy {
                name,
                quota: count(&item.params, "q").ok()??,
                unit: item
                    .params
                    .get("qu")
                    .and_then(BareItem::as_text)
                    .map(str::to_owned),
                window: seconds(&item.params, "w").ok()?,
                partition: partition(&item.params),
            })
        })
        .collect()
}

/// The limits a response reports in `RateLimit` (none when the field is absent or
/// malformed).
pub fn limits(headers: &HeaderMap) -> Vec<Limit> {
    members(headers, &RATELIMIT)
        .into_iter()
        .filter_map(|item| {
            let name = item.value.as_text()?.to_owned();
            Some(Limit {
                name,
                remaining: count(&item.params, "r").ok()??,
                reset: seconds(&item.params, "t").ok()?,
                partition: partition(&item.params),
            })
        })
        .collect()
}

/// The quota the draft fields describe: the limit with the least left (the longest reset
/// among equals), with its policy's quota, window and partition. `None` when `RateLimit`
/// has no usable member.
///
/// ```
/// use http::HeaderMap;
/// use std::time::Duration;
/// let mut h = HeaderMap::new();
/// h.append("ratelimit-policy", r#""burst";q=100;w=60"#.parse().unwrap());
/// h.append("ratelimit-policy", r#""daily";q=1000;w=86400"#.parse().unwrap());
/// h.insert("ratelimit", r#""burst";r=40;t=10, "daily";r=0;t=3600"#.parse().unwrap());
/// let q = verdict::ratelimit::draft_quota(&h).unwrap();
/// assert!(q.exhausted());
/// assert_eq!(q.limit, Some(1000));
/// assert_eq!(q.group.as_deref(), Some("daily"));
/// assert_eq!(q.reset_after, Some(Duration::from_secs(3600)));
/// ```
pub fn draft_quota(headers: &HeaderMap) -> Option<Quota> {
    let limits = limits(headers);
    let binding = limits
        .iter()
        .min_by_key(|l| (l.remaining, std::cmp::Reverse(l.reset)))?;
    let policies = policies(headers);
    let policy = policies
        .iter()
        .find(|p| p.name == binding.name && p.partition == binding.partition)
        .or_else(|| policies.iter().find(|p| p.name == binding.name));
    Some(Quota {
        limit: policy.map(|p| p.quota),
        remaining: Some(binding.remaining),
        reset_after: binding.reset.or(policy.and_then(|p| p.window)),
        group: Some(binding.name.clone()),
        partition: binding
            .partition
            .clone()
            .or_else(|| policy.and_then(|p| p.partition.clone())),
        source: QuotaSource::Draft,
    })
}

/// The header sets of the older conventions, in the order they are tried.
fn conventions() -> &'static [(QuotaSource, RateLimitHeaders)] {
    static SETS: OnceLock<Vec<(QuotaSource, RateLimitHeaders)>> = OnceLock::new();
    SETS.get_or_init(|| {
        let set = |prefix: &str| RateLimitHeaders {
            limit: format!("{prefix}-Limit").parse().ok(),
            remaining: format!("{prefix}-Remaining").parse().ok(),
            reset: format!("{prefix}-Reset").parse().ok(),
            ..RateLimitHeaders::default()
        };
        vec![
            (QuotaSource::EarlyDraft, set("RateLimit")),
            (QuotaSource::XRateLimit, set("X-RateLimit")),
            (QuotaSource::XRateLimit, set("X-Rate-Limit")),
        ]
    })
}

/// Whether the first `name` line says a number: `Some(true)` for zero, `Some(false)` for
/// any other number or text, `None` when absent.
pub(crate) fn says_zero(headers: &HeaderMap, name: &HeaderName) -> Option<bool> {
    let v = headers.get(name)?;
    Some(v.to_str().ok().and_then(|s| s.trim().parse::<u64>().ok()) == Some(0))
}

/// The quota a response describes by the common conventions, tried in order: the draft's
/// `RateLimit` (with `RateLimit-Policy`), the earlier drafts' `RateLimit-Limit`,
/// `-Remaining` and `-Reset`, then `X-RateLimit-*` and `X-Rate-Limit-*` (a reset above
/// 10^9 is a Unix time). The first convention the response uses readably wins.
///
/// ```
/// use http::HeaderMap;
/// use std::time::{Duration, SystemTime};
/// let mut h = HeaderMap::new();
/// h.insert("ratelimit-remaining", "0".parse().unwrap());
/// h.insert("ratelimit-reset", "12".parse().unwrap());
/// let q = verdict::ratelimit::standard_quota(&h, SystemTime::now()).unwrap();
/// assert!(q.exhausted());
/// assert_eq!(q.reset_after, Some(Duration::from_secs(12)));
/// ```
pub fn standard_quota(headers: &HeaderMap, now: SystemTime) -> Option<Quota> {
    if headers.contains_key(RATELIMIT) {
        if let Some(q) = draft_quota(headers) {
            return Some(q);
        }
    }
    conventions().iter().find_map(|(source, names)| {
        quota(names, headers, now).map(|q| Quota {
            source: *source,
            ..q
        })
    })
}

/// [`standard_quota`] when it says the quota is used up, reading no more than needed:
/// most responses have quota left, and this runs on every one.
pub(crate) fn standard_exhausted(headers: &HeaderMap, now: SystemTime) -> Option<Quota> {
    // Most answers carry no quota at all: one pass over the names is cheaper than a lookup
    // per convention (each custom name is hashed anew).
    let mentions_quota = headers.keys().any(|k| {
        let name = k.as_str();
        ["ratelimit", "x-ratelimit", "x-rate-limit"]
            .iter()
            .any(|prefix| name.starts_with(prefix))
    });
    if !mentions_quota {
        return None;
    }
    if headers.contains_key(RATELIMIT) {
        if let Some(q) = draft_quota(headers) {
            return q.exhausted().then_some(q);
        }
    }
    for (source, names) in conventions() {
        let Some(remaining) = names.remaining.as_ref() else {
            continue;
        };
        match says_zero(headers, remaining.name()) {
            None => continue,
            Some(false) => return None,
            Some(true) => {
                return quota(names, headers, now).map(|q| Quota {
                    source: *source,
                    ..q
                });
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn several_policies_partition_keys_and_units() {
        let h = headers(&[
            (
                "ratelimit-policy",
                r#""burst";q=100;w=60;pk=:dXNlcjE=:, "bytes";q=65536;qu="content-bytes""#,
            ),
            ("ratelimit-policy", "daily;q=1000;w=86400"),
        ]);
        let p = policies(&h);
        assert_eq!(p.len(), 3);
        assert_eq!(p[0].partition.as_deref(), Some("dXNlcjE="));
        assert_eq!(p[1].unit.as_deref(), Some("content-bytes"));
        assert_eq!(p[1].window, None);
        assert_eq!(p[2].name, "daily");
        assert_eq!(p[2].window, Some(Duration::from_secs(86400)));
    }

    #[test]
    fn members_without_their_numbers_are_skipped() {
        let h = headers(&[
            (
                "ratelimit-policy",
                r#""a";w=60, "b";q=-1, "c";q="10", "d";q=5"#,
            ),
            (
                "ratelimit",
                r#""a";t=5, "b";r=1.5, "c";r=2;t=-1, ("x");r=0, "d";r=3"#,
            ),
        ]);
        let p: Vec<_> = policies(&h).into_iter().map(|p| p.name).collect();
        assert_eq!(p, ["d"]);
        let l = limits(&h);
        assert_eq!(l.len(), 1);
        assert_eq!((l[0].name.as_str(), l[0].remaining), ("d", 3));
    }

    #[test]
    fn a_malformed_field_is_ignored_whole() {
        let h = headers(&[("ratelimit", r#""default";r=0;t=30,"#)]);
        assert!(limits(&h).is_empty());
        assert_eq!(draft_quota(&h), None);
        // The next convention is read instead.
        let mut h = h;
        h.insert("x-ratelimit-remaining", "0".parse().unwrap());
        h.insert("x-ratelimit-reset", "9".parse().unwrap());
        let q = standard_quota(&h, SystemTime::UNIX_EPOCH).unwrap();
        assert_eq!(q.source, QuotaSource::XRateLimit);
        assert_eq!(q.reset_after, Some(Duration::from_secs(9)));
        assert_eq!(standard_exhausted(&h, SystemTime::UNIX_EPOCH), Some(q));
    }

    #[test]
    fn the_binding_limit_is_the_one_with_least_left() {
        let h = headers(&[
            ("ratelimit", r#""a";r=5;t=1, "b";r=0;t=30, "c";r=0;t=90"#),
            ("ratelimit-policy", r#""c";q=10;w=120;pk="p""#),
        ]);
        let q = draft_quota(&h).unwrap();
        assert_eq!(q.group.as_deref(), Some("c"));
        assert_eq!(q.reset_after, Some(Duration::from_secs(90)));
        assert_eq!(q.limit, Some(10));
        assert_eq!(q.partition.as_deref(), Some("p"));
        // Without `t`, the policy's window.
        let h = headers(&[
            ("ratelimit", r#""c";r=0"#),
            ("ratelimit-policy", r#""c";q=10;w=120"#),
        ]);
        assert_eq!(
            draft_quota(&h).unwrap().reset_after,
            Some(Duration::from_secs(120))
        );
    }

    #[test]
    fn older_conventions_in_order() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let h = headers(&[("ratelimit-remaining", "3"), ("x-ratelimit-remaining", "0")]);
        let q = standard_quota(&h, now).unwrap();
        assert_eq!((q.source, q.remaining), (QuotaSource::EarlyDraft, Some(3)));
        assert_eq!(standard_exhausted(&h, now), None);
        // GitHub's reset is a Unix time.
        let h = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1700000042"),
        ]);
        let q = standard_exhausted(&h, now).unwrap();
        assert_eq!(q.reset_after, Some(Duration::from_secs(42)));
        let h = headers(&[("x-rate-limit-remaining", "0"), ("x-rate-limit-reset", "5")]);
        assert_eq!(
            standard_exhausted(&h, now).unwrap().reset_after,
            Some(Duration::from_secs(5))
        );
        assert_eq!(standard_quota(&HeaderMap::new(), now), None);
    }
}
