//! `[error_body] format = "problem"`: a contract whose errors are problem details
//! (RFC 9457). The loader fills in the standard layout and refuses pointers that clash with
//! it, each problem with its line, column and field.

use verdict::{Catalog, ErrorFormat};

use crate::support::{HEAD, load, problems_at as problems};

#[test]
fn a_problem_contract_gets_the_standard_layout() {
    let text = format!(
        "{HEAD}[headers]\ntracking_id = \"X-Trace\"\n\n[error_body]\nformat = \"problem\"\ntype_base = \"https://api.example.com/problems/\"\ncode = \"/code\"\n"
    );
    let c = load(&text).unwrap();
    let body = &c.get("t").unwrap().error_body;
    assert_eq!(body.format, ErrorFormat::Problem);
    assert!(body.is_problem());
    assert_eq!(
        body.type_base.as_deref(),
        Some("https://api.example.com/problems/")
    );
    // The message is the detail; field errors and the tracking id are extension members.
    assert_eq!(body.message.as_ref().unwrap().as_str(), "/detail");
    assert_eq!(body.fields.as_ref().unwrap().as_str(), "/errors");
    assert_eq!(body.tracking_id.as_ref().unwrap().as_str(), "/trackingId");
    assert_eq!(body.code.as_ref().unwrap().as_str(), "/code");
}

#[test]
fn without_a_tracking_header_a_problem_has_no_tracking_member() {
    let text = format!("{HEAD}[error_body]\nformat = \"problem\"\n");
    let c = load(&text).unwrap();
    let body = &c.get("t").unwrap().error_body;
    assert!(body.tracking_id.is_none());
    assert!(body.type_base.is_none());
    // An explicit detail pointer is accepted as well.
    let text = format!("{HEAD}[error_body]\nformat = \"problem\"\nmessage = \"/detail\"\n");
    assert!(load(&text).is_ok());
}

#[test]
fn json_stays_the_default_and_the_builtins_are_unchanged() {
    for c in Catalog::builtin().contracts() {
        assert_eq!(c.error_body.format, ErrorFormat::Json, "{}", c.id);
        assert!(c.error_body.type_base.is_none());
    }
}

#[test]
fn an_unknown_format_is_refused_with_a_close_match() {
    let text = format!("{HEAD}[error_body]\nformat = \"problme\"\n");
    let p = problems(&text);
    assert_eq!(p.len(), 1, "{p:#?}");
    assert_eq!((p[0].0, p[0].1), (6, 10));
    assert_eq!(p[0].2, "error_body.format");
    assert!(
        p[0].3.contains("unknown error body format \"problme\""),
        "{}",
        p[0].3
    );
    assert!(p[0].3.contains("did you mean \"problem\""), "{}", p[0].3);
    // A misspelt key gets its close match too.
    let text = format!("{HEAD}[error_body]\nformat = \"problem\"\ntype_bse = \"https://x/\"\n");
    let p = problems(&text);
    assert!(p[0].3.contains("did you mean \"type_base\""), "{p:#?}");
}

#[test]
fn pointers_that_clash_with_the_standard_members_are_refused() {
    let text = format!(
        "{HEAD}[error_body]\nformat = \"problem\"\nmessage = \"/message\"\ncode = \"/type\"\nfields = \"/status/x\"\ntracking_id = \"\"\n"
    );
    let p = problems(&text);
    assert_eq!(p.len(), 4, "{p:#?}");
    assert_eq!((p[0].0, p[0].2.as_str()), (7, "error_body.message"));
    assert!(p[0].3.contains("/detail"), "{}", p[0].3);
    assert_eq!((p[1].0, p[1].2.as_str()), (8, "error_body.code"));
    assert!(p[1].3.contains("standard member \"type\""), "{}", p[1].3);
    assert_eq!((p[2].0, p[2].2.as_str()), (9, "error_body.fields"));
    assert!(p[2].3.contains("standard member \"status\""), "{}", p[2].3);
    assert_eq!((p[3].0, p[3].2.as_str()), (10, "error_body.tracking_id"));
    assert!(p[3].3.contains("the whole body"), "{}", p[3].3);
}

#[test]
fn type_base_needs_the_problem_format_and_an_absolute_uri() {
    let text = format!("{HEAD}[error_body]\ntype_base = \"https://x.example/p/\"\n");
    let p = problems(&text);
    assert_eq!(p[0].2, "error_body.type_base");
    assert!(p[0].3.contains("only format = \"problem\""), "{}", p[0].3);
    let text = format!("{HEAD}[error_body]\nformat = \"problem\"\ntype_base = \"problems/\"\n");
    let p = problems(&text);
    assert_eq!((p[0].0, p[0].2.as_str()), (7, "error_body.type_base"));
    assert!(p[0].3.contains("not an absolute URI"), "{}", p[0].3);
}

#[test]
fn an_api_may_have_its_own_problem_layout() {
    let text = format!(
        "{HEAD}[headers]\ntracking_id = \"X-Trace\"\n[[api]]\nid = \"a\"\nname = \"A\"\n[api.error_body]\nformat = \"problem\"\n"
    );
    let c = load(&text).unwrap();
    let t = c.get("t").unwrap();
    assert!(!t.error_body.is_problem());
    let body = t.error_body_for(Some("a"));
    assert!(body.is_problem());
    assert_eq!(body.tracking_id.as_ref().unwrap().as_str(), "/trackingId");
}
