//! Loading reports every problem of a file at once, each with its line, column and field.

use verdict::{Catalog, SourceFile};

use crate::support::{HEAD, emulator_of, load, one_problem, problems, problems_at};

#[test]
fn a_minimal_contract_inherits_everything() {
    let c = load(HEAD).unwrap();
    let t = c.get("t").unwrap();
    assert_eq!(t.statuses.len(), c.get("http").unwrap().statuses.len());
    assert!(t.documented_statuses().next().is_none());
}

#[test]
fn every_problem_is_reported_with_line_and_field() {
    let text = format!(
        "{HEAD}\n[[status]]\ncode = 429\naction = \"retyr\"\n\n[[status]]\ncode = 700\n\n[error_body]\nmessage = \"msg\"\n\n[[status]]\ncode = 429\n"
    );
    let p = problems(&text);
    assert_eq!(p.len(), 4, "{p:#?}");
    assert_eq!(p[0].0, 8);
    assert_eq!(p[0].1, "status[0].action");
    assert!(p[0].2.contains("did you mean \"retry\""), "{}", p[0].2);
    assert_eq!((p[1].0, p[1].1.as_str()), (11, "status[1].code"));
    assert!(p[1].2.contains("700 is not an HTTP status"));
    assert_eq!((p[2].0, p[2].1.as_str()), (14, "error_body.message"));
    assert!(p[2].2.contains("JSON pointer"));
    assert_eq!((p[3].0, p[3].1.as_str()), (17, "status[2].code"));
    assert!(p[3].2.contains("listed twice"));
}

#[test]
fn unknown_keys_and_wrong_types() {
    let text = format!("{HEAD}[retry]\nmax_retries = \"three\"\nfactr = 2.0\n");
    let p = problems(&text);
    assert_eq!(p.len(), 2, "{p:#?}");
    assert!(
        p[0].2.contains("expected an integer, found string"),
        "{p:?}"
    );
    assert!(
        p[1].2
            .contains("unknown key \"factr\"; did you mean \"factor\""),
        "{p:?}"
    );
}

#[test]
fn action_parameters_must_fit_the_action() {
    let text = format!(
        "{HEAD}[[status]]\ncode = 404\naction = \"fail\"\nwait_floor_s = 30\n\n[[status]]\ncode = 399\naction = \"redirect\"\nmeaning = \"m\"\ncategory = \"redirect\"\n"
    );
    let p = problems(&text);
    assert!(p.iter().any(|x| x.1 == "status[0].wait_floor_s"), "{p:#?}");
    assert!(
        p.iter()
            .any(|x| x.1 == "status[1].redirect" && x.2.contains("get\" or \"same")),
        "{p:#?}"
    );
}

#[test]
fn a_status_without_a_base_entry_needs_every_field() {
    let text = format!("{HEAD}[[status]]\ncode = 499\ntitle = \"Client Closed\"\n");
    let p = problems(&text);
    let fields: Vec<&str> = p.iter().map(|x| x.1.as_str()).collect();
    assert!(fields.contains(&"status[0].meaning"), "{p:#?}");
    assert!(fields.contains(&"status[0].category"), "{p:#?}");
    assert!(fields.contains(&"status[0].action"), "{p:#?}");
}

#[test]
fn repeated_application_codes_need_the_seed_duplicate_mark() {
    let code = "[[api.code]]\ncode = 7\nhttp_status = 200\noutcome = \"error\"\ncategory = \"delivery\"\naction = \"fail\"\nmeaning = \"m\"\nmessages = [{ text = \"x\", when = \"w\" }]\n";
    let text = format!("{HEAD}[[api]]\nid = \"a\"\nname = \"A\"\n{code}{code}");
    let p = problems(&text);
    assert_eq!(p.len(), 1, "{p:#?}");
    assert!(p[0].2.contains("seed_duplicate"));

    let marked = format!(
        "{HEAD}[[api]]\nid = \"a\"\nname = \"A\"\n{code}{}",
        code.replace("code = 7\n", "code = 7\nseed_duplicate = true\n")
    );
    let c = load(&marked).unwrap();
    assert_eq!(c.get("t").unwrap().api("a").unwrap().code(7).count(), 2);

    let lonely = format!(
        "{HEAD}[[api]]\nid = \"a\"\nname = \"A\"\n{}",
        code.replace("code = 7\n", "code = 7\nseed_duplicate = true\n")
    );
    assert!(problems(&lonely)[0].2.contains("no earlier row"));
}

#[test]
fn message_keys_are_unique_within_an_api() {
    let row = |code: u32, msgs: &str| {
        format!(
            "[[api.code]]\ncode = {code}\nhttp_status = 400\noutcome = \"error\"\ncategory = \"validation\"\naction = \"fail\"\nmeaning = \"m\"\nmessages = [\n{msgs}]\n"
        )
    };
    let api = |id: &str| format!("[[api]]\nid = \"{id}\"\nname = \"A\"\n");
    // The same key in another API is fine, and a message may go without one.
    let fine = format!(
        "{HEAD}{}{}{}{}",
        api("a"),
        row(
            1,
            "  { text = \"x\", when = \"w\", key = \"the-x\" },\n  { text = \"y\", when = \"w\" },\n"
        ),
        api("b"),
        row(1, "  { text = \"x\", when = \"w\", key = \"the-x\" },\n"),
    );
    let c = load(&fine).unwrap();
    let a = c.get("t").unwrap().api("a").unwrap();
    let (code, msg) = a.message("the-x").unwrap();
    assert_eq!((code.code.clone(), msg.text.as_str()), (1.into(), "x"));
    assert!(a.message("y").is_none());

    // A key repeated in one API, across two codes, is refused at the repeat.
    let twice = format!(
        "{HEAD}{}{}{}",
        api("a"),
        row(1, "  { text = \"x\", when = \"w\", key = \"the-x\" },\n"),
        row(2, "  { text = \"z\", when = \"w\", key = \"the-x\" },\n"),
    );
    let p = problems_at(&twice);
    assert_eq!(p.len(), 1, "{p:#?}");
    // Line and column of the repeated key's value.
    let at = twice.rfind("\"the-x\"").unwrap();
    let line = twice[..at].lines().count();
    let column = at - twice[..at].rfind('\n').unwrap();
    assert_eq!((p[0].0, p[0].1), (line, column), "{p:#?}");
    assert_eq!(p[0].2, "api[0].code[1].messages[0].key");
    assert!(
        p[0].3.contains("\"the-x\" is used by another message"),
        "{p:#?}"
    );

    let bad = format!(
        "{HEAD}{}{}",
        api("a"),
        row(1, "  { text = \"x\", when = \"w\", key = \"The X\" },\n"),
    );
    assert!(problems(&bad)[0].2.contains("not a valid key"));
}

#[test]
fn extends_must_name_a_contract_and_cycles_are_caught() {
    let p = problems("[contract]\nid = \"t\"\nname = \"T\"\nextends = \"htp\"\n");
    assert_eq!(p[0].1, "contract.extends");
    assert!(p[0].2.contains("did you mean \"http\""));

    let a = SourceFile::new(
        "a.toml",
        "[contract]\nid = \"a\"\nname = \"A\"\nextends = \"b\"\n",
    );
    let b = SourceFile::new(
        "b.toml",
        "[contract]\nid = \"b\"\nname = \"B\"\nextends = \"a\"\n",
    );
    let err = Catalog::builtin().with_files([a, b]).unwrap_err();
    assert_eq!(err.0.len(), 2);
    assert!(err.to_string().contains("which extends it in turn"));
}

#[test]
fn files_may_extend_each_other_and_replace_builtins() {
    let base = SourceFile::new(
        "base.toml",
        "[contract]\nid = \"base\"\nname = \"B\"\nextends = \"http\"\n[[status]]\ncode = 404\naction = \"done\"\n",
    );
    let child = SourceFile::new(
        "child.toml",
        "[contract]\nid = \"child\"\nname = \"C\"\nextends = \"base\"\n",
    );
    let c = Catalog::builtin().with_files([child, base]).unwrap();
    assert_eq!(
        c.get("child").unwrap().status(404).unwrap().action,
        verdict::Action::Done
    );

    let webex = SourceFile::new(
        "webex.toml",
        "[contract]\nid = \"webex\"\nname = \"Mine\"\nextends = \"http\"\n",
    );
    let c = Catalog::builtin().with_files([webex]).unwrap();
    assert_eq!(c.get("webex").unwrap().name, "Mine");
    assert_eq!(c.contracts().iter().filter(|x| x.id == "webex").count(), 1);
}

#[test]
fn invalid_toml_is_reported_with_its_position() {
    let p = problems("[contract\nid = 1\n");
    assert_eq!(p[0].0, 1);
    assert!(p[0].2.starts_with("invalid TOML"));
}

#[test]
fn hostile_inputs_never_panic() {
    let cases = [
        "",
        "\u{0}",
        "[[status]]\ncode = 99999999999999999999999\n",
        "[[status]]\ncode = -1\n",
        "[contract]\nid = \"x\"\nname = \"x\"\n[[status]]\ncode = 200\n[[status.override]]\nmethod = \"get\"\n",
        "[contract]\nid = \"x\"\nname = \"x\"\n[auth]\nscheme = \"api-key\"\n",
        "status = 3\napi = \"x\"\n",
        "[contract]\nid = \"x\"\nname = \"x\"\n[retry]\nbase_ms = 5000\ncap_ms = 10\n",
    ];
    for text in cases {
        assert!(load(text).is_err(), "{text:?} should be rejected");
    }
}

#[test]
fn quota_fields_and_the_should_retry_header_are_checked() {
    let text = format!(
        "{HEAD}\n[retry]\nshould_retry_header = \"x should retry\"\n\n[rate_limit]\nfields = \"ietf\"\n"
    );
    let p = problems(&text);
    assert_eq!(p.len(), 2, "{p:#?}");
    assert_eq!((p[0].0, p[0].1.as_str()), (7, "retry.should_retry_header"));
    assert!(p[0].2.contains("not a valid HTTP header name"), "{p:?}");
    assert_eq!((p[1].0, p[1].1.as_str()), (10, "rate_limit.fields"));
    assert!(
        p[1].2.contains("unknown quota fields \"ietf\"")
            && p[1].2.contains("did you mean \"ietf-draft\""),
        "{p:?}"
    );
    // The column points at the value.
    let e = load(&text).unwrap_err();
    assert_eq!(e.0[0].problems[1].column, 10);

    // "both" needs names to send beside the draft's fields.
    let p = problems(&format!("{HEAD}\n[rate_limit]\nfields = \"both\"\n"));
    assert_eq!((p[0].0, p[0].1.as_str()), (7, "rate_limit.fields"));
    assert!(p[0].2.contains("names none"), "{p:?}");

    let c = load(&format!(
        "{HEAD}\n[rate_limit]\nfields = \"ietf-draft\"\n\n[retry]\nshould_retry_header = \"X-Retry-Hint\"\n"
    ))
    .unwrap();
    let t = c.get("t").unwrap();
    assert_eq!(t.rate_limit.fields, verdict::QuotaFields::IetfDraft);
    assert_eq!(
        t.rate_limit.remaining, None,
        "the table replaces the baseline's"
    );
    assert_eq!(
        t.retry.should_retry_header.as_ref().map(|h| h.as_str()),
        Some("X-Retry-Hint")
    );
}

#[test]
fn resource_schema_keys_are_checked_where_they_are_written() {
    let text = format!(
        "{}{}",
        HEAD,
        r#"[emulator]
unknown_fields = "refuze"

[[emulator.resource]]
name = "rooms"
path = "/rooms"
fields = { title = { type = "string", min_lenght = 1 }, size = { type = "integer", max_length = 3 }, kind = { type = "string", enum = ["a", 2] } }
one_of = [["title", "sise"]]
update.PUT = { accepts = ["title"], requried = [] }
update.PATCH = { accepts = ["titel"] }
methods = ["GET", "POST", "PUT", "DELETE"]
"#
    );
    let p = crate::support::problems_at(&text);
    let has = |line: usize, field: &str, fragment: &str| {
        assert!(
            p.iter()
                .any(|(l, _, f, m)| *l == line && f == field && m.contains(fragment)),
            "no {field} at line {line} with {fragment:?}: {p:#?}"
        );
    };
    has(6, "emulator.unknown_fields", "did you mean \"refuse\"");
    has(
        11,
        "emulator.resource[0].fields.title.min_lenght",
        "did you mean \"min_length\"",
    );
    has(
        11,
        "emulator.resource[0].fields.size.max_length",
        "does not apply to a field of type integer",
    );
    has(
        11,
        "emulator.resource[0].fields.kind.enum",
        "2 is not a string",
    );
    has(12, "emulator.resource[0].one_of", "did you mean \"size\"");
    has(
        13,
        "emulator.resource[0].update.PUT.requried",
        "did you mean \"required\"",
    );
    has(
        14,
        "emulator.resource[0].update.PATCH",
        "it updates with: PUT",
    );
    assert_eq!(p.len(), 7, "{p:#?}");
}

#[test]
fn the_short_and_long_field_forms_load_alike() {
    let text = format!(
        "{}{}",
        HEAD,
        r#"[emulator]
unknown_fields = "refuse"
unknown_field_status = 422

[[emulator.resource]]
name = "items"
path = "/items"
fields = { name = { type = "string", required = true, min_length = 1, max_length = 80 }, note = { type = "string", nullable = true }, n = "integer" }
update.PATCH = { accepts = ["note"] }
"#
    );
    let catalog = load(&text).unwrap();
    let spec = catalog.get("t").unwrap().emulator.clone().unwrap();
    assert_eq!(spec.unknown_field_status, 422);
    let r = &spec.resources[0];
    assert_eq!(r.create.required, ["name"]);
    assert_eq!(r.field("name").unwrap().max_length, Some(80));
    assert!(r.field("note").unwrap().nullable);
    let put = r.rules(&http::Method::PUT).unwrap();
    assert_eq!(
        put.required,
        ["name"],
        "PUT requires what a create does by default"
    );
    assert_eq!(put.accepts.len(), 3);
    assert_eq!(r.rules(&http::Method::PATCH).unwrap().accepts, ["note"]);
    assert_eq!(r.unknown_fields, verdict::UnknownFields::Refuse);
}

#[test]
fn class_rules_are_checked_where_they_are_written() {
    let text = format!(
        "{HEAD}\n[[class]]\nclass = \"6xx\"\nmeaning = \"m\"\ncategory = \"server\"\naction = \"fail\"\n\n[[class]]\nclass = \"5xx\"\naction = \"fail\"\n\n[[class]]\nclass = \"5xx\"\naction = \"fail\"\ntitle = \"no\"\n"
    );
    let p = problems(&text);
    assert!(
        p.iter()
            .any(|(_, f, m)| f == "class[0].class" && m.contains("not a status class")),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|(_, f, m)| f == "class[2].class" && m.contains("listed twice")),
        "{p:?}"
    );
    assert!(
        p.iter().any(|(_, f, _)| f == "class[2].title"),
        "a class has no title: {p:?}"
    );
    // A class rule inherits what it does not say from the baseline's rule of its class.
    let c = load(&format!(
        "{HEAD}\n[[class]]\nclass = \"5xx\"\naction = \"fail\"\n"
    ))
    .unwrap();
    let t = c.get("t").unwrap();
    assert_eq!(t.rule(599).unwrap().action, verdict::Action::Fail);
    assert_eq!(t.rule(599).unwrap().category.as_str(), "server");
    // An entry the contract only inherits follows its own rule for the class...
    assert_eq!(t.rule(502).unwrap().action, verdict::Action::Fail);
    assert!(!t.status(502).unwrap().documented);
    // ...while the meaning stays the baseline's.
    let http = Catalog::builtin().get("http").unwrap();
    assert_eq!(
        t.status(502).unwrap().meaning,
        http.status(502).unwrap().meaning
    );
}

#[test]
fn a_header_may_be_a_list_of_its_spellings() {
    let c = load(&format!(
        "{HEAD}[rate_limit]\nremaining = [\"X-Left\", \"X-Remaining\"]\n\n[headers]\ntracking_id = [\"X-Trace\", \"X-Request-Id\"]\n"
    ))
    .unwrap();
    let t = c.get("t").unwrap();
    let r = t.rate_limit.remaining.as_ref().unwrap();
    assert_eq!(r.as_str(), "X-Left");
    assert_eq!(r.aliases(), ["x-remaining"]);
    assert_eq!(
        t.headers.tracking_id.as_ref().unwrap().aliases(),
        ["x-request-id"]
    );
    let p = problems(&format!(
        "{HEAD}[rate_limit]\nremaining = []\nlimit = [\"bad name\"]\n"
    ));
    assert!(
        p.iter()
            .any(|(_, f, m)| f == "rate_limit.remaining" && m.contains("empty")),
        "{p:?}"
    );
    assert!(
        p.iter().any(|(_, f, _)| f == "rate_limit.limit[0]"),
        "{p:?}"
    );
}

#[test]
fn a_reset_format_is_one_of_four() {
    let c = load(&format!(
        "{HEAD}[rate_limit]\nreset = \"x-ratelimit-reset\"\nreset_format = \"unix\"\n"
    ))
    .unwrap();
    assert_eq!(
        c.get("t").unwrap().rate_limit.reset_format,
        verdict::ResetFormat::Unix
    );
    assert_eq!(
        Catalog::builtin()
            .get("webex")
            .unwrap()
            .rate_limit
            .reset_format,
        verdict::ResetFormat::Auto
    );
    let p = problems(&format!(
        "{HEAD}[rate_limit]\nreset = \"r\"\nreset_format = \"unixtime\"\n"
    ));
    assert!(
        p.iter()
            .any(|(_, f, m)| f == "rate_limit.reset_format" && m.contains("unix")),
        "{p:?}"
    );
}

#[test]
fn a_variant_needs_one_clear_condition() {
    let text = format!(
        "{HEAD}[[status]]\ncode = 403\n\n[[status.variant]]\naction = \"retry\"\n\n[[status.variant]]\nwhen = {{ pointer = \"/error\" }}\n\n[[status.variant]]\nwhen = {{ header = \"retry-after\", pointer = \"/e\", equals = \"x\" }}\n\n[[status.variant]]\nwhen = {{ header = \"retry-after\", eqals = \"1\" }}\n"
    );
    let p = problems(&text);
    let has = |field: &str, words: &str| p.iter().any(|(_, f, m)| f == field && m.contains(words));
    assert!(has("status[0].variant[0].when", "required"), "{p:?}");
    // A pointer alone is a condition: the body has a value there.
    assert!(
        !p.iter()
            .any(|(_, f, _)| f.starts_with("status[0].variant[1]")),
        "{p:?}"
    );
    assert!(has("status[0].variant[2].when", "names a header"), "{p:?}");
    assert!(
        p.iter()
            .any(|(_, f, m)| f == "status[0].variant[3].when.eqals" && m.contains("equals")),
        "{p:?}"
    );
    // A variant inherits from its entry what it does not say.
    let c = load(&format!(
        "{HEAD}[[status]]\ncode = 403\n\n[[status.variant]]\nwhen = {{ header = \"retry-after\" }}\naction = \"retry-after\"\n"
    ))
    .unwrap();
    let v = &c.get("t").unwrap().status(403).unwrap().variants[0];
    assert_eq!(v.action.kind().as_str(), "retry-after");
    assert_eq!(v.category.as_str(), "authorization", "the entry's category");
}

#[test]
fn a_shrink_names_its_parameter() {
    let c = load(&format!(
        "{HEAD}[[status]]\ncode = 504\nshrink = {{ param = \"limit\", floor = 5 }}\n"
    ))
    .unwrap();
    let s = c
        .get("t")
        .unwrap()
        .status(504)
        .unwrap()
        .shrink
        .clone()
        .unwrap();
    assert_eq!((s.param.as_str(), s.floor), ("limit", 5));
    let p = problems(&format!(
        "{HEAD}[[status]]\ncode = 504\nshrink = {{ parm = \"max\" }}\n"
    ));
    assert!(
        p.iter().any(|(_, f, _)| f == "status[0].shrink.param"),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|(_, f, m)| f == "status[0].shrink.parm" && m.contains("param")),
        "{p:?}"
    );
}

#[test]
fn the_vendor_module_is_named_by_the_contract_and_checked() {
    let text = format!(
        "{HEAD}[emulator]\nvendor = \"webx\"\nerror_codes = {{ 404 = \"E-404\", 6xx = \"E\", 400 = 3 }}\n"
    );
    one_problem(&text, "emulator.vendor", "did you mean \"webex\"");
    one_problem(
        &text,
        "emulator.error_codes.6xx",
        "an error status (400 to 599)",
    );
    one_problem(&text, "emulator.error_codes.400", "non-empty string");
    let ok = format!(
        "{HEAD}[emulator]\nvendor = \"ringcentral\"\nrate_limit_group = \"Heavy\"\nerror_codes = {{ 404 = \"E-404\", 4xx = \"E-4\" }}\n"
    );
    let spec = emulator_of(&ok);
    assert_eq!(spec.vendor, Some(verdict::VendorModule::RingCentral));
    assert_eq!(spec.rate_limit_group.as_deref(), Some("Heavy"));
    assert_eq!(spec.error_code(404), Some("E-404"));
    assert_eq!(spec.error_code(409), Some("E-4"));
    assert_eq!(spec.error_code(500), None);
}

#[test]
fn credential_refusals_say_each_reason_and_nothing_else() {
    let bad = format!(
        "{HEAD}[emulator.credential_refusals]\nmissing = {{ code = \"\" }}\nunknwn = {{ message = \"x\" }}\nrevoked = {{ text = \"x\" }}\n"
    );
    let refusals = "emulator.credential_refusals";
    one_problem(
        &bad,
        &format!("{refusals}.missing.code"),
        "must not be empty",
    );
    one_problem(
        &bad,
        &format!("{refusals}.unknwn"),
        "did you mean \"unknown\"",
    );
    one_problem(&bad, &format!("{refusals}.revoked.text"), "unknown key");
    let ok = format!(
        "{HEAD}[emulator.credential_refusals]\nmissing = {{ code = \"not_authed\" }}\nunknown = {{ message = \"Bad credentials\" }}\n"
    );
    let spec = emulator_of(&ok);
    let r = &spec.credential_refusals;
    assert_eq!(r.missing.code.as_deref(), Some("not_authed"));
    assert_eq!(r.missing.message, None);
    assert_eq!(r.unknown.message.as_deref(), Some("Bad credentials"));
    assert_eq!(r.revoked, verdict::emulate::Refusal::default());
    assert_eq!(r.unknown.status(), 401);
}

#[test]
fn a_credential_refusal_may_name_a_documented_4xx() {
    let refusals = "emulator.credential_refusals";
    let out_of_range =
        format!("{HEAD}[emulator.credential_refusals]\nunknown = {{ status = 200 }}\n");
    one_problem(
        &out_of_range,
        &format!("{refusals}.unknown.status"),
        "out of range",
    );
    // Checked once the inherited statuses are known, and still placed where it is written.
    let undocumented =
        format!("{HEAD}[emulator.credential_refusals]\nexpired = {{ status = 419 }}\n");
    let field = format!("{refusals}.expired.status");
    let p = problems_at(&undocumented);
    assert!(
        p.iter()
            .any(|(line, column, f, m)| (*line, *column) == (6, 22)
                && *f == field
                && m.contains("status 419 is not one the document names")),
        "{p:#?}"
    );
    let ok = format!(
        "{HEAD}[[status]]\ncode = 403\nmeaning = \"The token is not valid.\"\n\n[emulator.credential_refusals]\nunknown = {{ status = 403, message = \"The API token is not valid.\" }}\nexpired = {{ code = \"token_expired\" }}\n"
    );
    let spec = emulator_of(&ok);
    let r = &spec.credential_refusals;
    assert_eq!(r.unknown.status(), 403);
    assert_eq!(r.expired.code.as_deref(), Some("token_expired"));
    assert_eq!(r.missing.status(), 401);
}

#[test]
fn custom_events_name_each_id_once_and_what_each_parameter_holds() {
    let bad = format!(
        "{HEAD}[[emulator.event]]\nid = \"a\"\nparameters = {{ when = \"tmie\" }}\n\n[[emulator.event]]\nid = \"a\"\n\n[[emulator.event]]\nparameters = {{}}\nname = \"b\"\n"
    );
    one_problem(
        &bad,
        "emulator.event[0].parameters.when",
        "did you mean \"time\"",
    );
    one_problem(&bad, "emulator.event[1].id", "names an event already given");
    one_problem(&bad, "emulator.event[2].id", "is required");
    one_problem(&bad, "emulator.event[2].name", "unknown key");
    let ok = format!(
        "{HEAD}[[emulator.event]]\nid = \"paid\"\nparameters = {{ currency = \"currency\", amount = \"number\" }}\n"
    );
    let events = emulator_of(&ok).events;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].id, "paid");
    // In the order written, not by name.
    use verdict::EventParameter::{Currency, Number};
    assert_eq!(
        events[0].parameters,
        [
            ("currency".to_owned(), Currency),
            ("amount".to_owned(), Number)
        ]
    );
}

#[test]
fn link_relations_are_named_as_rfc_8288_names_them() {
    let links = format!("{HEAD}[emulator]\nlink_relations = [\"next\", \"previous\"]\n");
    let field = "emulator.link_relations[1]";
    one_problem(&links, field, "did you mean \"prev\"");
}

#[test]
fn the_emulator_table_and_apis_are_inherited_through_extends() {
    let c =
        load("[contract]\nid = \"mine\"\nname = \"Mine\"\nextends = \"webex-connect\"\n").unwrap();
    let mine = c.get("mine").unwrap();
    let base = c.get("webex-connect").unwrap();
    assert_eq!(mine.emulator, base.emulator);
    assert_eq!(mine.apis, base.apis);
    let webex = load("[contract]\nid = \"mine\"\nname = \"Mine\"\nextends = \"webex\"\n").unwrap();
    let spec = webex.get("mine").unwrap().emulator.clone().unwrap();
    assert_eq!(spec.vendor, Some(verdict::VendorModule::Webex));
    // A table of its own replaces the base's whole.
    let own = load(
        "[contract]\nid = \"mine\"\nname = \"Mine\"\nextends = \"webex\"\n[emulator]\nbase_path = \"/v2\"\n",
    )
    .unwrap();
    let spec = own.get("mine").unwrap().emulator.clone().unwrap();
    assert_eq!((spec.vendor, spec.base_path.as_str()), (None, "/v2"));
    assert!(spec.resources.is_empty());
}

#[test]
fn body_checks_name_a_message_of_their_api_and_say_one_clear_thing() {
    let api = "[[api]]\nid = \"send\"\nname = \"Send\"\n\n[[api.code]]\ncode = 10\nhttp_status = 400\noutcome = \"error\"\ncategory = \"validation\"\naction = \"fail\"\nmeaning = \"m\"\nmessages = [{ key = \"text-missing\", text = \"param 'text' missing\", when = \"w\" }]\n";
    let text = format!(
        "{HEAD}{api}\n[[api.check]]\npointer = \"/text\"\nis = \"text\"\nkey = \"text-mising\"\n\n[[api.check]]\npointer = \"/a\"\nany_of = [\"/b\"]\nkey = \"text-missing\"\n\n[[api.check]]\npointer = \"/n\"\nis = \"text\"\nrange = [1, 2]\nkey = \"text-missing\"\n\n[[api.check]]\nwhen = {{ header = \"x-a\" }}\npointer = \"/n\"\nis = \"numbr\"\nkey = \"text-missing\"\n"
    );
    let p = problems(&text);
    let has = |field: &str, words: &str| p.iter().any(|(_, f, m)| f == field && m.contains(words));
    assert!(
        has("api[0].check[0].key", "did you mean \"text-missing\""),
        "{p:?}"
    );
    assert!(
        has("api[0].check[1]", "one pointer or a non-empty any_of"),
        "{p:?}"
    );
    assert!(has("api[0].check[2].range", "integer"), "{p:?}");
    assert!(has("api[0].check[3].when", "pointer conditions"), "{p:?}");
    assert!(has("api[0].check[3].is", "unknown shape"), "{p:?}");

    // A valid list runs in order; the first failure names the message.
    let ok = format!(
        "{HEAD}{api}\n[[api.check]]\nwhen = [{{ pointer = \"/kind\", equals = \"sms\" }}, {{ pointer = \"/sms\" }}]\npointer = \"/sms/text\"\nis = \"text\"\nkey = \"text-missing\"\n"
    );
    let c = load(&ok).unwrap();
    let api = c.get("t").unwrap().api("send").unwrap();
    let body = |v: serde_json::Value| api.failed_check(&v).map(|c| c.key.clone());
    assert_eq!(
        body(serde_json::json!({"kind": "sms", "sms": {}})),
        Some("text-missing".into())
    );
    assert_eq!(
        body(serde_json::json!({"kind": "sms", "sms": {"text": "hi"}})),
        None
    );
    assert_eq!(body(serde_json::json!({"kind": "sms"})), None);
    assert_eq!(body(serde_json::json!({"kind": "push", "sms": {}})), None);
}

#[test]
fn explain_lists_the_body_checks_a_code_answers() {
    let c = Catalog::builtin();
    let e = c
        .explain("webex-connect", 7003u32, Some("messaging"), None)
        .unwrap();
    let checks = &e[0].checks;
    assert!(
        checks.iter().any(|l| l
            == "when the body has \"sms\" at /deliverychannel: /channels/sms is an object (else sms-missing)"),
        "{checks:?}"
    );
    // 7004's checks are its own: the ranges, not the required objects.
    let e = c
        .explain("webex-connect", 7004u32, Some("messaging"), None)
        .unwrap();
    assert!(
        e[0].checks.iter().all(|l| l.contains("integer")) && e[0].checks.len() == 2,
        "{:?}",
        e[0].checks
    );
}

#[test]
fn linked_apps_name_channels_and_messages_the_apis_have() {
    let api = "[[api]]\nid = \"send\"\nname = \"Send\"\nsummary = \"Sends.\"\n\n[[api.enum]]\nfield = \"/channel\"\nvalues = [\"sms\", \"push\"]\n\n[[api.code]]\ncode = 7\nhttp_status = 200\noutcome = \"error\"\ncategory = \"validation\"\naction = \"fail\"\nmeaning = \"A token is missing.\"\nmessages = [{ key = \"token-missing\", text = \"token missing\", when = \"a profile lacks its token\" }]\n\n";
    let bad = format!(
        "{HEAD}{api}[[emulator.app]]\nid = \"a\"\nchannels = [\"psuh\"]\ncreate = [{{ attribute = \"token\", missing = \"tokn-missing\" }}]\n\n[[emulator.app]]\nid = \"a\"\n\n[[emulator.app]]\nid = \"b\"\nupdate = [{{ attribute = \"token\" }}]\nmore = []\n"
    );
    one_problem(&bad, "emulator.app[0].channels[0]", "did you mean \"push\"");
    // Checked once the APIs are known, and placed where the key is written (line 26).
    let p = problems_at(&bad);
    assert!(
        p.iter().any(|(line, _, f, m)| *line == 26
            && f == "emulator.app[0].create[0].missing"
            && m.contains("no API of the contract has a message with key \"tokn-missing\"")),
        "{p:#?}"
    );
    one_problem(&bad, "emulator.app[1].id", "names an app already given");
    one_problem(&bad, "emulator.app[2].update[0].missing", "is required");
    one_problem(&bad, "emulator.app[2].more", "unknown key");

    let ok = format!(
        "{HEAD}{api}[emulator.transactions]\nrequests = 5\nwindow_s = 60\n\n[[emulator.app]]\nid = \"a\"\nchannels = [\"push\"]\ncreate = [{{ attribute = \"token\", missing = \"token-missing\" }}]\nattributes = [\"os\"]\n"
    );
    let spec = emulator_of(&ok);
    let app = &spec.apps[0];
    assert!(app.sends_on("push") && !app.sends_on("sms"));
    assert_eq!(
        (
            app.create[0].attribute.as_str(),
            app.create[0].missing.as_str()
        ),
        ("token", "token-missing")
    );
    assert!(app.update.is_empty());
    assert_eq!(app.attributes, ["os"]);
    let quota = spec.transactions.expect("a transaction quota");
    assert_eq!((quota.requests, quota.window_s), (5, 60));
}

#[test]
fn a_transaction_quota_takes_a_size_and_a_window_only() {
    let t = format!("{HEAD}[emulator.transactions]\nrequests = 0\nwindow_s = 60\nstatus = 429\n");
    one_problem(&t, "emulator.transactions.requests", "out of range");
    one_problem(&t, "emulator.transactions.status", "unknown key");
    let half = format!("{HEAD}[emulator.transactions]\nrequests = 10\n");
    one_problem(
        &half,
        "emulator.transactions",
        "a quota needs requests and window_s",
    );
}

#[test]
fn a_cursor_refusal_says_the_vendors_code_and_a_documented_status() {
    let bad =
        format!("{HEAD}[emulator]\ncursor_refusal = {{ status = 419, code = \"\", why = 1 }}\n");
    one_problem(&bad, "emulator.cursor_refusal.code", "must not be empty");
    one_problem(&bad, "emulator.cursor_refusal.why", "unknown key");
    let undocumented = format!("{HEAD}[emulator]\ncursor_refusal = {{ status = 419 }}\n");
    one_problem(
        &undocumented,
        "emulator.cursor_refusal.status",
        "status 419 is not one the document names",
    );
    let ok = format!("{HEAD}[emulator]\ncursor_refusal = {{ code = \"invalid_cursor\" }}\n");
    let r = emulator_of(&ok).cursor_refusal;
    assert_eq!(
        (r.status_or(400), r.code.as_deref()),
        (400, Some("invalid_cursor"))
    );
}

#[test]
fn a_quota_refusal_must_be_one_a_client_waits_out() {
    let refusal = "[[status]]\ncode = 403\nmeaning = \"The token may not do this.\"\ncategory = \"authorization\"\naction = \"fail\"\n\n";
    let quota = "[[emulator.quota]]\nrequests = 10\nwindow_s = 60\nstatus = 403\n";
    let bad = format!("{HEAD}{refusal}{quota}");
    one_problem(
        &bad,
        "emulator.quota[0].status",
        "a client would not wait out this refusal (403 with Retry-After)",
    );
    // Whispir's way: the 403 that carries Retry-After is the quota's.
    let variant = "[[status.variant]]\nwhen = { header = \"Retry-After\" }\nmeaning = \"Over the quota.\"\ncategory = \"rate-limit\"\naction = \"retry-after\"\n\n";
    let spec = emulator_of(&format!("{HEAD}{refusal}{variant}{quota}"));
    assert_eq!(spec.quotas[0].status, 403);
    // The baseline's 429 is a rate limit.
    emulator_of(&format!("{HEAD}{}", quota.replace("403", "429")));
}
