//! `multipart/mixed` bodies (RFC 2046 §5.1) and the batches of HTTP 207 Multi-Status
//! responses.
//!
//! Some APIs (RingCentral among them) answer a batch request with `207 Multi-Status` and a
//! `multipart/mixed` body. The first part is JSON, `{"response": [{"status": N}, ...]}`, and
//! holds the real status of each following part, one to one. [`parse`] splits a body into
//! [`Part`]s (or [`Parser`] does it as bytes arrive), [`Batch::from_parts`] pairs the parts
//! with their statuses, and [`write()`] builds a body, e.g. for an emulator.
//!
//! ```
//! use verdict::multipart::{self, Batch, Limits};
//!
//! let content_type = "multipart/mixed; boundary=Boundary_1";
//! let body = b"--Boundary_1\r\nContent-Type: application/json\r\n\r\n\
//! {\"response\":[{\"status\":200},{\"status\":404}]}\r\n\
//! --Boundary_1\r\nContent-Type: application/json\r\n\r\n{\"id\":\"1\"}\r\n\
//! --Boundary_1\r\nContent-Type: application/json\r\n\r\n{\"errorCode\":\"CMN-102\"}\r\n\
//! --Boundary_1--\r\n";
//! let batch = Batch::from_parts(multipart::parse(content_type, body, &Limits::default())?)?;
//! let statuses: Vec<u16> = batch.iter().map(|(status, _)| status.as_u16()).collect();
//! assert_eq!(statuses, [200, 404]);
//! # Ok::<(), multipart::BatchError>(())
//! ```
//!
//! Parsing never panics and never buffers without bound: every size is checked against
//! [`Limits`] as the bytes arrive. Part indices in errors count from 0, the first part after
//! the preamble (in a batch, part 0 is the status list).

use std::mem;

use http::StatusCode;
use http::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

/// Limits that keep a hostile body from exhausting memory.
///
/// Each limit is checked as bytes arrive, so a body that breaks one fails as soon as it
/// does, not after it has been buffered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most parts a body may have.
    pub max_parts: usize,
    /// The most bytes one part's body may have (its headers are not counted).
    pub max_part_bytes: usize,
    /// The most bytes the parser accepts in all, preamble and epilogue included.
    pub max_total_bytes: usize,
    /// The most bytes one part's header section may take, line ends and the blank line that
    /// ends it included. It also bounds the transport padding after a boundary.
    pub max_header_bytes: usize,
}

impl Default for Limits {
    /// 1000 parts, 16 MiB per part, 64 MiB in all, 16 KiB of headers per part.
    fn default() -> Self {
        Limits {
            max_parts: 1000,
            max_part_bytes: 16 << 20,
            max_total_bytes: 64 << 20,
            max_header_bytes: 16 << 10,
        }
    }
}

/// One body part: its headers and its body, exactly as received (no transfer decoding).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Part {
    /// The part's headers, names lower-cased, values in the order they came.
    pub headers: HeaderMap,
    /// The part's body, without the line break that precedes the next boundary.
    pub body: Vec<u8>,
}

impl Part {
    /// The part's `Content-Type`, if it has one that is visible ASCII.
    pub fn content_type(&self) -> Option<&str> {
        self.headers.get(CONTENT_TYPE)?.to_str().ok()
    }

    /// The body parsed as JSON. The part does not know its index, so the error's `part` is
    /// `None`.
    pub fn json(&self) -> Result<Value, BatchError> {
        json_of(&self.body, None)
    }
}

/// Why a multipart body or a 207 batch could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum BatchError {
    /// The Content-Type is not `multipart/*`.
    #[error("the Content-Type {content_type:?} is not multipart/*")]
    NotMultipart {
        /// The Content-Type as given (shortened if long).
        content_type: String,
    },
    /// The Content-Type has no `boundary` parameter.
    #[error("the Content-Type {content_type:?} has no boundary parameter")]
    NoBoundary {
        /// The Content-Type as given (shortened if long).
        content_type: String,
    },
    /// The boundary breaks RFC 2046 (empty, too long, a character outside `bchars`, ...).
    #[error("the multipart boundary {boundary:?} is invalid: {reason}")]
    InvalidBoundary {
        /// The boundary as given (shortened if long).
        boundary: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The body ends without ever containing a boundary line.
    #[error("the body ends without a boundary line --{boundary}")]
    NoDelimiter {
        /// The boundary the parser looked for.
        boundary: String,
    },
    /// The body ends before the close delimiter.
    #[error("the body ends before the closing boundary --{boundary}--")]
    Unterminated {
        /// The boundary the parser looked for.
        boundary: String,
    },
    /// The body has more parts than [`Limits::max_parts`].
    #[error("the body has more than {limit} parts")]
    TooManyParts {
        /// The limit.
        limit: usize,
    },
    /// A part's body is larger than [`Limits::max_part_bytes`].
    #[error("part {part} is larger than the {limit}-byte limit")]
    PartTooLarge {
        /// The part's index.
        part: usize,
        /// The limit.
        limit: usize,
    },
    /// A part's header section is larger than [`Limits::max_header_bytes`].
    #[error("the headers of part {part} are larger than the {limit}-byte limit")]
    HeadersTooLarge {
        /// The part's index.
        part: usize,
        /// The limit.
        limit: usize,
    },
    /// A part has more header lines than a [`HeaderMap`] can hold.
    #[error("part {part} has more header lines than a header map can hold")]
    TooManyHeaders {
        /// The part's index.
        part: usize,
    },
    /// The transport padding after a boundary is longer than [`Limits::max_header_bytes`].
    #[error("the boundary line before part {part} has more than {limit} bytes of padding")]
    PaddingTooLong {
        /// The index of the part the boundary line would open.
        part: usize,
        /// The limit.
        limit: usize,
    },
    /// The body is larger than [`Limits::max_total_bytes`].
    #[error("the body is larger than the {limit}-byte limit")]
    TotalTooLarge {
        /// The limit.
        limit: usize,
    },
    /// A header line starts with a space or a tab (obsolete line folding).
    #[error("part {part} has a folded header line (one starting with a space or tab): {line:?}")]
    FoldedHeader {
        /// The part's index.
        part: usize,
        /// The line (shortened if long, invalid UTF-8 replaced).
        line: String,
    },
    /// A header line is not `Name: value` with a valid name and value.
    #[error("part {part} has a malformed header line {line:?}: {reason}")]
    MalformedHeader {
        /// The part's index.
        part: usize,
        /// The line (shortened if long, invalid UTF-8 replaced).
        line: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A part's body is not JSON.
    #[error("{} is not valid JSON: {reason}", part_name(*.part))]
    NotJson {
        /// The part's index, when known.
        part: Option<usize>,
        /// The JSON parser's message.
        reason: String,
    },
    /// A batch has no parts at all.
    #[error("the batch has no parts; a 207 body starts with a part listing the statuses")]
    NoParts,
    /// A batch's first part has no `"response"` array.
    #[error("part 0 has no \"response\" array listing the statuses")]
    NoResponseArray,
    /// An entry of the status list has no `"status"` integer in 100..=599.
    #[error(
        "entry {entry} of the status list has no valid \"status\" (an integer 100..=599): found {found}"
    )]
    InvalidStatus {
        /// The entry's index in the `"response"` array.
        entry: usize,
        /// What the entry holds instead, as JSON (shortened if long), or `nothing`.
        found: String,
    },
    /// The status list and the parts after it differ in number.
    #[error("the status list has {statuses} entries but the batch has {parts} parts")]
    CountMismatch {
        /// Entries in the status list.
        statuses: usize,
        /// Parts after the status part.
        parts: usize,
    },
}

fn part_name(part: Option<usize>) -> String {
    match part {
        Some(index) => format!("part {index}"),
        None => "the part".to_owned(),
    }
}

/// At most 80 characters of `text`, for error messages.
fn preview(text: &str) -> String {
    const MAX: usize = 80;
    match text.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_owned(),
    }
}

fn preview_bytes(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(4 * 80)];
    preview(&String::from_utf8_lossy(head))
}

fn json_of(body: &[u8], part: Option<usize>) -> Result<Value, BatchError> {
    serde_json::from_slice(body).map_err(|e| BatchError::NotJson {
        part,
        reason: e.to_string(),
    })
}

/// The boundary parameter of a multipart Content-Type.
///
/// The parameter may be quoted or not, its name is matched case-insensitively and it may
/// come in any order among the others. The boundary is returned as given (boundaries are
/// case-sensitive).
///
/// Errors: the type is not `multipart/*` ([`BatchError::NotMultipart`]), there is no
/// boundary ([`BatchError::NoBoundary`]), or it is invalid ([`BatchError::InvalidBoundary`]:
/// empty, longer than 70 characters, a character outside RFC 2046 `bchars`, a trailing
/// space, an unclosed quote, or given twice).
///
/// ```
/// use verdict::multipart::boundary;
/// assert_eq!(boundary("multipart/mixed; boundary=abc").unwrap(), "abc");
/// assert_eq!(boundary("Multipart/Mixed; charset=utf-8; BOUNDARY=\"a b:c\"").unwrap(), "a b:c");
/// assert!(boundary("application/json").is_err());
/// ```
pub fn boundary(content_type: &str) -> Result<String, BatchError> {
    let (media, params) = content_type.split_once(';').unwrap_or((content_type, ""));
    let is_multipart = media.split_once('/').is_some_and(|(kind, subtype)| {
        kind.trim().eq_ignore_ascii_case("multipart") && !subtype.trim().is_empty()
    });
    if !is_multipart {
        return Err(BatchError::NotMultipart {
            content_type: preview(content_type),
        });
    }

    let mut found: Option<String> = None;
    for p in Params::new(params) {
        let is_boundary = p.name.eq_ignore_ascii_case("boundary");
        if !p.closed {
            if is_boundary {
                return Err(invalid_boundary(
                    &p.value,
                    "its quoted string is not closed",
                ));
            }
            break;
        }
        if is_boundary {
            if found.is_some() {
                return Err(invalid_boundary(
                    &p.value,
                    "the boundary parameter is given twice",
                ));
            }
            found = Some(p.value);
        }
    }

    let boundary = found.ok_or_else(|| BatchError::NoBoundary {
        content_type: preview(content_type),
    })?;
    check_boundary(&boundary)?;
    Ok(boundary)
}

/// One `name=value` parameter of a media type; `closed` is false for a quoted value that
/// runs to the end without its closing quote.
struct Param<'a> {
    name: &'a str,
    value: String,
    closed: bool,
}

/// The parameters after a media type's first ';': `name=value` or `name="quoted value"`,
/// separated by ';'. A parameter without '=' is passed over.
struct Params<'a> {
    src: &'a str,
    i: usize,
}

impl<'a> Params<'a> {
    fn new(src: &'a str) -> Params<'a> {
        Params { src, i: 0 }
    }

    fn skip_while(&mut self, f: impl Fn(u8) -> bool) {
        let bytes = self.src.as_bytes();
        while self.i < bytes.len() && f(bytes[self.i]) {
            self.i += 1;
        }
    }

    /// A quoted string from its opening quote: the value with escapes removed, and
    /// whether it was closed.
    fn quoted(&mut self) -> (String, bool) {
        let bytes = self.src.as_bytes();
        self.i += 1;
        let mut value = Vec::new();
        while self.i < bytes.len() {
            match bytes[self.i] {
                b'"' => {
                    self.i += 1;
                    // Anything between the closing quote and the next ';' is ignored.
                    self.skip_while(|b| b != b';');
                    return (String::from_utf8_lossy(&value).into_owned(), true);
                }
                b'\\' if self.i + 1 < bytes.len() => {
                    value.push(bytes[self.i + 1]);
                    self.i += 2;
                }
                other => {
                    value.push(other);
                    self.i += 1;
                }
            }
        }
        (String::from_utf8_lossy(&value).into_owned(), false)
    }
}

impl<'a> Iterator for Params<'a> {
    type Item = Param<'a>;

    fn next(&mut self) -> Option<Param<'a>> {
        let bytes = self.src.as_bytes();
        loop {
            self.skip_while(|b| matches!(b, b' ' | b'\t' | b';'));
            if self.i >= bytes.len() {
                return None;
            }
            let start = self.i;
            self.skip_while(|b| !matches!(b, b'=' | b';'));
            if self.i < bytes.len() && bytes[self.i] == b'=' {
                let name = self.src[start..self.i].trim();
                self.i += 1;
                self.skip_while(|b| matches!(b, b' ' | b'\t'));
                let (value, closed) = if bytes.get(self.i) == Some(&b'"') {
                    self.quoted()
                } else {
                    let start = self.i;
                    self.skip_while(|b| b != b';');
                    (self.src[start..self.i].trim().to_owned(), true)
                };
                return Some(Param {
                    name,
                    value,
                    closed,
                });
            }
        }
    }
}

fn invalid_boundary(boundary: &str, reason: impl Into<String>) -> BatchError {
    BatchError::InvalidBoundary {
        boundary: preview(boundary),
        reason: reason.into(),
    }
}

/// RFC 2046: `boundary := 0*69<bchars> bcharsnospace`.
fn check_boundary(boundary: &str) -> Result<(), BatchError> {
    if boundary.is_empty() {
        return Err(invalid_boundary(boundary, "it is empty"));
    }
    if boundary.chars().count() > 70 {
        return Err(invalid_boundary(
            boundary,
            "it is longer than 70 characters",
        ));
    }
    let bchar = |c: char| c.is_ascii_alphanumeric() || "'()+_,-./:=? ".contains(c);
    if let Some(c) = boundary.chars().find(|&c| !bchar(c)) {
        return Err(invalid_boundary(
            boundary,
            format!("it contains {c:?}, which RFC 2046 does not allow"),
        ));
    }
    if boundary.ends_with(' ') {
        return Err(invalid_boundary(boundary, "it ends with a space"));
    }
    Ok(())
}

/// Where the parser is in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Region {
    /// Before the first boundary line: discarded.
    Preamble,
    /// A part's header lines.
    Headers,
    /// A part's body.
    Body,
    /// After the close delimiter: discarded.
    Epilogue,
}

/// How much of a possible delimiter the scanner has matched (in the preamble or a body).
/// The bytes matched so far wait in `Parser::pending` until it is known whether they are a
/// delimiter (dropped) or data (passed on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scan {
    /// Not in a delimiter.
    Data,
    /// A CR that may start `CRLF--boundary`.
    Cr,
    /// At the start of a line, with this many bytes of `--boundary` matched.
    Dash(usize),
    /// `--boundary` matched.
    AfterBoundary,
    /// `--boundary` and transport padding matched.
    Pad,
    /// `--boundary`, maybe padding, and a CR matched.
    PadCr,
    /// `--boundary-` matched.
    CloseDash,
}

/// A push parser for a `multipart/mixed` body.
///
/// Bytes arrive in chunks of any size (even one byte, splitting a boundary or a line break
/// anywhere); each [`feed`](Parser::feed) returns the parts completed so far. The parser holds
/// at most one unfinished part, so its memory stays within the [`Limits`].
///
/// It follows RFC 2046 §5.1.1: the preamble before the first `--boundary` line and the
/// epilogue after `--boundary--` are ignored; the line break before a boundary belongs to the
/// delimiter, not the body; spaces and tabs may follow the boundary on its line; and bare LF
/// line ends are accepted as well as CRLF. A boundary that is not at the start of a line is
/// body data. Once a call fails, every later call returns the same error.
///
/// ```
/// use verdict::multipart::{Limits, Parser};
///
/// let mut parser = Parser::new("b", Limits::default());
/// let mut parts = parser.feed(b"--b\r\nContent-Type: text/plain\r\n\r\nhel").unwrap();
/// assert!(parts.is_empty());
/// parts.extend(parser.feed(b"lo\r\n--b--\r\n").unwrap());
/// parts.extend(parser.finish().unwrap());
/// assert_eq!(parts[0].body, b"hello");
/// assert_eq!(parts[0].content_type(), Some("text/plain"));
/// ```
#[derive(Debug)]
pub struct Parser {
    boundary: String,
    /// `--` and the boundary.
    dash_boundary: Vec<u8>,
    limits: Limits,
    region: Region,
    scan: Scan,
    /// Bytes of a possible delimiter, held back until it is known whether they are one.
    pending: Vec<u8>,
    /// Bytes of transport padding in `pending`.
    padding: usize,
    /// Parts opened so far; the current part's index is one less.
    opened: usize,
    /// Bytes of the current part's header section so far.
    header_bytes: usize,
    /// The current, unfinished header line.
    line: Vec<u8>,
    headers: HeaderMap,
    body: Vec<u8>,
    /// Bytes fed so far.
    total: usize,
    failed: Option<BatchError>,
}

impl Parser {
    /// A parser for a body delimited by `boundary` (without the leading `--`).
    ///
    /// An invalid boundary does not panic: the first [`feed`](Parser::feed) or
    /// [`finish`](Parser::finish) returns [`BatchError::InvalidBoundary`].
    pub fn new(boundary: &str, limits: Limits) -> Parser {
        let mut dash_boundary = b"--".to_vec();
        dash_boundary.extend_from_slice(boundary.as_bytes());
        Parser {
            boundary: boundary.to_owned(),
            dash_boundary,
            limits,
            region: Region::Preamble,
            // The start of the input is the start of a line.
            scan: Scan::Dash(0),
            pending: Vec::new(),
            padding: 0,
            opened: 0,
            header_bytes: 0,
            line: Vec::new(),
            headers: HeaderMap::new(),
            body: Vec::new(),
            total: 0,
            failed: check_boundary(boundary).err(),
        }
    }

    /// Takes the next chunk of the body and returns the parts it completed, in order.
    ///
    /// Errors as soon as the bytes seen break a limit or hold a malformed header.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<Part>, BatchError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        let mut done = Vec::new();
        match self.run(chunk, &mut done) {
            Ok(()) => Ok(done),
            Err(error) => Err(self.fail(error)),
        }
    }

    /// Ends the input: the parts not yet returned, but only if the close delimiter
    /// `--boundary--` was seen.
    ///
    /// [`feed`](Parser::feed) returns each part as soon as the delimiter after it is
    /// complete, and the close delimiter completes the last one, so on success the list is
    /// empty; it is there so that a caller can treat `finish` like a last `feed`.
    /// Errors: [`BatchError::NoDelimiter`] if no boundary line came at all,
    /// [`BatchError::Unterminated`] if the body stops inside a part.
    pub fn finish(self) -> Result<Vec<Part>, BatchError> {
        if let Some(error) = self.failed {
            return Err(error);
        }
        let boundary = self.boundary;
        match self.region {
            Region::Epilogue => Ok(Vec::new()),
            Region::Preamble => Err(BatchError::NoDelimiter { boundary }),
            Region::Headers | Region::Body => Err(BatchError::Unterminated { boundary }),
        }
    }

    fn fail(&mut self, error: BatchError) -> BatchError {
        self.failed = Some(error.clone());
        // Release what the unfinished part held.
        self.pending = Vec::new();
        self.line = Vec::new();
        self.headers = HeaderMap::new();
        self.body = Vec::new();
        error
    }

    fn run(&mut self, chunk: &[u8], done: &mut Vec<Part>) -> Result<(), BatchError> {
        self.total = self.total.saturating_add(chunk.len());
        if self.total > self.limits.max_total_bytes {
            return Err(BatchError::TotalTooLarge {
                limit: self.limits.max_total_bytes,
            });
        }
        let mut i = 0;
        while i < chunk.len() {
            match self.region {
                Region::Epilogue => return Ok(()),
                Region::Headers => {
                    self.header_byte(chunk[i])?;
                    i += 1;
                }
                Region::Preamble | Region::Body => {
                    if self.scan == Scan::Data {
                        // Fast path: everything up to the next line break is data.
                        let rest = &chunk[i..];
                        let run = rest
                            .iter()
                            .position(|&b| b == b'\r' || b == b'\n')
                            .unwrap_or(rest.len());
                        if run > 0 {
                            self.data(&rest[..run])?;
                            i += run;
                            continue;
                        }
                    }
                    self.scan_byte(chunk[i], done)?;
                    i += 1;
                }
            }
        }
        Ok(())
    }

    /// Bytes known to be data: part of the current body, or dropped in the preamble.
    fn data(&mut self, bytes: &[u8]) -> Result<(), BatchError> {
        if self.region != Region::Body {
            return Ok(());
        }
        if bytes.len() > self.limits.max_part_bytes.saturating_sub(self.body.len()) {
            return Err(BatchError::PartTooLarge {
                part: self.opened - 1,
                limit: self.limits.max_part_bytes,
            });
        }
        self.body.extend_from_slice(bytes);
        Ok(())
    }

    /// One byte of the preamble or a body, where a delimiter may start.
    fn scan_byte(&mut self, b: u8, done: &mut Vec<Part>) -> Result<(), BatchError> {
        loop {
            let next = match (self.scan, b) {
                (Scan::Data, b'\r') => Scan::Cr,
                (Scan::Data, b'\n') | (Scan::Cr, b'\n') => Scan::Dash(0),
                (Scan::Data, _) => {
                    self.data(&[b])?;
                    return Ok(());
                }
                (Scan::Dash(k), _) if self.dash_boundary.get(k) == Some(&b) => {
                    if k + 1 == self.dash_boundary.len() {
                        Scan::AfterBoundary
                    } else {
                        Scan::Dash(k + 1)
                    }
                }
                (Scan::AfterBoundary, b'-') => Scan::CloseDash,
                (Scan::CloseDash, b'-') => return self.delimiter(true, done),
                (Scan::AfterBoundary | Scan::Pad, b' ' | b'\t') => {
                    self.padding += 1;
                    if self.padding > self.limits.max_header_bytes {
                        return Err(BatchError::PaddingTooLong {
                            part: self.opened,
                            limit: self.limits.max_header_bytes,
                        });
                    }
                    Scan::Pad
                }
                (Scan::AfterBoundary | Scan::Pad, b'\r') => Scan::PadCr,
                (Scan::AfterBoundary | Scan::Pad | Scan::PadCr, b'\n') => {
                    return self.delimiter(false, done);
                }
                _ => {
                    // Not a delimiter after all: what was held back is data. The byte
                    // itself may start a new delimiter, so look at it again. `--boundary`
                    // holds no CR or LF, so no delimiter can start inside `pending`.
                    let pending = mem::take(&mut self.pending);
                    self.padding = 0;
                    self.scan = Scan::Data;
                    self.data(&pending)?;
                    self.pending = pending;
                    self.pending.clear();
                    continue;
                }
            };
            self.pending.push(b);
            self.scan = next;
            return Ok(());
        }
    }

    /// A complete delimiter line (or close delimiter) was seen.
    fn delimiter(&mut self, close: bool, done: &mut Vec<Part>) -> Result<(), BatchError> {
        self.pending.clear();
        self.padding = 0;
        if self.region == Region::Body {
            done.push(Part {
                headers: mem::take(&mut self.headers),
                body: mem::take(&mut self.body),
            });
        }
        if close {
            self.region = Region::Epilogue;
            self.pending = Vec::new();
            self.line = Vec::new();
            return Ok(());
        }
        if self.opened >= self.limits.max_parts {
            return Err(BatchError::TooManyParts {
                limit: self.limits.max_parts,
            });
        }
        self.opened += 1;
        self.region = Region::Headers;
        self.header_bytes = 0;
        self.line.clear();
        Ok(())
    }

    /// One byte of a part's header section.
    fn header_byte(&mut self, b: u8) -> Result<(), BatchError> {
        let part = self.opened - 1;
        self.header_bytes += 1;
        if self.header_bytes > self.limits.max_header_bytes {
            return Err(BatchError::HeadersTooLarge {
                part,
                limit: self.limits.max_header_bytes,
            });
        }
        if b != b'\n' {
            self.line.push(b);
            return Ok(());
        }
        let mut line = mem::take(&mut self.line);
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if line.is_empty() {
            // The blank line: the body starts, at the start of a line.
            self.region = Region::Body;
            self.scan = Scan::Dash(0);
            self.pending.clear();
        } else {
            self.header_line(part, &line)?;
        }
        line.clear();
        self.line = line;
        Ok(())
    }

    fn header_line(&mut self, part: usize, line: &[u8]) -> Result<(), BatchError> {
        let malformed = |reason| BatchError::MalformedHeader {
            part,
            line: preview_bytes(line),
            reason,
        };
        if matches!(line.first(), Some(b' ' | b'\t')) {
            return Err(BatchError::FoldedHeader {
                part,
                line: preview_bytes(line),
            });
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or_else(|| malformed("it has no ':'"))?;
        let name = trim(&line[..colon]);
        let value = trim(&line[colon + 1..]);
        let name = HeaderName::from_bytes(name).map_err(|_| malformed("the name is not valid"))?;
        let value =
            HeaderValue::from_bytes(value).map_err(|_| malformed("the value is not valid"))?;
        self.headers
            .try_append(name, value)
            .map_err(|_| BatchError::TooManyHeaders { part })?;
        Ok(())
    }
}

/// `bytes` without leading and trailing spaces and tabs.
fn trim(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

/// Parses a whole `multipart/*` body at once, taking the boundary from `content_type`.
///
/// The same as [`boundary`], then a [`Parser`] fed the whole body, then
/// [`finish`](Parser::finish).
pub fn parse(content_type: &str, body: &[u8], limits: &Limits) -> Result<Vec<Part>, BatchError> {
    let boundary = boundary(content_type)?;
    let mut parser = Parser::new(&boundary, *limits);
    let mut parts = parser.feed(body)?;
    parts.extend(parser.finish()?);
    Ok(parts)
}

/// A 207 Multi-Status batch: the real status of each part.
///
/// The body's first part is JSON, `{"response": [{"status": N, ...}, ...]}`, with one entry
/// per following part, in order. `statuses[i]` is the status of `parts[i]`; the status part
/// itself is not in `parts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// The status of each part, from the first part's `"response"` array.
    pub statuses: Vec<StatusCode>,
    /// The parts after the status part.
    pub parts: Vec<Part>,
}

impl Batch {
    /// Reads the status list from the first part and pairs it with the others.
    ///
    /// Errors: no parts ([`BatchError::NoParts`]), a first part that is not JSON
    /// ([`BatchError::NotJson`]) or has no `"response"` array ([`BatchError::NoResponseArray`]),
    /// an entry whose `"status"` is not an integer in 100..=599
    /// ([`BatchError::InvalidStatus`]), or a count that differs from the number of parts
    /// ([`BatchError::CountMismatch`]).
    pub fn from_parts(parts: Vec<Part>) -> Result<Batch, BatchError> {
        let mut parts = parts.into_iter();
        let first = parts.next().ok_or(BatchError::NoParts)?;
        let list = json_of(&first.body, Some(0))?;
        let list = list
            .get("response")
            .and_then(Value::as_array)
            .ok_or(BatchError::NoResponseArray)?;
        let statuses = list
            .iter()
            .enumerate()
            .map(|(entry, item)| status_of(entry, item))
            .collect::<Result<Vec<_>, _>>()?;
        let parts: Vec<Part> = parts.collect();
        if statuses.len() != parts.len() {
            return Err(BatchError::CountMismatch {
                statuses: statuses.len(),
                parts: parts.len(),
            });
        }
        Ok(Batch { statuses, parts })
    }

    /// Each part with its status, in order.
    pub fn iter(&self) -> impl Iterator<Item = (StatusCode, &Part)> {
        self.statuses.iter().copied().zip(&self.parts)
    }
}

fn status_of(entry: usize, item: &Value) -> Result<StatusCode, BatchError> {
    let status = item.get("status");
    status
        .and_then(Value::as_u64)
        .filter(|n| (100..=599).contains(n))
        .and_then(|n| u16::try_from(n).ok())
        .and_then(|n| StatusCode::from_u16(n).ok())
        .ok_or_else(|| BatchError::InvalidStatus {
            entry,
            found: status.map_or_else(|| "nothing".to_owned(), |v| preview(&v.to_string())),
        })
}

/// Serialises parts as a `multipart/mixed` body: each part opens with a `--boundary` line,
/// then its headers, a blank line and its body; the close delimiter `--boundary--` ends it.
/// Lines end with CRLF.
///
/// The boundary is not checked: it should be valid (see [`boundary`]) and appear in no
/// part's body, or the body will not parse back into the same parts.
///
/// ```
/// use verdict::multipart::{write, Part};
/// let part = Part { headers: Default::default(), body: b"hi".to_vec() };
/// assert_eq!(write("b", &[part]), b"--b\r\n\r\nhi\r\n--b--\r\n");
/// ```
pub fn write(boundary: &str, parts: &[Part]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        out.extend_from_slice(b"--");
        out.extend_from_slice(boundary.as_bytes());
        out.extend_from_slice(b"\r\n");
        for (name, value) in &part.headers {
            // Header names go out in their usual capitalisation (`Content-Type`): some
            // clients look part headers up case-sensitively.
            for (i, word) in name.as_str().split('-').enumerate() {
                if i > 0 {
                    out.push(b'-');
                }
                let mut chars = word.bytes();
                if let Some(first) = chars.next() {
                    out.push(first.to_ascii_uppercase());
                    out.extend(chars);
                }
            }
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&part.body);
        // The line break before the next boundary belongs to the delimiter.
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"--");
    out.extend_from_slice(boundary.as_bytes());
    out.extend_from_slice(b"--\r\n");
    out
}
