//! The GitHub example contract served on 127.0.0.1: issues numbered per repository under
//! their repository, labels addressed by name, page-numbered lists with `Link` and a
//! capped `per_page`, 422 for what GitHub calls "Validation Failed", `Bearer` and `token`
//! credentials, and `x-ratelimit-*` headers naming each route's quota group.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Running, contract_from, start_contract};

pub(crate) const GITHUB: &str = include_str!("../../../../examples/contracts/github.toml");

async fn github() -> Running {
    start_contract(contract_from("github.toml", GITHUB)).await
}

/// A request with `Authorization: token t0` (GitHub's older word) and a JSON body.
async fn call(s: &Running, method: Method, path: &str, body: Option<Value>) -> reqwest::Response {
    let mut r = s
        .http
        .request(method, s.url(path))
        .header("authorization", "token t0");
    if let Some(b) = body {
        r = r.json(&b);
    }
    r.send().await.unwrap()
}

async fn json_of(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn new_issue(s: &Running, repo: &str, title: &str) -> Value {
    let path = format!("/repos/{repo}/issues");
    let (status, body) =
        json_of(call(s, Method::POST, &path, Some(json!({"title": title}))).await).await;
    assert_eq!(status, 201, "{body}");
    body
}

#[tokio::test]
async fn issues_are_numbered_per_repository_and_live_under_it() {
    let s = github().await;
    let a1 = new_issue(&s, "octo/hello", "one").await;
    let a2 = new_issue(&s, "octo/hello", "two").await;
    let b1 = new_issue(&s, "octo/other", "elsewhere").await;
    assert_eq!(
        (
            a1["number"].clone(),
            a2["number"].clone(),
            b1["number"].clone()
        ),
        (json!(1), json!(2), json!(1))
    );
    // Numeric ids, unique across repositories.
    let ids: Vec<u64> = [&a1, &a2, &b1]
        .iter()
        .map(|i| i["id"].as_u64().unwrap())
        .collect();
    assert!(ids[0] < ids[1] && ids[1] < ids[2], "{ids:?}");
    assert_eq!(a1["state"], "open");
    let created = call(
        &s,
        Method::POST,
        "/repos/octo/hello/issues",
        Some(json!({"title": "three"})),
    )
    .await;
    assert_eq!(
        created.headers()["location"].to_str().unwrap(),
        s.url("/repos/octo/hello/issues/3")
    );
    let (_, hello) = json_of(call(&s, Method::GET, "/repos/octo/hello/issues", None).await).await;
    let titles: Vec<&str> = hello
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["one", "two", "three"]);
    let (_, other) = json_of(call(&s, Method::GET, "/repos/octo/other/issues", None).await).await;
    assert_eq!(other.as_array().unwrap().len(), 1);
    let (status, two) =
        json_of(call(&s, Method::GET, "/repos/octo/hello/issues/2", None).await).await;
    assert_eq!((status, two["title"].as_str()), (200, Some("two")));
    let (status, missing) =
        json_of(call(&s, Method::GET, "/repos/octo/other/issues/2", None).await).await;
    assert_eq!(
        (status, &missing["message"]),
        (404, &json!("Not Found")),
        "issue 2 of octo/hello is not one of octo/other: {missing}"
    );
    // A fault's own words beat the status's.
    let injected = s
        .http
        .get(s.url("/repos/octo/hello/issues"))
        .header("authorization", "token t0")
        .header("x-verdict-fault", "status=404; message=moved away")
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(injected).await;
    assert_eq!((status, &body["message"]), (404, &json!("moved away")));
    let (status, closed) = json_of(
        call(
            &s,
            Method::PATCH,
            "/repos/octo/hello/issues/2",
            Some(json!({"state": "closed", "number": 9})),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, closed["state"].as_str(), closed["number"].clone()),
        (200, Some("closed"), json!(2))
    );
    let (_, open) =
        json_of(call(&s, Method::GET, "/repos/octo/hello/issues?state=open", None).await).await;
    assert_eq!(open.as_array().unwrap().len(), 2);
    let (status, _) =
        json_of(call(&s, Method::DELETE, "/repos/octo/hello/issues/1", None).await).await;
    assert_eq!(status, 405, "issues are closed, not deleted");
}

#[tokio::test]
async fn labels_are_addressed_by_name_and_unique_per_repository() {
    let s = github().await;
    let bug = json!({"name": "bug", "color": "d73a4a"});
    let (status, _) = json_of(
        call(
            &s,
            Method::POST,
            "/repos/octo/hello/labels",
            Some(bug.clone()),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201);
    let (status, again) = json_of(
        call(
            &s,
            Method::POST,
            "/repos/octo/hello/labels",
            Some(bug.clone()),
        )
        .await,
    )
    .await;
    assert_eq!(
        status, 422,
        "a duplicate label is Validation Failed: {again}"
    );
    assert_eq!(again["message"], "Validation Failed", "{again}");
    assert_eq!(
        again["errors"],
        json!([{"resource": "Label", "field": "name", "code": "already_exists"}]),
        "{again}"
    );
    let (status, _) =
        json_of(call(&s, Method::POST, "/repos/octo/other/labels", Some(bug)).await).await;
    assert_eq!(
        status, 201,
        "the same name in another repository is another label"
    );
    let (status, got) =
        json_of(call(&s, Method::GET, "/repos/octo/hello/labels/bug", None).await).await;
    assert_eq!((status, got["color"].as_str()), (200, Some("d73a4a")));
    let spaced = json!({"name": "good first issue"});
    let r = call(&s, Method::POST, "/repos/octo/hello/labels", Some(spaced)).await;
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        s.url("/repos/octo/hello/labels/good%20first%20issue")
    );
    let (status, got) = json_of(
        call(
            &s,
            Method::GET,
            "/repos/octo/hello/labels/good%20first%20issue",
            None,
        )
        .await,
    )
    .await;
    assert_eq!((status, got["color"].as_str()), (200, Some("ededed")));
    let (status, renamed) = json_of(
        call(
            &s,
            Method::PATCH,
            "/repos/octo/hello/labels/bug",
            Some(json!({"name": "good first issue"})),
        )
        .await,
    )
    .await;
    assert_eq!(
        status, 422,
        "a rename onto another label's name clashes: {renamed}"
    );
    let (status, _) =
        json_of(call(&s, Method::DELETE, "/repos/octo/hello/labels/bug", None).await).await;
    assert_eq!(status, 204);
    let (status, _) =
        json_of(call(&s, Method::GET, "/repos/octo/hello/labels/bug", None).await).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn validation_failures_are_422() {
    let s = github().await;
    for body in [
        json!({}),
        json!({"title": 5}),
        json!({"title": "t", "state": "half-open"}),
    ] {
        let (status, answer) = json_of(
            call(
                &s,
                Method::POST,
                "/repos/octo/hello/issues",
                Some(body.clone()),
            )
            .await,
        )
        .await;
        assert_eq!(status, 422, "{body} -> {answer}");
        assert_eq!(answer["message"], "Validation Failed", "{answer}");
        assert_eq!(answer["errors"][0]["resource"], "Issue", "{answer}");
    }
    // GitHub's field-error entries: the resource, the field and what is wrong with it.
    let (_, answer) = json_of(
        call(
            &s,
            Method::POST,
            "/repos/octo/hello/issues",
            Some(json!({"body": "no title"})),
        )
        .await,
    )
    .await;
    assert_eq!(
        answer["errors"],
        json!([{"resource": "Issue", "field": "title", "code": "missing_field"}]),
        "{answer}"
    );
    let (status, _) = json_of(
        call(
            &s,
            Method::POST,
            "/repos/octo/hello/labels",
            Some(json!({"name": ["x"]})),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422, "a wrong type is 422");
    let r = s
        .http
        .post(s.url("/repos/octo/hello/issues"))
        .header("authorization", "token t0")
        .body("{")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "a body that is not JSON stays a 400");
}

/// Each relation of a `Link` header with the page number it links to, in order.
fn pages_linked(link: &str) -> Vec<(&str, u64)> {
    link.split(", ")
        .map(|l| {
            let (url, rel) = l.split_once(">; rel=").unwrap();
            let page = url.split("page=").last().unwrap().parse().unwrap();
            (rel.trim_matches('"'), page)
        })
        .collect()
}

#[tokio::test]
async fn pages_are_numbered_linked_and_capped_at_100() {
    let s = github().await;
    for n in 0..5 {
        new_issue(&s, "octo/hello", &format!("issue {n}")).await;
    }
    let first = call(&s, Method::GET, "/repos/octo/hello/issues?per_page=2", None).await;
    let link = first.headers()["link"].to_str().unwrap().to_owned();
    assert_eq!(pages_linked(&link), [("next", 2), ("last", 3)], "{link}");
    let page: Value = first.json().await.unwrap();
    assert_eq!(page[0]["number"], 1);
    let url = link
        .trim_start_matches('<')
        .split('>')
        .next()
        .unwrap()
        .to_owned();
    let second = s
        .http
        .get(&url)
        .header("authorization", "token t0")
        .send()
        .await
        .unwrap();
    let link = second.headers()["link"].to_str().unwrap().to_owned();
    let all = [("next", 3), ("last", 3), ("first", 1), ("prev", 1)];
    assert_eq!(pages_linked(&link), all, "{link}");
    let page: Value = second.json().await.unwrap();
    let numbers: Vec<u64> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [3, 4]);
    let last = call(
        &s,
        Method::GET,
        "/repos/octo/hello/issues?per_page=2&page=3",
        None,
    )
    .await;
    let link = last.headers()["link"].to_str().unwrap().to_owned();
    assert_eq!(pages_linked(&link), [("first", 1), ("prev", 2)], "{link}");
    assert_eq!(
        last.json::<Value>()
            .await
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let capped = call(
        &s,
        Method::GET,
        "/repos/octo/hello/issues?per_page=500",
        None,
    )
    .await;
    assert_eq!(
        capped.status(),
        200,
        "per_page over 100 is served, not refused"
    );
    assert_eq!(
        capped
            .json::<Value>()
            .await
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        5
    );
    let (status, _) =
        json_of(call(&s, Method::GET, "/repos/octo/hello/issues?page=0", None).await).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn bearer_and_token_both_authenticate() {
    let s = github().await;
    for (value, want) in [
        ("Bearer t0", 200),
        ("token t0", 200),
        ("TOKEN t0", 200),
        ("Basic t0", 401),
        ("token nope", 401),
    ] {
        let r = s
            .http
            .get(s.url("/repos/octo/hello/issues"))
            .header("authorization", value)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), want, "{value}");
    }
    // GitHub's words for each refusal (`[emulator.credential_refusals]`).
    for (value, words) in [
        (None, "Requires authentication"),
        (Some("token nope"), "Bad credentials"),
    ] {
        let mut r = s.http.get(s.url("/repos/octo/hello/issues"));
        if let Some(v) = value {
            r = r.header("authorization", v);
        }
        let (status, body) = json_of(r.send().await.unwrap()).await;
        assert_eq!((status, &body["message"]), (401, &json!(words)), "{body}");
    }
}

#[tokio::test]
async fn rate_limit_headers_name_each_routes_group() {
    let s = github().await;
    new_issue(&s, "octo/hello", "a").await;
    new_issue(&s, "octo/other", "b").await;
    let r = call(&s, Method::GET, "/repos/octo/hello/issues", None).await;
    let h = r.headers();
    assert_eq!(h["x-ratelimit-resource"], "core");
    assert_eq!(h["x-ratelimit-limit"], "5000");
    // Two creates and this read: three spent, as x-ratelimit-used says beside remaining.
    assert_eq!(
        (&h["x-ratelimit-used"], &h["x-ratelimit-remaining"]),
        (&"3".parse().unwrap(), &"4997".parse().unwrap())
    );
    let reset: u64 = h["x-ratelimit-reset"].to_str().unwrap().parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(reset >= now && reset <= now + 3600, "a Unix time: {reset}");
    let search = call(&s, Method::GET, "/search/issues?q=state:open", None).await;
    assert_eq!(search.headers()["x-ratelimit-resource"], "search");
    let found: Value = search.json().await.unwrap();
    assert_eq!(
        found["items"].as_array().unwrap().len(),
        2,
        "the search spans repositories: {found}"
    );
    let open = call(&s, Method::GET, "/search/issues?q=state:closed", None).await;
    assert_eq!(open.json::<Value>().await.unwrap()["items"], json!([]));
}

/// GitHub's issue search: `q` is required, its words are looked for in an issue's text and
/// its `field:value` terms in its fields, across repositories.
#[tokio::test]
async fn the_search_finds_issues_by_words_and_fields() {
    let s = github().await;
    new_issue(&s, "octo/hello", "Crash on start").await;
    new_issue(&s, "octo/other", "Slow list").await;
    let closed = json!({"state": "closed"});
    let (status, _) = json_of(
        call(
            &s,
            Method::PATCH,
            "/repos/octo/other/issues/1",
            Some(closed),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    let titles = |q: &'static str| {
        let s = &s;
        async move {
            let (status, body) =
                json_of(call(s, Method::GET, &format!("/search/issues?q={q}"), None).await).await;
            assert_eq!(status, 200, "{q}: {body}");
            let items = body["items"].as_array().unwrap().iter();
            items
                .map(|i| i["title"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(titles("crash").await, ["Crash on start"]);
    assert_eq!(titles("state:closed").await, ["Slow list"]);
    assert_eq!(titles("slow%20state:open").await, Vec::<String>::new());
    assert_eq!(
        titles("number:1").await.len(),
        2,
        "each repository has its issue 1"
    );
    let (status, body) = json_of(call(&s, Method::GET, "/search/issues", None).await).await;
    assert_eq!(
        (status, &body["message"]),
        (422, &json!("Validation Failed")),
        "{body}"
    );
    assert_eq!(body["errors"][0]["field"], "q", "{body}");
}

#[tokio::test]
async fn the_search_quota_is_spent_apart_from_core() {
    let s = github().await;
    // The counts below are exact only within one minute's window (and one hour's).
    let minute = std::time::Duration::from_secs(60);
    crate::support::away_from_window_edge(minute, std::time::Duration::from_secs(10)).await;
    let remaining = |r: &reqwest::Response, name: &str| -> u32 {
        r.headers()[name].to_str().unwrap().parse().unwrap()
    };
    let core = call(&s, Method::GET, "/repos/octo/hello/issues", None).await;
    assert_eq!(core.headers()["x-ratelimit-limit"], "5000");
    assert_eq!(remaining(&core, "x-ratelimit-remaining"), 4999);
    for left in (0..30).rev() {
        let found = call(&s, Method::GET, "/search/issues?q=a", None).await;
        assert_eq!(found.status(), 200);
        let h = found.headers();
        assert_eq!(
            (&h["x-ratelimit-resource"], &h["x-ratelimit-limit"]),
            (&"search".parse().unwrap(), &"30".parse().unwrap())
        );
        assert_eq!(remaining(&found, "x-ratelimit-remaining"), left);
        assert_eq!(remaining(&found, "x-ratelimit-used"), 30 - left);
        let reset: u64 = h["x-ratelimit-reset"].to_str().unwrap().parse().unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        // A sliding window: once the last request is spent, the reset is when one more
        // fits, up to a thirtieth of the next minute past this one's end (and a second of
        // rounding); an hour's window would be far later.
        assert!(
            reset <= now + 64,
            "the search window is a minute: {reset} at {now}"
        );
    }
    let refused = call(&s, Method::GET, "/search/issues?q=a", None).await;
    assert_eq!(refused.status(), 403);
    assert_eq!(refused.headers()["x-ratelimit-resource"], "search");
    assert_eq!(refused.headers()["x-ratelimit-limit"], "30");
    assert_eq!(remaining(&refused, "x-ratelimit-remaining"), 0);
    assert_eq!(remaining(&refused, "x-ratelimit-used"), 30);
    // Thirty-one searches later, core has spent one request only.
    let core = call(&s, Method::GET, "/repos/octo/hello/issues", None).await;
    assert_eq!(core.status(), 200);
    assert_eq!(core.headers()["x-ratelimit-resource"], "core");
    assert_eq!(remaining(&core, "x-ratelimit-remaining"), 4998);
}

#[tokio::test]
async fn a_quota_refusal_is_a_403_the_contract_reads_as_a_rate_limit() {
    let contract = contract_from("github.toml", GITHUB);
    let config = verdict_server::Config {
        token: "t0".into(),
        seed: 7,
        quotas: Some(vec![verdict::emulate::Quota {
            requests: 1,
            window_s: 60,
            status: 403,
            group: None,
        }]),
        ..verdict_server::Config::default()
    };
    let em = verdict_server::Emulator::new(contract.clone(), config).unwrap();
    let s = crate::support::serve_emulator(em, "t0".into(), false, Default::default()).await;
    s.admin(
        Method::POST,
        "/_verdict/tokens",
        json!({"token": "ro", "read_only": true}),
    )
    .await;
    let forbidden = s
        .http
        .post(s.url("/repos/octo/hello/labels"))
        .header("authorization", "token ro")
        .json(&json!({"name": "bug"}))
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status(), 403);
    let entry = contract.status(403).unwrap();
    let read = |h: &reqwest::header::HeaderMap| entry.for_answer(&Method::GET, h, None).category;
    assert_eq!(read(forbidden.headers()), verdict::Category::Authorization);
    assert_eq!(
        call(&s, Method::GET, "/repos/octo/hello/issues", None)
            .await
            .status(),
        200
    );
    let refused = call(&s, Method::GET, "/repos/octo/hello/issues", None).await;
    assert_eq!(refused.status(), 403);
    let h = refused.headers();
    assert_eq!(h["x-ratelimit-remaining"], "0");
    assert_eq!(h["x-ratelimit-resource"], "core");
    assert!(h.contains_key("retry-after"));
    assert_eq!(read(h), verdict::Category::RateLimit);
}

#[tokio::test]
async fn the_openapi_document_has_the_nested_routes_and_both_words() {
    let s = github().await;
    let doc = s.openapi().await;
    let item = &doc["paths"]["/repos/{owner}/{repo}/issues/{number}"]["get"];
    let names: Vec<&str> = item["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["in"] == "path")
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["owner", "repo", "number"]);
    let number = item["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "number")
        .unwrap();
    assert_eq!(number["schema"]["type"], "integer");
    assert!(doc["paths"]["/repos/{owner}/{repo}/labels/{name}"]["delete"].is_object());
    assert!(doc["paths"]["/search/issues"]["get"]["responses"]["200"].is_object());
    let create = &doc["paths"]["/repos/{owner}/{repo}/labels"]["post"]["responses"];
    assert!(create["422"].is_object() && create["201"].is_object());
    let list_params = doc["paths"]["/repos/{owner}/{repo}/issues"]["get"]["parameters"].to_string();
    assert!(
        list_params.contains("\"per_page\"") && list_params.contains("\"page\""),
        "{list_params}"
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["credentials-token"]["scheme"],
        "token"
    );
    assert_eq!(
        doc["security"],
        json!([{"credentials": []}, {"credentials-token": []}])
    );
    assert_eq!(
        doc["components"]["schemas"]["issues"]["properties"]["id"]["type"],
        "integer"
    );
}
