//! The trace on standard error, printed as things happen: each attempt when it is sent,
//! its heads with -v, each decision, each wait (a countdown on a terminal).

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use http::{HeaderMap, HeaderName, StatusCode, header};
use reqwest::{Request, Response};
use verdict_client::Attempt;
use verdict_client::timer::{Timer, Wait};

/// Whether standard error gets colours: a terminal, and no `NO_COLOR` set.
pub(crate) fn colours_on_stderr() -> bool {
    colours(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    )
}

/// Colours on a terminal only, and never when `NO_COLOR` holds a value (no-color.org).
pub(crate) fn colours(terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
}

/// What the trace shows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Show {
    /// Anything at all (not -s).
    pub trace: bool,
    /// Request and response heads (-v).
    pub heads: bool,
    /// Colours and the live countdown.
    pub terminal: bool,
    pub colour: bool,
}

/// What happened so far, for the summary and for a call cut off by --max-time.
#[derive(Debug, Default)]
struct State {
    sent: u32,
    attempts: Vec<Attempt>,
    waited: Duration,
}

/// The observer and timer of one call.
pub(crate) struct Trace {
    show: Show,
    timeout: Duration,
    deadline: Option<Instant>,
    credential_headers: Vec<HeaderName>,
    started: Instant,
    state: Mutex<State>,
}

impl Trace {
    pub fn new(
        show: Show,
        timeout: Duration,
        max_time: Option<Duration>,
        contract: &verdict::Contract,
    ) -> Trace {
        let started = Instant::now();
        let mut credential_headers = vec![
            header::AUTHORIZATION,
            header::PROXY_AUTHORIZATION,
            header::COOKIE,
            header::SET_COOKIE,
        ];
        credential_headers.extend(
            contract
                .auth
                .credential_headers
                .iter()
                .map(|h| h.name().clone()),
        );
        Trace {
            show,
            timeout,
            deadline: max_time.map(|t| started + t),
            credential_headers,
            started,
            state: Mutex::default(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Attempts sent so far.
    pub fn sent(&self) -> u32 {
        self.state().sent
    }

    /// Every attempt decided so far.
    pub fn attempts(&self) -> Vec<Attempt> {
        self.state().attempts.clone()
    }

    /// The time really spent waiting between attempts.
    pub fn waited(&self) -> Duration {
        self.state().waited
    }

    /// The time since the call started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// `N attempts in T s, W s of it waiting`: the time the call really took.
    pub fn timing(&self) -> String {
        let n = self.sent();
        let waited = self.waited();
        let mut s = format!(
            "{n} attempt{} in {:.1} s",
            if n == 1 { "" } else { "s" },
            self.elapsed().as_secs_f64()
        );
        if !waited.is_zero() {
            s.push_str(&format!(", {:.1} s of it waiting", waited.as_secs_f64()));
        }
        s
    }

    /// Prints `line` on standard error unless -s.
    pub fn line(&self, line: &str) {
        if self.show.trace {
            let _ = writeln!(std::io::stderr().lock(), "{line}");
        }
    }

    /// A status, coloured by class on a terminal.
    pub fn status(&self, status: Option<u16>) -> String {
        let Some(s) = status else {
            return self.paint("31", "no answer");
        };
        let text = match StatusCode::from_u16(s)
            .ok()
            .and_then(|c| c.canonical_reason())
        {
            Some(r) => format!("{s} {r}"),
            None => s.to_string(),
        };
        let colour = match s {
            200..=399 => "32",
            400..=499 => "33",
            _ => "31",
        };
        self.paint(colour, &text)
    }

    fn paint(&self, colour: &str, text: &str) -> String {
        if self.show.colour {
            format!("\x1b[{colour}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// How long the attempt about to go may take: its own timeout or what is left of
    /// --max-time, whichever ends first.
    fn due(&self) -> String {
        let left = self
            .deadline
            .map(|d| d.saturating_duration_since(Instant::now()));
        match left {
            Some(left) if left < self.timeout => {
                format!("answer due within {} (--max-time)", secs(left))
            }
            _ => format!("answer due within {}", secs(self.timeout)),
        }
    }

    /// `Name: value` lines of `headers` after `prefix`, credentials masked.
    fn head_lines(&self, prefix: &str, headers: &HeaderMap, out: &mut Vec<String>) {
        for (k, v) in headers {
            let text = String::from_utf8_lossy(v.as_bytes());
            let text = if self.credential_headers.contains(k) {
                mask(&text)
            } else {
                text.into_owned()
            };
            out.push(format!("{prefix}{}: {text}", title_case(k.as_str())));
        }
    }

    fn request_head(&self, request: &Request) -> Vec<String> {
        let url = request.url();
        let mut target = url.path().to_owned();
        if let Some(q) = url.query() {
            target = format!("{target}?{q}");
        }
        let mut out = vec![format!("> {} {target} HTTP/1.1", request.method())];
        let host = match url.port() {
            Some(p) => format!("{}:{p}", url.host_str().unwrap_or("")),
            None => url.host_str().unwrap_or("").to_owned(),
        };
        out.push(format!("> Host: {host}"));
        self.head_lines("> ", request.headers(), &mut out);
        let length = request.body().and_then(|b| b.as_bytes()).map(<[u8]>::len);
        if let (Some(n), false) = (
            length,
            request.headers().contains_key(header::CONTENT_LENGTH),
        ) {
            out.push(format!("> Content-Length: {n}"));
        }
        out.push(">".into());
        out
    }
}

/// `1.5 s`, `30 s`.
fn secs(d: Duration) -> String {
    let s = (d.as_secs_f64() * 10.0).round() / 10.0;
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.1} s")
    }
}

/// `content-type` as `Content-Type`, the way most tools print it.
fn title_case(name: &str) -> String {
    name.split('-')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// A credential shown in part: its scheme and the first few characters of the secret.
pub(crate) fn mask(value: &str) -> String {
    let (scheme, secret) = match value.split_once(' ') {
        Some((s, rest)) if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric()) => {
            (format!("{s} "), rest.trim_start())
        }
        _ => (String::new(), value),
    };
    let keep = (secret.chars().count() / 3).min(4);
    let shown: String = secret.chars().take(keep).collect();
    format!("{scheme}{shown}…")
}

impl verdict_client::Observer for Trace {
    fn sending(&self, number: u32, request: &Request) {
        self.state().sent = number;
        let mut lines = vec![format!(
            "* attempt {number}: {} {} ({})",
            request.method(),
            request.url(),
            self.due()
        )];
        if self.show.heads {
            lines.extend(self.request_head(request));
        }
        self.line(&lines.join("\n"));
    }

    fn received(&self, _number: u32, response: &Response) {
        if !self.show.heads {
            return;
        }
        let mut lines = vec![format!(
            "< {:?} {}",
            response.version(),
            self.status(Some(response.status().as_u16()))
        )];
        self.head_lines("< ", response.headers(), &mut lines);
        lines.push("<".into());
        self.line(&lines.join("\n"));
    }

    fn decided(&self, attempt: &Attempt) {
        let number = {
            let mut s = self.state();
            s.attempts.push(attempt.clone());
            s.sent
        };
        self.line(&format!(
            "* attempt {number}: {} -> {}",
            self.status(attempt.status),
            attempt.note
        ));
    }
}

/// Adds the time really slept to the total, even when the sleep is cut short.
struct Slept<'a> {
    trace: &'a Trace,
    since: Instant,
}

impl Drop for Slept<'_> {
    fn drop(&mut self) {
        self.trace.state().waited += self.since.elapsed();
    }
}

#[async_trait::async_trait]
impl Timer for Trace {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    async fn sleep(&self, wait: &Wait) {
        let _slept = Slept {
            trace: self,
            since: Instant::now(),
        };
        let total = wait.duration;
        self.line(&format!(
            "  waiting {} ({}) before attempt {}",
            verdict::decide::Seconds::up(total),
            wait.reason,
            wait.next_attempt
        ));
        if !self.show.trace || !self.show.terminal || total < Duration::from_secs(2) {
            tokio::time::sleep(total).await;
            return;
        }
        countdown(total).await;
    }
}

/// Counts down second by second on the terminal, then clears the line.
async fn countdown(total: Duration) {
    let mut err = std::io::stderr();
    let start = tokio::time::Instant::now();
    loop {
        let left = total.saturating_sub(start.elapsed());
        if left.is_zero() {
            break;
        }
        let whole = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        let _ = write!(err, "\r  {whole:>5} s left ");
        let _ = err.flush();
        tokio::time::sleep(left.min(Duration::from_secs(1))).await;
    }
    let _ = write!(err, "\r\x1b[K");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn colours_need_a_terminal_and_no_no_color() {
        assert!(colours(true, None));
        assert!(colours(true, Some(OsStr::new(""))));
        assert!(!colours(true, Some(OsStr::new("1"))));
        assert!(!colours(false, None));
    }

    #[test]
    fn credentials_are_masked_in_part() {
        assert_eq!(mask("Bearer abcdefghijklmnop"), "Bearer abcd…");
        assert_eq!(mask("Basic dXNlcjpwYXNz"), "Basic dXNl…");
        assert_eq!(mask("key123456"), "key…");
        assert_eq!(mask("ab"), "…");
    }

    #[test]
    fn names_and_times_read_well() {
        assert_eq!(title_case("content-type"), "Content-Type");
        assert_eq!(title_case("x-api-key"), "X-Api-Key");
        assert_eq!(secs(Duration::from_secs(30)), "30 s");
        assert_eq!(secs(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(secs(Duration::from_millis(1999)), "2 s");
    }
}
