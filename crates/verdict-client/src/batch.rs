//! Splitting a 207 multipart/mixed batch response into its parts as the body streams in.

use std::sync::Arc;

use bytes::Bytes;
use verdict::multipart::{self, Batch, BatchError, Limits, Parser};

use crate::error::{Attempts, Error, ErrorKind, Source};

/// Reads a `multipart/mixed` response (RingCentral's 207 batch) part by part, within
/// `limits`, and matches the status list of its first part to the other parts. An error
/// names the response's URL and carries the response's [`Attempts`] when the middleware
/// attached them.
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
pub async fn batch(mut response: reqwest::Response, limits: &Limits) -> Result<Batch, Error> {
    let url = response.url().clone();
    let attempts = response
        .extensions()
        .get::<Attempts>()
        .map(|a| a.0.clone())
        .unwrap_or_default();
    let fail = |kind: ErrorKind| {
        let mut e = Error::new(kind).with_attempts(attempts.clone());
        e.set_url(url.clone());
        e
    };
    let content_type = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let boundary = multipart::boundary(&content_type).map_err(|e| fail(ErrorKind::Batch(e)))?;
    let mut parser = Parser::new(&boundary, *limits);
    let mut parts = Vec::new();
    loop {
        let chunk: Option<Bytes> = response.chunk().await.map_err(|e| {
            let kind = ErrorKind::Network(crate::wire::failure_of(&e));
            fail(kind).with_source(Arc::new(e) as Source)
        })?;
        match chunk {
            Some(c) => parts.extend(parser.feed(&c).map_err(|e| fail(ErrorKind::Batch(e)))?),
            None => break,
        }
    }
    parts.extend(parser.finish().map_err(|e| fail(ErrorKind::Batch(e)))?);
    Batch::from_parts(parts).map_err(|e| fail(ErrorKind::Batch(e)))
}

/// One part of a batch the middleware split (see [`crate::VerdictBuilder::split_batches`]),
/// with what the contract says about its status.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PartAnswer {
    /// The part's status, from the batch's status list.
    pub status: http::StatusCode,
    /// The part's headers.
    pub headers: http::HeaderMap,
    /// The part's body.
    pub body: Bytes,
    /// What the contract says the status (or the part's application code) means.
    pub meaning: Option<String>,
    /// What the contract says to do about it.
    pub advice: Option<String>,
    /// The contract's category.
    pub category: Option<verdict::Category>,
    /// For a part that failed (a status of 400 or more): the error, as the middleware
    /// makes it for a single answer, with the request's contract, method and URL.
    pub error: Option<Error>,
}

/// The parts of a 207 batch, attached to the response when the middleware splits batches
/// (read it with `response.extensions().get::<BatchParts>()`).
#[derive(Debug, Clone, Default)]
pub struct BatchParts(pub Vec<PartAnswer>);

impl BatchParts {
    /// Whether every part succeeded (a status under 400).
    pub fn all_succeeded(&self) -> bool {
        self.0.iter().all(|p| p.error.is_none())
    }
}

/// Splits a whole batch body: each part with the contract's reading of it. `answer` makes
/// the error a part's status and body would give as a single answer.
pub(crate) fn split(
    content_type: &str,
    body: &[u8],
    limits: Limits,
    answer: impl Fn(http::StatusCode, http::HeaderMap, Bytes) -> Error,
) -> Result<BatchParts, BatchError> {
    let boundary = multipart::boundary(content_type)?;
    let mut parser = Parser::new(&boundary, limits);
    let mut parts = parser.feed(body)?;
    parts.extend(parser.finish()?);
    let batch = Batch::from_parts(parts)?;
    let parts = batch
        .iter()
        .map(|(status, part)| {
            let body = Bytes::copy_from_slice(&part.body);
            let e = answer(status, part.headers.clone(), body.clone());
            PartAnswer {
                status,
                headers: part.headers.clone(),
                body,
                meaning: e.meaning().map(str::to_owned),
                advice: e.advice().map(str::to_owned),
                category: e.category(),
                error: (status.as_u16() >= 400).then_some(e),
            }
        })
        .collect();
    Ok(BatchParts(parts))
}
