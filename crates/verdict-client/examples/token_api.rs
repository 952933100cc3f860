//! Create, rename and delete an item on the token API. A 429 or 503 is retried after at
//! least 60 seconds, as its document recommends, unless that would pass the two minutes
//! this program allows a request.
//!
//! ```sh
//! API_TOKEN=... cargo run -p verdict-client --example token_api [BASE_URL]
//! ```
//! Exits 1 with the verdict error on a failure.

use std::process::ExitCode;
use std::time::Duration;

use serde_json::{Value, json};
use verdict_client::{Verdict, VerdictErrorExt};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("token-api: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let setup = Verdict::builtin("token-api")?;
    let base = std::env::args()
        .nth(1)
        .or(setup.contract().base_url.clone())
        .unwrap_or_default();
    let token = std::env::var("API_TOKEN").map_err(|_| "set API_TOKEN")?;
    let client = setup.max_wait(Duration::from_secs(120)).client()?;
    let fail = |e: reqwest_middleware::Error| match e.verdict_error() {
        Some(v) => v.to_string(),
        None => e.to_string(),
    };

    let created: Value = client
        .post(format!("{base}/items"))
        .bearer_auth(&token)
        .json(&json!({"name": "first"}))
        .send()
        .await
        .map_err(fail)?
        .json()
        .await?;
    let id = created["id"].as_str().ok_or("the new item has no id")?;
    println!("created {id}");

    let renamed: Value = client
        .patch(format!("{base}/items/{id}"))
        .bearer_auth(&token)
        .json(&json!({"name": "renamed"}))
        .send()
        .await
        .map_err(fail)?
        .json()
        .await?;
    println!("renamed to {}", renamed["name"]);

    let deleted = client
        .delete(format!("{base}/items/{id}"))
        .bearer_auth(&token)
        .send()
        .await
        .map_err(fail)?;
    println!("deleted: {}", deleted.status());
    Ok(())
}
