//! The contract-wide policies: auth, retry, redirects, headers, rate-limit headers and idempotency.

use super::*;

#[derive(Debug, Clone, Default)]
pub(super) struct PartialRetry {
    pub(super) max_retries: Option<u32>,
    pub(super) base: Option<Duration>,
    pub(super) factor: Option<f64>,
    pub(super) cap: Option<Duration>,
    pub(super) jitter: Option<Jitter>,
    pub(super) methods: Option<Vec<Method>>,
    pub(super) idempotency_header: Option<Header>,
    /// Set in the file (the inner `None`: written as "" to turn the baseline's off).
    pub(super) should_retry_header: Option<Option<Header>>,
}

#[derive(Debug, Clone, Default)]
pub(super) struct PartialRedirects {
    pub(super) max_hops: Option<u32>,
    pub(super) missing_location: Option<MissingLocation>,
}

/// The `[idempotency]` table as written.
#[derive(Debug, Clone, Default)]
pub(super) struct PartialIdempotency {
    pub(super) methods: Option<Vec<Method>>,
    pub(super) expires: Option<Duration>,
    pub(super) client_keys: Option<bool>,
    pub(super) reused: PartialAnswer,
    pub(super) in_flight: PartialAnswer,
}

/// One refusal of `[idempotency]` as written.
#[derive(Debug, Clone, Default)]
pub(super) struct PartialAnswer {
    pub(super) status: Option<(u16, Span)>,
    pub(super) message: Option<String>,
    pub(super) origin: Option<Origin>,
    pub(super) path: String,
}

#[derive(Debug, Clone, Default)]
pub(super) struct PartialHeaders {
    pub(super) retry_after: Option<Header>,
    pub(super) tracking_id: Option<Header>,
}

pub(super) fn read_auth(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> Option<Auth> {
    t.check_keys(
        cx,
        &[
            "scheme",
            "header",
            "token_path",
            "credential_headers",
            "authorization",
        ],
    );
    let kind: SchemeKind = t.parsed(cx, "scheme")?;
    let header: Option<Header> = t.parsed(cx, "header");
    let token_path = t.string(cx, "token_path");
    if header.is_some() && kind != SchemeKind::ApiKey {
        cx.report(
            t.span.clone(),
            t.field("header"),
            "only the api-key scheme takes a header",
        );
    }
    if token_path.is_some() && kind != SchemeKind::Oauth2 {
        cx.report(
            t.span.clone(),
            t.field("token_path"),
            "only the oauth2 scheme takes a token_path",
        );
    }
    let scheme = match kind {
        SchemeKind::None => AuthScheme::None,
        SchemeKind::Bearer => AuthScheme::Bearer,
        SchemeKind::Basic => AuthScheme::Basic,
        SchemeKind::Oauth2 => AuthScheme::Oauth2 { token_path },
        SchemeKind::ApiKey => match header {
            Some(header) => AuthScheme::ApiKey { header },
            None => {
                cx.report(
                    t.span.clone(),
                    t.field("header"),
                    "the api-key scheme needs the header that carries the key",
                );
                return None;
            }
        },
    };
    let credential_headers = t.list(cx, "credential_headers").unwrap_or_else(|| {
        let mut v: Vec<Header> = Vec::new();
        if scheme != AuthScheme::None {
            v.push("Authorization".parse().expect("valid header name"));
        }
        if let AuthScheme::ApiKey { header } = &scheme {
            v.push(header.clone());
        }
        v
    });
    let authorization = read_authorization(cx, t, &scheme);
    Some(Auth {
        scheme,
        credential_headers,
        authorization,
    })
}

/// `authorization = ["Bearer", "token"]`: the words a bearer token may follow.
fn read_authorization(cx: &mut Cx<'_>, t: &Obj<'_, '_>, scheme: &AuthScheme) -> Vec<String> {
    let bearer = matches!(scheme, AuthScheme::Bearer | AuthScheme::Oauth2 { .. });
    let words: Option<Vec<String>> = t.list(cx, "authorization");
    let span = t
        .get("authorization")
        .map(Spanned::span)
        .unwrap_or_default();
    match words {
        Some(_) if !bearer => {
            cx.report(
                span,
                t.field("authorization"),
                "only the bearer and oauth2 schemes take authorization words",
            );
            Vec::new()
        }
        Some(w) if w.is_empty() => {
            cx.report(
                span,
                t.field("authorization"),
                "name at least one word, such as \"Bearer\"",
            );
            vec!["Bearer".into()]
        }
        Some(w) => {
            for bad in w.iter().filter(|x| {
                x.is_empty()
                    || !x
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-._~+".contains(c))
            }) {
                cx.report(
                    span.clone(),
                    t.field("authorization"),
                    format!(
                        "\"{bad}\" is not an authentication scheme name (a token such as Bearer)"
                    ),
                );
            }
            w
        }
        None if bearer => vec!["Bearer".into()],
        None => Vec::new(),
    }
}

pub(super) fn read_rate_limit(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> RateLimitHeaders {
    t.check_keys(
        cx,
        &[
            "limit",
            "remaining",
            "used",
            "reset",
            "reset_format",
            "window",
            "group",
            "fields",
        ],
    );
    let names = RateLimitHeaders {
        limit: header_names(cx, t, "limit"),
        remaining: header_names(cx, t, "remaining"),
        used: header_names(cx, t, "used"),
        reset: header_names(cx, t, "reset"),
        reset_format: t.parsed(cx, "reset_format").unwrap_or_default(),
        window: header_names(cx, t, "window"),
        group: header_names(cx, t, "group"),
        fields: t.parsed(cx, "fields").unwrap_or_default(),
    };
    let named = [&names.limit, &names.remaining, &names.reset, &names.window]
        .iter()
        .any(|h| h.is_some());
    if names.fields == QuotaFields::Both && !named {
        cx.report(
            t.get("fields").map(Spanned::span).unwrap_or(t.span.clone()),
            t.field("fields"),
            "\"both\" sends the headers named here beside the draft's fields, but this table names none (use \"ietf-draft\", or name limit, remaining or reset)",
        );
    }
    names
}

pub(super) fn read_retry(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> PartialRetry {
    t.check_keys(
        cx,
        &[
            "max_retries",
            "base_ms",
            "factor",
            "cap_ms",
            "jitter",
            "methods",
            "idempotency_header",
            "should_retry_header",
        ],
    );
    let base = t.integer(cx, "base_ms", 0..3_600_001);
    let cap = t.integer(cx, "cap_ms", 0..86_400_001);
    if let (Some((b, span)), Some((c, _))) = (&base, &cap) {
        if b > c {
            cx.report(
                span.clone(),
                t.field("base_ms"),
                format!("base_ms ({b}) is larger than cap_ms ({c})"),
            );
        }
    }
    let factor = t.float(cx, "factor").and_then(|(f, span)| {
        if (1.0..=16.0).contains(&f) {
            Some(f)
        } else {
            cx.report(
                span,
                t.field("factor"),
                format!("{f} is out of range (1 to 16)"),
            );
            None
        }
    });
    PartialRetry {
        max_retries: t.integer(cx, "max_retries", 0..101).map(|(n, _)| n as u32),
        base: base.map(|(n, _)| Duration::from_millis(n as u64)),
        factor,
        cap: cap.map(|(n, _)| Duration::from_millis(n as u64)),
        jitter: t.parsed(cx, "jitter"),
        methods: t
            .list::<MethodName>(cx, "methods")
            .map(|v| v.into_iter().map(|m| m.0).collect()),
        idempotency_header: t.parsed(cx, "idempotency_header"),
        should_retry_header: match t.string(cx, "should_retry_header") {
            Some(s) if s.is_empty() => Some(None),
            Some(_) => t.parsed(cx, "should_retry_header").map(Some),
            None => None,
        },
    }
}

pub(super) fn read_idempotency(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> PartialIdempotency {
    t.check_keys(
        cx,
        &["methods", "reused", "in_flight", "expires_s", "client_keys"],
    );
    let mut answer = |key: &str| -> PartialAnswer {
        let Some(a) = t.table(cx, key) else {
            return PartialAnswer::default();
        };
        a.check_keys(cx, &["status", "message", "origin"]);
        let message = a.string(cx, "message");
        if message.as_deref().is_some_and(|m| m.trim().is_empty()) {
            cx.report(
                a.get("message").map(Spanned::span).unwrap_or_default(),
                a.field("message"),
                "must not be empty",
            );
        }
        PartialAnswer {
            status: a
                .integer(cx, "status", 400..500)
                .map(|(n, span)| (n as u16, span)),
            message,
            origin: a.parsed(cx, "origin"),
            path: a.path.clone(),
        }
    };
    let reused = answer("reused");
    let in_flight = answer("in_flight");
    PartialIdempotency {
        methods: methods_in(cx, t, "methods"),
        expires: t
            .integer(cx, "expires_s", 1..31_536_001)
            .map(|(n, _)| Duration::from_secs(n as u64)),
        client_keys: t.boolean(cx, "client_keys"),
        reused,
        in_flight,
    }
}

/// Defaults for a contract that extends nothing and leaves a policy out.
pub(super) fn default_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 2,
        base: Duration::from_millis(500),
        factor: 2.0,
        cap: Duration::from_secs(30),
        jitter: Jitter::Full,
        methods: vec![
            Method::GET,
            Method::HEAD,
            Method::OPTIONS,
            Method::PUT,
            Method::DELETE,
            Method::TRACE,
        ],
        idempotency_header: None,
        should_retry_header: None,
    }
}

/// Idempotency rules for a contract that extends nothing and leaves them out: the draft's.
pub(super) fn default_idempotency() -> IdempotencyRules {
    IdempotencyRules {
        methods: vec![Method::POST, Method::PATCH],
        reused: IdempotencyAnswer {
            status: 422,
            message: "This idempotency key was already used with a different payload; send a new key for a new request.".into(),
            origin: Origin::Rfc,
        },
        in_flight: IdempotencyAnswer {
            status: 409,
            message: "A request with this idempotency key is still being processed; wait for its answer before sending it again.".into(),
            origin: Origin::Rfc,
        },
        expires: Duration::from_secs(86_400),
        client_keys: false,
    }
}

impl PartialAnswer {
    /// These fields over the inherited answer; a status set here without an origin is
    /// the document's own rule.
    pub(super) fn resolve(&self, base: &IdempotencyAnswer) -> IdempotencyAnswer {
        IdempotencyAnswer {
            status: self.status.as_ref().map_or(base.status, |(n, _)| *n),
            message: self.message.clone().unwrap_or_else(|| base.message.clone()),
            origin: self.origin.unwrap_or(match self.status {
                Some(_) => Origin::Seed,
                None => base.origin,
            }),
        }
    }
}

/// `[retry]`: the file's values over the base's (or the defaults).
pub(super) fn resolve_retry(
    doc: &Document,
    base: Option<&Contract>,
    found: &mut Vec<(Span, String, String)>,
) -> RetryPolicy {
    let fallback = default_retry();
    let b_retry = base.map_or(&fallback, |b| &b.retry);
    let retry = RetryPolicy {
        max_retries: doc.retry.max_retries.unwrap_or(b_retry.max_retries),
        base: doc.retry.base.unwrap_or(b_retry.base),
        factor: doc.retry.factor.unwrap_or(b_retry.factor),
        cap: doc.retry.cap.unwrap_or(b_retry.cap),
        jitter: doc.retry.jitter.unwrap_or(b_retry.jitter),
        methods: doc
            .retry
            .methods
            .clone()
            .unwrap_or_else(|| b_retry.methods.clone()),
        idempotency_header: doc
            .retry
            .idempotency_header
            .clone()
            .or_else(|| b_retry.idempotency_header.clone()),
        should_retry_header: match &doc.retry.should_retry_header {
            Some(set) => set.clone(),
            None => b_retry.should_retry_header.clone(),
        },
    };
    if retry.base > retry.cap {
        found.push((
            0..0,
            "retry".into(),
            format!(
                "base_ms ({} ms) is larger than cap_ms ({} ms) once inherited values are applied",
                retry.base.as_millis(),
                retry.cap.as_millis()
            ),
        ));
    }
    retry
}

/// `[redirects]`: the file's values over the base's.
pub(super) fn resolve_redirects(doc: &Document, base: Option<&Contract>) -> RedirectPolicy {
    RedirectPolicy {
        max_hops: doc
            .redirects
            .max_hops
            .or(base.map(|b| b.redirects.max_hops))
            .unwrap_or(10),
        missing_location: doc
            .redirects
            .missing_location
            .or(base.map(|b| b.redirects.missing_location))
            .unwrap_or(MissingLocation::Fail),
    }
}

/// `[headers]`: the file's names over the base's.
pub(super) fn resolve_headers(doc: &Document, base: Option<&Contract>) -> Headers {
    Headers {
        retry_after: doc
            .headers
            .retry_after
            .clone()
            .or_else(|| base.map(|b| b.headers.retry_after.clone()))
            .unwrap_or_else(|| "Retry-After".parse().expect("valid header name")),
        tracking_id: doc
            .headers
            .tracking_id
            .clone()
            .or_else(|| base.and_then(|b| b.headers.tracking_id.clone())),
    }
}

/// `[idempotency]`: the file's values over the base's (or the defaults).
pub(super) fn resolve_idempotency(doc: &Document, base: Option<&Contract>) -> IdempotencyRules {
    let fallback_idempotency = default_idempotency();
    let b_idem = base.map_or(&fallback_idempotency, |b| &b.idempotency);
    IdempotencyRules {
        methods: doc
            .idempotency
            .methods
            .clone()
            .unwrap_or_else(|| b_idem.methods.clone()),
        reused: doc.idempotency.reused.resolve(&b_idem.reused),
        in_flight: doc.idempotency.in_flight.resolve(&b_idem.in_flight),
        expires: doc.idempotency.expires.unwrap_or(b_idem.expires),
        client_keys: doc.idempotency.client_keys.unwrap_or(b_idem.client_keys),
    }
}

/// Each refusal of `[idempotency]` names a status the contract has.
pub(super) fn check_idempotency_statuses(
    doc: &Document,
    idempotency: &IdempotencyRules,
    statuses: &[StatusEntry],
    found: &mut Vec<(Span, String, String)>,
) {
    for (answer, written) in [
        (&idempotency.reused, &doc.idempotency.reused),
        (&idempotency.in_flight, &doc.idempotency.in_flight),
    ] {
        if statuses
            .binary_search_by_key(&answer.status, |s| s.code)
            .is_err()
        {
            let (span, field) = match &written.status {
                Some((_, span)) => (span.clone(), format!("{}.status", written.path)),
                None => (0..0, "idempotency".to_owned()),
            };
            found.push((
                span,
                field,
                format!(
                    "status {} is not one of the contract's statuses",
                    answer.status
                ),
            ));
        }
    }
}

pub(super) fn read_redirects(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> PartialRedirects {
    t.check_keys(cx, &["max_hops", "missing_location"]);
    PartialRedirects {
        max_hops: t.integer(cx, "max_hops", 1..51).map(|(n, _)| n as u32),
        missing_location: t.parsed(cx, "missing_location"),
    }
}

pub(super) fn read_headers(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> PartialHeaders {
    t.check_keys(cx, &["retry_after", "tracking_id"]);
    PartialHeaders {
        retry_after: header_names(cx, t, "retry_after"),
        tracking_id: header_names(cx, t, "tracking_id"),
    }
}
