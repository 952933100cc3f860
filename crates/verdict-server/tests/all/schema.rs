//! The resource schema at work: updates checked as each method takes them, `null` and
//! unknown fields as each contract's policy says.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{start, start_served};

#[tokio::test]
async fn an_update_takes_what_its_method_takes_not_what_a_create_needs() {
    let s = start("webex").await;
    let room = s.create_room("schema").await;
    let room_id = room["id"].as_str().unwrap();
    let member = json!({"roomId": room_id, "personEmail": "a@example.com"});
    let (status, created) = s
        .send("webex", Method::POST, "/v1/memberships", Some(&member))
        .await;
    assert_eq!(status, 200, "{created}");
    let path = format!("/v1/memberships/{}", created["id"].as_str().unwrap());
    // As webexpythonsdk sends it: the flag alone.
    let (status, updated) = s
        .send(
            "webex",
            Method::PUT,
            &path,
            Some(&json!({"isModerator": true})),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["isModerator"], true);
    assert_eq!(updated["roomId"], room_id, "the room is kept");
    // A membership never moves to another room: the field is passed over.
    let (status, moved) = s
        .send(
            "webex",
            Method::PUT,
            &path,
            Some(&json!({"roomId": "elsewhere"})),
        )
        .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["roomId"], room_id);

    // Editing a message needs its room and new text or markdown.
    let msg = json!({"roomId": room_id, "text": "hello"});
    let (_, sent) = s
        .send("webex", Method::POST, "/v1/messages", Some(&msg))
        .await;
    let path = format!("/v1/messages/{}", sent["id"].as_str().unwrap());
    let (status, refused) = s
        .send(
            "webex",
            Method::PUT,
            &path,
            Some(&json!({"roomId": room_id})),
        )
        .await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("text or markdown"),
        "{refused}"
    );
    let edit = json!({"roomId": room_id, "markdown": "**hi**"});
    let (status, edited) = s.send("webex", Method::PUT, &path, Some(&edit)).await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["markdown"], "**hi**");
}

#[tokio::test]
async fn null_for_a_field_that_does_not_take_it_is_refused_not_stored() {
    let s = start("webex").await;
    let body = json!({"title": "x", "isLocked": null});
    let (status, refused) = s
        .send("webex", Method::POST, "/v1/rooms", Some(&body))
        .await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("isLocked must not be null")
    );
    assert!(refused["errors"].is_array(), "Webex's shape: {refused}");
    let room = s.create_room("kept").await;
    let path = format!("/v1/rooms/{}", room["id"].as_str().unwrap());
    let (status, _) = s.send("webex", Method::PUT, &path, Some(&body)).await;
    assert_eq!(status, 400);
    let (_, now) = s.send("webex", Method::GET, &path, None).await;
    assert_eq!(now["isLocked"], false, "{now}");

    // token-api's description takes null (it clears the text).
    let s = start("token-api").await;
    let item = json!({"name": "a", "description": "b"});
    let (status, created) = s
        .send("token-api", Method::POST, "/v1/items", Some(&item))
        .await;
    assert_eq!(status, 201, "{created}");
    let path = format!("/v1/items/{}", created["id"].as_str().unwrap());
    let clear = json!({"description": null});
    let (status, cleared) = s
        .send("token-api", Method::PATCH, &path, Some(&clear))
        .await;
    assert_eq!(status, 200, "{cleared}");
    assert_eq!(cleared["description"], Value::Null);
    let (status, _) = s
        .send(
            "token-api",
            Method::PATCH,
            &path,
            Some(&json!({"done": null})),
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn unknown_fields_follow_each_contracts_policy() {
    // token-api refuses them with 400, naming them.
    let s = start("token-api").await;
    let body = json!({"name": "a", "nmae": "b"});
    let (status, refused) = s
        .send("token-api", Method::POST, "/v1/items", Some(&body))
        .await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused.to_string().contains("nmae"), "{refused}");
    // Whispir with its 422.
    let s = start_served("whispir").await;
    let contact =
        json!({"firstName": "A", "lastName": "B", "workEmailAddress1": "a@b.co", "nickname": "x"});
    let (status, refused) = s
        .send("whispir", Method::POST, "/contacts", Some(&contact))
        .await;
    assert_eq!(status, 422, "{refused}");
    // Webex passes over them.
    let s = start("webex").await;
    let room = json!({"title": "x", "colour": "blue"});
    let (status, created) = s
        .send("webex", Method::POST, "/v1/rooms", Some(&room))
        .await;
    assert_eq!(status, 200, "{created}");
    assert!(created.get("colour").is_none(), "{created}");
}

async fn openapi(contract: &str) -> Value {
    start_served(contract).await.openapi().await
}

#[tokio::test]
async fn the_openapi_document_says_what_the_schema_says() {
    let doc = openapi("webex").await;
    assert_eq!(doc["openapi"], "3.0.3");
    let schemas = &doc["components"]["schemas"];
    let put = &schemas["memberships.PUT"];
    let props: Vec<&String> = put["properties"].as_object().unwrap().keys().collect();
    assert_eq!(props, ["isModerator", "isMonitor"]);
    assert!(put.get("required").is_none(), "{put}");
    assert_eq!(schemas["memberships.create"]["required"], json!(["roomId"]));
    assert_eq!(
        schemas["memberships.create"]["properties"]["roomId"]["minLength"],
        1
    );
    let groups = &schemas["messages.create"]["allOf"];
    assert_eq!(
        groups[0]["anyOf"][2],
        json!({"required": ["toPersonEmail"]})
    );
    assert_eq!(
        schemas["messages.PUT"]["anyOf"],
        json!([{"required": ["text"]}, {"required": ["markdown"]}])
    );
    assert_eq!(
        schemas["rooms.create"]["properties"]["type"]["enum"],
        json!(["direct", "group"])
    );
    let list = &doc["paths"]["/v1/rooms"]["get"];
    let max = &list["parameters"][0];
    assert_eq!(max["name"], "max");
    // A page larger than 1000 is a 504; only a number past 32 bits is not a size (400).
    assert_eq!(max["schema"]["maximum"], json!(u32::MAX), "{max}");
    assert!(list["responses"].get("504").is_some());
    for path in ["/v1/people/me", "/v1/contents/{id}"] {
        assert!(doc["paths"][path]["get"].is_object(), "{path}");
    }

    let doc = openapi("token-api").await;
    let create = &doc["paths"]["/v1/projects"]["post"]["responses"];
    assert!(
        create.get("415").is_some() && create.get("409").is_some(),
        "{create}"
    );
    let items = &doc["components"]["schemas"]["items.create"];
    assert_eq!(items["additionalProperties"], false);
    assert_eq!(items["properties"]["description"]["nullable"], true);
    let page = &doc["paths"]["/v1/items"]["get"]["parameters"][0];
    assert_eq!(page["schema"]["maximum"], 100);

    let doc = openapi("ringcentral").await;
    let token = &doc["paths"]["/restapi/oauth/token"]["post"];
    assert_eq!(token["security"], json!([]));
    assert!(token["responses"]["200"]["content"]["application/json"].is_object());
    for path in [
        "/restapi/oauth/revoke",
        "/restapi/v1.0/account/~",
        "/restapi/v1.0/account/~/extension/~",
        "/restapi/v1.0/account/~/recording/{recordingId}/content",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path}");
    }
    let batch = &doc["paths"]["/restapi/v1.0/account/~/extension/{id}"]["get"]["responses"];
    assert!(batch.get("207").is_some(), "{batch}");
}
