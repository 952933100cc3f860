//! What the emulated account is configured with, beyond its resources: the custom events
//! it takes (`[[emulator.event]]`) and the apps linked to it (`[[emulator.app]]`), read
//! here, and checked against the contract's APIs once they are resolved.

use super::*;

/// `[[emulator.event]]`: `id` and `parameters = { name = "text" | "number" | "currency" |
/// "time" }`, each id once.
pub(super) fn read_events(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> Vec<CustomEvent> {
    let mut events: Vec<CustomEvent> = Vec::new();
    for e in t.tables(cx, "event") {
        e.check_keys(cx, &["id", "parameters"]);
        let taken = |id: &str| events.iter().any(|x| x.id == id);
        let Some(id) = new_id(cx, &e, taken, "an event") else {
            continue;
        };
        let mut parameters = Vec::new();
        if let Some(p) = e.table(cx, "parameters") {
            for (key, _) in p.map.iter() {
                let name: &str = key.get_ref();
                if let Some(kind) = p.parsed(cx, name) {
                    parameters.push((key.span().start, name.to_owned(), kind));
                }
            }
        }
        // In the order the file writes them (the table itself is kept by name).
        parameters.sort_by_key(|(at, ..)| *at);
        let parameters = parameters.into_iter().map(|(_, n, k)| (n, k)).collect();
        events.push(CustomEvent { id, parameters });
    }
    events
}

/// The table's `id`: required, not empty, and not `taken` by an earlier one (`what`
/// names the kind in the message); `None` after reporting.
fn new_id(
    cx: &mut Cx<'_>,
    t: &Obj<'_, '_>,
    taken: impl Fn(&str) -> bool,
    what: &str,
) -> Option<String> {
    let id = t.required_string(cx, "id")?;
    let why = if id.trim().is_empty() {
        "must not be empty".to_owned()
    } else if taken(&id) {
        format!("names {what} already given")
    } else {
        return Some(id);
    };
    let span = t.get("id").map(Spanned::span).unwrap_or_default();
    cx.report(span, t.field("id"), why);
    None
}

/// `[[emulator.app]]`: `id`, `channels`, `create` and `update` (each a list of `{ attribute,
/// missing }`) and `attributes`; each id once.
pub(super) fn read_apps(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> Vec<LinkedApp> {
    let mut apps: Vec<LinkedApp> = Vec::new();
    for a in t.tables(cx, "app") {
        a.check_keys(cx, &["id", "channels", "create", "update", "attributes"]);
        let taken = |id: &str| apps.iter().any(|x| x.id == id);
        let Some(id) = new_id(cx, &a, taken, "an app") else {
            continue;
        };
        apps.push(LinkedApp {
            id,
            channels: a.list(cx, "channels").unwrap_or_default(),
            create: required_attributes(cx, &a, "create"),
            update: required_attributes(cx, &a, "update"),
            attributes: a.list(cx, "attributes").unwrap_or_default(),
        });
    }
    apps
}

/// A list of `{ attribute, missing }`: the attributes a profile must give.
fn required_attributes(cx: &mut Cx<'_>, a: &Obj<'_, '_>, key: &str) -> Vec<RequiredAttribute> {
    let mut out = Vec::new();
    for r in a.tables(cx, key) {
        r.check_keys(cx, &["attribute", "missing"]);
        if let (Some(attribute), Some(missing)) = (
            r.required_string(cx, "attribute"),
            r.required_string(cx, "missing"),
        ) {
            out.push(RequiredAttribute { attribute, missing });
        }
    }
    out
}

/// The apps' references into the APIs: each channel a value some `[[api.enum]]` lists, and
/// each `missing` the key of a message some API has. Placed where they are written.
pub(super) fn check_apps(spec: &EmulatorSpec, apis: &[Api]) -> Vec<(Span, String, String)> {
    let mut found = Vec::new();
    let values: Vec<&str> = apis
        .iter()
        .flat_map(|api| &api.enums)
        .flat_map(|e| e.values.iter().map(|v| v.value.as_str()))
        .collect();
    for (i, app) in spec.apps.iter().enumerate() {
        for (j, channel) in app.channels.iter().enumerate() {
            if !values.iter().any(|v| v.eq_ignore_ascii_case(channel)) {
                let hint = crate::suggest::closest(channel, values.iter().copied())
                    .map(|b| format!("; did you mean \"{b}\"?"))
                    .unwrap_or_default();
                found.push((
                    0..0,
                    format!("emulator.app[{i}].channels[{j}]"),
                    format!("\"{channel}\" is not a value any [[api.enum]] lists{hint}"),
                ));
            }
        }
        let required = [("create", &app.create), ("update", &app.update)];
        for (what, list) in required {
            for (j, r) in list.iter().enumerate() {
                if !apis.iter().any(|api| api.message(&r.missing).is_some()) {
                    found.push((
                        0..0,
                        format!("emulator.app[{i}].{what}[{j}].missing"),
                        format!(
                            "no API of the contract has a message with key \"{}\"",
                            r.missing
                        ),
                    ));
                }
            }
        }
    }
    found
}
