//! `verdict serve ringcentral`: OAuth, expiring tokens and refresh, batches, ranges, and
//! every documented status.

use std::time::Duration;

use crate::support::{Running, start, walk};
use reqwest::{Method, Response};
use serde_json::{Value, json};
use verdict::multipart::{Batch, Limits, parse};

const BASIC: &str = "Basic dmVyZGljdC1jbGllbnQtaWQ6dmVyZGljdC1jbGllbnQtc2VjcmV0"; // verdict-client-id:verdict-client-secret

async fn token(s: &Running, form: &str) -> Response {
    s.http
        .post(s.url("/restapi/oauth/token"))
        .header("authorization", BASIC)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_owned())
        .send()
        .await
        .unwrap()
}

async fn login(s: &Running, extra: &str) -> Value {
    let r = token(
        s,
        &format!("grant_type=password&username=%2B16505550100&password=verdict-password{extra}"),
    )
    .await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

#[tokio::test]
async fn grants_issue_tokens_with_every_field() {
    let s = start("ringcentral").await;
    let t = login(&s, "").await;
    for k in [
        "access_token",
        "token_type",
        "expires_in",
        "refresh_token",
        "refresh_token_expires_in",
        "scope",
        "owner_id",
    ] {
        assert!(t.get(k).is_some(), "{k} in {t}");
    }
    // Odd but legal inputs real SDKs send.
    assert_eq!(login(&s, "&access_token_ttl=-1").await["expires_in"], 3600);
    let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl";
    assert_eq!(
        token(
            &s,
            &format!(
                "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={jwt}"
            )
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        token(
            &s,
            "grant_type=authorization_code&code=abc&redirect_uri=http%3A%2F%2Flocalhost"
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        token(
            &s,
            "grant_type=password&username=%2B16505550100&password=nope"
        )
        .await
        .status(),
        400
    );
    assert_eq!(token(&s, "grant_type=magic").await.status(), 400);
    let bad_client = s
        .http
        .post(s.url("/restapi/oauth/token"))
        .basic_auth("someone", Some("x"))
        .body("grant_type=password")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_client.status(), 401);
    assert_eq!(
        bad_client.json::<Value>().await.unwrap()["error"],
        "invalid_client"
    );
}

#[tokio::test]
async fn access_tokens_expire_and_refresh_once() {
    let s = start("ringcentral").await;
    let t = login(&s, "&access_token_ttl=1").await;
    let access = t["access_token"].as_str().unwrap().to_owned();
    let me = || {
        s.http
            .get(s.url("/restapi/v1.0/account/~/extension/~"))
            .bearer_auth(&access)
            .send()
    };
    assert_eq!(me().await.unwrap().status(), 200);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let expired = me().await.unwrap();
    assert_eq!(expired.status(), 401);
    assert_eq!(
        expired.json::<Value>().await.unwrap()["message"],
        "Access token expired"
    );
    let refresh = t["refresh_token"].as_str().unwrap();
    let fresh = token(
        &s,
        &format!("grant_type=refresh_token&refresh_token={refresh}"),
    )
    .await;
    assert_eq!(fresh.status(), 200);
    let fresh: Value = fresh.json().await.unwrap();
    let r = s
        .http
        .get(s.url("/restapi/v1.0/account/~"))
        .bearer_auth(fresh["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        token(
            &s,
            &format!("grant_type=refresh_token&refresh_token={refresh}")
        )
        .await
        .status(),
        400,
        "a refresh token works once"
    );
    let revoke = s
        .http
        .post(s.url("/restapi/oauth/revoke"))
        .header("authorization", BASIC)
        .body(format!("token={}", fresh["access_token"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), 200);
    let r = s
        .http
        .get(s.url("/restapi/v1.0/account/~"))
        .bearer_auth(fresh["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn a_batch_read_is_a_207_with_one_part_per_id() {
    let s = start("ringcentral").await;
    let mut ids = Vec::new();
    for n in ["101", "102"] {
        let r = s
            .http
            .post(s.url("/restapi/v1.0/account/~/extension"))
            .bearer_auth("t0")
            .json(&json!({"extensionNumber": n, "name": format!("ext {n}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        ids.push(
            r.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let url = s.url(&format!(
        "/restapi/v1.0/account/~/extension/{},{},999",
        ids[0], ids[1]
    ));
    let r = s.http.get(url).bearer_auth("t0").send().await.unwrap();
    assert_eq!(r.status(), 207);
    let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(
        ct.starts_with("multipart/mixed; boundary=") && !ct.contains('"'),
        "unquoted boundary: {ct}"
    );
    let body = r.bytes().await.unwrap();
    assert!(body.windows(2).any(|w| w == b"\r\n"));
    let batch = Batch::from_parts(parse(&ct, &body, &Limits::default()).unwrap()).unwrap();
    let statuses: Vec<u16> = batch.iter().map(|(s, _)| s.as_u16()).collect();
    assert_eq!(statuses, [200, 200, 404]);
    assert_eq!(batch.parts[1].json().unwrap()["extensionNumber"], "102");
    assert_eq!(batch.parts[2].json().unwrap()["errorCode"], "CMN-102");
}

#[tokio::test]
async fn the_verdict_client_splits_the_emulators_batch() {
    let s = start("ringcentral").await;
    let r = s
        .http
        .post(s.url("/restapi/v1.0/account/~/extension"))
        .bearer_auth("t0")
        .json(&json!({"extensionNumber": "201"}))
        .send()
        .await
        .unwrap();
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let contract = verdict::Catalog::builtin()
        .get("ringcentral")
        .unwrap()
        .clone();
    let client =
        verdict_client::client(verdict_client::Verdict::builder(contract).build()).unwrap();
    let r = client
        .get(s.url(&format!("/restapi/v1.0/account/~/extension/{id},404404")))
        .bearer_auth("t0")
        .send()
        .await
        .unwrap();
    let batch = verdict_client::batch(r, &Limits::default()).await.unwrap();
    assert_eq!(
        batch
            .statuses
            .iter()
            .map(|s| s.as_u16())
            .collect::<Vec<_>>(),
        [200, 404]
    );
    // And a DELETE of a missing extension is done for the client, as the document says.
    let r = client
        .delete(s.url("/restapi/v1.0/account/~/extension/404404"))
        .bearer_auth("t0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn recordings_honour_range() {
    let s = start("ringcentral").await;
    let url = s.url("/restapi/v1.0/account/~/recording/1/content");
    let full = s.http.get(&url).bearer_auth("t0").send().await.unwrap();
    assert_eq!(full.status(), 200);
    let full = full.bytes().await.unwrap();
    let part = s
        .http
        .get(&url)
        .bearer_auth("t0")
        .header("range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 10-19/{}", full.len())
    );
    assert_eq!(part.bytes().await.unwrap(), full.slice(10..20));
    let bad = s
        .http
        .get(&url)
        .bearer_auth("t0")
        .header("range", "bytes=99999-")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 416);
}

async fn condition(s: &Running, code: u16) -> Option<Response> {
    let ext = || {
        s.http
            .post(s.url("/restapi/v1.0/account/~/extension"))
            .bearer_auth("t0")
    };
    Some(match code {
        200 => s
            .http
            .get(s.url("/restapi/v1.0/account/~"))
            .bearer_auth("t0")
            .send()
            .await
            .unwrap(),
        204 => {
            let id = ext()
                .json(&json!({"extensionNumber": "7204"}))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned();
            s.http
                .delete(s.url(&format!("/restapi/v1.0/account/~/extension/{id}")))
                .bearer_auth("t0")
                .send()
                .await
                .unwrap()
        }
        206 => s
            .http
            .get(s.url("/restapi/v1.0/account/~/recording/2/content"))
            .bearer_auth("t0")
            .header("range", "bytes=0-9")
            .send()
            .await
            .unwrap(),
        207 => s
            .http
            .get(s.url("/restapi/v1.0/account/~/extension/1,2"))
            .bearer_auth("t0")
            .send()
            .await
            .unwrap(),
        301 | 302 | 303 | 307 | 308 => {
            s.admin(
                Method::POST,
                "/_verdict/moves",
                json!({"from": "/restapi/v1.0/old", "to": "/restapi/v1.0/new", "status": code}),
            )
            .await;
            s.http
                .get(s.url("/restapi/v1.0/old"))
                .bearer_auth("t0")
                .send()
                .await
                .unwrap()
        }
        304 => {
            let r = ext()
                .json(&json!({"extensionNumber": "7304"}))
                .send()
                .await
                .unwrap();
            let etag = r.headers()["etag"].to_str().unwrap().to_owned();
            let id = r.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned();
            s.http
                .get(s.url(&format!("/restapi/v1.0/account/~/extension/{id}")))
                .bearer_auth("t0")
                .header("if-none-match", etag)
                .send()
                .await
                .unwrap()
        }
        400 => ext()
            .header("content-type", "application/json")
            .body("{")
            .send()
            .await
            .unwrap(),
        401 => s
            .http
            .get(s.url("/restapi/v1.0/account/~"))
            .send()
            .await
            .unwrap(),
        403 => {
            s.admin(
                Method::POST,
                "/_verdict/tokens",
                json!({"token": "reader", "read_only": true}),
            )
            .await;
            s.http
                .post(s.url("/restapi/v1.0/account/~/extension"))
                .bearer_auth("reader")
                .json(&json!({"extensionNumber": "1"}))
                .send()
                .await
                .unwrap()
        }
        404 => s
            .http
            .get(s.url("/restapi/v1.0/account/~/extension/424242"))
            .bearer_auth("t0")
            .send()
            .await
            .unwrap(),
        405 => s
            .http
            .patch(s.url("/restapi/v1.0/account/~/extension"))
            .bearer_auth("t0")
            .send()
            .await
            .unwrap(),
        406 => s
            .http
            .get(s.url("/restapi/v1.0/account/~/extension"))
            .bearer_auth("t0")
            .header("accept", "application/xml")
            .send()
            .await
            .unwrap(),
        409 => {
            ext()
                .json(&json!({"extensionNumber": "7409"}))
                .send()
                .await
                .unwrap();
            ext()
                .json(&json!({"extensionNumber": "7409"}))
                .send()
                .await
                .unwrap()
        }
        415 => ext()
            .header("content-type", "text/plain")
            .body("x")
            .send()
            .await
            .unwrap(),
        429 => {
            let r = s
                .over_quota(async || s.get_as("/restapi/v1.0/account/~", "t0").await)
                .await;
            for h in [
                "retry-after",
                "x-rate-limit-group",
                "x-rate-limit-limit",
                "x-rate-limit-remaining",
                "x-rate-limit-window",
            ] {
                assert!(r.headers().contains_key(h), "{h}");
            }
            r
        }
        503 => {
            s.in_maintenance(1, async || s.get_as("/restapi/v1.0/account/~", "t0").await)
                .await
        }
        _ => return None,
    })
}

#[tokio::test]
async fn every_documented_ringcentral_status() {
    let s = start("ringcentral").await;
    let real = walk(
        &s,
        "ringcentral",
        "/restapi/v1.0/account/~",
        &[("authorization", "Bearer t0")],
        async |code| condition(&s, code).await,
    )
    .await;
    assert!(real >= 20, "{real}");
}
