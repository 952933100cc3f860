//! The loader's checks of what resources say about real APIs: path parameters, key
//! fields, id styles, paging, per-resource statuses, Authorization words, rate-limit groups
//! per route, operations at paths of their own, envelopes, seeds and references. Each
//! mistake is reported with its line, field and, for a misspelling, the closest name.

use crate::support::{HEAD, emulator_of, load, one_problem, problems};

/// A contract with an `[emulator]` table of `emulator` lines and one resource of `resource`
/// lines (named `items`, at `/items` unless the lines give a path).
fn with_resource(emulator: &str, resource: &str) -> String {
    let path = if resource.contains("path =") || resource.contains("operations") {
        ""
    } else {
        "path = \"/items\"\n"
    };
    format!(
        "{HEAD}[auth]\nscheme = \"bearer\"\n\n[emulator]\n{emulator}\n[[emulator.resource]]\nname = \"items\"\n{path}fields = {{ name = \"string\", n = \"integer\", tags = \"array\" }}\nrequired = [\"name\"]\n{resource}"
    )
}

#[test]
fn a_path_with_parameters_is_read_and_a_malformed_one_is_refused() {
    let text = with_resource("", "path = \"/repos/{owner}/{repo}/items\"\n");
    let c = load(&text).unwrap();
    let r = &c.get("t").unwrap().emulator.as_ref().unwrap().resources[0];
    assert_eq!(r.params, ["owner", "repo"]);
    one_problem(
        &with_resource("", "path = \"/repos/x{owner}/items\"\n"),
        "emulator.resource[0].path",
        "a parameter is a whole segment",
    );
    one_problem(
        &with_resource("", "path = \"/repos/{owner}\"\n"),
        "emulator.resource[0].path",
        "ends in a parameter",
    );
    one_problem(
        &with_resource("", "path = \"/repos/{owner}/{owner}/items\"\n"),
        "emulator.resource[0].path",
        "named twice",
    );
}

#[test]
fn a_key_is_a_required_field_and_unique() {
    let text = with_resource("", "key = \"name\"\n");
    let c = load(&text).unwrap();
    let r = &c.get("t").unwrap().emulator.as_ref().unwrap().resources[0];
    assert_eq!(r.key.as_deref(), Some("name"));
    assert!(r.unique.contains(&vec!["name".to_owned()]));
    one_problem(
        &with_resource("", "key = \"nmae\"\n"),
        "emulator.resource[0].key",
        "did you mean \"name\"",
    );
    one_problem(
        &with_resource("", "key = \"n\"\n"),
        "emulator.resource[0].key",
        "make n required",
    );
    one_problem(
        &with_resource("", "key = \"tags\"\n"),
        "emulator.resource[0].key",
        "a key is a string or integer field",
    );
}

#[test]
fn id_styles_and_sequences() {
    let text = with_resource(
        "id_style = \"sequential\"\n",
        "sequence = \"n\"\nkey = \"n\"\n",
    );
    let c = load(&text).unwrap();
    let r = &c.get("t").unwrap().emulator.as_ref().unwrap().resources[0];
    assert_eq!(r.id_style, verdict::IdStyle::Sequential);
    assert!(
        !r.create.accepts.contains(&"n".to_owned()),
        "no request gives the number"
    );
    one_problem(
        &with_resource("id_style = \"sequental\"\n", ""),
        "emulator.id_style",
        "did you mean \"sequential\"",
    );
    one_problem(
        &with_resource("", "sequence = \"name\"\n"),
        "emulator.resource[0].sequence",
        "must be an integer",
    );
    one_problem(
        &with_resource("", "id_style = \"sequential\"\nid_prefix = \"C\"\n"),
        "emulator.resource[0].id_prefix",
        "take no prefix",
    );
}

#[test]
fn paging_styles_and_the_oversize_policy() {
    let text = with_resource(
        "page_style = \"offset\"\npage_param = \"limit\"\npage_oversize = \"cap\"\n",
        "",
    );
    let c = load(&text).unwrap();
    let spec = c.get("t").unwrap().emulator.as_ref().unwrap();
    assert_eq!(spec.cursor_param, "offset");
    assert_eq!(spec.page_oversize, verdict::PageOversize::Cap);
    one_problem(
        &with_resource("page_style = \"pages\"\n", ""),
        "emulator.page_style",
        "did you mean \"page\"",
    );
    one_problem(
        &with_resource("page_oversize = \"capp\"\n", ""),
        "emulator.page_oversize",
        "did you mean \"cap\"",
    );
    one_problem(
        &with_resource("next_cursor = \"/meta/next\"\n", ""),
        "emulator.next_cursor",
        "set list_key",
    );
    one_problem(
        &with_resource("page_param = \"cursor\"\n", ""),
        "emulator.page_param",
        "cannot name both",
    );
}

#[test]
fn per_resource_statuses_default_to_the_emulator_ones() {
    let text = with_resource("conflict_status = 422\n", "invalid_status = 422\n");
    let c = load(&text).unwrap();
    let r = &c.get("t").unwrap().emulator.as_ref().unwrap().resources[0];
    assert_eq!(
        (r.conflict_status, r.invalid_status, r.reference_status),
        (422, 422, 404)
    );
    let plain = load(&with_resource("", "")).unwrap();
    let r = &plain.get("t").unwrap().emulator.as_ref().unwrap().resources[0];
    assert_eq!((r.conflict_status, r.invalid_status), (409, 400));
    one_problem(
        &with_resource("", "conflict_status = 700\n"),
        "emulator.resource[0].conflict_status",
        "",
    );
}

#[test]
fn authorization_words_belong_to_bearer_schemes() {
    let ok =
        format!("{HEAD}[auth]\nscheme = \"bearer\"\nauthorization = [\"Bearer\", \"token\"]\n");
    let c = load(&ok).unwrap();
    let auth = &c.get("t").unwrap().auth;
    assert_eq!(auth.token_in("token abc"), Some("abc"));
    assert_eq!(auth.token_in("Basic abc"), None);
    let bad = format!("{HEAD}[auth]\nscheme = \"basic\"\nauthorization = [\"token\"]\n");
    one_problem(&bad, "auth.authorization", "only the bearer and oauth2");
    let typo = format!("{HEAD}[auth]\nscheme = \"bearer\"\nauthorisation = [\"token\"]\n");
    one_problem(
        &typo,
        "auth.authorisation",
        "did you mean \"authorization\"",
    );
    let word = format!("{HEAD}[auth]\nscheme = \"bearer\"\nauthorization = [\"to ken\"]\n");
    one_problem(
        &word,
        "auth.authorization",
        "not an authentication scheme name",
    );
}

#[test]
fn operations_at_their_own_paths() {
    let text = with_resource(
        "list_key = \"items\"\n",
        "operations.list = { path = \"/items.list\", rate_limit_group = \"search\", search = \"q\" }\n",
    );
    let c = load(&text).unwrap();
    let r = &c.get("t").unwrap().emulator.as_ref().unwrap().resources[0];
    assert!(!r.rest);
    assert_eq!(r.operations[0].method, http::Method::GET);
    assert_eq!(r.operations[0].rate_limit_group.as_deref(), Some("search"));
    assert_eq!(r.operations[0].search.as_deref(), Some("q"));
    one_problem(
        &with_resource(
            "",
            "operations.create = { path = \"/items.new\", search = \"q\" }\n",
        ),
        "emulator.resource[0].operations.create.search",
        "only a list operation has a search",
    );
    one_problem(
        &with_resource("", "operations.lst = { path = \"/items.list\" }\n"),
        "emulator.resource[0].operations.lst",
        "did you mean \"list\"",
    );
    one_problem(
        &with_resource(
            "",
            "path = \"/repos/{owner}/items\"\noperations.create = { path = \"/items.create\" }\n",
        ),
        "emulator.resource[0].operations.create.path",
        "every parameter",
    );
    one_problem(
        &with_resource(
            "",
            "operations.create = { path = \"/x\", method = \"PSOT\" }\n",
        ),
        "emulator.resource[0].operations.create.method",
        "did you mean POST",
    );
    let p = problems(&format!(
        "{HEAD}[emulator]\n[[emulator.resource]]\nname = \"items\"\n"
    ));
    assert!(
        p.iter()
            .any(|(_, f, m)| f == "emulator.resource[0].path" && m.contains("operations")),
        "{p:#?}"
    );
}

#[test]
fn envelopes_seeds_and_references() {
    one_problem(
        &with_resource("", "envelope = { ok = true }\n"),
        "emulator.resource[0].envelope",
        "set list_key",
    );
    one_problem(
        &with_resource("", "seed = [{ id = \"a\", name = 5 }]\n"),
        "emulator.resource[0].seed[0]",
        "name must be a string",
    );
    one_problem(
        &with_resource(
            "",
            "path = \"/r/{owner}/items\"\nseed = [{ name = \"x\" }]\n",
        ),
        "emulator.resource[0].seed[0]",
        "no parameters",
    );
    let refs = format!(
        "{}\n[[emulator.resource]]\nname = \"others\"\npath = \"/others\"\nfields = {{ item = \"string\" }}\nreferences = {{ item = \"itmes\" }}\n",
        with_resource("", "")
    );
    one_problem(
        &refs,
        "emulator.resource[1].references.item",
        "did you mean \"items\"",
    );
    let good = format!(
        "{}\n[[emulator.resource]]\nname = \"others\"\npath = \"/others\"\nfields = {{ item = \"string\" }}\nreferences = {{ item = \"items\" }}\n",
        with_resource("", "seed = [{ id = \"a\", name = \"first\" }]\n")
    );
    let c = load(&good).unwrap();
    let spec = c.get("t").unwrap().emulator.as_ref().unwrap();
    assert_eq!(spec.resources[0].seed.len(), 1);
    assert_eq!(spec.resources[1].references[0].resource, "items");
}

#[test]
fn a_reference_may_name_the_state_that_refuses_it() {
    let other = |refs: &str| {
        format!(
            "{}\n[[emulator.resource]]\nname = \"others\"\npath = \"/others\"\nfields = {{ item = \"string\" }}\nreferences = {{ item = {refs} }}\n",
            with_resource("", "")
        )
    };
    one_problem(
        &other("{ resource = \"items\", refused_when = { name = \"closed\" } }"),
        "emulator.resource[1].references.item",
        "refused_when and code go together",
    );
    one_problem(
        &other("{ resourse = \"items\" }"),
        "emulator.resource[1].references.item.resourse",
        "did you mean \"resource\"",
    );
    let spec = emulator_of(&other(
        "{ resource = \"items\", refused_when = { name = \"closed\" }, code = \"is_closed\" }",
    ));
    let r = &spec.resources[1].references[0];
    assert_eq!(r.resource, "items");
    assert_eq!(
        r.refused_when,
        [("name".to_owned(), serde_json::json!("closed"))]
    );
    assert_eq!(r.refused_code.as_deref(), Some("is_closed"));
}

#[test]
fn a_quota_counts_a_group_some_route_is_in() {
    let quotas = "rate_limit_group = \"core\"\n\n[[emulator.quota]]\nrequests = 5000\nwindow_s = 3600\ngroup = \"core\"\n\n[[emulator.quota]]\nrequests = 30\nwindow_s = 60\ngroup = \"GROUP\"\n";
    let ops = "operations.list = { path = \"/search/items\", rate_limit_group = \"search\" }\n";
    let c = load(&with_resource(&quotas.replace("GROUP", "search"), ops)).unwrap();
    let spec = c.get("t").unwrap().emulator.clone().unwrap();
    let groups: Vec<Option<&str>> = spec.quotas.iter().map(|q| q.group.as_deref()).collect();
    assert_eq!(groups, [Some("core"), Some("search")]);
    one_problem(
        &with_resource(&quotas.replace("GROUP", "serch"), ops),
        "emulator.quota[1].group",
        "did you mean \"search\"",
    );
    // A group only a quota names counts no route at all.
    one_problem(
        &with_resource(&quotas.replace("GROUP", "graphql"), ops),
        "emulator.quota[1].group",
        "no route is in the rate-limit group \"graphql\"",
    );
}

#[test]
fn operations_on_one_item_name_it_and_say_what_they_change() {
    let ops = "operations.get = { path = \"/items.info\", id_param = \"item\" }\noperations.rename = { kind = \"update\", path = \"/items.rename\", id_param = \"item\", accepts = [\"name\"], required = [\"name\"] }\noperations.close = { kind = \"update\", path = \"/items.close\", id_param = \"item\", accepts = [], set = { n = 0 } }\noperations.delete = { path = \"/items.delete\", method = \"DELETE\", id_param = \"item\" }\n";
    let c = load(&with_resource("", ops)).unwrap();
    let r = &c.get("t").unwrap().emulator.as_ref().unwrap().resources[0];
    let at = |path: &str| r.operations.iter().find(|o| o.path == path).unwrap();
    let (info, rename) = (at("/items.info"), at("/items.rename"));
    let (close, delete) = (at("/items.close"), at("/items.delete"));
    let kinds = [info, rename, close, delete].map(|o| o.kind.as_str());
    assert_eq!(kinds, ["get", "update", "update", "delete"]);
    assert_eq!(info.method, http::Method::GET);
    assert_eq!(rename.method, http::Method::POST);
    assert!(delete.id_in_query() && !rename.id_in_query());
    assert_eq!(delete.id_param.as_deref(), Some("item"));
    let rules = rename.rules.as_ref().unwrap();
    let name = vec!["name".to_owned()];
    assert_eq!((&rules.accepts, &rules.required), (&name, &name));
    assert_eq!(close.set["n"], 0);
    assert!(close.rules.as_ref().unwrap().accepts.is_empty());
    let op = |line: &str| with_resource("", &format!("operations.x = {{ {line} }}\n"));
    let field = "emulator.resource[0].operations.x";
    one_problem(
        &op("kind = \"udpate\", path = \"/x\", id_param = \"i\""),
        &format!("{field}.kind"),
        "did you mean \"update\"",
    );
    one_problem(
        &op("kind = \"get\", path = \"/x\""),
        &format!("{field}.id_param"),
        "is required",
    );
    one_problem(
        &op("kind = \"update\", path = \"/x\", id_param = \"i\", set = { nn = 1 }"),
        &format!("{field}.set"),
        "did you mean \"n\"",
    );
    one_problem(
        &op("kind = \"update\", path = \"/x\", id_param = \"i\", set = { n = \"one\" }"),
        &format!("{field}.set"),
        "n",
    );
    one_problem(
        &op("kind = \"update\", path = \"/x\", id_param = \"name\""),
        &format!("{field}.id_param"),
        "leave it out of accepts",
    );
    one_problem(
        &op(
            "kind = \"update\", path = \"/x\", id_param = \"i\", required = [\"tags\"], accepts = [\"name\"]",
        ),
        &format!("{field}.required"),
        "not one of",
    );
    one_problem(
        &op("kind = \"get\", path = \"/x\", id_param = \"i\", list_key = \"k\""),
        &format!("{field}.list_key"),
        "only a list operation",
    );
    one_problem(
        &op("kind = \"delete\", path = \"/x\", id_param = \"i\", set = { n = 1 }"),
        &format!("{field}.set"),
        "only an update takes set",
    );
    one_problem(
        &op("path = \"/x\""),
        field,
        "\"x\" is not an operation kind",
    );
}

#[test]
fn members_beside_the_item_name_its_fields() {
    let text = with_resource(
        "",
        "item_key = \"item\"\nbeside_item = { label = \"name\", ref = \"id\" }\n",
    );
    let c = load(&text).unwrap();
    let r = &c.get("t").unwrap().emulator.as_ref().unwrap().resources[0];
    let pairs = [("label", "name"), ("ref", "id")].map(|(m, f)| (m.to_owned(), f.to_owned()));
    assert_eq!(r.beside_item, pairs);
    one_problem(
        &with_resource(
            "",
            "item_key = \"item\"\nbeside_item = { label = \"nmae\" }\n",
        ),
        "emulator.resource[0].beside_item.label",
        "did you mean \"name\"",
    );
    one_problem(
        &with_resource("", "beside_item = { label = \"name\" }\n"),
        "emulator.resource[0].beside_item",
        "need an item_key",
    );
    one_problem(
        &with_resource(
            "",
            "item_key = \"item\"\nbeside_item = { item = \"name\" }\n",
        ),
        "emulator.resource[0].beside_item.item",
        "already the item's key",
    );
}
