//! Webex Connect (formerly IMIconnect): four APIs whose answers carry an application code
//! and the vendor's exact description in the body, `{"code": "7003", "description": …}`.
//!
//! - Messaging, `POST /resources/v1/messaging`: one message on one channel (sms, push, rt,
//!   fb, voice) to up to 1000 destinations, validated as the vendor's messages describe.
//! - Transaction status, `GET /resources/v1/messaging/status/{transid}`: every accepted
//!   destination is a transaction that reads 7501 first and its final state after a delay;
//!   test destinations choose the final state (see `docs/webex-connect-sandbox.md`).
//! - Event, `POST /resources/v1/events/externalevent`: custom events with mandatory
//!   parameters.
//! - Profile, `/resources/v2/customerprofile` and `/resources/v2/customerappprofile/{appid}`:
//!   customer and app profiles kept in memory, created, read, updated and deleted in
//!   batches.
//!
//! The service key travels in the `key` header. Every vendor string comes from the
//! contract: code here names a message by its API and its key (see [`keys`]), never by its
//! text or its position.

use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::Method;
use serde_json::{Map, Value};

use super::Vendor;
use crate::Emulator;
use crate::reply::{ErrorParts, Failure, Reply};
use crate::request::{Ctx, Principal};

mod events;
mod interactive;
mod keys;
mod messaging;
mod openapi;
mod profile;
mod status;

/// The Webex Connect vendor module.
pub struct WebexConnect;

/// The API ids of the contract.
pub(crate) const MESSAGING: &str = "messaging";
pub(crate) const STATUS: &str = "transaction-status";
pub(crate) const EVENT: &str = "event";
pub(crate) const PROFILE: &str = "profile";

/// Service keys with a fixed meaning, whatever the configured token.
pub(crate) const INACTIVE_SERVICE_KEY: &str = "inactive-service";
pub(crate) const INACTIVE_PROFILE_KEY: &str = "inactive-profile";
pub(crate) const NO_PROFILE_STORE_KEY: &str = "no-profile-store";

/// The quota slot the transaction quota uses in the shared quota table (generic quotas
/// use small indexes from 0).
const LIMIT_SLOT: usize = usize::MAX;

/// How long a submitted message stays at 7501 when `--accept-delay-ms` is not given.
pub(crate) const DEFAULT_DELIVERY_DELAY: Duration = Duration::from_millis(1000);

pub(crate) use keys::{Msg, shared};

/// The answer carrying `msg`, with the HTTP status of its row and `extra` fields beside
/// `code` and `description`.
pub(crate) fn answer(
    em: &Emulator,
    ctx: &Ctx<'_>,
    msg: Msg<'_>,
    extra: Map<String, Value>,
) -> Reply {
    answer_key(em, ctx, msg.api(), msg.key(), extra)
}

/// The answer carrying the message named `key` in `api` (a key the contract holds: one of
/// [`keys`], or one a test destination chose).
pub(crate) fn answer_key(
    em: &Emulator,
    ctx: &Ctx<'_>,
    api: &'static str,
    key: &str,
    extra: Map<String, Value>,
) -> Reply {
    let Some((row, msg)) = keys::message(&em.contract, api, key) else {
        return em.error(
            ctx,
            500,
            Some(&format!(
                "The contract has no message \"{key}\" in the {api} API."
            )),
            &[],
        );
    };
    let parts = ErrorParts {
        message: msg.text.clone(),
        code: Some(Value::String(row.code.to_string())),
        fields: None,
    };
    let failure = Failure {
        api: Some(api),
        extra,
        ..Failure::new(row.http_status, parts)
    };
    em.render_error(ctx, failure)
}

/// Why a request is refused: one of the vendor's messages, the message a test destination
/// chose (its API and key), or a complete answer.
pub(crate) enum Refusal {
    Code(Msg<'static>),
    Chosen(&'static str, String),
    Reply(Reply),
}

impl From<Msg<'static>> for Refusal {
    fn from(m: Msg<'static>) -> Self {
        Refusal::Code(m)
    }
}

impl Refusal {
    pub(crate) fn into_reply(self, em: &Emulator, ctx: &Ctx<'_>) -> Reply {
        match self {
            Refusal::Code(m) => answer(em, ctx, m, Map::new()),
            Refusal::Chosen(api, key) => answer_key(em, ctx, api, &key, Map::new()),
            Refusal::Reply(r) => r,
        }
    }
}

/// The API a path belongs to.
pub(crate) fn api_of(path: &str) -> Option<&'static str> {
    if path.starts_with("/resources/v1/messaging/status/") {
        Some(STATUS)
    } else if path == "/resources/v1/messaging" || path == "/resources/v1/messaging/" {
        Some(MESSAGING)
    } else if path.starts_with("/resources/v1/events/") {
        Some(EVENT)
    } else if path.starts_with("/resources/v2/customerprofile")
        || path.starts_with("/resources/v2/customerappprofile")
    {
        Some(PROFILE)
    } else {
        None
    }
}

/// Spends `n` transactions of `key`'s quota (`[emulator.transactions]`), or refuses with
/// 7020 of `api` and the seconds until there is room again in Retry-After.
pub(crate) fn spend(
    em: &Emulator,
    ctx: &Ctx<'_>,
    api: &'static str,
    key: &str,
    n: u64,
) -> Result<(), Refusal> {
    let Some(quota) = &em.spec.transactions else {
        return Ok(());
    };
    let n = u32::try_from(n).unwrap_or(u32::MAX);
    let window = Duration::from_secs(quota.window_s.into());
    let now = crate::util::wall_ms();
    let spent = em
        .lock()
        .spend(key, LIMIT_SLOT, quota.requests, window, n, now);
    if let Err(reset) = spent {
        let msg = shared(&em.contract, api, keys::messaging::TRANSACTION_LIMIT);
        let reply =
            answer(em, ctx, msg, Map::new()).number_header(&em.contract.headers.retry_after, reset);
        return Err(Refusal::Reply(reply));
    }
    Ok(())
}

/// Whether an address may call: loopback and private networks are on the service's allow
/// list; the caller is the first address of `X-Forwarded-For` (none: the local caller).
fn allowed_source(ctx: &Ctx<'_>) -> bool {
    let Some(forwarded) = ctx.req.header("x-forwarded-for") else {
        return !ctx.req.headers.contains_key("x-forwarded-for");
    };
    let first = forwarded.split(',').next().unwrap_or("").trim();
    let ip = first
        .parse::<IpAddr>()
        .ok()
        .or_else(|| first.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()));
    match ip {
        Some(IpAddr::V4(v4)) => v4.is_loopback() || v4.is_private(),
        Some(IpAddr::V6(v6)) => {
            v6.is_loopback()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| v4.is_loopback() || v4.is_private())
        }
        None => false,
    }
}

/// Seconds since the Unix epoch of a timestamp as the vendor writes them:
/// `2015-04-12T13:00:19.456Z`, `2015-04-12T18:30:19.456+5:30`, a space for the `T`, seconds
/// and fraction optional, no offset meaning UTC.
pub(crate) fn parse_time(s: &str) -> Option<f64> {
    let s = s.trim();
    if !s.is_ascii() || s.len() < 16 {
        return None;
    }
    let num = |t: &str| -> Option<i64> {
        (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse().ok())
            .flatten()
    };
    let (date, rest) = s.split_at(10);
    let mut d = date.split('-');
    let (year, month, day) = (num(d.next()?)?, num(d.next()?)?, num(d.next()?)?);
    if d.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let split = rest.find(['Z', 'z', '+', '-']).unwrap_or(rest.len());
    let (clock, zone) = rest.split_at(split);
    let mut c = clock.split(':');
    let hour = num(c.next()?)?;
    let minute = num(c.next()?)?;
    let seconds: f64 = match c.next() {
        None => 0.0,
        Some(sec) => {
            let (whole, frac) = sec.split_once('.').unwrap_or((sec, "0"));
            num(whole)?;
            num(frac)?;
            format!("{whole}.{frac}").parse().ok()?
        }
    };
    if c.next().is_some() || hour > 23 || minute > 59 || seconds >= 61.0 {
        return None;
    }
    let offset_min = match zone {
        "" | "Z" | "z" => 0,
        z => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let z = &z[1..];
            let (h, m) = match z.split_once(':') {
                Some((h, m)) => (num(h)?, num(m)?),
                None if z.len() == 4 => (num(&z[..2])?, num(&z[2..])?),
                None if z.len() <= 2 => (num(z)?, 0),
                None => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            sign * (h * 60 + m)
        }
    };
    // Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + hour * 3600 + minute * 60 - offset_min * 60) as f64 + seconds)
}

/// Whether a timestamp field names a time already past (an unreadable one is ignored).
pub(crate) fn expired(v: Option<&Value>) -> bool {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    v.and_then(Value::as_str)
        .and_then(parse_time)
        .is_some_and(|t| t < now)
}

/// The method-not-allowed answer for a vendor path.
pub(crate) fn wrong_method(em: &Emulator, ctx: &Ctx<'_>, allow: &[Method]) -> Reply {
    super::not_allowed(em, ctx, allow)
}

/// The JSON object of a request body, or 7000 (of `api`, or the messaging API's).
pub(crate) fn json_object(
    em: &Emulator,
    ctx: &Ctx<'_>,
    api: &'static str,
) -> Result<Map<String, Value>, Refusal> {
    match serde_json::from_slice::<Value>(&ctx.req.body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(shared(&em.contract, api, keys::messaging::INVALID_JSON).into()),
    }
}

impl Vendor for WebexConnect {
    /// Every message the module answers with is in the contract: its own keys, and the
    /// message of each linked app's required attribute in the profile API.
    fn check_contract(&self, contract: &verdict::Contract) -> Result<(), String> {
        let missing = keys::missing(contract);
        if missing.is_empty() {
            return Ok(());
        }
        Err(format!(
            "the webex-connect module answers with messages the contract lacks: {}",
            missing.join(", ")
        ))
    }

    /// The service key in `key`: missing 7002, unknown 7001, a revoked key or
    /// `inactive-service` 7007, `inactive-profile` 7008; then the IP allow list (7010) for
    /// the APIs whose 7010 means it.
    fn authenticate(&self, em: &Emulator, ctx: &Ctx<'_>) -> Result<Principal, Reply> {
        let api = api_of(&ctx.req.path).unwrap_or(MESSAGING);
        let c = &em.contract;
        let refuse = |msg: Msg<'static>| Err(answer(em, ctx, shared(c, api, msg), Map::new()));
        use keys::messaging::{
            AUTHENTICATION_FAILED, INACTIVE_PROFILE, SERVICE_INACTIVE, SERVICE_KEY_MISSING,
            SOURCE_IP_NOT_ALLOWED,
        };
        let key = match ctx.req.headers.get("key") {
            None => return refuse(SERVICE_KEY_MISSING),
            Some(v) => match v.to_str() {
                Ok(k) if k.trim().is_empty() => return refuse(SERVICE_KEY_MISSING),
                Ok(k) => k.trim().to_owned(),
                Err(_) => return refuse(AUTHENTICATION_FAILED),
            },
        };
        let who = match key.as_str() {
            INACTIVE_SERVICE_KEY => return refuse(SERVICE_INACTIVE),
            INACTIVE_PROFILE_KEY => return refuse(INACTIVE_PROFILE),
            NO_PROFILE_STORE_KEY => Principal {
                credential: key.clone(),
                account: NO_PROFILE_STORE_KEY.into(),
                read_only: false,
            },
            _ => {
                let token = em.lock().token(&key).cloned();
                match token {
                    Some(t) if t.revoked => return refuse(SERVICE_INACTIVE),
                    Some(t) => Principal {
                        credential: t.token,
                        account: t.account,
                        read_only: t.read_only,
                    },
                    None => return refuse(AUTHENTICATION_FAILED),
                }
            }
        };
        if matches!(api, MESSAGING | PROFILE) && !allowed_source(ctx) {
            return refuse(SOURCE_IP_NOT_ALLOWED);
        }
        Ok(who)
    }

    fn route(&self, em: &Emulator, ctx: &Ctx<'_>, who: &Principal) -> Option<Reply> {
        let path = ctx.req.path.as_str();
        let method = &ctx.req.method;
        if path == "/resources/v1/messaging" || path == "/resources/v1/messaging/" {
            return Some(if method == Method::POST {
                messaging::send(em, ctx, who)
            } else {
                wrong_method(em, ctx, &[Method::POST])
            });
        }
        if let Some(id) = path.strip_prefix("/resources/v1/messaging/status/") {
            return Some(if method == Method::GET {
                status::get(em, ctx, who, id)
            } else {
                wrong_method(em, ctx, &[Method::GET])
            });
        }
        if path == "/resources/v1/events/externalevent"
            || path == "/resources/v1/events/externalevent/"
        {
            return Some(if method == Method::POST {
                events::post(em, ctx, who)
            } else {
                wrong_method(em, ctx, &[Method::POST])
            });
        }
        profile::route(em, ctx, who)
    }

    fn routes(&self, em: &Emulator) -> Vec<crate::openapi::Route> {
        openapi::routes(&em.contract)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_parse_as_the_vendor_writes_them() {
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(
            parse_time("2015-04-12T13:00:19.456Z"),
            Some(1_428_843_619.456)
        );
        assert_eq!(
            parse_time("2015-04-12T18:30:19.456+5:30"),
            parse_time("2015-04-12T13:00:19.456Z")
        );
        assert_eq!(
            parse_time("2015-04-12 08:00:19-0500"),
            parse_time("2015-04-12T13:00:19Z")
        );
        assert_eq!(
            parse_time("2000-02-29T00:00"),
            Some(951_782_400.0),
            "a leap day, no seconds"
        );
        for bad in [
            "",
            "yesterday",
            "2015-13-01T00:00:00Z",
            "2015-04-12T25:00:00Z",
            "2015-04-12X13:00:00Z",
            "2015-04-12T13:00:00+99:00",
            "2015-04-12T13:00:00.Z",
            "２０１５-04-12T13:00:00Z",
            "-015-04-12T13:00:00Z",
        ] {
            assert_eq!(parse_time(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn paths_belong_to_their_api() {
        assert_eq!(api_of("/resources/v1/messaging"), Some(MESSAGING));
        assert_eq!(api_of("/resources/v1/messaging/status/x"), Some(STATUS));
        assert_eq!(api_of("/resources/v1/events/externalevent"), Some(EVENT));
        assert_eq!(api_of("/resources/v2/customerprofile/1"), Some(PROFILE));
        assert_eq!(
            api_of("/resources/v2/customerappprofile/a/1"),
            Some(PROFILE)
        );
        assert_eq!(api_of("/elsewhere"), None);
    }
}
