//! Interactive notifications: the `interactive` object of a push or rt message, with the
//! device types it targets, a category and one action per button of the category.
//!
//! The categories of the emulated client, their buttons (identifiers) by position and the
//! actions each button may take are in [`CATEGORIES`]; [`ACTIONS`] says on which channels
//! an action exists and what value it needs.

use serde_json::{Map, Value};

use super::Msg;
use super::keys::messaging::*;
use super::messaging::Channel;

/// A button of a category.
pub(crate) struct Identifier {
    pub name: &'static str,
    pub pos: i64,
    pub actions: &'static [&'static str],
}

/// A category of interactive notification: its buttons.
pub(crate) struct Category {
    pub name: &'static str,
    pub identifiers: &'static [Identifier],
}

/// The categories of the emulated client.
pub(crate) const CATEGORIES: &[Category] = &[
    Category {
        name: "accept_decline",
        identifiers: &[
            Identifier {
                name: "accept",
                pos: 1,
                actions: &["open_app", "open_url", "deeplink"],
            },
            Identifier {
                name: "decline",
                pos: 2,
                actions: &["dismiss", "reply"],
            },
        ],
    },
    Category {
        name: "yes_no",
        identifiers: &[
            Identifier {
                name: "yes",
                pos: 1,
                actions: &["open_app", "deeplink", "reply"],
            },
            Identifier {
                name: "no",
                pos: 2,
                actions: &["dismiss", "reply"],
            },
        ],
    },
    Category {
        name: "call_back",
        identifiers: &[
            Identifier {
                name: "call",
                pos: 1,
                actions: &["call"],
            },
            Identifier {
                name: "later",
                pos: 2,
                actions: &["dismiss"],
            },
        ],
    },
    Category {
        name: "remind_later",
        identifiers: &[
            Identifier {
                name: "remind",
                pos: 1,
                actions: &["open_app", "deeplink"],
            },
            Identifier {
                name: "later",
                pos: 2,
                actions: &["dismiss"],
            },
            Identifier {
                name: "never",
                pos: 3,
                actions: &["dismiss"],
            },
        ],
    },
];

/// What value an action takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueKind {
    /// None (a value sent is ignored).
    Nothing,
    /// An `http://` or `https://` URL.
    Url,
    /// A URI with a scheme, e.g. `myapp://orders/42`.
    Uri,
    /// Text that is not blank.
    Text,
    /// A phone number: 3 to 15 digits, an optional leading `+`.
    Phone,
}

/// An action: its name, whether push and rt offer it, and its value.
pub(crate) struct Action {
    pub name: &'static str,
    pub push: bool,
    pub rt: bool,
    pub value: ValueKind,
}

/// The actions of interactive notifications.
pub(crate) const ACTIONS: &[Action] = &[
    Action {
        name: "open_app",
        push: true,
        rt: true,
        value: ValueKind::Nothing,
    },
    Action {
        name: "open_url",
        push: true,
        rt: true,
        value: ValueKind::Url,
    },
    Action {
        name: "deeplink",
        push: true,
        rt: true,
        value: ValueKind::Uri,
    },
    Action {
        name: "dismiss",
        push: true,
        rt: true,
        value: ValueKind::Nothing,
    },
    Action {
        name: "reply",
        push: false,
        rt: true,
        value: ValueKind::Text,
    },
    Action {
        name: "call",
        push: true,
        rt: false,
        value: ValueKind::Phone,
    },
];

fn value_ok(kind: ValueKind, v: &str) -> bool {
    match kind {
        ValueKind::Nothing => true,
        ValueKind::Url => {
            (v.starts_with("http://") || v.starts_with("https://"))
                && url::Url::parse(v).is_ok_and(|u| u.host().is_some())
        }
        ValueKind::Uri => v.split_once("://").is_some_and(|(scheme, rest)| {
            !rest.is_empty()
                && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }),
        ValueKind::Text => !v.trim().is_empty(),
        ValueKind::Phone => {
            let d = v.strip_prefix('+').unwrap_or(v);
            (3..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit())
        }
    }
}

fn pos_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Checks an interactive object of a message on `channel` (push or rt).
pub(crate) fn check(interactive: &Value, channel: Channel) -> Result<(), Msg<'static>> {
    let empty = Map::new();
    let obj = interactive.as_object().unwrap_or(&empty);
    let devices = obj
        .get("device_types")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or(DEVICE_TYPES_MISSING)?;
    check_devices(devices)?;
    let name = obj
        .get("category")
        .and_then(Value::as_str)
        .filter(|c| !c.trim().is_empty())
        .ok_or(CATEGORY_MISSING)?;
    let category = CATEGORIES
        .iter()
        .find(|c| c.name == name)
        .ok_or(INVALID_CATEGORY)?;
    let actions = obj
        .get("actions")
        .and_then(Value::as_array)
        .ok_or(ACTIONS_MISSING)?;
    if actions.len() != category.identifiers.len() {
        return Err(WRONG_ACTION_COUNT);
    }
    let mut positions: Vec<i64> = Vec::new();
    for a in actions {
        check_action(
            a.as_object().unwrap_or(&empty),
            category,
            channel,
            &mut positions,
        )?;
    }
    Ok(())
}

/// `device_types`: each of `ios` and `android` at most once.
fn check_devices(devices: &[Value]) -> Result<(), Msg<'static>> {
    let mut seen: Vec<&str> = Vec::new();
    for d in devices {
        let d = d
            .as_str()
            .filter(|d| matches!(*d, "ios" | "android"))
            .ok_or(INVALID_DEVICE_TYPE)?;
        if seen.contains(&d) {
            return Err(DUPLICATE_DEVICE_TYPE);
        }
        seen.push(d);
    }
    Ok(())
}

/// One button of the category: its position, an action the channel offers and the button
/// takes, the value that action needs, and the identifier that names the position.
/// `positions` holds those of the buttons before it.
fn check_action(
    a: &Map<String, Value>,
    category: &Category,
    channel: Channel,
    positions: &mut Vec<i64>,
) -> Result<(), Msg<'static>> {
    let pos = a.get("pos").filter(|p| !p.is_null()).ok_or(POS_MISSING)?;
    let pos = pos_of(pos).ok_or(POS_NOT_ALLOWED)?;
    if positions.contains(&pos) {
        return Err(DUPLICATE_POS);
    }
    positions.push(pos);
    let button = category
        .identifiers
        .iter()
        .find(|i| i.pos == pos)
        .ok_or(POS_NOT_ALLOWED)?;
    let action = a
        .get("action")
        .and_then(Value::as_str)
        .and_then(|n| ACTIONS.iter().find(|x| x.name == n))
        .filter(|x| match channel {
            Channel::Push => x.push,
            Channel::Rt => x.rt,
            _ => false,
        })
        .ok_or(INVALID_ACTION)?;
    if action.value != ValueKind::Nothing {
        let value = a
            .get("value")
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .ok_or(VALUE_MISSING)?;
        if !value_ok(action.value, value) {
            return Err(INVALID_VALUE);
        }
    }
    if let Some(named) = a.get("identifier").and_then(Value::as_str) {
        let found = category
            .identifiers
            .iter()
            .find(|i| i.name == named)
            .ok_or(UNKNOWN_IDENTIFIER)?;
        if found.pos != pos {
            return Err(NO_IDENTIFIER_AT_POS);
        }
    }
    if !button.actions.contains(&action.name) {
        return Err(ACTION_NOT_FOR_IDENTIFIER);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_named_message_says_what_its_name_says() {
        let c = verdict::Catalog::builtin().get("webex-connect").unwrap();
        for (msg, fragment) in [
            (DEVICE_TYPES_MISSING, "device_types missing"),
            (VALUE_MISSING, "value missing for action"),
            (POS_MISSING, "pos missing"),
            (CATEGORY_MISSING, "category missing"),
            (ACTIONS_MISSING, "actions missing"),
            (INVALID_DEVICE_TYPE, "invalid device type"),
            (DUPLICATE_DEVICE_TYPE, "duplicate device type"),
            (DUPLICATE_POS, "duplicate values for pos"),
            (INVALID_ACTION, "invalid for this channel"),
            (INVALID_VALUE, "specified value is invalid"),
            (ACTION_NOT_FOR_IDENTIFIER, "invalid action for identifier"),
            (UNKNOWN_IDENTIFIER, "invalid identifier"),
            (NO_IDENTIFIER_AT_POS, "at this position"),
            (POS_NOT_ALLOWED, "only positions"),
            (WRONG_ACTION_COUNT, "number of actions"),
            (INVALID_CATEGORY, "param category"),
        ] {
            let text = msg.text(c);
            assert!(
                text.contains(fragment),
                "{msg:?}: {text:?} lacks {fragment:?}"
            );
        }
    }

    #[test]
    fn a_well_formed_object_passes_on_its_channels_only() {
        let ok = json!({
            "device_types": ["ios", "android"],
            "category": "call_back",
            "actions": [
                {"pos": 1, "action": "call", "value": "+15550100", "identifier": "call"},
                {"pos": "2", "action": "dismiss"}
            ]
        });
        assert_eq!(check(&ok, Channel::Push), Ok(()));
        assert_eq!(
            check(&ok, Channel::Rt),
            Err(INVALID_ACTION),
            "no calls over rt"
        );
        assert!(CATEGORIES.iter().all(|c| {
            c.identifiers.iter().all(|i| {
                i.actions
                    .iter()
                    .all(|a| ACTIONS.iter().any(|x| x.name == *a))
            })
        }));
    }

    #[test]
    fn values_by_kind() {
        assert!(value_ok(ValueKind::Url, "https://example.com/a"));
        assert!(!value_ok(ValueKind::Url, "ftp://example.com"));
        assert!(value_ok(ValueKind::Uri, "shop://orders/42"));
        assert!(!value_ok(ValueKind::Uri, "orders/42"));
        assert!(!value_ok(ValueKind::Phone, "call me"));
        assert!(!value_ok(ValueKind::Text, "  "));
    }
}
