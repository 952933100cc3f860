//! The request body from -d and --data-raw: in memory, or streamed from one file.

use std::io::Read;

use anyhow::{Context, anyhow};

use crate::Failure;

/// What the body is and where it comes from.
#[derive(Debug)]
pub(crate) enum Payload {
    /// Held in memory, so the middleware can send it again.
    Memory { bytes: Vec<u8>, json: bool },
    /// Read from a file while it is sent: one send only.
    File {
        file: std::fs::File,
        length: u64,
        json: bool,
    },
}

impl Payload {
    /// The Content-Type sent when -H sets none: JSON, else a form, as curl does.
    pub fn media_type(&self) -> &'static str {
        let json = match self {
            Payload::Memory { json, .. } | Payload::File { json, .. } => *json,
        };
        if json {
            "application/json"
        } else {
            "application/x-www-form-urlencoded"
        }
    }

    /// The length of a streamed body (a body in memory gets its length from reqwest).
    pub fn streamed_length(&self) -> Option<u64> {
        match self {
            Payload::File { length, .. } => Some(*length),
            Payload::Memory { .. } => None,
        }
    }

    /// The body for reqwest; a file is read chunk by chunk as the request goes out.
    pub fn into_body(self) -> reqwest::Body {
        match self {
            Payload::Memory { bytes, .. } => bytes.into(),
            Payload::File { file, .. } => {
                let file = tokio::fs::File::from_std(file);
                reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(file))
            }
        }
    }
}

/// The body the flags give, if any. One `-d @FILE` alone is streamed when `stream` allows;
/// anything else is read into memory, the values joined with `&` as curl does.
pub(crate) fn payload(
    data: &[String],
    raw: &[String],
    stream: bool,
) -> Result<Option<Payload>, Failure> {
    if let ([one], [], true) = (data, raw, stream) {
        if let Some(path) = one.strip_prefix('@').filter(|p| *p != "-") {
            return streamed(path).map(Some);
        }
    }
    let mut parts: Vec<Vec<u8>> = Vec::new();
    for d in data {
        parts.push(match d.strip_prefix('@') {
            Some("-") => stdin()?,
            Some(path) => {
                std::fs::read(path).with_context(|| format!("cannot read the body from {path}"))?
            }
            None => d.as_bytes().to_vec(),
        });
    }
    parts.extend(raw.iter().map(|r| r.as_bytes().to_vec()));
    if parts.is_empty() {
        return Ok(None);
    }
    let bytes = parts.join(&b'&');
    let json = serde_json::from_slice::<serde_json::Value>(&bytes).is_ok();
    Ok(Some(Payload::Memory { bytes, json }))
}

fn stdin() -> Result<Vec<u8>, Failure> {
    let mut buf = Vec::new();
    std::io::stdin()
        .read_to_end(&mut buf)
        .context("cannot read the body from standard input")?;
    Ok(buf)
}

/// A file to stream; whether it is JSON is judged from its first bytes.
fn streamed(path: &str) -> Result<Payload, Failure> {
    let cannot = || format!("cannot read the body from {path}");
    let mut file = std::fs::File::open(path).with_context(cannot)?;
    let meta = file.metadata().with_context(cannot)?;
    if !meta.is_file() {
        return Err(anyhow!("cannot read the body from {path}: not a regular file").into());
    }
    let mut start = [0u8; 256];
    let n = file.read(&mut start).with_context(cannot)?;
    let json = looks_like_json(&start[..n]);
    use std::io::Seek;
    file.rewind().with_context(cannot)?;
    Ok(Payload::File {
        file,
        length: meta.len(),
        json,
    })
}

/// A JSON object or array starts with `{` or `[` after any white space.
fn looks_like_json(start: &[u8]) -> bool {
    matches!(
        start.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{' | b'[')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory(data: &[&str], raw: &[&str]) -> (Vec<u8>, &'static str) {
        let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        match payload(&own(data), &own(raw), true).unwrap().unwrap() {
            p @ Payload::Memory { .. } => {
                let t = p.media_type();
                let Payload::Memory { bytes, .. } = p else {
                    unreachable!()
                };
                (bytes, t)
            }
            Payload::File { .. } => panic!("streamed"),
        }
    }

    #[test]
    fn values_are_joined_and_typed() {
        assert_eq!(
            memory(&["a=1", "b=2"], &[]),
            (b"a=1&b=2".to_vec(), "application/x-www-form-urlencoded")
        );
        assert_eq!(
            memory(&["{\"a\": 1}"], &[]),
            (b"{\"a\": 1}".to_vec(), "application/json")
        );
        assert_eq!(
            memory(&[], &["@not-a-file"]),
            (b"@not-a-file".to_vec(), "application/x-www-form-urlencoded")
        );
        assert!(payload(&[], &[], true).unwrap().is_none());
    }

    #[test]
    fn a_file_alone_is_streamed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.json");
        std::fs::write(&path, "  {\"x\": 1}").unwrap();
        let at = [format!("@{}", path.display())];
        let p = payload(&at, &[], true).unwrap().unwrap();
        assert_eq!(p.streamed_length(), Some(10));
        assert_eq!(p.media_type(), "application/json");
        let p = payload(&at, &[], false).unwrap().unwrap();
        assert_eq!(p.streamed_length(), None, "kept in memory when asked");
        assert!(payload(&["@/nonexistent/x".into()], &[], true).is_err());
    }
}
