//! Operations on one item served at paths of their own (RPC-style APIs such as Slack's Web
//! API): the item is named by a query parameter or a body member (`id_param`) rather than
//! by the route, and an item that does not exist (or that the caller cannot see) is
//! answered with the resource's `reference_status`, in the resource's error codes.

use serde_json::{Map, Value};
use verdict::emulate::RpcOperation;

use crate::Emulator;
use crate::address::{Target, stored_id, visible};
use crate::reply::Reply;
use crate::request::{Ctx, Principal};

/// The text of an item's key as a query parameter or body member gives it.
fn key_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Emulator {
    /// `target` narrowed to the item `op` names, which exists and the caller sees; the
    /// refusal otherwise. `body` is the request's body for an operation that takes one.
    fn named_item<'a>(
        &self,
        ctx: &Ctx<'_>,
        target: &Target<'a>,
        op: &RpcOperation,
        who: &Principal,
        body: Option<&Map<String, Value>>,
    ) -> Result<Target<'a>, Reply> {
        let r = target.r;
        let param = op.id_param.as_deref().unwrap_or("id");
        let key = match body {
            Some(b) => b.get(param).and_then(key_of),
            None => ctx.req.query_value(param).filter(|v| !v.is_empty()),
        };
        let kind = r.kind.to_lowercase();
        let Some(key) = key else {
            let message = format!("{param} names no {kind}: it is missing or empty.");
            return Err(self.resource_error(ctx, r, r.reference_status, Some(&message), &[]));
        };
        let named = Target {
            item: Some(key.clone()),
            op: None,
            ..target.clone()
        };
        let coll = named.collection();
        let found = {
            let mut state = self.lock();
            stored_id(&mut state, &coll, r, &key).is_some_and(|id| {
                state
                    .collection(&coll)
                    .get(&id)
                    .is_some_and(|it| visible(it, who))
            })
        };
        if !found {
            let message = format!("{param} {key} names no {kind} that exists.");
            return Err(self.resource_error(
                ctx,
                r,
                r.reference_status,
                Some(&message),
                &[param.to_owned()],
            ));
        }
        Ok(named)
    }

    /// A get operation: the item its query (or body) names, as a read of its route.
    pub(crate) fn get_named(
        &self,
        ctx: &Ctx<'_>,
        target: &Target<'_>,
        op: &RpcOperation,
        who: &Principal,
    ) -> Reply {
        match self.named(ctx, target, op, who) {
            Ok((t, _)) => self.get(ctx, &t, who),
            Err(reply) => reply,
        }
    }

    /// An update operation: the fields its body gives (as its rules take them) and the
    /// fixed values it sets, stored on the item it names.
    pub(crate) fn update_named(
        &self,
        ctx: &Ctx<'_>,
        target: &Target<'_>,
        op: &RpcOperation,
        who: &Principal,
    ) -> Reply {
        let r = target.r;
        let (t, body) = match self.named(ctx, target, op, who) {
            Ok(named) => named,
            Err(reply) => return reply,
        };
        let mut body = body.unwrap_or_default();
        let id = match self.writable(ctx, &t, who) {
            Ok((id, _)) => id,
            Err(reply) => return reply,
        };
        if !op.id_in_query() {
            if let Some(param) = &op.id_param {
                body.remove(param);
            }
        }
        let rules = op.rules.as_ref().unwrap_or(&r.create);
        if let Err(reply) = self.validate_by(ctx, r, rules, &body, false) {
            return reply;
        }
        body.retain(|k, _| rules.accepts.contains(k));
        body.extend(op.set.iter().map(|(k, v)| (k.clone(), v.clone())));
        self.store_update(ctx, &t, who, &id, body)
    }

    /// A delete operation: the item it names goes; the answer is the resource's envelope
    /// (Slack's `{"ok": true}`) with 200 when it has one, else the delete status.
    pub(crate) fn delete_named(
        &self,
        ctx: &Ctx<'_>,
        target: &Target<'_>,
        op: &RpcOperation,
        who: &Principal,
    ) -> Reply {
        let t = match self.named(ctx, target, op, who) {
            Ok((t, _)) => t,
            Err(reply) => return reply,
        };
        let id = match self.writable(ctx, &t, who) {
            Ok((id, _)) => id,
            Err(reply) => return reply,
        };
        self.lock()
            .remove(&t.collection(), &id, t.r.gone_after_delete);
        if t.r.envelope.is_empty() {
            return Reply::empty(self.spec.delete_status);
        }
        let envelope = Value::Object(t.r.envelope.clone());
        self.content_type(Reply::json(200, &envelope), t.r)
    }

    /// The item `op` names (as [`named_item`](Self::named_item)) and the body it came in,
    /// for an operation that names it in the body.
    fn named<'a>(
        &self,
        ctx: &Ctx<'_>,
        target: &Target<'a>,
        op: &RpcOperation,
        who: &Principal,
    ) -> Result<(Target<'a>, Option<Map<String, Value>>), Reply> {
        let body = self.op_body(ctx, target, op)?;
        let t = self.named_item(ctx, target, op, who, body.as_ref())?;
        Ok((t, body))
    }

    /// The JSON object body of an operation that names its item in the body; none for one
    /// that names it in the query.
    fn op_body(
        &self,
        ctx: &Ctx<'_>,
        target: &Target<'_>,
        op: &RpcOperation,
    ) -> Result<Option<Map<String, Value>>, Reply> {
        if op.id_in_query() {
            return Ok(None);
        }
        self.body_object(ctx, target.r).map(Some)
    }
}
