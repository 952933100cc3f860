//! Sign in to RingCentral with OAuth 2.0 (the password grant; tokens renewed before they
//! expire and kept in a file), read your own extension, add two address-book contacts and
//! read them in one batch (a 207 multipart answer, split into parts with the contract's
//! reading of each), then delete one: a 404 on DELETE counts as done, as RingCentral's
//! document says.
//!
//! ```sh
//! RC_CLIENT_ID=... RC_CLIENT_SECRET=... RC_USERNAME=... RC_PASSWORD=... \
//!     cargo run -p verdict-client --example ringcentral [BASE_URL]
//! ```
//! RC_TOKEN_FILE names a file to keep the tokens in between runs. Exits 1 with the verdict
//! error on a failure.

use std::process::ExitCode;

use serde_json::{Value, json};
use url::Url;
use verdict_client::oauth::OAuth2;
use verdict_client::{BatchParts, Verdict, VerdictErrorExt};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ringcentral: {e}");
            ExitCode::FAILURE
        }
    }
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("set {name}"))
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let setup = Verdict::builtin("ringcentral")?;
    let base = std::env::args()
        .nth(1)
        .or(setup.contract().base_url.clone())
        .unwrap_or_default();
    // The token endpoint is the contract's token_path, on the API's origin.
    let origin = Url::parse(&base)?;
    let mut oauth = OAuth2::for_contract(
        setup.contract(),
        Some(&origin),
        env("RC_CLIENT_ID")?,
        env("RC_CLIENT_SECRET")?,
    )?
    .password(env("RC_USERNAME")?, env("RC_PASSWORD")?);
    if let Ok(file) = std::env::var("RC_TOKEN_FILE") {
        oauth = oauth.token_file(file);
    }
    let client = setup.oauth2(oauth.build()?).split_batches(true).client()?;
    let fail = |e: reqwest_middleware::Error| match e.verdict_error() {
        Some(v) => v.to_string(),
        None => e.to_string(),
    };

    let me: Value = client
        .get(format!("{base}/account/~/extension/~"))
        .send()
        .await
        .map_err(fail)?
        .json()
        .await?;
    println!("signed in as extension {}", me["id"]);

    let contacts = format!("{base}/account/~/extension/~/address-book/contact");
    let mut ids = Vec::new();
    for name in ["Ada", "Grace"] {
        let made: Value = client
            .post(&contacts)
            .json(&json!({"firstName": name}))
            .send()
            .await
            .map_err(fail)?
            .json()
            .await?;
        ids.push(made["id"].to_string().trim_matches('"').to_owned());
    }

    let batch = client
        .get(format!("{contacts}/{}", ids.join(",")))
        .send()
        .await
        .map_err(fail)?;
    let parts = batch
        .extensions()
        .get::<BatchParts>()
        .ok_or("the answer is not a batch")?;
    for part in &parts.0 {
        let body: Value = serde_json::from_slice(&part.body).unwrap_or_default();
        println!("part {}: {}", part.status, body["firstName"]);
    }
    if !parts.all_succeeded() {
        return Err("a part of the batch failed".into());
    }

    let deleted = client
        .delete(format!("{contacts}/{}", ids[1]))
        .send()
        .await
        .map_err(fail)?;
    println!("deleted: {} (done)", deleted.status());
    Ok(())
}
