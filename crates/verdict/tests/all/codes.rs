//! Application codes that are text, a failure flag on 2xx bodies, deprecated codes and
//! values, the vendor's wire message and field-error shape: how the loader reads and
//! checks them, and what the engine decides.

use std::time::SystemTime;

use http::{HeaderMap, Method};
use proptest::prelude::*;
use serde_json::{Value, json};
use url::Url;
use verdict::decide::{Decision, History, Limits, Reason, RequestFacts, ResponseFacts, decide};
use verdict::{Catalog, CodeValue, Contract};

use crate::support::{HEAD, load, problems, problems_at};

/// A Slack-like contract: 200 with `ok: false` and a text code at `/error`.
pub(crate) const FLAGGED: &str = include_str!("../../../../tests/fixtures/chat.toml");

fn flagged() -> Contract {
    load(FLAGGED).unwrap().get("chat").unwrap().clone()
}

fn decide_on(c: &Contract, status: u16, body: &Value, history: &History) -> Decision {
    let url = Url::parse("https://api.example/api/chat.postMessage").unwrap();
    let headers = HeaderMap::new();
    let code = c
        .error_body
        .code
        .as_ref()
        .and_then(|p| p.find(body))
        .and_then(CodeValue::from_json);
    let resp = ResponseFacts {
        app_code: code,
        body: Some(body),
        ..ResponseFacts::new(status, &headers)
    };
    decide(
        c,
        &RequestFacts::new(&Method::POST, &url),
        &resp,
        history,
        &Limits::default(),
        SystemTime::UNIX_EPOCH,
        0.5,
    )
}

#[test]
fn text_codes_load_and_are_found_as_written() {
    let c = flagged();
    let api = c.api("web").unwrap();
    let auth: CodeValue = "invalid_auth".parse().unwrap();
    assert_eq!(
        api.code(&auth).next().unwrap().meaning,
        "The token is not valid."
    );
    assert!(api.code(7109).next().is_none());
    let old = api
        .code(&"account_inactive".parse().unwrap())
        .next()
        .unwrap();
    assert!(
        old.deprecated
            .as_ref()
            .unwrap()
            .note
            .as_ref()
            .unwrap()
            .contains("2023")
    );
    let flag = c.error_body.failure.as_ref().unwrap();
    assert_eq!(flag.to_string(), "/ok is false");
}

#[test]
fn built_in_codes_stay_numbers() {
    let wc = Catalog::builtin().get("webex-connect").unwrap();
    for api in &wc.apis {
        for row in &api.codes {
            assert!(row.code.number().is_some(), "{} {}", api.id, row.code);
        }
    }
    // A code given as text in a body is found as the number.
    let dnd = wc.api("transaction-status").unwrap();
    assert!(dnd.code(&"7109".parse().unwrap()).next().is_some());
}

#[test]
fn explain_finds_text_codes_and_suggests_close_ones() {
    let cat = load(FLAGGED).unwrap();
    let e = cat
        .explain(
            "chat",
            "invalid_auth".parse::<CodeValue>().unwrap(),
            None,
            None,
        )
        .unwrap();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].code.to_string(), "invalid_auth");
    assert_eq!(e[0].failure.as_deref(), Some("/ok is false"));
    let old = cat.explain(
        "chat",
        "account_inactive".parse::<CodeValue>().unwrap(),
        None,
        None,
    );
    assert!(old.unwrap()[0].deprecated.is_some());
    let err = cat
        .explain(
            "chat",
            "invalid_aut".parse::<CodeValue>().unwrap(),
            None,
            None,
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("did you mean invalid_auth?"), "{err}");
    // A status of a flagged contract names the flag when it is a success.
    let ok = cat.explain("chat", 200, None, None).unwrap();
    assert_eq!(ok[0].failure.as_deref(), Some("/ok is false"));
    assert!(
        cat.explain("chat", 404, None, None).unwrap()[0]
            .failure
            .is_none()
    );
}

#[test]
fn a_flagged_success_is_decided_by_its_code() {
    let c = flagged();
    let h = History::default();
    // ok: true is a success, whatever else the body says.
    assert_eq!(decide_on(&c, 200, &json!({"ok": true}), &h), Decision::Done);
    // A code whose action fails.
    let bad = json!({"ok": false, "error": "invalid_auth"});
    assert_eq!(decide_on(&c, 200, &bad, &h), Decision::Fail(Reason::Final));
    // A code whose action retries is retried within the policy.
    let flaky = json!({"ok": false, "error": "internal_error"});
    assert!(matches!(
        decide_on(&c, 200, &flaky, &h),
        Decision::Retry { .. }
    ));
    let spent = History {
        retries: 2,
        ..History::default()
    };
    assert_eq!(
        decide_on(&c, 200, &flaky, &spent),
        Decision::Fail(Reason::RetriesExhausted { retries: 2 })
    );
    // An unknown code, or none, fails.
    let odd = json!({"ok": false, "error": "something_new"});
    assert_eq!(decide_on(&c, 200, &odd, &h), Decision::Fail(Reason::Final));
    assert_eq!(
        decide_on(&c, 200, &json!({"ok": false}), &h),
        Decision::Fail(Reason::Final)
    );
}

#[test]
fn contracts_without_a_flag_are_not_changed_by_one_in_the_body() {
    let webex = Catalog::builtin().get("webex").unwrap();
    let body = json!({"ok": false, "error": "invalid_auth"});
    assert_eq!(
        decide_on(webex, 200, &body, &History::default()),
        Decision::Done
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the body and code, a flagged contract's 2xx is what its status says when
    /// the flag does not say failure; with the flag, it is never done, and only a code
    /// whose action retries is retried, within the policy.
    #[test]
    fn a_flagged_2xx_is_done_only_without_the_flag(
        status in 200u16..300,
        ok in proptest::option::of(any::<bool>()),
        code in prop_oneof![
            Just("invalid_auth".to_owned()),
            Just("internal_error".to_owned()),
            Just("account_inactive".to_owned()),
            "[a-z_]{1,12}",
        ],
        retries in 0u32..4,
    ) {
        let c = flagged();
        let mut body = json!({"error": code});
        if let Some(ok) = ok {
            body["ok"] = json!(ok);
        }
        let h = History { retries, ..History::default() };
        let d = decide_on(&c, status, &body, &h);
        if ok == Some(false) {
            prop_assert!(!matches!(d, Decision::Done), "{d:?}");
            let retried = matches!(d, Decision::Retry { .. });
            prop_assert_eq!(retried, code == "internal_error" && retries < 2);
        } else {
            prop_assert_eq!(d, decide_on(&c, status, &json!({}), &h));
        }
    }
}

#[test]
fn code_values_are_checked_with_line_and_column() {
    let text = format!(
        "{HEAD}[[api]]\nid = \"a\"\nname = \"A\"\n\n[[api.code]]\ncode = \"\"\nhttp_status = 400\noutcome = \"error\"\ncategory = \"client\"\naction = \"fail\"\nmeaning = \"m\"\nmessages = [{{ text = \"x\", when = \"w\" }}]\n\n[[api.code]]\ncode = \"dup\"\nhttp_status = 400\noutcome = \"error\"\ncategory = \"client\"\naction = \"fail\"\nmeaning = \"m\"\nmessages = [{{ text = \"x\", when = \"w\" }}]\n\n[[api.code]]\ncode = \"dup\"\nhttp_status = 400\noutcome = \"error\"\ncategory = \"client\"\naction = \"fail\"\nmeaning = \"m\"\nmessages = [{{ text = \"y\", when = \"w\" }}]\ndeprecated = \"\"\n"
    );
    let p = problems_at(&text);
    assert!(
        p.iter().any(|x| x.0 == 10
            && x.1 == 8
            && x.2 == "api[0].code[0].code"
            && x.3.contains("must not be empty")),
        "{p:#?}"
    );
    assert!(
        p.iter().any(|x| x.0 == 28
            && x.2 == "api[0].code[2].code"
            && x.3.contains("code dup is listed twice")),
        "{p:#?}"
    );
    assert!(
        p.iter()
            .any(|x| x.2 == "api[0].code[2].deprecated" && x.3.contains("must not be empty")),
        "{p:#?}"
    );
    // Neither a boolean nor a table makes a code.
    let text = FLAGGED.replace("code = \"invalid_auth\"", "code = true");
    let p = problems(&text);
    assert!(
        p.iter()
            .any(|x| x.1 == "api[0].code[0].code" && x.2.contains("expected a string")),
        "{p:#?}"
    );
}

#[test]
fn failure_flags_are_checked() {
    let bad = FLAGGED.replace(
        "failure = { pointer = \"/ok\", equals = false }",
        "failure = { pointr = \"/ok\", equals = [false] }",
    );
    let p = problems(&bad);
    assert!(p.iter().any(|x| x.1 == "error_body.failure.pointr" && x.2.contains("did you mean \"pointer\"")), "{p:#?}");
    assert!(
        p.iter()
            .any(|x| x.1 == "error_body.failure.equals" && x.2.contains("found array")),
        "{p:#?}"
    );
    assert!(
        p.iter()
            .any(|x| x.1 == "error_body.failure.pointer" && x.2.contains("required")),
        "{p:#?}"
    );
    let whole = FLAGGED.replace("pointer = \"/ok\"", "pointer = \"\"");
    let p = problems(&whole);
    assert!(
        p.iter()
            .any(|x| x.1 == "error_body.failure.pointer" && x.2.contains("whole body")),
        "{p:#?}"
    );
    let problem = format!(
        "{HEAD}[error_body]\nformat = \"problem\"\nfailure = {{ pointer = \"/ok\", equals = false }}\n"
    );
    let p = problems(&problem);
    assert!(
        p.iter()
            .any(|x| x.1 == "error_body.failure" && x.2.contains("leave failure out")),
        "{p:#?}"
    );
}

#[test]
fn wire_messages_and_field_error_shapes_are_checked() {
    let good = format!(
        "{HEAD}[error_body]\nmessage = \"/message\"\nfields = \"/errors\"\nfield_error = {{ resource = \"/resource\", field = \"/field\", code = \"/code\" }}\n\n[[status]]\ncode = 422\nwire_message = \"Validation Failed\"\n"
    );
    let c = load(&good).unwrap();
    let t = c.get("t").unwrap();
    assert_eq!(
        t.status(422).unwrap().wire_message.as_deref(),
        Some("Validation Failed")
    );
    let shape = t.error_body.field_error.as_ref().unwrap();
    assert_eq!(
        (shape.field.as_str(), shape.missing.as_str()),
        ("/field", "missing_field")
    );
    let bad = format!(
        "{HEAD}[error_body]\nmessage = \"/message\"\nfield_error = {{ feld = \"/field\", invalid = \" \" }}\n\n[[status]]\ncode = 422\nwire_message = \"\"\n"
    );
    let p = problems(&bad);
    for (field, text) in [
        ("error_body.field_error.feld", "did you mean \"field\""),
        ("error_body.field_error.field", "is required"),
        ("error_body.field_error.invalid", "is not a code"),
        ("status[0].wire_message", "must not be empty"),
    ] {
        assert!(
            p.iter().any(|x| x.1 == field && x.2.contains(text)),
            "{field}: {p:#?}"
        );
    }
    let no_list = format!("{HEAD}[error_body]\nfield_error = {{ field = \"/field\" }}\n");
    let p = problems(&no_list);
    assert!(
        p.iter()
            .any(|x| x.1 == "error_body.field_error" && x.2.contains("fields")),
        "{p:#?}"
    );
}

#[test]
fn enum_values_and_deprecations_are_checked() {
    let good = format!(
        "{FLAGGED}\n[[api.enum]]\nfield = \"/channel\"\nvalues = [\"sms\", {{ value = \"wechat\", deprecated = \"gone since 2024\" }}, {{ value = \"fax\", deprecated = true }}]\nrefused_with = \"invalid_auth\"\n"
    );
    // The messages above have no keys: refused_with names none of them.
    let p = problems(&good);
    assert!(
        p.iter()
            .any(|x| x.1 == "api[0].enum[0].refused_with" && x.2.contains("no message")),
        "{p:#?}"
    );
    let keyed = good.replace(
        "messages = [{ text = \"invalid_auth\",",
        "messages = [{ key = \"invalid-auth\", text = \"invalid_auth\",",
    );
    let keyed = keyed.replace(
        "refused_with = \"invalid_auth\"",
        "refused_with = \"invalid-auth\"",
    );
    let cat = load(&keyed).unwrap();
    let values = cat
        .get("chat")
        .unwrap()
        .api("web")
        .unwrap()
        .values_of("/channel")
        .unwrap()
        .clone();
    assert!(values.deprecated("WeChat").is_some());
    assert!(values.deprecated("fax").unwrap().note.is_none());
    assert!(values.deprecated("sms").is_none());
    let e = cat
        .explain(
            "chat",
            "invalid_auth".parse::<CodeValue>().unwrap(),
            None,
            None,
        )
        .unwrap();
    assert_eq!(
        e[0].refuses,
        [
            "/channel \"wechat\": deprecated: gone since 2024",
            "/channel \"fax\": deprecated"
        ]
    );
    let typo = keyed.replace(
        "refused_with = \"invalid-auth\"",
        "refused_with = \"invalid-aut\"",
    );
    let p = problems(&typo);
    assert!(
        p.iter()
            .any(|x| x.2.contains("did you mean \"invalid-auth\"")),
        "{p:#?}"
    );
    let dup = keyed.replace("values = [\"sms\",", "values = [\"sms\", \"SMS\", 3,");
    let p = problems(&dup);
    assert!(
        p.iter()
            .any(|x| x.1 == "api[0].enum[0].values[1]" && x.2.contains("listed twice")),
        "{p:#?}"
    );
    assert!(
        p.iter()
            .any(|x| x.1 == "api[0].enum[0].values[2]" && x.2.contains("found integer")),
        "{p:#?}"
    );
}

#[test]
fn a_flag_on_an_api_applies_to_that_api_alone() {
    let text = FLAGGED.replace(
        "[error_body]\nmessage = \"/error\"\ncode = \"/error\"\nfailure = { pointer = \"/ok\", equals = false }\n",
        "",
    );
    let text = text.replace(
        "name = \"Web API\"\n",
        "name = \"Web API\"\nerror_body = { code = \"/error\", failure = { pointer = \"/status\", equals = \"error\" } }\n",
    );
    let c = load(&text).unwrap().get("chat").unwrap().clone();
    assert!(c.error_body.failure.is_none());
    let body = json!({"status": "error"});
    assert!(verdict::decide::flagged_failure(
        &c,
        Some("web"),
        200,
        Some(&body)
    ));
    assert!(!verdict::decide::flagged_failure(
        &c,
        None,
        200,
        Some(&body)
    ));
    assert!(!verdict::decide::flagged_failure(
        &c,
        Some("web"),
        201,
        Some(&json!({"status": "ok"}))
    ));
}
