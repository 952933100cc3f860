//! The contract's messages this module answers with, each named by its API and its `key`
//! (`{ key, text, when }` in `contracts/webex-connect.toml`), never by its position in a
//! list. A [`Msg`] is made only here: as one of the constants below, all of them in [`ALL`]
//! (which the tests check against the built-in contract), or by [`shared`], which names an
//! API's own message only when the contract has it.

use verdict::{AppCode, Contract, Message};

use super::{EVENT, MESSAGING, PROFILE, STATUS};

/// One of the vendor's messages: its API and its key, a key of this module's or one the
/// contract names (an app's missing attribute), borrowed for `'k`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Msg<'k> {
    api: &'static str,
    key: &'k str,
}

impl<'k> Msg<'k> {
    /// The message of `api` the contract names by `key`.
    pub(crate) fn named(api: &'static str, key: &'k str) -> Self {
        Msg { api, key }
    }

    pub(crate) fn api(self) -> &'static str {
        self.api
    }

    pub(crate) fn key(self) -> &'k str {
        self.key
    }

    /// The row that holds the message, and the message.
    pub(crate) fn lookup(self, c: &Contract) -> Option<(&AppCode, &Message)> {
        message(c, self.api, self.key)
    }

    /// The vendor's text (empty if the contract lacks it, which a unit test rules out).
    #[cfg(test)]
    pub(crate) fn text(self, c: &Contract) -> &str {
        self.lookup(c).map_or("", |(_, m)| m.text.as_str())
    }
}

/// The one lookup: the message named `key` in `api`, with the row that holds it.
pub(crate) fn message<'c>(
    c: &'c Contract,
    api: &str,
    key: &str,
) -> Option<(&'c AppCode, &'c Message)> {
    c.api(api)?.message(key)
}

/// A message every API shares (credentials, service state, JSON), given as the messaging
/// API's: `api`'s own message of the same key when its list has one, the messaging API's
/// otherwise.
pub(crate) fn shared(c: &Contract, api: &'static str, msg: Msg<'static>) -> Msg<'static> {
    let own = Msg { api, key: msg.key };
    if own.lookup(c).is_some() { own } else { msg }
}

/// The key of the message a test destination chooses in `api`: the `n`th (from 0) of all
/// the messages of `code`, rows in document order. The one place a position means
/// something, because a phone number can carry digits but not a key.
pub(crate) fn chosen<'c>(
    c: &'c Contract,
    api: &str,
    code: impl Into<verdict::CodeValue>,
    n: usize,
) -> Option<&'c str> {
    c.api(api)?
        .code(code)
        .flat_map(|row| row.messages.iter())
        .nth(n)?
        .key
        .as_deref()
}

/// Declares each API's messages as constants of a module named after the API, and [`ALL`].
macro_rules! messages {
    ($($group:ident ($api:ident) { $($name:ident = $key:literal,)* })*) => {
        $(
            pub(crate) mod $group {
                use super::Msg;
                $(pub(crate) const $name: Msg<'static> = Msg { api: super::$api, key: $key };)*
            }
        )*
        /// Every message the module names.
        pub(crate) const ALL: &[Msg<'static>] = &[$($($group::$name,)*)*];
    };
}

messages! {
    messaging (MESSAGING) {
        INVALID_JSON = "invalid-json",
        AUTHENTICATION_FAILED = "authentication-failed",
        SERVICE_KEY_MISSING = "service-key-missing",
        SERVICE_INACTIVE = "service-inactive",
        INACTIVE_PROFILE = "inactive-profile",
        SOURCE_IP_NOT_ALLOWED = "source-ip-not-allowed",
        TRANSACTION_LIMIT = "transaction-limit",
        DESTINATION_MANDATORY = "destination-mandatory",
        PUSH_MISSING = "push-missing",
        RT_TEXT = "rt-text",
        APPMESSAGING_MISSING = "appmessaging-missing",
        SMS_BODY = "sms-body",
        SMS_TEXT = "sms-text",
        SMS_MISSING = "sms-missing",
        NO_CHANNEL_INFO = "no-channel-info",
        DELIVERYCHANNEL_MISSING = "deliverychannel-missing",
        REQUEST_EXPIRED = "request-expired",
        TOO_MANY_DESTINATIONS = "too-many-destinations",
        DESTINATION_EXPIRED = "destination-expired",
        INVALID_SENDER = "invalid-sender",
        INVALID_ADDRESS = "invalid-address",
        INVALID_APP = "invalid-app",
        NO_CUSTOMER = "no-customer",
        CHANNEL_NOT_CONFIGURED = "channel-not-configured",
        TOO_LONG = "too-long",
        INVALID_TEMPLATE = "invalid-template",
        SPAM = "spam",
        RTM_DISABLED = "rtm-disabled",
        PUSH_DISABLED = "push-disabled",
        BAD_CHARACTER = "bad-character",
        EMPTY_TEXT = "empty-text",
        SUBMITTED = "submitted",
        DEVICE_TYPES_MISSING = "device-types-missing",
        VALUE_MISSING = "value-missing",
        POS_MISSING = "pos-missing",
        CATEGORY_MISSING = "category-missing",
        ACTIONS_MISSING = "actions-missing",
        INVALID_DEVICE_TYPE = "invalid-device-type",
        DUPLICATE_DEVICE_TYPE = "duplicate-device-type",
        DUPLICATE_POS = "duplicate-pos",
        INVALID_ACTION = "invalid-action",
        INVALID_VALUE = "invalid-value",
        ACTION_NOT_FOR_IDENTIFIER = "action-not-for-identifier",
        UNKNOWN_IDENTIFIER = "unknown-identifier",
        NO_IDENTIFIER_AT_POS = "no-identifier-at-pos",
        POS_NOT_ALLOWED = "pos-not-allowed",
        WRONG_ACTION_COUNT = "wrong-action-count",
        INVALID_CATEGORY = "invalid-category",
    }
    status (STATUS) {
        REQUEST_EXPIRED = "request-expired",
        SUBMITTED = "submitted",
        DELIVERED = "delivered",
        NO_RESULTS = "no-results",
        NOT_YOURS = "not-yours",
    }
    event (EVENT) {
        QUEUED = "queued",
        INVALID_VALUE = "invalid-value",
        MANDATORY_MISSING = "mandatory-missing",
    }
    profile (PROFILE) {
        SUCCESS = "success",
        PARTIAL = "partial",
        CUSTOMER_ID_MISSING = "customer-id-missing",
        MSISDN_MISSING = "msisdn-missing",
        STATUS_MISSING = "status-missing",
        STATUS_INVALID = "status-invalid",
        INVALID_ATTRIBUTE = "invalid-attribute",
        RECORD_STATUS_INVALID = "record-status-invalid",
        BATCH_TOO_LARGE = "batch-too-large",
        NO_STORE = "no-store",
        CUSTOMER_NOT_FOUND = "customer-not-found",
        APP_PROFILE_NOT_FOUND = "app-profile-not-found",
        CUSTOMER_EXISTS = "customer-exists",
        APP_PROFILE_EXISTS = "app-profile-exists",
        UNKNOWN_ATTRIBUTE = "unknown-attribute",
        INVALID_APP = "invalid-app",
        REQUEST_EXPIRED = "request-expired",
    }
}

/// The messages the module answers with that `c` lacks: its own keys, and the key of each
/// linked app's required attribute in the profile API (each as `api "key"`).
pub(crate) fn missing(c: &Contract) -> Vec<String> {
    let apps = c.emulator.as_ref().map_or(&[][..], |e| e.apps.as_slice());
    let required = apps
        .iter()
        .flat_map(|a| a.create.iter().chain(&a.update))
        .map(|r| Msg::named(PROFILE, &r.missing));
    ALL.iter()
        .copied()
        .chain(required)
        .filter(|m| m.lookup(c).is_none())
        .map(|m| format!("{} \"{}\"", m.api(), m.key()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contract() -> &'static Contract {
        verdict::Catalog::builtin().get("webex-connect").unwrap()
    }

    #[test]
    fn every_key_the_module_names_is_in_the_contract() {
        let c = contract();
        assert_eq!(missing(c), Vec::<String>::new());
        for api in [MESSAGING, STATUS, EVENT, PROFILE] {
            for m in [
                messaging::INVALID_JSON,
                messaging::AUTHENTICATION_FAILED,
                messaging::SERVICE_KEY_MISSING,
                messaging::SERVICE_INACTIVE,
                messaging::INACTIVE_PROFILE,
                messaging::SOURCE_IP_NOT_ALLOWED,
                messaging::TRANSACTION_LIMIT,
            ] {
                assert!(shared(c, api, m).lookup(c).is_some(), "{api} {m:?}");
            }
        }
    }

    #[test]
    fn every_message_has_a_key_so_every_test_destination_resolves() {
        for api in &contract().apis {
            for row in &api.codes {
                for m in &row.messages {
                    assert!(m.key.is_some(), "{} {}: {:?}", api.id, row.code, m.text);
                }
            }
        }
    }

    #[test]
    fn shared_messages_prefer_the_api_s_own() {
        let c = contract();
        let own = shared(c, EVENT, messaging::SERVICE_KEY_MISSING);
        assert_eq!(own.api(), EVENT);
        assert_eq!(own.text(c), "Service key missing");
        let fallback = shared(c, PROFILE, messaging::AUTHENTICATION_FAILED);
        assert_eq!(fallback, messaging::AUTHENTICATION_FAILED);
        assert_eq!(
            shared(c, STATUS, messaging::INACTIVE_PROFILE).text(c),
            "Inactive profile"
        );
        assert_eq!(
            shared(c, PROFILE, messaging::INACTIVE_PROFILE).text(c),
            "Inactive Profile"
        );
    }

    #[test]
    fn test_destinations_choose_across_repeated_rows() {
        let c = contract();
        // 7601 is two rows in the messaging list and one row of two messages in the
        // transaction-status list; both give two messages.
        for api in [MESSAGING, STATUS] {
            assert_eq!(
                chosen(c, api, 7601, 1),
                Some("verification-failed"),
                "{api}"
            );
            assert_eq!(chosen(c, api, 7601, 2), None, "{api}");
        }
        assert_eq!(chosen(c, MESSAGING, 7208, 1), Some("message-expired"));
        assert_eq!(chosen(c, STATUS, 7500, 0), Some(status::DELIVERED.key()));
    }
}
