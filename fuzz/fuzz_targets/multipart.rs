//! The push parser for `multipart/mixed`, fed in chunks whose sizes come from the input.
//!
//! Input layout: byte 0 picks the boundary, bytes 1..=4 are chunk sizes (used in turn,
//! each 1..=256), the rest is the body. Limits are tight so that every limit is reachable.
//! The parser promises the same answer whatever the chunking, so the chunked result is
//! checked against the body fed in one piece.
#![no_main]

use libfuzzer_sys::fuzz_target;
use verdict::multipart::{Batch, BatchError, Limits, Parser, Part};

const BOUNDARIES: [&str; 4] = ["b", "batch_a1", "simple boundary", "=_0123456789"];

const LIMITS: Limits = Limits {
    max_parts: 8,
    max_part_bytes: 256,
    max_total_bytes: 4096,
    max_header_bytes: 128,
};

fn run(boundary: &str, chunks: &[&[u8]]) -> Result<Vec<Part>, BatchError> {
    let mut parser = Parser::new(boundary, LIMITS);
    let mut parts = Vec::new();
    for chunk in chunks {
        parts.extend(parser.feed(chunk)?);
    }
    parts.extend(parser.finish()?);
    Ok(parts)
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 5 {
        return;
    }
    let boundary = BOUNDARIES[usize::from(data[0] & 3)];
    let sizes = &data[1..5];
    let body = &data[5..];

    let mut chunks: Vec<&[u8]> = Vec::new();
    let mut rest = body;
    for n in sizes.iter().map(|b| usize::from(*b) + 1).cycle() {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at(n.min(rest.len()));
        chunks.push(chunk);
        rest = tail;
    }
    let chunked = run(boundary, &chunks);
    let whole = run(boundary, &[body]);
    match (&chunked, &whole) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "chunked and whole parses differ"),
        (Err(_), Err(_)) => {}
        _ => panic!("chunked and whole parses disagree: chunked {chunked:?}, whole {whole:?}"),
    }
    if let Ok(parts) = chunked {
        if let Ok(batch) = Batch::from_parts(parts) {
            for (status, part) in batch.iter() {
                let _ = (status, part.content_type(), part.json());
            }
        }
    }
});
