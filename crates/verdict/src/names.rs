//! The closed vocabularies of a contract: categories, actions, outcomes and the small
//! enumerations of its policies. Each one parses from and prints as its kebab-case name.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A value that is not one of a vocabulary's names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} \"{value}\" (expected one of: {}{})", expected.join(", "), hint(value, expected))]
pub struct UnknownName {
    /// What was being parsed, e.g. "category".
    pub kind: &'static str,
    /// The text that did not match.
    pub value: String,
    /// Every accepted name.
    pub expected: &'static [&'static str],
}

fn hint(value: &str, expected: &[&str]) -> String {
    match crate::suggest::closest(value, expected.iter().copied()) {
        Some(best) => format!("; did you mean \"{best}\"?"),
        None => String::new(),
    }
}

macro_rules! names {
    ($(#[$meta:meta])* $name:ident, $kind:literal { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every name of this vocabulary, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];
            /// Every value of this vocabulary, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The kebab-case name.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownName { kind: $kind, value: s.to_owned(), expected: Self::NAMES }),
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

names! {
    /// What kind of situation a status or application code reports.
    ///
    /// ```
    /// use verdict::Category;
    /// assert_eq!("rate-limit".parse::<Category>().unwrap(), Category::RateLimit);
    /// assert_eq!(Category::NotFound.to_string(), "not-found");
    /// ```
    Category, "category" {
        /// 1xx: an interim answer.
        Informational => "informational",
        /// The request did what it asked.
        Success => "success",
        /// Part of the work succeeded, or the answer holds several results.
        Partial => "partial",
        /// The resource is elsewhere.
        Redirect => "redirect",
        /// The cached copy is still good.
        Cache => "cache",
        /// Credentials are missing, wrong or expired.
        Authentication => "authentication",
        /// Credentials are fine but not allowed to do this.
        Authorization => "authorization",
        /// Nothing is there.
        NotFound => "not-found",
        /// It was there and is gone for good.
        Gone => "gone",
        /// The method is wrong for the resource.
        Method => "method",
        /// The media type asked for or sent is not supported.
        MediaType => "media-type",
        /// The request clashes with the current state.
        Conflict => "conflict",
        /// The request is malformed or its values are invalid.
        Validation => "validation",
        /// A precondition of the request does not hold.
        Precondition => "precondition",
        /// The request or one of its parts is too large.
        TooLarge => "too-large",
        /// The caller is over its quota.
        RateLimit => "rate-limit",
        /// The resource is locked for now.
        Locked => "locked",
        /// Something took too long.
        Timeout => "timeout",
        /// The service is down or overloaded for now.
        Unavailable => "unavailable",
        /// The server failed.
        Server => "server",
        /// Another client-side problem.
        Client => "client",
        /// A message could not be delivered to its destination.
        Delivery => "delivery",
        /// The account or application is not set up for this.
        Configuration => "configuration",
        /// Credit, billing or payment stands in the way.
        Billing => "billing",
    }
}

names! {
    /// The kind of an [`Action`](crate::Action), without its parameters.
    ActionKind, "action" {
        /// Finished: nothing more to do.
        Done => "done",
        /// Stop and report; repeating will not help.
        Fail => "fail",
        /// Repeat after an exponential back-off.
        Retry => "retry",
        /// Repeat after the wait the server names.
        RetryAfter => "retry-after",
        /// Follow the Location header.
        Redirect => "redirect",
        /// Get fresh credentials once and repeat.
        RefreshAuth => "refresh-auth",
        /// Use the cached copy.
        UseCached => "use-cached",
        /// Poll the Location until the work is finished.
        Poll => "poll",
        /// Split a multipart batch into its parts.
        SplitBatch => "split-batch",
    }
}

names! {
    /// Where a client rule comes from.
    Origin, "origin" {
        /// The vendor's own document states it.
        Seed => "seed",
        /// The HTTP standards state it.
        Rfc => "rfc",
        /// Our reading where the document is silent.
        Inferred => "inferred",
    }
}

names! {
    /// Whether an application code reports an error, a pending state or a success.
    Outcome, "outcome" {
        /// The work is done.
        Success => "success",
        /// Accepted, not yet final.
        Pending => "pending",
        /// Some items succeeded and some did not.
        Partial => "partial",
        /// The request or the delivery failed.
        Error => "error",
    }
}

names! {
    /// How a back-off is randomised.
    Jitter, "jitter" {
        /// Exactly the computed back-off.
        None => "none",
        /// Uniform between zero and the computed back-off.
        Full => "full",
        /// Half the back-off plus a uniform share of the other half.
        Equal => "equal",
    }
}

names! {
    /// The method a followed redirect uses.
    RedirectMethod, "redirect method" {
        /// GET without a body (HEAD stays HEAD).
        Get => "get",
        /// The original method and body.
        Same => "same",
    }
}

names! {
    /// What a client does with a 3xx that has no Location header.
    MissingLocation, "missing-location rule" {
        /// Report an error.
        Fail => "fail",
        /// Repeat the request to the same URL (bounded by the hop limit).
        Repeat => "repeat",
    }
}

names! {
    /// The authentication scheme an API uses, without its parameters.
    SchemeKind, "auth scheme" {
        /// No credentials.
        None => "none",
        /// `Authorization: Bearer <token>`.
        Bearer => "bearer",
        /// `Authorization: Basic <user:password>`.
        Basic => "basic",
        /// A key in a named header.
        ApiKey => "api-key",
        /// OAuth 2.0 access tokens with refresh.
        Oauth2 => "oauth2",
    }
}

names! {
    /// Which fields an API sends to describe a quota (`[rate_limit] fields`).
    QuotaFields, "quota fields" {
        /// The headers named in `[rate_limit]` (`limit`, `remaining`, `reset`, ...).
        Named => "named",
        /// `RateLimit` and `RateLimit-Policy` of draft-ietf-httpapi-ratelimit-headers-10.
        IetfDraft => "ietf-draft",
        /// Both.
        Both => "both",
    }
}

impl QuotaFields {
    /// Whether the headers named in `[rate_limit]` are sent.
    pub const fn named(self) -> bool {
        matches!(self, QuotaFields::Named | QuotaFields::Both)
    }

    /// Whether `RateLimit` and `RateLimit-Policy` are sent.
    pub const fn draft(self) -> bool {
        matches!(self, QuotaFields::IetfDraft | QuotaFields::Both)
    }
}

// The `names!` macro writes the derives, so the default is written out.
#[allow(clippy::derivable_impls)]
impl Default for QuotaFields {
    fn default() -> Self {
        QuotaFields::Named
    }
}

names! {
    /// How a quota's reset header writes its time (`[rate_limit] reset_format`).
    ResetFormat, "reset format" {
        /// A number above 10^9 is a Unix time, a smaller one seconds to wait, anything
        /// else an HTTP date (what a client does when the contract does not say).
        Auto => "auto",
        /// Seconds until the reset.
        Seconds => "seconds",
        /// The reset as a Unix time in seconds (GitHub's `x-ratelimit-reset`).
        Unix => "unix",
        /// The reset as an HTTP date (RFC 9110 §5.6.7).
        HttpDate => "http-date",
    }
}

// The `names!` macro writes the derives, so the default is written out.
#[allow(clippy::derivable_impls)]
impl Default for ResetFormat {
    fn default() -> Self {
        ResetFormat::Auto
    }
}

names! {
    /// The JSON type of a resource field in the emulator.
    FieldType, "field type" {
        /// A string.
        String => "string",
        /// A string that looks like an e-mail address.
        Email => "email",
        /// A whole number.
        Integer => "integer",
        /// Any number.
        Number => "number",
        /// true or false.
        Boolean => "boolean",
        /// A JSON object.
        Object => "object",
        /// A JSON array.
        Array => "array",
        /// Any JSON value.
        Any => "any",
    }
}

names! {
    /// What the emulator does with a body field the resource (or the method) does not take.
    UnknownFields, "unknown-field policy" {
        /// The field is dropped and the request goes on.
        Ignore => "ignore",
        /// The request is refused, naming the field.
        Refuse => "refuse",
    }
}

names! {
    /// How the emulator makes resource ids.
    IdStyle, "id style" {
        /// A UUID.
        Uuid => "uuid",
        /// A decimal number.
        Numeric => "numeric",
        /// 32 hexadecimal characters.
        Hex => "hex",
        /// 1, 2, 3 …: the emulator's running count of stored items, written as a JSON number
        /// (GitHub's numeric `id`).
        Sequential => "sequential",
    }
}

names! {
    /// How a list says where its next page starts.
    PageStyle, "page style" {
        /// An opaque cursor the previous page gave out.
        Cursor => "cursor",
        /// A page number from 1 (`page` and `per_page`).
        Page => "page",
        /// How many items to skip (`offset` and `limit`).
        Offset => "offset",
    }
}

names! {
    /// What a list does with a page size over its limit.
    PageOversize, "oversize page policy" {
        /// Refused with `page_limit_status`.
        Refuse => "refuse",
        /// Served with the limit instead, without a word (GitHub's `per_page`).
        Cap => "cap",
    }
}

names! {
    /// Why the emulator refuses a request's credentials (`[emulator.credential_refusals]`).
    RefusalReason, "credential refusal" {
        /// None were sent.
        Missing => "missing",
        /// The emulator never issued them.
        Unknown => "unknown",
        /// They were revoked.
        Revoked => "revoked",
        /// They ran out (an OAuth access token past its lifetime).
        Expired => "expired",
    }
}

names! {
    /// What a parameter of a custom event holds (`[[emulator.event]]`).
    EventParameter, "event parameter kind" {
        /// Any text or number, not blank.
        Text => "text",
        /// A number, or text that holds one.
        Number => "number",
        /// Three capital letters (an ISO 4217 currency).
        Currency => "currency",
        /// An RFC 3339 time.
        Time => "time",
    }
}

names! {
    /// A relation the emulator's `Link` header gives for a page of a list (RFC 8288).
    LinkRelation, "link relation" {
        /// The page after this one (while there is one).
        Next => "next",
        /// The page before this one (from the second page on).
        Prev => "prev",
        /// The first page (from the second page on).
        First => "first",
        /// The last page (while this is not it).
        Last => "last",
    }
}

names! {
    /// How an API's error bodies are laid out.
    ///
    /// ```
    /// use verdict::ErrorFormat;
    /// assert_eq!("problem".parse::<ErrorFormat>().unwrap(), ErrorFormat::Problem);
    /// assert!("problme".parse::<ErrorFormat>().unwrap_err().to_string().contains("did you mean \"problem\""));
    /// ```
    #[derive(Default)]
    ErrorFormat, "error body format" {
        /// The vendor's own JSON object; the `[error_body]` pointers say where its parts are.
        #[default]
        Json => "json",
        /// Problem details (RFC 9457): `application/problem+json` with `type`, `title`,
        /// `status`, `detail` and `instance`; other parts are extension members.
        Problem => "problem",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_round_trips() {
        for c in Category::ALL {
            assert_eq!(c.as_str().parse::<Category>().unwrap(), *c);
        }
        for a in ActionKind::ALL {
            assert_eq!(a.to_string().parse::<ActionKind>().unwrap(), *a);
        }
    }

    #[test]
    fn unknown_name_suggests_the_closest() {
        let err = "retyr".parse::<ActionKind>().unwrap_err();
        let text = err.to_string();
        assert!(text.contains("unknown action \"retyr\""), "{text}");
        assert!(text.contains("did you mean \"retry\""), "{text}");
    }
}

names! {
    /// The emulator module that adds what only one vendor does to the generic behaviour the
    /// contract describes (`[emulator] vendor`).
    ///
    /// ```
    /// use verdict::VendorModule;
    /// assert_eq!("webex".parse::<VendorModule>().unwrap(), VendorModule::Webex);
    /// assert!("ringcentrl".parse::<VendorModule>().unwrap_err().to_string().contains("did you mean \"ringcentral\""));
    /// ```
    VendorModule, "vendor module" {
        /// Webex: `ciscospark://` ids, `/people/me`, file downloads, room checks.
        Webex => "webex",
        /// Whispir: an API key beside the Authorization header.
        Whispir => "whispir",
        /// RingCentral: an OAuth 2.0 token endpoint, batch reads, recordings.
        RingCentral => "ringcentral",
        /// The token API: tokens sent in the body, per-account ids.
        TokenApi => "token-api",
        /// Webex Connect: messaging, transaction status, events and profiles.
        WebexConnect => "webex-connect",
    }
}
