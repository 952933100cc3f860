//! Splitting a 207 multipart/mixed batch response into its parts as the body streams in.

use bytes::Bytes;
use verdict::multipart::{self, Batch, BatchError, Limits, Parser};

use crate::error::{Error, ErrorKind};

/// Reads a `multipart/mixed` response (RingCentral's 207 batch) part by part, within
/// `limits`, and matches the status list of its first part to the other parts.
///
/// ```no_run
/// # async fn run(client: reqwest_middleware::ClientWithMiddleware) -> Result<(), Box<dyn std::error::Error>> {
/// let response = client.get("https://platform.ringcentral.com/restapi/v1.0/account/~/extension/1,2").send().await?;
/// let batch = verdict_client::batch(response, &Default::default()).await?;
/// for (status, part) in batch.iter() {
///     println!("{status}: {} bytes", part.body.len());
/// }
/// # Ok(()) }
/// ```
pub async fn batch(mut response: reqwest::Response, limits: &Limits) -> Result<Batch, Box<Error>> {
    let method = http::Method::GET;
    let url = response.url().clone();
    let fail = |e: BatchError| {
        Box::new(Error::bare(
            ErrorKind::Batch(e),
            verdict::Catalog::builtin().get("http").expect("baseline"),
            method.clone(),
            url.clone(),
        ))
    };
    let content_type = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let boundary = multipart::boundary(&content_type).map_err(fail)?;
    let mut parser = Parser::new(&boundary, *limits);
    let mut parts = Vec::new();
    loop {
        let chunk: Option<Bytes> = response.chunk().await.map_err(|e| {
            Box::new(Error::bare(
                ErrorKind::Body(e.to_string()),
                verdict::Catalog::builtin().get("http").expect("baseline"),
                method.clone(),
                url.clone(),
            ))
        })?;
        match chunk {
            Some(c) => parts.extend(parser.feed(&c).map_err(fail)?),
            None => break,
        }
    }
    parts.extend(parser.finish().map_err(fail)?);
    Batch::from_parts(parts).map_err(fail)
}
