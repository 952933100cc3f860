//! Every code row of the five seed documents is in the built-in contracts, with its exact
//! text. The expected rows are kept in `fixtures/seed-rows.tsv`.

use verdict::Catalog;

struct Row {
    line: usize,
    contract: String,
    api: Option<String>,
    code: u32,
    text: Option<String>,
    dup: bool,
}

fn rows() -> Vec<Row> {
    include_str!("../fixtures/seed-rows.tsv")
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.starts_with('#') && !l.is_empty())
        .map(|(i, l)| {
            let f: Vec<&str> = l.split('\t').collect();
            assert!(f.len() == 4 || f.len() == 5, "line {}: {l:?}", i + 1);
            Row {
                line: i + 1,
                contract: f[0].to_owned(),
                api: (f[1] != "-").then(|| f[1].to_owned()),
                code: f[2].parse().unwrap(),
                text: (f[3] != "-").then(|| f[3].to_owned()),
                dup: f.get(4) == Some(&"dup"),
            }
        })
        .collect()
}

#[test]
fn fixture_has_every_seed() {
    let rows = rows();
    for id in [
        "webex",
        "whispir",
        "ringcentral",
        "token-api",
        "webex-connect",
    ] {
        assert!(rows.iter().any(|r| r.contract == id), "{id}");
    }
    assert_eq!(rows.iter().filter(|r| r.api.is_some()).count(), 270);
}

#[test]
fn every_seed_row_is_in_a_contract() {
    let catalog = Catalog::builtin();
    let mut missing = Vec::new();
    for r in rows() {
        let contract = catalog
            .get(&r.contract)
            .unwrap_or_else(|| panic!("no contract {}", r.contract));
        let ok = match &r.api {
            None => match contract.status(r.code as u16) {
                Some(s) => s.documented && (r.text.is_none() || s.title == r.text),
                None => false,
            },
            Some(api) => contract.api(api).is_some_and(|a| {
                a.codes.iter().any(|c| {
                    c.code == r.code
                        && c.seed_duplicate == r.dup
                        && c.messages.iter().any(|m| Some(&m.text) == r.text.as_ref())
                })
            }),
        };
        if !ok {
            missing.push(format!(
                "line {}: {} {:?} {} {:?}",
                r.line, r.contract, r.api, r.code, r.text
            ));
        }
    }
    assert!(
        missing.is_empty(),
        "rows not covered:\n{}",
        missing.join("\n")
    );
}

#[test]
fn contracts_hold_nothing_the_seeds_do_not_list() {
    // Every message of every application code is a seed row: no invented vendor strings.
    let rows = rows();
    let catalog = Catalog::builtin();
    let wc = catalog.get("webex-connect").unwrap();
    for api in &wc.apis {
        for c in &api.codes {
            for m in &c.messages {
                assert!(
                    rows.iter()
                        .any(|r| r.api.as_deref() == Some(api.id.as_str())
                            && c.code == r.code
                            && r.text.as_deref() == Some(m.text.as_str())),
                    "{} {} {:?} is not in the seed",
                    api.id,
                    c.code,
                    m.text
                );
            }
        }
    }
}

#[test]
fn seed_client_rules_are_encoded() {
    use http::Method;
    use std::time::Duration;
    use verdict::{Action, RedirectMethod};
    let c = Catalog::builtin();
    let rc = c.get("ringcentral").unwrap();
    assert_eq!(rc.retry.max_retries, 3);
    assert_eq!(rc.status(500).unwrap().action, Action::Retry);
    assert_eq!(
        rc.status(404).unwrap().for_method(&Method::DELETE).action,
        Action::Done
    );
    assert_eq!(
        rc.status(303).unwrap().action,
        Action::Redirect {
            method: RedirectMethod::Get,
            permanent: false
        }
    );
    assert_eq!(
        rc.status(307).unwrap().action,
        Action::Redirect {
            method: RedirectMethod::Same,
            permanent: false
        }
    );
    assert_eq!(
        rc.status(308).unwrap().action,
        Action::Redirect {
            method: RedirectMethod::Same,
            permanent: true
        }
    );
    assert_eq!(rc.status(401).unwrap().action, Action::RefreshAuth);
    assert_eq!(rc.status(207).unwrap().action, Action::SplitBatch);
    assert_eq!(rc.status(304).unwrap().action, Action::UseCached);
    assert_eq!(
        rc.redirects.missing_location,
        verdict::MissingLocation::Repeat
    );
    assert_eq!(
        rc.rate_limit.remaining.as_ref().unwrap().as_str(),
        "X-Rate-Limit-Remaining"
    );

    let token = c.get("token-api").unwrap();
    for code in [429, 503] {
        assert_eq!(
            token.status(code).unwrap().action,
            Action::RetryAfter {
                floor: Duration::from_secs(60),
                // "waiting at least 60 seconds", whatever Retry-After says.
                floor_over_header: true,
            }
        );
    }
    let webex = c.get("webex").unwrap();
    for code in [423, 429] {
        assert!(
            matches!(
                webex.status(code).unwrap().action,
                Action::RetryAfter { .. }
            ),
            "{code}"
        );
    }
    let whispir = c.get("whispir").unwrap();
    assert_eq!(
        whispir.status(301).unwrap().action,
        Action::Redirect {
            method: RedirectMethod::Get,
            permanent: true
        }
    );
    assert_eq!(
        whispir.status(302).unwrap().action,
        Action::Redirect {
            method: RedirectMethod::Get,
            permanent: false
        }
    );

    let wc = c.get("webex-connect").unwrap();
    let outcome = |api: &str, code: u32| wc.api(api).unwrap().code(code).next().unwrap().outcome;
    use verdict::Outcome::*;
    assert_eq!(outcome("transaction-status", 7500), Success);
    assert_eq!(outcome("profile", 1000), Success);
    assert_eq!(outcome("event", 1002), Pending);
    assert_eq!(outcome("profile", 1002), Partial);
    assert_eq!(outcome("transaction-status", 7109), Error);
}

/// The seeds' rules beyond one code's row: for whole classes, for waits, for headers and
/// for the emulator's choice of status, each with the sentence it comes from.
#[test]
fn seed_rules_beyond_their_rows_are_encoded() {
    use http::Method;
    use verdict::{Action, ActionKind};
    let c = Catalog::builtin();
    let rc = c.get("ringcentral").unwrap();
    // "In most cases (except HTTP 429), requests should not be retried in unchanged form."
    for code in [400, 403, 405, 406, 408, 409, 415, 421, 425, 499] {
        assert_eq!(rc.rule(code).unwrap().action, Action::Fail, "{code}");
    }
    assert_eq!(rc.rule(429).unwrap().action.kind(), ActionKind::RetryAfter);
    // "Other 5xx: The client should not repeat the request."
    for code in [501, 502, 504, 505, 520, 599] {
        assert_eq!(rc.rule(code).unwrap().action, Action::Fail, "{code}");
    }
    // "may retry ... not earlier than in the number of seconds returned in Retry-After"
    assert_eq!(rc.rule(503).unwrap().action.kind(), ActionKind::RetryAfter);
    // "returned in X-RateLimit-XXX response headers" (the servers send X-Rate-Limit-…).
    let remaining = rc.rate_limit.remaining.as_ref().unwrap();
    assert!(
        remaining
            .aliases()
            .iter()
            .any(|a| a == "x-ratelimit-remaining")
    );

    let webex = c.get("webex").unwrap();
    // 504: "if your query uses max, reduce it".
    let shrink = webex.status(504).unwrap().shrink.as_ref().unwrap();
    assert_eq!(shrink.param, "max");
    // 502 and 503: "Try again later."
    for code in [502, 503] {
        let kind = webex.rule(code).unwrap().action_for(&Method::GET).kind();
        assert!(
            matches!(kind, ActionKind::Retry | ActionKind::RetryAfter),
            "{code}"
        );
    }
    // 404: "also returned when the requested format is not supported".
    assert_eq!(webex.emulator.as_ref().unwrap().accept_unmet.status, 404);

    // Whispir 500: "Attempt the request again".
    let whispir = c.get("whispir").unwrap();
    assert_eq!(whispir.rule(500).unwrap().action, Action::Retry);
    // Whispir 403: "Returned when you have tried to make more API calls than your allowed
    // quota (QPS)", beside the refusals that repeating does not cure.
    let forbidden = whispir.status(403).unwrap();
    let mut quota = http::HeaderMap::new();
    quota.insert("retry-after", http::HeaderValue::from_static("1"));
    let over = forbidden.for_answer(&Method::GET, &quota, None);
    assert_eq!(over.action.kind(), ActionKind::RetryAfter);
    let refused = forbidden.for_answer(&Method::GET, &http::HeaderMap::new(), None);
    assert_eq!(refused.action, Action::Fail);

    // Webex Connect: "the WeChat channel is no longer supported"; 7610 is about audio.
    let connect = c.get("webex-connect").unwrap();
    let messaging = connect.api("messaging").unwrap();
    let channels = messaging.values_of("/deliverychannel").unwrap();
    assert!(channels.deprecated("wechat").is_some());
    assert!(channels.deprecated("sms").is_none());
    let status = connect.api("transaction-status").unwrap();
    let audio = status.code(7610).next().unwrap();
    assert!(audio.meaning.contains("audio"), "{}", audio.meaning);
    assert!(audio.messages[0].when.contains("audio"));

    // token-api: "we recommend waiting at least 60 seconds before re-attempting".
    let token = c.get("token-api").unwrap();
    for code in [429, 503] {
        assert!(matches!(
            token.rule(code).unwrap().action,
            Action::RetryAfter {
                floor_over_header: true,
                ..
            }
        ));
    }
}

#[test]
fn every_vendor_contract_extends_the_baseline() {
    let c = Catalog::builtin();
    let http = c.get("http").unwrap();
    for id in [
        "webex",
        "whispir",
        "ringcentral",
        "token-api",
        "webex-connect",
    ] {
        let v = c.get(id).unwrap();
        assert_eq!(v.extends.as_deref(), Some("http"));
        // The baseline's statuses are all known to the vendor contract.
        for s in &http.statuses {
            assert!(v.status(s.code).is_some(), "{id} lacks {}", s.code);
        }
    }
}
