//! List Webex rooms, riding through 429/423 with Retry-After and refreshing the token once
//! on a 401.
//!
//! ```sh
//! WEBEX_TOKEN=... cargo run -p verdict-client --example webex [BASE_URL]
//! ```
//! BASE_URL defaults to the contract's (`https://webexapis.com/v1`); point it at
//! `verdict serve webex` to try it locally.

use verdict::Catalog;
use verdict_client::{Credentials, Error, Verdict};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let contract = Catalog::builtin().get("webex").expect("built in").clone();
    let base = std::env::args()
        .nth(1)
        .or(contract.base_url.clone())
        .unwrap_or_default();
    let token = std::env::var("WEBEX_TOKEN").unwrap_or_default();
    // A real integration would call its OAuth token endpoint here.
    let creds = Credentials::bearer(&token, || async {
        Err("no refresh token configured".into())
    })?;
    let client = verdict_client::client(Verdict::builder(contract).credentials(creds).build())?;
    let sent = client.get(format!("{base}/rooms")).send().await;
    match sent.map_err(Error::from) {
        Ok(r) => println!("{}", r.text().await?),
        Err(e) => eprintln!("{e}\nadvice: {}", e.advice().unwrap_or("-")),
    }
    Ok(())
}
