//! Conditions answered with the status the vendor's document names for them (an `Accept`
//! that cannot be met, a missing or wrong `Content-Type`), as each contract's `[emulator]`
//! says, and both validators of RFC 9110 §13 on every resource of every contract.

use std::time::{Duration, SystemTime};

use crate::support::{Running, start, start_with};
use reqwest::RequestBuilder;
use serde_json::{Value, json};
use verdict::Origin;
use verdict_server::Config;

fn tls_config() -> Config {
    Config {
        token: "t0".into(),
        accept_delay: Some(Duration::ZERO),
        ..Config::default()
    }
}

/// An emulator of `contract` (Whispir over TLS) and a function that adds its credentials.
async fn emulator(contract: &str) -> (Running, fn(RequestBuilder) -> RequestBuilder) {
    match contract {
        "whispir" => (
            start_with("whispir", tls_config(), true, Default::default()).await,
            |r| r.bearer_auth("t0").header("x-api-key", "t0"),
        ),
        other => (start(other).await, |r| r.bearer_auth("t0")),
    }
}

#[tokio::test]
async fn unmet_accept_and_media_types_get_the_status_the_document_names() {
    // contract, collection, Accept unmet, no Content-Type, wrong Content-Type, origin of
    // the Accept answer.
    let cases = [
        ("webex", "/v1/rooms", 404, 415, 415, Origin::Seed),
        ("whispir", "/contacts", 415, 415, 415, Origin::Seed),
        ("token-api", "/v1/items", 406, 400, 400, Origin::Inferred),
        (
            "ringcentral",
            "/restapi/v1.0/account/~/extension",
            406,
            415,
            415,
            Origin::Seed,
        ),
    ];
    for (id, path, accept, missing, wrong, origin) in cases {
        let contract = verdict::Catalog::builtin().get(id).unwrap();
        let spec = contract.emulator.as_ref().unwrap();
        assert_eq!(spec.accept_unmet.status, accept, "{id}");
        assert_eq!(spec.accept_unmet.origin, origin, "{id}");
        let (s, auth) = emulator(id).await;
        let r = auth(s.http.get(s.url(path)))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), accept, "{id}: Accept: text/html");
        let r = auth(s.http.post(s.url(path)))
            .body("{\"name\":\"x\"}")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), missing, "{id}: no Content-Type");
        let r = auth(s.http.post(s.url(path)))
            .header("content-type", "text/plain")
            .body("{\"name\":\"x\"}")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), wrong, "{id}: Content-Type: text/plain");
        // A choice said to come from the document names a status the document has.
        for answer in [
            spec.accept_unmet,
            spec.content_type_missing,
            spec.content_type_wrong,
        ] {
            if answer.origin == Origin::Seed {
                let documented = contract
                    .documented_statuses()
                    .any(|s| s.code == answer.status);
                assert!(documented, "{id}: {} is not in the document", answer.status);
            }
        }
    }
}

#[test]
fn a_seed_answer_the_document_does_not_have_is_refused() {
    let text = |answer: &str| {
        format!(
            "[contract]\nid = \"mine\"\nname = \"Mine\"\nextends = \"http\"\nsummary = \"s\"\n\n\
             [[status]]\ncode = 404\n\n[emulator]\nbase_path = \"/v1\"\n{answer}\n"
        )
    };
    let load = |answer: &str| {
        verdict::Catalog::builtin()
            .with_files([verdict::SourceFile::new("mine.toml", text(answer))])
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    assert!(load("accept_unmet = { status = 404 }").is_ok());
    assert!(load("accept_unmet = { status = 406, origin = \"inferred\" }").is_ok());
    let e = load("accept_unmet = { status = 406 }").unwrap_err();
    assert!(e.contains("emulator.accept_unmet.status"), "{e}");
    assert!(e.contains("origin = \"inferred\""), "{e}");
    let e = load("content_type_wrong = { status = 200 }").unwrap_err();
    assert!(e.contains("content_type_wrong"), "{e}");
}

/// One resource of a contract and a body that creates an item in it.
struct Resource {
    contract: &'static str,
    path: &'static str,
    media_type: &'static str,
    body: Value,
}

fn resources() -> Vec<Resource> {
    let r = |contract, path, media_type, body| Resource {
        contract,
        path,
        media_type,
        body,
    };
    let json = "application/json";
    vec![
        r("webex", "/v1/rooms", json, json!({"title": "t"})),
        r("webex", "/v1/teams", json, json!({"name": "t"})),
        r("token-api", "/v1/items", json, json!({"name": "t"})),
        r("token-api", "/v1/projects", json, json!({"name": "t"})),
        r(
            "ringcentral",
            "/restapi/v1.0/account/~/extension",
            json,
            json!({"extensionNumber": "301"}),
        ),
        r(
            "ringcentral",
            "/restapi/v1.0/account/~/extension/~/address-book/contact",
            json,
            json!({"firstName": "Ada"}),
        ),
        r(
            "whispir",
            "/contacts",
            "application/vnd.whispir.contact-v1+json",
            json!({"firstName": "A", "lastName": "B", "workEmailAddress1": "a@example.com"}),
        ),
        r(
            "whispir",
            "/messages",
            "application/vnd.whispir.message-v1+json",
            json!({"to": "+15550100", "subject": "s"}),
        ),
    ]
}

#[tokio::test]
async fn if_modified_since_and_last_modified_on_every_resource() {
    // Webex memberships and messages need a room; they are covered by the same code path.
    for res in resources() {
        let (s, auth) = emulator(res.contract).await;
        let what = format!("{} {}", res.contract, res.path);
        let created = auth(s.http.post(s.url(res.path)))
            .header("content-type", res.media_type)
            .body(res.body.to_string())
            .send()
            .await
            .unwrap();
        assert!(
            created.status().is_success(),
            "{what}: {}",
            created.status()
        );
        let id = created.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let url = s.url(&format!("{}/{id}", res.path));
        let get = |extra: &[(&str, String)]| {
            let mut r = auth(s.http.get(&url));
            for (k, v) in extra {
                r = r.header(*k, v);
            }
            r.send()
        };
        let first = get(&[]).await.unwrap();
        assert_eq!(first.status(), 200, "{what}");
        let etag = first.headers()["etag"].to_str().unwrap().to_owned();
        let lm = first
            .headers()
            .get("last-modified")
            .unwrap_or_else(|| panic!("{what}: no Last-Modified"))
            .to_str()
            .unwrap()
            .to_owned();
        let when = httpdate::parse_http_date(&lm).unwrap();
        assert!(when <= SystemTime::now(), "{what}: {lm}");
        let earlier = httpdate::fmt_http_date(when - Duration::from_secs(86_400));
        let ims = "if-modified-since";
        // Unchanged since the date it gave: 304 with both validators and no body.
        let r = get(&[(ims, lm.clone())]).await.unwrap();
        assert_eq!(r.status(), 304, "{what}");
        assert_eq!(r.headers()["etag"], etag.as_str(), "{what}");
        assert_eq!(r.headers()["last-modified"], lm.as_str(), "{what}");
        assert!(r.bytes().await.unwrap().is_empty());
        // Changed since a day before: 200.
        assert_eq!(get(&[(ims, earlier.clone())]).await.unwrap().status(), 200);
        // Not a date: ignored.
        let r = get(&[(ims, "yesterday".into())]).await.unwrap();
        assert_eq!(r.status(), 200, "{what}");
        // If-None-Match decides when both are sent, either way.
        let r = get(&[(ims, lm.clone()), ("if-none-match", "\"other\"".into())]).await;
        assert_eq!(r.unwrap().status(), 200, "{what}");
        let r = get(&[(ims, earlier), ("if-none-match", etag.clone())]).await;
        assert_eq!(r.unwrap().status(), 304, "{what}");
    }
}
