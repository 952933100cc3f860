//! `[idempotency]`: what a repeated idempotency key gets. The `http` baseline gives the
//! draft's answers (422 for a key reused with another payload, 409 for a key still in
//! flight); a contract may change them, and the loader checks what it writes.

use verdict::{Catalog, Origin};

use crate::support::{HEAD, load, problems};

#[test]
fn the_baseline_gives_the_drafts_answers_and_every_contract_inherits_them() {
    for c in Catalog::builtin().contracts() {
        let i = &c.idempotency;
        assert_eq!(
            (i.reused.status, i.in_flight.status),
            (422, 409),
            "{}",
            c.id
        );
        assert_eq!(
            (i.reused.origin, i.in_flight.origin),
            (Origin::Rfc, Origin::Rfc)
        );
        assert_eq!(i.methods, [http::Method::POST, http::Method::PATCH]);
        assert!(!i.reused.message.is_empty() && !i.in_flight.message.is_empty());
        assert_eq!(
            c.retry.idempotency_header.as_ref().map(|h| h.as_str()),
            Some("Idempotency-Key")
        );
    }
}

#[test]
fn a_vendor_status_is_the_vendors_rule_and_keeps_the_inherited_message() {
    let text = format!("{HEAD}[idempotency]\nreused = {{ status = 409 }}\nmethods = [\"POST\"]\n");
    let c = load(&text).unwrap();
    let t = c.get("t").unwrap();
    let http = c.get("http").unwrap();
    assert_eq!(t.idempotency.reused.status, 409);
    assert_eq!(t.idempotency.reused.origin, Origin::Seed);
    assert_eq!(
        t.idempotency.reused.message,
        http.idempotency.reused.message
    );
    assert_eq!(t.idempotency.in_flight, http.idempotency.in_flight);
    assert_eq!(t.idempotency.methods, [http::Method::POST]);
    assert!(!t.idempotency.applies_to(&http::Method::PATCH));

    let text = format!(
        "{HEAD}[idempotency.in_flight]\nstatus = 425\norigin = \"inferred\"\nmessage = \"Still busy.\"\n"
    );
    let c = load(&text).unwrap();
    let a = &c.get("t").unwrap().idempotency.in_flight;
    assert_eq!(
        (a.status, a.origin, a.message.as_str()),
        (425, Origin::Inferred, "Still busy.")
    );
}

#[test]
fn wrong_values_are_reported_with_line_field_and_close_matches() {
    let text = format!(
        "{HEAD}[idempotency]\nmethods = [\"post\"]\nreused = {{ status = 200, message = \"\" }}\nin_flight = {{ status = 409, origin = \"rcf\" }}\nreplay = true\n"
    );
    let p = problems(&text);
    let find = |field: &str| {
        p.iter()
            .find(|x| x.1 == field)
            .unwrap_or_else(|| panic!("no problem for {field}: {p:#?}"))
    };
    assert_eq!(find("idempotency.methods[0]").0, 6);
    assert!(
        find("idempotency.reused.status")
            .2
            .contains("out of range (400 to 499)")
    );
    assert!(
        find("idempotency.reused.message")
            .2
            .contains("must not be empty")
    );
    let origin = find("idempotency.in_flight.origin");
    assert_eq!(origin.0, 8);
    assert!(origin.2.contains("did you mean \"rfc\""), "{}", origin.2);
    assert!(
        find("idempotency.replay").2.contains("known keys")
            || find("idempotency.replay").2.contains("did you mean")
    );
}

#[test]
fn a_status_the_contract_does_not_know_is_refused() {
    let text = format!("{HEAD}[idempotency]\nreused = {{ status = 499 }}\n");
    let p = problems(&text);
    assert_eq!(p.len(), 1, "{p:#?}");
    assert_eq!((p[0].0, p[0].1.as_str()), (6, "idempotency.reused.status"));
    assert!(
        p[0].2.contains("499 is not one of the contract's statuses"),
        "{}",
        p[0].2
    );
}

#[test]
fn expiry_and_the_emulators_bound() {
    let http = Catalog::builtin();
    let token_api = http.get("token-api").unwrap();
    assert_eq!(token_api.idempotency.expires.as_secs(), 86_400);
    assert_eq!(
        token_api.emulator.as_ref().unwrap().idempotency_limit,
        10_000
    );

    let text =
        format!("{HEAD}[idempotency]\nexpires_s = 3600\n[emulator]\nidempotency_limit = 50\n");
    let c = load(&text).unwrap();
    let t = c.get("t").unwrap();
    assert_eq!(t.idempotency.expires.as_secs(), 3600);
    assert_eq!(t.emulator.as_ref().unwrap().idempotency_limit, 50);

    let text = format!("{HEAD}[idempotency]\nexpires_s = 0\n[emulator]\nidempotency_limit = 0\n");
    let p = problems(&text);
    assert_eq!(p.len(), 2, "{p:#?}");
    assert_eq!(p[0].1, "idempotency.expires_s");
    assert_eq!(p[1].1, "emulator.idempotency_limit");
}
