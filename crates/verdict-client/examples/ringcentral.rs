//! Read two RingCentral extensions in one batch (a 207 multipart answer), and delete one;
//! a 404 on DELETE counts as done, as the RingCentral document says.
//!
//! ```sh
//! RC_TOKEN=... cargo run -p verdict-client --example ringcentral [BASE_URL]
//! ```

use verdict::Catalog;
use verdict_client::{Error, Verdict};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let contract = Catalog::builtin()
        .get("ringcentral")
        .expect("built in")
        .clone();
    let base = std::env::args()
        .nth(1)
        .or(contract.base_url.clone())
        .unwrap_or_default();
    let token = std::env::var("RC_TOKEN").unwrap_or_default();
    let client = verdict_client::client(Verdict::builder(contract).build())?;

    let response = client
        .get(format!("{base}/account/~/extension/101,102"))
        .bearer_auth(&token)
        .send()
        .await;
    match response {
        Ok(r) if r.status() == 207 => {
            let batch = verdict_client::batch(r, &Default::default()).await?;
            for (status, part) in batch.iter() {
                println!("{status}: {}", String::from_utf8_lossy(&part.body));
            }
        }
        Ok(r) => println!("{}: {}", r.status(), r.text().await?),
        Err(e) => eprintln!("{}", Error::from(e)),
    }

    let deleted = client
        .delete(format!("{base}/account/~/extension/102"))
        .bearer_auth(&token)
        .send()
        .await;
    match deleted {
        Ok(r) => println!("delete: {} (done)", r.status()),
        Err(e) => eprintln!("{}", Error::from(e)),
    }
    Ok(())
}
