//! The `X-Verdict-Fault` request header: `;`-separated `key=value` pairs that ask the
//! emulator for a particular answer, e.g. `status=429; retry-after=3`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// The request header that asks for a fault: `X-Verdict-Fault`.
pub const HEADER: http::HeaderName = http::HeaderName::from_static("x-verdict-fault");

/// One injected answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Fault {
    /// The status to answer with.
    pub status: Option<u16>,
    /// A Retry-After in seconds.
    pub retry_after: Option<u64>,
    /// A delay before answering.
    pub delay_ms: Option<u64>,
    /// An application code to put in the body (with its exact vendor message).
    pub code: Option<verdict::CodeValue>,
    /// The API the code belongs to, when the contract has several.
    pub api: Option<String>,
    /// A message to put in the body instead of the contract's.
    pub message: Option<String>,
}

/// Why a fault header cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    /// A pair without `=`.
    #[error("\"{0}\" is not a key=value pair")]
    NotPair(String),
    /// A key the grammar does not have, with the known key it is closest to.
    #[error(
        "unknown key \"{key}\"{} (known: status, retry-after, delay-ms, code, body, api, message)",
        close.map(|c| format!("; did you mean \"{c}\"?")).unwrap_or_default()
    )]
    UnknownKey {
        /// The key as sent, in lower case.
        key: String,
        /// The closest known key, when one is close.
        close: Option<&'static str>,
    },
    /// A status that cannot be the final answer to a request (1xx).
    #[error(
        "status={0}: a 1xx status is informational and cannot be the final answer to a request; ask for one from 200 to 599"
    )]
    NotFinal(u16),
    /// A value of the wrong kind.
    #[error("{key}={value}: {why}")]
    BadValue {
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// What is wrong.
        why: &'static str,
    },
    /// The same key twice.
    #[error("\"{0}\" is given twice")]
    Repeated(String),
    /// Nothing to do.
    #[error("the header asks for nothing (give at least status, delay-ms or code)")]
    Empty,
}

impl FromStr for Fault {
    type Err = FaultError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Keys match whatever their case; `seen` has a bit per key of `KEYS` (this runs for
        // every request that carries the header, so nothing is allocated unless needed).
        const KEYS: [&str; 7] = [
            "status",
            "retry-after",
            "delay-ms",
            "code",
            "body",
            "api",
            "message",
        ];
        let mut f = Fault::default();
        let mut seen = 0u8;
        for pair in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| FaultError::NotPair(pair.chars().take(60).collect()))?;
            let (k, v) = (k.trim(), v.trim());
            let Some(i) = KEYS.iter().position(|known| known.eq_ignore_ascii_case(k)) else {
                return Err(FaultError::UnknownKey {
                    key: k.to_ascii_lowercase(),
                    close: verdict::suggest::closest(k, KEYS),
                });
            };
            let k = KEYS[i];
            if seen & (1 << i) != 0 {
                return Err(FaultError::Repeated(k.to_owned()));
            }
            seen |= 1 << i;
            let bad = |why| FaultError::BadValue {
                key: k.to_owned(),
                value: v.chars().take(60).collect(),
                why,
            };
            let number = |max: u64, why| {
                v.parse::<u64>()
                    .ok()
                    .filter(|n| *n <= max)
                    .ok_or_else(|| bad(why))
            };
            match k {
                "status" => match number(599, "a status from 200 to 599")? {
                    n @ 200.. => f.status = Some(n as u16),
                    n @ 100.. => return Err(FaultError::NotFinal(n as u16)),
                    _ => return Err(bad("a status from 200 to 599")),
                },
                "retry-after" => {
                    f.retry_after = Some(number(31_536_000, "whole seconds, at most a year")?)
                }
                "delay-ms" => f.delay_ms = Some(number(60_000, "milliseconds, at most 60000")?),
                "code" | "body" => {
                    let code = v
                        .parse()
                        .map_err(|_| bad("an application code such as 7109 or invalid_auth"))?;
                    f.code = Some(code)
                }
                "api" => f.api = Some(v.to_owned()),
                _ => f.message = Some(v.to_owned()),
            }
        }
        if f.status.is_none() && f.delay_ms.is_none() && f.code.is_none() {
            return Err(FaultError::Empty);
        }
        Ok(f)
    }
}

impl Fault {
    /// The delay to apply.
    pub fn delay(&self) -> Duration {
        Duration::from_millis(self.delay_ms.unwrap_or(0))
    }

    /// Whether it changes the answer (and not only its timing).
    pub fn answers(&self) -> bool {
        self.status.is_some() || self.code.is_some()
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(s) = self.status {
            parts.push(format!("status={s}"));
        }
        if let Some(r) = self.retry_after {
            parts.push(format!("retry-after={r}"));
        }
        if let Some(d) = self.delay_ms {
            parts.push(format!("delay-ms={d}"));
        }
        if let Some(c) = &self.code {
            parts.push(format!("code={c}"));
        }
        if let Some(a) = &self.api {
            parts.push(format!("api={a}"));
        }
        if let Some(m) = &self.message {
            parts.push(format!("message={m}"));
        }
        f.write_str(&parts.join("; "))
    }
}

use crate::reply::Reply;
use crate::request::Ctx;

impl crate::Emulator {
    /// The answer a fault asks for.
    pub fn fault_reply(&self, ctx: &Ctx<'_>, f: &Fault) -> Reply {
        let mut reply = match (&f.code, f.status) {
            (Some(code), status) => {
                match self.app_code_reply(ctx, f.api.as_deref(), code, status, f.message.as_deref())
                {
                    Some(r) => r,
                    None => {
                        return self.error(
                            ctx,
                            400,
                            Some(&format!(
                                "X-Verdict-Fault: {} has no application code {code}",
                                self.contract.id
                            )),
                            &[],
                        );
                    }
                }
            }
            (None, Some(status)) if (300..400).contains(&status) && status != 304 => {
                Reply::empty(status)
                    .header("Location", format!("{}{}", ctx.req.origin(), ctx.req.path))
            }
            (None, Some(status)) if status < 300 || status == 304 => Reply::empty(status),
            (None, Some(status)) => match f.message.as_deref() {
                // The caller's words for the fault beat the status's own.
                Some(words) => self.coded_error(ctx, status, words, None, &[]),
                None => self.error(ctx, status, None, &[]),
            },
            (None, None) => Reply::empty(204),
        };
        if let Some(secs) = f.retry_after {
            reply = reply.number_header(&self.contract.headers.retry_after, secs);
        }
        if reply.status.as_u16() == 429 {
            reply = self.quota_headers(ctx, reply, 0, f.retry_after.unwrap_or(60));
        }
        reply
    }

    pub(crate) fn random_fault(&self, ctx: &Ctx<'_>) -> Option<Reply> {
        // Transient failures the contract tells clients to retry.
        let transient: Vec<u16> = self
            .contract
            .documented_statuses()
            .filter(|s| {
                matches!(
                    s.action.kind(),
                    verdict::ActionKind::Retry | verdict::ActionKind::RetryAfter
                )
            })
            .map(|s| s.code)
            .collect();
        let status =
            *transient.get(self.rng.between(0, transient.len().max(1) as u64 - 1) as usize)?;
        let retry_after = matches!(
            self.contract.rule(status).map(|s| s.action.kind()),
            Some(verdict::ActionKind::RetryAfter)
        )
        .then_some(1);
        Some(self.fault_reply(
            ctx,
            &Fault {
                status: Some(status),
                retry_after,
                ..Fault::default()
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar() {
        let f: Fault = "status=429; retry-after=3".parse().unwrap();
        assert_eq!((f.status, f.retry_after), (Some(429), Some(3)));
        assert_eq!(f.to_string().parse::<Fault>().unwrap(), f);
        let f: Fault = " Status = 503 ;delay-ms=20;".parse().unwrap();
        assert_eq!((f.status, f.delay_ms), (Some(503), Some(20)));
        assert_eq!(
            "body=7109".parse::<Fault>().unwrap().code,
            Some(7109.into())
        );
        let text: Fault = "code=invalid_auth".parse().unwrap();
        assert_eq!(text.code.unwrap().to_string(), "invalid_auth");
        for bad in [
            "",
            "status",
            "status=abc",
            "status=99",
            "status=600",
            "colour=red",
            "status=1;status=2",
            "delay-ms=999999",
            "retry-after=-1",
        ] {
            assert!(bad.parse::<Fault>().is_err(), "{bad:?}");
        }
        let e = "status=42x".parse::<Fault>().unwrap_err().to_string();
        assert!(e.contains("status=42x"), "{e}");
        assert_eq!(
            "STATUS=500; Status=502".parse::<Fault>(),
            Err(FaultError::Repeated("status".into()))
        );
        assert_eq!(
            "status=500; Colour=red".parse::<Fault>(),
            Err(FaultError::UnknownKey {
                key: "colour".into(),
                close: None
            })
        );
        let e = "status=503; retry_after=2".parse::<Fault>().unwrap_err();
        assert!(
            e.to_string().contains("did you mean \"retry-after\""),
            "{e}"
        );
        for informational in ["status=100", "status=101", "status=199"] {
            let e = informational.parse::<Fault>().unwrap_err();
            assert!(matches!(e, FaultError::NotFinal(_)), "{e}");
        }
        let f: Fault = "code=7109; API=sms; message=a=b".parse().unwrap();
        assert_eq!((f.code, f.api.as_deref()), (Some(7109.into()), Some("sms")));
        assert_eq!(f.message.as_deref(), Some("a=b"));
    }
}
