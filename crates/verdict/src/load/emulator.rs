//! The `[emulator]` table: the emulator's settings, quotas and answers.

use super::*;

const EMULATOR_KEYS: &[&str] = &[
    "vendor",
    "base_path",
    "id_style",
    "create_status",
    "update_status",
    "delete_status",
    "update_methods",
    "location_on_create",
    "list_key",
    "page_param",
    "page_default",
    "page_limit",
    "page_limit_status",
    "link_pagination",
    "link_relations",
    "media_types",
    "https_only",
    "quota",
    "store_limit",
    "resource",
    "missing_field_status",
    "unknown_fields",
    "unknown_field_status",
    "idempotency_limit",
    "accept_unmet",
    "content_type_missing",
    "content_type_wrong",
    "rate_limit_group",
    "error_codes",
    "credential_refusals",
    "cursor_refusal",
    "page_style",
    "cursor_param",
    "next_cursor",
    "page_oversize",
    "conflict_status",
    "invalid_status",
    "envelope",
    "event",
    "app",
    "transactions",
];

/// `page_default` and `page_limit`, the default no larger than the limit.
fn page_sizes(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> (u32, u32) {
    let page_default = t
        .integer(cx, "page_default", 1..100_001)
        .map_or(100, |(n, _)| n as u32);
    let page_limit = t
        .integer(cx, "page_limit", 1..1_000_001)
        .map_or(1000, |(n, _)| n as u32);
    if page_default > page_limit {
        cx.report(
            t.span.clone(),
            t.field("page_default"),
            format!("{page_default} is larger than page_limit ({page_limit})"),
        );
    }
    (page_default, page_limit)
}

/// How lists page: the style, the parameter that says where a page starts, the pointer
/// of the next cursor in the body, and the policy for an oversize page.
struct Paging {
    style: PageStyle,
    cursor_param: String,
    next_cursor: Option<JsonPointer>,
    oversize: PageOversize,
}

fn read_paging(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> Paging {
    let style: PageStyle = t.parsed(cx, "page_style").unwrap_or(PageStyle::Cursor);
    let cursor_param = t.string(cx, "cursor_param").unwrap_or_else(|| {
        match style {
            PageStyle::Cursor => "cursor",
            PageStyle::Page => "page",
            PageStyle::Offset => "offset",
        }
        .to_owned()
    });
    let next_cursor: Option<JsonPointer> = t.parsed(cx, "next_cursor");
    if next_cursor.as_ref().is_some_and(|p| p.as_str().is_empty()) {
        cx.report(
            t.get("next_cursor").map(Spanned::span).unwrap_or_default(),
            t.field("next_cursor"),
            "the next cursor needs a place in the body, such as /response_metadata/next_cursor",
        );
    }
    if next_cursor.is_some() && t.get("list_key").is_none() {
        cx.report(
            t.get("next_cursor").map(Spanned::span).unwrap_or_default(),
            t.field("next_cursor"),
            "a cursor in the body needs list bodies that are objects: set list_key",
        );
    }
    if t.string(cx, "page_param").as_deref() == Some(cursor_param.as_str()) {
        cx.report(
            t.get("page_param").map(Spanned::span).unwrap_or_default(),
            t.field("page_param"),
            format!("\"{cursor_param}\" cannot name both the page size and where a page starts"),
        );
    }
    Paging {
        style,
        cursor_param,
        next_cursor,
        oversize: t
            .parsed(cx, "page_oversize")
            .unwrap_or(PageOversize::Refuse),
    }
}

pub(super) fn read_emulator(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> EmulatorSpec {
    t.check_keys(cx, EMULATOR_KEYS);
    let base_path = t.string(cx, "base_path").unwrap_or_default();
    if !base_path.is_empty() && (!base_path.starts_with('/') || base_path.ends_with('/')) {
        cx.report(
            t.get("base_path").map(Spanned::span).unwrap_or_default(),
            t.field("base_path"),
            "must start with '/' and not end with one (or be empty)",
        );
    }
    let (page_default, page_limit) = page_sizes(cx, t);
    let quotas = read_quotas(cx, t);
    let update_methods =
        methods_in(cx, t, "update_methods").unwrap_or_else(|| vec![Method::PUT, Method::PATCH]);
    let envelope = addressing::read_envelope(cx, t);
    let id_style = t.parsed(cx, "id_style").unwrap_or(IdStyle::Uuid);
    let inherited = resource::Inherited {
        update_methods: &update_methods,
        unknown_fields: t
            .parsed(cx, "unknown_fields")
            .unwrap_or(UnknownFields::Ignore),
        id_style,
        conflict_status: client_error_in(cx, t, "conflict_status", 409),
        invalid_status: client_error_in(cx, t, "invalid_status", 400),
        envelope: &envelope,
        list_key: t.get("list_key").is_some(),
        resources: resource_names(t),
    };
    let resources = read_resources(cx, t, &inherited);
    let rate_limit_group = t.string(cx, "rate_limit_group");
    let quotas = check_quota_groups(cx, quotas, rate_limit_group.as_deref(), &resources);
    let paging = read_paging(cx, t);
    EmulatorSpec {
        vendor: t.parsed(cx, "vendor"),
        base_path,
        id_style,
        create_status: success_in(cx, t, "create_status", 201),
        update_status: success_in(cx, t, "update_status", 200),
        delete_status: success_in(cx, t, "delete_status", 204),
        update_methods,
        location_on_create: t.boolean(cx, "location_on_create").unwrap_or(false),
        list_key: t.string(cx, "list_key"),
        page_param: t.string(cx, "page_param"),
        page_default,
        page_limit,
        page_limit_status: refusal_in(cx, t, "page_limit_status", 400),
        link_pagination: t.boolean(cx, "link_pagination").unwrap_or(false),
        link_relations: t
            .list(cx, "link_relations")
            .unwrap_or_else(|| vec![LinkRelation::Next]),
        page_style: paging.style,
        cursor_param: paging.cursor_param,
        next_cursor: paging.next_cursor,
        page_oversize: paging.oversize,
        media_types: t
            .list::<String>(cx, "media_types")
            .unwrap_or_else(|| vec!["application/json".into()]),
        https_only: t.boolean(cx, "https_only").unwrap_or(false),
        quotas,
        rate_limit_group,
        error_codes: read_error_codes(cx, t),
        credential_refusals: read_credential_refusals(cx, t),
        cursor_refusal: t
            .table(cx, "cursor_refusal")
            .map(|r| read_refusal(cx, &r))
            .unwrap_or_default(),
        store_limit: t
            .integer(cx, "store_limit", 1..100_000_001)
            .map_or(100_000, |(n, _)| n as usize),
        missing_field_status: client_error_in(cx, t, "missing_field_status", 400),
        unknown_field_status: client_error_in(cx, t, "unknown_field_status", 400),
        idempotency_limit: t
            .integer(cx, "idempotency_limit", 1..1_000_001)
            .map_or(10_000, |(n, _)| n as usize),
        accept_unmet: emulator_answer(cx, t, "accept_unmet", 406),
        content_type_missing: emulator_answer(cx, t, "content_type_missing", 415),
        content_type_wrong: emulator_answer(cx, t, "content_type_wrong", 415),
        resources,
        events: account::read_events(cx, t),
        apps: account::read_apps(cx, t),
        transactions: t
            .table(cx, "transactions")
            .and_then(|q| read_quota(cx, &q, &["requests", "window_s"])),
    }
}

/// `error_codes = { 400 = "CMN-101", 5xx = "CMN-211" }`: a status (400 to 599) or a class
/// (`4xx`, `5xx`) to the vendor's code.
pub(super) fn read_error_codes(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> Vec<ErrorCode> {
    let Some(table) = t.table(cx, "error_codes") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, value) in table.map.iter() {
        let name: &str = key.get_ref();
        let entry = match name {
            "4xx" | "5xx" => Some((u16::from(name.as_bytes()[0] - b'0'), true)),
            n => n
                .parse::<u16>()
                .ok()
                .filter(|s| (400..600).contains(s))
                .map(|s| (s, false)),
        };
        let Some((status, class)) = entry else {
            cx.report(
                key.span(),
                table.field(name),
                "expected an error status (400 to 599) or a class (4xx, 5xx)",
            );
            continue;
        };
        match value.get_ref().as_str() {
            Some(code) if !code.is_empty() => out.push(ErrorCode {
                status,
                class,
                code: code.to_owned(),
            }),
            _ => cx.report(
                value.span(),
                table.field(name),
                "expected the vendor's code as a non-empty string",
            ),
        }
    }
    out
}

/// `[emulator.credential_refusals]`: a table per reason (`missing`, `unknown`, `revoked`,
/// `expired`), each `{ status = 4xx, code = "…", message = "…" }` with any of them.
fn read_credential_refusals(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> CredentialRefusals {
    let mut out = CredentialRefusals::default();
    let Some(table) = t.table(cx, "credential_refusals") else {
        return out;
    };
    table.check_keys(cx, RefusalReason::NAMES);
    for &reason in RefusalReason::ALL {
        if let Some(r) = table.table(cx, reason.as_str()) {
            *out.get_mut(reason) = read_refusal(cx, &r);
        }
    }
    out
}

/// `{ status = 4xx, code = "…", message = "…" }`, any of them, none empty.
fn read_refusal(cx: &mut Cx<'_>, r: &Obj<'_, '_>) -> Refusal {
    r.check_keys(cx, &["status", "code", "message"]);
    let mut text = |k: &str| {
        let v = r.string(cx, k)?;
        if v.trim().is_empty() {
            let span = r.get(k).map(Spanned::span).unwrap_or_default();
            cx.report(span, r.field(k), "must not be empty");
            return None;
        }
        Some(v)
    };
    let (code, message) = (text("code"), text("message"));
    Refusal {
        status: r.integer(cx, "status", 400..500).map(|(n, _)| n as u16),
        code,
        message,
    }
}

/// `key = { status = N, origin = "…" }`: a 4xx status, from the document (`seed`) unless
/// `origin` says otherwise; RFC 9110's `default` when the key is left out.
pub(super) fn emulator_answer(
    cx: &mut Cx<'_>,
    t: &Obj<'_, '_>,
    key: &str,
    default: u16,
) -> EmulatorAnswer {
    let Some(a) = t.table(cx, key) else {
        return EmulatorAnswer::rfc(default);
    };
    a.check_keys(cx, &["status", "origin"]);
    let status = a.integer(cx, "status", 400..500).map(|(n, _)| n as u16);
    if status.is_none() && a.get("status").is_none() {
        cx.report(
            a.span.clone(),
            a.path.clone(),
            "needs a status (400 to 499)",
        );
    }
    EmulatorAnswer {
        status: status.unwrap_or(default),
        origin: a.parsed(cx, "origin").unwrap_or(Origin::Seed),
    }
}

/// The emulator's answers that say they come from the document name statuses the
/// document has; so do the statuses of credential refusals (a vendor's own choice, never
/// a standard's).
pub(super) fn check_emulator_answers(
    spec: &EmulatorSpec,
    statuses: &[StatusEntry],
) -> Vec<(Span, String, String)> {
    let documented = |status: u16| statuses.iter().any(|s| s.code == status && s.documented);
    let answers = [
        ("accept_unmet", spec.accept_unmet),
        ("content_type_missing", spec.content_type_missing),
        ("content_type_wrong", spec.content_type_wrong),
    ];
    let answers = answers
        .into_iter()
        .filter(|(_, a)| a.origin == Origin::Seed)
        .filter(|(_, a)| !documented(a.status))
        .map(|(key, a)| {
            (
                0..0,
                format!("emulator.{key}.status"),
                format!(
                    "status {} is not one the document names; document it, or say origin = \"inferred\"",
                    a.status
                ),
            )
        });
    let credentials = RefusalReason::ALL.iter().map(|&reason| {
        let field = format!("emulator.credential_refusals.{reason}.status");
        (field, spec.credential_refusals.get(reason))
    });
    let cursor = (
        "emulator.cursor_refusal.status".to_owned(),
        &spec.cursor_refusal,
    );
    let refusals = credentials
        .chain([cursor])
        .filter_map(|(field, r)| Some((field, r.status?)))
        .filter(|(_, status)| !documented(*status))
        .map(|(field, status)| {
            let why = format!("status {status} is not one the document names; document it");
            (0..0, field, why)
        });
    answers.chain(refusals).collect()
}

/// Quotas whose refusal a client would not wait out. The emulator refuses a request over a
/// quota with the quota's `status`, `Retry-After` and the remaining header at 0; the
/// contract's entry for that status, with those headers, must then be a rate limit or wait
/// the `Retry-After` (Whispir's and GitHub's 403 are a rate limit through a variant). A
/// variant that reads the body is given the benefit of the doubt.
pub(super) fn check_quota_answers(
    spec: &EmulatorSpec,
    contract: (&Headers, &RateLimitHeaders),
    statuses: &[StatusEntry],
    classes: &[StatusEntry],
) -> Vec<(Span, String, String)> {
    let (headers, rate_limit) = contract;
    let mut answer = http::HeaderMap::new();
    answer.insert(
        headers.retry_after.name().clone(),
        http::HeaderValue::from_static("1"),
    );
    if let (true, Some(h)) = (rate_limit.fields.named(), &rate_limit.remaining) {
        answer.insert(h.name().clone(), http::HeaderValue::from_static("0"));
    }
    let entry = |code: u16| {
        statuses
            .iter()
            .find(|s| s.code == code)
            .or_else(|| classes.iter().find(|c| c.code == code / 100 * 100))
    };
    let reads_as_limit = |e: &StatusEntry| {
        let read = e.for_answer(&Method::GET, &answer, None);
        read.category == Category::RateLimit
            || read.action.kind() == ActionKind::RetryAfter
            || e.variants
                .iter()
                .any(|v| v.when.needs_body() && v.category == Category::RateLimit)
    };
    let quotas = spec.quotas.iter().enumerate();
    quotas
        .filter(|(_, q)| entry(q.status).is_some_and(|e| !reads_as_limit(e)))
        .map(|(i, q)| {
            let why = format!(
                "a client would not wait out this refusal ({} with Retry-After); answer 429, or give status {} a [[status.variant]] when = {{ header = \"{}\" }} with category = \"rate-limit\"",
                q.status,
                q.status,
                headers.retry_after.name()
            );
            (0..0, format!("emulator.quota[{i}].status"), why)
        })
        .collect()
}

/// A quota as read, with where its `group` is written (to check it once the resources
/// are read).
struct ReadQuota {
    quota: Quota,
    group_at: Option<(Span, String)>,
}

/// What a quota table may hold.
const QUOTA_KEYS: &[&str] = &["requests", "window_s", "status", "group"];

/// The `[[emulator.quota]]` tables.
fn read_quotas(cx: &mut Cx<'_>, t: &Obj<'_, '_>) -> Vec<ReadQuota> {
    let mut quotas = Vec::new();
    for q in t.tables(cx, "quota") {
        let group_at = q.get("group").map(|v| (v.span(), q.field("group")));
        if let Some(mut quota) = read_quota(cx, &q, QUOTA_KEYS) {
            quota.group = q.string(cx, "group");
            quotas.push(ReadQuota { quota, group_at });
        }
    }
    quotas
}

/// One quota's `requests` per `window_s`, refused with `status` (429 unless given); `None`
/// (reported) without both numbers.
fn read_quota(cx: &mut Cx<'_>, q: &Obj<'_, '_>, keys: &[&str]) -> Option<Quota> {
    q.check_keys(cx, keys);
    let requests = q
        .integer(cx, "requests", 1..1_000_000_001)
        .map(|(n, _)| n as u32);
    let window_s = q.integer(cx, "window_s", 1..86_401).map(|(n, _)| n as u32);
    let status = refusal_in(cx, q, "status", 429);
    // A value out of range has been reported where it is written.
    if q.get("requests").is_none() || q.get("window_s").is_none() {
        cx.report(
            q.span.clone(),
            q.path.clone(),
            "a quota needs requests and window_s",
        );
    }
    Some(Quota {
        requests: requests?,
        window_s: window_s?,
        status,
        group: None,
    })
}

/// The quotas, each `group` one the emulator, a resource or an operation names (a group no
/// route is in would count nothing); a misspelling is reported with the closest name.
fn check_quota_groups(
    cx: &mut Cx<'_>,
    quotas: Vec<ReadQuota>,
    emulator_group: Option<&str>,
    resources: &[crate::emulate::ResourceSpec],
) -> Vec<Quota> {
    let mut named: Vec<&str> = emulator_group.into_iter().collect();
    for r in resources {
        named.extend(r.rate_limit_group.as_deref());
        named.extend(
            r.operations
                .iter()
                .filter_map(|o| o.rate_limit_group.as_deref()),
        );
    }
    for q in &quotas {
        let (Some(group), Some((span, field))) = (&q.quota.group, &q.group_at) else {
            continue;
        };
        if named.contains(&group.as_str()) {
            continue;
        }
        let hint = match crate::suggest::closest(group, named.iter().copied()) {
            Some(best) => format!("; did you mean \"{best}\"?"),
            None => " (no route names a rate_limit_group)".to_owned(),
        };
        cx.report(
            span.clone(),
            field.clone(),
            format!("no route is in the rate-limit group \"{group}\"{hint}"),
        );
    }
    quotas.into_iter().map(|q| q.quota).collect()
}

/// Each resource's name and path as written, for references between resources.
fn resource_names(t: &Obj<'_, '_>) -> Vec<(String, String)> {
    let Some(list) = t.get("resource").and_then(|v| v.get_ref().as_array()) else {
        return Vec::new();
    };
    let text = |r: &DeTable<'_>, key: &str| {
        r.get(key)
            .and_then(|v| v.get_ref().as_str())
            .unwrap_or_default()
            .to_owned()
    };
    list.iter()
        .filter_map(|r| r.get_ref().as_table())
        .map(|r| (text(r, "name"), text(r, "path")))
        .collect()
}

/// The `[[emulator.resource]]` tables, each name and path once.
fn read_resources(
    cx: &mut Cx<'_>,
    t: &Obj<'_, '_>,
    inherited: &resource::Inherited<'_>,
) -> Vec<ResourceSpec> {
    let mut resources: Vec<ResourceSpec> = Vec::new();
    for r in t.tables(cx, "resource") {
        if let Some(res) = resource::read_resource(cx, &r, inherited) {
            if resources
                .iter()
                .any(|x| x.name == res.name || (x.rest && res.rest && x.path == res.path))
            {
                cx.report(
                    r.span.clone(),
                    r.field("name"),
                    format!("resource \"{}\" ({}) is listed twice", res.name, res.path),
                );
            } else {
                resources.push(res);
            }
        }
    }
    resources
}
