//! Create a Webex room, read it back, list rooms and delete it again. Every answer goes
//! through the `webex` contract: a 429 or 423 is waited out as its `Retry-After` says,
//! within a minute in all.
//!
//! ```sh
//! WEBEX_TOKEN=... cargo run -p verdict-client --example webex [BASE_URL]
//! ```
//! BASE_URL defaults to the contract's (`https://webexapis.com/v1`); point it at
//! `verdict serve webex` to try it locally. Exits 1 with the verdict error on a failure.

use std::process::ExitCode;
use std::time::Duration;

use serde_json::{Value, json};
use verdict_client::{Verdict, VerdictErrorExt};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("webex: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let setup = Verdict::builtin("webex")?;
    let base = std::env::args()
        .nth(1)
        .or(setup.contract().base_url.clone())
        .unwrap_or_default();
    let token = std::env::var("WEBEX_TOKEN").map_err(|_| "set WEBEX_TOKEN")?;
    let client = setup.max_wait(Duration::from_secs(60)).client()?;
    let fail = |e: reqwest_middleware::Error| match e.verdict_error() {
        Some(v) => format!("{v}\nadvice: {}", v.advice().unwrap_or("-")),
        None => e.to_string(),
    };

    let room: Value = client
        .post(format!("{base}/rooms"))
        .bearer_auth(&token)
        .json(&json!({"title": "verdict example"}))
        .send()
        .await
        .map_err(fail)?
        .json()
        .await?;
    let id = room["id"].as_str().ok_or("the new room has no id")?;
    println!("created room {id}");

    let again: Value = client
        .get(format!("{base}/rooms/{id}"))
        .bearer_auth(&token)
        .send()
        .await
        .map_err(fail)?
        .json()
        .await?;
    println!("read it back: {}", again["title"]);

    let list: Value = client
        .get(format!("{base}/rooms?max=10"))
        .bearer_auth(&token)
        .send()
        .await
        .map_err(fail)?
        .json()
        .await?;
    let count = list["items"].as_array().map_or(0, Vec::len);
    println!("{count} room(s) on the first page");

    let deleted = client
        .delete(format!("{base}/rooms/{id}"))
        .bearer_auth(&token)
        .send()
        .await
        .map_err(fail)?;
    println!("deleted: {}", deleted.status());
    Ok(())
}
