//! Send an SMS through Webex Connect and read its transaction status. The API answers 200
//! with an application code in the body: 7500 Delivered is success, 7109 User in DnD is an
//! error with the vendor's exact message.
//!
//! ```sh
//! WXC_SERVICE_KEY=... cargo run -p verdict-client --example webex_connect [BASE_URL]
//! ```

use verdict::Catalog;
use verdict_client::{Error, RequestOptions, Verdict};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let contract = Catalog::builtin()
        .get("webex-connect")
        .expect("built in")
        .clone();
    let base = std::env::args()
        .nth(1)
        .or(contract.base_url.clone())
        .unwrap_or_default();
    let key = std::env::var("WXC_SERVICE_KEY").unwrap_or_default();
    let client = verdict_client::client(Verdict::builder(contract).build())?;
    let with_api = |api: &str| RequestOptions::new().api(api);

    let sent = client
        .post(format!("{base}/resources/v1/messaging"))
        .header("key", &key)
        .json(&serde_json::json!({
            "deliverychannel": "sms",
            "destination": [{"msisdn": ["15550000001"]}],
            "channels": {"sms": {"type": "1", "text": "hello from verdict"}}
        }))
        .with_extension(with_api("messaging"))
        .send()
        .await;
    let body: serde_json::Value = match sent {
        Ok(r) => r.json().await?,
        Err(e) => {
            eprintln!("{}", Error::from(e));
            return Ok(());
        }
    };
    let tid = body["transid"].as_str().unwrap_or_default();
    let status = client
        .get(format!("{base}/resources/v1/messaging/status/{tid}"))
        .header("key", &key)
        .with_extension(with_api("transaction-status"))
        .send()
        .await;
    match status {
        Ok(r) => println!("{}", r.text().await?),
        Err(e) => eprintln!("{}", Error::from(e)),
    }
    Ok(())
}
