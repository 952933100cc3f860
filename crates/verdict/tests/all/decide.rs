//! The decision engine, case by case and by property.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, Method};
use proptest::prelude::*;
use url::Url;
use verdict::Catalog;
use verdict::decide::{
    Decision, Failure, History, Limits, Reason, RequestFacts, ResponseFacts, WaitCause, decide,
    decide_failure, repeatable,
};

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    h
}

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fn run(
    contract: &str,
    method: Method,
    status: u16,
    h: &[(&str, &str)],
    history: &History,
) -> Decision {
    let c = Catalog::builtin().get(contract).unwrap();
    let u = url("https://api.example/v1/things/1");
    let hm = headers(h);
    decide(
        c,
        &RequestFacts::new(&method, &u),
        &ResponseFacts::new(status, &hm),
        history,
        &Limits::default(),
        now(),
        0.5,
    )
}

#[test]
fn success_and_final_failures() {
    assert_eq!(
        run("webex", Method::GET, 200, &[], &History::default()),
        Decision::Done
    );
    assert_eq!(
        run("webex", Method::GET, 404, &[], &History::default()),
        Decision::Fail(Reason::Final)
    );
    assert_eq!(
        run("webex", Method::POST, 409, &[], &History::default()),
        Decision::Fail(Reason::Final)
    );
    assert_eq!(
        run("ringcentral", Method::GET, 207, &[], &History::default()),
        Decision::SplitBatch
    );
    assert_eq!(
        run("whispir", Method::GET, 304, &[], &History::default()),
        Decision::UseCached
    );
}

#[test]
fn delete_of_a_missing_resource_is_done_where_the_contract_says_so() {
    assert_eq!(
        run("ringcentral", Method::DELETE, 404, &[], &History::default()),
        Decision::Done
    );
    assert_eq!(
        run("ringcentral", Method::GET, 404, &[], &History::default()),
        Decision::Fail(Reason::Final)
    );
    assert_eq!(
        run("webex", Method::DELETE, 404, &[], &History::default()),
        Decision::Fail(Reason::Final)
    );
}

#[test]
fn retry_after_seconds_date_floor_and_garbage() {
    let d = run(
        "webex",
        Method::GET,
        429,
        &[("retry-after", "7")],
        &History::default(),
    );
    assert_eq!(
        d,
        Decision::Retry {
            after: Duration::from_secs(7),
            cause: WaitCause::RetryAfter,
            ignored_header: None
        }
    );

    let date = httpdate::fmt_http_date(now() + Duration::from_secs(90));
    let d = run(
        "webex",
        Method::GET,
        423,
        &[("retry-after", &date)],
        &History::default(),
    );
    assert!(
        matches!(d, Decision::Retry { after, cause: WaitCause::RetryAfter, .. } if after == Duration::from_secs(90)),
        "{d:?}"
    );

    // token-api: at least 60 s whatever the header says, on 429 and 503.
    for status in [429, 503] {
        let d = run(
            "token-api",
            Method::POST,
            status,
            &[("retry-after", "2")],
            &History::default(),
        );
        assert_eq!(
            d,
            Decision::Retry {
                after: Duration::from_secs(60),
                cause: WaitCause::Floor,
                ignored_header: None
            }
        );
    }

    // Garbage or negative: back off as if there were no header, and say so.
    for bad in ["soon", "-5", "1.5"] {
        let d = run(
            "webex",
            Method::GET,
            429,
            &[("retry-after", bad)],
            &History::default(),
        );
        assert!(
            matches!(
                d,
                Decision::Retry {
                    cause: WaitCause::Backoff,
                    ignored_header: Some(_),
                    ..
                }
            ),
            "{bad}: {d:?}"
        );
    }

    // Years: refused at once, with the wait.
    let d = run(
        "webex",
        Method::GET,
        429,
        &[("retry-after", "315360000")],
        &History::default(),
    );
    assert_eq!(
        d,
        Decision::Fail(Reason::WaitTooLong {
            wait: Duration::from_secs(315_360_000),
            limit: Duration::from_secs(300),
            cause: WaitCause::RetryAfter,
        })
    );
}

#[test]
fn wait_limit_counts_what_was_already_waited() {
    let h = History {
        waited: Duration::from_secs(295),
        ..History::default()
    };
    let d = run("webex", Method::GET, 429, &[("retry-after", "10")], &h);
    assert_eq!(
        d,
        Decision::Fail(Reason::WaitTooLong {
            wait: Duration::from_secs(10),
            limit: Duration::from_secs(5),
            cause: WaitCause::RetryAfter,
        })
    );
}

/// The engine's decision for `status` with headers `h` when `max_wait` is all the request
/// may wait.
fn run_within(contract: &str, status: u16, h: &[(&str, &str)], max_wait: Duration) -> Decision {
    let c = Catalog::builtin().get(contract).unwrap();
    let u = url("https://api.example/v1/things/1");
    let hm = headers(h);
    let limits = Limits {
        max_wait,
        ..Limits::default()
    };
    let history = History::default();
    let req = RequestFacts::new(&Method::GET, &u);
    decide(
        c,
        &req,
        &ResponseFacts::new(status, &hm),
        &history,
        &limits,
        now(),
        0.5,
    )
}

#[test]
fn a_wait_too_long_says_whose_demand_it_is_rounded_up() {
    let second = Duration::from_secs(1);
    // The server's own Retry-After: 3.99 s is shown as 4 s, never 3 s.
    let d = run_within("http", 503, &[("retry-after-ms", "3990")], second);
    let Decision::Fail(r @ Reason::WaitTooLong { cause, .. }) = &d else {
        panic!("{d:?}")
    };
    assert_eq!(*cause, WaitCause::RetryAfter);
    assert_eq!(
        r.to_string(),
        "the server asks for a wait of 4 s, beyond the 1 s this request may still wait"
    );
    // The contract's floor asks for more than the server did: the server is not blamed.
    let d = run_within(
        "token-api",
        429,
        &[("retry-after", "5")],
        Duration::from_secs(30),
    );
    let Decision::Fail(r @ Reason::WaitTooLong { cause, wait, .. }) = &d else {
        panic!("{d:?}")
    };
    assert_eq!((*cause, *wait), (WaitCause::Floor, Duration::from_secs(60)));
    let text = r.to_string();
    assert!(
        text.starts_with("the contract asks for a wait of at least 60 s")
            && !text.contains("server"),
        "{text}"
    );
    // No header at all: the contract's back-off is the demand.
    let d = run_within("webex", 503, &[], Duration::ZERO);
    let Decision::Fail(r @ Reason::WaitTooLong { cause, .. }) = &d else {
        panic!("{d:?}")
    };
    assert_eq!(*cause, WaitCause::Backoff);
    assert!(r.to_string().starts_with("the contract's back-off"), "{r}");
    // A wait shared on the credential (the client names it; the engine never does).
    let shared = Reason::WaitTooLong {
        wait: Duration::from_millis(3010),
        limit: Duration::from_millis(2990),
        cause: WaitCause::Shared,
    };
    let text = shared.to_string();
    assert!(
        text.contains("held back for 3.1 s more by a wait learned earlier")
            && text.ends_with("beyond the 2.9 s this request may still wait")
            && !text.contains("server asks"),
        "{text}"
    );
}

#[test]
fn ringcentral_retries_5xx_three_times_with_growing_backoff() {
    let c = Catalog::builtin().get("ringcentral").unwrap();
    let mut waits = Vec::new();
    for retries in 0..5 {
        let h = History {
            retries,
            ..History::default()
        };
        match run("ringcentral", Method::GET, 500, &[], &h) {
            Decision::Retry {
                after,
                cause: WaitCause::Backoff,
                ..
            } => waits.push(after),
            Decision::Fail(Reason::RetriesExhausted { retries: 3 }) => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(waits.len(), 3);
    // Jitter sample 0.5 with full jitter: half of base * 2^n.
    assert_eq!(waits, [c.retry.base / 2, c.retry.base, c.retry.base * 2]);
    // Other 5xx are not repeated, per the document.
    assert_eq!(
        run("ringcentral", Method::GET, 502, &[], &History::default()),
        Decision::Fail(Reason::Final)
    );
}

#[test]
fn non_idempotent_requests_are_not_repeated_without_a_key() {
    let d = run("webex", Method::POST, 500, &[], &History::default());
    assert_eq!(
        d,
        Decision::Fail(Reason::NotRepeatable {
            method: Method::POST
        })
    );
    // 429 means the server did not act: safe to repeat.
    assert!(matches!(
        run("webex", Method::POST, 429, &[], &History::default()),
        Decision::Retry { .. }
    ));
    // With the idempotency key, it may.
    let c = Catalog::builtin().get("webex").unwrap();
    let u = url("https://api.example/v1/x");
    let mut req = RequestFacts::new(&Method::POST, &u);
    req.idempotency_key = true;
    let hm = HeaderMap::new();
    let d = decide(
        c,
        &req,
        &ResponseFacts::new(500, &hm),
        &History::default(),
        &Limits::default(),
        now(),
        0.1,
    );
    assert!(matches!(d, Decision::Retry { .. }), "{d:?}");
}

#[test]
fn redirect_method_rules() {
    for (status, method, want, body) in [
        (301, Method::POST, Method::GET, false),
        (302, Method::PUT, Method::GET, false),
        (303, Method::DELETE, Method::GET, false),
        (303, Method::HEAD, Method::HEAD, false),
        (307, Method::POST, Method::POST, true),
        (308, Method::PUT, Method::PUT, true),
    ] {
        match run(
            "ringcentral",
            method.clone(),
            status,
            &[("location", "/v1/elsewhere")],
            &History::default(),
        ) {
            Decision::Redirect {
                method: m,
                url: u,
                keep_body,
                strip_credentials,
                permanent,
            } => {
                assert_eq!(m, want, "{status} {method}");
                assert_eq!(keep_body, body, "{status} {method}");
                assert_eq!(u.as_str(), "https://api.example/v1/elsewhere");
                assert!(!strip_credentials);
                assert_eq!(permanent, status == 301 || status == 308, "{status}");
            }
            other => panic!("{status}: {other:?}"),
        }
    }
}

#[test]
fn redirect_safety() {
    let cross = run(
        "webex",
        Method::GET,
        302,
        &[("location", "https://other.example/x")],
        &History::default(),
    );
    assert!(
        matches!(
            cross,
            Decision::Redirect {
                strip_credentials: true,
                ..
            }
        ),
        "{cross:?}"
    );
    let port = run(
        "webex",
        Method::GET,
        302,
        &[("location", "https://api.example:8443/x")],
        &History::default(),
    );
    assert!(
        matches!(
            port,
            Decision::Redirect {
                strip_credentials: true,
                ..
            }
        ),
        "{port:?}"
    );

    let down = run(
        "webex",
        Method::GET,
        302,
        &[("location", "http://api.example/x")],
        &History::default(),
    );
    assert!(
        matches!(down, Decision::Fail(Reason::Downgrade { .. })),
        "{down:?}"
    );

    let scheme = run(
        "webex",
        Method::GET,
        302,
        &[("location", "file:///etc/passwd")],
        &History::default(),
    );
    assert!(
        matches!(scheme, Decision::Fail(Reason::BadLocation { .. })),
        "{scheme:?}"
    );

    let h = History {
        hops: vec![url("https://api.example/a")],
        ..History::default()
    };
    let looped = run("webex", Method::GET, 302, &[("location", "/a")], &h);
    assert!(
        matches!(looped, Decision::Fail(Reason::RedirectLoop { .. })),
        "{looped:?}"
    );

    let h = History {
        hops: (0..10)
            .map(|i| url(&format!("https://api.example/{i}")))
            .collect(),
        ..History::default()
    };
    let many = run("webex", Method::GET, 302, &[("location", "/z")], &h);
    assert_eq!(many, Decision::Fail(Reason::TooManyRedirects { max: 10 }));
}

#[test]
fn missing_location_repeats_for_ringcentral_and_fails_elsewhere() {
    match run("ringcentral", Method::GET, 302, &[], &History::default()) {
        Decision::Redirect {
            url: u, permanent, ..
        } => {
            assert_eq!(u.as_str(), "https://api.example/v1/things/1");
            assert!(!permanent);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        run("webex", Method::GET, 302, &[], &History::default()),
        Decision::Fail(Reason::MissingLocation)
    );
}

#[test]
fn unauthorized_refreshes_once() {
    assert_eq!(
        run("webex", Method::GET, 401, &[], &History::default()),
        Decision::RefreshAuth
    );
    let h = History {
        refreshed: true,
        ..History::default()
    };
    assert_eq!(
        run("webex", Method::GET, 401, &[], &h),
        Decision::Fail(Reason::AuthRejected)
    );
    // token-api's 401 is the caller's mistake: refreshing cannot help.
    assert_eq!(
        run("token-api", Method::GET, 401, &[], &History::default()),
        Decision::Fail(Reason::Final)
    );
}

#[test]
fn application_codes_decide_over_the_status() {
    let c = Catalog::builtin().get("webex-connect").unwrap();
    let u = url("https://api.example/v1/status");
    let hm = HeaderMap::new();
    let req = RequestFacts {
        api: Some("transaction-status"),
        ..RequestFacts::new(&Method::GET, &u)
    };
    let with = |code: u32| ResponseFacts {
        app_code: Some(code.into()),
        ..ResponseFacts::new(200, &hm)
    };
    let d = |code| {
        decide(
            c,
            &req,
            &with(code),
            &History::default(),
            &Limits::default(),
            now(),
            0.5,
        )
    };
    assert_eq!(d(7109), Decision::Fail(Reason::Final));
    assert_eq!(d(7500), Decision::Done);
    assert_eq!(d(7501), Decision::Done);
    // An unknown code leaves the HTTP status in charge.
    assert_eq!(d(1), Decision::Done);
}

#[test]
fn accepted_work_is_polled_only_when_asked() {
    let c = Catalog::builtin().get("whispir").unwrap();
    let u = url("https://api.example/messages");
    let hm = headers(&[("location", "/jobs/9"), ("retry-after", "1")]);
    let resp = ResponseFacts::new(202, &hm);
    let plain = RequestFacts::new(&Method::POST, &u);
    assert_eq!(
        decide(
            c,
            &plain,
            &resp,
            &History::default(),
            &Limits::default(),
            now(),
            0.5
        ),
        Decision::Done
    );
    let asking = RequestFacts {
        poll: true,
        ..plain.clone()
    };
    let d = decide(
        c,
        &asking,
        &resp,
        &History::default(),
        &Limits::default(),
        now(),
        0.5,
    );
    assert_eq!(
        d,
        Decision::Poll {
            url: url("https://api.example/jobs/9"),
            after: Duration::from_secs(1)
        }
    );
    let h = History {
        polls: 60,
        ..History::default()
    };
    assert_eq!(
        decide(c, &asking, &resp, &h, &Limits::default(), now(), 0.5),
        Decision::Fail(Reason::PollLimit { polls: 60 })
    );
}

#[test]
fn unregistered_statuses_act_like_their_class() {
    assert!(matches!(
        run("webex", Method::GET, 599, &[], &History::default()),
        Decision::Retry { .. }
    ));
    assert_eq!(
        run("webex", Method::GET, 299, &[], &History::default()),
        Decision::Done
    );
    assert_eq!(
        run("webex", Method::GET, 499, &[], &History::default()),
        Decision::Fail(Reason::Final)
    );
}

fn contract_ids() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "http",
        "webex",
        "whispir",
        "ringcentral",
        "token-api",
        "webex-connect",
    ])
}

fn methods() -> impl Strategy<Value = Method> {
    prop::sample::select(vec![
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ])
}

fn retry_after_values() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        (0u64..400).prop_map(|s| Some(s.to_string())),
        Just(Some("garbage".to_string())),
        Just(Some("-1".to_string())),
        (0u64..400).prop_map(|s| Some(httpdate::fmt_http_date(now() + Duration::from_secs(s)))),
    ]
}

proptest! {
    /// Driving the engine until it stops never repeats more than the policy allows nor
    /// waits longer than the caller's limit.
    #[test]
    fn attempts_and_waits_stay_within_bounds(
        id in contract_ids(),
        method in methods(),
        statuses in prop::collection::vec(100u16..600, 1..20),
        ra in retry_after_values(),
        max_wait in 0u64..400,
        key in any::<bool>(),
        sample in 0.0f64..1.0,
    ) {
        let c = Catalog::builtin().get(id).unwrap();
        let u = url("https://api.example/v1/x");
        let limits = Limits { max_wait: Duration::from_secs(max_wait), ..Limits::default() };
        let mut h = History::default();
        let req = RequestFacts { idempotency_key: key, ..RequestFacts::new(&method, &u) };
        for status in statuses.iter().cycle().take(50) {
            let mut hm = HeaderMap::new();
            if let Some(v) = &ra { hm.insert("retry-after", v.parse().unwrap()); }
            match decide(c, &req, &ResponseFacts::new(*status, &hm), &h, &limits, now(), sample) {
                Decision::Retry { after, .. } => {
                    h.retries += 1;
                    h.waited += after;
                    prop_assert!(req.idempotency_key || c.retry.may_repeat(&method) || c.status(*status).is_some_and(|s| s.replay_safe),
                        "{method} repeated after {status} without a key");
                }
                _ => continue,
            }
            prop_assert!(h.retries <= c.retry.max_retries);
            prop_assert!(h.waited <= limits.max_wait);
        }
    }

    /// A redirect to another origin always strips credentials, and never downgrades.
    #[test]
    fn redirects_never_carry_credentials_across_origins(
        id in contract_ids(),
        method in methods(),
        status in prop::sample::select(vec![301u16, 302, 303, 307, 308]),
        scheme in prop::sample::select(vec!["http", "https"]),
        host in prop::sample::select(vec!["api.example", "evil.example", "api.example:444"]),
        path in "[a-z/]{0,12}",
        from_https in any::<bool>(),
    ) {
        let c = Catalog::builtin().get(id).unwrap();
        let from = url(if from_https { "https://api.example/v1/x" } else { "http://api.example/v1/x" });
        let location = format!("{scheme}://{host}/{path}");
        let hm = headers(&[("location", &location)]);
        let d = decide(c, &RequestFacts::new(&method, &from), &ResponseFacts::new(status, &hm), &History::default(), &Limits::default(), now(), 0.5);
        if let Decision::Redirect { url: to, strip_credentials, .. } = d {
            prop_assert!(to.origin() == from.origin() || strip_credentials);
            prop_assert!(!(from.scheme() == "https" && to.scheme() == "http"));
        }
    }
}

fn failures() -> impl Strategy<Value = Failure> {
    prop::sample::select(vec![
        Failure::Connect,
        Failure::Tls,
        Failure::Timeout,
        Failure::Interrupted,
        Failure::BodyCut,
    ])
}

#[test]
fn failures_without_an_answer() {
    let c = Catalog::builtin().get("webex").unwrap();
    let u = url("https://webexapis.com/v1/messages");
    let (h, l) = (History::default(), Limits::default());
    let post = RequestFacts::new(&Method::POST, &u);
    let get = RequestFacts::new(&Method::GET, &u);
    let keyed = RequestFacts {
        idempotency_key: true,
        ..post.clone()
    };
    let retried = |d: Decision| {
        matches!(
            d,
            Decision::Retry {
                cause: WaitCause::Backoff,
                ..
            }
        )
    };
    assert!(retried(decide_failure(
        c,
        &post,
        Failure::Connect,
        &h,
        &l,
        0.5
    )));
    assert!(retried(decide_failure(
        c,
        &get,
        Failure::Timeout,
        &h,
        &l,
        0.5
    )));
    assert!(retried(decide_failure(
        c,
        &keyed,
        Failure::Timeout,
        &h,
        &l,
        0.5
    )));
    assert_eq!(
        decide_failure(c, &post, Failure::Timeout, &h, &l, 0.5),
        Decision::Fail(Reason::NotRepeatable {
            method: Method::POST
        })
    );
    assert_eq!(
        decide_failure(c, &get, Failure::Tls, &h, &l, 0.5),
        Decision::Fail(Reason::Unrecoverable {
            failure: Failure::Tls
        })
    );
    let spent = History {
        retries: c.retry.max_retries,
        ..History::default()
    };
    assert_eq!(
        decide_failure(c, &get, Failure::BodyCut, &spent, &l, 0.5),
        Decision::Fail(Reason::RetriesExhausted {
            retries: c.retry.max_retries
        })
    );
    let no_time = Limits {
        max_wait: Duration::ZERO,
        ..Limits::default()
    };
    assert!(matches!(
        decide_failure(c, &get, Failure::Interrupted, &h, &no_time, 0.5),
        Decision::Fail(Reason::WaitTooLong { .. })
    ));
}

proptest! {
    /// After a failure the engine repeats exactly when the one repeatability rule allows
    /// (a connection never made counting as the server not having acted), never past the
    /// policy's repeats or the caller's limit, and never after a TLS failure.
    #[test]
    fn failures_follow_the_same_repeatability_rule(
        id in contract_ids(),
        method in methods(),
        failure in failures(),
        retries in 0u32..6,
        waited in 0u64..400,
        max_wait in 0u64..400,
        key in any::<bool>(),
        sample in 0.0f64..1.0,
    ) {
        let c = Catalog::builtin().get(id).unwrap();
        let u = url("https://api.example/v1/x");
        let req = RequestFacts { idempotency_key: key, ..RequestFacts::new(&method, &u) };
        let h = History { retries, waited: Duration::from_secs(waited), ..History::default() };
        let limits = Limits { max_wait: Duration::from_secs(max_wait), ..Limits::default() };
        let d = decide_failure(c, &req, failure, &h, &limits, sample);
        let allowed = failure != Failure::Tls
            && repeatable(c, &req, failure == Failure::Connect)
            && retries < c.retry.max_retries;
        match d {
            Decision::Retry { after, cause, ignored_header } => {
                prop_assert!(allowed);
                prop_assert_eq!(cause, WaitCause::Backoff);
                prop_assert!(ignored_header.is_none());
                prop_assert!(h.waited + after <= limits.max_wait);
            }
            Decision::Fail(Reason::WaitTooLong { .. }) => prop_assert!(allowed),
            Decision::Fail(_) => prop_assert!(!allowed),
            other => prop_assert!(false, "unexpected {other:?}"),
        }
    }
}

#[test]
fn millisecond_waits_win_over_retry_after_and_keep_its_floor_and_cap() {
    let h = History::default();
    // retry-after-ms is more precise than Retry-After and preferred.
    assert_eq!(
        run(
            "http",
            Method::GET,
            503,
            &[("retry-after", "9"), ("retry-after-ms", "1500")],
            &h
        ),
        Decision::Retry {
            after: Duration::from_millis(1500),
            cause: WaitCause::RetryAfter,
            ignored_header: None,
        }
    );
    // Azure's spelling, alone.
    assert!(matches!(
        run("http", Method::GET, 429, &[("x-ms-retry-after-ms", "250")], &h),
        Decision::Retry { after, cause: WaitCause::RetryAfter, .. } if after == Duration::from_millis(250)
    ));
    // An unreadable millisecond value gives way to Retry-After...
    assert!(matches!(
        run("http", Method::GET, 503, &[("retry-after-ms", "soon"), ("retry-after", "4")], &h),
        Decision::Retry { after, cause: WaitCause::RetryAfter, ignored_header: None } if after == Duration::from_secs(4)
    ));
    // ... and alone it is reported while the engine backs off.
    assert!(matches!(
        run("http", Method::GET, 503, &[("retry-after-ms", "-3")], &h),
        Decision::Retry {
            cause: WaitCause::Backoff,
            ignored_header: Some(verdict::headers::RetryAfterError::InvalidMillis { .. }),
            ..
        }
    ));
    // The contract's floor still applies: token-api waits at least 60 s after a 429.
    assert!(matches!(
        run("token-api", Method::GET, 429, &[("retry-after-ms", "10")], &h),
        Decision::Retry { after, cause: WaitCause::Floor, .. } if after == Duration::from_secs(60)
    ));
    // And so does the caller's limit.
    assert!(matches!(
        run(
            "http",
            Method::GET,
            503,
            &[("retry-after-ms", "400000")],
            &h
        ),
        Decision::Fail(Reason::WaitTooLong { .. })
    ));
}

#[test]
fn the_server_can_forbid_a_retry() {
    let h = History::default();
    let header: verdict::Header = "x-should-retry".parse().unwrap();
    for (status, extra) in [(503, None), (500, None), (429, Some(("retry-after", "1")))] {
        let mut pairs = vec![("x-should-retry", "false")];
        pairs.extend(extra);
        assert_eq!(
            run("webex", Method::GET, status, &pairs, &h),
            Decision::Fail(Reason::ServerSaidNoRetry {
                header: header.clone()
            }),
            "{status}"
        );
    }
    // Case and spaces do not matter; other words are not a say.
    assert!(matches!(
        run(
            "webex",
            Method::GET,
            503,
            &[("x-should-retry", " FALSE ")],
            &h
        ),
        Decision::Fail(Reason::ServerSaidNoRetry { .. })
    ));
    assert!(matches!(
        run("webex", Method::GET, 503, &[("x-should-retry", "no")], &h),
        Decision::Retry { .. }
    ));
    // It changes nothing that is not a retry.
    assert_eq!(
        run(
            "webex",
            Method::GET,
            200,
            &[("x-should-retry", "false")],
            &h
        ),
        Decision::Done
    );
    assert_eq!(
        run(
            "webex",
            Method::GET,
            401,
            &[("x-should-retry", "false")],
            &h
        ),
        Decision::RefreshAuth
    );
}

#[test]
fn the_server_can_ask_for_a_retry_of_a_final_answer() {
    let h = History::default();
    // 409 is final for webex; the server says to repeat, and a GET may be repeated.
    assert_eq!(
        run("webex", Method::GET, 409, &[], &h),
        Decision::Fail(Reason::Final)
    );
    assert!(matches!(
        run("webex", Method::GET, 409, &[("x-should-retry", "true")], &h),
        Decision::Retry {
            cause: WaitCause::Backoff,
            ..
        }
    ));
    // A Retry-After on the same answer names the wait.
    assert!(matches!(
        run("webex", Method::GET, 400, &[("x-should-retry", "true"), ("retry-after", "3")], &h),
        Decision::Retry { after, cause: WaitCause::RetryAfter, .. } if after == Duration::from_secs(3)
    ));
    // A POST without an idempotency key may still not be repeated.
    assert_eq!(
        run(
            "webex",
            Method::POST,
            409,
            &[("x-should-retry", "true")],
            &h
        ),
        Decision::Fail(Reason::NotRepeatable {
            method: Method::POST
        })
    );
    // The policy's repeats still bound it.
    let spent = History {
        retries: 3,
        ..History::default()
    };
    assert_eq!(
        run(
            "webex",
            Method::GET,
            409,
            &[("x-should-retry", "true")],
            &spent
        ),
        Decision::Fail(Reason::RetriesExhausted { retries: 3 })
    );
    // Success and redirects are not error answers.
    assert_eq!(
        run("webex", Method::GET, 200, &[("x-should-retry", "true")], &h),
        Decision::Done
    );
}

#[test]
fn a_contract_can_ignore_the_servers_say() {
    let text = "[contract]\nid = \"deaf\"\nname = \"Deaf\"\nextends = \"http\"\n\n[retry]\nshould_retry_header = \"\"\n";
    let c = &contract_of(text);
    assert_eq!(c.retry.should_retry_header, None);
    assert_eq!(c.retry.max_retries, 2, "the rest is inherited");
    let u = url("https://api.example/v1/x");
    let hm = headers(&[("x-should-retry", "false")]);
    let d = decide(
        c,
        &RequestFacts::new(&Method::GET, &u),
        &ResponseFacts::new(503, &hm),
        &History::default(),
        &Limits::default(),
        now(),
        0.5,
    );
    assert!(matches!(d, Decision::Retry { .. }), "{d:?}");
    // Every built-in contract inherits the baseline's header.
    for c in Catalog::builtin().contracts() {
        assert_eq!(
            c.retry.should_retry_header.as_ref().map(|h| h.as_str()),
            Some("x-should-retry"),
            "{}",
            c.id
        );
    }
}

proptest! {
    /// Whatever the server says in x-should-retry, a request the rules may not repeat is
    /// never repeated, and `false` never leads to a repeat.
    #[test]
    fn the_servers_say_never_breaks_repeatability(
        id in contract_ids(),
        method in methods(),
        status in 100u16..600,
        say in prop::sample::select(vec!["true", "false", "TRUE", "maybe", ""]),
        key in any::<bool>(),
    ) {
        let c = Catalog::builtin().get(id).unwrap();
        let u = url("https://api.example/v1/x");
        let hm = headers(&[("x-should-retry", say)]);
        let req = RequestFacts { idempotency_key: key, ..RequestFacts::new(&method, &u) };
        let d = decide(c, &req, &ResponseFacts::new(status, &hm), &History::default(), &Limits::default(), now(), 0.5);
        if let Decision::Retry { .. } = d {
            prop_assert!(say != "false");
            prop_assert!(key || c.retry.may_repeat(&method) || c.status(status).is_some_and(|s| s.replay_safe));
        }
    }
}

/// A contract whose 429 says, as GitHub's documentation does: wait `Retry-After` when it
/// is present, else until the quota's reset, else at least 60 s.
fn github_like() -> verdict::Contract {
    let text = r#"
[contract]
id = "gh"
name = "GitHub-like"
extends = "http"

[[status]]
code = 429
action = "retry-after"
wait_floor_s = 60

# A 403 is a refusal, unless the answer says it is a rate limit.
[[status]]
code = 403
action = "fail"

[[status.variant]]
when = { header = "x-ratelimit-remaining", equals = "0" }
meaning = "The primary rate limit is used up."
category = "rate-limit"
action = "retry-after"
wait_floor_s = 60

[[status.variant]]
when = { header = "retry-after" }
meaning = "A secondary rate limit."
category = "rate-limit"
action = "retry-after"
wait_floor_s = 60

[[status]]
code = 400
action = "fail"

[[status.variant]]
when = { pointer = "/error", equals = "ratelimited" }
meaning = "Slow down."
category = "rate-limit"
action = "retry"

# A conflict that names when to come back is a busy resource, not a refusal.
[[status]]
code = 409
action = "fail"

[[status.variant]]
when = { pointer = "/retry_at" }
meaning = "The resource is busy until the time given."
category = "server"
action = "retry"
"#;
    contract_of(text)
}

/// The contract `text` defines, loaded over the built-in ones.
fn contract_of(text: &str) -> verdict::Contract {
    let (catalog, id) = Catalog::builtin()
        .with_file(verdict::SourceFile::new("test.toml", text))
        .unwrap();
    catalog.get(&id).unwrap().clone()
}

fn first_wait(c: &verdict::Contract, status: u16, h: &[(&str, &str)]) -> Decision {
    let u = url("https://api.example/v1/x");
    let hm = headers(h);
    decide(
        c,
        &RequestFacts::new(&Method::GET, &u),
        &ResponseFacts::new(status, &hm),
        &History::default(),
        &Limits::default(),
        now(),
        0.5,
    )
}

#[test]
fn a_wait_the_server_names_comes_first_and_the_floor_only_without_one() {
    let gh = github_like();
    let wait = |h: &[(&str, &str)]| match first_wait(&gh, 429, h) {
        Decision::Retry { after, cause, .. } => (after, cause),
        d => panic!("{d:?}"),
    };
    // Retry-After: 2 is 2 s, not the 60 s floor.
    assert_eq!(
        wait(&[("retry-after", "2")]),
        (Duration::from_secs(2), WaitCause::RetryAfter)
    );
    // No Retry-After: until the used-up quota resets (a Unix time, 30 s on).
    let reset = (now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 30)
        .to_string();
    let quota = [
        ("x-ratelimit-limit", "60"),
        ("x-ratelimit-remaining", "0"),
        ("x-ratelimit-reset", reset.as_str()),
    ];
    let (after, cause) = wait(&quota);
    assert_eq!(cause, WaitCause::QuotaReset);
    assert!(
        after <= Duration::from_secs(30) && after > Duration::from_secs(28),
        "{after:?}"
    );
    // Retry-After still comes before the reset.
    let mut both = quota.to_vec();
    both.push(("retry-after", "5"));
    assert_eq!(wait(&both), (Duration::from_secs(5), WaitCause::RetryAfter));
    // Neither: at least the floor.
    assert_eq!(wait(&[]), (Duration::from_secs(60), WaitCause::Floor));
    // A quota not used up names no wait.
    let left = [
        ("x-ratelimit-remaining", "3"),
        ("x-ratelimit-reset", reset.as_str()),
    ];
    assert_eq!(wait(&left), (Duration::from_secs(60), WaitCause::Floor));
}

#[test]
fn a_floor_over_the_header_raises_a_shorter_retry_after() {
    // The token API's document: "waiting at least 60 seconds", whatever the header says.
    let token = Catalog::builtin().get("token-api").unwrap();
    let d = first_wait(token, 429, &[("retry-after", "2")]);
    assert!(
        matches!(d, Decision::Retry { after, cause: WaitCause::Floor, .. } if after == Duration::from_secs(60)),
        "{d:?}"
    );
    assert_eq!(
        token.status(429).unwrap().action.to_string(),
        "retry-after (at least 60 s)"
    );
    assert_eq!(
        github_like().status(429).unwrap().action.to_string(),
        "retry-after (at least 60 s without one)"
    );
}

#[test]
fn a_status_the_contract_does_not_list_follows_its_class_rule() {
    let h = History::default();
    // RingCentral: "Other 5xx: the client should not repeat the request."
    assert_eq!(
        run("ringcentral", Method::GET, 520, &[], &h),
        Decision::Fail(Reason::Final)
    );
    // Its own 500 still retries, as its document says.
    assert!(matches!(
        run("ringcentral", Method::GET, 500, &[], &h),
        Decision::Retry { .. }
    ));
    // "4xx except 429: do not repeat unchanged": the baseline's retried 408, 421 and 425
    // give way to it; 429 keeps its own entry.
    for code in [408, 421, 425, 499] {
        assert_eq!(
            run("ringcentral", Method::GET, code, &[], &h),
            Decision::Fail(Reason::Final),
            "{code}"
        );
    }
    assert!(matches!(
        run("ringcentral", Method::GET, 429, &[("retry-after", "1")], &h),
        Decision::Retry { .. }
    ));
    // A contract without a class rule of its own keeps the baseline's: RFC 9110 reads an
    // unknown 5xx as a 500.
    assert!(matches!(
        run("webex", Method::GET, 520, &[], &h),
        Decision::Retry { .. }
    ));
    assert!(matches!(
        run("webex", Method::GET, 425, &[], &h),
        Decision::Retry { .. }
    ));
}

#[test]
fn quota_headers_are_read_under_their_aliases() {
    // RingCentral's document spells them X-RateLimit-…, its servers X-Rate-Limit-….
    let h = History::default();
    for spelling in ["x-rate-limit", "x-ratelimit"] {
        let remaining = format!("{spelling}-remaining");
        let window = format!("{spelling}-window");
        let d = run(
            "ringcentral",
            Method::GET,
            429,
            &[(remaining.as_str(), "0"), (window.as_str(), "40")],
            &h,
        );
        assert!(
            matches!(d, Decision::Retry { after, cause: WaitCause::QuotaReset, .. } if after == Duration::from_secs(40)),
            "{spelling}: {d:?}"
        );
    }
}

#[test]
fn a_variant_whose_condition_holds_decides_over_its_status() {
    let gh = github_like();
    let kind = |status: u16, h: &[(&str, &str)]| first_wait(&gh, status, h).kind();
    assert_eq!(kind(403, &[]), verdict::decide::DecisionKind::Fail);
    assert_eq!(
        kind(403, &[("x-ratelimit-remaining", "5")]),
        verdict::decide::DecisionKind::Fail
    );
    assert_eq!(
        kind(403, &[("retry-after", "3")]),
        verdict::decide::DecisionKind::Retry
    );
    // The primary limit used up: wait until its reset (here: the floor, with no reset).
    let d = first_wait(&gh, 403, &[("x-ratelimit-remaining", "0")]);
    assert!(
        matches!(d, Decision::Retry { after, cause: WaitCause::Floor, .. } if after == Duration::from_secs(60)),
        "{d:?}"
    );
    // A body condition holds only when the caller read the body.
    let body = serde_json::json!({"ok": false, "error": "ratelimited"});
    let u = url("https://api.example/v1/x");
    let hm = HeaderMap::new();
    let mut facts = ResponseFacts::new(400, &hm);
    let run = |facts: &ResponseFacts<'_>| {
        decide(
            &gh,
            &RequestFacts::new(&Method::GET, &u),
            facts,
            &History::default(),
            &Limits::default(),
            now(),
            0.5,
        )
        .kind()
    };
    assert_eq!(run(&facts), verdict::decide::DecisionKind::Fail);
    facts.body = Some(&body);
    assert_eq!(run(&facts), verdict::decide::DecisionKind::Retry);
    let other = serde_json::json!({"error": "invalid_auth"});
    facts.body = Some(&other);
    assert_eq!(run(&facts), verdict::decide::DecisionKind::Fail);
    // The entry as it applies to an answer carries the variant's meaning.
    let entry = gh.status(403).unwrap();
    let h = headers(&[("retry-after", "1")]);
    assert_eq!(
        entry.for_answer(&Method::GET, &h, None).meaning,
        "A secondary rate limit."
    );
}

#[test]
fn a_variant_on_a_pointer_alone_holds_when_the_body_has_a_value_there() {
    let gh = github_like();
    let u = url("https://api.example/v1/x");
    let hm = HeaderMap::new();
    let kind = |body: Option<&serde_json::Value>| {
        let mut facts = ResponseFacts::new(409, &hm);
        facts.body = body;
        decide(
            &gh,
            &RequestFacts::new(&Method::GET, &u),
            &facts,
            &History::default(),
            &Limits::default(),
            now(),
            0.5,
        )
        .kind()
    };
    let busy = serde_json::json!({"retry_at": "2026-12-02T10:00:00Z"});
    assert_eq!(kind(Some(&busy)), verdict::decide::DecisionKind::Retry);
    let null = serde_json::json!({"retry_at": null});
    assert_eq!(kind(Some(&null)), verdict::decide::DecisionKind::Fail);
    let other = serde_json::json!({"message": "taken"});
    assert_eq!(kind(Some(&other)), verdict::decide::DecisionKind::Fail);
    assert_eq!(kind(None), verdict::decide::DecisionKind::Fail);
}

#[test]
fn a_page_is_halved_down_to_its_floor_and_no_further() {
    // Webex's 504: "if your query uses max, reduce it"; the contract's floor is 10.
    let webex = Catalog::builtin().get("webex").unwrap();
    let smaller = |max: u32| {
        let u = url(&format!("https://webexapis.com/v1/rooms?max={max}"));
        verdict::decide::smaller_page(webex, 504, &u).map(|s| s.query().unwrap_or("").to_owned())
    };
    assert_eq!(smaller(40).as_deref(), Some("max=20"));
    assert_eq!(smaller(15).as_deref(), Some("max=10"));
    assert_eq!(smaller(11).as_deref(), Some("max=10"));
    assert_eq!(smaller(10), None);
    assert_eq!(smaller(3), None);
}

#[test]
fn the_reset_is_read_in_the_contracts_format() {
    let contract = |format: &str| {
        let text = format!(
            "[contract]\nid = \"r\"\nname = \"R\"\nextends = \"http\"\n\n[rate_limit]\nlimit = \"x-ratelimit-limit\"\nremaining = \"x-ratelimit-remaining\"\nreset = \"x-ratelimit-reset\"\nreset_format = \"{format}\"\n"
        );
        contract_of(&text)
    };
    let at = now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 30;
    let wait = |format: &str, reset: &str| {
        let h = [("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", reset)];
        match first_wait(&contract(format), 429, &h) {
            Decision::Retry { after, cause, .. } => Some((after, cause)),
            _ => None,
        }
    };
    let thirty = Some((Duration::from_secs(30), WaitCause::QuotaReset));
    assert_eq!(wait("unix", &at.to_string()), thirty);
    assert_eq!(wait("seconds", "30"), thirty);
    let date = httpdate::fmt_http_date(now() + Duration::from_secs(30));
    assert_eq!(wait("http-date", &date), thirty);
    // A Unix time read as seconds is a wait of decades: not one to make.
    assert_ne!(wait("seconds", &at.to_string()), thirty);
    // Each format refuses the others' values: no reset, so the back-off, not 30 s.
    assert_ne!(wait("unix", "30"), thirty);
    assert_ne!(wait("http-date", "30"), thirty);
}
