//! Setting up in one line: a built-in contract by id, a contract file, a client with
//! reqwest's own redirects off, and a loud error when a client follows redirects itself.

use verdict_client::{ErrorKind, SetupError, Verdict};
use verdict_testkit::{Reply, Server};

use crate::support::verdict_error;

#[test]
fn builtin_contracts_by_id_with_close_matches_on_a_typo() {
    assert_eq!(
        Verdict::builtin("webex").unwrap().build().contract().id,
        "webex"
    );
    let e = Verdict::builtin("ringcentrl").unwrap_err();
    assert!(matches!(e, SetupError::Unknown(_)));
    assert!(e.to_string().contains("ringcentral"), "{e}");
}

#[test]
fn contract_files_load_on_top_of_the_builtin_ones() {
    let dir = std::env::temp_dir().join(format!("verdict-setup-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("mine.toml");
    std::fs::write(
        &good,
        "[contract]\nid = \"mine\"\nname = \"Mine\"\nextends = \"webex\"\nsummary = \"x\"\n",
    )
    .unwrap();
    let v = Verdict::from_file(&good).unwrap().build();
    assert_eq!(v.contract().id, "mine");
    assert!(v.contract().status(423).is_some(), "inherits webex");

    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[contract]\nid = \"bad\"\nnmae = \"x\"\n").unwrap();
    let e = Verdict::from_file(&bad).unwrap_err();
    assert!(matches!(e, SetupError::Invalid { .. }), "{e}");
    assert!(e.to_string().contains("bad.toml"), "{e}");

    let e = Verdict::from_file(dir.join("missing.toml")).unwrap_err();
    assert!(matches!(e, SetupError::Read { .. }), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

async fn moved() -> Server {
    Server::start(|s, _| match s.path.as_str() {
        "/old" => Reply::status(308).header("location", "/new"),
        _ => Reply::status(200).body("here"),
    })
    .await
}

#[tokio::test]
async fn the_builders_client_leaves_redirects_to_the_contract() {
    let server = moved().await;
    let c = Verdict::builtin("webex").unwrap().client().unwrap();
    let r = c.get(server.url("/old")).send().await.unwrap();
    let attempts = &r.extensions().get::<verdict_client::Attempts>().unwrap().0;
    assert_eq!(attempts.len(), 2, "{attempts:#?}");
    assert!(
        attempts[0].note.starts_with("redirect"),
        "{:?}",
        attempts[0]
    );
}

#[tokio::test]
async fn a_client_that_follows_redirects_itself_is_a_loud_error() {
    let server = moved().await;
    // The usual reqwest-middleware pattern with a plain reqwest client: it follows
    // redirects on its own, out of the contract's sight.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let c = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(Verdict::builtin("webex").unwrap().build())
        .build();
    let e = verdict_error(c.get(server.url("/old")).send().await.unwrap_err());
    assert!(
        matches!(e.kind(), ErrorKind::RedirectedByClient { .. }),
        "{e}"
    );
    assert!(
        e.to_string().contains("verdict_client::http_client()"),
        "{e}"
    );
}
