//! Token responses (RFC 6749 §5.1 and §5.2) and the token file.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::OAuthError;

/// The longest lifetime taken from a token response; a larger `expires_in` is read as this.
const LONGEST: Duration = Duration::from_secs(10 * 365 * 86_400);

/// Access and refresh tokens, as the token endpoint issued them.
///
/// Its `Debug` shows no secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Tokens {
    /// The access token, sent as `Authorization: Bearer …`.
    pub access_token: String,
    /// The token type (`bearer`; no other type is used).
    pub token_type: String,
    /// When the access token expires, when the endpoint said (`expires_in`).
    pub expires_at: Option<SystemTime>,
    /// The access token's lifetime as issued (`expires_in`).
    pub lifetime: Option<Duration>,
    /// The refresh token, when one was issued (a refresh that issues none keeps the old one).
    pub refresh_token: Option<String>,
    /// When the refresh token expires (`refresh_token_expires_in`, as RingCentral sends).
    pub refresh_token_expires_at: Option<SystemTime>,
    /// The scope granted.
    pub scope: Option<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("access_token", &"(hidden)")
            .field("token_type", &self.token_type)
            .field("expires_at", &self.expires_at)
            .field("lifetime", &self.lifetime)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "(hidden)"),
            )
            .field("refresh_token_expires_at", &self.refresh_token_expires_at)
            .field("scope", &self.scope)
            .finish()
    }
}

impl Tokens {
    /// The refresh token, if there is one that has not expired at `now`.
    pub fn usable_refresh_token(&self, now: SystemTime) -> Option<&str> {
        let alive = self.refresh_token_expires_at.is_none_or(|t| now < t);
        self.refresh_token.as_deref().filter(|_| alive)
    }
}

/// A string member, when it is a non-empty string.
fn text<'a>(body: &'a serde_json::Map<String, Value>, key: &str) -> Option<&'a str> {
    body.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// A number of seconds, as a number or a numeric string (servers send both); anything
/// else, or a value not above 0, is no answer.
fn seconds(v: Option<&Value>) -> Option<Duration> {
    let n = match v? {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    (n.is_finite() && n > 0.0).then(|| Duration::from_secs_f64(n.min(LONGEST.as_secs_f64())))
}

/// The tokens of a successful token response received at `now`. A response without a
/// refresh token keeps `previous`'s (RFC 6749 §6).
pub(super) fn parse(
    body: &[u8],
    now: SystemTime,
    previous: Option<&Tokens>,
) -> Result<Tokens, OAuthError> {
    let malformed = |m: &str| OAuthError::Malformed(m.to_owned());
    let json: Value =
        serde_json::from_slice(body).map_err(|_| malformed("the body is not JSON"))?;
    let body = json
        .as_object()
        .ok_or_else(|| malformed("the body is not a JSON object"))?;
    let access = text(body, "access_token").ok_or_else(|| malformed("no access_token"))?;
    if crate::auth::bearer_value(access).is_err() {
        return Err(malformed(
            "the access token holds characters not allowed in a header",
        ));
    }
    let token_type = text(body, "token_type").unwrap_or("bearer");
    if !token_type.eq_ignore_ascii_case("bearer") {
        return Err(OAuthError::Malformed(format!(
            "token_type {:?} is not supported; only bearer tokens are",
            super::one_line(token_type)
        )));
    }
    let lifetime = seconds(body.get("expires_in"));
    let (refresh_token, refresh_token_expires_at) = match text(body, "refresh_token") {
        Some(r) => (
            Some(r.to_owned()),
            seconds(body.get("refresh_token_expires_in")).and_then(|d| now.checked_add(d)),
        ),
        None => previous
            .map(|p| (p.refresh_token.clone(), p.refresh_token_expires_at))
            .unwrap_or_default(),
    };
    Ok(Tokens {
        access_token: access.to_owned(),
        token_type: token_type.to_owned(),
        expires_at: lifetime.and_then(|d| now.checked_add(d)),
        lifetime,
        refresh_token,
        refresh_token_expires_at,
        scope: text(body, "scope").map(str::to_owned),
    })
}

/// The token file: the tokens with absolute times (seconds since 1970, to the
/// millisecond), and the token endpoint they belong to.
#[derive(Debug, Serialize, Deserialize)]
struct Saved {
    token_url: String,
    access_token: String,
    #[serde(default = "bearer")]
    token_type: String,
    #[serde(default)]
    expires_at: Option<f64>,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    refresh_token_expires_at: Option<f64>,
    #[serde(default)]
    scope: Option<String>,
}

fn bearer() -> String {
    "bearer".into()
}

fn to_unix(t: SystemTime) -> f64 {
    let ms = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
    ms as f64 / 1000.0
}

fn from_unix(s: f64) -> Option<SystemTime> {
    let d = Duration::try_from_secs_f64(s).ok()?;
    UNIX_EPOCH.checked_add(d)
}

fn file_error(path: &Path, message: impl Into<String>) -> OAuthError {
    OAuthError::TokenFile {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// The tokens of a token file's text for `token_url`: `None` when they belong to another
/// endpoint (never sent anywhere else); an error when the text is not a token file.
pub(super) fn decode(bytes: &[u8], token_url: &str) -> Result<Option<Tokens>, String> {
    let saved: Saved = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    if saved.token_url != token_url {
        return Ok(None);
    }
    if crate::auth::bearer_value(&saved.access_token).is_err() {
        return Err("the access token is not a valid header value".into());
    }
    Ok(Some(Tokens {
        access_token: saved.access_token,
        token_type: saved.token_type,
        expires_at: saved.expires_at.and_then(from_unix),
        lifetime: saved.expires_in.map(Duration::from_secs),
        refresh_token: saved.refresh_token,
        refresh_token_expires_at: saved.refresh_token_expires_at.and_then(from_unix),
        scope: saved.scope,
    }))
}

/// The text of a token file holding `tokens` of `token_url`.
pub(super) fn encode(token_url: &str, tokens: &Tokens) -> String {
    let saved = Saved {
        token_url: token_url.to_owned(),
        access_token: tokens.access_token.clone(),
        token_type: tokens.token_type.clone(),
        expires_at: tokens.expires_at.map(to_unix),
        expires_in: tokens.lifetime.map(|d| d.as_secs()),
        refresh_token: tokens.refresh_token.clone(),
        refresh_token_expires_at: tokens.refresh_token_expires_at.map(to_unix),
        scope: tokens.scope.clone(),
    };
    // Strings and numbers only: serializing cannot fail.
    serde_json::to_string_pretty(&saved).unwrap_or_default()
}

/// The tokens in the file at `path` for `token_url`: `None` when the file does not exist,
/// is empty, or holds tokens of another endpoint (never sent anywhere else).
pub(super) fn read(path: &Path, token_url: &str) -> Result<Option<Tokens>, OAuthError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(file_error(path, format!("cannot read it: {e}"))),
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let found = decode(&bytes, token_url).map_err(|e| {
        file_error(
            path,
            format!("not a usable token file ({e}); remove it to sign in again"),
        )
    })?;
    if found.is_none() {
        tracing::warn!(file = %path.display(), "the token file holds tokens of another token endpoint; not using them");
    }
    Ok(found)
}

/// Writes `tokens` to `path` at once: into a new file beside it (readable by the owner
/// only), then renamed over it, so that a reader sees the old tokens or the new ones.
pub(super) fn write(path: &Path, token_url: &str, tokens: &Tokens) -> Result<(), OAuthError> {
    let json = encode(token_url, tokens);
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .ok_or_else(|| file_error(path, "the path names no file"))?;
    let temp = path.with_file_name(format!(
        ".{}.{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = write_new(&temp, json.as_bytes()).and_then(|()| std::fs::rename(&temp, path));
    written.map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        file_error(path, format!("cannot write it: {e}"))
    })
}

fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(s)
    }

    #[test]
    fn a_token_response_is_read_in_full() {
        let body = br#"{"access_token":"a1","token_type":"bearer","expires_in":3600,
            "refresh_token":"r1","refresh_token_expires_in":"604800","scope":"ReadAccounts"}"#;
        let t = parse(body, at(1000), None).unwrap();
        assert_eq!(t.access_token, "a1");
        assert_eq!(t.expires_at, Some(at(4600)));
        assert_eq!(t.lifetime, Some(Duration::from_secs(3600)));
        assert_eq!(t.refresh_token.as_deref(), Some("r1"));
        assert_eq!(t.refresh_token_expires_at, Some(at(605_800)));
        assert_eq!(t.scope.as_deref(), Some("ReadAccounts"));
        assert!(!format!("{t:?}").contains("a1"));
    }

    #[test]
    fn a_refresh_without_a_refresh_token_keeps_the_old_one() {
        let old = parse(br#"{"access_token":"a","refresh_token":"r"}"#, at(0), None).unwrap();
        let t = parse(
            br#"{"access_token":"b","expires_in":-5}"#,
            at(9),
            Some(&old),
        )
        .unwrap();
        assert_eq!(t.refresh_token.as_deref(), Some("r"));
        assert_eq!(t.expires_at, None);
    }

    #[test]
    fn unusable_responses_are_errors() {
        for body in [
            &b"not json"[..],
            b"[]",
            b"{}",
            b"{\"access_token\":\"\"}",
            b"{\"access_token\":\"a\\nb\"}",
            b"{\"access_token\":\"a\",\"token_type\":\"mac\"}",
        ] {
            assert!(
                matches!(parse(body, at(0), None), Err(OAuthError::Malformed(_))),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn the_file_keeps_tokens_for_their_endpoint_only() {
        let dir = std::env::temp_dir().join(format!("verdict-tokens-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tokens.json");
        assert_eq!(read(&path, "http://a/token").unwrap(), None);
        let t = parse(
            br#"{"access_token":"a","expires_in":60,"refresh_token":"r"}"#,
            at(100),
            None,
        )
        .unwrap();
        write(&path, "http://a/token", &t).unwrap();
        assert_eq!(read(&path, "http://a/token").unwrap(), Some(t));
        assert_eq!(read(&path, "http://b/token").unwrap(), None);
        std::fs::write(&path, "{oops").unwrap();
        let e = read(&path, "http://a/token").unwrap_err().to_string();
        assert!(e.contains("tokens.json") && e.contains("remove it"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
