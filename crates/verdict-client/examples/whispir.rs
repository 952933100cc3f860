//! Send a Whispir message and poll the 202's Location until it is processed; a 301 is
//! remembered so the old URL is not used again. Whispir refuses plain HTTP, so a test
//! server's certificate can be trusted with WHISPIR_CA_FILE (a PEM file, such as the one
//! `verdict serve whispir --cert-out FILE` writes).
//!
//! ```sh
//! WHISPIR_API_KEY=... WHISPIR_TOKEN=... cargo run -p verdict-client --example whispir [BASE_URL]
//! ```
//! Exits 1 with the verdict error on a failure.

use std::process::ExitCode;

use verdict_client::{RequestOptions, Verdict, VerdictErrorExt};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("whispir: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let setup = Verdict::builtin("whispir")?;
    let base = std::env::args()
        .nth(1)
        .or(setup.contract().base_url.clone())
        .unwrap_or_default();
    let api_key = std::env::var("WHISPIR_API_KEY").map_err(|_| "set WHISPIR_API_KEY")?;
    let token = std::env::var("WHISPIR_TOKEN").map_err(|_| "set WHISPIR_TOKEN")?;
    let mut http = verdict_client::http_client();
    if let Ok(path) = std::env::var("WHISPIR_CA_FILE") {
        let pem = std::fs::read(&path).map_err(|e| format!("{path}: {e}"))?;
        http = http.add_root_certificate(reqwest::Certificate::from_pem(&pem)?);
    }
    let client = reqwest_middleware::ClientBuilder::new(http.build()?)
        .with(setup.build())
        .build();

    let response = client
        .post(format!("{base}/messages"))
        .header("x-api-key", &api_key)
        .bearer_auth(&token)
        .header("Content-Type", "application/vnd.whispir.message-v1+json")
        .body(r#"{"to": "+61400000000", "subject": "verdict", "body": "hello"}"#)
        .with_extension(RequestOptions::new().poll(true))
        .send()
        .await
        .map_err(|e| match e.verdict_error() {
            Some(v) => v.to_string(),
            None => e.to_string(),
        })?;
    println!("{}: {}", response.status(), response.text().await?);
    Ok(())
}
