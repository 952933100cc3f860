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
