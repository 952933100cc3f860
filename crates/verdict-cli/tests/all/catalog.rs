//! The catalog commands, run as a user runs them.

use std::process::{Command, Output};

fn verdict(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_verdict"))
        .args(args)
        .output()
        .expect("run verdict")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn json(args: &[&str]) -> serde_json::Value {
    let o = verdict(args);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).expect("valid JSON")
}

#[test]
fn explain_an_application_code_in_every_api_that_has_it() {
    let o = verdict(&["explain", "webex-connect", "7109"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("webex-connect messaging 7109"), "{out}");
    assert!(
        out.contains("webex-connect transaction-status 7109"),
        "{out}"
    );
    assert!(out.contains("\"User in DnD\""), "{out}");
    assert!(out.contains("outcome: error"), "{out}");
}

#[test]
fn explain_applies_the_method_rule() {
    let v = json(&[
        "explain",
        "ringcentral",
        "404",
        "--method",
        "DELETE",
        "--json",
    ]);
    assert_eq!(v[0]["action"], "done");
    assert_eq!(v[0]["category"], "success");
    assert_eq!(v[0]["method"], "DELETE");
    let v = json(&["explain", "ringcentral", "404", "--json"]);
    assert_eq!(v[0]["action"], "fail");
    let text = stdout(&verdict(&["explain", "ringcentral", "404", "-X", "delete"]));
    assert!(text.contains("done"), "{text}");
}

#[test]
fn json_entries_have_the_documented_keys() {
    let v = json(&[
        "explain",
        "webex-connect",
        "7500",
        "--api",
        "transaction-status",
        "--json",
    ]);
    let e = &v[0];
    for key in [
        "contract",
        "api",
        "code",
        "http_status",
        "messages",
        "meaning",
        "category",
        "action",
    ] {
        assert!(e.get(key).is_some(), "missing {key} in {e}");
    }
    assert_eq!(e["contract"], "webex-connect");
    assert_eq!(e["api"], "transaction-status");
    assert_eq!(e["code"], 7500);
    assert_eq!(e["messages"], serde_json::json!(["Delivered"]));
    assert_eq!(e["outcome"], "success");

    let v = json(&["explain", "token-api", "429", "--json"]);
    assert_eq!(v[0]["api"], serde_json::Value::Null);
    assert_eq!(v[0]["action"], "retry-after");
    assert_eq!(v[0]["action_detail"], "retry-after (at least 60 s)");
    assert_eq!(v[0]["messages"], serde_json::json!([]));
}

#[test]
fn unknown_contract_or_code_is_one_line_with_close_matches_and_exit_2() {
    let o = verdict(&["explain", "webx", "423"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("unknown contract \"webx\"") && err.contains("webex"),
        "{err}"
    );

    let o = verdict(&["explain", "webex-connect", "7190"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("7109") && err.contains("7190"), "{err}");

    // Text is a code too (a vendor's such as invalid_auth); webex has none of that name.
    let o = verdict(&["explain", "webex", "abc"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("webex has no code abc"),
        "{}",
        stderr(&o)
    );
    let o = verdict(&["explain", "webex", " "]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a code"));

    let o = verdict(&["explain", "webex-connect", "7109", "--api", "mesaging"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("messaging"));
}

#[test]
fn an_undocumented_status_falls_back_to_the_baseline() {
    let o = verdict(&["explain", "webex", "418"]);
    assert!(o.status.success());
    assert!(
        stdout(&o).contains("does not name this status"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn list_one_contract_and_all() {
    let v = json(&["list", "webex", "--json"]);
    assert_eq!(v.as_array().unwrap().len(), 19);
    let all = json(&["list", "--json"]);
    let n = all.as_array().unwrap().len();
    assert!(n > 19 + 17 + 26 + 9 + 200, "{n}");
    let human = stdout(&verdict(&["list", "token-api"]));
    assert!(human.lines().next().unwrap().starts_with("CONTRACT"));
    assert!(human.contains("retry-after (at least 60 s)"));
}

#[test]
fn check_reports_problems_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[contract]\nid = \"bad\"\nname = \"Bad\"\nextends = \"http\"\n\n[[status]]\ncode = 429\naction = \"retyr\"\n").unwrap();
    let o = verdict(&["check", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("bad.toml:8:10: status[0].action: unknown action \"retyr\""),
        "{err}"
    );

    let v: serde_json::Value =
        serde_json::from_slice(&verdict(&["check", "--json", bad.to_str().unwrap()]).stdout)
            .unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["problems"][0]["line"], 8);

    // What is nonsense for an emulator is refused, each problem on a line of one form.
    let nonsense = dir.path().join("nonsense.toml");
    std::fs::write(
        &nonsense,
        "[contract]\nid = \"n\"\nname = \"N\"\nextends = \"http\"\n\n[emulator]\npage_limit_status = 200\n\n[[emulator.quota]]\nrequests = 0\nwindow_s = 60\nstatus = 200\n\n[[emulator.resource]]\nname = \"a\"\npath = \"/a\"\nmethods = [\"FETCH\"]\n",
    )
    .unwrap();
    let o = verdict(&["check", nonsense.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().collect();
    let (summary, problems) = lines.split_last().unwrap();
    assert_eq!(*summary, "verdict: 4 problem(s) found", "{err}");
    for p in problems {
        assert!(p.starts_with(nonsense.to_str().unwrap()), "{p}");
    }
    for needle in [
        "emulator.page_limit_status: 200 is out of range (400 to 599)",
        "emulator.quota[0].requests: 0 is out of range",
        "emulator.quota[0].status: 200 is out of range (400 to 599)",
        "\"FETCH\" is not an HTTP method",
    ] {
        assert!(err.contains(needle), "{needle}: {err}");
    }
    assert!(
        !err.contains("a quota needs requests and window_s"),
        "{err}"
    );

    let ok = verdict(&[
        "check",
        "../../contracts/webex.toml",
        "../../contracts/webex-connect.toml",
    ]);
    assert!(ok.status.success(), "{}", stderr(&ok));

    let missing = verdict(&["check", "/nonexistent/x.toml"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("cannot read"));
}

#[test]
fn a_contract_file_works_wherever_an_id_does() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mine.toml");
    std::fs::write(&file, "[contract]\nid = \"mine\"\nname = \"Mine\"\nextends = \"http\"\n\n[[status]]\ncode = 429\naction = \"retry-after\"\nwait_floor_s = 5\n").unwrap();
    let v = json(&["explain", file.to_str().unwrap(), "429", "--json"]);
    assert_eq!(v[0]["contract"], "mine");
    assert_eq!(
        v[0]["action_detail"],
        "retry-after (at least 5 s without one)"
    );
}

#[test]
fn render_markdown_and_html() {
    let md = stdout(&verdict(&["render", "whispir", "--format", "markdown"]));
    assert!(md.starts_with("# Whispir API"), "{md}");
    assert!(md.contains("| 301 | Moved Permanently |"), "{md}");
    let html = stdout(&verdict(&["render", "webex-connect", "--format", "html"]));
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<td>param &#39;sms&#39; missing for channel sms</td>"));
    assert!(html.contains("<td>User in DnD</td>"));
    let o = verdict(&["render", "webex", "--format", "pdf"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown format \"pdf\""));
}

#[test]
fn completions_for_bash() {
    let o = verdict(&["completions", "bash"]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("explain"));
}

#[test]
fn explain_for_a_method_is_the_engines_decision() {
    // The contract retries a 500, but a POST is not repeated without a key: explain says
    // what `verdict call` does.
    let v = json(&["explain", "webex", "500", "--method", "POST", "--json"]);
    assert_eq!(v[0]["action"], "retry", "{v}");
    assert_eq!(v[0]["applied"]["decision"], "fail", "{v}");
    assert_eq!(v[0]["applied"]["method_rule"], false, "{v}");
    let detail = v[0]["applied"]["detail"].as_str().unwrap();
    assert!(detail.contains("POST is not safe to repeat"), "{detail}");
    let v = json(&[
        "explain",
        "webex",
        "500",
        "--method",
        "POST",
        "--idempotency-key",
        "--json",
    ]);
    assert_eq!(v[0]["applied"]["decision"], "retry", "{v}");
    let text = stdout(&verdict(&["explain", "webex", "500", "-X", "post"]));
    assert!(text.contains("request   POST: fail"), "{text}");
    assert!(!text.contains("rule for this method applied"), "{text}");
    let text = stdout(&verdict(&["explain", "ringcentral", "404", "-X", "DELETE"]));
    assert!(
        text.contains("the contract's rule for this method applied"),
        "{text}"
    );
}

#[test]
fn an_unknown_method_is_refused_with_exit_2() {
    let o = verdict(&["explain", "webex", "500", "--method", "FOO"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("\"FOO\" is not an HTTP method"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn no_empty_rule_line_and_close_matches_of_the_same_kind() {
    let text = stdout(&verdict(&["explain", "webex", "404"]));
    assert!(!text.contains("rule "), "{text}");
    // An application code suggests application codes, a status statuses.
    let o = verdict(&["explain", "webex-connect", "7999"]);
    assert!(stderr(&o).contains("close matches: 7"), "{}", stderr(&o));
}

#[test]
fn a_status_the_contract_does_not_list_is_explained_by_its_class_rule() {
    // RingCentral: "Other 5xx: the client should not repeat the request."
    let o = verdict(&["explain", "ringcentral", "520"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("action    fail"), "{text}");
    assert!(text.contains("its rule for 5xx answers applies"), "{text}");
    assert!(text.contains("source    "), "the vendor's own rule: {text}");
    // The baseline's rule for a class, with no vendor document behind it.
    let text = stdout(&verdict(&["explain", "webex", "499"]));
    assert!(
        text.contains("action    fail") && !text.contains("source"),
        "{text}"
    );
    // An inherited status the vendor's class rule governs.
    let text = stdout(&verdict(&["explain", "ringcentral", "425"]));
    assert!(
        text.contains("action    fail") && text.contains("4xx answers applies"),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&verdict(&["explain", "ringcentral", "520", "--json"]).stdout)
            .unwrap();
    assert_eq!(json[0]["class"], "5xx", "{json}");
}

/// An entry a contract only inherits names the contract that states it, and that one's
/// document, never the inheriting contract's own.
#[test]
fn an_inherited_status_names_the_contract_and_document_it_comes_from() {
    let text = stdout(&verdict(&["explain", "webex", "418"]));
    assert!(text.contains("the entry comes from http"), "{text}");
    assert!(!text.contains("source"), "no document states it: {text}");
    let dir = tempfile::tempdir().unwrap();
    let mine = dir.path().join("mine.toml");
    let own = "[contract]\nid = \"mine\"\nname = \"Mine\"\nextends = \"webex\"\n\n[contract.source]\ntitle = \"My API guide\"\ndocument = \"guide.md\"\n";
    std::fs::write(&mine, own).unwrap();
    let text = stdout(&verdict(&["explain", mine.to_str().unwrap(), "404"]));
    assert!(text.contains("the entry comes from webex"), "{text}");
    assert!(text.contains("source    \"Response Codes\""), "{text}");
    assert!(
        !text.contains("My API guide") && !text.contains("answers applies"),
        "{text}"
    );
}

/// A status whose meaning depends on the answer lists each variant, in text and JSON.
#[test]
fn explain_lists_a_statuss_variants() {
    let text = stdout(&verdict(&["explain", "whispir", "403"]));
    assert!(
        text.contains("variant   when the answer carries Retry-After: The caller made more API calls than its allowed quota. — retry-after (rate-limit)"),
        "{text}"
    );
    let o = verdict(&["explain", "whispir", "403", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let variant = &json[0]["variants"][0];
    assert_eq!(variant["when"]["header"], "Retry-After", "{json}");
    assert_eq!(variant["category"], "rate-limit", "{json}");
    assert_eq!(variant["action"], "retry-after", "{json}");
}

#[test]
fn explain_names_the_wait_quota_and_server_headers_it_heeds() {
    let text = stdout(&verdict(&["explain", "ringcentral", "429"]));
    assert!(
        text.contains("wait      retry-after-ms or x-ms-retry-after-ms"),
        "{text}"
    );
    assert!(text.contains("quota     X-Rate-Limit-Remaining"), "{text}");
    assert!(
        text.contains("RateLimit and RateLimit-Policy (IETF draft)"),
        "{text}"
    );
    assert!(
        text.contains("server    x-should-retry: false on this answer stops the retry"),
        "{text}"
    );
    let text = stdout(&verdict(&["explain", "webex", "409"]));
    assert!(text.contains("x-should-retry: true"), "{text}");
    assert!(!text.contains("wait "), "{text}");

    let v = json(&["explain", "webex", "429", "--json"]);
    let about: Vec<&str> = v[0]["signals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["about"].as_str().unwrap())
        .collect();
    assert_eq!(about, ["wait", "quota", "server"]);

    // A contract that sends the draft's fields and ignores x-should-retry says so.
    let dir = std::env::temp_dir().join(format!("verdict-explain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("drafted.toml");
    std::fs::write(
        &file,
        "[contract]\nid = \"drafted\"\nname = \"Drafted\"\nextends = \"http\"\n\n[retry]\nshould_retry_header = \"\"\n\n[rate_limit]\nfields = \"ietf-draft\"\n",
    )
    .unwrap();
    let text = stdout(&verdict(&["explain", file.to_str().unwrap(), "429"]));
    assert!(
        text.contains("RateLimit and RateLimit-Policy (the contract's IETF draft fields)"),
        "{text}"
    );
    assert!(!text.contains("x-should-retry"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn close_matches_name_the_apis_that_have_them() {
    let o = verdict(&["explain", "webex-connect", "7109", "--api", "profile"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("7109 (in messaging, transaction-status)"),
        "{err}"
    );
}
