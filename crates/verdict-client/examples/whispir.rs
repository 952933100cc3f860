//! Send a Whispir message and poll the 202's Location until it is processed; a 301 is
//! remembered so the old URL is not used again.
//!
//! ```sh
//! WHISPIR_API_KEY=... WHISPIR_TOKEN=... cargo run -p verdict-client --example whispir [BASE_URL]
//! ```

use verdict::Catalog;
use verdict_client::{Error, RequestOptions, Verdict};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let contract = Catalog::builtin().get("whispir").expect("built in").clone();
    let base = std::env::args()
        .nth(1)
        .or(contract.base_url.clone())
        .unwrap_or_default();
    let client = verdict_client::client(Verdict::builder(contract).build())?;
    let response = client
        .post(format!("{base}/messages"))
        .header(
            "x-api-key",
            std::env::var("WHISPIR_API_KEY").unwrap_or_default(),
        )
        .bearer_auth(std::env::var("WHISPIR_TOKEN").unwrap_or_default())
        .header("Content-Type", "application/vnd.whispir.message-v1+json")
        .body(r#"{"to": "+61400000000", "subject": "verdict", "body": "hello"}"#)
        .with_extension(RequestOptions::new().poll(true))
        .send()
        .await;
    match response {
        Ok(r) => println!("{}: {}", r.status(), r.text().await?),
        Err(e) => eprintln!("{}", Error::from(e)),
    }
    Ok(())
}
