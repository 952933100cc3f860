//! What the emulator needs to know about an API beyond its codes: its resources, the
//! statuses it answers CRUD with, how it lists and pages, its quotas. Read from the
//! `[emulator]` table of a contract.

use http::Method;
use serde::{Serialize, Serializer};

use crate::names::{FieldType, UnknownFields};

/// The `[emulator]` table of a contract.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmulatorSpec {
    /// The module that adds what only this vendor does (none: the contract alone).
    pub vendor: Option<crate::names::VendorModule>,
    /// The path every resource path is under, e.g. `/v1`.
    pub base_path: String,
    /// How ids look.
    pub id_style: crate::names::IdStyle,
    /// The status of a successful create.
    pub create_status: u16,
    /// The status of a successful update.
    pub update_status: u16,
    /// The status of a successful delete.
    pub delete_status: u16,
    /// The methods that update a resource.
    #[serde(serialize_with = "methods")]
    pub update_methods: Vec<Method>,
    /// A create answers with a Location header.
    pub location_on_create: bool,
    /// The key of the array in a list body (`items`); none for a bare array.
    pub list_key: Option<String>,
    /// The query parameter with the page size.
    pub page_param: Option<String>,
    /// The page size when none is asked for.
    pub page_default: u32,
    /// The largest page size; a larger one is answered with `page_limit_status`.
    pub page_limit: u32,
    /// The status for a page size over the limit.
    pub page_limit_status: u16,
    /// Lists are paged with a `Link: <…>; rel="next"` header.
    pub link_pagination: bool,
    /// The relations that `Link` header gives, in this order (`link_relations`; default
    /// `next` alone, as Webex sends it; GitHub sends `next`, `last`, `first` and `prev`).
    /// `prev`, `first` and `last` apply to page and offset styles, where a page has a
    /// place among the others.
    pub link_relations: Vec<crate::names::LinkRelation>,
    /// How a list says where its next page starts: a cursor, a page number or an offset.
    pub page_style: crate::names::PageStyle,
    /// The query parameter that says where a page starts (`cursor`, `page`, `offset`).
    pub cursor_param: String,
    /// Where in a list body the next page's cursor is written (a JSON pointer such as
    /// `/response_metadata/next_cursor`; `""` on the last page); none: not in the body.
    pub next_cursor: Option<crate::JsonPointer>,
    /// What a page size over `page_limit` gets: refused, or capped to the limit.
    pub page_oversize: crate::names::PageOversize,
    /// Request media types accepted on bodies.
    pub media_types: Vec<String>,
    /// Plain HTTP is refused with 403.
    pub https_only: bool,
    /// Per-credential request quotas.
    pub quotas: Vec<Quota>,
    /// The value of the `[rate_limit] group` header on answers that count against a quota
    /// (RingCentral's `Medium`).
    pub rate_limit_group: Option<String>,
    /// The vendor's error code in error bodies, by status (`error_codes`).
    pub error_codes: Vec<ErrorCode>,
    /// The status, code and message of each refusal of credentials, where the vendor tells the
    /// reasons apart (`[emulator.credential_refusals]`).
    pub credential_refusals: CredentialRefusals,
    /// What a list answers for a page start no page gave out (a cursor, page or offset
    /// that is not one): 400 with our words unless the contract says (Slack's
    /// `invalid_cursor`).
    pub cursor_refusal: Refusal,
    /// The most resources stored at once.
    pub store_limit: usize,
    /// The status for a body that lacks a required field (400, or Whispir's 422).
    pub missing_field_status: u16,
    /// The status for a body with a field the operation does not take, where the
    /// resource's policy refuses it.
    pub unknown_field_status: u16,
    /// The most idempotency keys whose answers are kept at once (the oldest go first).
    pub idempotency_limit: usize,
    /// The answer to a request whose `Accept` no media type of the resource meets
    /// (`accept_unmet`; RFC 9110's 406 unless the document names another).
    pub accept_unmet: EmulatorAnswer,
    /// The answer to a body sent without `Content-Type` (`content_type_missing`; 415).
    pub content_type_missing: EmulatorAnswer,
    /// The answer to a body whose `Content-Type` the resource does not take
    /// (`content_type_wrong`; 415).
    pub content_type_wrong: EmulatorAnswer,
    /// The resources.
    pub resources: Vec<ResourceSpec>,
    /// The custom events an events API of the vendor takes (Webex Connect's
    /// `externalevent`), each with the parameters it must carry.
    pub events: Vec<CustomEvent>,
    /// The apps linked to the emulated account (Webex Connect's `appid`), each with the
    /// channels it may send on and what its profiles hold.
    pub apps: Vec<LinkedApp>,
    /// The quota of transactions a vendor module counts per unit of work rather than per
    /// request (Webex Connect: each destination of a message, each event, each profile
    /// record, each status query), refused with the vendor's own code (7020); its
    /// `status` is not used. `None`: no such quota.
    pub transactions: Option<Quota>,
}

/// A custom event the emulated service is configured for: its id and the parameters it
/// must carry, in the order the contract writes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomEvent {
    /// The event id (`order_shipped`).
    pub id: String,
    /// Each mandatory parameter and what it holds.
    pub parameters: Vec<(String, crate::names::EventParameter)>,
}

/// An app linked to the emulated account: the channels it is enabled for, and what its app
/// profiles hold. Webex Connect's messaging API refuses an app that is not enabled for a
/// message's channel, and its profile API keeps one profile per app and customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkedApp {
    /// The app id (`rtm-app`).
    pub id: String,
    /// The channels it is enabled for, among those an app must be (`push`, `rt`).
    pub channels: Vec<String>,
    /// The attributes a profile create must give, in the order they are checked.
    pub create: Vec<RequiredAttribute>,
    /// The attributes a profile update must give, in the order they are checked.
    pub update: Vec<RequiredAttribute>,
    /// The other attributes its profiles may hold.
    pub attributes: Vec<String>,
}

impl LinkedApp {
    /// Whether the app may send on `channel`.
    pub fn sends_on(&self, channel: &str) -> bool {
        self.channels
            .iter()
            .any(|c| c.eq_ignore_ascii_case(channel))
    }
}

/// An attribute a profile must give, with the key of the vendor's message that refuses a
/// profile without it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequiredAttribute {
    /// The attribute's name (`rtmId`).
    pub attribute: String,
    /// The key of the message a profile without it gets (`rtm-id-missing`).
    pub missing: String,
}

/// Why the emulator refuses a request's credentials, each with what the vendor answers
/// then (Slack: `not_authed` for none, `invalid_auth` for an unknown token; GitHub:
/// "Requires authentication" and "Bad credentials"; the token API: 403 for a token it does
/// not know or revoked). What a reason leaves unsaid is a 401's: its code from
/// `error_codes` and the emulator's own words.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CredentialRefusals {
    /// No credential was sent.
    pub missing: Refusal,
    /// The credential is not one the emulator issued.
    pub unknown: Refusal,
    /// The credential was revoked.
    pub revoked: Refusal,
    /// The credential ran out (an OAuth access token past its lifetime).
    pub expired: Refusal,
}

impl CredentialRefusals {
    /// What the vendor answers for `reason`.
    pub fn get(&self, reason: crate::names::RefusalReason) -> &Refusal {
        use crate::names::RefusalReason::*;
        match reason {
            Missing => &self.missing,
            Unknown => &self.unknown,
            Revoked => &self.revoked,
            Expired => &self.expired,
        }
    }

    /// The refusal of `reason` as the contract writes it.
    pub(crate) fn get_mut(&mut self, reason: crate::names::RefusalReason) -> &mut Refusal {
        use crate::names::RefusalReason::*;
        match reason {
            Missing => &mut self.missing,
            Unknown => &mut self.unknown,
            Revoked => &mut self.revoked,
            Expired => &mut self.expired,
        }
    }
}

/// The vendor's status, code and message for one refusal (of credentials, of a page start);
/// each is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// The status, when not 401.
    pub status: Option<u16>,
    /// The code in the error body, in place of the status's.
    pub code: Option<String>,
    /// The message in the error body.
    pub message: Option<String>,
}

impl Refusal {
    /// The status the refusal is answered with: its own, else 401.
    ///
    /// ```
    /// use verdict::emulate::Refusal;
    /// assert_eq!(Refusal::default().status(), 401);
    /// let r = Refusal { status: Some(403), ..Refusal::default() };
    /// assert_eq!(r.status(), 403);
    /// ```
    pub fn status(&self) -> u16 {
        self.status_or(401)
    }

    /// The status the refusal is answered with: its own, else `default`.
    pub fn status_or(&self, default: u16) -> u16 {
        self.status.unwrap_or(default)
    }
}

/// The vendor's error code for one status, or for every status of a class (`5xx`) that
/// has no entry of its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorCode {
    /// The status (`500`), or the class (`5`) when `class` is set.
    pub status: u16,
    /// The entry is for the class `status` (1 to 5).
    pub class: bool,
    /// The code, e.g. `CMN-101`.
    pub code: String,
}

impl EmulatorSpec {
    /// The vendor's error code for `status`: its own entry, else its class's.
    ///
    /// ```
    /// use verdict::emulate::ErrorCode;
    /// let spec = verdict::Catalog::builtin().get("ringcentral").unwrap().emulator.clone().unwrap();
    /// assert_eq!(spec.error_code(404), Some("CMN-102"));
    /// assert_eq!(spec.error_code(502), Some("CMN-211"));
    /// assert_eq!(spec.error_code(418), None);
    /// ```
    pub fn error_code(&self, status: u16) -> Option<&str> {
        code_for(&self.error_codes, status)
    }
}

/// The entry of `codes` for `status`: its own, else its class's.
fn code_for(codes: &[ErrorCode], status: u16) -> Option<&str> {
    let own = codes.iter().find(|c| !c.class && c.status == status);
    own.or_else(|| codes.iter().find(|c| c.class && c.status == status / 100))
        .map(|c| c.code.as_str())
}

/// The status the emulator answers a condition with, and where that choice comes from: the
/// vendor's document (`seed`, and then the contract must document the status), the HTTP
/// standards (`rfc`), or our reading where no documented status fits (`inferred`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EmulatorAnswer {
    /// The status.
    pub status: u16,
    /// Where the choice comes from.
    pub origin: crate::names::Origin,
}

impl EmulatorAnswer {
    /// The HTTP standards' answer `status`.
    pub const fn rfc(status: u16) -> EmulatorAnswer {
        EmulatorAnswer {
            status,
            origin: crate::names::Origin::Rfc,
        }
    }
}

fn methods<S: Serializer>(m: &[Method], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(m.iter().map(Method::as_str))
}

/// A request quota per credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Quota {
    /// Requests allowed per window.
    pub requests: u32,
    /// The window in seconds.
    pub window_s: u32,
    /// The status that refuses a request over the quota (429, or Whispir's 403).
    pub status: u16,
    /// The rate-limit group whose routes it counts (GitHub's `search`); none: every route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

impl Quota {
    /// Whether a request of a route in rate-limit group `route` counts against it.
    ///
    /// ```
    /// use verdict::emulate::Quota;
    /// let search = Quota { requests: 30, window_s: 60, status: 403, group: Some("search".into()) };
    /// assert!(search.counts(Some("search")));
    /// assert!(!search.counts(Some("core")) && !search.counts(None));
    /// assert!(Quota { group: None, ..search }.counts(Some("core")));
    /// ```
    pub fn counts(&self, route: Option<&str>) -> bool {
        match &self.group {
            None => true,
            Some(g) => route == Some(g.as_str()),
        }
    }
}

/// One field of a resource: its type and the rules its value must meet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldSpec {
    /// Its JSON name.
    pub name: String,
    /// Its JSON type.
    #[serde(rename = "type")]
    pub ty: FieldType,
    /// A create must give it.
    pub required: bool,
    /// The value a create that leaves it out gets.
    pub default: Option<serde_json::Value>,
    /// `null` is a value it takes (otherwise `null` is refused).
    pub nullable: bool,
    /// The fewest characters of a string.
    pub min_length: Option<u64>,
    /// The most characters of a string.
    pub max_length: Option<u64>,
    /// The only values it takes (empty: any of its type).
    #[serde(rename = "enum")]
    pub one_of_values: Vec<serde_json::Value>,
    /// The smallest number.
    pub minimum: Option<f64>,
    /// The largest number.
    pub maximum: Option<f64>,
    /// The fewest items of an array.
    pub min_items: Option<u64>,
    /// The most items of an array.
    pub max_items: Option<u64>,
}

impl FieldSpec {
    /// A field of type `ty` with no rules beyond its type.
    pub fn new(name: impl Into<String>, ty: FieldType) -> FieldSpec {
        FieldSpec {
            name: name.into(),
            ty,
            required: false,
            default: None,
            nullable: false,
            min_length: None,
            max_length: None,
            one_of_values: Vec::new(),
            minimum: None,
            maximum: None,
            min_items: None,
            max_items: None,
        }
    }
}

/// The body one operation (a create, or an update by one method) takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BodyRules {
    /// The fields it takes; any other is an unknown field.
    pub accepts: Vec<String>,
    /// The fields it must give.
    pub required: Vec<String>,
    /// Groups of which it must give at least one field each.
    pub one_of: Vec<Vec<String>>,
}

/// One collection of resources.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceSpec {
    /// Its name, e.g. `rooms`.
    pub name: String,
    /// Its path under the base path, e.g. `/rooms`.
    pub path: String,
    /// The kind used in ids (Webex: ROOM, MEMBERSHIP).
    pub kind: String,
    /// Its fields.
    pub fields: Vec<FieldSpec>,
    /// What a create takes.
    pub create: BodyRules,
    /// What an update takes, per update method.
    #[serde(serialize_with = "updates")]
    pub updates: Vec<(Method, BodyRules)>,
    /// What a body field the operation does not take gets.
    pub unknown_fields: UnknownFields,
    /// Field sets whose values must be unique (a duplicate is a 409).
    pub unique: Vec<Vec<String>>,
    /// Methods it answers.
    #[serde(serialize_with = "methods")]
    pub methods: Vec<Method>,
    /// Methods it knows but does not implement (answered with 501).
    #[serde(serialize_with = "methods")]
    pub not_implemented: Vec<Method>,
    /// A deleted resource answers 410 instead of 404.
    pub gone_after_delete: bool,
    /// A create answers 202 and the resource is ready only after this many milliseconds.
    pub accept_delay_ms: Option<u64>,
    /// The media type its bodies use, when not the API's general one.
    pub media_type: Option<String>,
    /// Fields a list may be filtered by through the query string.
    pub filters: Vec<String>,
    /// The names of the parameters of `path` (`/repos/{owner}/{repo}/issues`: owner and
    /// repo), in order: items live under their values.
    pub params: Vec<String>,
    /// It is served at `path` (collection and items); false when only `operations` serve it.
    pub rest: bool,
    /// The field that addresses an item in its route (none: `id`); unique in a collection.
    pub key: Option<String>,
    /// An integer field numbered 1, 2, 3 … per collection (GitHub's issue `number`).
    pub sequence: Option<String>,
    /// How its ids look (its own `id_style`, else the `[emulator]` one).
    pub id_style: crate::names::IdStyle,
    /// Text put before each id it makes (Slack's channel ids start with `C`).
    pub id_prefix: Option<String>,
    /// The status of a create or update that breaks a `unique` set (409 by default).
    pub conflict_status: u16,
    /// The status of a value of the wrong type or out of bounds (400 by default).
    pub invalid_status: u16,
    /// The value of the `[rate_limit] group` header on its answers.
    pub rate_limit_group: Option<String>,
    /// Operations served at paths of their own (RPC-style APIs).
    pub operations: Vec<RpcOperation>,
    /// Members every successful JSON body of it carries (Slack's `"ok": true`).
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub envelope: serde_json::Map<String, serde_json::Value>,
    /// The key an item is put under in create, read and update bodies (none: the item is
    /// the body).
    pub item_key: Option<String>,
    /// Members put beside the item in create, read and update bodies, each with the value
    /// of one of the item's fields (Slack's `chat.postMessage` answers `channel` and `ts`
    /// beside `message`): member name, then field (or `id`). Needs `item_key`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub beside_item: Vec<(String, String)>,
    /// Its own list key, over `[emulator] list_key`.
    pub list_key: Option<String>,
    /// Items present from the start (and again after a reset), visible to every caller.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub seed: Vec<serde_json::Map<String, serde_json::Value>>,
    /// Fields whose values must name an existing item of another resource.
    pub references: Vec<Reference>,
    /// The status of a reference to an item that does not exist (404 by default).
    pub reference_status: u16,
    /// The vendor's code in this resource's error bodies, by status, before the
    /// emulator's (`error_codes`).
    pub error_codes: Vec<ErrorCode>,
}

/// What an operation served at a path of its own does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OperationKind {
    /// Lists the resource's items, paged.
    List,
    /// Creates an item.
    Create,
    /// Reads the item a query parameter or body member names.
    Get,
    /// Changes the item a query parameter or body member names.
    Update,
    /// Deletes the item a query parameter or body member names.
    Delete,
}

impl OperationKind {
    /// Every kind, in the order a contract's messages list them.
    pub const ALL: [OperationKind; 5] = [
        OperationKind::List,
        OperationKind::Create,
        OperationKind::Get,
        OperationKind::Update,
        OperationKind::Delete,
    ];

    /// Its name in a contract.
    pub fn as_str(self) -> &'static str {
        match self {
            OperationKind::List => "list",
            OperationKind::Create => "create",
            OperationKind::Get => "get",
            OperationKind::Update => "update",
            OperationKind::Delete => "delete",
        }
    }

    /// The kind a contract names `name`.
    pub fn named(name: &str) -> Option<OperationKind> {
        OperationKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Whether it works on one item, which a query parameter or body member names.
    pub fn on_item(self) -> bool {
        matches!(
            self,
            OperationKind::Get | OperationKind::Update | OperationKind::Delete
        )
    }
}

/// One operation of a resource at a path of its own (`POST /chat.postMessage`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RpcOperation {
    /// What it does.
    pub kind: OperationKind,
    /// The method it answers.
    #[serde(serialize_with = "method")]
    pub method: Method,
    /// Its path under the base path; may name the resource's parameters.
    pub path: String,
    /// The value of the `[rate_limit] group` header on its answers, over the resource's.
    pub rate_limit_group: Option<String>,
    /// A list's own list key, over the resource's (GitHub's search answers `items`).
    pub list_key: Option<String>,
    /// For a list: the query parameter that holds a search, which the list requires
    /// (GitHub's `q`). Each of its terms is a `field:value` the item's field holds (a list
    /// field: one of its elements, or their `name`s), or a word one of the item's text
    /// fields contains, without regard to case.
    pub search: Option<String>,
    /// For a get, update or delete: the query parameter (a method without a body: GET,
    /// DELETE) or body member (others) whose value is the item's key (or id).
    pub id_param: Option<String>,
    /// For an update: the fields its body takes and must give.
    pub rules: Option<BodyRules>,
    /// For an update: fields it sets to fixed values (Slack's archive sets `is_archived`).
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub set: serde_json::Map<String, serde_json::Value>,
}

impl RpcOperation {
    /// Whether its item is named in the query string rather than the body.
    pub fn id_in_query(&self) -> bool {
        matches!(self.method, Method::GET | Method::HEAD | Method::DELETE)
    }
}

fn method<S: Serializer>(m: &Method, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(m.as_str())
}

/// A field whose value (or each value, for an array) names an item of another resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reference {
    /// The field.
    pub field: String,
    /// The resource whose item it names, by that resource's key (or id).
    pub resource: String,
    /// Field values of the named item that refuse the reference (Slack's archived
    /// conversation takes no message): each must hold for the refusal.
    pub refused_when: Vec<(String, serde_json::Value)>,
    /// The vendor's code for that refusal (answered with the resource's
    /// `conflict_status`, or as the code's own status where it is an application code).
    pub refused_code: Option<String>,
}

/// The parameter names of a path template such as `/repos/{owner}/{repo}/issues`, in
/// order; the reason when a segment is neither plain text nor one whole `{name}`.
///
/// ```
/// assert_eq!(verdict::emulate::path_params("/repos/{owner}/{repo}/issues").unwrap(), ["owner", "repo"]);
/// assert!(verdict::emulate::path_params("/repos/x{owner}").is_err());
/// ```
pub fn path_params(template: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for seg in template.split('/').skip(1) {
        match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => {
                let ok = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !ok {
                    return Err(format!(
                        "\"{{{name}}}\" is not a parameter name (letters, digits and _)"
                    ));
                }
                if out.iter().any(|n| n == name) {
                    return Err(format!("the parameter {{{name}}} is named twice"));
                }
                out.push(name.to_owned());
            }
            None if seg.contains(['{', '}']) => {
                return Err(format!(
                    "\"{seg}\": a parameter is a whole segment, such as {{owner}}"
                ));
            }
            None => {}
        }
    }
    Ok(out)
}

/// Matches the start of `path` against `template` segment by segment: the parameters'
/// values (percent-decoded, never empty) and what follows the template in `path`.
///
/// ```
/// let (values, rest) = verdict::emulate::match_template("/repos/{owner}/{repo}/labels", "/repos/octo/hello/labels/good%20first").unwrap();
/// assert_eq!((values, rest), (vec!["octo".to_owned(), "hello".to_owned()], "/good%20first"));
/// ```
pub fn match_template<'p>(template: &str, path: &'p str) -> Option<(Vec<String>, &'p str)> {
    let mut values = Vec::new();
    let mut rest = path;
    for seg in template.split('/').skip(1) {
        let after = rest.strip_prefix('/')?;
        let end = after.find('/').unwrap_or(after.len());
        let (got, tail) = after.split_at(end);
        if seg.starts_with('{') {
            values.push(percent_decode(got).filter(|v| !v.is_empty())?);
        } else if got != seg {
            return None;
        }
        rest = tail;
    }
    Some((values, rest))
}

/// `%XX` escapes decoded; none when the text is not UTF-8 afterwards, or holds a control
/// character or `/`.
pub fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let text = String::from_utf8(out).ok()?;
    (!text.chars().any(|c| c.is_control() || c == '/')).then_some(text)
}

fn updates<S: Serializer>(u: &[(Method, BodyRules)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(u.iter().map(|(m, r)| (m.as_str(), r)))
}

impl ResourceSpec {
    /// The vendor's code for `status` in an answer about this resource, where the
    /// resource names one (`error_codes`; the emulator's apply otherwise).
    pub fn error_code(&self, status: u16) -> Option<&str> {
        code_for(&self.error_codes, status)
    }

    /// The field with this name.
    pub fn field(&self, name: &str) -> Option<&FieldSpec> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// What a request with `method` takes: a create for POST, else the update rules of
    /// the method (none when the resource does not update with it).
    pub fn rules(&self, method: &Method) -> Option<&BodyRules> {
        if *method == Method::POST {
            return Some(&self.create);
        }
        self.updates
            .iter()
            .find(|(m, _)| m == method)
            .map(|(_, r)| r)
    }
}

impl FieldType {
    /// Whether a JSON value has this type.
    pub fn accepts(self, v: &serde_json::Value) -> bool {
        use serde_json::Value;
        match self {
            FieldType::String => v.is_string(),
            FieldType::Email => v.as_str().is_some_and(|s| {
                let mut parts = s.splitn(2, '@');
                let (user, domain) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
                !user.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            }),
            FieldType::Integer => v.is_i64() || v.is_u64(),
            FieldType::Number => v.is_number(),
            FieldType::Boolean => v.is_boolean(),
            FieldType::Object => matches!(v, Value::Object(_)),
            FieldType::Array => matches!(v, Value::Array(_)),
            FieldType::Any => true,
        }
    }
}
