//! multipart/mixed parsing, writing and 207 batches.

use http::StatusCode;
use http::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::json;
use verdict::multipart::{self, Batch, BatchError, Limits, Parser, Part, boundary, parse, write};

const RC_TYPE: &str = "multipart/mixed; boundary=Boundary_1_14413901_1361871080888";

/// A 207 body shaped like RingCentral's batch GET of two extensions, one of them missing.
const RC_BODY: &str = "--Boundary_1_14413901_1361871080888\r\n\
Content-Type: application/json\r\n\
\r\n\
{\r\n  \"response\" : [ {\r\n    \"status\" : 200\r\n  }, {\r\n    \"status\" : 404\r\n  } ]\r\n}\r\n\
--Boundary_1_14413901_1361871080888\r\n\
Content-Type: application/json\r\n\
\r\n\
{\r\n  \"uri\" : \"https://platform.ringcentral.com/restapi/v1.0/account/1/extension/101\",\r\n  \"id\" : 101,\r\n  \"extensionNumber\" : \"101\"\r\n}\r\n\
--Boundary_1_14413901_1361871080888\r\n\
Content-Type: application/json\r\n\
\r\n\
{\r\n  \"errorCode\" : \"CMN-102\",\r\n  \"message\" : \"Resource for parameter [extensionId] is not found\",\r\n  \"errors\" : [ {\r\n    \"errorCode\" : \"CMN-102\",\r\n    \"message\" : \"Resource for parameter [extensionId] is not found\",\r\n    \"parameterName\" : \"extensionId\"\r\n  } ]\r\n}\r\n\
--Boundary_1_14413901_1361871080888--\r\n";

fn part(headers: &[(&str, &str)], body: &[u8]) -> Part {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    Part {
        headers: map,
        body: body.to_vec(),
    }
}

fn parse_default(content_type: &str, body: &[u8]) -> Result<Vec<Part>, BatchError> {
    parse(content_type, body, &Limits::default())
}

/// Feeds `body` one byte at a time.
fn parse_bytewise(boundary: &str, body: &[u8], limits: Limits) -> Result<Vec<Part>, BatchError> {
    let mut parser = Parser::new(boundary, limits);
    let mut parts = Vec::new();
    for byte in body {
        parts.extend(parser.feed(std::slice::from_ref(byte))?);
    }
    parts.extend(parser.finish()?);
    Ok(parts)
}

/// Feeds `body` cut at `cuts` (any order, any value; taken modulo the length).
fn parse_split(
    boundary: &str,
    body: &[u8],
    cuts: &[Index],
    limits: Limits,
) -> Result<Vec<Part>, BatchError> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c.index(body.len() + 1)).collect();
    points.push(0);
    points.push(body.len());
    points.sort_unstable();
    let mut parser = Parser::new(boundary, limits);
    let mut parts = Vec::new();
    for pair in points.windows(2) {
        parts.extend(parser.feed(&body[pair[0]..pair[1]])?);
    }
    parts.extend(parser.finish()?);
    Ok(parts)
}

// ---- RingCentral 207 batch ----

#[test]
fn ringcentral_batch_pairs_statuses_with_parts() {
    let parts = parse_default(RC_TYPE, RC_BODY.as_bytes()).unwrap();
    assert_eq!(parts.len(), 3);
    assert!(
        parts
            .iter()
            .all(|p| p.content_type() == Some("application/json"))
    );

    let batch = Batch::from_parts(parts).unwrap();
    assert_eq!(batch.statuses, [StatusCode::OK, StatusCode::NOT_FOUND]);
    assert_eq!(batch.parts.len(), 2);
    let pairs: Vec<(StatusCode, serde_json::Value)> = batch
        .iter()
        .map(|(status, part)| (status, part.json().unwrap()))
        .collect();
    assert_eq!(pairs[0].0, StatusCode::OK);
    assert_eq!(pairs[0].1["id"], json!(101));
    assert_eq!(pairs[1].0, StatusCode::NOT_FOUND);
    assert_eq!(pairs[1].1["errorCode"], json!("CMN-102"));
    assert_eq!(
        pairs[1].1["errors"][0]["parameterName"],
        json!("extensionId")
    );
    // The CRLF before each boundary is not part of the body.
    assert!(batch.parts[1].body.ends_with(b"}"));
}

#[test]
fn ringcentral_batch_parses_the_same_byte_by_byte() {
    let whole = parse_default(RC_TYPE, RC_BODY.as_bytes()).unwrap();
    let bytewise = parse_bytewise(
        "Boundary_1_14413901_1361871080888",
        RC_BODY.as_bytes(),
        Limits::default(),
    )
    .unwrap();
    assert_eq!(whole, bytewise);
}

#[test]
fn batch_status_entries_may_carry_other_fields() {
    let list = part(
        &[("content-type", "application/json")],
        br#"{"response":[{"status":201,"responseDescription":"Created"}]}"#,
    );
    let batch = Batch::from_parts(vec![list, part(&[], b"{}")]).unwrap();
    assert_eq!(batch.statuses, [StatusCode::CREATED]);
    let empty = part(&[], br#"{"response":[]}"#);
    assert!(Batch::from_parts(vec![empty]).unwrap().parts.is_empty());
}

// ---- boundary() ----

#[test]
fn boundary_unquoted_and_quoted() {
    assert_eq!(boundary("multipart/mixed; boundary=abc").unwrap(), "abc");
    assert_eq!(boundary("multipart/mixed;boundary=abc").unwrap(), "abc");
    assert_eq!(
        boundary("multipart/mixed; boundary=\"abc\"").unwrap(),
        "abc"
    );
    assert_eq!(
        boundary("multipart/mixed; boundary=\"gc0p4Jq0M2Yt08j34c0p:'()+_,-./=? x\"").unwrap(),
        "gc0p4Jq0M2Yt08j34c0p:'()+_,-./=? x"
    );
}

#[test]
fn boundary_any_case_any_order() {
    assert_eq!(
        boundary("MULTIPART/Mixed; charset=utf-8; Boundary=xyz; foo=\"a;b\"").unwrap(),
        "xyz"
    );
    assert_eq!(
        boundary("multipart/related; type=\"text/html; x=y\"; BOUNDARY=\"q\" ").unwrap(),
        "q"
    );
    assert_eq!(boundary("multipart/mixed; flag; boundary=k").unwrap(), "k");
}

#[test]
fn boundary_errors() {
    assert_eq!(
        boundary("application/json; boundary=abc"),
        Err(BatchError::NotMultipart {
            content_type: "application/json; boundary=abc".into()
        })
    );
    assert!(matches!(
        boundary("multipart"),
        Err(BatchError::NotMultipart { .. })
    ));
    assert!(matches!(boundary(""), Err(BatchError::NotMultipart { .. })));
    assert_eq!(
        boundary("multipart/mixed; charset=utf-8"),
        Err(BatchError::NoBoundary {
            content_type: "multipart/mixed; charset=utf-8".into()
        })
    );
    let invalid = |ct: &str| match boundary(ct) {
        Err(BatchError::InvalidBoundary { reason, .. }) => reason,
        other => panic!("{ct}: {other:?}"),
    };
    assert_eq!(invalid("multipart/mixed; boundary="), "it is empty");
    assert_eq!(invalid("multipart/mixed; boundary=\"\""), "it is empty");
    let long = format!("multipart/mixed; boundary={}", "a".repeat(71));
    assert_eq!(invalid(&long), "it is longer than 70 characters");
    let seventy = "a".repeat(70);
    assert_eq!(
        boundary(&format!("multipart/mixed; boundary={seventy}")).unwrap(),
        seventy
    );
    assert!(invalid("multipart/mixed; boundary=a*b").contains("'*'"));
    assert!(invalid("multipart/mixed; boundary=\"a\\\"b\"").contains("'\"'"));
    assert!(invalid("multipart/mixed; boundary=\"caf\u{e9}\"").contains("RFC 2046"));
    assert_eq!(
        invalid("multipart/mixed; boundary=\"ab \""),
        "it ends with a space"
    );
    assert_eq!(
        invalid("multipart/mixed; boundary=\"abc"),
        "its quoted string is not closed"
    );
    assert_eq!(
        invalid("multipart/mixed; boundary=a; boundary=b"),
        "the boundary parameter is given twice"
    );
    assert_eq!(
        boundary("multipart/mixed; boundary=a*b")
            .unwrap_err()
            .to_string(),
        "the multipart boundary \"a*b\" is invalid: it contains '*', which RFC 2046 does not allow"
    );
}

// ---- body syntax ----

#[test]
fn quoted_and_unquoted_boundary_parse_the_same_body() {
    let body = b"--a:b\r\nX-Id: 1\r\n\r\none\r\n--a:b--\r\n";
    let quoted = parse_default("multipart/mixed; boundary=\"a:b\"", body).unwrap();
    let unquoted = parse_default("multipart/mixed; boundary=a:b", body).unwrap();
    assert_eq!(quoted, unquoted);
    assert_eq!(quoted, [part(&[("x-id", "1")], b"one")]);
}

#[test]
fn preamble_and_epilogue_are_ignored() {
    let body = b"This is the preamble. --xyz is not a delimiter here.\r\n\
--xyz\r\n\r\nbody\r\n--xyz--\r\nThis is the epilogue.\r\n--xyz\r\nX: y\r\n\r\nignored\r\n";
    let parts = parse_default("multipart/mixed; boundary=xyz", body).unwrap();
    assert_eq!(parts, [part(&[], b"body")]);
}

#[test]
fn preamble_may_end_in_a_lone_lf_and_epilogue_may_be_absent() {
    let body = b"preamble\n--xyz\n\nbody\n--xyz--";
    assert_eq!(
        parse_default("multipart/mixed; boundary=xyz", body).unwrap(),
        [part(&[], b"body")]
    );
}

#[test]
fn lf_only_line_ends() {
    let body =
        b"--b\nContent-Type: text/plain\nX-A:  spaced value \t\n\nline 1\nline 2\n--b\n\n\n--b--\n";
    let parts = parse_default("multipart/mixed; boundary=b", body).unwrap();
    assert_eq!(
        parts,
        [
            part(
                &[("content-type", "text/plain"), ("x-a", "spaced value")],
                b"line 1\nline 2"
            ),
            part(&[], b""),
        ]
    );
    assert_eq!(parse_bytewise("b", body, Limits::default()).unwrap(), parts);
}

#[test]
fn transport_padding_after_the_boundary() {
    let body = b"--b \t \r\nX: 1\r\n\r\none\r\n--b\t\r\n\r\ntwo\n--b   \n\nthree\r\n--b--  \r\n";
    let parts = parse_default("multipart/mixed; boundary=b", body).unwrap();
    assert_eq!(
        parts,
        [
            part(&[("x", "1")], b"one"),
            part(&[], b"two"),
            part(&[], b"three")
        ]
    );
    assert_eq!(parse_bytewise("b", body, Limits::default()).unwrap(), parts);
}

#[test]
fn boundary_mid_line_is_body_data() {
    let body =
        b"--b\r\n\r\nsee --b and x--b-- in the text\r\n  --b\r\nnot at line start\r\n--b--\r\n";
    let parts = parse_default("multipart/mixed; boundary=b", body).unwrap();
    assert_eq!(
        parts,
        [part(
            &[],
            b"see --b and x--b-- in the text\r\n  --b\r\nnot at line start"
        )]
    );
}

#[test]
fn boundary_followed_by_other_characters_is_body_data() {
    let body = b"--b\r\n\r\n--bx\r\n--b-x\r\n--b \tz\r\n--b\rq\r\n\r\r\n\n--b--";
    let parts = parse_default("multipart/mixed; boundary=b", body).unwrap();
    assert_eq!(
        parts,
        [part(&[], b"--bx\r\n--b-x\r\n--b \tz\r\n--b\rq\r\n\r\r\n")]
    );
    assert_eq!(parse_bytewise("b", body, Limits::default()).unwrap(), parts);
}

#[test]
fn empty_parts_and_parts_without_headers() {
    // A part with no headers: the blank line comes right after the delimiter.
    let body = b"--b\r\n\r\nno headers\r\n--b\r\n\r\n\r\n--b\r\n\r\n--b--";
    let parts = parse_default("multipart/mixed; boundary=b", body).unwrap();
    assert_eq!(
        parts,
        [part(&[], b"no headers"), part(&[], b""), part(&[], b"")]
    );
    // A close delimiter straight away: no parts at all.
    assert!(
        parse_default("multipart/mixed; boundary=b", b"--b--\r\n")
            .unwrap()
            .is_empty()
    );
}

#[test]
fn repeated_headers_keep_their_order() {
    let body = b"--b\r\nX-A: 1\r\nX-B: 2\r\nx-a: 3\r\nContent-Type : text/plain\r\n\r\nz\r\n--b--";
    let parts = parse_default("multipart/mixed; boundary=b", body).unwrap();
    let values: Vec<&str> = parts[0]
        .headers
        .get_all("x-a")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(values, ["1", "3"]);
    assert_eq!(parts[0].content_type(), Some("text/plain"));
    assert_eq!(parts[0].headers.get(CONTENT_TYPE).unwrap(), "text/plain");
}

#[test]
fn binary_bodies_with_line_breaks_survive() {
    let data: Vec<u8> = (0..=255u8)
        .chain([b'\r', b'\n', b'\r', b'-', b'-'])
        .collect();
    let parts = vec![part(&[("content-type", "application/octet-stream")], &data)];
    let written = write("zz", &parts);
    assert_eq!(
        parse_default("multipart/mixed; boundary=zz", &written).unwrap(),
        parts
    );
}

#[test]
fn write_layout() {
    let parts = [
        part(&[("content-type", "application/json")], b"{}"),
        part(&[], b"x"),
    ];
    assert_eq!(
        write("b", &parts),
        b"--b\r\nContent-Type: application/json\r\n\r\n{}\r\n--b\r\n\r\nx\r\n--b--\r\n"
    );
    assert_eq!(write("b", &[]), b"--b--\r\n");
}

#[test]
fn parts_come_out_as_soon_as_they_are_complete() {
    let mut parser = Parser::new("b", Limits::default());
    assert!(
        parser
            .feed(b"pre\r\n--b\r\nX: 1\r\n\r\nfirst")
            .unwrap()
            .is_empty()
    );
    // The CRLF and "--b" could still be a body's data until the line ends.
    assert!(parser.feed(b"\r\n--b").unwrap().is_empty());
    let done = parser.feed(b"\r\n\r\nsecond\r\n--").unwrap();
    assert_eq!(done, [part(&[("x", "1")], b"first")]);
    let done = parser.feed(b"b--").unwrap();
    assert_eq!(done, [part(&[], b"second")]);
    assert!(parser.feed(b"\r\nepilogue").unwrap().is_empty());
    assert!(parser.finish().unwrap().is_empty());
}

// ---- every error ----

fn small() -> Limits {
    Limits {
        max_parts: 2,
        max_part_bytes: 8,
        max_total_bytes: 200,
        max_header_bytes: 20,
    }
}

#[test]
fn error_no_delimiter() {
    let error = parse_default("multipart/mixed; boundary=abc", b"just text --abc\r\n").unwrap_err();
    assert_eq!(
        error,
        BatchError::NoDelimiter {
            boundary: "abc".into()
        }
    );
    assert_eq!(
        error.to_string(),
        "the body ends without a boundary line --abc"
    );
}

#[test]
fn error_unterminated() {
    for body in [
        &b"--abc\r\n\r\nbody"[..],
        b"--abc\r\n\r\nbody\r\n--abc-",
        b"--abc\r\n\r\nbody\r\n--abc",
        b"--abc\r\nX: 1\r\n",
        b"--abc",
    ] {
        let error = parse_default("multipart/mixed; boundary=abc", body);
        let expected = if body == b"--abc" {
            BatchError::NoDelimiter {
                boundary: "abc".into(),
            }
        } else {
            BatchError::Unterminated {
                boundary: "abc".into(),
            }
        };
        assert_eq!(error, Err(expected), "{}", String::from_utf8_lossy(body));
    }
    assert_eq!(
        BatchError::Unterminated {
            boundary: "abc".into()
        }
        .to_string(),
        "the body ends before the closing boundary --abc--"
    );
}

#[test]
fn error_too_many_parts() {
    let body = b"--b\r\n\r\n1\r\n--b\r\n\r\n2\r\n--b\r\n\r\n3\r\n--b--";
    let error = parse("multipart/mixed; boundary=b", body, &small()).unwrap_err();
    assert_eq!(error, BatchError::TooManyParts { limit: 2 });
    assert_eq!(error.to_string(), "the body has more than 2 parts");
    // Exactly at the limit is fine.
    let body = b"--b\r\n\r\n1\r\n--b\r\n\r\n2\r\n--b--";
    assert_eq!(
        parse("multipart/mixed; boundary=b", body, &small())
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn error_part_too_large_as_bytes_arrive() {
    let mut parser = Parser::new("b", small());
    assert!(
        parser
            .feed(b"--b\r\n\r\n--b\r\n\r\n12345678")
            .unwrap()
            .len()
            == 1
    );
    // The 9th byte of part 1 fails at once, with no closing boundary in sight.
    let error = parser.feed(b"9").unwrap_err();
    assert_eq!(error, BatchError::PartTooLarge { part: 1, limit: 8 });
    assert_eq!(error.to_string(), "part 1 is larger than the 8-byte limit");
    // The parser stays failed.
    assert_eq!(parser.feed(b"\r\n--b--").unwrap_err(), error);
    assert_eq!(parser.finish().unwrap_err(), error);
    // A body of exactly the limit, followed by its delimiter, is fine.
    let body = b"--b\r\n\r\n12345678\r\n--b--";
    assert_eq!(
        parse("multipart/mixed; boundary=b", body, &small()).unwrap()[0].body,
        b"12345678"
    );
    assert_eq!(
        parse_bytewise("b", body, small()).unwrap()[0].body,
        b"12345678"
    );
}

#[test]
fn error_headers_too_large() {
    let body = b"--b\r\nX-Long: 0123456789abcdef\r\n\r\nx\r\n--b--";
    let error = parse("multipart/mixed; boundary=b", body, &small()).unwrap_err();
    assert_eq!(error, BatchError::HeadersTooLarge { part: 0, limit: 20 });
    assert_eq!(
        error.to_string(),
        "the headers of part 0 are larger than the 20-byte limit"
    );
    // A header line that never ends fails as soon as it passes the limit.
    let mut parser = Parser::new("b", small());
    assert!(parser.feed(b"--b\r\nX: ").unwrap().is_empty());
    assert!(parser.feed(&[b'a'; 17]).is_ok());
    assert!(matches!(
        parser.feed(b"a"),
        Err(BatchError::HeadersTooLarge { .. })
    ));
}

#[test]
fn error_too_many_headers() {
    let limits = Limits {
        max_header_bytes: 1 << 20,
        ..Limits::default()
    };
    // A header map holds at most 32768 distinct names.
    let mut body = b"--b\r\n".to_vec();
    for i in 0..40_000 {
        body.extend_from_slice(format!("h{i}:\n").as_bytes());
    }
    body.extend_from_slice(b"\r\n\r\n--b--");
    let error = match parse("multipart/mixed; boundary=b", &body, &limits) {
        Ok(parts) => panic!("parsed {} parts", parts.len()),
        Err(error) => error,
    };
    assert_eq!(error, BatchError::TooManyHeaders { part: 0 });
    assert_eq!(
        error.to_string(),
        "part 0 has more header lines than a header map can hold"
    );
}

#[test]
fn error_padding_too_long() {
    let mut body = b"--b\r\n\r\nx\r\n--b".to_vec();
    body.extend_from_slice(&[b' '; 21]);
    body.extend_from_slice(b"\r\n\r\ny\r\n--b--");
    let error = parse("multipart/mixed; boundary=b", &body, &small()).unwrap_err();
    assert_eq!(error, BatchError::PaddingTooLong { part: 1, limit: 20 });
    assert_eq!(
        error.to_string(),
        "the boundary line before part 1 has more than 20 bytes of padding"
    );
}

#[test]
fn error_total_too_large() {
    let mut parser = Parser::new("b", small());
    assert!(parser.feed(&[b'p'; 200]).unwrap().is_empty());
    let error = parser.feed(b"p").unwrap_err();
    assert_eq!(error, BatchError::TotalTooLarge { limit: 200 });
    assert_eq!(
        error.to_string(),
        "the body is larger than the 200-byte limit"
    );
}

#[test]
fn error_folded_header() {
    let body = b"--b\r\nX-A: one\r\n two\r\n\r\nx\r\n--b--";
    let error = parse_default("multipart/mixed; boundary=b", body).unwrap_err();
    assert_eq!(
        error,
        BatchError::FoldedHeader {
            part: 0,
            line: " two".into()
        }
    );
    assert_eq!(
        error.to_string(),
        "part 0 has a folded header line (one starting with a space or tab): \" two\""
    );
}

#[test]
fn error_malformed_header() {
    let case = |header: &[u8]| {
        let mut body = b"--b\r\n\r\nfine\r\n--b\r\n".to_vec();
        body.extend_from_slice(header);
        body.extend_from_slice(b"\r\n\r\nx\r\n--b--");
        parse_default("multipart/mixed; boundary=b", &body).unwrap_err()
    };
    assert_eq!(
        case(b"Content-Type application/json"),
        BatchError::MalformedHeader {
            part: 1,
            line: "Content-Type application/json".into(),
            reason: "it has no ':'"
        }
    );
    assert_eq!(
        case(b"Content-Type application/json").to_string(),
        "part 1 has a malformed header line \"Content-Type application/json\": it has no ':'"
    );
    assert!(matches!(
        case(b": no name"),
        BatchError::MalformedHeader {
            reason: "the name is not valid",
            ..
        }
    ));
    assert!(matches!(
        case(b"Bad Name: x"),
        BatchError::MalformedHeader {
            reason: "the name is not valid",
            ..
        }
    ));
    assert!(matches!(
        case(b"X-Ctl: a\x01b"),
        BatchError::MalformedHeader {
            part: 1,
            reason: "the value is not valid",
            ..
        }
    ));
    // A stray CR inside a line is not a line end.
    assert!(matches!(
        case(b"X-Cr: a\rb"),
        BatchError::MalformedHeader {
            reason: "the value is not valid",
            ..
        }
    ));
    // A part that skips the blank line reads the next boundary as a header.
    let error = parse_default("multipart/mixed; boundary=b", b"--b\r\n--b--\r\n").unwrap_err();
    assert!(matches!(error, BatchError::MalformedHeader { part: 0, .. }));
    // Long lines are shortened in the message.
    let long = [b'x'; 500];
    match case(&long) {
        BatchError::MalformedHeader { line, .. } => assert!(line.len() < 100),
        other => panic!("{other:?}"),
    }
}

#[test]
fn error_invalid_boundary_given_to_the_parser() {
    let mut parser = Parser::new("bad\r\nboundary", Limits::default());
    assert!(matches!(
        parser.feed(b"x"),
        Err(BatchError::InvalidBoundary { .. })
    ));
    let parser = Parser::new("", Limits::default());
    assert!(matches!(
        parser.finish(),
        Err(BatchError::InvalidBoundary { .. })
    ));
}

#[test]
fn error_not_json() {
    let error = part(&[], b"{oops").json().unwrap_err();
    assert!(matches!(error, BatchError::NotJson { part: None, .. }));
    assert!(
        error
            .to_string()
            .starts_with("the part is not valid JSON: ")
    );

    let error = Batch::from_parts(vec![part(&[], b"not json"), part(&[], b"")]).unwrap_err();
    assert!(matches!(error, BatchError::NotJson { part: Some(0), .. }));
    assert!(
        error.to_string().starts_with("part 0 is not valid JSON: "),
        "{error}"
    );
}

#[test]
fn error_no_parts() {
    let error = Batch::from_parts(Vec::new()).unwrap_err();
    assert_eq!(error, BatchError::NoParts);
    assert_eq!(
        error.to_string(),
        "the batch has no parts; a 207 body starts with a part listing the statuses"
    );
}

#[test]
fn error_no_response_array() {
    for body in [
        &br#"{"responses":[]}"#[..],
        br#"{"response":{"status":200}}"#,
        br#"[{"status":200}]"#,
        b"200",
    ] {
        let error = Batch::from_parts(vec![part(&[], body), part(&[], b"")]).unwrap_err();
        assert_eq!(error, BatchError::NoResponseArray);
    }
    assert_eq!(
        BatchError::NoResponseArray.to_string(),
        "part 0 has no \"response\" array listing the statuses"
    );
}

#[test]
fn error_invalid_status() {
    let case = |entry: &str| {
        let list = format!(r#"{{"response":[{{"status":200}},{entry}]}}"#);
        Batch::from_parts(vec![
            part(&[], list.as_bytes()),
            part(&[], b""),
            part(&[], b""),
        ])
        .unwrap_err()
    };
    let error = case(r#"{"status":"404"}"#);
    assert_eq!(
        error,
        BatchError::InvalidStatus {
            entry: 1,
            found: "\"404\"".into()
        }
    );
    assert_eq!(
        error.to_string(),
        "entry 1 of the status list has no valid \"status\" (an integer 100..=599): found \"404\""
    );
    for (entry, found) in [
        (r#"{"status":600}"#, "600"),
        (r#"{"status":99}"#, "99"),
        (r#"{"status":-200}"#, "-200"),
        (r#"{"status":200.5}"#, "200.5"),
        (r#"{"status":70000}"#, "70000"),
        (r#"{"status":null}"#, "null"),
        (r#"{"code":200}"#, "nothing"),
        ("200", "nothing"),
    ] {
        assert_eq!(
            case(entry),
            BatchError::InvalidStatus {
                entry: 1,
                found: found.into()
            },
            "{entry}"
        );
    }
    // The bounds themselves are valid.
    let list = br#"{"response":[{"status":100},{"status":599}]}"#;
    let batch = Batch::from_parts(vec![part(&[], list), part(&[], b""), part(&[], b"")]).unwrap();
    assert_eq!(batch.statuses[0].as_u16(), 100);
    assert_eq!(batch.statuses[1].as_u16(), 599);
}

#[test]
fn error_count_mismatch() {
    let list = br#"{"response":[{"status":200},{"status":200},{"status":404}]}"#;
    let error =
        Batch::from_parts(vec![part(&[], list), part(&[], b""), part(&[], b"")]).unwrap_err();
    assert_eq!(
        error,
        BatchError::CountMismatch {
            statuses: 3,
            parts: 2
        }
    );
    assert_eq!(
        error.to_string(),
        "the status list has 3 entries but the batch has 2 parts"
    );
    let list = br#"{"response":[]}"#;
    let error = Batch::from_parts(vec![part(&[], list), part(&[], b"")]).unwrap_err();
    assert_eq!(
        error,
        BatchError::CountMismatch {
            statuses: 0,
            parts: 1
        }
    );
}

#[test]
fn error_messages_are_one_line() {
    let errors = [
        boundary("text/plain\r\nX: y").unwrap_err(),
        boundary("multipart/mixed; boundary=\"a\nb\"").unwrap_err(),
        parse_default(
            "multipart/mixed; boundary=b",
            b"--b\r\n\tfolded\x00\r\n\r\n",
        )
        .unwrap_err(),
        parse_default("multipart/mixed; boundary=b", b"--b\r\nX\x7f\r\n\r\n").unwrap_err(),
        part(&[], b"{\n\n").json().unwrap_err(),
    ];
    for error in errors {
        let message = error.to_string();
        assert!(
            !message.contains('\n') && !message.contains('\r'),
            "{message:?}"
        );
    }
}

#[test]
fn default_limits() {
    let limits = Limits::default();
    assert_eq!(limits.max_parts, 1000);
    assert_eq!(limits.max_part_bytes, 16 * 1024 * 1024);
    assert_eq!(limits.max_total_bytes, 64 * 1024 * 1024);
    assert_eq!(limits.max_header_bytes, 16 * 1024);
}

// ---- properties ----

fn boundary_strategy() -> impl Strategy<Value = String> {
    "[0-9A-Za-z'()+_,./:=? -]{7,39}[0-9A-Za-z'()+_,./:=?-]"
}

/// Bodies built to stress the scanner: random bytes, line breaks, dashes, and almost-boundaries.
fn body_strategy(boundary: &str) -> impl Strategy<Value = Vec<u8>> + use<> {
    let b = boundary.as_bytes();
    let almost_crlf = [b"\r\n--".as_slice(), &b[..b.len() - 1]].concat();
    let almost_lf = [b"\n--".as_slice(), &b[..b.len() / 2]].concat();
    let segment = prop_oneof![
        6 => vec(any::<u8>(), 0..40),
        1 => Just(b"\r\n".to_vec()),
        1 => Just(b"\n".to_vec()),
        1 => Just(b"\r".to_vec()),
        1 => Just(b"--".to_vec()),
        1 => Just(almost_crlf),
        1 => Just(almost_lf),
    ];
    vec(segment, 0..8).prop_map(|segments| segments.concat())
}

fn headers_strategy() -> impl Strategy<Value = HeaderMap> {
    let name = "[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]{0,15}";
    // Visible ASCII with inner spaces: parsing trims the ends, so none at the ends.
    let value = "([!-~]([ -~]{0,30}[!-~])?)?";
    vec((name, value), 0..4).prop_map(|pairs| {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(&value).unwrap(),
            );
        }
        map
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn case_strategy() -> impl Strategy<Value = (String, Vec<Part>)> {
    boundary_strategy()
        .prop_flat_map(|boundary| {
            let part = (headers_strategy(), body_strategy(&boundary))
                .prop_map(|(headers, body)| Part { headers, body });
            (Just(boundary), vec(part, 0..5))
        })
        .prop_filter("no body may contain the boundary", |(boundary, parts)| {
            parts
                .iter()
                .all(|p| !contains(&p.body, boundary.as_bytes()))
        })
}

/// Input for the no-panic property: random bytes mixed with the pieces of a body, often
/// in an order that makes a valid body, so that both successes and every kind of failure
/// come up.
fn hostile_strategy() -> impl Strategy<Value = Vec<u8>> {
    let segment = prop_oneof![
        3 => vec(any::<u8>(), 0..24),
        3 => Just(b"\r\n--b\r\n".to_vec()),
        3 => Just(b"\r\n\r\n".to_vec()),
        2 => Just(b"X-A: 1\r\n".to_vec()),
        1 => Just(b"Content-Type: application/json\r\n".to_vec()),
        1 => Just(br#"{"response":[{"status":200}]}"#.to_vec()),
        1 => Just(b"\r\n--b--\r\n".to_vec()),
        1 => Just(b"--b".to_vec()),
        1 => Just(b"\n".to_vec()),
        1 => Just(b"\r".to_vec()),
        1 => Just(b" \t".to_vec()),
        1 => Just(b":".to_vec()),
    ];
    (
        prop_oneof![Just(&b"--b\r\n"[..]), Just(&b""[..])],
        vec(segment, 0..30),
        prop_oneof![Just(&b"\r\n--b--"[..]), Just(&b""[..])],
    )
        .prop_map(|(head, segments, tail)| {
            [head.to_vec(), segments.concat(), tail.to_vec()].concat()
        })
}

proptest! {
    #[test]
    fn written_parts_parse_back((boundary, parts) in case_strategy(),
                                cuts in vec(any::<Index>(), 0..12)) {
        let written = write(&boundary, &parts);
        let content_type = format!("multipart/mixed; boundary=\"{boundary}\"");
        let whole = parse(&content_type, &written, &Limits::default()).unwrap();
        prop_assert_eq!(&whole, &parts);
        let split = parse_split(&boundary, &written, &cuts, Limits::default()).unwrap();
        prop_assert_eq!(&split, &whole);
    }

    #[test]
    fn written_parts_parse_back_with_lf_line_ends((boundary, parts) in case_strategy()) {
        // Bodies may hold CRLF of their own, so only bodies without CR are compared.
        let parts: Vec<Part> = parts
            .into_iter()
            .filter(|p| !p.body.contains(&b'\r'))
            .collect();
        let written = write(&boundary, &parts);
        let mut lf = Vec::new();
        let mut i = 0;
        while i < written.len() {
            if written[i..].starts_with(b"\r\n") {
                i += 1;
            }
            lf.push(written[i]);
            i += 1;
        }
        let content_type = format!("multipart/mixed; boundary=\"{boundary}\"");
        prop_assert_eq!(parse(&content_type, &lf, &Limits::default()).unwrap(), parts);
    }

    #[test]
    fn arbitrary_bytes_never_panic(body in hostile_strategy(),
                                   cuts in vec(any::<Index>(), 0..12),
                                   tight in any::<bool>()) {
        let limits = if tight {
            Limits { max_parts: 3, max_part_bytes: 40, max_total_bytes: 600, max_header_bytes: 48 }
        } else {
            Limits::default()
        };
        let whole = parse("multipart/mixed; boundary=b", &body, &limits);
        let split = parse_split("b", &body, &cuts, limits);
        prop_assert_eq!(&whole, &split);
        if let Ok(parts) = whole {
            let written = write("b", &parts);
            let _ = Batch::from_parts(parts);
            let _ = parse("multipart/mixed; boundary=b", &written, &limits);
        }
    }

    #[test]
    fn arbitrary_raw_bytes_never_panic(body in vec(any::<u8>(), 0..600),
                                       cuts in vec(any::<Index>(), 0..6)) {
        let whole = parse("multipart/mixed; boundary=b", &body, &Limits::default());
        let split = parse_split("b", &body, &cuts, Limits::default());
        prop_assert_eq!(whole, split);
    }

    #[test]
    fn arbitrary_content_types_never_panic(content_type in "\\PC{0,80}",
                                           tail in "[ -~]{0,40}") {
        let _ = boundary(&content_type);
        let _ = boundary(&format!("multipart/mixed; {tail}"));
        let _ = boundary(&format!("multipart/mixed; boundary=\"{tail}"));
        if let Ok(found) = boundary(&format!("multipart/mixed; boundary={tail}")) {
            prop_assert!(!found.is_empty() && found.len() <= 70);
        }
    }

    #[test]
    fn arbitrary_json_never_panics_from_parts(list in "[\\[\\]{}\":,0-9a-z ]{0,60}", extra in 0usize..4) {
        let mut parts = vec![Part { headers: HeaderMap::new(), body: list.into_bytes() }];
        parts.extend((0..extra).map(|_| Part::default()));
        let _ = Batch::from_parts(parts);
    }
}

#[test]
fn module_path_is_public() {
    // The items are reachable through `verdict::multipart`.
    let _: fn(&str) -> Result<String, BatchError> = multipart::boundary;
}
