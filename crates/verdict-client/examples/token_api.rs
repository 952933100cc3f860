//! Create, update and delete an item on the token API; a 429 or 503 is retried after at
//! least 60 seconds, as its document recommends, unless that passes the wait limit.
//!
//! ```sh
//! API_TOKEN=... cargo run -p verdict-client --example token_api [BASE_URL]
//! ```

use std::time::Duration;

use verdict::Catalog;
use verdict_client::{Error, Verdict};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let contract = Catalog::builtin()
        .get("token-api")
        .expect("built in")
        .clone();
    let base = std::env::args()
        .nth(1)
        .or(contract.base_url.clone())
        .unwrap_or_default();
    let token = std::env::var("API_TOKEN").unwrap_or_default();
    let client = verdict_client::client(
        Verdict::builder(contract)
            .max_wait(Duration::from_secs(120))
            .build(),
    )?;
    let report = |e: reqwest_middleware::Error| eprintln!("{}", Error::from(e));

    let created = match client
        .post(format!("{base}/items"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": "first"}))
        .send()
        .await
    {
        Ok(r) => r.json::<serde_json::Value>().await?,
        Err(e) => {
            report(e);
            return Ok(());
        }
    };
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    println!("created {id}");
    if let Err(e) = client
        .patch(format!("{base}/items/{id}"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": "renamed"}))
        .send()
        .await
    {
        report(e);
    }
    match client
        .delete(format!("{base}/items/{id}"))
        .bearer_auth(&token)
        .send()
        .await
    {
        Ok(r) => println!("deleted: {}", r.status()),
        Err(e) => report(e),
    }
    Ok(())
}
