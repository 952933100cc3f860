//! The IETF draft's quota fields (draft-ietf-httpapi-ratelimit-headers-10) as the emulator
//! writes them, for a contract whose `[rate_limit] fields` asks for them: `RateLimit-Policy`
//! lists every quota in force, `RateLimit` says what is left of the one counted.

use http::{HeaderMap, HeaderValue};
use std::time::Duration;
use verdict::emulate::Quota;
use verdict::ratelimit::{RATELIMIT, RATELIMIT_POLICY};

use crate::reply::Reply;
use crate::request::{Ctx, Principal};
use crate::util::number_value;

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

impl crate::Emulator {
    pub(crate) fn quota_headers(
        &self,
        ctx: &Ctx<'_>,
        reply: Reply,
        remaining: u32,
        reset: u64,
    ) -> Reply {
        let group = self.route_group(&ctx.req.path);
        let described = self.described_quota(group.as_deref()).map(|(_, q)| q);
        self.quota_headers_for(
            reply,
            remaining,
            reset,
            described.as_ref(),
            group.as_deref(),
        )
    }

    /// The rate-limit group of a request of `path`: its route's own (an operation's or
    /// resource's), else the `[emulator]` one. It chooses the quotas that count the request
    /// and is the value of the `[rate_limit] group` header.
    pub(crate) fn route_group(&self, path: &str) -> Option<String> {
        let state = self.lock();
        self.group_among(path, self.quotas_in_force(state.quotas()))
    }

    /// [`route_group`](Self::route_group) with the quotas in force at hand.
    fn group_among(&self, path: &str, quotas: &[Quota]) -> Option<String> {
        // Neither a group header nor a quota of a group: nothing to work out.
        if self.contract.rate_limit.group.is_none() && quotas.iter().all(|q| q.group.is_none()) {
            return None;
        }
        let own = self.spec.resources.iter().any(|r| {
            r.rate_limit_group.is_some()
                || r.operations.iter().any(|o| o.rate_limit_group.is_some())
        });
        let routed = own
            .then(|| self.resolve(path))
            .flatten()
            .and_then(|t| t.group().map(str::to_owned));
        routed.or_else(|| self.spec.rate_limit_group.clone())
    }

    /// The quota (with its place among those in force) the rate-limit headers of a route
    /// in `group` describe: the first that names the group, else the first that counts it.
    pub(crate) fn described_quota(&self, group: Option<&str>) -> Option<(usize, Quota)> {
        let state = self.lock();
        described(self.quotas_in_force(state.quotas()), group).map(|(i, q)| (i, q.clone()))
    }

    /// With shared state, the headers of the quota the route's answers describe as the
    /// emulators of the group counted it (the answer was made from this emulator's
    /// estimate).
    pub(crate) fn quota_headers_shared(
        &self,
        reply: &mut Reply,
        path: &str,
        asks: &[crate::state::Ask],
        counted: &[(u32, Duration)],
    ) {
        let group = self.route_group(path);
        let Some((index, _)) = self.described_quota(group.as_deref()) else {
            return;
        };
        let Some((ask, (remaining, left))) =
            asks.iter().zip(counted).find(|(a, _)| a.index == index)
        else {
            return;
        };
        let names = &self.contract.rate_limit;
        let mut set = |h: &Option<verdict::Header>, v: u64| {
            if let Some(h) = h {
                if reply.headers.contains_key(h.name()) {
                    reply.headers.insert(h.name().clone(), number_value(v));
                }
            }
        };
        set(&names.remaining, u64::from(*remaining));
        set(&names.used, u64::from(ask.limit.saturating_sub(*remaining)));
        if let Some(h) = names
            .reset
            .as_ref()
            .filter(|h| reply.headers.contains_key(h.name()))
        {
            let value = self.reset_value(left.as_millis().div_ceil(1000) as u64);
            reply.headers.insert(h.name().clone(), value);
        }
        if names.fields.draft() && reply.headers.contains_key(verdict::ratelimit::RATELIMIT) {
            let (window_s, reset) = (ask.window.as_secs() as u32, left.as_millis().div_ceil(1000));
            let reset = reset as u64;
            crate::ratelimit::set_limit(&mut reply.headers, ask.limit, window_s, *remaining, reset);
        }
    }

    /// The reset header's value for a reset `reset_s` seconds away, in the contract's
    /// format (`[rate_limit] reset_format`; seconds for `auto`).
    fn reset_value(&self, reset_s: u64) -> HeaderValue {
        use verdict::ResetFormat;
        match self.contract.rate_limit.reset_format {
            ResetFormat::Seconds | ResetFormat::Auto => number_value(reset_s),
            format => {
                let text = format.write(Duration::from_secs(reset_s), std::time::SystemTime::now());
                HeaderValue::from_str(&text).unwrap_or_else(|_| number_value(reset_s))
            }
        }
    }

    /// The contract's rate-limit headers for `quota` (numbers written without formatting:
    /// this runs on every successful answer).
    pub(crate) fn quota_headers_for(
        &self,
        mut reply: Reply,
        remaining: u32,
        reset: u64,
        quota: Option<&verdict::emulate::Quota>,
        group: Option<&str>,
    ) -> Reply {
        let names = &self.contract.rate_limit;
        let numbers = [
            (&names.limit, quota.map(|q| u64::from(q.requests))),
            (&names.window, quota.map(|q| u64::from(q.window_s))),
            (&names.remaining, Some(remaining.into())),
            (
                &names.used,
                quota.map(|q| u64::from(q.requests.saturating_sub(remaining))),
            ),
        ];
        for (name, value) in numbers.into_iter().filter(|_| names.fields.named()) {
            if let (Some(h), Some(v)) = (name, value) {
                // Appended in place: `number_header` would move the reply for each one.
                reply.headers.append(h.name().clone(), number_value(v));
            }
        }
        if let (true, Some(h)) = (names.fields.named(), &names.reset) {
            reply
                .headers
                .append(h.name().clone(), self.reset_value(reset));
        }
        if let (true, Some(h), Some(group)) = (names.fields.named(), &names.group, group) {
            if let Ok(value) = HeaderValue::from_str(group) {
                reply.headers.append(h.name().clone(), value);
            }
        }
        if let (true, Some(q)) = (names.fields.draft(), quota) {
            let state = self.lock();
            let counting: Vec<Quota> = self
                .quotas_in_force(state.quotas())
                .iter()
                .filter(|q| q.counts(group))
                .cloned()
                .collect();
            crate::ratelimit::append(&mut reply.headers, &counting, q, remaining, reset);
        }
        reply
    }

    /// The quotas that count: those set through the admin API (`admin`), else the
    /// configured ones, else the contract's.
    pub(crate) fn quotas_in_force<'a>(
        &'a self,
        admin: Option<&'a [verdict::emulate::Quota]>,
    ) -> &'a [verdict::emulate::Quota] {
        admin
            .or(self.config.quotas.as_deref())
            .unwrap_or(&self.spec.quotas)
    }

    /// Counts the request against every quota of its route's rate-limit group (and those
    /// of every route): the group, and the state of the quota its headers describe when it
    /// passes.
    pub(crate) fn count_quota(&self, ctx: &Ctx<'_>, who: &Principal) -> Result<Counted, Reply> {
        let now = crate::util::wall_ms();
        let mut first = None;
        let mut state = self.lock();
        let admin_set = state.quotas().map(<[_]>::to_vec);
        let quotas = self.quotas_in_force(admin_set.as_deref());
        let route = self.group_among(&ctx.req.path, quotas);
        let group = route.as_deref();
        let shown = described(quotas, group).map(|(i, _)| i);
        for (i, q) in quotas.iter().enumerate().filter(|(_, q)| q.counts(group)) {
            match state.count(
                &who.credential,
                i,
                q.requests,
                Duration::from_secs(u64::from(q.window_s)),
                now,
            ) {
                Ok((left, reset)) if Some(i) == shown => first = Some((left, reset, q.clone())),
                Ok(_) => {}
                Err(reset) => {
                    drop(state);
                    let msg = format!(
                        "More than {} requests in {} s on this credential; try again after the time in Retry-After.",
                        q.requests, q.window_s
                    );
                    let reply = self
                        .error(ctx, q.status, Some(&msg), &[])
                        .number_header(&self.contract.headers.retry_after, reset);
                    return Err(self.quota_headers_for(reply, 0, reset, Some(q), group));
                }
            }
        }
        Ok(Counted {
            group: route,
            shown: first,
        })
    }
}

/// A request counted against its quotas: its rate-limit group, and what is left of the
/// quota its headers describe (remaining, seconds to the reset, the quota).
pub(crate) struct Counted {
    pub(crate) group: Option<String>,
    pub(crate) shown: Option<(u32, u64, Quota)>,
}

/// The quota of `quotas` a route in `group` describes, with its index: the first that names
/// the group, else the first that counts every route.
fn described<'q>(quotas: &'q [Quota], group: Option<&str>) -> Option<(usize, &'q Quota)> {
    let mut counting = quotas.iter().enumerate().filter(|(_, q)| q.counts(group));
    let own = counting.clone().find(|(_, q)| q.group.is_some());
    own.or_else(|| counting.next())
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
            group: None,
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
