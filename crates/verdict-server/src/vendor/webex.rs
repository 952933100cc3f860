//! Webex: ids that are base64 `ciscospark://` URIs, rooms with creator and activity times,
//! memberships that need a person, messages that need a room or a person and content, the
//! caller at `/people/me`, and files that could not be scanned (428).

use serde_json::{Map, Value, json};
use verdict::emulate::ResourceSpec;

use super::{Generic, Vendor};
use crate::Emulator;
use crate::openapi::{Answer, Operation, Route, path_param};
use crate::reply::Reply;
use crate::request::{Ctx, Principal};
use crate::resource::now_stamp;
use crate::state::State;
use crate::util::base64url;
use http::Method;

pub struct Webex;

fn person_id(who: &Principal) -> String {
    base64url(format!("ciscospark://us/PEOPLE/{}", who.account).as_bytes())
}

impl Vendor for Webex {
    /// Ids are base64 of `ciscospark://us/KIND/{id}`, unpadded and URL-safe.
    fn new_id(&self, em: &Emulator, r: &ResourceSpec) -> String {
        let inner = Generic.new_id(em, r);
        base64url(format!("ciscospark://us/{}/{inner}", r.kind).as_bytes())
    }

    /// Webex error bodies always carry `errors`, one entry with the description.
    fn fields_without_detail(&self, message: &str) -> Option<Value> {
        Some(json!([{ "description": message }]))
    }

    fn route(&self, em: &Emulator, ctx: &Ctx<'_>, who: &Principal) -> Option<Reply> {
        let path = ctx.req.path.strip_prefix(&em.spec.base_path)?;
        // The caller, as `me` or by the id its answers carry.
        let me = path == "/people/me"
            || path
                .strip_prefix("/people/")
                .is_some_and(|id| id == person_id(who));
        if me && ctx.req.method != Method::GET {
            return Some(super::not_allowed(em, ctx, &[Method::GET]));
        }
        if me {
            return Some(Reply::json(
                200,
                &json!({
                    "id": person_id(who),
                    "emails": [format!("{}@example.com", who.account)],
                    "displayName": "Verdict Emulator User",
                    "orgId": base64url(b"ciscospark://us/ORGANIZATION/verdict"),
                    "created": "2020-01-01T00:00:00.000Z",
                    "type": "person",
                }),
            ));
        }
        // A file that could not be scanned for malware: handed out only when forced.
        let file = path.strip_prefix("/contents/")?;
        if ctx.req.method != Method::GET {
            return Some(super::not_allowed(em, ctx, &[Method::GET]));
        }
        if file.starts_with("unscannable")
            && ctx.req.query_value("allow").as_deref() != Some("unscannable")
        {
            return Some(em.error(ctx, 428, Some("The file could not be scanned for malware; add allow=unscannable to download it anyway."), &[]));
        }
        Some(
            Reply::empty(200)
                .header("Content-Type", "application/octet-stream")
                .header(
                    "Content-Disposition",
                    format!("attachment; filename=\"{file}\""),
                ),
        )
    }

    fn routes(&self, em: &Emulator) -> Vec<Route> {
        let base = &em.spec.base_path;
        let person = json!({"type": "object", "required": ["id", "emails", "displayName"], "properties": {
            "id": {"type": "string"}, "emails": {"type": "array", "items": {"type": "string"}},
            "displayName": {"type": "string"}, "orgId": {"type": "string"},
            "created": {"type": "string"}, "type": {"type": "string"}}});
        let me = Operation::new(Method::GET, "The caller's own person").answer(Answer::json(
            200,
            "The person",
            person,
        ));
        let file = Operation::new(Method::GET, "Download a file attached to a message")
            .params(vec![
                path_param("id"),
                json!({"name": "allow", "in": "query", "schema": {"type": "string"},
                    "description": "`unscannable` hands out a file that could not be scanned; any other value is ignored."}),
            ])
            .answer(Answer::bare(200, "The file's bytes"))
            .errors(&[(428, "The file could not be scanned; add allow=unscannable")]);
        vec![
            Route {
                path: format!("{base}/people/me"),
                ops: vec![me],
            },
            Route {
                path: format!("{base}/contents/{{id}}"),
                ops: vec![file],
            },
        ]
    }

    fn check(
        &self,
        em: &Emulator,
        ctx: &Ctx<'_>,
        r: &ResourceSpec,
        body: &Map<String, Value>,
        creating: bool,
    ) -> Result<(), Reply> {
        // What fields say (a person, a room or a person, some content) the resource's
        // schema checks; what is left is that the room exists.
        if !creating || r.name != "memberships" {
            return Ok(());
        }
        let room = body.get("roomId").and_then(Value::as_str).unwrap_or("");
        if em.lock().collection("rooms").contains(room) {
            return Ok(());
        }
        Err(em.error(
            ctx,
            404,
            Some("The room of this membership does not exist."),
            &[],
        ))
    }

    fn decorate(
        &self,
        _em: &Emulator,
        r: &ResourceSpec,
        item: &mut Map<String, Value>,
        who: &Principal,
        state: &mut State,
    ) {
        let now = now_stamp();
        let me = person_id(who);
        match r.name.as_str() {
            "rooms" => {
                item.insert("creatorId".into(), me.clone().into());
                item.insert("lastActivity".into(), now.clone().into());
                item.insert(
                    "ownerId".into(),
                    base64url(b"ciscospark://us/ORGANIZATION/verdict").into(),
                );
            }
            "memberships" => {
                if !item.contains_key("personId") {
                    let email = item
                        .get("personEmail")
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    item.insert(
                        "personId".into(),
                        base64url(format!("ciscospark://us/PEOPLE/{email}").as_bytes()).into(),
                    );
                }
                let room_type = item
                    .get("roomId")
                    .and_then(Value::as_str)
                    .and_then(|id| state.collection("rooms").get(id))
                    .and_then(|room| room.value.get("type").cloned())
                    .unwrap_or_else(|| "group".into());
                item.insert("roomType".into(), room_type);
            }
            "messages" => {
                item.insert("personId".into(), me.clone().into());
                item.insert(
                    "personEmail".into(),
                    format!("{}@example.com", who.account).into(),
                );
                item.entry("roomType").or_insert_with(|| "group".into());
            }
            _ => {}
        }
        item.insert("created".into(), now.into());
    }
}
