//! Send an SMS through Webex Connect and read its transaction status. The API answers 200
//! with an application code in the body: 7500 Delivered is success, 7109 User in DnD is an
//! error with the vendor's exact message.
//!
//! ```sh
//! WXC_SERVICE_KEY=... cargo run -p verdict-client --example webex_connect [BASE_URL]
//! ```
//! Exits 1 with the verdict error on a failure.

use std::process::ExitCode;

use serde_json::{Value, json};
use verdict_client::{RequestOptions, Verdict, VerdictErrorExt};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("webex-connect: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let setup = Verdict::builtin("webex-connect")?;
    let base = std::env::args()
        .nth(1)
        .or(setup.contract().base_url.clone())
        .unwrap_or_default();
    let key = std::env::var("WXC_SERVICE_KEY").map_err(|_| "set WXC_SERVICE_KEY")?;
    let client = setup.client()?;
    // The API's codes differ per endpoint: say which API each request belongs to.
    let api = |name: &str| RequestOptions::new().api(name);
    let fail = |e: reqwest_middleware::Error| match e.verdict_error() {
        Some(v) => v.to_string(),
        None => e.to_string(),
    };

    let sent: Value = client
        .post(format!("{base}/resources/v1/messaging"))
        .header("key", &key)
        .json(&json!({
            "deliverychannel": "sms",
            "destination": [{"msisdn": ["15550000001"]}],
            "channels": {"sms": {"type": "1", "text": "hello from verdict"}}
        }))
        .with_extension(api("messaging"))
        .send()
        .await
        .map_err(fail)?
        .json()
        .await?;
    let tid = sent["transid"].as_str().ok_or("no transid in the answer")?;
    println!("sent, transaction {tid}");

    let status = client
        .get(format!("{base}/resources/v1/messaging/status/{tid}"))
        .header("key", &key)
        .with_extension(api("transaction-status"))
        .send()
        .await
        .map_err(fail)?;
    println!("status: {}", status.text().await?);
    Ok(())
}
